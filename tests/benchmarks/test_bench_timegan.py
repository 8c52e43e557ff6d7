"""TimeGAN step timings (CPU, one thread, paper architecture: hidden 24, 3 layers, batch 128, seq 24).

No TF1 reference timing is quoted: the original TF1 code does not install on this project's Python, and no
committed output holds a measurement of it (a figure nothing regenerates is not kept).
Run: ``python -m pytest tests/benchmarks/test_bench_timegan.py --benchmark-only -m benchmark``
(add ``--benchmark-timer time.process_time`` on a loaded machine to count this process's CPU time only).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsbench.baselines.timegan import TimeGAN, Trainer


def _trainer(n_features: int) -> Trainer:
    """A paper-architecture TimeGAN (hidden 24, 3 layers, batch 128) ready to take training steps."""
    torch.set_num_threads(1)
    X = np.random.default_rng(0).random((512, 24, n_features), dtype=np.float32)
    model = TimeGAN(hidden_dim=24, num_layers=3, batch_size=128, iterations=1).fit(X, seed=0)
    return Trainer(model, torch.as_tensor(X), torch.Generator().manual_seed(1))


@pytest.mark.benchmark(group="timegan-joint")
@pytest.mark.parametrize("n_features", [5, 6, 28], ids=["sines", "stocks", "energy"])
def test_joint_iteration(benchmark, n_features):
    trainer = _trainer(n_features)
    benchmark(trainer.joint_step)


@pytest.mark.benchmark(group="timegan-pretrain")
@pytest.mark.parametrize("phase", ["embedding", "supervised"])
def test_pretraining_step(benchmark, phase):
    trainer = _trainer(5)
    benchmark(getattr(trainer, f"{phase}_step"))
