"""Captions and footers: what a table shows and where its numbers come from, read from the records only."""
from __future__ import annotations

import pandas as pd

from .aggregate import per_seed
from .hardware import kinds, mixed_cells
from .null import NULL


def _distinct(records: pd.DataFrame, column: str) -> list[str]:
    if column not in records.columns:
        return []
    return [str(v) for v in dict.fromkeys(records[column]) if v is not None and v == v]


def _join(values: list[str], empty: str = "unknown") -> str:
    return ", ".join(values) if values else empty


def _span(values) -> str:
    values = sorted(set(int(v) for v in values))
    if not values:
        return "?"
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def provenance(records: pd.DataFrame) -> dict[str, str]:
    """Protocol, preset, seeds, repeats, versions, hardware and date of ``records`` as short strings."""
    seeds = per_seed(records, mix_devices=True)  # only counts repeats
    shas = [s[:7] for s in _distinct(records, "git_sha")]
    stamps = sorted(str(t)[:10] for t in _distinct(records, "timestamp"))
    date = (stamps[0] if stamps[0] == stamps[-1] else f"{stamps[0]} to {stamps[-1]}") if stamps else "unknown"
    hosts = _distinct(records, "host")
    return {
        "protocol": _join(_distinct(records, "protocol")),
        "preset": _join(_distinct(records, "preset")),
        "seeds": _join([str(int(float(s))) for s in _distinct(records, "seed")]),
        "repeats": _span(seeds["repeats"]) if len(seeds) else "?",
        "tsbench": _join(_distinct(records, "tsbench_version")) + (f" (git {', '.join(shas)})" if shas else ""),
        "torch": _join(_distinct(records, "torch_version")),
        "hardware": _join(_distinct(records, "device")) + (f" on {', '.join(hosts)}" if hosts else ""),
        "device type": ", ".join(kinds(records)["device_type"]),
        "precision": ", ".join(kinds(records)["precision"]),
        "date": date,
    }


def _null_name(null: str | None) -> str:
    return f"{NULL} null" if null in (None, NULL) else f"{NULL} null ({null})"


def marks_text(null: str | None, *, alpha: float, unmarked: list[str]) -> str:
    """The caption's sentence on the best/second marks and the null comparison behind them."""
    if null is None:
        return (f"No marks: there is no {NULL} null row with values in these records, and a model is marked "
                f"only where a one-sided Welch t-test over seeds (α = {alpha:g}) shows it is better than that null "
                f"(add the row with tsbench run -g {NULL}).")
    text = (f"Bold: best model, underlined: second, among the models that a one-sided Welch t-test over seeds "
            f"(α = {alpha:g}) finds significantly better than the {_null_name(null)} row in that column; "
            f"within them a mark is given only where a two-sided Welch t-test (α = {alpha:g}) separates the "
            f"group from the next, and rows it cannot separate share the mark (cells with n < 2 are never "
            f"marked).")
    if unmarked:
        text += f" No marks in {', '.join(unmarked)}: the {_null_name(null)} has fewer than 2 seeds there."
    return text


def worse_legend(null: str | None, *, alpha: float, n_seeds: int) -> str:
    """The legend of the † flag (a model cell significantly worse than the null)."""
    return (f"† significantly worse than the {_null_name(null)} (one-sided Welch t-test, α = {alpha:g}, "
            f"n = {n_seeds} seeds)")


def caption_text(records: pd.DataFrame, *, n_seeds: int, alpha: float, null: str | None = None,
                 unmarked: list[str] = (), mix_devices: bool = False, key: list[str] | None = None) -> str:
    """The caption of one table: statistic, marks and the null test, calibration block and provenance."""
    p = provenance(records)
    pooled = mix_devices and key is not None and not mixed_cells(records[records["status"] == "done"], key).empty
    hardware = (f"{p['hardware']}; device type {p['device type']}, precision {p['precision']}"
                + (" (values from different device types or precisions pooled in one cell: --mix-devices)"
                   if pooled else ""))
    return (f"Mean ± sample standard deviation (ddof = 1) over n = {n_seeds} training seeds "
            f"(a cell with fewer states its n); each seed's value is first averaged over its "
            f"{p['repeats']} metric repeats. ↑ higher is better, ↓ lower is better. "
            f"{marks_text(null, alpha=alpha, unmarked=list(unmarked))} "
            f"Rows below the rule are calibration rows (never marked or flagged). "
            f"— : no value (see the notes). "
            f"Protocol {p['protocol']}, preset {p['preset']}, seeds {p['seeds']}; "
            f"tsbench {p['tsbench']}, torch {p['torch']}; {hardware}; {p['date']}.")
