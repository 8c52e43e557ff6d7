"""Benchmark figures are recorded, not just printed: a pytest plugin (loaded by ``tests/benchmarks/conftest.py``)
that, when pytest runs with ``--benchmark-only``, writes each passing benchmark's timings to
``results/benchmarks/<test module>.json`` (commit them).

One file per benchmark module, ``{"benchmarks": {test name: entry}}``; a re-run replaces the entries of the tests
it ran and keeps the others. An entry holds the median, mean, standard deviation, min, max (seconds), rounds,
iterations, the group, the benchmark's ``extra_info`` (secondary figures, e.g. per-cell medians) and its
provenance: UTC time, git sha (and whether tracked files were modified), Python / torch / numpy / tsbench
versions, the machine (architecture, CPU model, cores, memory, GPU if any, torch threads, 1-minute load average
at the time). ``TSBENCH_BENCHMARK_RESULTS`` overrides the folder. Nothing is written without
``--benchmark-only`` (the default suite skips benchmarks), for failed tests, or when no timing was taken.
"""
from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tsbench.provenance import git, git_sha
from tsbench.provenance import machine as host_machine

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT / "results" / "benchmarks"
_STAT_FIELDS = {"median_s": "median", "mean_s": "mean", "stddev_s": "stddev", "min_s": "min", "max_s": "max",
                "rounds": "rounds"}


def results_dir() -> Path:
    return Path(os.environ.get("TSBENCH_BENCHMARK_RESULTS") or DEFAULT_DIR)


def environment() -> dict:
    """Provenance of a measurement: code version, library versions, machine."""
    import numpy

    versions = {"python": platform.python_version(), "numpy": numpy.__version__}
    machine = host_machine()
    try:
        import torch

        versions["torch"] = torch.__version__
        machine["torch_threads"] = torch.get_num_threads()
        machine["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover - torch is a hard dependency
        versions["torch"] = None
    try:
        from tsbench import __version__ as tsbench_version
    except ImportError:  # pragma: no cover
        tsbench_version = None
    versions["tsbench"] = tsbench_version
    status = git("status", "--porcelain", "--untracked-files=no", cwd=ROOT)
    return {"recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "git_sha": git_sha(ROOT), "git_dirty": None if status is None else bool(status),
            "versions": versions, "machine": machine}


def entry(metadata) -> dict:
    """The recorded figures of one pytest-benchmark ``Metadata`` (``benchmark.stats``)."""
    stats = metadata.stats
    out = {key: getattr(stats, name) for key, name in _STAT_FIELDS.items()}
    out.update(iterations=metadata.iterations, group=metadata.group,
               extra_info=json.loads(json.dumps(metadata.extra_info, default=str)))
    return out


def record(module: str, name: str, figures: dict, directory: Path | None = None) -> Path:
    """Merge ``{name: figures + environment()}`` into ``<directory>/<module>.json`` (atomic replace)."""
    directory = Path(directory or results_dir())
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{module}.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    benchmarks = data.setdefault("benchmarks", {})
    benchmarks[name] = {**figures, **environment()}
    data["benchmarks"] = dict(sorted(benchmarks.items()))
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.passed or not item.config.getoption("benchmark_only", False):
        return
    fixture = getattr(item, "funcargs", {}).get("benchmark")
    metadata = getattr(fixture, "stats", None)
    if metadata is None or not getattr(metadata, "stats", None) or getattr(fixture, "disabled", False):
        return
    path = record(Path(str(item.path)).stem, item.name, entry(metadata))
    report.user_properties.append(("benchmark_record", str(path)))

