"""Calibration rows: they show the scale of every metric.

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
"""
from __future__ import annotations

import numpy as np

from tsbench.card import Card
from tsbench.generator import Generator


class Real(Generator):
    """Returns the floor windows (``X_test``, given by the runner to built-in calibration rows only), drawn
    without replacement while enough exist and with replacement beyond that. Without ``X_test`` (used on its
    own) it returns the training windows."""

    name = "real"
    uses_test_split = True
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
