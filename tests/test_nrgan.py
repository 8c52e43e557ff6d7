"""Tests of the NR-GAN generator: shapes, determinism, checkpoints, non-finite losses, parameters."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsbench.baselines.nrgan import NRGAN
from tsbench.errors import CellFailure, InputError, NotFittedError

SMOKE = {**NRGAN.presets["smoke"], "iterations": 12}


def sines(n, seq_len=24, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    freq, phase = rng.uniform(0, 0.1, (2, n, 1, n_features))
    return ((np.sin(freq * np.arange(seq_len)[None, :, None] + phase) + 1) / 2).astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    return NRGAN(**SMOKE).fit(sines(64), seed=0)


def test_presets_and_card():
    assert set(NRGAN.presets) == {"smoke", "quick", "paper"}
    for preset in NRGAN.presets.values():
        assert set(preset) <= set(NRGAN._get_param_names())
    assert NRGAN.card.problems() == [] and NRGAN.card.adapted and NRGAN.card.faithful
    params = NRGAN().get_params()
    assert params["device"] == "cpu" and params["amp"] is False


def test_sample_shape_range_and_seed(fitted):
    a, b = fitted.sample(7, seed=3), fitted.sample(7, seed=3)
    assert a.shape == (7, 24, 3) and a.dtype == np.float32
    assert np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fitted.sample(7, seed=4))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        NRGAN(**SMOKE).sample(2, seed=0)


def test_same_seed_same_fit_and_history():
    X = sines(48, n_features=2)
    a = NRGAN(**SMOKE).fit(X, seed=5)
    b = NRGAN(**SMOKE).fit(X, seed=5)
    np.testing.assert_array_equal(a.sample(5, seed=1), b.sample(5, seed=1))
    assert a.history_ == b.history_ and a.history_
    c = NRGAN(**SMOKE).fit(X, seed=6)
    assert not np.array_equal(a.sample(5, seed=1), c.sample(5, seed=1))


def test_no_global_rng_use():
    state = torch.random.get_rng_state()
    NRGAN(**SMOKE).fit(sines(32), seed=0).sample(3, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())


def test_checkpoint_round_trip(fitted, tmp_path):
    path = tmp_path / "model.pt"
    fitted.save(path)
    loaded = NRGAN(**SMOKE).load(path)
    np.testing.assert_array_equal(fitted.sample(9, seed=2), loaded.sample(9, seed=2))


def test_progress_callback_and_log():
    calls = []
    model = NRGAN(**SMOKE).fit(sines(32), seed=0, callback=lambda s, t, l: calls.append((s, t, l)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert all(np.isfinite(v) for _, _, losses in calls for v in losses.values())
    assert model.history_[-1]["step"] == calls[-1][0]


def test_non_finite_loss_fails_the_cell():
    class Broken(NRGAN):
        def _build(self, seq_len, n_features):
            nets = super()._build(seq_len, n_features)
            with torch.no_grad():
                for p in nets["generator"].parameters():
                    p.fill_(float("nan"))
            return nets

    with pytest.raises(CellFailure, match="non-finite"):
        Broken(**SMOKE).fit(sines(32), seed=0)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="3-D"):
        NRGAN(**SMOKE).fit(np.zeros((10, 24), np.float32), seed=0)


def test_spectrum_round_trip_reproduces_windows():
    from tsbench.baselines.nrgan import _Spectrum

    for seq_len in (24, 25):  # even and odd lengths (the Nyquist bin exists only for even ones)
        X = torch.as_tensor(sines(50, seq_len=seq_len, n_features=2))
        spectrum = _Spectrum(seq_len, 2)
        spectrum.fit(X)
        encoded = spectrum.encode(X)
        assert encoded.shape == (50, 4, seq_len // 2 + 1)
        torch.testing.assert_close(spectrum.decode(encoded), X, atol=1e-6, rtol=0)


def test_generator_starts_with_spread_outputs():
    """Variance-preserving init: untrained samples vary across seeds about as much as the data do."""
    X = sines(200, n_features=2)
    samples = NRGAN(**{**SMOKE, "iterations": 0}).fit(X, seed=0).sample(200, seed=1)
    ratio = samples.std(axis=0).mean() / X.std(axis=0).mean()
    assert 0.3 < ratio < 3, ratio


def test_paper_preset_keeps_the_papers_alpha():
    assert NRGAN.presets["paper"]["alpha"] == 1e-4 and NRGAN().alpha == 10.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_denoise_reduces_added_noise(seed):
    """Original NR-GAN setting: unpaired clean and noisy (clean + N(0, σ²)) Sines windows; the denoised
    windows are closer to the clean ones than the noisy input (measured, seeds 0–2: MSE 0.0015–0.0016 vs
    0.0099; with the paper's α = 1e-4 instead: 0.0054–0.028, i.e. mostly worse than the input)."""
    X, clean = sines(500, n_features=2, seed=seed), sines(300, n_features=2, seed=seed + 1000)
    noisy = clean + 0.1 * np.random.default_rng(seed).standard_normal(clean.shape).astype(np.float32)
    model = NRGAN(mode="denoise", iterations=300, hidden=16, noise_std=0.1).fit(X, seed=seed)
    denoised = model.denoise(noisy)
    assert denoised.shape == noisy.shape and denoised.dtype == np.float32
    before, after = ((noisy - clean) ** 2).mean(), ((denoised - clean) ** 2).mean()
    assert after < 0.5 * before, f"MSE noisy {before:.5f}, denoised {after:.5f}"


def test_denoise_errors():
    with pytest.raises(InputError, match="denoise"):
        NRGAN(**SMOKE).fit(sines(32), seed=0).denoise(sines(4))
    model = NRGAN(**SMOKE, mode="denoise").fit(sines(32), seed=0)
    with pytest.raises(InputError, match="shape"):
        model.denoise(sines(4, seq_len=12))
    with pytest.raises(InputError, match="mode='generate'"):
        model.sample(2, seed=0)
