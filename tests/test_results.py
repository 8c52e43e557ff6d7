"""Every committed file of results/ that the records determine is a pure function of results/records.csv:
re-rendering them with the one regeneration command gives the same bytes (line endings aside), so the tables and
the claims cannot drift from the data.

``report.html`` is not re-rendered here: its embeddings and loss-curve figures are read from the run folder,
which is not committed.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tsbench.cli import main
from tsbench.report.results import RESULT_FILES

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    records = RESULTS / "records.csv"
    assert records.exists(), "results/records.csv is committed with the leaderboard"
    out = tmp_path_factory.mktemp("results")
    assert main(["table", "--records", str(records), "--results-dir", str(out)]) == 0
    return out


def test_every_record_only_file_is_rendered():
    assert set(RESULT_FILES) == {"README.md", "leaderboard.md", "leaderboard.tex", "leaderboard-standalone.tex",
                                 "leaderboard.csv", "leaderboard.json", "summary.md"}


def test_results_readme_states_the_wall_time_from_the_records():
    """The wall time printed in results/README.md is generated from the records, never typed."""
    from tsbench.commands.table import read_records
    from tsbench.report.timing import format_duration, wall_time

    records = read_records(RESULTS / "records.csv")
    readme = (RESULTS / "README.md").read_text()
    assert f"Whole run: **{format_duration(wall_time(records).seconds)}**" in readme
    for sha in {str(s)[:7] for s in records["git_sha"].dropna()}:
        assert sha in readme


@pytest.mark.parametrize("name", sorted(RESULT_FILES))
def test_committed_results_rerender_identically(rendered, name):
    committed = RESULTS / name
    assert committed.exists(), (f"results/{name} is missing: regenerate with "
                                "`tsbench table --records results/records.csv --results-dir results`")
    assert _text(rendered / name) == _text(committed), (
        f"results/{name} differs from what results/records.csv renders: regenerate with "
        "`tsbench table --records results/records.csv --results-dir results`")
