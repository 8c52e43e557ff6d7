"""TimeGAN step timings (CPU, one thread, paper architecture: hidden 24, 3 layers, batch 128, seq 24), with the TF1
GRU's per-step loops in Python and in C++ (``TSBENCH_GRU_KERNEL=python|cpp``, bit-identical numbers: see
tests/test_gru_kernel.py).

Each ``cpp`` entry also records ``speedup_over_python``: the median step time with the Python loops over the median
with the C++ loops, both measured in the same test, alternating one step of each (a Python and a C++ trainer from
the same seed), on this process's CPU time (``time.process_time``: robust to other load on the machine), with
both medians (``python_median_s``, ``cpp_median_s``). The C++ extension is built (or loaded) before timing.

No TF1 reference timing is quoted: the original TF1 code does not install on this project's Python, and no
committed output holds a measurement of it (a figure nothing regenerates is not kept).
Run: ``python -m pytest tests/benchmarks/test_bench_timegan.py --benchmark-only -m benchmark``
(add ``--benchmark-timer time.process_time`` on a loaded machine to count this process's CPU time only).
"""
from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pytest
import torch

from tests.benchmarks.alternating import alternating_cpu_medians
from tsbench.baselines.timegan import TimeGAN, Trainer
from tsbench.nn import _gru_cpp
from tsbench.nn.gru import KERNEL_ENV

KERNELS = ["python", "cpp"]


def _trainer(n_features: int) -> Trainer:
    """A paper-architecture TimeGAN (hidden 24, 3 layers, batch 128) ready to take training steps."""
    torch.set_num_threads(1)
    X = np.random.default_rng(0).random((512, 24, n_features), dtype=np.float32)
    model = TimeGAN(hidden_dim=24, num_layers=3, batch_size=128, iterations=1).fit(X, seed=0)
    return Trainer(model, torch.as_tensor(X), torch.Generator().manual_seed(1))


def _step(trainer: Trainer, method: str, kernel: str):
    def step():
        os.environ[KERNEL_ENV] = kernel
        getattr(trainer, method)()
    return step


def _speedup(benchmark, make_trainer, method: str, rounds: int) -> None:
    """Alternate steps of a Python-loop and a C++-loop trainer; record both medians (CPU time) and their ratio."""
    medians = alternating_cpu_medians({kernel: _step(make_trainer(), method, kernel) for kernel in KERNELS}, rounds)
    benchmark.extra_info.update(python_median_s=medians["python"], cpp_median_s=medians["cpp"],
                                speedup_over_python=medians["python"] / medians["cpp"])


@pytest.fixture(autouse=True)
def _kernel_env(monkeypatch):
    monkeypatch.setenv(KERNEL_ENV, "auto")  # restored after each test (the steps set it)


@pytest.mark.benchmark(group="timegan-joint")
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n_features", [5, 6, 28], ids=["sines", "stocks", "energy"])
def test_joint_iteration(benchmark, n_features, kernel):
    if kernel == "cpp":
        _gru_cpp.load()
        _speedup(benchmark, lambda: _trainer(n_features), "joint_step", rounds=30)
    benchmark(_step(_trainer(n_features), "joint_step", kernel))


@pytest.mark.benchmark(group="timegan-pretrain")
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("phase", ["embedding", "supervised"])
def test_pretraining_step(benchmark, phase, kernel):
    if kernel == "cpp":
        _gru_cpp.load()
        _speedup(benchmark, lambda: _trainer(5), f"{phase}_step", rounds=100)
    benchmark(_step(_trainer(5), f"{phase}_step", kernel))


def _cell_trainer(cell: str) -> Trainer:
    """:func:`_trainer` (Sines size) with the GRU ``cell`` of the networks: ``tf1`` (default) or ``cudnn``."""
    torch.set_num_threads(1)
    X = np.random.default_rng(0).random((512, 24, 5), dtype=np.float32)
    model = TimeGAN(hidden_dim=24, num_layers=3, batch_size=128, iterations=1, cell=cell).fit(X, seed=0)
    return Trainer(model, torch.as_tensor(X), torch.Generator().manual_seed(1))


@pytest.mark.benchmark(group="timegan-cell")
def test_joint_iteration_cudnn_cell_vs_tf1(benchmark):
    """The joint step of ``timegan[cell=cudnn]`` (torch.nn.GRU) against the default TF1 cell (C++ loops), on the CPU:
    ``tf1_median_s``, ``cudnn_median_s`` (CPU time, alternating one step of each) and ``cudnn_over_tf1``."""
    _gru_cpp.load()
    steps = {cell: _cell_trainer(cell).joint_step for cell in ("tf1", "cudnn")}
    medians = alternating_cpu_medians(steps, rounds=30)
    benchmark.extra_info.update(tf1_median_s=medians["tf1"], cudnn_median_s=medians["cudnn"],
                                cudnn_over_tf1=medians["cudnn"] / medians["tf1"])
    benchmark(steps["cudnn"])


@pytest.mark.benchmark(group="timegan-floor")
def test_joint_iteration_arithmetic_floor(benchmark, monkeypatch):
    """How far the joint step (Sines size, C++ loops) is from its matrix-product floor: ``gflop_per_step`` (every
    matrix product of one step, counted by ``torch.utils.flop_counter.FlopCounterMode`` on the Python loops, which
    go through ATen), ``gemm_gflops`` (this CPU's one-thread rate on the step's largest product shape,
    (T·2B × H) @ (H × 2H), median of 200) and ``floor_s`` = their ratio: the time of the products alone at that
    rate. The benchmark times the step itself; ``step_over_floor`` = its median / ``floor_s``."""
    from torch.utils.flop_counter import FlopCounterMode

    trainer = _trainer(5)
    monkeypatch.setenv(KERNEL_ENV, "python")
    trainer.joint_step()
    with FlopCounterMode(display=False) as counter:
        trainer.joint_step()
    flop = counter.get_total_flops()
    a, b = torch.rand(24 * 256, 24), torch.rand(24, 48)
    times = []
    for _ in range(220):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    gemm_gflops = 2 * a.shape[0] * a.shape[1] * b.shape[1] / statistics.median(times[20:]) / 1e9
    monkeypatch.setenv(KERNEL_ENV, "cpp")
    _gru_cpp.load()
    benchmark(trainer.joint_step)
    floor_s = flop / 1e9 / gemm_gflops
    benchmark.extra_info.update(gflop_per_step=flop / 1e9, gemm_gflops=gemm_gflops, floor_s=floor_s,
                                step_over_floor=benchmark.stats.stats.median / floor_s)
