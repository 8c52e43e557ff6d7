"""Tiny deterministic toy data for the conformance checks."""
from __future__ import annotations

import numpy as np


def toy_windows(n: int, seq_len: int, n_features: int, *, seed: int) -> np.ndarray:
    """Sine-like windows, float32 ``(n, seq_len, n_features)`` in [0, 1]: each (window, feature) is
    ``sin(f·t + φ)`` with random frequency and phase (as the TimeGAN Sines data), rescaled, plus a little
    noise so no two windows coincide.

    >>> toy_windows(4, 12, 3, seed=0).shape
    (4, 12, 3)
    """
    rng = np.random.default_rng(seed)
    t = np.arange(seq_len, dtype=np.float64)[None, :, None]
    freq = rng.uniform(0.1, 0.6, size=(n, 1, n_features))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1, n_features))
    x = 0.5 + 0.45 * np.sin(freq * t + phase) + 0.02 * rng.standard_normal((n, seq_len, n_features))
    return np.clip(x, 0.0, 1.0).astype(np.float32)
