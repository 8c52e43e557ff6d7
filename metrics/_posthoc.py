"""Shared machinery of the post-hoc GRU metrics (discriminative and predictive score).

Data stay in one float32 tensor ``(N, T, D)``; a batch is a ``(R, B)`` matrix of row indices (one column
set per repeat) gathered into the ensemble layout ``(R, D, T, B)`` of :mod:`tsbench.nn.ensemble`.

Devices: the data, the ensemble and the batch indices live on the metric's device (``device``: ``auto`` is the
cell's, see :mod:`tsbench.metric`). Initial weights and batches are drawn on the CPU by the repeats' own generators,
so every device trains from the same start on the same batches; the indices of :data:`PREFETCH_STEPS` steps go
to the device at once (pinned, asynchronous), and nothing inside a training step reads a value back to the host.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from tsbench.memory import retain_freed_memory
from tsbench.metric import Metric, float32_exact, resolve_device
from tsbench.nn.ensemble import CELLS, EnsembleGRU
from tsbench.nn.optim import adam
from tsbench.params import POSITIVE
from tsbench.seeding import derive_seed

EVAL_CHUNK = 2048  # windows per repeat evaluated at once (bounds memory on Energy-sized data)
PREFETCH_STEPS = 250  # training steps whose batch indices are drawn and sent to the device at once


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run with ``n`` torch intra-op threads (restored afterwards; ``None`` leaves the setting alone).

    The post-hoc scores default to one thread: the runner's and ``evaluate``'s workers get one core each, and
    these GRUs are a long chain of small operations that a second thread does not reliably speed up
    (``tests/benchmarks/test_bench_posthoc.py::test_training_steps`` times one step on 1 and 2 threads)."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def gather(X: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows ``index (R, B)`` of ``X (N, T, D)`` in the ensemble layout ``(R, D, T, B)``."""
    R, B = index.shape
    rows = X.index_select(0, index.reshape(-1))  # faster than advanced indexing for whole rows
    return rows.view(R, B, *X.shape[1:]).permute(0, 3, 2, 1).contiguous()


def repeat_seeds(seed: int, what: str, repeats: int) -> list[int]:
    """One independent seed per repeat, derived from the cell seed (order-free)."""
    return [derive_seed(seed, what, r) for r in range(repeats)]


def repeat_rngs(seed: int, what: str, repeats: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in repeat_seeds(seed, what, repeats)]


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` (on the CPU) on ``device``; to CUDA through pinned memory without blocking the host (a plain copy
    from pageable memory would synchronise the stream)."""
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def train(net: EnsembleGRU, step_loss, draw_steps, iterations: int, lr: float = 1e-3) -> EnsembleGRU:
    """``iterations`` Adam steps on the summed per-repeat losses ``step_loss(net, rows)`` (a ``(R,)`` tensor) of
    the batch ``rows (R, B)``; every repeat's parameters see only their own loss. ``draw_steps(n)`` returns the
    rows of the next ``n`` steps, ``(n, R, B)`` on the CPU; they reach the ensemble's device
    :data:`PREFETCH_STEPS` steps at a time. The only read-back is the finiteness check after the last step."""
    device = net.device
    if device.type == "cpu":
        retain_freed_memory()  # a step frees and re-allocates MBs of buffers: keep them instead of re-faulting
    opt = adam(net.parameters(), lr=lr)
    done = 0
    while done < iterations:
        n = min(PREFETCH_STEPS, iterations - done)
        for rows in to_device(draw_steps(n), device).unbind(0):
            opt.zero_grad(set_to_none=True)
            step_loss(net, rows).sum().backward()
            opt.step()
        done += n
    check_finite(net)
    return net


def check_finite(net: EnsembleGRU) -> None:
    """Raise :class:`~tsbench.errors.CellFailure` when a weight is not finite (one read-back, after training)."""
    if not bool(torch.stack([torch.isfinite(p).all() for p in net.parameters()]).all()):
        from tsbench.errors import CellFailure

        raise CellFailure("post-hoc GRU training diverged (non-finite weights)")


def evaluate(fn, index: torch.Tensor, device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """Apply ``fn(columns)`` to column chunks of ``index (R, n)`` under ``no_grad``; concatenates along
    the last axis; ``index`` is moved to ``device`` first and the result comes back to the CPU."""
    index = to_device(index, device)
    with torch.no_grad():
        out = torch.cat([fn(index[:, i:i + EVAL_CHUNK]) for i in range(0, index.shape[1], EVAL_CHUNK)], dim=-1)
    return out.cpu()


__all__ = ["PosthocScore", "gather", "repeat_seeds", "repeat_rngs", "train", "evaluate", "torch_threads", "to_device",
           "check_finite", "computing_on"]


@contextlib.contextmanager
def computing_on(metric: "PosthocScore"):
    """Resolve ``metric.device`` and compute under its thread setting (and TF32 off on CUDA); yields the device."""
    device = resolve_device(metric.device)
    with torch_threads(metric.threads), float32_exact(device):
        yield device


class PosthocScore(Metric):
    """Parameters shared by the post-hoc GRU scores (discriminative, predictive); see their docstrings."""

    parameter_constraints = {"repeats": POSITIVE, "iterations": POSITIVE, "hidden": POSITIVE, "batch_size": POSITIVE,
                             "cell": ("tf1", "torch"), "threads": POSITIVE}

    def __init__(self, protocol: str = "tsbench", repeats: int | None = None, iterations: int | None = None,
                 hidden: int | None = None, batch_size: int = 128, cell: str = "tf1", threads: int = 1,
                 device: str = "auto"):
        self.protocol = protocol
        self.repeats = repeats
        self.iterations = iterations
        self.hidden = hidden
        self.batch_size = batch_size
        self.cell = cell
        self.threads = threads
        self.device = device

    def _check_params(self) -> None:
        """Positive integers where set and a known GRU cell (a bad value fails with a one-line error)."""
        from tsbench.errors import InputError
        from tsbench.validation import check_positive_int

        for name in ("repeats", "iterations", "hidden", "batch_size"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), what=f"{self.name} {name}")
        if self.cell not in CELLS:
            raise InputError(f"{self.name} cell", expected=" or ".join(map(repr, CELLS)), got=repr(self.cell),
                             fix="pass cell='tf1' (the reference's TensorFlow 1 GRUCell) or cell='torch'")
