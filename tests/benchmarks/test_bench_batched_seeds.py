"""Three GAN seeds per step: one batched step (``GAN.fit_seeds``' ``_stacked_step``) against three separate
``train_step`` calls (what three cells do), Sines size (24×5), batch 32, CPU, one thread.

The ``batched`` entry records ``separate_median_s``, ``batched_median_s`` (CPU time of one step of all three seeds,
``time.process_time``, alternating one of each, medians after warm-up) and ``speedup_over_separate``.
Run: ``python -m pytest tests/benchmarks/test_bench_batched_seeds.py --benchmark-only -m benchmark``
"""
from __future__ import annotations


import numpy as np
import pytest
import torch
from torch import nn

from tests.benchmarks.alternating import alternating_cpu_medians
from tsbench.baselines._torch import seeded_generator
from tsbench.baselines.gan import GAN
from tsbench.nn.stacked import StackedModules

SEEDS = (0, 1, 2)
SEQ_LEN, N_FEATURES, BATCH = 24, 5, 32


def _models():
    models = []
    for seed in SEEDS:
        model = GAN(batch_size=BATCH, device="cpu")
        model.device_, model.seq_len_, model.n_features_in_ = torch.device("cpu"), SEQ_LEN, N_FEATURES
        torch.manual_seed(seed)
        model.nets_ = nn.ModuleDict(model._build(SEQ_LEN, N_FEATURES)).train()
        models.append(model)
    return models


def _data():
    X = torch.rand(1024, SEQ_LEN * N_FEATURES, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return X, [seeded_generator(seed + 1, torch.device("cpu")) for seed in SEEDS]


def separate_step():
    """Three models, each its own step (three cells)."""
    models, (X, rngs) = _models(), _data()
    opts = [[torch.optim.Adam(m.nets_[k].parameters(), lr=3e-4) for k in ("generator", "discriminator")]
            for m in models]
    return lambda: [m.train_step(X, rng, *o) for m, rng, o in zip(models, rngs, opts)]


def batched_step():
    """The same three models as one stacked model, one step."""
    models, (X, rngs) = _models(), _data()
    G = StackedModules([m.nets_["generator"] for m in models])
    D = StackedModules([m.nets_["discriminator"] for m in models])
    opt_g, opt_d = torch.optim.Adam(G.parameters(), lr=3e-4), torch.optim.Adam(D.parameters(), lr=3e-4)
    flats = [X] * len(SEEDS)
    return lambda: models[0]._stacked_step(flats, rngs, G, D, opt_g, opt_d)


@pytest.mark.benchmark(group="gan-three-seeds")
@pytest.mark.parametrize("how", ["separate", "batched"])
def test_three_seeds_one_step(benchmark, how):
    torch.set_num_threads(1)
    if how == "batched":
        medians = alternating_cpu_medians({"separate": separate_step(), "batched": batched_step()}, rounds=200,
                                          warmup=10)
        benchmark.extra_info.update(separate_median_s=medians["separate"], batched_median_s=medians["batched"],
                                    speedup_over_separate=medians["separate"] / medians["batched"])
    step = batched_step() if how == "batched" else separate_step()
    benchmark.pedantic(step, rounds=200, warmup_rounds=10)
    assert np.isfinite(benchmark.stats.stats.median)
