"""Aggregation of tidy records into table cells: repeats first, then training seeds.

For every ``(protocol, preset, dataset, generator, metric)``:

1. the metric repeats of each training seed are averaged (:func:`per_seed`), so a seed is one observation;
2. the per-seed values are summarised as mean, sample standard deviation (``ddof=1``; ``NaN`` when n < 2)
   and ``n`` = number of seeds with a value (:func:`aggregate`).

Failed cells (``metric`` is ``None``) and failed metrics (``status != 'done'``) contribute no value; their
``error`` becomes the cell's ``note`` so tables can footnote it. A cell never pools values computed on
different ``device_type``/``precision`` unless ``mix_devices=True`` (:mod:`tsbench.report.hardware`); it never
pools protocols (``protocol`` is the full ``name@version`` tag) or presets either, as both are in ``KEY``.
These functions never modify ``records``.

What a row is comes from the records too: the ``role`` column (``'model'``, ``'calibration'``, ``'corruption'``,
the generator class's declared role) says which rows are models — ranked, marked, compared with the null — and
which are calibration or corruption rows, shown below the models in a block of their own
(:func:`generator_roles`). Records written before the column existed fall back to the built-in names of
:data:`CALIBRATION`.

>>> from tsbench.report.aggregate import aggregate  # doctest: +SKIP
>>> aggregate(records)[["dataset", "generator", "metric", "mean", "std", "n"]]  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .hardware import check_cells

#: the roles a generator row can have (:data:`tsbench.generator.ROLES`); only ``"model"`` rows are ranked
ROLES = ("model", "calibration", "corruption")
#: the built-in non-model rows, in their display order (calibration, then corruption): how records without a
#: ``role`` (written before it was recorded) are told apart — never consulted for a row whose role is recorded
CALIBRATION = ("real", "gaussian", "shuffle_time", "shuffle_channels", "copy_train", "noise", "mode_collapse")
_LEGACY_ROLES = {name: ("calibration" if name in ("real", "gaussian") else "corruption") for name in CALIBRATION}
#: one table group (tables never mix protocols or presets)
GROUP = ["protocol", "preset"]
#: one aggregated cell
KEY = GROUP + ["dataset", "generator", "metric"]
#: the tidy CSV columns (see :func:`aggregate`)
AGG_COLUMNS = KEY + ["generator_name", "higher_is_better", "mean", "std", "n", "n_failed", "note"]

_REQUIRED = ("dataset", "generator", "generator_name", "seed", "preset", "protocol", "metric",
             "higher_is_better", "repeat", "value", "status", "error")


def check_records(records: pd.DataFrame) -> None:
    """Raise :class:`InputError` unless ``records`` is a DataFrame with the record columns."""
    if not isinstance(records, pd.DataFrame):
        raise InputError("records", expected="a pandas DataFrame with the columns of tsbench.records.COLUMNS",
                         got=type(records).__name__, fix="load them with tsbench.runner.load_records(out_dir)")
    missing = [c for c in _REQUIRED if c not in records.columns]
    if missing:
        raise InputError("records lack columns", expected=", ".join(_REQUIRED), got=f"missing {missing}",
                         fix="pass records written by `tsbench run` (see tsbench.records.COLUMNS)")


def role_of(generator_name, role=None) -> str:
    """A row's role: ``role`` when it is a recorded one (:data:`ROLES`); else, for records without it, the
    built-in name list :data:`CALIBRATION` decides from the registry name (``"model"`` for any other name)."""
    if isinstance(role, str) and role in ROLES:
        return role
    return _LEGACY_ROLES.get(str(generator_name), "model")


def is_calibration(generator_name, role=None) -> bool:
    """Whether the row is a calibration or corruption row (not a model), by :func:`role_of`."""
    return role_of(generator_name, role) != "model"


def generator_roles(records: pd.DataFrame) -> dict[str, str]:
    """``generator display name → role`` for every generator of ``records`` (in order of appearance): the first
    recorded ``role`` of its rows, else :func:`role_of` its registry name (records without the column, or rows
    written before it)."""
    recorded_roles = records["role"] if "role" in records.columns else [None] * len(records)
    recorded: dict[str, str] = {}
    fallback: dict[str, str] = {}
    for generator, name, role in zip(records["generator"], records["generator_name"], recorded_roles):
        if not isinstance(generator, str):
            continue
        if isinstance(role, str) and role in ROLES:
            recorded.setdefault(generator, role)
        fallback.setdefault(generator, role_of(name if isinstance(name, str) else generator))
    return {g: recorded.get(g, role) for g, role in fallback.items()}


def row_order(generators, roles: dict[str, str], names: dict[str, str]) -> list[str]:
    """``generators`` with the models first (in the given order), then the calibration rows, then the
    corruption rows, the built-in ones among them in :data:`CALIBRATION`'s order (others after them)."""
    def rank(g):
        role, name = roles.get(g, "model"), str(names.get(g, g))
        builtin = role != "model" and name in CALIBRATION
        return ROLES.index(role), CALIBRATION.index(name) if builtin else len(CALIBRATION)

    return sorted(generators, key=rank)  # stable: ties keep their order


def _done(records: pd.DataFrame) -> pd.DataFrame:
    values = pd.to_numeric(records["value"], errors="coerce")
    ok = (records["status"] == "done") & records["metric"].notna() & np.isfinite(values)
    out = records.loc[ok, KEY + ["generator_name", "seed", "repeat", "higher_is_better"]].copy()
    out["value"] = values[ok].astype(float)
    return out


def per_seed(records: pd.DataFrame, *, mix_devices: bool = False) -> pd.DataFrame:
    """Mean over metric repeats per ``KEY + seed``: columns ``KEY, generator_name, seed, value, repeats``.

    Raises :class:`InputError` when a ``KEY`` has values from two hardware kinds, unless ``mix_devices``.
    """
    check_records(records)
    done = _done(records)
    if not mix_devices:
        check_cells(records.loc[done.index], KEY)
    cols = KEY + ["generator_name", "seed", "value", "repeats"]
    if done.empty:
        return pd.DataFrame(columns=cols)
    grouped = done.groupby(KEY + ["generator_name", "seed"], sort=False, dropna=False)["value"]
    out = grouped.agg(value="mean", repeats="count").reset_index()
    return out[cols]


def appearance(records: pd.DataFrame, column: str) -> list:
    """Distinct non-null values of ``column`` in order of first appearance."""
    return list(dict.fromkeys(v for v in records[column] if v is not None and v == v))


def metric_directions(records: pd.DataFrame) -> dict[str, bool | None]:
    """``metric → higher_is_better`` (first non-null value in the records), in order of appearance."""
    out: dict[str, bool | None] = {}
    for metric, hib in zip(records["metric"], records["higher_is_better"]):
        if metric is None or (isinstance(metric, float) and np.isnan(metric)):
            continue
        known = out.get(metric)
        if known is None:
            out[metric] = None if hib is None or (isinstance(hib, float) and np.isnan(hib)) else bool(hib)
    return out


def _failures(records: pd.DataFrame) -> pd.DataFrame:
    """Failed (cell or metric) rows expanded to ``KEY + seed + note``; a failed cell covers every metric."""
    failed = records[records["status"] != "done"]
    cols = KEY + ["seed", "note"]
    if failed.empty:
        return pd.DataFrame(columns=cols)
    metrics = [m for m in metric_directions(records)]
    rows = []
    for row in failed.itertuples(index=False):
        note = f"{row.status}: {row.error}" if row.error else str(row.status)
        targets = [row.metric] if isinstance(row.metric, str) else metrics
        for metric in targets:
            rows.append((row.protocol, row.preset, row.dataset, row.generator, metric, row.seed, note))
    return pd.DataFrame(rows, columns=cols)


def aggregate(records: pd.DataFrame, *, mix_devices: bool = False) -> pd.DataFrame:
    """One row per ``KEY`` with ``mean``, ``std`` (ddof=1), ``n`` seeds, ``n_failed`` and ``note``.

    Keys seen only in failures get ``n = 0`` and ``mean = std = NaN``. Row order follows the first
    appearance of each key in ``records``. ``mix_devices``: see :func:`per_seed`.
    """
    check_records(records)
    seeds = per_seed(records, mix_devices=mix_devices)
    stats = (seeds.groupby(KEY, sort=False, dropna=False)["value"]
             .agg(mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else np.nan, n="count")
             .reset_index())
    names = records.dropna(subset=["generator"]).drop_duplicates("generator").set_index("generator")[
        "generator_name"]
    directions = metric_directions(records)
    fails = _failures(records)
    if not fails.empty:
        # a seed that failed but also has a value (e.g. retried) is not counted as failed
        fails = fails.merge(seeds[KEY + ["seed"]], on=KEY + ["seed"], how="left", indicator=True)
        fails = fails[fails["_merge"] == "left_only"]
        fail_stats = (fails.groupby(KEY, sort=False, dropna=False)
                      .agg(n_failed=("seed", "nunique"),
                           note=("note", lambda v: "; ".join(dict.fromkeys(v))))
                      .reset_index())
        stats = stats.merge(fail_stats, on=KEY, how="outer", sort=False)
    else:
        stats["n_failed"], stats["note"] = 0, None
    stats["n"] = stats["n"].fillna(0).astype(int)
    stats["n_failed"] = stats["n_failed"].fillna(0).astype(int)
    stats["note"] = stats["note"].astype(object).where(stats["note"].notna(), None)
    stats["generator_name"] = stats["generator"].map(names)
    stats["higher_is_better"] = stats["metric"].map(lambda m: directions.get(m))
    # deterministic order: each key column by its first appearance in the records
    rank_cols = []
    for col in KEY:
        position = {v: i for i, v in enumerate(appearance(records, col))}
        stats[f"_{col}"] = stats[col].map(lambda v, p=position: p.get(v, len(p)))
        rank_cols.append(f"_{col}")
    stats = stats.sort_values(rank_cols, kind="stable").drop(columns=rank_cols).reset_index(drop=True)
    return stats[AGG_COLUMNS]
