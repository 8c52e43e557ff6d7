"""Input validation shared by generators, metrics and the CLI (errors say expected / got / fix)."""
from __future__ import annotations

import numpy as np

from .errors import InputError


def check_windows(X, *, what: str = "X", allow_empty: bool = False) -> np.ndarray:
    """Validate a window array: numeric, 3-D ``(n, seq_len, n_features)``, finite; returns float32.

    Raises :class:`~tsbench.errors.InputError` (a ``ValueError``) with a clear message otherwise.
    """
    arr = np.asarray(X)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(what, expected="a numeric array", got=f"dtype {arr.dtype}",
                         fix="convert your data with np.asarray(X, dtype=np.float32)")
    if arr.ndim != 3:
        fix = ("reshape a single series with X[None] or cut it into windows (tsbench.data.make_windows)"
               if arr.ndim == 2 else "pass windows shaped (n_windows, seq_len, n_features)")
        raise InputError(what, expected="a 3-D array (n_windows, seq_len, n_features)",
                         got=f"{arr.ndim}-D array of shape {arr.shape}", fix=fix)
    if arr.shape[0] == 0 and not allow_empty or arr.shape[1] == 0 or arr.shape[2] == 0:
        raise InputError(what, expected="at least one window with ≥ 1 step and ≥ 1 feature",
                         got=f"shape {arr.shape}", fix="check that your data file is not empty")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(what, expected="finite values", got=f"{(~np.isfinite(arr)).sum()} NaN/inf values "
                         f"(first at window {bad[0]}, step {bad[1]}, feature {bad[2]})",
                         fix="impute or drop missing values before benchmarking")
    return arr


def check_positive_int(value, *, what: str, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1 \
            or (maximum is not None and value > maximum):
        bound = f" ≤ {maximum}" if maximum is not None else ""
        raise InputError(what, expected=f"a positive integer{bound}", got=repr(value),
                         fix=f"pass {what} ≥ 1{' and' + bound if bound else ''}")
    return int(value)


#: the most compute threads a process may be asked for (torch's thread count is a C int)
MAX_THREADS = 4096


def check_same_layout(real: np.ndarray, synthetic: np.ndarray) -> None:
    """Real and synthetic windows must share seq_len and n_features."""
    if real.shape[1:] != synthetic.shape[1:]:
        raise InputError("synthetic windows", expected=f"(n, {real.shape[1]}, {real.shape[2]}) like the real data",
                         got=f"(n, {synthetic.shape[1]}, {synthetic.shape[2]})",
                         fix="generate windows with the real data's seq_len and number of features")
