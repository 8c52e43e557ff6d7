"""Scaling, windowing, split policies and Sines (tsbench.data.windows, tsbench.data.sines)."""
from __future__ import annotations

import numpy as np
import pytest

from tsbench.data.sines import Sines, sine_windows
from tsbench.data.windows import make_windows, minmax_scale, split_series, split_windows
from tsbench.errors import InputError


def _series(n=100, f=3, seed=0):
    """Feature 0 is the time index (so a window's position can be read back), the rest noise."""
    rng = np.random.default_rng(seed)
    out = rng.normal(size=(n, f))
    out[:, 0] = np.arange(n)
    return out


def test_minmax_scale_is_timegans_formula():
    x = _series()
    expected = (x - x.min(0)) / (x.max(0) - x.min(0) + 1e-7)
    np.testing.assert_array_equal(minmax_scale(x), expected)
    assert minmax_scale(x).min() == 0.0 and minmax_scale(x).max() < 1.0


def test_minmax_scale_constant_column_names_it():
    x = _series()
    x[:, 2] = 5.0
    with pytest.raises(InputError, match=r"column 2 \('c'\)") as info:
        minmax_scale(x, ["a", "b", "c"])
    assert "drop" in str(info.value) and "\n" not in str(info.value)


def test_make_windows_count_order_and_dtype():
    x = _series(30, 2)
    w = make_windows(x, seq_len=24)
    assert w.shape == (6, 24, 2) and w.dtype == np.float32  # len - seq_len: the last window is dropped
    for i in range(6):
        np.testing.assert_array_equal(w[i], x[i:i + 24].astype(np.float32))


@pytest.mark.parametrize("rows", [0, 5, 24])
def test_make_windows_too_short(rows):
    with pytest.raises(InputError, match="at least seq_len \\+ 1 = 25 rows"):
        make_windows(np.zeros((rows, 2)), 24)


def test_split_all_uses_every_window_for_both():
    split = split_series(_series(), seq_len=10, seed=3, protocol="timegan2019")
    assert split.policy == "all" and split.train.shape == (90, 10, 3)
    assert split.test is split.train
    # rows reversed: window starts, read from the time-index feature, are a permutation of all starts
    starts = np.rint(split.train[:, 0, 0] * 99).astype(int)
    assert sorted(starts) == list(range(10, 100))  # reversed: the first row of each window is time 99 - i
    assert (split.train[:, 1, 0] < split.train[:, 0, 0]).all()  # newest first inside each window


def _time_sets(split, n):
    """Sets of time indices covered by the train / test / floor windows of an unscaled series whose feature 0
    is ``t / n``."""
    def steps(w):
        return set(np.rint(w[..., 0].astype(np.float64) * n).astype(int).ravel())

    return {role: steps(getattr(split, role)) for role in ("train", "test", "floor")}


@pytest.mark.parametrize("protocol", ["tsbench", "tsbench-chrono"])
def test_held_out_roles_share_no_time_step_and_are_purged(protocol):
    """Defect: the old `real` row returned the very windows it was scored against; the floor must share no
    time step with the test windows, and a purge gap of seq_len − 1 rows separates training from both."""
    n, seq_len = 400, 10
    x = np.random.default_rng(0).random((n, 3))
    x[:, 0] = np.arange(n) / n
    split = split_series(x, seq_len=seq_len, seed=1, protocol=protocol, scale=False)
    times = _time_sets(split, n)
    assert times["floor"] and times["test"] and times["train"]
    assert not times["floor"] & times["test"]
    for held in ("test", "floor"):
        gaps = [abs(a - b) for a in times["train"] for b in times[held]]
        assert min(gaps) >= seq_len  # seq_len − 1 purged rows lie between the closest steps


def test_blocked_split_holds_out_interior_blocks_and_scales_on_train_rows():
    """Defect: the chronological split put the held-out prices above the training range (extrapolation)
    and fitted the scaler on the whole file. Blocked: held-out blocks inside the training period, scaler
    from training rows only."""
    rng = np.random.default_rng(0)
    trend = np.column_stack([np.linspace(0, 10, 1000) + rng.normal(0, .1, 1000), rng.normal(size=1000)])
    split = split_series(trend, seq_len=24, seed=0, protocol="tsbench")
    assert split.policy == "blocked-0.7/0.15/0.15"
    train = split.train.reshape(-1, 2)
    np.testing.assert_allclose(train.min(0), 0.0, atol=1e-6)
    assert train.max(0)[0] == pytest.approx(1.0, abs=1e-5)
    held = np.concatenate([split.test, split.floor])[..., 0]
    assert 0.02 < held.min() and held.max() < 0.98  # interpolation: well inside the training range
    chrono = split_series(trend, seq_len=24, seed=0, protocol="tsbench-chrono")
    assert chrono.test[..., 0].min() > 0.9  # the forecasting option: the test block is the latest period


def test_split_is_seeded_and_sizes_follow_the_fractions():
    x = _series(2000)
    split = split_series(x, seq_len=10, seed=1, protocol="tsbench")
    again = split_series(x, seq_len=10, seed=1, protocol="tsbench")
    other = split_series(x, seq_len=10, seed=2, protocol="tsbench")
    np.testing.assert_array_equal(split.train, again.train)
    assert not np.array_equal(split.train, other.train)
    np.testing.assert_array_equal(np.sort(split.train[:, 0, 0]), np.sort(other.train[:, 0, 0]))
    assert len(split.test) == pytest.approx(len(split.floor), rel=0.1)
    assert 0.1 < len(split.test) / (len(split.train) + 2 * len(split.test)) < 0.2


def test_timegan2019_real_halves_are_disjoint_windows():
    """Under timegan2019 train = test = every window; the real row gets one half and is scored against the
    other, so it never sees a window it returns."""
    split = split_series(_series(), seq_len=10, seed=3, protocol="timegan2019")
    a = {w.tobytes() for w in split.floor}
    b = {w.tobytes() for w in split.floor_reference}
    assert not a & b and len(a) + len(b) == len(split.train)
    train, test = split.scoring_windows(calibration=True)
    assert train is split.floor_reference and test is split.floor_reference
    assert split.scoring_windows(calibration=False) == (split.train, split.test)


def test_split_too_short_says_how_to_fix():
    with pytest.raises(InputError, match="timegan2019"):
        split_series(_series(60), seq_len=24, seed=0, protocol="tsbench")


def test_split_windows_random_for_independent_windows():
    w = np.random.default_rng(0).random((100, 4, 2), dtype=np.float32)
    split = split_windows(w, seed=0, protocol="tsbench")
    assert split.policy == "random-0.7/0.15/0.15"
    assert (len(split.train), len(split.test), len(split.floor)) == (70, 15, 15)
    both = np.concatenate([split.train, split.test, split.floor])
    np.testing.assert_array_equal(np.sort(both.reshape(100, -1), 0), np.sort(w.reshape(100, -1), 0))
    assert split_windows(w, seed=0, protocol="timegan2019").policy == "all"


def test_retired_protocol_is_readable_but_not_runnable():
    from tsbench.protocols import get_protocol, recorded_tag, runnable_protocol

    assert get_protocol("tsbench@1").tag == "tsbench@1" and get_protocol("tsbench").tag == "tsbench@2"
    assert recorded_tag("tsbench") == "tsbench@1" and recorded_tag("tsbench@2") == "tsbench@2"
    with pytest.raises(InputError, match="retired"):
        runnable_protocol("tsbench@1")


def test_sines_matches_reference_loop_and_range():
    seed, n, T, F = 7, 6, 24, 5
    reference_rng = np.random.default_rng(seed)
    reference = []
    for _ in range(n):  # TimeGAN's sine_data_generation, with a seeded generator
        temp = []
        for _ in range(F):
            freq = reference_rng.uniform(0, 0.1)
            phase = reference_rng.uniform(0, 0.1)
            temp.append([np.sin(freq * j + phase) for j in range(T)])
        reference.append((np.transpose(np.asarray(temp)) + 1) * 0.5)
    np.testing.assert_allclose(sine_windows(n, T, F, seed), np.asarray(reference), rtol=0, atol=1e-7)


def test_sines_dataset_shape_determinism_and_split():
    ds = Sines(n_samples=100, seq_len=12, n_features=3)
    a, b, c = ds.windows(0), ds.windows(0), ds.windows(1)
    assert a.shape == (100, 12, 3) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    split = ds.load(seed=0)
    assert split.policy == "random-0.7/0.15/0.15" and split.train.shape == (70, 12, 3)
    assert split.feature_names[0] == "sine_0"
    assert Sines.presets["smoke"]["n_samples"] < Sines.presets["quick"]["n_samples"] < 10000 + 1
    assert "U(0, 0.1)" in " ".join(Sines.card.faithful)


@pytest.mark.parametrize("bad", [0, -3])
def test_sines_rejects_non_positive_sizes(bad):
    with pytest.raises(InputError, match="n_samples"):
        Sines(n_samples=bad).windows(0)


def test_data_package_import_is_light():
    import subprocess
    import sys

    code = ("import sys, tsbench.data; from tsbench.data import resolve_dataset; "
            "resolve_dataset('sines'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
