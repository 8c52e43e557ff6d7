"""Explicit, name-derived seeds. tsbench never touches global RNG state.

Seeds are derived from a hash of their parts, so they do not depend on the order in which cells run.
"""
from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(*parts: object) -> int:
    """A 31-bit seed from a stable hash of ``parts`` (order matters)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def rng(seed: int, *parts: object) -> np.random.Generator:
    """A NumPy generator for ``seed`` (optionally sub-seeded by ``parts``)."""
    return np.random.default_rng(derive_seed(seed, *parts) if parts else seed)

