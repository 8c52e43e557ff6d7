"""Per-cell CPU cost of the new metrics (Context-FID, memorisation, correlational, TSGBench) vs one
discriminative score, on Sines-sized cells: 8000 training, 2000 held-out and 8000 synthetic windows of
24 × 5 (the runner's default: as many synthetic windows as training windows), quick presets, one repeat.

Context-FID's encoder is fit once per dataset and cached (it is shared by every generator), so the
per-cell cost is measured with a warm cache; the one-off fit is measured separately.

Run: ``python -m pytest tests/benchmarks/test_bench_new_metrics.py --benchmark-only -m benchmark``
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest

from tsbench.metrics import _ts2vec
from tsbench.registry import metrics

pytestmark = pytest.mark.benchmark

NEW_METRICS = ("context_fid", "memorisation", "correlational", "acd", "mdd", "sd", "kd")


@pytest.fixture(scope="module")
def cell():
    from tsbench.data import resolve_dataset

    split = resolve_dataset("sines").load(0, "tsbench")
    rng = np.random.default_rng(0)
    synthetic = np.clip(split.train + 0.05 * rng.standard_normal(split.train.shape, dtype=np.float32), 0, 1)
    return split.train, split.test, synthetic


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TSBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    _ts2vec.clear_memory_cache()
    yield
    mp.undo()
    _ts2vec.clear_memory_cache()


def _quick(name: str, **extra):
    cls = metrics.get(name)
    params = {**cls.presets.get("quick", {}), **extra}
    if "repeats" in cls._get_param_names():
        params["repeats"] = 1
    return cls(**params)


def test_context_fid_encoder_fit_once_per_dataset(benchmark, cell):
    train = cell[0]
    metric = _quick("context_fid")
    encoder = benchmark.pedantic(_ts2vec.train_encoder, args=(train, metric.settings(), 0), rounds=1,
                                 iterations=1)
    assert encoder(_torch_batch(train[:2])).shape == (2, 24, metric.output_dim)


@pytest.mark.parametrize("name", NEW_METRICS)
def test_new_metric_per_cell(benchmark, cell, name):
    if not metrics.entry(name).available:
        pytest.skip(f"{name} is not available yet: {metrics.entry(name).error}")
    metric = _quick(name)
    metric.compute(*cell, seed=0)  # warm-up: fits and caches Context-FID's encoder
    result = benchmark.pedantic(metric.compute, args=cell, kwargs={"seed": 1}, rounds=3, iterations=1)
    assert np.isfinite(result["value"]).all()


def test_discriminative_per_cell(benchmark, cell):
    try:
        importlib.import_module("tsbench.metrics.discriminative")
    except ImportError as exc:
        pytest.skip(f"discriminative score not available yet: {exc}")
    metric = _quick("discriminative")
    result = benchmark.pedantic(metric.compute, args=cell, kwargs={"seed": 1}, rounds=1, iterations=1)
    assert np.isfinite(result["value"]).all()


def _torch_batch(X):
    import torch

    return torch.as_tensor(X)
