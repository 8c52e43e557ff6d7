"""Tidy CSV of the aggregated cells: one row per (protocol, preset, dataset, generator, metric).

Columns: :data:`~tsbench.report.aggregate.AGG_COLUMNS` (``mean``, ``std`` with ddof = 1, ``n`` seeds,
``n_failed``, ``note``). Floats are written at full precision, so :func:`read_csv` gives back exactly
:func:`~tsbench.report.aggregate.aggregate` of the records.
"""
from __future__ import annotations

import io

import pandas as pd

from .aggregate import AGG_COLUMNS, aggregate


def to_csv(records: pd.DataFrame) -> str:
    """The aggregated cells of ``records`` as CSV text (records are not modified)."""
    buffer = io.StringIO()
    aggregate(records).to_csv(buffer, index=False, float_format="%.17g", lineterminator="\n")
    return buffer.getvalue()


def read_csv(path_or_buffer) -> pd.DataFrame:
    """Read a :func:`to_csv` file back, with the dtypes of :func:`aggregate`."""
    precise = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    df = pd.read_csv(path_or_buffer, **precise, keep_default_na=False,
                     na_values={"mean": [""], "std": [""]},
                     dtype={"protocol": str, "preset": str, "dataset": str, "generator": str, "metric": str,
                            "generator_name": str, "note": str, "higher_is_better": str})
    hib = {"True": True, "False": False}
    df["higher_is_better"] = pd.Series([hib.get(v) for v in df["higher_is_better"]], index=df.index, dtype=object)
    df["note"] = pd.Series([v if isinstance(v, str) and v else None for v in df["note"]], index=df.index,
                           dtype=object)
    for col in ("n", "n_failed"):
        df[col] = df[col].astype(int)
    return df[AGG_COLUMNS]
