"""Tidy CSV of the aggregated cells: one row per (protocol, preset, dataset, generator, metric).

Columns: :data:`CSV_COLUMNS` = :data:`~tsbench.report.aggregate.AGG_COLUMNS` (``mean``, ``std`` with
ddof = 1, ``n`` seeds, ``n_failed``, ``note``) plus ``vs_null``: the model cell's verdict against the gaussian
null of its column (``better``, ``worse``, ``not_separated``; empty when not tested, e.g. calibration rows),
from the one-sided Welch t-tests of :mod:`tsbench.report.null` at ``alpha``. Floats are written at full
precision, so :func:`read_csv` gives back exactly :func:`~tsbench.report.aggregate.aggregate` of the records
and the verdicts.
"""
from __future__ import annotations

import io

import pandas as pd

from .aggregate import AGG_COLUMNS, KEY, aggregate, per_seed
from .null import null_verdicts
from .stats import ALPHA

CSV_COLUMNS = AGG_COLUMNS + ["vs_null"]


def cells(records: pd.DataFrame, *, alpha: float = ALPHA, mix_devices: bool = False) -> pd.DataFrame:
    """:func:`aggregate` of ``records`` with the ``vs_null`` verdict of each cell (``None`` when not tested)."""
    seeds = per_seed(records, mix_devices=mix_devices)
    verdicts = null_verdicts(records, alpha=alpha, seeds=seeds)[KEY + ["vs_null"]]
    out = aggregate(records, mix_devices=mix_devices).merge(verdicts, on=KEY, how="left", sort=False)
    out["vs_null"] = out["vs_null"].astype(object).where(out["vs_null"].notna(), None)
    return out[CSV_COLUMNS]


def to_csv(records: pd.DataFrame, *, alpha: float = ALPHA, mix_devices: bool = False) -> str:
    """The aggregated cells of ``records`` with their null verdicts as CSV text (records are not modified)."""
    buffer = io.StringIO()
    cells(records, alpha=alpha, mix_devices=mix_devices).to_csv(buffer, index=False, float_format="%.17g",
                                                                lineterminator="\n")
    return buffer.getvalue()


def read_csv(path_or_buffer) -> pd.DataFrame:
    """Read a :func:`to_csv` file back, with the dtypes of :func:`cells` (``vs_null`` may be absent in CSVs
    written before it existed: then it is ``None``)."""
    precise = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    df = pd.read_csv(path_or_buffer, **precise, keep_default_na=False,
                     na_values={"mean": [""], "std": [""]},
                     dtype={"protocol": str, "preset": str, "dataset": str, "generator": str, "metric": str,
                            "generator_name": str, "note": str, "higher_is_better": str, "vs_null": str})
    hib = {"True": True, "False": False}
    df["higher_is_better"] = pd.Series([hib.get(v) for v in df["higher_is_better"]], index=df.index, dtype=object)
    for col in ("note", "vs_null"):
        values = df[col] if col in df.columns else [None] * len(df)
        df[col] = pd.Series([v if isinstance(v, str) and v else None for v in values], index=df.index, dtype=object)
    for col in ("n", "n_failed"):
        df[col] = df[col].astype(int)
    return df[CSV_COLUMNS]
