"""``results/README.md``, generated from the records: what was run (grid, protocols, preset, git sha, torch,
hardware), the wall time of each protocol's grid and of the whole run, and how to regenerate every file — so the
committed results carry no hand-written number or claim. The claims themselves are in ``summary.md``."""
from __future__ import annotations

import pandas as pd

from .provenance import provenance
from .timing import DEFINITION, format_duration, wall_time

TEMPLATE = """# Committed leaderboard: a `{preset}` run

Generated from `records.csv` by `tsbench table --records results/records.csv --results-dir results`:
regenerate it, do not edit it. `tests/test_results.py` re-renders every file below from `records.csv` and fails
if any differs.

**`quick` is not the papers' training budget.** It is the setting that lets the whole grid run on a laptop-class
CPU; the `paper` preset holds the papers' settings and wants a GPU. Read these tables as "what each model reaches
with a few minutes of CPU", not as a reproduction of published numbers (for the faithful metric reproduction see
[docs/protocols.md](../docs/protocols.md)).

## What was run

Produced by [`scripts/run_leaderboard.sh`](../scripts/run_leaderboard.sh) (`tsbench run --all` for each protocol,
`--jobs 2`, on a clean checkout; then this folder regenerated from the records).

- Protocols: {protocols} (see [docs/protocols.md](../docs/protocols.md)); preset `{preset}`.
- Datasets: {datasets}. Generators: {generators}. Training seeds: {seeds}. Metric repeats per cell: {repeats}.
- Cells: {cells} ({failed} failed).
- tsbench {tsbench}; torch {torch}; {hardware}; device type {device_type}, precision {precision}; {date}.

## Wall time

{walls}

{definition} Both wall time and cell time are wall-clock measurements: other processes on the machine
lengthen them, so compare them only between runs on otherwise idle machines.

## Files

- [`summary.md`](summary.md) — which model beats the `gaussian` null on which metric (one-sided Welch t-tests over
  the training seeds), per protocol and dataset.
- [`leaderboard.md`](leaderboard.md), [`leaderboard.tex`](leaderboard.tex) (booktabs;
  [`leaderboard-standalone.tex`](leaderboard-standalone.tex) compiles on its own), [`leaderboard.csv`](leaderboard.csv)
  — mean ± std over training seeds; bold / underlined only for models significantly better than the null; † for
  models significantly worse.
- [`leaderboard.json`](leaderboard.json) — the same leaderboard, machine-readable and versioned
  ([schema](../docs/leaderboard-json.md)).
- [`records.csv`](records.csv) — the tidy records (one row per cell × metric output × repeat, with provenance).
- `report.html` (tables, ranks and figures) is not committed: its figures make it several MB and it needs the run
  folder. `scripts/run_leaderboard.sh` writes it into the run folder; from any run folder:
  `tsbench table --out RUN --format html --output report.html`.
"""


def _names(records: pd.DataFrame, column: str) -> str:
    values = sorted({str(v) for v in records[column].dropna()})
    return ", ".join(f"`{v}`" for v in values) if values else "none"


def to_readme(records: pd.DataFrame) -> str:
    """The text of ``results/README.md`` for ``records`` (a pure function of them)."""
    info = provenance(records)
    lines = []
    for protocol, group in records.groupby("protocol", sort=True):
        wall = wall_time(group)
        lines.append(f"- `{protocol}`: **{format_duration(wall.seconds)}** over {wall.cells} cells "
                     f"(cell time {format_duration(wall.cell_seconds)}).")
    total = wall_time(records)
    lines.append(f"- Whole run: **{format_duration(total.seconds)}** over {total.cells} cells "
                 f"(cell time {format_duration(total.cell_seconds)}).")
    cells = records.drop_duplicates("cell_id")
    failed = int((cells["status"] != "done").sum()) if "status" in cells else 0
    return TEMPLATE.format(
        preset=info["preset"], protocols=_names(records, "protocol"), datasets=_names(records, "dataset"),
        generators=_names(records, "generator"), seeds=info["seeds"], repeats=info["repeats"],
        cells=len(cells), failed=failed, tsbench=info["tsbench"], torch=info["torch"], hardware=info["hardware"],
        device_type=info["device type"], precision=info["precision"], date=info["date"], walls="\n".join(lines),
        definition=DEFINITION[0].upper() + DEFINITION[1:] + ".")
