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

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .card import Card
from .protocols import Protocol, get_protocol


@dataclass
class Split:
    """Real windows by role, float32 ``(n, seq_len, n_features)`` (training windows in [0, 1]).

    ``train`` trains the generators; ``test`` is what every row is scored against; ``floor`` holds the real
    windows that calibration rows (``real``, corruptions) return. ``floor`` never shares a window with what
    those rows are scored against: with ``floor_reference`` set (policy ``all``, where ``test`` is every
    window) they are scored against it as both ``real_train`` and ``real_test``; else against
    ``(train, test)`` like every model. ``None`` floor: an older split that has none.
    """

    train: np.ndarray
    test: np.ndarray
    policy: str
    feature_names: list[str] = field(default_factory=list)
    floor: np.ndarray | None = None
    floor_reference: np.ndarray | None = None

    def scoring_windows(self, calibration: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(real_train, real_test)`` a row is scored with: calibration rows built from ``floor`` get
        ``floor_reference`` when the split has one."""
        if calibration and self.floor_reference is not None:
            return self.floor_reference, self.floor_reference
        return self.train, self.test

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
