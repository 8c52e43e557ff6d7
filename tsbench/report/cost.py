"""What each generator costs, from the records alone (``tsbench table --cost``).

For every ``(protocol, preset, dataset, generator)``, each training seed (one cell) contributes its

* ``n_parameters`` — record column ``n_parameters`` (written by newer runners; optional),
* ``fit_s`` — seconds to fit,
* ``sample_s_per_1000`` — ``sample_s / n_samples × 1000``: seconds to sample 1000 windows,
* ``peak_memory_mb`` — record column ``peak_memory_mb`` (newer runners; optional),
* ``device`` — the record's device label,

and :func:`cost_frame` reports the mean of each number over the seeds that have it (a cell's rows repeat the
same cell-level values, so the first non-null one per cell is used; failed cells count when they have the value).
A column the records lack, or a value no seed has, is ``NaN`` here and shown as :data:`MISSING` in the tables.
Never modifies ``records``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .aggregate import GROUP, appearance, check_records

#: how a cost table writes a number the records do not have
MISSING = "–"
#: the cost fields, in table order (``device`` is text; the others are means over seeds)
FIELDS = ("n_parameters", "fit_s", "sample_s_per_1000", "peak_memory_mb", "device")
#: column headers of the cost tables
HEADERS = {"n_parameters": "parameters", "fit_s": "fit (s)", "sample_s_per_1000": "sample (s / 1000 windows)",
           "peak_memory_mb": "peak memory (MB)", "device": "device"}
COST_KEY = GROUP + ["dataset", "generator"]
COST_COLUMNS = COST_KEY + ["generator_name", "n_seeds", *FIELDS]
_NUMERIC = ("n_parameters", "fit_s", "sample_s", "n_samples", "peak_memory_mb")


def _numeric(records: pd.DataFrame, column: str) -> pd.Series:
    if column not in records.columns:
        return pd.Series(np.nan, index=records.index, dtype=float)
    return pd.to_numeric(records[column], errors="coerce").astype(float)


def cost_frame(records: pd.DataFrame) -> pd.DataFrame:
    """One row per ``COST_KEY`` (order of first appearance): :data:`COST_COLUMNS`, where ``n_seeds`` counts the
    seeds with a ``fit_s`` and ``device`` joins the distinct device labels with ``'; '`` (``None`` if none)."""
    check_records(records)
    frame = records[COST_KEY + ["generator_name", "seed"]].copy()
    for column in _NUMERIC:
        frame[column] = _numeric(records, column)
    frame["device"] = records["device"].astype(object) if "device" in records.columns else None
    cells = frame.groupby(COST_KEY + ["seed"], sort=False, dropna=False).first().reset_index()
    per_1000 = cells["sample_s"] / cells["n_samples"].where(cells["n_samples"] > 0) * 1000.0
    cells["sample_s_per_1000"] = per_1000
    rows = []
    for key, grp in cells.groupby(COST_KEY, sort=False, dropna=False):
        devices = [str(d) for d in appearance(grp, "device")]
        means = {f: float(grp[f].mean()) if grp[f].notna().any() else math.nan
                 for f in ("n_parameters", "fit_s", "sample_s_per_1000", "peak_memory_mb")}
        rows.append((*key, grp["generator_name"].iloc[0], int(grp["fit_s"].notna().sum()), means["n_parameters"],
                     means["fit_s"], means["sample_s_per_1000"], means["peak_memory_mb"],
                     "; ".join(devices) if devices else None))
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def format_number(value: float | None, field: str) -> str:
    """Parameters as an integer with thousands separators; other numbers with 3 significant digits (no exponent);
    :data:`MISSING` for ``None``/``NaN``."""
    if value is None or not np.isfinite(value):
        return MISSING
    if field == "n_parameters" or abs(value) >= 1000:
        return f"{int(round(value)):,}"
    if value == 0:
        return "0"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


@dataclass(frozen=True)
class CostRow:
    generator: str
    calibration: bool
    n_seeds: int
    values: dict  # field → float (NaN when absent) or, for device, str | None

    def text(self, field: str) -> str:
        """The formatted field (:data:`MISSING` when absent)."""
        value = self.values.get(field)
        if field == "device":
            return value if isinstance(value, str) and value else MISSING
        return format_number(value, field)


@dataclass(frozen=True)
class CostTable:
    title: str
    protocol: str
    preset: str
    dataset: str
    rows: tuple[CostRow, ...]
    caption: str

    @property
    def headers(self) -> list[str]:
        return [HEADERS[f] for f in FIELDS] + ["n"]


CAPTION = ("Cost per generator: mean over the training seeds (n: seeds with a fit time) of the trainable parameter "
           "count, the fit time, the sampling time per 1000 windows (sample_s / n_samples × 1000) and the peak "
           "memory, with the device each ran on, all read from the records. " + MISSING + " : not in the records "
           "(n_parameters and peak_memory_mb are written by newer runners only). Times depend on the machine and "
           "its load.")


def cost_table(frame: pd.DataFrame, *, protocol: str, preset: str, dataset: str, generators: list[str],
               calibration: set[str]) -> CostTable:
    """The :class:`CostTable` of one dataset, rows in ``generators`` order (generators without a cost row get
    :data:`MISSING` everywhere and n = 0)."""
    mine = frame[(frame["protocol"] == protocol) & (frame["preset"] == preset) & (frame["dataset"] == dataset)]
    by_gen = {r["generator"]: r for r in mine.to_dict("records")}
    rows = []
    for g in generators:
        found = by_gen.get(g)
        values = {f: (found[f] if found is not None else (None if f == "device" else math.nan)) for f in FIELDS}
        rows.append(CostRow(g, g in calibration, int(found["n_seeds"]) if found is not None else 0, values))
    return CostTable(f"Cost on {dataset} — protocol {protocol}, preset {preset}", protocol, preset, dataset,
                     tuple(rows), CAPTION)
