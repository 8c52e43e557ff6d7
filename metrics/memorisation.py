"""Memorisation: distance to closest record (DCR), training windows vs held-out windows.

Windows are flattened to vectors ``(seq_len · n_features)`` and compared by Euclidean distance.

* ``value`` — share of synthetic windows closer to their nearest *training* window than to their nearest
  *held-out* window (ties count one half), corrected for the sizes of the two reference sets: the odds
  ``s / (1 − s)`` are divided by ``n_train / n_test``. For fresh draws from the data distribution the nearest
  of all ``n_train + n_test`` real windows is equally likely to be any of them, so the raw share is
  ``n_train / (n_train + n_test)`` in expectation and the corrected share 0.5; copies of training windows
  score 1. No direction: 0.5 is ideal under an i.i.d. split; under a chronological split held-out windows come
  from a later period, so a good generator of the training period scores above 0.5 without copying, and
  ``real`` (which returns the held-out windows themselves) scores 0.
* ``ratio`` — median DCR of the synthetic windows to the (full) training set divided by the median DCR of
  the held-out windows to the training set: 1 for data as far from training as genuinely new data, → 0 for
  copies, > 1 for samples farther from the training data than new data (poor fidelity). No direction.

The metric needs a held-out split: under ``timegan2019`` (train = test = all windows) both distances are
identical and the metric is undefined, so it raises :class:`~tsbench.errors.InputError`.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> train, test = rng.random((200, 8, 2)), rng.random((200, 8, 2))
>>> out = Memorisation().compute(train, test, train[:100], seed=0)
>>> out["value"], out["ratio"]
([1.0], [0.0])
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.metric import Metric
from tsbench.params import Interval
from tsbench.seeding import derive_seed

__all__ = ["Memorisation", "corrected_share", "nearest_distances"]


def nearest_distances(queries: np.ndarray, reference: np.ndarray, block: int = 1024) -> np.ndarray:
    """Euclidean distance of each query row to its nearest reference row (blockwise, float64 accumulation).

    ``queries`` (n, d), ``reference`` (m, d) → ``(n,)``.
    """
    Q = np.asarray(queries, dtype=np.float64).reshape(len(queries), -1)
    R = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    r_sq = (R ** 2).sum(1)
    out = np.empty(len(Q))
    for start in range(0, len(Q), block):
        q = Q[start:start + block]
        d2 = (q ** 2).sum(1)[:, None] + r_sq[None, :] - 2 * q @ R.T
        out[start:start + block] = np.sqrt(np.clip(d2.min(1), 0.0, None))
    return out


def corrected_share(share: float, size_odds: float) -> float:
    """Share closer to training with its odds divided by ``size_odds = n_train / n_test`` (0 and 1 are fixed)."""
    if share >= 1.0:
        return 1.0
    odds = share / (1.0 - share) / size_odds
    return float(odds / (1.0 + odds))


class Memorisation(Metric):
    """Distance to closest record: share of synthetic windows closer to training than to held-out data,
    and the DCR ratio. See the module docstring.

    Parameters
    ----------
    max_windows : int or None
        Score at most this many synthetic windows (random subset per repeat); ``None`` uses all.
    repeats : int
        Repeats differ only in the random subset of synthetic windows (``max_windows``); 1 by default,
        as the metric is deterministic on all windows.
    protocol : str
        Must provide a held-out split (``tsbench``).
    """

    name = "memorisation"
    version = "1"
    outputs = {"value": None, "ratio": None}
    card = Card(
        title="Memorisation (distance to closest record)", citation_key="dcr",
        faithful=("distance to closest record (DCR) of each synthetic sample to the training data compared "
                  "with the held-out data, as in privacy evaluations of synthetic data (e.g. Platzer & Reutterer, "
                  "'Holdout-based empirical assessment of mixed-type synthetic data', Frontiers in Big Data 2021)",),
        adapted=("applied to flattened windows with Euclidean distance",
                 "the share is corrected for unequal training / held-out sizes (odds divided by n_train / n_test) so "
                 "that 0.5 means no copying while copies still score 1",
                 "adds the DCR ratio against held-out windows' DCR (full training set), which is exactly 0 for "
                 "copies and 1 for new data"),
    )
    parameter_constraints = {"max_windows": Interval(2, None)}
    presets = {"smoke": {"max_windows": 500}, "quick": {"max_windows": 2000}, "paper": {}}

    #: needs distinct training and held-out windows
    protocols = ("tsbench",)

    def __init__(self, *, max_windows=None, protocol="tsbench", repeats=1):
        self.max_windows = max_windows
        self.protocol = protocol
        self.repeats = repeats

    def _compute(self, real_train, real_test, synthetic, *, seed, artefact_dir: Path | None):
        if real_train.shape == real_test.shape and np.array_equal(real_train, real_test):
            raise InputError("memorisation", expected="distinct training and held-out windows",
                             got="the same windows for both (protocol timegan2019 uses all windows for both)",
                             fix="use --protocol tsbench, or drop memorisation from the metrics")
        held_out_dcr = float(np.median(nearest_distances(real_test, real_train)))
        if held_out_dcr == 0:
            raise InputError("memorisation", expected="held-out windows that differ from the training windows",
                             got="most held-out windows duplicate a training window (median DCR 0)",
                             fix="deduplicate the data or use a split without overlap")
        size_odds = len(real_train) / len(real_test)
        shares, ratios = [], []
        for r in range(self.n_repeats()):
            rng = np.random.default_rng(derive_seed(seed, "memorisation", r))
            fake = synthetic
            if self.max_windows is not None and len(fake) > self.max_windows:
                fake = fake[rng.choice(len(fake), size=int(self.max_windows), replace=False)]
            d_train, d_test = nearest_distances(fake, real_train), nearest_distances(fake, real_test)
            shares.append(corrected_share(float(np.mean(d_train < d_test) + 0.5 * np.mean(d_train == d_test)),
                                          size_odds))
            ratios.append(float(np.median(d_train)) / held_out_dcr)
        return {"value": shares, "ratio": ratios}
