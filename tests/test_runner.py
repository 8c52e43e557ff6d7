"""The resumable runner: caching, resume after SIGKILL, failures, lock, --force, --jobs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from tsbench.records import VOLATILE_COLUMNS
from tsbench.cli import main
from tsbench.generator import Generator
from tsbench.registry import generators
from tsbench.runner import load_records
from tsbench.runner.grid import plan_cells, run_grid
from tsbench.runner.store import RunStore

GRID = ["-g", "real", "-g", "gaussian", "-d", "sines", "--preset", "smoke", "-m", "mmd", "--no-progress"]
VOLATILE = list(VOLATILE_COLUMNS)


def stable(records: pd.DataFrame) -> pd.DataFrame:
    return records.drop(columns=VOLATILE).sort_values(["cell_id", "metric", "repeat"]).reset_index(drop=True)


def run_cli(*args) -> int:
    return main(list(args))


def test_grid_runs_then_resumes_without_training(tmp_path, capsys):
    out = str(tmp_path / "runs")
    assert run_cli("run", *GRID, "--seeds", "2", "--out", out) == 0
    first = load_records(out)
    assert set(first["generator"]) == {"real", "gaussian"}
    assert set(first["seed"]) == {0, 1}
    assert (first["status"] == "done").all() and first["value"].notna().all()
    assert set(first["protocol"]) == {"tsbench@2"} and set(first["split"]) == {"random-0.7/0.15/0.15"}
    assert first["torch_version"].notna().all() and first["host"].notna().all()
    capsys.readouterr()
    assert run_cli("run", *GRID, "--seeds", "2", "--out", out) == 0
    assert "4 already done, 0 trained" in capsys.readouterr().out
    pd.testing.assert_frame_equal(stable(first), stable(load_records(out)))


def test_adding_a_metric_never_retrains(tmp_path, capsys):
    out = str(tmp_path / "runs")
    assert run_cli("run", *GRID, "--seeds", "1", "--out", out) == 0
    capsys.readouterr()
    assert run_cli("run", *GRID, "-m", "mmd_multi", "--seeds", "1", "--out", out) == 0
    assert "0 trained" in capsys.readouterr().out
    assert {"mmd", "mmd_multi"} <= set(load_records(out)["metric"])


class Exploding(Generator):
    name = "exploding"

    def _fit(self, X, *, seed, callback):
        raise RuntimeError("boom")

    def _sample(self, n, *, seed):  # never reached; a generator lacking it is refused before the grid runs
        raise AssertionError


@pytest.fixture
def exploding():
    generators.register("exploding", Exploding, origin="test")
    yield
    generators.unregister("exploding")


def test_failure_is_recorded_not_cached_and_the_grid_goes_on(tmp_path, capsys, exploding):
    out = str(tmp_path / "runs")
    assert run_cli("run", *GRID, "-g", "exploding", "--seeds", "1", "--out", out) == 1
    text = capsys.readouterr().out
    assert "failed: sines / exploding / seed 0: RuntimeError: boom" in text
    records = load_records(out)
    failed = records[records["generator"] == "exploding"]
    assert list(failed["status"]) == ["failed"] and "boom" in failed["error"].iloc[0]
    assert (records[records["generator"] != "exploding"]["status"] == "done").all()
    assert run_cli("run", *GRID, "-g", "exploding", "--seeds", "1", "--out", out) == 1
    assert "2 already done" in capsys.readouterr().out  # the failure is retried, the rest is cached


def test_force_reruns_matching_cells(tmp_path, capsys):
    out = str(tmp_path / "runs")
    assert run_cli("run", *GRID, "--seeds", "1", "--out", out) == 0
    capsys.readouterr()
    assert run_cli("run", *GRID, "--seeds", "1", "--out", out, "--force", "gauss*") == 0
    assert "1 already done, 1 trained" in capsys.readouterr().out


def test_lock_stops_a_second_run(tmp_path, capsys):
    out = tmp_path / "runs"
    store = RunStore(out)
    store.ensure_writable()
    lock = store.lock()
    try:
        assert run_cli("run", *GRID, "--seeds", "1", "--out", str(out)) == 2
        assert "another tsbench run is using" in capsys.readouterr().err
    finally:
        lock.release()


def test_unwritable_out_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert run_cli("run", *GRID, "--seeds", "1", "--out", str(blocker / "runs")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "expected a writable folder" in err


def test_jobs_two_gives_the_same_records(tmp_path):
    cells = plan_cells(["sines"], ["real", "gaussian"], ["mmd"], seeds=2, preset="smoke", protocol="tsbench")
    run_grid(cells, tmp_path / "a", jobs=1, progress=False)
    summary = run_grid(cells, tmp_path / "b", jobs=2, progress=False)
    assert not summary.failures
    pd.testing.assert_frame_equal(stable(load_records(tmp_path / "a")), stable(load_records(tmp_path / "b")))


def test_one_cell_with_jobs_two_computes_its_metrics_in_parallel_with_the_same_records(tmp_path):
    """A grid with fewer pending cells than --jobs gives the spare cores to the cells' metrics (one worker
    process per metric); the records are those of the sequential run."""
    cells = plan_cells(["sines"], ["gaussian"], ["discriminative", "predictive", "mmd"], seeds=1, preset="smoke",
                       protocol="timegan2019")
    run_grid(cells, tmp_path / "a", jobs=1, progress=False)
    summary = run_grid(cells, tmp_path / "b", jobs=2, progress=False)
    assert not summary.failures
    a, b = stable(load_records(tmp_path / "a")), stable(load_records(tmp_path / "b"))
    assert set(a["metric"]) >= {"discriminative", "predictive", "mmd"}
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("jobs", [1, 2])  # one after another; at once in worker processes
def test_a_failing_metric_is_recorded_and_the_others_kept(tmp_path, jobs):
    import torch

    if torch.cuda.is_available():
        pytest.skip("the failing metric asks for a GPU where there is none")
    cells = plan_cells(["sines"], ["gaussian"], ["mmd_multi[device=cuda]", "mmd"], seeds=1, preset="smoke",
                       protocol="tsbench")
    summary = run_grid(cells, tmp_path, jobs=jobs, progress=False)
    [outcome] = summary.failures
    assert outcome.failed_metrics == ["mmd_multi[device=cuda]"]
    folder = tmp_path / "cells" / cells[0].cell_id / "metrics"
    failure = json.loads(next(folder.glob("mmd_multi-*.failed.json")).read_text())
    assert failure["error"].startswith("InputError: device: expected an available device")
    assert next(folder.glob("mmd-*.json")).exists()
    records = load_records(tmp_path)
    assert set(records.loc[records["status"] == "done", "metric"]) >= {"mmd"}


def test_sigkill_midway_then_resume_gives_the_uninterrupted_records(tmp_path):
    """Kill `tsbench run` with SIGKILL after its first finished cell; the re-run completes the grid and its
    records equal those of an uninterrupted run."""
    args = ["-g", "gan", "-g", "gaussian", "-d", "sines", "--preset", "smoke", "-m", "mmd", "--seeds", "3",
            "--no-progress"]
    cmd = [sys.executable, "-m", "tsbench.cli", "run", *args]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(killed.glob("cells/*/trained.json")):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = [p for p in killed.glob("cells/*") if (p / "metrics").is_dir() and any((p / "metrics").glob("*.json"))]
    assert len(finished) < 6, "the run finished before it could be killed; make the grid slower"
    assert subprocess.run([*cmd, "--out", str(killed)], capture_output=True).returncode == 0
    assert subprocess.run([*cmd, "--out", str(tmp_path / "clean")], capture_output=True).returncode == 0
    resumed, clean = load_records(killed), load_records(tmp_path / "clean")
    assert len(resumed) == len(clean) and (resumed["status"] == "done").all()
    pd.testing.assert_frame_equal(stable(resumed), stable(clean))


def test_records_schema(tmp_path):
    from tsbench.records import COLUMNS

    cells = plan_cells(["sines"], ["gaussian"], ["mmd"], seeds=1, preset="smoke", protocol="timegan2019")
    run_grid(cells, tmp_path, progress=False)
    records = load_records(tmp_path)
    assert list(records.columns) == COLUMNS
    assert set(records["protocol"]) == {"timegan2019@2"} and set(records["split"]) == {"all"}
    row = records.iloc[0]
    assert row["n_train"] == row["n_test"] and np.isfinite(row["value"])


def test_cli_leaves_the_local_executor_to_run_grid():
    """`tsbench run --jobs N` lets run_grid size the pool (and give spare cores to metrics); an explicit
    --executor process keeps one process per job."""
    from argparse import Namespace

    from tsbench.commands.run import _executor
    from tsbench.runner.executors import ProcessExecutor

    assert _executor(Namespace(executor=None, jobs=2, threads=None)) is None
    explicit = _executor(Namespace(executor="process", jobs=2, threads=None))
    assert isinstance(explicit, ProcessExecutor) and explicit.jobs == 2


def test_run_writes_the_records_file_that_table_reads(tmp_path, capsys):
    """`tsbench table --records` asks for the records file written by `tsbench run`: run must write it."""
    out = tmp_path / "runs"
    assert run_cli("run", *GRID, "--seeds", "1", "--out", str(out)) == 0
    said = capsys.readouterr().out
    path = out / "records.csv"
    assert path.exists() and f"--records {path}" in said
    from tsbench.commands.table import read_records

    written, collected = read_records(path), load_records(out).reset_index(drop=True)
    assert list(written.columns) == list(collected.columns) and len(written) == len(collected)
    np.testing.assert_array_equal(written["value"].to_numpy(float), collected["value"].to_numpy(float))
    assert run_cli("table", "--records", str(path), "--format", "md") == 0
