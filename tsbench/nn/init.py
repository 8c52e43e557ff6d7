"""Initialisers drawn from an explicit ``torch.Generator`` (no global RNG state).

Both are symmetric uniforms drawn as ``(2·U(0, 1) − 1)·bound``: Glorot-uniform (TensorFlow's default kernel
initialiser, ``bound = √(6 / (fan_in + fan_out))``) and ``torch.nn.GRU`` / ``torch.nn.Linear``'s
``U(−1/√H, 1/√H)``.
"""
from __future__ import annotations

import math

import torch


def glorot_limit(fan_in: int, fan_out: int) -> float:
    """The Glorot-uniform bound ``√(6 / (fan_in + fan_out))``."""
    return math.sqrt(6.0 / (fan_in + fan_out))


def torch_gru_bound(hidden: int) -> float:
    """``torch.nn.GRU``'s bound ``1/√H`` (every weight and bias is ``U(−1/√H, 1/√H)``)."""
    return 1.0 / math.sqrt(hidden)


def symmetric_uniform(shape, bound: float, generator: torch.Generator) -> torch.Tensor:
    """``U(−bound, bound)`` of ``shape``, drawn as ``(2·U(0, 1) − 1)·bound`` from ``generator``."""
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def glorot_uniform(shape: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """A Glorot-uniform ``(fan_in, fan_out)`` kernel drawn from ``generator``."""
    fan_in, fan_out = shape
    return symmetric_uniform(shape, glorot_limit(fan_in, fan_out), generator)


__all__ = ["glorot_limit", "glorot_uniform", "symmetric_uniform", "torch_gru_bound"]
