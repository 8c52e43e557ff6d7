"""The committed results folder: every file that the records alone determine, rendered in one call.

:data:`RESULT_FILES` names them; :func:`render_results` returns their texts and :func:`write_results` writes
them (``tsbench table --records results/records.csv --results-dir results``). ``report.html`` is not among
them: its embeddings and loss-curve figures come from the run folder, so it is written only when one is given
(``tsbench table --out RUN --results-dir results``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .export import to_csv
from .latex import to_latex
from .leaderboard_json import to_json
from .markdown import to_markdown
from .ranks import rank_results
from .results_readme import to_readme
from .summary import to_summary
from .table import build_tables

RESULT_FILES = ("README.md", "leaderboard.md", "leaderboard.tex", "leaderboard-standalone.tex", "leaderboard.csv",
                "leaderboard.json", "summary.md")


def render_results(records: pd.DataFrame, *, citations: dict[str, str] | None = None,
                   mix_devices: bool = False) -> dict[str, str]:
    """``file name → text`` for :data:`RESULT_FILES` (per-dataset tables with the rank tables)."""
    tables = build_tables(records, citations=citations, mix_devices=mix_devices)
    ranks = rank_results(records, mix_devices=mix_devices)
    return {"README.md": to_readme(records),
            "leaderboard.md": to_markdown(tables, ranks),
            "leaderboard.tex": to_latex(tables, ranks),
            "leaderboard-standalone.tex": to_latex(tables, ranks, standalone=True),
            "leaderboard.csv": to_csv(records, mix_devices=mix_devices),
            "leaderboard.json": to_json(records, mix_devices=mix_devices),
            "summary.md": to_summary(records, mix_devices=mix_devices)}


def write_results(records: pd.DataFrame, directory, **options) -> list[Path]:
    """Write :func:`render_results` into ``directory`` (created; UTF-8, ``\\n`` line ends); returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_results(records, **options).items():
        path = directory / name
        path.write_bytes(text.encode("utf-8"))
        paths.append(path)
    return paths
