"""The tsbench@2 blocked split on the real Stocks series (../shared/data): interpolation, not extrapolation.

This is the data fact behind docs/protocols.md: a chronological split puts the held-out prices above the
training range, the blocked split keeps the held-out blocks inside it."""
from __future__ import annotations

import numpy as np
import pytest

from tsbench.data import resolve_dataset


@pytest.fixture(autouse=True)
def shared_data(monkeypatch, tmp_path, require_shared_data):
    monkeypatch.setenv("TSBENCH_DATA_DIR", str(require_shared_data("stock_data.csv")))
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path / "cache"))


def _outside_share(windows: np.ndarray) -> float:
    """Share of the price values (the first five columns; the sixth is volume) outside the training range."""
    prices = windows[..., :5]
    return float(((prices < 0) | (prices > 1)).mean())


def test_chronological_stocks_is_an_extrapolation_test():
    split = resolve_dataset("stocks").load(seed=0, protocol="tsbench-chrono")
    assert split.policy == "chronological-0.7/0.15/0.15"
    assert _outside_share(split.test) > 0.5  # most held-out prices lie above anything the model was trained on


def test_blocked_stocks_holds_out_inside_the_training_range():
    split = resolve_dataset("stocks").load(seed=0, protocol="tsbench")
    assert split.policy == "blocked-0.7/0.15/0.15"
    assert _outside_share(split.test) < 0.01 and _outside_share(split.floor) < 0.01
    assert split.train.min() >= 0 and split.train.max() <= 1
    assert len(split.test) > 400 and len(split.floor) > 400
