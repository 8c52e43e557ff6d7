"""Captions and footers: what a table shows and where its numbers come from, read from the records only."""
from __future__ import annotations

import pandas as pd

from .aggregate import per_seed


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
    seeds = per_seed(records)
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
        "date": date,
    }


def caption_text(records: pd.DataFrame, *, n_seeds: int, alpha: float) -> str:
    """The caption of one table: statistic, marks, calibration block and provenance."""
    p = provenance(records)
    return (f"Mean ± sample standard deviation (ddof = 1) over n = {n_seeds} training seeds "
            f"(a cell with fewer states its n); each seed's value is first averaged over its "
            f"{p['repeats']} metric repeats. ↑ higher is better, ↓ lower is better. "
            f"Bold: best model, underlined: second — a mark is given only where a two-sided Welch t-test over "
            f"seeds (α = {alpha:g}) separates the group from the next; rows it cannot separate share the mark "
            f"(cells with n < 2 are never marked). Rows below the rule are calibration rows (not ranked). "
            f"— : no value (see the notes). "
            f"Protocol {p['protocol']}, preset {p['preset']}, seeds {p['seeds']}; "
            f"tsbench {p['tsbench']}, torch {p['torch']}; {p['hardware']}; {p['date']}.")
