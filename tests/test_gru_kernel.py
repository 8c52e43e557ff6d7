"""The C++ step loops of the TF1 GRU (``tsbench.nn._gru_cpp``) equal the Python loops of ``tsbench.nn.gru`` bit for
bit: outputs and every requested gradient, float32 and float64, each ``needs_input_grad`` subset, odd shapes, and
TimeGAN training steps; and ``TSBENCH_GRU_KERNEL`` selects the loops, falling back to Python with one warning.

The extension is built once per session (``loops`` fixture; built the first time, then loaded from torch's
extensions folder); the tests that need it are skipped where no C++ toolchain is installed.
"""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch

from tsbench.nn import _gru_cpp, gru
from tsbench.nn.gru import KERNEL_ENV, TF1GRU


@pytest.fixture(scope="module")
def loops() -> _gru_cpp.Loops:
    from torch.utils.cpp_extension import is_ninja_available

    if not is_ninja_available() or shutil.which("c++") is None:
        pytest.skip("no C++ toolchain (c++ and ninja): the Python loops are used")
    return _gru_cpp.load()


def _pass(net, x, grad, wrt, kernel, monkeypatch):
    monkeypatch.setenv(KERNEL_ENV, kernel)
    y = net(x)
    return (y, *torch.autograd.grad(y, wrt, grad))


def _assert_equal(ours, reference):
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        assert a.dtype == b.dtype and torch.equal(a, b), float((a - b).abs().max())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(24, 16, 5, 24, 3), (7, 1, 3, 5, 2), (1, 3, 2, 1, 1), (5, 9, 4, 40, 1)],
                         ids=["timegan-like", "batch-1", "one-step-h1", "h40"])
def test_cpp_loops_equal_python_loops_bit_for_bit(loops, monkeypatch, dtype, shape):
    """(T, B, I, H, layers); every needs_input_grad subset of the first layer's inputs (the rest all need grads)."""
    T, B, I, H, layers = shape
    generator = torch.Generator().manual_seed(T * 1000 + B)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(T + B)
        net = TF1GRU(I, H, layers).to(dtype)
    x = torch.randn(T, B, I, generator=generator, dtype=dtype, requires_grad=True)
    grad = torch.randn(T, B, H, generator=generator, dtype=dtype)
    first = list(net.layers[0].parameters())
    rest = [p for layer in net.layers[1:] for p in layer.parameters()]
    for wrt in ([x], first, [x, *first], first[0:1], first[1:2], first[2:4], first[3:4]):
        wrt = [*wrt, *rest]
        _assert_equal(_pass(net, x, grad, wrt, "cpp", monkeypatch), _pass(net, x, grad, wrt, "python", monkeypatch))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("fast", [False, True], ids=["aten-loops", "fast-loops"])
def test_both_cpp_loop_versions_equal_python_loops(loops, dtype, fast):
    """The ATen loops and the fast loops, called directly (whichever the first-use check chose)."""
    T, B, H = 6, 33, 24
    generator = torch.Generator().manual_seed(3)

    def rand(*shape):
        return torch.rand(*shape, generator=generator, dtype=dtype) - 0.5

    gates, cand, w_gh, w_ch2 = rand(T, B, 2 * H), rand(T, B, H), rand(H, 2 * H), rand(H, H)
    gate_kernel, cand_kernel = rand(H + 2, 2 * H), rand(H + 2, H)
    grad_out, fac_c, fac_g = rand(T, B, H), rand(T, B, H), rand(T, B, 2 * H)
    minus_one = torch.full((), -1.0, dtype=dtype)
    results = []
    for run_forward, run_backward in ((gru._forward_steps, gru._backward_steps),
                                      (lambda *a: loops.ops.forward_steps(*a, fast),
                                       lambda *a: loops.ops.backward_steps(*a, fast))):
        g, c = gates.clone(), cand.clone()
        r_h, out, d_gates, d_cand = (torch.empty(T, B, n, dtype=dtype) for n in (H, H, 2 * H, H))
        run_forward(g, c, w_gh, w_ch2, r_h, out, minus_one)
        run_backward(grad_out, fac_c, fac_g, g, cand_kernel[2:].t(), gate_kernel[2:].t(), d_gates, d_cand)
        results.append((g, c, r_h, out, d_gates, d_cand))
    _assert_equal(*results)


def test_fast_loops_pass_their_check_here(loops):
    """On this machine (x86 with the PyPI wheel's MKL) the fast loops are used, and lerp/addcmul match ATen's
    kernels without falling back to them."""
    assert loops.fast
    assert "aten" not in loops.arithmetic_modes().values(), loops.arithmetic_modes()


def test_timegan_training_steps_equal(loops, monkeypatch):
    """Pretraining and joint steps of a small TimeGAN leave bit-identical parameters under both kernels."""
    from tsbench.baselines.timegan import TimeGAN, Trainer

    X = np.random.default_rng(0).random((64, 12, 3), dtype=np.float32)
    final = {}
    for kernel in ("python", "cpp"):
        monkeypatch.setenv(KERNEL_ENV, kernel)
        model = TimeGAN(hidden_dim=8, num_layers=2, batch_size=16, iterations=1).fit(X, seed=0)
        trainer = Trainer(model, torch.as_tensor(X), torch.Generator().manual_seed(1))
        for _ in range(2):
            trainer.embedding_step()
            trainer.supervised_step()
            trainer.joint_step()
        final[kernel] = [p.detach().clone() for net in (trainer.E, trainer.R, trainer.G, trainer.S, trainer.D)
                         for p in net.parameters()]
    _assert_equal(final["cpp"], final["python"])


def test_non_default_matmul_precision_keeps_numbers(loops, monkeypatch):
    """At float32 matmul precision "medium" ATen may use oneDNN: the fast loops are not used, numbers still equal."""
    torch.manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        net = TF1GRU(3, 8, 2)
        x = torch.randn(5, 4, 3, requires_grad=True)
    grad = torch.ones(5, 4, 8)
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("medium")
    try:
        assert not _gru_cpp._blas_is_aten_path()
        wrt = [x, *net.parameters()]
        _assert_equal(_pass(net, x, grad, wrt, "cpp", monkeypatch), _pass(net, x, grad, wrt, "python", monkeypatch))
    finally:
        torch.set_float32_matmul_precision(previous)


# selection and fallback (no build needed) -------------------------------------------------------------------
@pytest.fixture
def unbuildable(monkeypatch):
    """The extension as on a machine where its build failed."""
    monkeypatch.setattr(_gru_cpp, "_loops", None)
    monkeypatch.setattr(_gru_cpp, "_error", OSError("c++: command not found"))
    monkeypatch.setattr(_gru_cpp, "_warned", False)


def test_auto_falls_back_to_python_with_one_warning(unbuildable, monkeypatch):
    torch.manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        net = TF1GRU(3, 4, 2)
        x = torch.randn(4, 2, 3, requires_grad=True)
    grad, wrt = torch.ones(4, 2, 4), [x, *net.parameters()]
    with pytest.warns(RuntimeWarning, match="could not be built: c\\+\\+: command not found.*Python loops") as caught:
        fallback = _pass(net, x, grad, wrt, "auto", monkeypatch)
        _pass(net, x, grad, wrt, "auto", monkeypatch)
    assert len([w for w in caught if issubclass(w.category, RuntimeWarning)]) == 1
    _assert_equal(fallback, _pass(net, x, grad, wrt, "python", monkeypatch))


def test_cpp_requested_but_unbuildable_is_an_error(unbuildable, monkeypatch):
    monkeypatch.setenv(KERNEL_ENV, "cpp")
    with pytest.raises(RuntimeError, match="TSBENCH_GRU_KERNEL=cpp, but .*pip install ninja"):
        TF1GRU(2, 3, 1)(torch.zeros(2, 1, 2))


def test_python_and_other_devices_build_nothing(unbuildable, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monkeypatch.setenv(KERNEL_ENV, "python")
        assert gru._cpp_loops(torch.device("cpu")) is None
        monkeypatch.setenv(KERNEL_ENV, "auto")
        assert gru._cpp_loops(torch.device("meta")) is None  # auto: the Python loops off the CPU


def test_unknown_kernel_name_is_an_error(monkeypatch):
    monkeypatch.setenv(KERNEL_ENV, "cuda-graphs")
    with pytest.raises(ValueError, match="must be 'auto', 'cpp' or 'python', got 'cuda-graphs'"):
        TF1GRU(2, 3, 1)(torch.zeros(2, 1, 2))


def test_a_stale_build_lock_is_removed_and_a_fresh_one_kept(tmp_path):
    """A process killed while building leaves torch's lock file behind; torch would wait on it for ever."""
    import os
    import time

    from tsbench.nn._gru_cpp import STALE_LOCK_S, clear_stale_lock

    lock = tmp_path / "lock"
    lock.touch()
    assert not clear_stale_lock(tmp_path) and lock.exists()  # a build in progress elsewhere
    old = time.time() - STALE_LOCK_S - 5
    os.utime(lock, (old, old))
    with pytest.warns(RuntimeWarning, match="stale build lock"):
        assert clear_stale_lock(tmp_path)
    assert not lock.exists()
    assert not clear_stale_lock(tmp_path)  # nothing to remove
