"""One training step of gan / crnngan / nrgan at the Sines (24×5) and Energy (24×28) sizes, batch 128, CPU,
one thread. Run: python -m pytest tests/benchmarks/test_bench_generators.py --benchmark-only -m benchmark"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsbench.baselines._torch import seeded_generator
from tsbench.baselines.crnngan import CRNNGAN
from tsbench.baselines.gan import GAN
from tsbench.baselines.nrgan import NRGAN

SIZES = {"sines": (24, 5), "energy": (24, 28)}
BATCH = 128


def _prepared(cls, params, seq_len, n_features):
    """A model with built networks and optimisers, as inside ``fit``, plus a data tensor and rng."""
    model = cls(**{**params, "batch_size": BATCH, "device": "cpu"})
    model.device_, model.seq_len_, model.n_features_in_ = torch.device("cpu"), seq_len, n_features
    model.nets_ = torch.nn.ModuleDict(model._build(seq_len, n_features)).train()
    X = torch.rand(1024, seq_len, n_features, generator=torch.Generator().manual_seed(0))
    return model, X, seeded_generator(0, torch.device("cpu"))


def _step(name, seq_len, n_features):
    if name == "gan":
        model, X, rng = _prepared(GAN, {}, seq_len, n_features)
        opts = [torch.optim.Adam(model.nets_[k].parameters(), lr=3e-4) for k in ("generator", "discriminator")]
        flat = X.reshape(len(X), -1)
        return lambda: model.train_step(flat, rng, *opts)
    if name == "crnngan":
        model, X, rng = _prepared(CRNNGAN, CRNNGAN.presets["quick"], seq_len, n_features)
        opts = model._optimizers()
        return lambda: model.train_step(X, rng, *opts)
    model, X, rng = _prepared(NRGAN, NRGAN.presets["quick"], seq_len, n_features)
    spectrum = model.nets_["spectrum"]
    spectrum.fit(X)
    real = spectrum.encode(X[:BATCH])
    opts = [torch.optim.Adam(model.nets_[k].parameters(), lr=2e-4) for k in ("generator", "discriminator")]
    return lambda: model.train_step(real, torch.randn(real.shape, generator=rng), *opts)


@pytest.mark.benchmark
@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("name", ["gan", "crnngan", "nrgan"])
def test_training_step(benchmark, name, size):
    torch.set_num_threads(1)
    step = _step(name, *SIZES[size])
    benchmark.group = f"train-step-{size}"
    benchmark.pedantic(step, rounds=20, warmup_rounds=2)
    assert np.isfinite(benchmark.stats.stats.median)
