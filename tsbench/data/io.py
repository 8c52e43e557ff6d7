"""Reading users' files: headed CSV series, ``.npy``/``.npz`` arrays and window files for ``evaluate``.

Every problem is an :class:`~tsbench.errors.InputError` with what was expected, what was got and the fix.

Window files (what ``tsbench evaluate`` reads, :func:`load_windows_file`):

* ``.npy`` — one 3-D array ``(n_windows, seq_len, n_features)``;
* ``.npz`` — the array under key ``samples`` or ``windows``, or the archive's only array;
* ``.csv`` — tidy: one row per (window, step), an integer ``window`` column, an integer ``step`` column
  (0 .. seq_len-1, every step present for every window) and one column per feature, e.g.
  ``window,step,open,close`` (:func:`save_windows_csv` writes this format).
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..validation import check_windows

#: columns dropped from CSV series (case-insensitive): time stamps index the rows, they are not features
INDEX_COLUMNS = frozenset({"date", "time", "timestamp", "datetime"})
WINDOW_SUFFIXES = (".npy", ".npz", ".csv")


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stat_key(path: str | os.PathLike) -> tuple[str, int, int]:
    path = Path(path)
    if not path.is_file():
        raise InputError("data file", expected="an existing file", got=repr(str(path)),
                         fix="check the path (relative paths are taken from the current folder)")
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


def read_series_csv(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """A headed CSV as float64 ``(rows, features)`` plus column names (read-only array, cached).

    Columns named date/time/timestamp/datetime are dropped; any other non-numeric column, NaN, inf, a
    header without rows or a missing header is an :class:`InputError`.
    """
    return _read_series_csv(*_stat_key(path))


@functools.lru_cache(maxsize=4)
def _read_series_csv(path: str, _mtime: int, _size: int) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    what = f"CSV file {path}"
    try:
        frame = pd.read_csv(path, **_exact_floats(pd))
    except pd.errors.EmptyDataError:
        raise InputError(what, expected="a header row and data rows", got="an empty file",
                         fix="write a headed CSV, one column per feature") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(what, expected="a comma-separated, headed CSV with the same number of fields on every row",
                         got=f"unparseable text ({_one_line(exc)})",
                         fix="save the file as a plain comma-separated CSV") from None
    names = [str(c) for c in frame.columns]
    if names and all(_is_number(n) for n in names):
        raise InputError(what, expected="a header row naming the columns", got=f"a numeric first row {names[:4]}",
                         fix="add a header line such as 'f0,f1,...'")
    frame = frame[[c for c in frame.columns if str(c).strip().lower() not in INDEX_COLUMNS]].copy()
    if frame.shape[1] == 0:
        raise InputError(what, expected="at least one numeric column", got="no feature columns",
                         fix="add numeric feature columns")
    if len(frame) == 0:
        raise InputError(what, expected="data rows after the header", got="a header only",
                         fix="add data rows, one per time step")
    for column in frame.columns:
        if pd.api.types.is_bool_dtype(frame[column].dtype):
            frame[column] = frame[column].astype(np.float64)
        if not pd.api.types.is_numeric_dtype(frame[column].dtype):
            values = _to_numeric(pd, frame[column])
            bad_rows = np.flatnonzero(values.isna() & frame[column].notna())
            if bad_rows.size == 0:  # e.g. an all-empty column read as text: numeric after all
                frame[column] = values
                continue
            bad = int(bad_rows[0])
            raise InputError(f"{what}: non-numeric column {column!r}", expected="numbers in every feature column",
                             got=f"{frame[column].iloc[bad]!r} on line {bad + 2}",
                             fix=f"drop or encode column {column!r} (date/time/timestamp columns are dropped)")
    values = frame.to_numpy(dtype=np.float64)
    _check_finite(values, what, [str(c) for c in frame.columns], line_offset=2)
    check_range(values, what)
    values.setflags(write=False)
    return values, [str(c) for c in frame.columns]


def _to_numeric(pd, column):
    """``pd.to_numeric(column, errors="coerce")``, also for integers beyond float64 (pandas raises
    OverflowError for them; here they become ±inf, which the finiteness check then names)."""
    try:
        return pd.to_numeric(column, errors="coerce")
    except (OverflowError, ValueError):
        return pd.Series([_float_or_nan(v) for v in column], index=column.index, dtype=np.float64)


def _float_or_nan(value) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64
        return float("inf") if value > 0 else float("-inf")
    except (TypeError, ValueError):
        return float("nan")


def _exact_floats(pd) -> dict:
    """read_csv options that parse floats exactly like np.loadtxt (TimeGAN's loader): pandas ≥ 3 does by
    default (and deprecates the option); pandas 2 needs ``float_precision="round_trip"``."""
    return {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_finite(values: np.ndarray, what: str, names: Sequence[str], *, line_offset: int | None) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad.reshape(len(values), -1))[0])
        where = f"line {row + line_offset}" if line_offset is not None else f"row {row}"
        name = f" ({names[col]!r})" if col < len(names) else ""
        kind = "NaN" if np.isnan(values.reshape(len(values), -1)[row, col]) else "inf"
        raise InputError(what, expected="finite values (no NaN or inf)",
                         got=f"{int(bad.sum())} non-finite value(s), first {kind} at {where}, column {col}{name}",
                         fix="impute or drop missing values before benchmarking")


def read_array(path: str | os.PathLike) -> np.ndarray:
    """A numeric array from ``.npy`` or ``.npz`` (key ``samples``, ``windows``, ``series`` or the only array)."""
    return _read_array(*_stat_key(path))


@functools.lru_cache(maxsize=4)
def _read_array(path: str, _mtime: int, _size: int) -> np.ndarray:
    what = f"array file {path}"
    fix = "save it with np.save(path, np.asarray(x, dtype=np.float32)) or np.savez(path, samples=x)"
    try:
        with open(path, "rb") as handle:  # closed on every path (np.load(path) leaks it on a broken zip)
            loaded = np.load(handle, allow_pickle=False)
            if isinstance(loaded, np.lib.npyio.NpzFile):
                with loaded:
                    keys = list(loaded.keys())
                    key = next((k for k in ("samples", "windows", "series") if k in keys),
                               keys[0] if len(keys) == 1 else None)
                    if key is None:
                        raise InputError(what, expected="an array named 'samples' or 'windows' (or a single "
                                         "array)", got=f"arrays {keys}", fix="np.savez(path, samples=x)")
                    loaded = loaded[key]
    except InputError:
        raise
    except ValueError as exc:  # pickled objects, a malformed header, a truncated array
        raise InputError(what, expected="a numeric NumPy array (no pickled objects)", got=_one_line(exc),
                         fix=fix) from None
    except Exception as exc:  # anything else a broken or foreign file makes np.load raise (EOFError, BadZipFile…)
        raise InputError(what, expected="a .npy or .npz file", got=f"unreadable file ({type(exc).__name__}: "
                         f"{_one_line(exc)[:200]})", fix=fix) from None
    if not isinstance(loaded, np.ndarray):  # an .npz member that is not a .npy array: np.load returns its bytes
        raise InputError(what, expected="a .npz archive of .npy arrays", got=f"a member that is not an array "
                         f"({type(loaded).__name__})", fix=fix)
    if loaded.dtype.kind not in "biuf":  # bool, signed / unsigned integers, floats
        raise InputError(what, expected="a real numeric array (bool, integer or float)", got=f"dtype {loaded.dtype}",
                         fix="save np.asarray(x, dtype=np.float32)")
    loaded.setflags(write=False)
    return loaded


def check_range(values: np.ndarray, what: str, *, axis: tuple[int, ...] | int = 0) -> None:
    """Finite values whose per-feature range ``max - min`` is finite too (else min–max scaling gives NaN)."""
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.ptp(np.asarray(values, dtype=np.float64), axis=axis) if values.size else np.zeros(0)
    if not np.isfinite(spread).all():
        raise InputError(what, expected="values whose range (max − min) per feature is a finite float64",
                         got=f"a range that overflows (values up to {np.abs(values).max():.3g})",
                         fix="rescale the data (e.g. divide by a power of ten) before benchmarking")


def load_windows_file(path: str | os.PathLike, *, what: str = "windows") -> np.ndarray:
    """Windows float32 ``(n, seq_len, n_features)`` from a ``.npy``/``.npz``/``.csv`` file (see module doc).

    Samples produced anywhere can be scored this way; NaN/inf and wrong ranks are :class:`InputError`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WINDOW_SUFFIXES:
        raise InputError(f"{what} file {str(path)!r}", expected="a .npy, .npz or .csv file",
                         got=f"suffix {suffix or '(none)'!r}", fix="save windows with np.save(path.npy, x)")
    label = f"{what} file {path}"
    if suffix == ".csv":
        arr = _windows_from_tidy_csv(path, label)
    else:
        arr = read_array(path)
        if arr.ndim != 3:
            fix = ("cut the series into windows (tsbench.data.make_windows) or pass it as --dataset"
                   if arr.ndim == 2 else "save windows shaped (n_windows, seq_len, n_features)")
            raise InputError(label, expected="a 3-D array (n_windows, seq_len, n_features)",
                             got=f"{arr.ndim}-D array of shape {arr.shape}", fix=fix)
    return check_windows(_as_float32(arr, label), what=label)


def _as_float32(arr: np.ndarray, what: str) -> np.ndarray:
    """``arr`` as float32; finite values beyond float32's range are an error (the cast would make them inf)."""
    arr = np.asarray(arr)
    if arr.dtype.kind == "f" and arr.size:
        finite = arr[np.isfinite(arr)]
        limit = float(np.finfo(np.float32).max)
        if finite.size and float(np.abs(finite).max()) > limit:
            raise InputError(what, expected=f"values within float32's range (|x| ≤ {limit:.3g})",
                             got=f"values up to {float(np.abs(finite).max()):.3g}",
                             fix="rescale the windows before saving them")
    return np.array(arr, dtype=np.float32)


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (pandas' parser messages end with a newline)."""
    return " ".join(str(exc).split())


def _windows_from_tidy_csv(path: Path, label: str) -> np.ndarray:
    import pandas as pd

    fix = "write one row per (window, step): columns window,step,<feature columns> (see save_windows_csv)"
    try:
        frame = pd.read_csv(path, **_exact_floats(pd))
    except pd.errors.EmptyDataError:
        raise InputError(label, expected="a tidy windows CSV", got="an empty file", fix=fix) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(label, expected="a comma-separated tidy windows CSV with the same number of fields on "
                         "every row", got=f"unparseable text ({_one_line(exc)})", fix=fix) from None
    missing = [c for c in ("window", "step") if c not in frame.columns]
    if missing:
        raise InputError(label, expected="integer columns 'window' and 'step' plus feature columns",
                         got=f"columns {list(frame.columns)[:6]} (no {', '.join(missing)})", fix=fix)
    features = [c for c in frame.columns if c not in ("window", "step")]
    if not features or len(frame) == 0:
        raise InputError(label, expected="feature columns and data rows", got=f"{len(features)} feature "
                         f"column(s), {len(frame)} row(s)", fix=fix)
    for column in features:
        if not pd.api.types.is_numeric_dtype(frame[column].dtype) or pd.api.types.is_bool_dtype(frame[column]):
            raise InputError(f"{label}: non-numeric column {column!r}", expected="numbers",
                             got=f"dtype {frame[column].dtype}", fix=fix)
    for column in ("window", "step"):
        if not pd.api.types.is_integer_dtype(frame[column].dtype):
            raise InputError(f"{label}: column {column!r}", expected="integers", got=f"dtype {frame[column].dtype}",
                             fix=fix)
    frame = frame.sort_values(["window", "step"], kind="stable")
    counts = frame.groupby("window")["step"].agg(["count", "min", "max", "nunique"])
    seq_len = int(counts["count"].iloc[0])
    ok = ((counts["count"] == seq_len) & (counts["min"] == 0) & (counts["max"] == seq_len - 1)
          & (counts["nunique"] == seq_len)).all()
    if not ok:
        raise InputError(label, expected=f"steps 0..{seq_len - 1} exactly once in every window",
                         got="windows with missing, repeated or differently numbered steps", fix=fix)
    values = frame[features].to_numpy(dtype=np.float64)
    return values.reshape(len(counts), seq_len, len(features))


def save_windows_csv(path: str | os.PathLike, windows, feature_names: Sequence[str] | None = None) -> Path:
    """Write windows ``(n, seq_len, F)`` as the tidy CSV that :func:`load_windows_file` reads."""
    import pandas as pd

    arr = check_windows(windows, what="windows")
    n, seq_len, n_features = arr.shape
    names = list(feature_names) if feature_names else [f"f{k}" for k in range(n_features)]
    frame = pd.DataFrame(arr.reshape(n * seq_len, n_features).astype(np.float64), columns=names)
    frame.insert(0, "step", np.tile(np.arange(seq_len), n))
    frame.insert(0, "window", np.repeat(np.arange(n), seq_len))
    frame.to_csv(path, index=False, float_format="%.9g")
    return Path(path)
