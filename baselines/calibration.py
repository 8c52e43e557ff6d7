"""Calibration rows: they show the scale of every metric.

* ``real`` — held-out real windows: the "Original" row of the TimeGAN paper's tables.
* ``gaussian`` — an independent Gaussian per (time step, feature), fit to the training windows and
  clipped to [0, 1]: matches the marginals and nothing else (no temporal or cross-channel structure).
"""
from __future__ import annotations

import numpy as np

from tsbench.card import Card
from tsbench.generator import Generator


class Real(Generator):
    """Returns held-out real windows (``X_test`` given by the runner), drawn without replacement while
    enough exist and with replacement beyond that. Without ``X_test`` it falls back to the training windows
    (the ``timegan2019`` protocol uses all windows for both)."""

    name = "real"
    uses_test_split = True
    card = Card(title="Real data (held-out windows)", citation_key="real",
                faithful=("the 'Original' row of Yoon et al. 2019, Table 2: metrics of real data against itself",),
                adapted=("under the tsbench protocol the windows come from the held-out split, so the row measures "
                         "the metric's noise floor without train/test overlap",))

    def _fit(self, X, *, seed, callback, X_test=None):
        self.windows_ = (X_test if X_test is not None else X).copy()
        callback(1, 1, {})

    def _sample(self, n, *, seed):
        rng = np.random.default_rng(seed)
        pool = len(self.windows_)
        index = rng.permutation(pool)[:n] if n <= pool else rng.integers(0, pool, size=n)
        return self.windows_[index]


class Gaussian(Generator):
    """Independent Gaussian per (time step, feature): mean and std of the training windows, clipped to [0, 1]."""

    name = "gaussian"
    card = Card(title="Independent Gaussian null", citation_key="gaussian",
                faithful=("a marginal-matching null: per (step, feature) mean and standard deviation",),
                adapted=("clipped to [0, 1], the data range",))

    def _fit(self, X, *, seed, callback):
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0)
        callback(1, 1, {})

    def _sample(self, n, *, seed):
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((n, *self.mean_.shape), dtype=np.float32)
        return np.clip(self.mean_ + self.std_ * noise, 0.0, 1.0)
