"""A per-feature autoregressive generator: the smallest useful tsbench plugin.

Each feature ``f`` follows its own AR(p) process fitted by ridge least squares on all training windows::

    x[t, f] = c_f + Σ_{i=1..p} φ_{f,i} · x[t−i, f] + σ_f · ε,   ε ~ N(0, 1)

The first ``p`` steps of a sampled window are drawn from independent Gaussians matching the training
windows' first ``p`` steps; every step is clipped to the data range [0, 1]. It models each channel's
temporal dynamics and nothing across channels — a classical baseline to beat.

>>> import numpy as np
>>> X = np.random.default_rng(0).random((32, 24, 2), dtype=np.float32)
>>> AutoRegressive(order=2).fit(X, seed=0).sample(4, seed=1).shape
(4, 24, 2)
"""
from __future__ import annotations

import numpy as np

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.generator import Generator


class AutoRegressive(Generator):
    """Independent AR(``order``) process per feature, ridge-regularised by ``alpha``.

    Parameters
    ----------
    order : number of lags p (1 ≤ p < seq_len).
    alpha : ridge penalty on the lag coefficients (not on the intercept), ≥ 0.
    """

    # registry name: must equal the entry-point name in pyproject.toml
    name = "example_ar"
    card = Card(
        title="Autoregressive model per feature (least squares)",
        authors="Box, Jenkins", year=1970, venue="Time Series Analysis: Forecasting and Control",
        citation_key="box1970",
        faithful=("AR(p) per series fitted by least squares on lagged values",),
        adapted=("coefficients pooled over all training windows of a feature (windows are short)",
                 "ridge penalty alpha for stability on tiny data",
                 "initial p steps drawn from per-step Gaussians; every step clipped to [0, 1]"),
    )
    # per-preset parameters: smoke = seconds (tests, CI), quick = minutes on a CPU, paper = reference setting
    presets = {"smoke": {"order": 1}, "quick": {"order": 2}, "paper": {"order": 3}}
    version = "1"

    def __init__(self, order: int = 2, alpha: float = 1e-3):
        # scikit-learn contract: store the parameters, nothing else (validation happens in fit)
        self.order = order
        self.alpha = alpha

    def _fit(self, X, *, seed, callback):
        n, seq_len, n_features = X.shape
        order = self.order
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 1 <= order < seq_len:
            raise InputError("example_ar parameter order", expected=f"an integer in [1, {seq_len - 1}]",
                             got=repr(order), fix="pass e.g. example_ar[order=2]")
        if not isinstance(self.alpha, (int, float)) or self.alpha < 0:
            raise InputError("example_ar parameter alpha", expected="a number ≥ 0", got=repr(self.alpha))
        X = X.astype(np.float64)
        # lags[..., i] = x[t - 1 - i] for t = order .. seq_len-1
        lags = np.stack([X[:, order - 1 - i: seq_len - 1 - i, :] for i in range(order)], axis=-1)
        target = X[:, order:, :]
        self.coef_ = np.zeros((n_features, order))
        self.intercept_ = np.zeros(n_features)
        self.noise_std_ = np.zeros(n_features)
        penalty = self.alpha * np.diag([0.0] + [1.0] * order)
        for f in range(n_features):
            A = np.concatenate([np.ones((n * (seq_len - order), 1)), lags[:, :, f, :].reshape(-1, order)], axis=1)
            y = target[:, :, f].reshape(-1)
            w = np.linalg.solve(A.T @ A + penalty, A.T @ y)
            self.intercept_[f], self.coef_[f] = w[0], w[1:]
            self.noise_std_[f] = float(np.std(y - A @ w))
        self.init_mean_ = X[:, :order, :].mean(axis=0)
        self.init_std_ = X[:, :order, :].std(axis=0)
        callback(1, 1, {"residual_std": float(self.noise_std_.mean())})

    def _sample(self, n, *, seed):
        rng = np.random.default_rng(seed)
        order, seq_len = self.coef_.shape[1], self.seq_len_
        out = np.empty((n, seq_len, self.n_features_in_))
        out[:, :order] = self.init_mean_ + self.init_std_ * rng.standard_normal((n, order, self.n_features_in_))
        np.clip(out[:, :order], 0.0, 1.0, out=out[:, :order])
        for t in range(order, seq_len):
            past = out[:, t - order:t][:, ::-1]  # (n, order, features), most recent lag first
            mean = self.intercept_ + np.einsum("nif,fi->nf", past, self.coef_)
            out[:, t] = np.clip(mean + self.noise_std_ * rng.standard_normal(mean.shape), 0.0, 1.0)
        return out.astype(np.float32)
