"""Resuming a finished grid must cost seconds, not training: `tsbench run --all --preset smoke` on Sines,
run once, then re-run (everything cached) and timed as a fresh process, imports included.

    python -m pytest tests/benchmarks/test_bench_runner.py --benchmark-enable --benchmark-only -m benchmark
"""
from __future__ import annotations

import subprocess
import sys

import pytest

ARGS = ["run", "--all", "-d", "sines", "--preset", "smoke", "--seeds", "2", "--no-progress", "--threads", "1"]


@pytest.mark.benchmark
def test_rerun_of_a_finished_smoke_grid(benchmark, tmp_path):
    command = [sys.executable, "-m", "tsbench.cli", *ARGS, "--out", str(tmp_path / "runs")]
    assert subprocess.run(command, capture_output=True).returncode == 0

    def rerun():
        return subprocess.run(command, capture_output=True, text=True)

    result = benchmark.pedantic(rerun, rounds=3, iterations=1)
    assert result.returncode == 0 and "12 cells: 12 already done, 0 trained" in result.stdout
