"""Calibration generators with one controlled defect each (used by ``tsbench validate-metrics``).

They corrupt the split's *floor* windows (``X_test``, given by the runner to built-in calibration rows since
``uses_test_split = True``; the training windows when none are given), which never coincide with the windows
they are scored against (see :mod:`tsbench.baselines.calibration`), except ``copy_train``, which returns
training windows:

* ``noise`` — additive Gaussian noise ``N(0, sigma²)``, clipped to [0, 1] (the data range);
* ``shuffle_time`` — the time steps of each window permuted (one permutation per window, shared by its
  channels): keeps marginals and lag-0 cross-correlation, destroys temporal structure;
* ``shuffle_channels`` — each channel taken from an independently chosen window: keeps each channel's
  marginal and temporal structure, destroys cross-channel dependence;
* ``mode_collapse`` — samples drawn from one small cluster: the ``fraction`` of windows nearest (Euclidean,
  flattened) to one randomly chosen anchor window;
* ``copy_train`` — copies of training windows (perfect memorisation).

Everything is deterministic given the fit and sample seeds.

>>> import numpy as np
>>> X = np.random.default_rng(0).random((20, 6, 2), dtype=np.float32)
>>> ShuffleTime().fit(X, seed=0).sample(4, seed=1).shape
(4, 6, 2)
"""
from __future__ import annotations

import numpy as np

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.generator import Generator

__all__ = ["AddNoise", "ShuffleTime", "ShuffleChannels", "ModeCollapse", "CopyTrain"]


def _draw(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows of ``pool``: without replacement while enough exist, with replacement beyond."""
    index = rng.permutation(len(pool))[:n] if n <= len(pool) else rng.integers(0, len(pool), size=n)
    return pool[index].copy()


class _HeldOutCorruption(Generator):
    """Base: keeps the held-out windows (or the training windows when none are given) and corrupts draws."""

    uses_test_split = True

    def _fit(self, X, *, seed, callback, X_test=None):
        self.windows_ = (X_test if X_test is not None else X).copy()
        callback(1, 1, {})

    def _sample(self, n, *, seed):
        rng = np.random.default_rng(seed)
        return self._corrupt(_draw(self.windows_, n, rng), rng)

    def _corrupt(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


class AddNoise(_HeldOutCorruption):
    """Held-out windows plus i.i.d. Gaussian noise of standard deviation ``sigma``, clipped to [0, 1]."""

    name = "noise"
    card = Card(title="Real + Gaussian noise", citation_key="noise",
                faithful=("held-out real windows with additive i.i.d. Gaussian noise",),
                adapted=("clipped to the data range [0, 1]",))

    def __init__(self, *, sigma=0.1):
        self.sigma = sigma

    def _fit(self, X, *, seed, callback, X_test=None):
        if not (isinstance(self.sigma, (int, float)) and self.sigma >= 0):
            raise InputError("noise sigma", expected="a number ≥ 0", got=repr(self.sigma), fix="e.g. noise[sigma=0.1]")
        super()._fit(X, seed=seed, callback=callback, X_test=X_test)

    def _corrupt(self, X, rng):
        noise = rng.standard_normal(X.shape, dtype=np.float32) * np.float32(self.sigma)
        return np.clip(X + noise, 0.0, 1.0)


class ShuffleTime(_HeldOutCorruption):
    """Held-out windows whose time steps are randomly permuted (the same permutation for all channels)."""

    name = "shuffle_time"
    card = Card(title="Real, time steps shuffled", citation_key="shuffle_time",
                faithful=("held-out real windows with the order of time steps permuted within each window",))

    def _corrupt(self, X, rng):
        order = np.argsort(rng.random(X.shape[:2]), axis=1)  # one permutation per window
        return np.take_along_axis(X, order[:, :, None], axis=1)


class ShuffleChannels(_HeldOutCorruption):
    """Held-out windows whose channels are recombined across windows (channel ``c`` of output ``i`` comes
    from an independently permuted window), breaking cross-channel dependence."""

    name = "shuffle_channels"
    card = Card(title="Real, channels shuffled across windows", citation_key="shuffle_channels",
                faithful=("each channel of each window is taken from an independently chosen held-out window",))

    def _corrupt(self, X, rng):
        out = np.empty_like(X)
        for c in range(X.shape[2]):
            out[:, :, c] = X[rng.permutation(len(X)), :, c]
        return out


class ModeCollapse(Generator):
    """All samples drawn from one small cluster: the ``fraction`` of held-out windows (at least 2) nearest
    to an anchor window chosen at random by the fit seed."""

    name = "mode_collapse"
    uses_test_split = True
    card = Card(title="Mode collapse (one small cluster of real windows)", citation_key="mode_collapse",
                faithful=("real held-out windows restricted to the nearest neighbours of one random anchor",))

    def __init__(self, *, fraction=0.05):
        self.fraction = fraction

    def _fit(self, X, *, seed, callback, X_test=None):
        if not (isinstance(self.fraction, (int, float)) and 0 < self.fraction <= 1):
            raise InputError("mode_collapse fraction", expected="a number in (0, 1]", got=repr(self.fraction),
                             fix="e.g. mode_collapse[fraction=0.05]")
        pool = X_test if X_test is not None else X
        flat = pool.reshape(len(pool), -1).astype(np.float64)
        anchor = flat[np.random.default_rng(seed).integers(len(pool))]
        size = min(len(pool), max(2, int(round(self.fraction * len(pool)))))
        nearest = np.argsort(((flat - anchor) ** 2).sum(1), kind="stable")[:size]
        self.windows_ = pool[nearest].copy()
        callback(1, 1, {})

    def _sample(self, n, *, seed):
        return _draw(self.windows_, n, np.random.default_rng(seed))


class CopyTrain(Generator):
    """Returns copies of the training windows (a generator that memorised its training set)."""

    name = "copy_train"
    card = Card(title="Copies of training windows", citation_key="copy_train",
                faithful=("training windows returned verbatim: the worst case for memorisation",))

    def _fit(self, X, *, seed, callback):
        self.windows_ = X.copy()
        callback(1, 1, {})

    def _sample(self, n, *, seed):
        return _draw(self.windows_, n, np.random.default_rng(seed))
