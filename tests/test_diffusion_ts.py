"""Diffusion-TS (Yuan & Qiao 2024): the cosine schedule, the Fourier loss, the trend and season blocks' arithmetic,
the reference solver's schedules, samplers, determinism and resuming from a mid-fit checkpoint."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tsbench.baselines.diffusion_ts import (EMA_AFTER, REFERENCE_CONFIGS, DiffusionTS, Schedule, SeasonBlock,
                                           TrendBlock, cosine_beta_schedule, fourier_loss, sampling_times)
from tsbench.errors import InputError
from tsbench.generator import TrainingCheckpoint

SMOKE = DiffusionTS.presets["smoke"]
X = np.random.default_rng(0).random((48, 10, 2), dtype=np.float32)


def test_cosine_schedule_is_the_formula():
    T, s = 50, 0.008
    f = [math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2 for t in range(T + 1)]
    alpha_bar = [v / f[0] for v in f]
    expected = [min(1 - alpha_bar[t] / alpha_bar[t - 1], 0.999) for t in range(1, T + 1)]
    betas = cosine_beta_schedule(T)
    assert betas.dtype == torch.float64 and betas.shape == (T,)
    np.testing.assert_allclose(betas.numpy(), expected, rtol=1e-12)
    assert betas[-1] == pytest.approx(0.999)  # ᾱ(T) = 0: the last β is clipped
    # the product of the unclipped (1 − β) telescopes back to ᾱ
    np.testing.assert_allclose(torch.cumprod(1 - betas, 0)[:-1].numpy(), alpha_bar[1:-1], rtol=1e-10)
    schedule = Schedule(T)
    t = torch.tensor([0, 7, T - 1])
    x0, noise = torch.ones(3, 4, 2), torch.full((3, 4, 2), 2.0)
    a = torch.cumprod(1 - betas, 0)[t].float()  # ᾱ_t of the clipped β (the last one is not ᾱ(T) = 0)
    assert torch.allclose(a[:2].double(), torch.tensor([alpha_bar[1], alpha_bar[8]], dtype=torch.float64))
    assert torch.allclose(schedule.q_sample(x0, t, noise)[:, 0, 0], a.sqrt() + 2 * (1 - a).sqrt(), atol=1e-6)
    x_t = schedule.q_sample(x0, t, noise)
    assert torch.allclose(schedule.noise_from_x0(x_t[:2], t[:2], x0[:2]), noise[:2], atol=1e-4)


def test_fourier_loss_is_the_hand_computed_dft_error():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 3))
    T = 6
    n = np.arange(T)
    dft = np.exp(-2j * np.pi * np.outer(n, n) / T) / T  # norm="forward": divided by T
    A, B = np.einsum("kn,bnd->bkd", dft, a), np.einsum("kn,bnd->bkd", dft, b)
    l1 = np.abs(A.real - B.real) + np.abs(A.imag - B.imag)
    l2 = (A.real - B.real) ** 2 + (A.imag - B.imag) ** 2
    ta, tb = torch.as_tensor(a), torch.as_tensor(b)
    np.testing.assert_allclose(fourier_loss(ta, tb, "l1").numpy(), l1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fourier_loss(ta, tb, "l2").numpy(), l2, rtol=1e-10, atol=1e-12)
    with pytest.raises(InputError, match="loss_type"):
        fourier_loss(ta, tb, "huber")


def test_training_loss_is_the_reference_weighted_sum():
    model = DiffusionTS(**{**SMOKE, "train_steps": 1}).fit(X, seed=0)
    g = torch.Generator().manual_seed(3)
    x0 = torch.as_tensor(X[:5]) * 2 - 1
    t = torch.randint(0, 20, (5,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    schedule = model.nets_["schedule"]
    with torch.no_grad():
        x_hat = model.nets_["model"](schedule.q_sample(x0, t, noise), t)
        loss = model.loss(x0, t, noise)
    lam = math.sqrt(10) / 5
    betas = cosine_beta_schedule(20)
    alpha_bar = torch.cumprod(1 - betas, 0)
    weight = ((1 - betas).sqrt() * (1 - alpha_bar).sqrt() / betas / 100).float()[t]
    per_window = ((x_hat - x0).abs() + lam * fourier_loss(x_hat, x0)).mean((1, 2))
    assert float(loss) == pytest.approx(float((per_window * weight).mean()), rel=1e-5)


def test_season_block_keeps_the_top_frequencies_scaled_by_the_length():
    T, d = 24, 3
    block = SeasonBlock(T)
    assert block.n_freqs == 11 and block.k == int(math.log(11)) == 2  # without the mean and the Nyquist term
    tau = torch.arange(T, dtype=torch.float32)
    pure = 0.7 * torch.cos(2 * math.pi * 3 * tau / T + 0.4)
    x = pure[None, :, None].repeat(1, 1, d)
    assert torch.allclose(block(x), T * x, atol=1e-4)  # one frequency: kept, amplitude × T
    # any input: T × the inverse DFT of the k largest non-mean, non-Nyquist terms, per channel
    x = torch.randn(4, T, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    spectrum = np.fft.rfft(x.numpy(), axis=1)
    kept = np.zeros_like(spectrum)
    for b in range(4):
        for c in range(d):
            amp = np.abs(spectrum[b, 1:12, c])
            for f in np.argsort(-amp)[:2] + 1:
                kept[b, f, c] = spectrum[b, f, c]
    expected = T * np.fft.irfft(kept, n=T, axis=1)
    np.testing.assert_allclose(block(x.float()).numpy(), expected, rtol=1e-4, atol=1e-3)
    assert SeasonBlock(25).n_freqs == 12 and SeasonBlock(64).k == int(math.log(31))
    assert torch.equal(SeasonBlock(2)(torch.ones(1, 2, 3)), torch.zeros(1, 2, 3))  # no frequency to keep


def test_trend_block_is_a_cubic_polynomial_in_time():
    T = 12
    block = TrendBlock(T, 8, 2)
    tau = torch.arange(1, T + 1) / (T + 1)
    assert torch.allclose(block.basis, torch.stack([tau, tau ** 2, tau ** 3]))
    h = torch.randn(5, T, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        coefficients = block.coefficients(h)  # (B, D, 3)
        trend = block(h)
    assert coefficients.shape == (5, 2, 3) and trend.shape == (5, T, 2)
    expected = sum(coefficients[:, :, p, None] * tau ** (p + 1) for p in range(3)).transpose(1, 2)
    assert torch.allclose(trend, expected, atol=1e-5)


def test_denoiser_shapes_and_parts_sum_to_the_prediction():
    model = DiffusionTS(**SMOKE)
    nets = model._build(24, 5)
    x, t = torch.randn(3, 24, 5), torch.tensor([0, 5, 19])
    with torch.no_grad():
        trend, season, residual = nets["model"].components(x, t)
        out = nets["model"](x, t)
    assert out.shape == trend.shape == season.shape == residual.shape == (3, 24, 5)
    assert torch.allclose(trend + season + residual, out, atol=1e-6)
    assert torch.allclose(residual.mean(1), torch.zeros(3, 5), atol=1e-6)  # the residual has no level
    assert not any(p.requires_grad for p in nets["ema"].parameters())
    reference = DiffusionTS()._build(24, 5)["model"]
    assert len(reference.encoder) == 1 and len(reference.decoder) == 2 and reference.embed.out_channels == 64


def test_warmup_plateau_and_ema_follow_the_reference_solver():
    model = DiffusionTS()
    assert model.warmup_rate(1) == pytest.approx(1e-5) and model.warmup_rate(501) == pytest.approx(8e-4)
    assert model.warmup_rate(251) == pytest.approx(1e-5 + 250 * (8e-4 - 1e-5) / 500) and model.warmup_rate(502) is None
    # ema-pytorch: update() calls 0, 10, 20, … act; up to call 100 they copy, then decay 1 − (1 + k)^(−2/3)
    assert model.ema_rate(1) == 0.0 and model.ema_rate(2) is None and model.ema_rate(EMA_AFTER + 1) == 0.0
    assert model.ema_rate(111) == pytest.approx(1 - 11 ** (-2 / 3)) and model.ema_rate(100001) == 0.995
    # the plateau: halve after more than `lr_patience` updates without a 10 % improvement
    small = DiffusionTS(lr_patience=2)
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=8e-4)
    plateau = torch.tensor([math.inf, 0.0, 0.0], dtype=torch.float64)
    for loss in (1.0, 0.95, 0.95, 0.95):  # 0.95 is not 10 % better than 1.0
        small._plateau_update(plateau, torch.tensor(loss))
    assert plateau.tolist() == [1.0, 0.0, 1.0]
    small._apply_halvings(optimizer, plateau)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(4e-4) and plateau[2] == 0
    small._plateau_update(plateau, torch.tensor(0.5))
    assert plateau.tolist() == [0.5, 0.0, 0.0]


def test_fast_sampler_steps_are_the_reference_linspace():
    assert sampling_times(10, 5) == [9, 7, 5, 3, 1, -1]
    assert sampling_times(500, 500) == list(range(499, -2, -1))
    assert sampling_times(100, 25)[:3] == [99, 95, 91] and len(sampling_times(100, 25)) == 26
    with pytest.raises(InputError, match="sampling_timesteps"):
        DiffusionTS(timesteps=10, sampling_timesteps=11).fit(X, seed=0)


@pytest.mark.parametrize("sampling", [None, 5], ids=["ddpm", "ddim"])
def test_same_seed_same_samples(sampling):
    a = DiffusionTS(**{**SMOKE, "sampling_timesteps": sampling}).fit(X, seed=4)
    b = DiffusionTS(**{**SMOKE, "sampling_timesteps": sampling}).fit(X, seed=4)
    s = a.sample(6, seed=1)
    assert s.shape == (6, 10, 2) and s.dtype == np.float32
    np.testing.assert_array_equal(s, b.sample(6, seed=1))
    assert not np.array_equal(s, a.sample(6, seed=2))
    assert a.history_ == b.history_


def test_long_windows_fit_and_sample():
    X64 = np.random.default_rng(1).random((24, 64, 3), dtype=np.float32)
    model = DiffusionTS(**{**SMOKE, "train_steps": 3}).fit(X64, seed=0)
    samples = model.sample(4, seed=0)
    assert samples.shape == (4, 64, 3) and np.isfinite(samples).all()


def test_reference_configs_and_the_paper_preset():
    assert DiffusionTS.presets["paper"] == {}
    defaults = DiffusionTS().get_params()
    assert all(defaults[k] == v for k, v in REFERENCE_CONFIGS["sines"].items())
    assert defaults["sampling_timesteps"] is None  # ancestral DDPM over all steps, as Config/sines.yaml
    assert REFERENCE_CONFIGS["energy"]["timesteps"] == 1000 and REFERENCE_CONFIGS["energy"]["d_model"] == 96


class _Stop(Exception):
    pass


def test_resume_from_a_mid_fit_checkpoint_is_bit_identical(tmp_path):
    def make():  # 2 mini-batches per update: epochs (3 batches) end mid-update; warm-up and lr halvings cross step 8
        return DiffusionTS(**{**SMOKE, "grad_accumulation": 2, "train_steps": 14, "lr_patience": 1})

    checkpoint = TrainingCheckpoint(tmp_path / "fit.ckpt", every=4, seconds=None)

    def stop(step, total, losses):
        if step >= 10:
            raise _Stop

    with pytest.raises(_Stop):
        make().fit(X, seed=2, callback=stop, checkpoint=checkpoint)
    resumed = make().fit(X, seed=2, checkpoint=checkpoint)
    reference = make().fit(X, seed=2)
    assert checkpoint.resumed_step == 8
    for seed in (0, 7):
        np.testing.assert_array_equal(resumed.sample(5, seed=seed), reference.sample(5, seed=seed))
    assert resumed.history_ == reference.history_
