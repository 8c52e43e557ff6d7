"""Feature-based measures of TSGBench (Ang et al., PVLDB 2024): ACD, MDD, SD and KD.

Definitions follow the TSGBench reference code (``feature_based_measures.py``); all are lower-is-better
distances between statistics of the real windows ``R`` and synthetic windows ``S``, both ``(n, T, D)``:

* **ACD** — autocorrelation difference. Per feature, centre over all windows and steps, divide by the
  (biased) variance, and average ``x_t · x_{t+ℓ}`` over windows and steps for lags ``ℓ = 0 … L−1``,
  ``L = min(64, T)``. ACD = mean over features of ‖acf_S − acf_R‖₂ (Euclidean norm over lags).
* **MDD** — marginal distribution difference. For every (step ``t ≥ 1``, feature) — the reference excludes
  the first step — a 50-bin histogram density on ``[min, max]`` of the real values (``max + 1e-5`` if
  constant); the synthetic values are binned on the same edges (values outside are not counted but
  still count in the denominator). MDD = mean over (step, feature) of the mean over bins of
  ``|density_S − density_R|``.
* **SD** — skewness difference: mean over features of ``|skew_S − skew_R|`` with
  ``skew = mean(c³) / std³`` (``c`` centred over windows and steps, ``std`` with ``n·T − 1`` dof).
* **KD** — kurtosis difference: mean over features of ``|kurt_S − kurt_R|`` with excess kurtosis
  ``mean(c⁴) / var² − 3`` (biased variance).

A zero variance (a constant feature) is replaced by 1 in every denominator, so a constant synthetic
feature is penalised instead of producing NaN (the reference divides by zero).

>>> import numpy as np
>>> from tsbench.metrics.tsgbench import acd, mdd, sd, kd
>>> x = np.random.default_rng(0).random((100, 24, 3))
>>> [round(f(x, x), 12) for f in (acd, mdd, sd, kd)]
[0.0, 0.0, 0.0, 0.0]
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.metric import Metric, MetricResult
from tsbench.params import Interval
from tsbench.seeding import derive_seed

MAX_LAG = 64
N_BINS = 50


def _centred(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X - X.mean(axis=(0, 1))


def _safe(denominator: np.ndarray) -> np.ndarray:
    return np.where(denominator > 0, denominator, 1.0)


def autocorrelation(X: np.ndarray, max_lag: int = MAX_LAG) -> np.ndarray:
    """Stationary autocorrelation ``(min(max_lag, T), D)`` of windows ``X`` ``(n, T, D)`` (TSGBench)."""
    c = _centred(X)
    var = _safe((c ** 2).mean(axis=(0, 1)))
    lags = min(max_lag, c.shape[1])
    return np.stack([(c[:, lag:] * c[:, :c.shape[1] - lag]).mean(axis=(0, 1)) / var for lag in range(lags)])


def skewness(X: np.ndarray) -> np.ndarray:
    """Per-feature skewness ``mean(c³) / std³`` (std with ``n·T − 1`` dof, as TSGBench)."""
    c = _centred(X)
    std = np.sqrt((c ** 2).sum(axis=(0, 1)) / max(c.shape[0] * c.shape[1] - 1, 1))
    return (c ** 3).mean(axis=(0, 1)) / _safe(std) ** 3


def excess_kurtosis(X: np.ndarray) -> np.ndarray:
    """Per-feature excess kurtosis ``mean(c⁴) / var² − 3`` (biased variance, as TSGBench)."""
    c = _centred(X)
    return (c ** 4).mean(axis=(0, 1)) / _safe((c ** 2).mean(axis=(0, 1))) ** 2 - 3.0


def acd(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Autocorrelation difference: mean over features of the L2 norm over lags."""
    diff = autocorrelation(synthetic) - autocorrelation(real)
    return float(np.sqrt((diff ** 2).sum(axis=0)).mean())


def mdd(real: np.ndarray, synthetic: np.ndarray, n_bins: int = N_BINS, *, edges_from: np.ndarray | None = None) -> float:
    """Marginal distribution difference over steps ``t ≥ 1`` and features (50-bin histograms).

    The bins of each (step, feature) span the range of ``edges_from`` there (default: ``real``, as TSGBench)."""
    real = np.asarray(real, dtype=np.float64)
    synthetic = np.asarray(synthetic, dtype=np.float64)
    edges_from = real if edges_from is None else np.asarray(edges_from, dtype=np.float64)
    per_cell = []
    for t in range(1, real.shape[1]):
        for f in range(real.shape[2]):
            r, s = real[:, t, f], synthetic[:, t, f]
            lo, hi = edges_from[:, t, f].min(), edges_from[:, t, f].max()
            hi = hi + 1e-5 if hi == lo else hi
            edges = np.linspace(lo, hi, n_bins + 1)
            width = edges[1] - edges[0]
            density_r = np.histogram(r, bins=edges)[0] / width / len(r)
            density_s = np.histogram(s, bins=edges)[0] / width / len(s)
            per_cell.append(np.abs(density_s - density_r).mean())
    if not per_cell:
        raise InputError("MDD inputs", expected="windows with at least 2 steps (the first step is excluded)",
                         got=f"seq_len {real.shape[1]}", fix="use seq_len ≥ 2")
    return float(np.mean(per_cell))


def sd(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Skewness difference, mean over features."""
    return float(np.abs(skewness(synthetic) - skewness(real)).mean())


def kd(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Excess-kurtosis difference, mean over features."""
    return float(np.abs(excess_kurtosis(synthetic) - excess_kurtosis(real)).mean())


_TSGBENCH = dict(authors="Ang, Huang, Bao, Tung, Huang", year=2024,
                 venue="Proceedings of the VLDB Endowment 17(3)", citation_key="ang2024tsgbench",
                 url="https://github.com/YihaoAng/TSGBench")
_ADAPTED = ("scored against held-out real windows (real_test) under the tsbench protocol; TSGBench compares "
            "with the training windows",
            "a zero variance is replaced by 1 in denominators (the reference divides by zero)",
            "optional repeats over seeded random subsets (subset_size); by default one evaluation on all windows "
            "as in TSGBench")


class _FeatureMeasure(Metric):
    """A TSGBench feature-based measure between ``real_test`` and the synthetic windows.

    Parameters
    ----------
    protocol : ``"tsbench"`` or ``"timegan2019"`` (recorded; the arithmetic is the same).
    repeats : number of random subsets when ``subset_size`` is set (default: the protocol's).
    subset_size : ``None`` (default) = one evaluation on all windows, as TSGBench; an integer = ``repeats``
        seeded subsets of that many windows from each set (without replacement), for mean ± std.
    """

    outputs: ClassVar[dict[str, bool | None]] = {"value": False}
    parameter_constraints = {"subset_size": Interval(2, None)}
    presets: ClassVar[dict[str, dict]] = {"smoke": {}, "quick": {}, "paper": {}}

    def __init__(self, *, protocol: str = "tsbench", repeats: int | None = None, subset_size: int | None = None):
        self.protocol = protocol
        self.repeats = repeats
        self.subset_size = subset_size

    @staticmethod
    def _score(real: np.ndarray, synthetic: np.ndarray) -> float:
        raise NotImplementedError

    def _compute(self, real_train, real_test, synthetic, *, seed: int, artefact_dir: Path | None) -> MetricResult:
        size = self.subset_size
        if size is None:
            return {"value": [self._measure(real_test, synthetic)]}
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
            raise InputError(f"{self.name} parameter subset_size", expected="an integer ≥ 2 or None",
                             got=repr(size), fix="pass subset_size=<integer ≥ 2> or leave it unset")
        values = []
        for r in range(self.n_repeats()):
            rng = np.random.default_rng(derive_seed(seed, self.name, r))
            real = real_test[rng.choice(len(real_test), size=min(size, len(real_test)), replace=False)]
            fake = synthetic[rng.choice(len(synthetic), size=min(size, len(synthetic)), replace=False)]
            values.append(self._measure(real, fake))
        return {"value": values}

    def _measure(self, real: np.ndarray, synthetic: np.ndarray) -> float:
        return self._score(real, synthetic)


class ACD(_FeatureMeasure):
    __doc__ = "Autocorrelation difference (TSGBench; lower is better).\n" + _FeatureMeasure.__doc__.split("\n", 1)[1]
    name = "acd"
    version = "1"
    card = Card(title="ACD: autocorrelation difference", **_TSGBENCH,
                faithful=("stationary ACF over windows and steps, lags 0 … min(64, T) − 1, biased variance",
                          "L2 norm of the ACF difference over lags, averaged over features"),
                adapted=_ADAPTED)
    _score = staticmethod(acd)


class MDD(_FeatureMeasure):
    __doc__ = ("Marginal distribution difference (TSGBench; lower is better).\n"
               + _FeatureMeasure.__doc__.split("\n", 1)[1])
    name = "mdd"
    version = "2"
    card = Card(title="MDD: marginal distribution difference", **_TSGBENCH,
                faithful=("50-bin density histogram per (step, feature) on the real values' range, first step "
                          "excluded; mean absolute density difference over bins, then over (step, feature)",),
                adapted=_ADAPTED + ("the bin range comes from the real reference (training) windows, the same for "
                                    "every row of a table (under timegan2019 these are all windows, as in "
                                    "TSGBench); version 1 took it from each row's own real subset",
                                    "synthetic values are binned with np.histogram's edges (a value on a bin edge "
                                    "counts); the reference counts only values strictly within half a bin width of "
                                    "a bin centre, which drops values lying exactly on an edge such as the real "
                                    "minimum",))
    _score = staticmethod(mdd)

    def _measure(self, real: np.ndarray, synthetic: np.ndarray) -> float:
        return mdd(real, synthetic, edges_from=self.reference_)


class SD(_FeatureMeasure):
    __doc__ = "Skewness difference (TSGBench; lower is better).\n" + _FeatureMeasure.__doc__.split("\n", 1)[1]
    name = "sd"
    version = "1"
    card = Card(title="SD: skewness difference", **_TSGBENCH,
                faithful=("skewness over windows and steps with the sample (n·T − 1) std, |difference| averaged "
                          "over features",),
                adapted=_ADAPTED)
    _score = staticmethod(sd)


class KD(_FeatureMeasure):
    __doc__ = "Kurtosis difference (TSGBench; lower is better).\n" + _FeatureMeasure.__doc__.split("\n", 1)[1]
    name = "kd"
    version = "1"
    card = Card(title="KD: excess-kurtosis difference", **_TSGBENCH,
                faithful=("excess kurtosis over windows and steps with the biased variance, |difference| averaged "
                          "over features",),
                adapted=_ADAPTED)
    _score = staticmethod(kd)
