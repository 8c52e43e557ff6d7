"""Sines: independent sine channels, generated exactly as in the TimeGAN reference code.

Yoon, Jarrett, van der Schaar, "Time-series Generative Adversarial Networks", NeurIPS 2019,
``data_loading.sine_data_generation``: per window and feature ``freq, phase ~ U(0, 0.1)``,
``x_j = sin(freq * j + phase)`` for ``j = 0 .. seq_len - 1``, then ``(x + 1) / 2``.

>>> Sines(n_samples=4).windows(seed=0).shape
(4, 24, 5)
"""
from __future__ import annotations

import numpy as np

from ..card import Card
from ..dataset import Dataset
from ..validation import check_positive_int


def sine_windows(n_samples: int, seq_len: int = 24, n_features: int = 5, seed: int = 0) -> np.ndarray:
    """float32 ``(n_samples, seq_len, n_features)`` in [0, 1]; the same ``seed`` gives the same windows.

    The draws are made in the reference loop's order (per window, per feature: ``freq`` then ``phase``), so
    this equals that loop run with ``np.random.default_rng(seed)``.
    """
    draws = np.random.default_rng(seed).uniform(0.0, 0.1, size=(n_samples, n_features, 2))
    freq, phase = draws[..., 0], draws[..., 1]  # (n, F)
    steps = np.arange(seq_len, dtype=np.float64)[None, :, None]
    values = np.sin(freq[:, None, :] * steps + phase[:, None, :])
    return ((values + 1.0) * 0.5).astype(np.float32)


class Sines(Dataset):
    """``n_samples`` windows of ``n_features`` independent sines, ``seq_len`` steps each (TimeGAN).

    Parameters
    ----------
    n_samples : int, default 10000 (the paper's size)
    seq_len : int, default 24
    n_features : int, default 5

    Windows are independent, so the ``tsbench`` protocol splits them at random (80/20). The data is drawn
    from ``seed`` (each training seed sees its own sample of the distribution).
    Presets: ``smoke`` 300 windows (seconds), ``quick`` 2000 windows (keeps metric costs small on a CPU;
    the distribution is unchanged), ``paper`` 10000.
    """

    name = "sines"
    version = "1"
    presets = {"smoke": {"n_samples": 300}, "quick": {"n_samples": 2000}, "paper": {"n_samples": 10000}}
    card = Card(
        title="Sines (TimeGAN synthetic sine data)",
        authors="Yoon, Jarrett, van der Schaar", year=2019, venue="NeurIPS", citation_key="yoon2019",
        url="https://github.com/jsyoon0823/TimeGAN",
        faithful=("freq, phase ~ U(0, 0.1) per window and feature, sin(freq*j + phase), (x + 1)/2 — the "
                  "reference code's ranges (the paper's text says freq ~ U[0,1], phase ~ U[-pi,pi]; the "
                  "author confirmed the code's ranges produced the published results)",
                  "10000 windows x 24 steps x 5 features by default"),
        adapted=("seeded with np.random.default_rng(seed) instead of the unseeded global RNG",
                 "smoke/quick presets use fewer windows (300/2000) to keep CPU runs short"),
        licence="generated data (no licence needed)",
    )

    def __init__(self, n_samples: int = 10000, seq_len: int = 24, n_features: int = 5):
        self.n_samples = n_samples
        self.seq_len = seq_len
        self.n_features = n_features

    def windows(self, seed: int) -> np.ndarray:
        return sine_windows(check_positive_int(self.n_samples, what="n_samples"),
                            check_positive_int(self.seq_len, what="seq_len"),
                            check_positive_int(self.n_features, what="n_features"), int(seed))

    def feature_names(self) -> list[str]:
        return [f"sine_{k}" for k in range(int(self.n_features))]
