"""Correlational score (Yuan & Qiao, Diffusion-TS, ICLR 2024).

Definition (as in the Diffusion-TS reference code, ``CrossCorrelLoss``): for a set of windows
``(n, T, D)``, standardise each feature over all windows and steps (mean, sample std with ``n·T − 1``
degrees of freedom), then take the lag-0 cross-correlation of every pair ``i ≥ j`` (diagonal included):
``c_ij = mean over windows and steps of z_i · z_j``. The score is ``Σ_{i ≥ j} |c_ij(synthetic) − c_ij(real)| / 10``.

Diffusion-TS averages it over 5 random subsets of ``N_real / 5`` windows drawn *with replacement* from each
set; tsbench does the same with seeded draws (``repeats`` subsets, default: the protocol's).

For univariate data only the diagonal exists, where ``c_ii = (M − 1)/M`` for ``M`` standardised values in
both sets, so the score is 0 whatever the synthetic data: the metric is blind there. It also grows with
the number of pairs ``D(D + 1)/2``, so values are not comparable across datasets of different dimension.

>>> import numpy as np
>>> from tsbench.metrics.correlational import CorrelationalScore, correlational_score
>>> x = np.random.default_rng(0).random((50, 24, 1))
>>> float(correlational_score(x, x[::-1] ** 2)) < 1e-12
True
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


def cross_correlation(X: np.ndarray) -> np.ndarray:
    """Lag-0 cross-correlations ``c_ij`` (``i ≥ j``, row-major lower triangle) of windows ``X`` ``(n, T, D)``.

    Features are standardised over windows and steps; a constant feature (std 0) is divided by 1, as the
    Diffusion-TS ``normalize`` helper does (its ``cacf_torch`` itself would produce NaN).
    """
    X = np.asarray(X, dtype=np.float64)
    flat = X.reshape(-1, X.shape[2])
    std = flat.std(axis=0, ddof=1) if len(flat) > 1 else np.zeros(X.shape[2])
    z = (flat - flat.mean(axis=0)) / np.where(std > 0, std, 1.0)
    corr = z.T @ z / len(z)
    return corr[np.tril_indices(X.shape[2])]


def correlational_score(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``Σ_{i ≥ j} |c_ij(synthetic) − c_ij(real)| / 10`` on whole sets ``(n, T, D)``."""
    return float(np.abs(cross_correlation(synthetic) - cross_correlation(real)).sum() / 10.0)


class CorrelationalScore(Metric):
    """Correlational score of Diffusion-TS (lower is better), mean over random subsets.

    Scored between ``real_test`` (held-out windows under ``tsbench``; all windows under ``timegan2019``)
    and the synthetic windows.

    Parameters
    ----------
    protocol : ``"tsbench"`` or ``"timegan2019"`` (recorded; the arithmetic is the same).
    repeats : number of random subsets (default: the protocol's; Diffusion-TS used 5).
    subset_size : windows drawn with replacement from each set per repeat; ``None`` = ``N_real // 5``
        as in Diffusion-TS (at least 2).
    """

    name = "correlational"
    version = "1"
    outputs: ClassVar[dict[str, bool | None]] = {"value": False}
    parameter_constraints = {"subset_size": Interval(2, None)}
    presets: ClassVar[dict[str, dict]] = {"smoke": {"repeats": 2}, "quick": {}, "paper": {}}
    card = Card(
        title="Correlational score (cross-correlation difference)",
        authors="Yuan, Qiao", year=2024, venue="ICLR", citation_key="yuan2024diffusionts",
        url="https://github.com/Y-debug-sys/Diffusion-TS",
        faithful=("per-feature standardisation over windows and steps (sample std), lag-0 cross-correlation over "
                  "pairs i ≥ j, sum of absolute differences / 10",
                  "subsets of N_real / 5 windows drawn with replacement from each set, averaged over repeats"),
        adapted=("seeded subset draws (the reference uses the global NumPy RNG)",
                 "a constant feature is divided by 1 instead of 0 (the reference returns NaN)",
                 "scored against held-out real windows under the tsbench protocol"))

    def __init__(self, *, protocol: str = "tsbench", repeats: int | None = None, subset_size: int | None = None):
        self.protocol = protocol
        self.repeats = repeats
        self.subset_size = subset_size

    def _compute(self, real_train, real_test, synthetic, *, seed: int, artefact_dir: Path | None) -> MetricResult:
        size = self.subset_size if self.subset_size is not None else max(2, len(real_test) // 5)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
            raise InputError("correlational parameter subset_size", expected="an integer ≥ 2 or None",
                             got=repr(self.subset_size), fix="pass subset_size=<integer ≥ 2>")
        values = []
        for r in range(self.n_repeats()):
            rng = np.random.default_rng(derive_seed(seed, self.name, r))
            real = real_test[rng.integers(0, len(real_test), size=size)]
            fake = synthetic[rng.integers(0, len(synthetic), size=size)]
            values.append(correlational_score(real, fake))
        return {"value": values}
