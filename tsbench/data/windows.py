"""Scaling, windowing and train/test splits (the TimeGAN loader, made explicit and seeded).

TimeGAN's reference loader (Yoon et al. 2019, ``data_loading.py``) reads a headed CSV, reverses the rows,
min–max scales every column over the whole file with ``(x - min) / (max - min + 1e-7)``, cuts windows
``x[i:i + seq_len]`` for ``i in range(len - seq_len)`` (stride 1; the last possible window is dropped) and
shuffles them with the unseeded global RNG. Here every step is a function and the shuffle is seeded.

>>> import numpy as np
>>> series = np.arange(10.0).reshape(5, 2) * [1, 10]
>>> make_windows(minmax_scale(series), seq_len=3).shape
(2, 3, 2)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..errors import InputError
from ..protocols import Protocol, get_protocol
from ..seeding import rng

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset import Dataset, Split

EPS = 1e-7  # the TimeGAN scaler's denominator term


def _column_name(feature_names: Sequence[str] | None, j: int) -> str:
    if feature_names is not None and j < len(feature_names):
        return f"column {j} ({feature_names[j]!r})"
    return f"column {j}"


def minmax_scale(series, feature_names: Sequence[str] | None = None, *, what: str = "series") -> np.ndarray:
    """Scale each feature to [0, 1) with TimeGAN's ``(x - min) / (max - min + 1e-7)``; float64 out.

    ``series`` is ``(time, features)`` or windows ``(n, seq_len, features)`` (then min/max run over the
    first two axes). A constant feature carries no information and would be scaled to all zeros, so it is
    an :class:`InputError` naming the column rather than a silent zero channel.
    """
    arr = np.asarray(series, dtype=np.float64)
    if arr.ndim not in (2, 3):
        raise InputError(what, expected="a 2-D (time, features) or 3-D (n, seq_len, features) array",
                         got=f"{arr.ndim}-D array of shape {arr.shape}", fix="reshape your data")
    axes = tuple(range(arr.ndim - 1))
    low, high = arr.min(axis=axes), arr.max(axis=axes)
    constant = np.flatnonzero(high == low)
    if constant.size:
        names = ", ".join(_column_name(feature_names, int(j)) for j in constant[:5])
        raise InputError(f"{what}: constant feature", expected="every column to vary",
                         got=f"{constant.size} constant column(s): {names}",
                         fix="drop constant columns: they carry no information and cannot be min-max scaled")
    return (arr - low) / (high - low + EPS)


def make_windows(series, seq_len: int) -> np.ndarray:
    """Windows ``series[i:i + seq_len]`` for ``i in range(len - seq_len)`` as float32 ``(n, seq_len, F)``.

    Exactly TimeGAN's count ``len - seq_len`` (stride 1; the last possible window is dropped), in time
    order. Needs at least ``seq_len + 1`` rows.
    """
    arr = np.asarray(series)
    if arr.ndim != 2:
        raise InputError("series", expected="a 2-D array (time, features)", got=f"shape {arr.shape}",
                         fix="pass one multivariate series; a 1-D series needs x[:, None]")
    seq_len = int(seq_len)
    if seq_len < 1:
        raise InputError("seq_len", expected="a positive integer", got=repr(seq_len), fix="pass seq_len ≥ 1")
    n = arr.shape[0] - seq_len
    if n < 1:
        raise InputError("series too short", expected=f"at least seq_len + 1 = {seq_len + 1} rows",
                         got=f"{arr.shape[0]} rows", fix="use a longer series or a smaller seq_len")
    view = np.lib.stride_tricks.sliding_window_view(arr, seq_len, axis=0)[:n]  # (n, F, seq_len)
    return np.ascontiguousarray(view.transpose(0, 2, 1), dtype=np.float32)


def _check_unit_range(arr: np.ndarray, what: str) -> None:
    low, high = float(np.min(arr)), float(np.max(arr))
    if low < 0.0 or high > 1.0:
        raise InputError(what, expected="values in [0, 1] when scale=false",
                         got=f"values in [{low:.4g}, {high:.4g}]",
                         fix="pass scale=true (per-feature min-max scaling) or scale the data yourself")


def split_series(series, *, seq_len: int, seed: int, protocol: str | Protocol = "tsbench", scale: bool = True,
                 feature_names: Sequence[str] | None = None, what: str = "series") -> "Split":
    """Split one chronological series ``(time, features)`` into train/test windows under ``protocol``.

    Rows are reversed when ``protocol.reverse_rows`` (TimeGAN's ``[::-1]``), then min–max scaled over the
    whole file (so train and test share one scale and both lie in [0, 1]). Policy ``all``: train = test =
    all windows, shuffled by ``seed`` (one array, shared). Policy ``chronological``: the scaled series is cut
    at ``train_fraction`` of its rows *before* windowing — the first part gives the training windows
    (shuffled by ``seed``), the rest the held-out windows (shuffled by a sub-seed) — so no test window
    shares a time step with a training window.
    """
    from ..dataset import Split

    protocol = get_protocol(protocol)
    arr = np.asarray(series, dtype=np.float64)
    if protocol.reverse_rows:
        arr = arr[::-1]
    if scale:
        arr = minmax_scale(arr, feature_names, what=what)
    else:
        _check_unit_range(arr, what)
    names = list(feature_names or [])
    if protocol.split == "all":
        windows = make_windows(arr, seq_len)
        windows = windows[rng(seed, "split", "train").permutation(len(windows))]
        return Split(train=windows, test=windows, policy="all", feature_names=names)
    if protocol.split != "chronological":
        raise InputError("protocol split policy", expected="'all' or 'chronological'", got=repr(protocol.split),
                         fix="use a protocol from tsbench.protocols.PROTOCOLS")
    fraction = float(protocol.train_fraction)
    cut = int(round(arr.shape[0] * fraction))
    need = seq_len + 1
    if cut < need or arr.shape[0] - cut < need:
        minimum = int(np.ceil(need / min(fraction, 1 - fraction)))
        raise InputError(f"{what} too short for a chronological {fraction:g}/{1 - fraction:g} split",
                         expected=f"at least {minimum} rows (each part needs seq_len + 1 = {need})",
                         got=f"{arr.shape[0]} rows",
                         fix="use a longer series, a smaller seq_len, or --protocol timegan2019 (no split)")
    train = make_windows(arr[:cut], seq_len)
    test = make_windows(arr[cut:], seq_len)
    train = train[rng(seed, "split", "train").permutation(len(train))]
    test = test[rng(seed, "split", "test").permutation(len(test))]
    return Split(train=train, test=test, policy=f"chronological-{fraction:g}", feature_names=names)


def split_windows(windows, *, seed: int, protocol: str | Protocol = "tsbench",
                  feature_names: Sequence[str] | None = None) -> "Split":
    """Split independent windows ``(n, seq_len, F)`` in [0, 1] under ``protocol``.

    Policy ``all``: train = test = all windows (one shared array). Policy ``chronological``: windows that
    share no time steps cannot leak, so a seeded random ``train_fraction`` split is used (``random-0.8``).
    """
    from ..dataset import Split
    from ..validation import check_windows

    protocol = get_protocol(protocol)
    arr = check_windows(windows, what="dataset windows")
    names = list(feature_names or [])
    if protocol.split == "all":
        return Split(train=arr, test=arr, policy="all", feature_names=names)
    fraction = float(protocol.train_fraction)
    n_train = int(round(len(arr) * fraction))
    if n_train < 1 or n_train >= len(arr):
        raise InputError("too few windows for a random split", expected="at least one window on each side",
                         got=f"{len(arr)} windows", fix="provide more windows or use --protocol timegan2019")
    order = rng(seed, "split").permutation(len(arr))
    return Split(train=arr[order[:n_train]], test=arr[order[n_train:]], policy=f"random-{fraction:g}",
                 feature_names=names)


def uses_series(dataset: "Dataset") -> bool:
    """Whether ``dataset`` provides a chronological ``series()`` (else independent ``windows(seed)``)."""
    from ..dataset import Dataset

    flag = getattr(dataset, "is_series", None)  # datasets that can be either (a user's file) say which
    if flag is not None:
        return bool(flag)
    return type(dataset).series is not Dataset.series


def split_dataset(dataset: "Dataset", seed: int, protocol: str | Protocol = "tsbench") -> "Split":
    """The :class:`~tsbench.dataset.Split` of ``dataset`` for ``seed`` under ``protocol``.

    Series datasets go through :func:`split_series` (with the dataset's ``seq_len`` and, when it has one,
    its ``scale`` parameter); window datasets through :func:`split_windows` with ``dataset.windows(seed)``.
    """
    protocol = get_protocol(protocol)
    names = dataset.feature_names()
    if uses_series(dataset):
        return split_series(dataset.series(), seq_len=int(dataset.seq_len), seed=seed, protocol=protocol,
                            scale=bool(getattr(dataset, "scale", True)), feature_names=names,
                            what=f"dataset {dataset.name or type(dataset).__name__}")
    return split_windows(dataset.windows(seed), seed=seed, protocol=protocol, feature_names=names)
