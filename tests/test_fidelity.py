"""Fidelity of the timegan2019 protocol against the TimeGAN paper's "Original" row (slow; Stocks and Energy need
the real data under ../shared/data or $TSBENCH_SHARED_DATA: skipped without it, failed under CI=true):

* predictive score of the real data itself: Sines .094, Stocks .036, Energy .250 (± .003);
* discriminative score real vs real at the noise floor (< .03), real vs uniform noise ≥ .45.

    python -m pytest tests/test_fidelity.py -m slow -k sines
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsbench.metrics.discriminative import DiscriminativeScore
from tsbench.metrics.predictive import PredictiveScore

PUBLISHED_PS = {"sines": 0.094, "stocks": 0.036, "energy": 0.250}
FILES = {"stocks": "stock_data.csv", "energy": "energy_data.csv"}


@pytest.fixture
def windows(require_shared_data):
    """``windows(name)``: :func:`timegan_windows` with the shared data folder (required for Stocks, Energy)."""
    return lambda name: timegan_windows(name, require_shared_data(FILES[name]) if name in FILES else None)


def timegan_windows(name: str, data: Path | None, seq_len: int = 24) -> np.ndarray:
    """The reference loader: Sines generated (10000 × 24 × 5); CSVs (in ``data``) reversed, min–max (+1e-7),
    windows of 24 (``len − 24`` of them), shuffled."""
    rng = np.random.default_rng(0)
    if name == "sines":
        freq, phase = rng.uniform(0, 0.1, (10000, 1, 5)), rng.uniform(0, 0.1, (10000, 1, 5))
        return ((np.sin(freq * np.arange(seq_len)[None, :, None] + phase) + 1) / 2).astype(np.float32)
    raw = np.loadtxt(data / FILES[name], delimiter=",", skiprows=1)[::-1]
    raw = (raw - raw.min(0)) / (raw.max(0) - raw.min(0) + 1e-7)
    windows = np.stack([raw[i:i + seq_len] for i in range(len(raw) - seq_len)])
    return windows[rng.permutation(len(windows))].astype(np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sines", "stocks", "energy"])
def test_predictive_score_of_real_data_matches_paper(windows, name):
    real = windows(name)
    scores = PredictiveScore(protocol="timegan2019").compute(real, real, real, seed=0)["value"]
    print(f"PS real {name}: {np.mean(scores):.4f} ± {np.std(scores):.4f} (n={len(scores)})")
    assert abs(np.mean(scores) - PUBLISHED_PS[name]) <= 0.003


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sines", "stocks", "energy"])
def test_discriminative_noise_floor_and_noise(windows, name):
    real = windows(name)
    half = len(real) // 2
    same = DiscriminativeScore(protocol="timegan2019").compute(real[:half], real[:half], real[half:2 * half],
                                                               seed=0)["value"]
    noise = np.random.default_rng(1).random(real.shape, dtype=np.float32)
    far = DiscriminativeScore(protocol="timegan2019").compute(real, real, noise, seed=0)["value"]
    print(f"DS {name}: real vs real {np.mean(same):.4f} ± {np.std(same):.4f}; "
          f"real vs noise {np.mean(far):.4f} ± {np.std(far):.4f}")
    assert np.mean(same) < 0.03
    assert np.mean(far) >= 0.45
