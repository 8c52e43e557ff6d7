"""Device type and numeric precision: one table cell never pools seeds run on different hardware.

Records carry ``device_type`` (e.g. ``cpu``, ``cuda``) and ``precision`` (e.g. ``float32``). Records written
before these columns existed lack them (or hold nulls): they count as :data:`UNKNOWN`, a value of its own that
is never merged with a known one. :func:`check_cells` refuses a table cell (one ``KEY`` of
:mod:`tsbench.report.aggregate`) whose values come from more than one ``device_type/precision`` unless the
caller pools them on purpose (``mix_devices=True``, ``tsbench table --mix-devices``); :func:`select_hardware`
keeps one device type and/or precision (``tsbench table --device-type/--precision``). Different cells of one
table may come from different hardware; the caption lists what the table holds.
"""
from __future__ import annotations

import pandas as pd

from ..errors import InputError

#: the record columns that name the hardware a value was computed on
HARDWARE = ("device_type", "precision")
#: the value of a missing column or a null entry
UNKNOWN = "unknown"
_SHOWN = 3  # offending cells named in the error


def hardware(records: pd.DataFrame) -> pd.Series:
    """``'device_type/precision'`` per record (same index), :data:`UNKNOWN` where absent."""
    parts = [records[c].astype(object).where(records[c].notna(), UNKNOWN).astype(str)
             if c in records.columns else pd.Series(UNKNOWN, index=records.index) for c in HARDWARE]
    return parts[0] + "/" + parts[1]


def kinds(records: pd.DataFrame) -> dict[str, list[str]]:
    """``{'device_type': [...], 'precision': [...]}``: distinct values in order of appearance (with UNKNOWN)."""
    label = hardware(records)
    return {c: list(dict.fromkeys(v.split("/")[i] for v in label)) for i, c in enumerate(HARDWARE)}


def select_hardware(records: pd.DataFrame, *, device_type: str | None = None,
                    precision: str | None = None) -> pd.DataFrame:
    """The records computed on ``device_type`` and/or ``precision`` (``'unknown'`` selects records without
    them); raises :class:`InputError` when nothing matches."""
    label = hardware(records)
    keep = pd.Series(True, index=records.index)
    for i, (column, wanted) in enumerate(zip(HARDWARE, (device_type, precision))):
        if wanted is None:
            continue
        values = label.str.split("/").str[i]
        if not (values == wanted).any():
            flag = "--" + column.replace("_", "-")
            raise InputError(f"{column} not in the records", expected=f"one of: {', '.join(dict.fromkeys(values))}",
                             got=repr(wanted), fix=f"pass one of these with {flag}, or leave {flag} out")
        keep &= values == wanted
    out = records[keep]
    if out.empty:
        raise InputError("hardware selection", expected="records on both the chosen device type and precision",
                         got=f"none on {device_type or 'any'}/{precision or 'any'} (the records hold "
                             f"{', '.join(dict.fromkeys(label))})",
                         fix="choose a device_type/precision pair that the records hold")
    return out


def mixed_cells(records: pd.DataFrame, key: list[str]) -> pd.Series:
    """Number of ``device_type/precision`` kinds per ``key`` group, for the groups with more than one."""
    if records.empty:
        return pd.Series(dtype=int)
    counts = records[key].assign(_hw=hardware(records)).groupby(key, sort=False, dropna=False)["_hw"].nunique()
    return counts[counts > 1]


def check_cells(records: pd.DataFrame, key: list[str]) -> None:
    """Raise :class:`InputError` when one ``key`` group of ``records`` (the rows that give values) spans more
    than one ``device_type/precision``."""
    mixed = mixed_cells(records, key)
    if mixed.empty:
        return
    frame = records[key + ["seed"]].assign(_hw=hardware(records))
    shown = []
    for cell in mixed.index[:_SHOWN]:
        rows = frame[(frame[key] == pd.Series(cell, index=key)).all(axis=1)]
        parts = []
        for hw, grp in rows.groupby("_hw", sort=False):
            seeds = [str(s) for s in dict.fromkeys(grp["seed"])]
            parts.append(f"{hw} (seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)})")
        shown.append(" · ".join(str(v) for v in cell[-3:]) + " from " + " and ".join(parts))
    more = f" and {len(mixed) - _SHOWN} more cells" if len(mixed) > _SHOWN else ""
    all_hw = list(dict.fromkeys(frame["_hw"]))
    device, precision = all_hw[0].split("/")
    raise InputError("table cells mix hardware",
                     expected="one device_type and precision per table cell (dataset · generator · metric of "
                              "one protocol and preset)",
                     got="; ".join(shown) + more,
                     fix=f"select one with `tsbench table --device-type {device} --precision {precision}` "
                         f"(tsbench.report.select_hardware), or pass --mix-devices (mix_devices=True) to pool "
                         f"them on purpose")
