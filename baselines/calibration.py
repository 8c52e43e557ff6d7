"""The built-in rows that are not models, by declared ``role`` (see :data:`tsbench.generator.ROLES`).

Calibration rows (``role = "calibration"``) show the scale of every metric:

* ``real`` — an independent sample of real windows: the noise floor of every metric, i.e. what a perfect
  generator would score. It returns the split's *floor* windows (every one once) and is scored against
  windows it never returns (see :class:`tsbench.dataset.Split` and :mod:`tsbench.protocols`):

  - ``tsbench@2`` (blocked split): floor blocks vs the test blocks every row is scored against; the two
    share no time step, and both are separated from the training blocks by purge gaps;
  - ``tsbench-chrono@2``: the floor block between the training period and the (latest) test block;
  - ``timegan2019@2``: the windows are cut into two random halves; ``real`` returns one half and is scored
    against the other (as both ``real_train`` and ``real_test``). No window is shared, but stride-1 windows of
    a series overlap in time. The TimeGAN paper's "Original" row instead scores the data against itself
    (an identity, not a floor); that is the one deliberate difference from the reference protocol.
* ``gaussian`` — an independent Gaussian per (time step, feature), fit to the training windows and
  clipped to [0, 1]: matches the marginals and nothing else (no temporal or cross-channel structure). It is
  the null every model must beat.

Corruption rows (``role = "corruption"``, used by ``tsbench validate-metrics``) have one controlled defect
each. Those with ``needs_held_out`` corrupt the split's floor windows (``X_test``, which the runner gives to
built-in calibration and corruption rows only; the training windows when none are given), which never
coincide with the windows they are scored against; ``copy_train`` returns training windows:

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

__all__ = ["Real", "Gaussian", "AddNoise", "ShuffleTime", "ShuffleChannels", "ModeCollapse", "CopyTrain"]


# calibration ---------------------------------------------------------------------------------------
class Real(Generator):
    """Returns the floor windows (``X_test``, given by the runner to built-in calibration rows only), drawn
    without replacement while enough exist and with replacement beyond that. Without ``X_test`` (used on its
    own) it returns the training windows."""

    name = "real"
    role = "calibration"
    needs_held_out = True
    version = "2"
    card = Card(title="Real data (an independent real sample: the noise floor)", citation_key="real",
                faithful=("the 'Original' row of Yoon et al. 2019, Table 2",),
                adapted=("the paper scores the real data against itself (an identity); here the row returns real "
                         "windows disjoint from the ones it is scored against, so it measures each metric's noise "
                         "floor between two independent real samples: floor blocks vs test blocks under tsbench@2, "
                         "two random halves of the windows under timegan2019@2",))

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
    role = "calibration"
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


# corruptions ---------------------------------------------------------------------------------------
def _draw(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows of ``pool``: without replacement while enough exist, with replacement beyond."""
    index = rng.permutation(len(pool))[:n] if n <= len(pool) else rng.integers(0, len(pool), size=n)
    return pool[index].copy()


class _HeldOutCorruption(Generator):
    """Base: keeps the held-out windows (or the training windows when none are given) and corrupts draws."""

    role = "corruption"
    needs_held_out = True

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
    role = "corruption"
    needs_held_out = True
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
    role = "corruption"
    card = Card(title="Copies of training windows", citation_key="copy_train",
                faithful=("training windows returned verbatim: the worst case for memorisation",))

    def _fit(self, X, *, seed, callback):
        self.windows_ = X.copy()
        callback(1, 1, {})

    def _sample(self, n, *, seed):
        return _draw(self.windows_, n, np.random.default_rng(seed))
