"""Stocks and Energy against a direct NumPy re-implementation of the TimeGAN loader (../shared/data)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsbench.data import resolve_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def shared_data(monkeypatch, tmp_path):
    if not (SHARED / "stock_data.csv").is_file() or not (SHARED / "energy_data.csv").is_file():
        pytest.skip(f"reference CSVs not found in {SHARED}")
    monkeypatch.setenv("TSBENCH_DATA_DIR", str(SHARED))
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path / "cache"))  # never downloads: the local copy wins


def timegan_windows(path: Path, seq_len: int = 24) -> np.ndarray:
    """TimeGAN's data_loading.real_data_loading without the (unseeded) shuffle."""
    ori = np.loadtxt(path, delimiter=",", skiprows=1)[::-1]
    norm = (ori - np.min(ori, 0)) / (np.max(ori, 0) - np.min(ori, 0) + 1e-7)
    return np.asarray([norm[i:i + seq_len] for i in range(len(norm) - seq_len)])


def _as_index(windows: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Position in ``reference`` of each window (exact float32 match); -1 when absent."""
    lookup = {w.tobytes(): i for i, w in enumerate(reference)}
    return np.array([lookup.get(w.tobytes(), -1) for w in windows])


@pytest.mark.parametrize("name, filename, count, n_features",
                         [("stocks", "stock_data.csv", 3661, 6), ("energy", "energy_data.csv", 19711, 28)])
def test_timegan_protocol_equals_reference_loader(name, filename, count, n_features):
    split = resolve_dataset(name).load(seed=0, protocol="timegan2019")
    assert split.policy == "all" and split.test is split.train
    assert split.train.shape == (count, 24, n_features) and split.train.dtype == np.float32
    reference = timegan_windows(SHARED / filename).astype(np.float32)
    index = _as_index(split.train, reference)
    assert sorted(index) == list(range(count))  # the same windows, shuffled
    assert not np.array_equal(index, np.arange(count))


def test_chronological_split_has_disjoint_time_ranges():
    split = resolve_dataset("stocks").load(seed=0, protocol="tsbench")
    assert split.policy == "chronological-0.8"
    cut = round(3685 * 0.8)
    assert split.train.shape == (cut - 24, 24, 6) and split.test.shape == (3685 - cut - 24, 24, 6)
    # oldest-first (no reversal under tsbench): train windows end before the cut, test windows start after
    ori = np.loadtxt(SHARED / "stock_data.csv", delimiter=",", skiprows=1)
    norm = (ori - ori.min(0)) / (ori.max(0) - ori.min(0) + 1e-7)
    starts = np.arange(len(norm) - 23)
    reference = np.stack([norm[i:i + 24] for i in starts]).astype(np.float32)
    train_starts, test_starts = _as_index(split.train, reference), _as_index(split.test, reference)
    assert (train_starts >= 0).all() and (test_starts >= 0).all()
    assert train_starts.max() + 24 <= cut <= test_starts.min()


def test_feature_names_and_seeded_shuffle():
    dataset = resolve_dataset("stocks")
    assert dataset.feature_names() == ["Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    a, b = dataset.load(seed=1, protocol="timegan2019"), dataset.load(seed=1, protocol="timegan2019")
    np.testing.assert_array_equal(a.train, b.train)
    assert not np.array_equal(a.train, dataset.load(seed=2, protocol="timegan2019").train)
