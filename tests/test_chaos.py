"""scripts/chaos.py, the SIGKILL-and-resume chaos test: its helpers (kill plan, landing, record and file
comparisons, folder scan, report) on small folders, and — marked slow — the script end to end with two kills."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsbench.runner import load_records
from tsbench.runner.grid import plan_cells, run_grid
from tsbench.runner.store import RunStore

from tests._helpers import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "chaos.py"


@pytest.fixture(scope="module")
def chaos():
    return load_script("chaos")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run folder: gaussian on sines, smoke, one seed, mmd."""
    out = tmp_path_factory.mktemp("finished")
    cells = plan_cells(["sines"], ["gaussian"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench", device="cpu")
    run_grid(cells, out, progress=False)
    return out


def copy_of(folder: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(folder, target)
    return target


def test_records_compare_equal_but_for_timings_and_provenance(chaos):
    a = pd.DataFrame({"cell_id": ["x", "y"], "metric": ["mmd", "mmd"], "repeat": [0, 0], "value": [0.5, math.nan],
                      "fit_s": [1.0, 2.0], "host": ["a", "a"], "timestamp": ["t1", "t2"], "git_sha": ["s", "s"]})
    b = a.assign(fit_s=[9.0, 9.0], host="b", timestamp="t3", git_sha="other").iloc[::-1]  # other order too
    assert chaos.compare_records(a, b) == {"rows": 2, "identical": True, "differing_columns": []}
    changed = b.assign(value=[0.5, 0.25])
    assert chaos.compare_records(a, changed)["differing_columns"] == ["value"]
    assert not chaos.compare_records(a, b.iloc[:1])["identical"]


def test_files_compare_byte_for_byte(chaos, finished, tmp_path):
    other = copy_of(finished, tmp_path)
    assert chaos.compare_files(finished, other) == {"compared": 2, "differing": []}  # samples and model
    (cell,) = RunStore(other).cell_ids()
    samples = other / "cells" / cell / "samples.npy"
    samples.write_bytes(samples.read_bytes()[:-1] + b"\x00")
    assert chaos.compare_files(finished, other)["differing"] == [f"cells/{cell}/samples.npy"]


def test_the_scan_verifies_files_and_finds_orphans(chaos, finished, tmp_path):
    assert chaos.scan_folder(finished) == {"verified": 5, "orphans": [], "unverifiable": []}
    other = copy_of(finished, tmp_path)
    (cell,) = RunStore(other).cell_ids()
    folder = other / "cells" / cell
    (folder / ".samples.npy.x1y2.tmp").write_bytes(b"")
    (folder / "fit.ckpt").write_bytes(b"")
    (other / ".records.csv.abc.tmp").write_bytes(b"")
    metric = next((folder / "metrics").glob("*.json"))
    metric.write_text(metric.read_text().replace("0", "1", 1))
    scan = chaos.scan_folder(other)
    assert scan["orphans"] == [".records.csv.abc.tmp", f"cells/{cell}/.samples.npy.x1y2.tmp", f"cells/{cell}/fit.ckpt"]
    assert scan["unverifiable"] == [f"cells/{cell}/metrics/{metric.name}"]


def test_landing_is_read_from_the_folder(chaos, finished, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert chaos.landing(empty)["where"] == "start-up (nothing written by this run yet)"
    assert chaos.landing(finished)["where"] == "after the last cell (records.csv)"
    other = copy_of(finished, tmp_path)
    (cell,) = RunStore(other).cell_ids()
    (other / "cells" / cell / ".model.ckpt.abc.tmp").write_bytes(b"")
    assert chaos.landing(other)["where"] == "during a write (.model.ckpt.abc.tmp)"
    import time

    assert chaos.landing(other, since=time.time() + 60)["where"] == "start-up (nothing written by this run yet)"


def test_kill_plans_are_seeded_and_cover_fits_writes_and_workers(chaos):
    plan = chaos.plan_kills(5, seed=0, jobs=2)
    assert plan == chaos.plan_kills(5, seed=0, jobs=2) and plan != chaos.plan_kills(5, seed=1, jobs=2)
    assert {"fit", "write", "worker"} <= {k["kind"] for k in plan} and len(plan) == 5
    assert "worker" not in {k["kind"] for k in chaos.plan_kills(3, seed=0, jobs=1)}
    assert all(0 <= k["u"] < 1 for k in plan)


def test_the_report_is_generated_from_the_summary(chaos, tmp_path):
    summary = {"schema": chaos.SCHEMA, "created": "now", "git_sha": "abc", "git_dirty": False,
               "machine": {"cpus": 2}, "python": "3.11", "torch_version": "2", "elapsed_s": 10.0,
               "settings": {"grid": chaos.GRID, "kills": 1, "seed": 0, "jobs": 2, "checkpoint_steps": 20},
               "reference": {"exit_code": 0, "run_s": 3.0},
               "kills": [{"kind": "fit", "target": "runner and workers", "t_s": 1.5, "run_s": 1.6,
                          "landed": "mid-fit (gan seed 0 after step 40)", "interrupted": ["gan seed 0"]}],
               "resume_runs": [{"exit_code": 0, "run_s": 2.0}],
               "cells": {"total": 8, "fits_interrupted": ["gan seed 0"],
                         "resumed_from_checkpoint": [{"cell": "gan seed 0", "after_step": 40}]},
               "records": {"rows": 4, "identical": True, "differing_columns": []},
               "files": {"compared": 3, "differing": [], "verified": 9, "orphans": [], "unverifiable": []},
               "identical": True}
    chaos.write_report(summary, tmp_path)
    assert json.loads((tmp_path / "chaos.json").read_text()) == summary
    text = (tmp_path / "README.md").read_text()
    assert "**identical: true**" in text and "| 1 | fit | runner and workers | 1.50 | mid-fit (gan seed 0" in text
    assert "gan seed 0 (after step 40)" in text
    assert (tmp_path / "chaos.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.slow
def test_the_script_kills_resumes_and_finds_the_result_identical(chaos, tmp_path):
    out = tmp_path / "report"
    done = subprocess.run([sys.executable, str(SCRIPT), str(out), "--kills", "2", "--work", str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=900)
    summary = json.loads((out / "chaos.json").read_text())
    assert done.returncode == 0, done.stdout + done.stderr + json.dumps(summary["kills"], indent=1)
    assert tuple(summary) == chaos.TOP_KEYS and summary["identical"] is True
    assert len(summary["kills"]) == 2 and summary["records"]["identical"]
    assert summary["files"]["orphans"] == [] and summary["files"]["differing"] == []
    assert (out / "README.md").exists() and (out / "chaos.svg").exists()
    reference = load_records(tmp_path / "work" / "reference")
    assert (reference["status"] == "done").all() and np.isfinite(reference["value"]).all()
