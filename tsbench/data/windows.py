"""Scaling, windowing and train / test / floor splits (the TimeGAN loader, made explicit and seeded).

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

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..protocols import Protocol, get_protocol
from ..seeding import rng

EPS = 1e-7  # the TimeGAN scaler's denominator term


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


def block_roles(n_blocks: int, held_out: float) -> list[str]:
    """Role of each of ``n_blocks`` contiguous blocks: ``k = max(1, round(n_blocks · held_out))`` test and
    ``k`` floor blocks at evenly spread interior positions (alternately test, floor), the rest train. The
    first and last block always train, so held-out blocks lie inside the training period.

    >>> block_roles(7, 0.15)
    ['train', 'test', 'train', 'train', 'train', 'floor', 'train']
    """
    k = max(1, int(round(n_blocks * held_out)))
    if n_blocks < 2 * k + 2:
        raise ValueError(f"{n_blocks} blocks cannot hold {k} test and {k} floor blocks inside training blocks")
    roles = ["train"] * n_blocks
    positions = np.round(np.linspace(1, n_blocks - 2, 2 * k)).astype(int)
    for i, position in enumerate(positions):
        roles[position] = "test" if i % 2 == 0 else "floor"
    return roles


def _segments(n_rows: int, roles: list[str]) -> list[tuple[str, int, int]]:
    """Equal contiguous blocks of ``n_rows`` with their roles, merged into runs ``(role, start, end)``."""
    edges = np.linspace(0, n_rows, len(roles) + 1).round().astype(int)
    runs: list[tuple[str, int, int]] = []
    for role, start, end in zip(roles, edges[:-1], edges[1:]):
        if runs and runs[-1][0] == role:
            runs[-1] = (role, runs[-1][1], int(end))
        else:
            runs.append((role, int(start), int(end)))
    return runs


def _purge(runs: list[tuple[str, int, int]], gap: int) -> list[tuple[str, int, int]]:
    """Drop ``gap`` rows at every boundary between two roles, from the training side (else the later run)."""
    out = [list(run) for run in runs]
    for left, right in zip(out[:-1], out[1:]):
        if left[0] == right[0]:
            continue
        if left[0] == "train":
            left[2] -= gap
        else:
            right[1] += gap
    return [(role, start, end) for role, start, end in out]


def _role_windows(arr: np.ndarray, runs, role: str, seq_len: int) -> np.ndarray:
    parts = [make_windows(arr[start:end], seq_len) for r, start, end in runs if r == role]
    return np.concatenate(parts)


def split_series(series, *, seq_len: int, seed: int, protocol: str | Protocol = "tsbench", scale: bool = True,
                 feature_names: Sequence[str] | None = None, what: str = "series") -> Split:
    """Split one chronological series ``(time, features)`` into train / test / floor windows under ``protocol``.

    Rows are reversed when ``protocol.reverse_rows`` (TimeGAN's ``[::-1]``). Policy ``all``: min–max scaled
    over the whole file; train = test = all windows, shuffled by ``seed``; ``floor`` is one random half of
    them and ``floor_reference`` the other. Policies ``blocked`` and ``chronological``: the series is cut into
    role runs *before* windowing (see :mod:`tsbench.protocols`), ``seq_len − 1`` rows are purged at every
    boundary between roles, windows are cut inside runs, and the scaler is fitted on the training rows only
    (held-out windows may then leave [0, 1] slightly). Windows of each role are shuffled by a sub-seed.
    """
    protocol = get_protocol(protocol)
    arr = np.asarray(series, dtype=np.float64)
    if protocol.reverse_rows:
        arr = arr[::-1]
    names = list(feature_names or [])
    if not scale:
        _check_unit_range(arr, what)
    if protocol.split == "all":
        if scale:
            arr = minmax_scale(arr, feature_names, what=what)
        windows = make_windows(arr, seq_len)
        windows = windows[rng(seed, "split", "train").permutation(len(windows))]
        return _all_split(windows, names, what=what)
    if scale:
        minmax_scale(arr, feature_names, what=what)  # a constant column is named before any length check
    runs = _split_runs(arr.shape[0], seq_len, protocol, what=what)
    if scale:
        train_rows = np.concatenate([arr[start:end] for role, start, end in runs if role == "train"])
        low, high = _scaler(train_rows, feature_names, what=what)
        arr = (arr - low) / (high - low + EPS)
    parts = {role: _role_windows(arr, runs, role, seq_len) for role in ("train", "test", "floor")}
    parts = {role: w[rng(seed, "split", role).permutation(len(w))] for role, w in parts.items()}
    return Split(train=parts["train"], test=parts["test"], floor=parts["floor"],
                 policy=f"{protocol.split}-{protocol.train_fraction:g}/{protocol.held_out:g}/{protocol.held_out:g}",
                 feature_names=names)


def _scaler(rows: np.ndarray, feature_names, *, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature min and max of ``rows``; a feature constant on them is an :class:`InputError`."""
    minmax_scale(rows, feature_names, what=f"{what} (training rows)")  # raises on a constant feature
    return rows.min(axis=0), rows.max(axis=0)


def _split_runs(n_rows: int, seq_len: int, protocol: Protocol, *, what: str) -> list[tuple[str, int, int]]:
    """Purged role runs for a ``blocked`` or ``chronological`` split; each must hold ≥ 1 window."""
    if protocol.split not in ("blocked", "chronological"):
        raise InputError("protocol split policy", expected="'all', 'blocked' or 'chronological'",
                         got=repr(protocol.split), fix="use a protocol from tsbench.protocols.PROTOCOLS")
    gap, need = seq_len - 1, seq_len + 1
    if protocol.split == "chronological":
        cuts = np.round(np.cumsum([0, protocol.train_fraction, protocol.held_out, protocol.held_out]) * n_rows)
        runs = [(role, int(a), int(b)) for role, a, b in zip(("train", "floor", "test"), cuts[:-1], cuts[1:])]
    else:  # blocks of ≥ 3 · seq_len rows: a training block between two held-out ones loses 2 · gap rows
        n_blocks = min(protocol.n_blocks, n_rows // (3 * seq_len))
        k = max(1, int(round(n_blocks * protocol.held_out)))
        runs = _segments(n_rows, block_roles(n_blocks, protocol.held_out)) if n_blocks >= 2 * k + 2 else []
    runs = _purge(runs, gap) if runs else runs
    if not runs or any(end - start < need for _, start, end in runs):
        minimum = 12 * seq_len if protocol.split == "blocked" else int(np.ceil((need + gap) / protocol.held_out))
        raise InputError(f"{what} too short for the {protocol.tag} {protocol.split} split",
                         expected=f"at least about {minimum} rows (every train / test / floor part needs "
                                  f"seq_len + 1 = {need} rows after purging {gap} rows at its boundaries)",
                         got=f"{n_rows} rows",
                         fix="use a longer series, a smaller seq_len, or --protocol timegan2019 (no split)")
    return runs


def _all_split(windows: np.ndarray, names: list[str], *, what: str) -> Split:
    """Policy ``all``: train = test = ``windows``; floor / floor_reference = its two halves (in order)."""
    half = len(windows) // 2
    if half < 2:
        raise InputError(f"{what}: too few windows", expected="at least 4 windows (the real row needs two halves "
                         "of at least 2)", got=f"{len(windows)} windows", fix="provide more data")
    return Split(train=windows, test=windows, policy="all", feature_names=names, floor=windows[:half],
                 floor_reference=windows[half:])


def split_windows(windows, *, seed: int, protocol: str | Protocol = "tsbench",
                  feature_names: Sequence[str] | None = None) -> Split:
    """Split independent windows ``(n, seq_len, F)`` in [0, 1] under ``protocol``.

    Policy ``all``: train = test = all windows (one shared array; ``floor`` / ``floor_reference`` are two
    seeded random halves). Otherwise windows that share no time steps cannot leak, so a seeded random split
    into train / test / floor in the protocol's proportions is used (``random-0.7/0.15/0.15``).
    """
    from ..validation import check_windows

    protocol = get_protocol(protocol)
    arr = check_windows(windows, what="dataset windows")
    names = list(feature_names or [])
    if protocol.split == "all":
        return _all_split(arr[rng(seed, "split", "halves").permutation(len(arr))], names, what="dataset windows")
    n_held = int(round(len(arr) * protocol.held_out))
    n_train = len(arr) - 2 * n_held
    if n_held < 2 or n_train < 1:
        raise InputError("too few windows for a random split",
                         expected=f"at least {int(np.ceil(2 / protocol.held_out))} windows (2 per held-out part)",
                         got=f"{len(arr)} windows", fix="provide more windows or use --protocol timegan2019")
    order = rng(seed, "split").permutation(len(arr))
    fraction = f"{protocol.train_fraction:g}/{protocol.held_out:g}/{protocol.held_out:g}"
    return Split(train=arr[order[:n_train]], test=arr[order[n_train:n_train + n_held]],
                 floor=arr[order[n_train + n_held:]], policy=f"random-{fraction}", feature_names=names)


def uses_series(dataset) -> bool:
    """Whether ``dataset`` provides a chronological ``series()`` (else independent ``windows(seed)``): its
    :attr:`~tsbench.dataset.Dataset.is_series`, which datasets that can be either (a user's file) override."""
    flag = getattr(dataset, "is_series", None)
    if flag is not None:
        return bool(flag)
    return callable(getattr(type(dataset), "series", None))  # an object that is not a tsbench Dataset


def split_dataset(dataset, seed: int, protocol: str | Protocol = "tsbench") -> Split:
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
