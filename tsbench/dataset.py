"""The ``Dataset`` interface and the train/test split policies.

A dataset has a ``name``, a ``version``, keyword parameters (``seq_len`` at least), ``prepare()``
(download/verify files; a no-op for generated data) and ``load(seed, protocol)`` → :class:`Split`.

Subclasses provide either ``series()`` — a raw 2-D array ``(time, features)`` in chronological order
(scaled and windowed here) — or ``windows(seed)`` — ready 3-D windows in [0, 1] whose windows are
independent (e.g. Sines), in which case a random split of windows does not leak.

Split policies (chosen by the protocol, recorded in every record):

* ``all`` (``timegan2019``): train = test = all windows, as the TimeGAN reference code.
* ``chronological`` (``tsbench``): the series is cut at ``train_fraction`` of its length *before*
  windowing (windows overlap, so a random split of windows would leak); independent windows are split
  at random instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .card import Card
from .protocols import Protocol, get_protocol


@dataclass
class Split:
    """Train and held-out test windows, float32 ``(n, seq_len, n_features)`` in [0, 1]."""

    train: np.ndarray
    test: np.ndarray
    policy: str
    feature_names: list[str] = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return int(self.train.shape[2])

    @property
    def seq_len(self) -> int:
        return int(self.train.shape[1])


class Dataset(BaseEstimator):
    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    card: ClassVar[Card] = Card(title="")
    presets: ClassVar[dict[str, dict]] = {}

    def prepare(self) -> None:
        """Fetch and verify any files (no-op for generated data)."""

    def load(self, seed: int, protocol: str | Protocol = "tsbench") -> Split:
        from .data.windows import split_dataset

        return split_dataset(self, seed=int(seed), protocol=get_protocol(protocol))

    # one of these two is implemented by subclasses
    def series(self) -> np.ndarray:
        raise NotImplementedError

    def windows(self, seed: int) -> np.ndarray:
        raise NotImplementedError

    def feature_names(self) -> list[str]:
        return []
