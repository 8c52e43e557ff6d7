"""Speed of the post-hoc scores at full timegan2019 settings: DS (2000 iterations) + PS (5000 iterations),
10 repeats each, one Sines-sized cell (10000 × 24 × 5 real and synthetic windows). Target on 2 CPU cores:
≤ 30 s (no TensorFlow reference timing is quoted: none was measured into a committed output). Measured both ways: in this process, one metric after
the other on one thread; and with ``jobs=2``, one spawned worker per metric (start-up included).

    python -m pytest tests/benchmarks/test_bench_posthoc.py --benchmark-enable --benchmark-only -m benchmark
"""
from __future__ import annotations

import numpy as np
import pytest

from tsbench.data.sines import sine_windows
from tsbench.evaluation import compute_metrics
from tsbench.runner.cells import MetricSpec


@pytest.mark.benchmark
@pytest.mark.parametrize("jobs", [1, 2])
def test_ds_plus_ps_sines_timegan2019(benchmark, jobs):
    real, synthetic = sine_windows(10000, seed=0), sine_windows(10000, seed=1)
    specs = [MetricSpec.build(name, preset="paper", protocol="timegan2019", repeats=None)
             for name in ("discriminative", "predictive")]

    def run():
        return compute_metrics(specs, real, real, synthetic, seed=0, jobs=jobs)

    ds, ps = (r["value"] for r in benchmark.pedantic(run, rounds=3, iterations=1))
    assert len(ds) == len(ps) == 10
    benchmark.extra_info.update(ds_mean=float(np.mean(ds)), ps_mean=float(np.mean(ps)))


@pytest.mark.benchmark
def test_one_sines_cell_timegan2019_run_jobs_two(benchmark, tmp_path):
    """The same work as a runner cell: `tsbench run -g real -d sines -m discriminative -m predictive
    --protocol timegan2019 --preset paper --jobs 2` (data, samples, both metrics and the records; the one
    pending cell gets both cores for its metrics)."""
    from tsbench.runner.grid import plan_cells, run_grid

    cells = plan_cells(["sines"], ["real"], ["discriminative", "predictive"], seeds=1, preset="paper",
                       protocol="timegan2019")
    rounds = iter(range(100))

    def run():
        summary = run_grid(cells, tmp_path / str(next(rounds)), jobs=2, progress=False)
        assert not summary.failures

    benchmark.pedantic(run, rounds=3, iterations=1)


@pytest.mark.benchmark
@pytest.mark.parametrize("iterations", [0, 300])
@pytest.mark.parametrize("metric, repeats, threads", [
    ("discriminative", 1, 1), ("discriminative", 10, 1), ("discriminative", 10, 2),
    ("predictive", 1, 1), ("predictive", 10, 1)])
def test_training_steps(benchmark, metric, repeats, iterations, threads):
    """Cost of the ensemble's training steps at timegan2019 settings (hidden 2, batch 128, 10 000 Sines
    windows). One step = (median at 300 iterations − median at 0) / 300: the split, initialisation and
    evaluation are in both and cancel."""
    from tsbench.metrics._posthoc import torch_threads
    from tsbench.metrics.discriminative import discriminative_scores
    from tsbench.metrics.predictive import predictive_scores

    real, synthetic = sine_windows(10000, seed=0), sine_windows(10000, seed=1)
    settings = dict(seed=0, repeats=repeats, protocol="timegan2019", iterations=iterations, batch_size=128, hidden=2)

    def run():
        with torch_threads(threads):
            if metric == "discriminative":
                return discriminative_scores(real, real, synthetic, **settings)
            return predictive_scores(real, synthetic, **settings)

    assert len(benchmark.pedantic(run, rounds=9, iterations=1, warmup_rounds=1)) == repeats
