"""Speed of the post-hoc scores at full timegan2019 settings: DS (2000 iterations) + PS (5000 iterations),
10 repeats each, one Sines-sized cell (10000 × 24 × 5 real and synthetic), 2 CPU threads. Target ≤ 30 s
(the TF1 reference: ≈ 9 min for 10 + 10 calls).

    python -m pytest tests/benchmarks/test_bench_posthoc.py --benchmark-enable --benchmark-only -m benchmark
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsbench.data.sines import sine_windows
from tsbench.metrics.discriminative import DiscriminativeScore
from tsbench.metrics.predictive import PredictiveScore


@pytest.mark.benchmark
def test_ds_plus_ps_sines_timegan2019(benchmark):
    real, synthetic = sine_windows(10000, seed=0), sine_windows(10000, seed=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        def run():
            ds = DiscriminativeScore(protocol="timegan2019").compute(real, real, synthetic, seed=0)["value"]
            ps = PredictiveScore(protocol="timegan2019").compute(real, real, synthetic, seed=0)["value"]
            return ds, ps

        ds, ps = benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        torch.set_num_threads(threads)
    assert len(ds) == len(ps) == 10
    benchmark.extra_info.update(ds_mean=float(np.mean(ds)), ps_mean=float(np.mean(ps)),
                                ratio_to_tf_540s=benchmark.stats.stats.median / 540)
