"""The one-call Python API (tsbench.evaluate / run / table): the README's example runs as written, each
function gives what its command gives, and ``import tsbench`` stays light."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures.records import make_records

import tsbench
from tsbench.records import VOLATILE_COLUMNS
from tsbench.cli import main
from tsbench.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- python-api-example (executed by tests/test_api.py) -->"
#: columns that differ between two runs of the same cells (when and where they ran)
RUN_DEPENDENT = list(VOLATILE_COLUMNS)


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(MARKER) == 1, "README.md holds the Python API example after one marker"
    match = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)\n```", text, re.DOTALL)
    assert match, "the marker is followed by a ```python block"
    return match.group(1)


@pytest.fixture
def windows(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(24)[None, :, None]
    real = ((np.sin(0.3 * t + rng.uniform(0, 6, (200, 1, 3))) + 1) / 2).astype(np.float32)
    synthetic = rng.random((150, 24, 3), dtype=np.float32)
    paths = {"real": tmp_path / "real.npy", "synthetic": tmp_path / "synthetic.npy"}
    np.save(paths["real"], real)
    np.save(paths["synthetic"], synthetic)
    return real, synthetic, paths


def test_import_tsbench_is_light_and_serves_the_api_lazily():
    code = ("import sys, tsbench\n"
            "assert 'torch' not in sys.modules and 'tsbench.api' not in sys.modules and 'pandas' not in sys.modules\n"
            "evaluate, run, table = tsbench.evaluate, tsbench.run, tsbench.table\n"
            "import tsbench.api\n"
            "assert (evaluate, run, table) == (tsbench.api.evaluate, tsbench.api.run, tsbench.api.table)\n"
            "assert 'torch' not in sys.modules, 'the API module imported torch'\n"
            "assert {'evaluate', 'run', 'table', '__version__'} <= set(dir(tsbench)) and tsbench.__all__\n"
            "try:\n    tsbench.nothing\nexcept AttributeError as exc:\n    assert 'nothing' in str(exc)\n"
            "else:\n    raise AssertionError('tsbench.nothing')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TSBENCH_PROGRESS", "0")
    namespace = {"__name__": "__main__"}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    scores, records = namespace["scores"], namespace["records"]
    assert list(scores.columns) == tsbench.api.SCORE_COLUMNS
    assert set(scores["metric"]) == {"mmd", "mmd.bandwidth", "discriminative"}
    assert (records["status"] == "done").all() and set(records["generator"]) == {"gaussian", "gan"}
    assert (tmp_path / "tsbench-runs" / "records.csv").is_file()
    printed = capsys.readouterr().out
    assert "discriminative" in printed and "| gan" in printed


# evaluate -------------------------------------------------------------------------------------------------
def test_evaluate_is_tidy_and_gives_the_command_s_numbers(windows, capsys):
    real, synthetic, paths = windows
    metrics = ["mmd[subset_size=100]", "mdd"]
    scores = tsbench.evaluate(real, synthetic, metrics, preset="smoke", repeats=3, seed=4)
    assert list(scores.columns) == tsbench.api.SCORE_COLUMNS
    assert list(dict.fromkeys(scores["metric"])) == ["mmd[subset_size=100]", "mmd[subset_size=100].bandwidth", "mdd"]
    assert {m: rows["repeat"].tolist() for m, rows in scores.groupby("metric")} == {
        "mmd[subset_size=100]": [0, 1, 2], "mmd[subset_size=100].bandwidth": [0, 1, 2], "mdd": [0]}
    assert scores.attrs["skipped"] == []
    assert main(["evaluate", "--real", str(paths["real"]), "--synthetic", str(paths["synthetic"]), "-m", metrics[0],
                 "-m", metrics[1], "--preset", "smoke", "--repeats", "3", "--seed", "4", "--json"]) == 0
    command = json.loads(capsys.readouterr().out)["results"]
    assert [r["metric"] for r in command] == list(dict.fromkeys(scores["metric"]))
    for result in command:
        rows = scores[scores["metric"] == result["metric"]]
        assert rows["value"].tolist() == result["values"]
        assert rows["metric_version"].iloc[0] == result["version"]
    # files give the same frame as arrays
    pd.testing.assert_frame_equal(tsbench.evaluate(str(paths["real"]), paths["synthetic"], metrics, preset="smoke",
                                                   repeats=3, seed=4), scores)


def test_evaluate_skips_what_the_protocol_does_not_define_like_the_command(windows, capsys):
    real, synthetic, paths = windows
    scores = tsbench.evaluate(real, synthetic, "m*", protocol="timegan2019", preset="smoke", repeats=2)
    assert ("memorisation", "not defined under --protocol timegan2019") in scores.attrs["skipped"]
    assert "memorisation" not in set(scores["metric_name"])
    assert main(["evaluate", "--real", str(paths["real"]), "--synthetic", str(paths["synthetic"]), "-m", "m*",
                 "--protocol", "timegan2019", "--preset", "smoke", "--repeats", "2", "--json"]) == 0
    command = json.loads(capsys.readouterr().out)
    assert command["skipped"] == [{"metric": n, "reason": r} for n, r in scores.attrs["skipped"]]
    assert [v for r in command["results"] for v in r["values"]] == scores["value"].tolist()


def test_evaluate_input_errors(windows):
    real, synthetic, _ = windows
    with pytest.raises(InputError, match="--jobs: expected a positive integer"):
        tsbench.evaluate(real, synthetic, "mmd", jobs=0)
    with pytest.raises(InputError, match=r"\(n, 24, 3\) like the real data"):
        tsbench.evaluate(real, synthetic[:, :12], "mmd")
    bad = synthetic.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="synthetic: expected finite values"):
        tsbench.evaluate(real, bad, "mmd")


# run --------------------------------------------------------------------------------------------------------
def test_run_gives_the_command_s_cells_and_records_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TSBENCH_PROGRESS", "0")
    grid = {"generators": ["gaussian", "real"], "metrics": ["mmd[subset_size=100]"]}
    assert main(["run", "-g", "gaussian", "-g", "real", "-d", "sines", "-m", "mmd[subset_size=100]", "--seeds", "2",
                 "--preset", "smoke", "--out", str(tmp_path / "cli"), "--no-progress"]) == 0
    records = tsbench.run(grid["generators"], "sines", grid["metrics"], seeds=2, preset="smoke",
                          out=tmp_path / "api", progress=False)
    from tsbench.runner import load_records

    command = load_records(tmp_path / "cli")
    pd.testing.assert_frame_equal(records.drop(columns=RUN_DEPENDENT), command.drop(columns=RUN_DEPENDENT))
    assert (records["status"] == "done").all() and records["cell_id"].nunique() == 2 * 2  # generators × seeds
    written = tsbench.api.read_records(tmp_path / "api" / "records.csv")
    assert written["cell_id"].tolist() == records["cell_id"].tolist()
    assert written["value"].tolist() == records["value"].tolist()
    assert records.attrs["skipped"] == []
    marker = next((tmp_path / "api").rglob("trained.json"))
    before = marker.stat().st_mtime_ns
    again = tsbench.run(grid["generators"], ["sines"], grid["metrics"], seeds=2, preset="smoke", out=tmp_path / "api",
                        progress=False)
    assert marker.stat().st_mtime_ns == before  # nothing retrained
    pd.testing.assert_frame_equal(again.drop(columns=["timestamp"]), records.drop(columns=["timestamp"]))
    # a run folder is a valid input of table(), as `tsbench table --out`
    capsys.readouterr()
    assert main(["table", "--out", str(tmp_path / "api"), "--no-citations"]) == 0
    assert tsbench.table(tmp_path / "api", citations=False) == capsys.readouterr().out


def test_run_selects_what_the_command_selects(tmp_path, monkeypatch):
    """``generators="all"`` is ``--all``; the default dataset is sines (checked before anything runs)."""
    import tsbench.runner.grid as grid

    planned = []

    class Planned(Exception):
        pass

    def plan_cells(datasets, generators, metrics, **options):
        planned.append((datasets, generators, metrics, options))
        raise Planned

    monkeypatch.setattr(grid, "plan_cells", plan_cells)
    assert main(["run", "--all", "--out", str(tmp_path)]) == 1  # the patched planner stops it
    with pytest.raises(Planned):
        tsbench.run("all", out=tmp_path)
    assert main(["run", "-g", "gan*", "-m", "mmd", "--preset", "smoke", "--seeds", "2", "--out", str(tmp_path)]) == 1
    with pytest.raises(Planned):
        tsbench.run("gan*", metrics="mmd", preset="smoke", seeds=2, out=tmp_path)
    assert planned[0] == planned[1] and planned[2] == planned[3]
    assert planned[0][0] == ["sines"] and "gan" in planned[0][1] and "shuffle_time" not in planned[0][1]


def test_run_needs_generators(tmp_path):
    with pytest.raises(InputError, match="expected --all or at least one -g NAME"):
        tsbench.run(None, out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


# table ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["md", "latex", "csv", "summary", "records", "html"])
def test_table_gives_the_command_s_text(fmt, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no ./tsbench-runs, no ./results: the same defaults for both
    path = tmp_path / "records.csv"
    make_records().to_csv(path, index=False)
    assert main(["table", "--records", str(path), "--format", fmt, "--no-citations"]) == 0
    assert tsbench.table(path, fmt, citations=False) == capsys.readouterr().out
    if fmt == "md":
        assert tsbench.table(tsbench.api.read_records(path), citations=False).startswith("### ")


def test_table_options_and_errors(tmp_path):
    records = make_records()
    assert tsbench.table(records, "latex", standalone=True, ranks=False, citations=False).startswith("\\documentclass")
    assert "Average ranks" not in tsbench.table(records, ranks=False, citations=False)
    with pytest.raises(InputError, match="table format"):
        tsbench.table(records, "docx")
    with pytest.raises(InputError, match="at least one record"):
        tsbench.table(records.iloc[:0])
    with pytest.raises(InputError, match="records file not found"):
        tsbench.table(tmp_path / "missing.csv")
