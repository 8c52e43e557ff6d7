"""MMD speed and memory on Energy-sized inputs: 20 000 × (24 × 28 = 672-d) windows per set.

Run: ``python -m pytest tests/benchmarks/test_bench_mmd.py --benchmark-only -m benchmark``
"""
from __future__ import annotations

import resource

import numpy as np
import pytest

from tsbench.metrics.mmd import MMD

pytestmark = pytest.mark.benchmark


@pytest.fixture(scope="module")
def energy_sized():
    rng = np.random.default_rng(0)
    real = rng.random((20_000, 24, 28), dtype=np.float32)
    synthetic = np.clip(rng.random((20_000, 24, 28), dtype=np.float32) + 0.1, 0, 1)  # shifted marginals
    return real, synthetic


def test_mmd_full_20000x672(benchmark, energy_sized):
    """All 20 000 + 20 000 windows at once: the 40 000² kernel is visited in 2048² blocks, never stored."""
    real, synthetic = energy_sized
    metric = MMD(subset_size=None)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = benchmark.pedantic(metric.compute, args=(real, real, synthetic), kwargs={"seed": 0},
                                rounds=1, iterations=1)  # about a minute of CPU per round
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    benchmark.extra_info["peak_rss_growth_mib"] = round(grown_mib, 1)
    assert len(result["value"]) == 1 and np.isfinite(result["value"][0]) and result["value"][0] > 0
    assert grown_mib < 2048  # a dense 40 000² float64 kernel alone would be 12 GiB


def test_mmd_quick_preset_subsets(benchmark, energy_sized):
    """The quick preset: 5 repeats on random 1000-window subsets of each set."""
    real, synthetic = energy_sized
    metric = MMD(subset_size=1000, repeats=5)
    result = benchmark.pedantic(metric.compute, args=(real, real, synthetic), kwargs={"seed": 0},
                                rounds=3, iterations=1)
    assert len(result["value"]) == 5
