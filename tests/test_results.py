"""The committed leaderboard in results/ is a pure function of the committed records: re-rendering the tables
from results/records.csv gives byte-identical files, so the tables cannot drift from the data."""
from __future__ import annotations

from pathlib import Path

import pytest

from tsbench.cli import main

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.mark.parametrize("fmt, name", [("md", "leaderboard.md"), ("latex", "leaderboard.tex"),
                                       ("csv", "leaderboard.csv")])
def test_committed_tables_rerender_identically(tmp_path, fmt, name):
    records = RESULTS / "records.csv"
    assert records.exists(), "results/records.csv is committed with the leaderboard"
    out = tmp_path / name
    assert main(["table", "--records", str(records), "--format", fmt, "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (RESULTS / name).read_text(encoding="utf-8")
