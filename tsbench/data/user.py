"""A user's own data file as a dataset: ``--dataset path/to/file.csv`` (or ``.npy`` / ``.npz``).

* A headed ``.csv`` or a 2-D array ``(time, features)`` is one chronological series: it is min–max
  scaled per column (``scale=True``, TimeGAN's formula) and cut into stride-1 windows of ``seq_len``, then
  split by the protocol exactly like Stocks and Energy (chronologically before windowing under ``tsbench``).
  CSV columns named date/time/timestamp/datetime are dropped; any other non-numeric column is an error.
* A 3-D array ``(n_windows, seq_len, features)`` is used as it is: the windows are taken to be independent
  (split at random under ``tsbench``; pass the 2-D series instead if they overlap). With ``scale=True``
  each feature is min–max scaled over all windows and steps; with ``scale=False`` the values must
  already lie in [0, 1]. ``seq_len`` is then the array's own and the parameter is ignored.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
>>> np.save(path, np.random.default_rng(0).random((100, 2)))
>>> UserFile(path=path, seq_len=10).load(seed=0, protocol="timegan2019").train.shape
(90, 10, 2)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..card import Card
from ..dataset import Dataset
from ..errors import InputError
from .io import check_range, file_sha256, read_array, read_series_csv
from .windows import minmax_scale

SUFFIXES = (".csv", ".npy", ".npz")


class UserFile(Dataset):
    """Windows from a user's ``.csv`` / ``.npy`` / ``.npz`` file (see the module docstring).

    Parameters
    ----------
    path : str — the file.
    seq_len : int, default 24 — window length for series (ignored for 3-D window arrays).
    scale : bool, default True — per-feature min–max scaling; ``False`` requires values in [0, 1].
    """

    name = "file"
    card = Card(title="User data file", faithful=("TimeGAN loader: min-max scaling with the 1e-7 term, "
                                                  "stride-1 windows (len - seq_len)",))

    def __init__(self, path: str | None = None, seq_len: int = 24, scale: bool = True):
        self.path = path
        self.seq_len = seq_len
        self.scale = scale

    # the dataset's identity follows the file's content
    @property
    def version(self) -> str:  # type: ignore[override]
        return f"1+sha256:{file_sha256(self._path())[:12]}"

    def _path(self) -> Path:
        if not self.path:
            raise InputError("dataset file", expected="a path to a .csv, .npy or .npz file", got="no path",
                             fix="pass --dataset path/to/data.csv")
        path = Path(self.path)
        if path.suffix.lower() not in SUFFIXES:
            raise InputError(f"dataset file {str(path)!r}", expected="a .csv, .npy or .npz file",
                             got=f"suffix {path.suffix or '(none)'!r}", fix="convert the data to CSV or .npy")
        if not path.is_file():
            raise InputError("dataset file", expected="an existing file", got=repr(str(path)),
                             fix="check the path (relative paths are taken from the current folder)")
        return path

    def _read(self) -> tuple[np.ndarray, list[str]]:
        path = self._path()
        if path.suffix.lower() == ".csv":
            return read_series_csv(path)
        arr = read_array(path)
        if arr.ndim not in (2, 3):
            raise InputError(f"dataset file {path}", expected="a 2-D series (time, features) or 3-D windows "
                             "(n_windows, seq_len, features)", got=f"a {arr.ndim}-D array of shape {arr.shape}",
                             fix=("add a feature axis with x[:, None]" if arr.ndim == 1 else
                                  "reshape to (n_windows, seq_len, features)"))
        if 0 in arr.shape:
            raise InputError(f"dataset file {path}", expected="at least one row (window) and one feature",
                             got=f"an empty array of shape {arr.shape}", fix="check that the data was saved")
        bad = ~np.isfinite(arr)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(f"dataset file {path}", expected="finite values (no NaN or inf)",
                             got=f"{int(bad.sum())} non-finite value(s), first at index {first}",
                             fix="impute or drop missing values before benchmarking")
        check_range(arr, f"dataset file {path}", axis=tuple(range(arr.ndim - 1)))
        return arr, []

    def load(self, seed: int, protocol="tsbench"):
        """The split, as any dataset's; held-out values far outside the training rows' range can scale past
        float32 (e.g. 1e38 against a training range of 1): an :class:`InputError`, never inf windows."""
        with np.errstate(over="ignore", invalid="ignore"):  # checked below: one error, no warning lines
            split = super().load(seed, protocol)
        for role in ("train", "test", "floor", "floor_reference"):
            part = getattr(split, role, None)
            if part is not None and part.size and not np.isfinite(part).all():
                raise InputError(f"dataset file {self.path}", expected="windows within float32's range after "
                                 "min–max scaling", got=f"non-finite {role} windows (held-out values far outside "
                                 "the training rows' range)", fix="rescale the data or remove the outliers")
        return split

    @property
    def is_series(self) -> bool:
        """True for a CSV or 2-D array (a chronological series), False for 3-D windows."""
        return self._read()[0].ndim == 2

    def prepare(self) -> Path:
        """Check that the file exists and reads cleanly; returns its path."""
        self._read()
        return self._path()

    def series(self) -> np.ndarray:
        arr, _ = self._read()
        if arr.ndim != 2:
            raise InputError(f"dataset file {self.path}", expected="a 2-D series", got=f"shape {arr.shape}",
                             fix="3-D files are used through windows(seed)")
        return np.asarray(arr, dtype=np.float64)

    def windows(self, seed: int) -> np.ndarray:
        arr, _ = self._read()
        if arr.ndim != 3:
            raise InputError(f"dataset file {self.path}", expected="3-D windows", got=f"shape {arr.shape}",
                             fix="2-D files are used through series()")
        what = f"dataset file {self.path}"
        if self.scale:
            return minmax_scale(arr, what=what).astype(np.float32)
        low, high = float(arr.min()), float(arr.max())
        if low < 0.0 or high > 1.0:
            raise InputError(what, expected="values in [0, 1] when scale=false", got=f"values in [{low:.4g}, "
                             f"{high:.4g}]", fix="pass scale=true or scale the windows yourself")
        return np.array(arr, dtype=np.float32)

    def feature_names(self) -> list[str]:
        names = self._read()[1]
        if names:
            return names
        return [f"f{k}" for k in range(self._read()[0].shape[-1])]
