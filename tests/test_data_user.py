"""Users' files: bad input gives one-line errors; window files for `evaluate`; resolve_dataset."""
from __future__ import annotations

import numpy as np
import pytest

from tsbench.data import dataset_display_name, load_windows_file, resolve_dataset, save_windows_csv
from tsbench.data.user import UserFile
from tsbench.errors import InputError, UnknownNameError


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _good_rows(n=40):
    return "".join(f"{i},{(i * 7) % 11}.5\n" for i in range(n))


def _error(call, match) -> str:
    with pytest.raises(InputError, match=match) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and "expected" in message and "got" in message
    return message


def test_csv_series_with_date_column(tmp_path):
    rows = "".join(f"2020-01-{i % 28 + 1:02d},{i},{(i * 7) % 11}.5\n" for i in range(80))
    path = _csv(tmp_path, "Date,a,b\n" + rows)
    ds = resolve_dataset(str(path) + "[seq_len=5]")
    assert ds.feature_names() == ["a", "b"]
    split = ds.load(seed=0, protocol="timegan2019")
    assert split.train.shape == (75, 5, 2) and 0 <= split.train.min() and split.train.max() <= 1
    assert ds.load(seed=0, protocol="tsbench-chrono").policy == "chronological-0.7/0.15/0.15"


@pytest.mark.parametrize("body, match", [
    ("a,b\n1,2\n,3\n" + _good_rows(), "NaN at line 3, column 0 \\('a'\\)"),
    ("a,b\n1,2\n4,inf\n" + _good_rows(), "inf at line 3, column 1 \\('b'\\)"),
    ("a,b\n1,x\n" + _good_rows(), "non-numeric column 'b'"),
    ("a,b\n", "header only"),
    ("", "empty file"),
    ("1,2\n3,4\n" + _good_rows(), "header row"),
])
def test_bad_csv(tmp_path, body, match):
    path = _csv(tmp_path, body)
    _error(lambda: UserFile(path=str(path), seq_len=5).load(seed=0, protocol="timegan2019"), match)


def test_csv_fewer_rows_than_seq_len(tmp_path):
    path = _csv(tmp_path, "a,b\n" + _good_rows(24))
    _error(lambda: UserFile(path=str(path), seq_len=24).load(seed=0, protocol="timegan2019"),
           "at least seq_len \\+ 1 = 25 rows")


def test_csv_constant_column_is_named(tmp_path):
    path = _csv(tmp_path, "a,b,c\n" + "".join(f"{i},3,{i % 5}\n" for i in range(40)))
    message = _error(lambda: UserFile(path=str(path), seq_len=5).load(seed=0, protocol="timegan2019"),
                     "constant")
    assert "'b'" in message and "drop" in message
    unscaled = UserFile(path=str(path), seq_len=5, scale=False)  # no scaling: constant is fine, range is not
    _error(lambda: unscaled.load(seed=0, protocol="timegan2019"), "scale=true")


@pytest.mark.parametrize("shape", [(50,), (2, 3, 4, 5)])
def test_npy_rank_1_or_4(tmp_path, shape):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random(shape))
    _error(lambda: UserFile(path=str(path)).load(seed=0), f"{len(shape)}-D array")


def test_npy_series_and_windows(tmp_path):
    rng = np.random.default_rng(0)
    series, windows = tmp_path / "s.npy", tmp_path / "w.npz"
    np.save(series, rng.normal(size=(150, 3)))
    np.savez(windows, windows=rng.normal(size=(30, 8, 2)) * 5)
    assert resolve_dataset(str(series), seq_len=10).load(seed=0).policy == "blocked-0.7/0.15/0.15"
    split = resolve_dataset(str(windows)).load(seed=0)
    assert split.policy == "random-0.7/0.15/0.15" and split.train.shape == (22, 8, 2)
    assert split.train.min() >= 0 and split.train.max() <= 1  # scaled per feature
    bad = tmp_path / "nan.npy"
    np.save(bad, np.full((30, 8, 2), np.nan))
    _error(lambda: UserFile(path=str(bad)).load(seed=0), "non-finite")


def test_user_file_identity_follows_content(tmp_path):
    path = _csv(tmp_path, "a,b\n" + _good_rows())
    ds = resolve_dataset(str(path))
    name = dataset_display_name(ds)
    assert name.startswith("file[path=") and dataset_display_name(resolve_dataset(name)) == name
    before = ds.version
    path.write_text("a,b\n" + _good_rows(41))
    assert ds.version != before


def test_resolve_dataset_names_and_errors(tmp_path):
    sines = resolve_dataset("sines[seq_len=12]", preset="smoke")
    assert sines.get_params() == {"n_samples": 300, "n_features": 5, "seq_len": 12}
    assert dataset_display_name(sines) == "sines[n_samples=300,seq_len=12]"
    assert dataset_display_name(resolve_dataset("stocks", data_dir="/somewhere")) == "stocks"
    assert resolve_dataset("sines", data_dir="/ignored").n_samples == 10000  # overrides apply where accepted
    with pytest.raises(UnknownNameError, match="Did you mean: sines"):
        resolve_dataset("sine")
    _error(lambda: resolve_dataset("sines[bogus=1]"), "unknown parameter")
    _error(lambda: resolve_dataset(str(tmp_path / "missing.csv")), "existing file")
    _error(lambda: resolve_dataset("some/dir/data.txt"), "csv, .npy or .npz")


def test_load_windows_file_formats_round_trip(tmp_path):
    w = np.random.default_rng(0).random((4, 6, 3)).astype(np.float32)
    np.save(tmp_path / "a.npy", w)
    np.savez(tmp_path / "b.npz", samples=w, other=w[:1])
    np.savez(tmp_path / "c.npz", w)
    save_windows_csv(tmp_path / "d.csv", w, ["x", "y", "z"])
    for name in ("a.npy", "b.npz", "c.npz", "d.csv"):
        loaded = load_windows_file(tmp_path / name)
        assert loaded.dtype == np.float32
        np.testing.assert_allclose(loaded, w, rtol=1e-6)


def test_load_windows_file_errors(tmp_path):
    np.save(tmp_path / "series.npy", np.zeros((10, 2)))
    _error(lambda: load_windows_file(tmp_path / "series.npy"), "3-D")
    nan = np.zeros((2, 3, 1))
    nan[1, 2, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    _error(lambda: load_windows_file(tmp_path / "nan.npy"), "finite")
    np.savez(tmp_path / "two.npz", a=nan, b=nan)
    _error(lambda: load_windows_file(tmp_path / "two.npz"), "samples")
    plain = _csv(tmp_path, "a,b\n1,2\n", "plain.csv")
    _error(lambda: load_windows_file(plain), "'window' and 'step'")
    gaps = _csv(tmp_path, "window,step,a\n0,0,1\n0,1,2\n1,0,3\n", "gaps.csv")
    _error(lambda: load_windows_file(gaps), "exactly once")
    _error(lambda: load_windows_file(tmp_path / "x.txt"), "npy, .npz or .csv")
