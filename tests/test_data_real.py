"""Stocks and Energy against a direct NumPy re-implementation of the TimeGAN loader (../shared/data, or
$TSBENCH_SHARED_DATA; missing data skip these tests, or fail them under CI=true — tested at the end)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tsbench.data import resolve_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def shared(require_shared_data, monkeypatch, tmp_path) -> Path:
    """The reference CSVs' folder, used by the dataset loaders too."""
    folder = require_shared_data("stock_data.csv", "energy_data.csv")
    monkeypatch.setenv("TSBENCH_DATA_DIR", str(folder))
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path / "cache"))  # never downloads: the local copy wins
    return folder


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
def test_timegan_protocol_equals_reference_loader(shared, name, filename, count, n_features):
    split = resolve_dataset(name).load(seed=0, protocol="timegan2019")
    assert split.policy == "all" and split.test is split.train
    assert split.train.shape == (count, 24, n_features) and split.train.dtype == np.float32
    reference = timegan_windows(shared / filename).astype(np.float32)
    index = _as_index(split.train, reference)
    assert sorted(index) == list(range(count))  # the same windows, shuffled
    assert not np.array_equal(index, np.arange(count))


def test_etth1_from_the_local_copy_is_the_unaltered_file_under_the_timegan_loader(require_shared_data,
                                                                                    monkeypatch, tmp_path):
    """ETTh1 from ``--data-dir``: 17420 rows × 7 columns (``date`` dropped); under timegan2019 exactly the windows
    TimeGAN's loader cuts from those columns (17396 of 24 steps)."""
    folder = require_shared_data("ETTh1.csv")
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path / "cache"))  # never downloads: the local copy wins
    dataset = resolve_dataset("etth1", data_dir=str(folder))
    assert dataset.series().shape == (17420, 7)
    assert dataset.feature_names() == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    split = dataset.load(seed=0, protocol="timegan2019")
    raw = np.loadtxt(folder / "ETTh1.csv", delimiter=",", skiprows=1, usecols=range(1, 8))[::-1]
    norm = (raw - raw.min(0)) / (raw.max(0) - raw.min(0) + 1e-7)
    reference = np.asarray([norm[i:i + 24] for i in range(len(norm) - 24)]).astype(np.float32)
    assert split.train.shape == (17396, 24, 7)
    assert sorted(_as_index(split.train, reference)) == list(range(17396))
    assert not list((tmp_path / "cache").rglob("*.csv"))


def _standardised(windows: np.ndarray) -> np.ndarray:
    """Each window centred and scaled per feature: invariant to the split's per-feature min–max scaler."""
    w = windows.astype(np.float64)
    w = w - w.mean(axis=1, keepdims=True)
    return (w / (w.std(axis=1, keepdims=True) + 1e-12)).reshape(len(w), -1)


def _starts(windows: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Start row of each window in the raw series (nearest standardised reference window; must be exact)."""
    a, b = _standardised(windows), _standardised(reference)
    d2 = (a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None] - 2 * a @ b.T
    best = d2.argmin(axis=1)
    assert np.sqrt(np.maximum(d2[np.arange(len(a)), best], 0)).max() < 1e-2
    return best


@pytest.mark.parametrize("protocol", ["tsbench", "tsbench-chrono"])
def test_held_out_split_has_disjoint_purged_time_ranges(shared, protocol):
    """On the real Stocks series: train, test and floor windows never share a time step, and seq_len − 1 rows
    separate training windows from held-out ones (no reversal: the series is oldest-first)."""
    split = resolve_dataset("stocks").load(seed=0, protocol=protocol)
    ori = np.loadtxt(shared / "stock_data.csv", delimiter=",", skiprows=1)
    reference = np.stack([ori[i:i + 24] for i in range(len(ori) - 23)])
    train, test, floor = (_starts(w, reference) for w in (split.train, split.test, split.floor))
    assert len(set(train)) == len(train) and len(set(test)) == len(test)

    def gap(a, b):  # smallest distance between the start rows of two sets of windows
        return np.abs(np.subtract.outer(np.sort(a), np.sort(b))).min()

    assert gap(train, test) >= 24 + 23 and gap(train, floor) >= 24 + 23  # window length + purge
    assert gap(test, floor) >= 24
    if protocol == "tsbench-chrono":
        assert train.max() < floor.min() and floor.max() < test.min()


def test_feature_names_and_seeded_shuffle(shared):
    dataset = resolve_dataset("stocks")
    assert dataset.feature_names() == ["Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    a, b = dataset.load(seed=1, protocol="timegan2019"), dataset.load(seed=1, protocol="timegan2019")
    np.testing.assert_array_equal(a.train, b.train)
    assert not np.array_equal(a.train, dataset.load(seed=2, protocol="timegan2019").train)


# the rule: missing reference data skip these tests, except under CI=true, where they fail --------------------
@pytest.mark.parametrize("ci, outcome", [("true", "fail"), ("TRUE", "fail"), ("1", "fail"), (None, "skip"),
                                         ("false", "skip"), ("", "skip")])
def test_missing_shared_data_fails_under_ci_else_skips(require_shared_data, monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setenv("TSBENCH_SHARED_DATA", str(tmp_path))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="stock_data.csv not found"):
        require_shared_data("stock_data.csv")
    (tmp_path / "stock_data.csv").write_text("Open\n1\n")
    assert require_shared_data("stock_data.csv") == tmp_path


@pytest.mark.parametrize("ci", [True, False])
def test_missing_shared_data_in_the_real_data_tests(tmp_path, ci):
    """The real-data tests of this module and of test_fidelity.py (Stocks, Energy) run in a separate pytest
    with an empty $TSBENCH_SHARED_DATA: with CI=true every one fails (or errors in its fixture), without it
    every one is skipped."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(TSBENCH_SHARED_DATA=str(tmp_path), **({"CI": "true"} if ci else {}))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "slow or not slow",
                             "-k", "not missing_shared_data and not sines", "tests/test_data_real.py",
                             "tests/test_fidelity.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (failed|errors?|skipped|passed)",
                                                      result.stdout.strip().splitlines()[-1])}
    if ci:
        assert result.returncode == 1, result.stdout
        failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
        assert failed >= 8, result.stdout
        assert "passed" not in counts and "skipped" not in counts, result.stdout
        assert result.stdout.count("CI=true: reference data") >= failed
    else:
        assert result.returncode == 0 and set(counts) == {"skipped"} and counts["skipped"] >= 8, result.stdout
