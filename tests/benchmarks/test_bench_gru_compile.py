"""Does ``torch.compile`` make TimeGAN's recurrence faster on the CPU? (issue 16, item 1)

One TimeGAN-sized GRU stack (TF1 ``GRUCell``, 3 layers, hidden 24, batch 128, 24 steps, input 24), forward plus
backward (input and weight gradients), one torch thread — most of a TimeGAN joint step is such passes (see ``torch.profiler`` on
``Trainer.joint_step``). Variants:

* ``fused-eager`` — the shipped :class:`tsbench.nn.gru.TF1GRU` (one autograd function per layer: the input
  projections of all steps in one matmul, in-place steps, a hand-written backward) with its per-step loops in
  Python (``TSBENCH_GRU_KERNEL=python``);
* ``fused-cpp`` — the same with the per-step loops in C++ (``TSBENCH_GRU_KERNEL=cpp``, :mod:`tsbench.nn._gru_cpp`;
  the extension is built or loaded before timing); its gradients must equal ``fused-eager``'s bit for bit;
* ``plain-eager`` — the same equations written step by step with autograd (``tests/_references.py``);
* ``plain-compiled`` — that plain formulation through ``torch.compile(fullgraph=True, dynamic=False)``
  (Inductor, C++ kernels for the elementwise chains, matmuls as library calls);
* ``plain-compiled-cpp-wrapper`` — the same with Inductor's C++ wrapper (no Python between kernels).

Each compiled entry records its compile time (``compile_s``: the first call in this process, so Inductor's on-disk
cache of an earlier run shortens it) and the largest gradient difference to the fused eager
path; every entry records its median over the fused eager path's median measured in the same test
(``ratio_to_fused_eager``; > 1 means slower).

    python -m pytest tests/benchmarks/test_bench_gru_compile.py --benchmark-enable --benchmark-only -m benchmark
"""
from __future__ import annotations

import os
import statistics
import time

import pytest
import torch

from tests._references import reference_gru
from tsbench.nn import _gru_cpp
from tsbench.nn.gru import KERNEL_ENV, TF1GRU

T, B, WIDTH, LAYERS = 24, 128, 24, 3


def _setup():
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = TF1GRU(WIDTH, WIDTH, LAYERS)
    x = torch.randn(T, B, WIDTH, generator=generator).requires_grad_(True)
    return net, x


def _kernel(kernel: str, forward):
    """``forward`` with the TF1 GRU's step loops in ``kernel`` (``python`` or ``cpp``)."""
    def run(inputs):
        os.environ[KERNEL_ENV] = kernel
        return forward(inputs)
    return run


def _bit_identical(ours, reference) -> bool:
    return all(torch.equal(a, b) for a, b in zip(ours, reference, strict=True))


def _pass(forward, net, x):
    """forward + backward of ``sum(y²)``: gradients of the input and every parameter."""
    y = forward(x)
    return torch.autograd.grad(y.square().sum(), [x, *net.parameters()])


def _median_s(fn, rounds: int = 30, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.mark.benchmark(group="gru-compile")
@pytest.mark.parametrize("variant", ["fused-eager", "fused-cpp", "plain-eager", "plain-compiled",
                                     "plain-compiled-cpp-wrapper"])
def test_gru_stack_forward_backward(benchmark, variant, monkeypatch):
    monkeypatch.setenv(KERNEL_ENV, "python")  # restored after the test
    net, x = _setup()
    fused = lambda: _pass(_kernel("python", net), net, x)  # noqa: E731
    plain = lambda inputs: reference_gru(inputs, net)  # noqa: E731
    if variant == "fused-eager":
        step = fused
    elif variant == "fused-cpp":
        _gru_cpp.load()
        step = lambda: _pass(_kernel("cpp", net), net, x)  # noqa: E731
        assert _bit_identical(step(), fused())
    elif variant == "plain-eager":
        step = lambda: _pass(plain, net, x)  # noqa: E731
    else:
        import torch._dynamo
        import torch._inductor.config as inductor

        torch._dynamo.reset()
        compiled = torch.compile(plain, fullgraph=True, dynamic=False)
        with inductor.patch(cpp_wrapper=variant.endswith("cpp-wrapper")):
            start = time.perf_counter()
            _pass(compiled, net, x)
            benchmark.extra_info["compile_s"] = time.perf_counter() - start
        step = lambda: _pass(compiled, net, x)  # noqa: E731
    difference = max(float((a - b).abs().max()) for a, b in zip(step(), fused()))
    benchmark.extra_info["max_abs_grad_difference_to_fused_eager"] = difference
    assert difference < 1e-2 * max(1.0, max(float(g.abs().max()) for g in fused()))
    median = benchmark.pedantic(step, rounds=30, iterations=1, warmup_rounds=3)
    del median
    benchmark.extra_info["fused_eager_median_s"] = _median_s(fused)
    benchmark.extra_info["ratio_to_fused_eager"] = (benchmark.stats.stats.median
                                                    / benchmark.extra_info["fused_eager_median_s"])
