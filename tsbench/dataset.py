"""The ``Dataset`` interface and the train/test split policies.

A dataset has a ``name``, a ``version``, keyword parameters (``seq_len`` at least), ``prepare()``
(download/verify files; a no-op for generated data) and ``load(seed, protocol)`` → :class:`Split`.

Subclasses provide either ``series()`` — a raw 2-D array ``(time, features)`` in chronological order
(scaled and windowed here) — or ``windows(seed)`` — ready 3-D windows in [0, 1] whose windows are
independent (e.g. Sines), in which case a random split of windows does not leak.

Split policies (chosen by the protocol, recorded in every record; see :mod:`tsbench.protocols`):

* ``all`` (``timegan2019``): train = test = all windows, as the TimeGAN reference code; the ``real`` row
  gets one random half of the windows and is scored against the other half.
* ``blocked`` (``tsbench``) and ``chronological`` (``tsbench-chrono``): the series is cut into train, test
  and floor blocks *before* windowing, with purge gaps (windows overlap, so a random split of windows
  would leak); independent windows are split at random instead.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .card import Card
from .data.windows import Split, split_dataset
from .protocols import Protocol, get_protocol


class Dataset(BaseEstimator):
    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    card: ClassVar[Card] = Card(title="")
    presets: ClassVar[dict[str, dict]] = {}

    def prepare(self) -> None:
        """Fetch and verify any files (no-op for generated data)."""

    def load(self, seed: int, protocol: str | Protocol = "tsbench") -> Split:
        return split_dataset(self, seed=int(seed), protocol=get_protocol(protocol))

    # one of these two is implemented by subclasses
    def series(self) -> np.ndarray:
        raise NotImplementedError

    def windows(self, seed: int) -> np.ndarray:
        raise NotImplementedError

    def feature_names(self) -> list[str]:
        return []

    @property
    def is_series(self) -> bool:
        """Whether the dataset provides a chronological ``series()`` (else independent ``windows(seed)``):
        true when the class overrides ``series``. A dataset that can be either (a user's file) overrides this."""
        return type(self).series is not Dataset.series


__all__ = ["Dataset", "Split"]
