"""Dask executor throughput (1 vs 2 local workers, one torch thread each) and per-cell overhead.

Targets (issue 7, on 2 cores): 2 workers ≥ 1.7× the throughput of 1; Dask adds ≤ 0.5 s per cell over the
in-process executor. Worker start-up and the first imports are excluded (a warm-up grid runs first);
every round writes a fresh results folder, so every cell is trained and scored.

Run: ``python -m pytest tests/benchmarks/test_bench_dask.py --benchmark-only -m benchmark -p no:randomly``
(the tests share their medians in file order; the ratios are in ``extra_info`` and asserted).
"""
from __future__ import annotations

import itertools
import os

import pytest

distributed = pytest.importorskip("distributed")

from tsbench.runner.dask_executor import DaskExecutor, local_cluster  # noqa: E402
from tsbench.runner.executors import InProcessExecutor, set_threads  # noqa: E402
from tsbench.runner.grid import plan_cells, run_grid  # noqa: E402

pytestmark = [pytest.mark.benchmark, pytest.mark.dask]

#: compute-bound cells (about a second each on one core) for throughput
HEAVY = dict(generators=["gan[iterations=300]"], seeds=6)
#: cheap cells (tens of ms) so that the executor's own cost dominates
LIGHT = dict(generators=["real", "gaussian"], seeds=4)
MEDIANS: dict[str, float] = {}
_counter = itertools.count()


def grid(generators, seeds):
    return plan_cells(["sines"], generators, ["mmd"], seeds=seeds, preset="smoke", protocol="tsbench")


def run_once(cells, executor, tmp_path):
    summary = run_grid(cells, tmp_path / f"round-{next(_counter)}", executor=executor, progress=False)
    assert summary.trained == len(cells) and not summary.failures
    return summary


def measure(benchmark, name, cells, executor, tmp_path, rounds=3, warm_up=True):
    if warm_up:
        run_once(cells, executor, tmp_path)  # imports, data cache
    benchmark.pedantic(run_once, args=(cells, executor, tmp_path), rounds=rounds, iterations=1)
    MEDIANS[name] = benchmark.stats.stats.median
    benchmark.extra_info.update({"cells": len(cells), "median_s_per_cell": MEDIANS[name] / len(cells),
                                 "cpu_count": os.cpu_count()})


def dask_run(benchmark, name, cells, workers, tmp_path):
    """Measure on a fresh ``workers``-process LocalCluster; returns the mean number of cells in flight."""
    cluster = local_cluster(workers, retries=2)
    client = distributed.Client(cluster)
    try:
        run_once(cells, DaskExecutor(client=client), tmp_path)  # warm-up outside the task stream
        with distributed.get_task_stream(client=client) as stream:
            measure(benchmark, name, cells, DaskExecutor(client=client), tmp_path, warm_up=False)
        busy = sum(ss["stop"] - ss["start"] for task in stream.data for ss in task["startstops"]
                   if ss["action"] == "compute")
    finally:
        client.close()
        cluster.close()
    in_flight = busy / benchmark.stats.stats.total
    benchmark.extra_info.update({"cells_in_flight": in_flight, "load_average_1min": os.getloadavg()[0]})
    return in_flight


def test_light_in_process(benchmark, tmp_path):
    set_threads(1)
    measure(benchmark, "light-inprocess", grid(**LIGHT), InProcessExecutor(), tmp_path)


def test_light_dask_one_worker_overhead(benchmark, tmp_path):
    cells = grid(**LIGHT)
    dask_run(benchmark, "light-dask1", cells, 1, tmp_path)
    overhead = (MEDIANS["light-dask1"] - MEDIANS["light-inprocess"]) / len(cells)
    benchmark.extra_info["overhead_s_per_cell"] = overhead
    assert overhead <= 0.5, f"Dask overhead {overhead:.3f} s per cell"


def test_heavy_dask_one_worker(benchmark, tmp_path):
    dask_run(benchmark, "heavy-dask1", grid(**HEAVY), 1, tmp_path)


def test_heavy_dask_two_workers_speedup(benchmark, tmp_path):
    load_before = os.getloadavg()[0]
    in_flight = dask_run(benchmark, "heavy-dask2", grid(**HEAVY), 2, tmp_path)
    speedup = MEDIANS["heavy-dask1"] / MEDIANS["heavy-dask2"]
    benchmark.extra_info["speedup_vs_one_worker"] = speedup
    # the executor's part: both workers compute all the time (6 cells, 3 per worker)
    assert in_flight >= 1.6, f"only {in_flight:.2f} cells in flight on average with 2 workers"
    if max(load_before, os.getloadavg()[0]) > (os.cpu_count() or 1):
        pytest.xfail(f"other processes use the cores (load average {load_before:.1f} on {os.cpu_count()} cores): "
                     f"speedup {speedup:.2f}× is not comparable with the 2-idle-core target of 1.7×")
    assert speedup >= 1.7, f"2 workers gave {speedup:.2f}× the throughput of 1"
