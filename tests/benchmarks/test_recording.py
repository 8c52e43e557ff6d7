"""The benchmark recorder (recording.py) on a tiny fake benchmark module, run in a separate pytest process:
with --benchmark-only each passing benchmark's figures and provenance land in <results>/<module>.json, merged
with what the file already held; failed benchmarks and runs without --benchmark-only write nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy
import torch

HERE = Path(__file__).resolve().parent

FAKE = '''
import pytest


@pytest.mark.benchmark
@pytest.mark.parametrize("n", [100])
def test_tiny(benchmark, n):
    benchmark.extra_info["items"] = n
    benchmark.pedantic(lambda: sum(range(n)), rounds=5, iterations=2)


@pytest.mark.benchmark
def test_broken(benchmark):
    benchmark.pedantic(lambda: None, rounds=2)
    assert False


def test_not_a_benchmark():
    pass
'''


def _pytest(tmp_path: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "TSBENCH_BENCHMARK_RESULTS": str(out)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "recording", "-p", "no:cacheprovider", "-q",
                           "fake_bench.py", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


def test_benchmark_only_run_records_medians_with_provenance(tmp_path):
    (tmp_path / "fake_bench.py").write_text(FAKE)
    out = tmp_path / "results"
    out.mkdir()
    (out / "fake_bench.json").write_text(json.dumps({"benchmarks": {"test_earlier": {"median_s": 1.0}}}))
    result = _pytest(tmp_path, out, "--benchmark-only", f"--benchmark-json={tmp_path / 'raw.json'}")
    assert result.returncode == 1, result.stdout + result.stderr  # test_broken fails
    recorded = json.loads((out / "fake_bench.json").read_text())["benchmarks"]
    assert set(recorded) == {"test_earlier", "test_tiny[100]"}  # merged; the failed benchmark is not recorded
    tiny = recorded["test_tiny[100]"]
    (raw,) = [b for b in json.loads((tmp_path / "raw.json").read_text())["benchmarks"] if b["name"] == "test_tiny[100]"]
    assert tiny["median_s"] == raw["stats"]["median"] > 0
    assert (tiny["rounds"], tiny["iterations"], tiny["extra_info"]) == (5, 2, {"items": 100})
    assert tiny["versions"]["torch"] == torch.__version__ and tiny["versions"]["numpy"] == numpy.__version__
    assert tiny["machine"]["cores"] == os.cpu_count() and tiny["machine"]["cpu"]
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    assert tiny["git_sha"] == (sha or None)
    assert tiny["recorded_at"]


def test_without_benchmark_only_nothing_is_recorded(tmp_path):
    (tmp_path / "fake_bench.py").write_text(FAKE)
    out = tmp_path / "results"
    result = _pytest(tmp_path, out, "--benchmark-enable", "-k", "tiny")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert not out.exists()
