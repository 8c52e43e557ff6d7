"""Diffusion-TS — Yuan & Qiao, "Diffusion-TS: Interpretable Diffusion for General Time Series Generation",
ICLR 2024 (arXiv 2403.01742).

A DDPM whose denoiser is a transformer encoder–decoder that predicts the clean window ``x̂₀`` directly, and whose
decoder splits its output into interpretable parts (data ``(T, D)``, model width ``d = d_model``):

* embedding: Conv1d(D → d, kernel 3) over time, plus a learnable positional encoding (one for the encoder, one for
  the decoder); the diffusion step ``t`` enters every block through adaptive layer norms (sinusoidal embedding of
  ``t`` → SiLU → Linear → scale and shift of a LayerNorm without affine parameters);
* encoder: ``n_layer_enc`` blocks (self-attention, MLP with ``mlp_hidden_times``·d hidden units, GELU);
* decoder: ``n_layer_dec`` blocks, each self-attention, cross-attention to the encoder, then a 1×1 convolution
  across the time axis splits the state into two halves:
  trend — polynomial regression: a small network gives, per feature, coefficients of the basis
  ``(τ/(T+1))^p``, τ = 1…T, p = 1…3 (:class:`TrendBlock`);
  season — Fourier: per channel the ``⌊ln F⌋`` largest-amplitude frequencies of the DFT (F frequencies without the
  mean and the Nyquist term) are kept and summed back as cosines (:class:`SeasonBlock`);
  and the block's mean over time (a level), removed from the state that goes on;
* output ``x̂₀`` = trend + season + residual: Σ trends + Linear-mixed block levels + mean of the residual, plus
  Conv(Σ seasons) + the residual minus its mean (the residual is the decoder's last state, Conv1d(d → D, kernel 3));
* forward process: DDPM with the cosine schedule (Nichol & Dhariwal 2021): ``ᾱ(t) = f(t)/f(0)``,
  ``f(t) = cos²((t/T + s)/(1 + s)·π/2)``, s = 0.008, ``β_t = min(1 − ᾱ_t/ᾱ_{t−1}, 0.999)``;
* loss (the reference code): per window ``w_t · mean_{τ,d}(|x̂₀ − x₀| + λ(|Re F(x̂₀) − Re F(x₀)| +
  |Im F(x̂₀) − Im F(x₀)|))``, F the DFT over time normalised by 1/T, λ = √T/5, ``w_t = √α_t·√(1−ᾱ_t)/β_t/100``
  (``loss_type="l2"``: squared errors instead);
* training (the reference solver): Adam (β = 0.9, 0.96), gradients of ``grad_accumulation`` mini-batches summed
  and clipped to norm 1, learning rate warmed up linearly from ``lr`` to ``warmup_lr`` over ``warmup_steps``, then
  halved when the loss has not improved by 10 % (relative) for ``lr_patience`` steps (not below 1e-5); an EMA of
  the weights (decay up to ``ema_decay``, updated every ``ema_every`` steps, with ema-pytorch's warm-up) is the
  model that samples;
* sampling: ancestral DDPM over all ``timesteps`` steps (``sampling_timesteps=None``), the clean-window estimate
  clipped to [−1, 1] at every step; with ``sampling_timesteps`` < ``timesteps`` the reference's fast sampler
  (DDIM with ``eta``, default 0: deterministic) over that many evenly spaced steps.

Shapes: windows ``(n, seq_len, n_features)`` in [0, 1], mapped to [−1, 1] for the diffusion (as the reference) and
back; samples are clipped to [0, 1] by the base class.

>>> import numpy as np
>>> X = np.random.default_rng(0).random((40, 8, 2), dtype=np.float32)
>>> DiffusionTS(**DiffusionTS.presets["smoke"]).fit(X, seed=0).sample(3, seed=1).shape
(3, 8, 2)
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.params import NON_NEGATIVE, POSITIVE, PROBABILITY_BELOW_ONE, STRICTLY_POSITIVE

from ._torch import TorchGenerator

#: the reference solver's fixed settings (engine/solver.py and every Config/*.yaml)
ADAM_BETAS = (0.9, 0.96)
GRAD_CLIP = 1.0
LR_PLATEAU = {"factor": 0.5, "threshold": 0.1, "min_lr": 1e-5, "eps": 1e-8}
#: ema-pytorch's defaults the reference relies on: weights copied for the first 100 steps, then the decay warms up
#: as 1 − (1 + k)^(−2/3) towards ``ema_decay`` (k = the 0-based ``update()`` call − 100)
EMA_AFTER, EMA_POWER = 100, 2.0 / 3.0
#: windows sampled per batch (the reference samples in chunks of 2001)
SAMPLE_BATCH = 2048
#: the polynomial degree of the trend block (the reference's ``trend_poly = 3``)
TREND_POLY = 3

#: the reference configurations (Config/{sines,stocks,energy}.yaml) as parameters of this class; the defaults and
#: the ``paper`` preset are the Sines one
REFERENCE_CONFIGS = {
    "sines": {"n_layer_enc": 1, "n_layer_dec": 2, "d_model": 64, "timesteps": 500, "batch_size": 128,
              "train_steps": 12000, "lr_patience": 3000},
    "stocks": {"n_layer_enc": 2, "n_layer_dec": 2, "d_model": 64, "timesteps": 500, "batch_size": 64,
               "train_steps": 10000, "lr_patience": 2000},
    "energy": {"n_layer_enc": 4, "n_layer_dec": 3, "d_model": 96, "timesteps": 1000, "batch_size": 64,
               "train_steps": 25000, "lr_patience": 5000},
}


def cosine_beta_schedule(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """β_1…β_T (float64) of the cosine schedule: ``β_t = min(1 − ᾱ(t)/ᾱ(t−1), 0.999)`` with
    ``ᾱ(t) = f(t)/f(0)``, ``f(t) = cos²((t/T + s)/(1 + s) · π/2)``, t = 0…T."""
    t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((t + s) / (1 + s) * (math.pi / 2)) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(0, 0.999)


def fourier_loss(x_hat: torch.Tensor, x: torch.Tensor, loss_type: str = "l1") -> torch.Tensor:
    """Elementwise frequency-domain error ``(B, T, D)``: the error of the real parts plus that of the imaginary parts
    of the DFTs over time (``norm="forward"``: divided by T); ``loss_type`` "l1" (absolute) or "l2" (squared)."""
    a, b = torch.fft.fft(x_hat, dim=1, norm="forward"), torch.fft.fft(x, dim=1, norm="forward")
    err = _error(loss_type)
    return err(a.real, b.real) + err(a.imag, b.imag)


def _error(loss_type: str):
    if loss_type == "l1":
        return lambda a, b: (a - b).abs()
    if loss_type == "l2":
        return lambda a, b: (a - b).pow(2)
    raise InputError("Diffusion-TS loss_type", expected="'l1' or 'l2'", got=repr(loss_type),
                     fix="pass loss_type=l1 (the reference) or loss_type=l2")


class Schedule(nn.Module):
    """The diffusion constants (float32 buffers computed in float64, not saved: they follow from ``timesteps``)."""

    def __init__(self, timesteps: int):
        super().__init__()
        betas = cosine_beta_schedule(timesteps)
        alphas = 1 - betas
        alpha_bar = torch.cumprod(alphas, 0)
        alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]])
        posterior_variance = betas * (1 - alpha_bar_prev) / (1 - alpha_bar)
        values = {
            "betas": betas, "alpha_bar": alpha_bar,
            "sqrt_alpha_bar": alpha_bar.sqrt(), "sqrt_one_minus_alpha_bar": (1 - alpha_bar).sqrt(),
            "sqrt_recip_alpha_bar": (1 / alpha_bar).sqrt(), "sqrt_recipm1_alpha_bar": (1 / alpha_bar - 1).sqrt(),
            "posterior_log_variance": posterior_variance.clamp(min=1e-20).log(),
            "posterior_coef_x0": betas * alpha_bar_prev.sqrt() / (1 - alpha_bar),
            "posterior_coef_xt": (1 - alpha_bar_prev) * alphas.sqrt() / (1 - alpha_bar),
            "loss_weight": alphas.sqrt() * (1 - alpha_bar).sqrt() / betas / 100,
        }
        for name, value in values.items():
            self.register_buffer(name, value.float(), persistent=False)
        self.timesteps = int(timesteps)

    @staticmethod
    def at(values: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``values[t]`` shaped (B, 1, 1) to broadcast over windows."""
        return values[t][:, None, None]

    def q_sample(self, x0, t, noise):
        """x_t ~ q(x_t | x_0): √ᾱ_t x₀ + √(1−ᾱ_t) ε."""
        return self.at(self.sqrt_alpha_bar, t) * x0 + self.at(self.sqrt_one_minus_alpha_bar, t) * noise

    def noise_from_x0(self, x_t, t, x0):
        """The ε that ``x0`` implies at ``x_t``: (x_t/√ᾱ_t − x₀)/√(1/ᾱ_t − 1)."""
        return (self.at(self.sqrt_recip_alpha_bar, t) * x_t - x0) / self.at(self.sqrt_recipm1_alpha_bar, t)


# the denoiser ------------------------------------------------------------------------------------------
class AdaLayerNorm(nn.Module):
    """LayerNorm (no affine) scaled and shifted by the diffusion step: ``LN(x)·(1 + a) + b``, (a, b) =
    Linear(SiLU(sinusoidal(t)))."""

    def __init__(self, d: int):
        super().__init__()
        half = d // 2
        self.register_buffer("freqs", torch.exp(-math.log(10000) * torch.arange(half) / max(half - 1, 1)),
                             persistent=False)
        self.linear = nn.Linear(2 * half, 2 * d)
        self.norm = nn.LayerNorm(d, elementwise_affine=False)

    def forward(self, x, t):
        angle = t.float()[:, None] * self.freqs[None]
        scale, shift = self.linear(F.silu(torch.cat([angle.sin(), angle.cos()], 1)))[:, None].chunk(2, dim=2)
        return self.norm(x) * (1 + scale) + shift


class Attention(nn.Module):
    """Multi-head attention of ``x`` (B, T, d) over ``context`` (B, S, d) (itself when None)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        if d % heads:
            raise InputError("Diffusion-TS d_model", expected=f"a multiple of n_heads ({heads})", got=str(d),
                             fix="pick d_model and n_heads with d_model % n_heads == 0")
        self.heads = heads
        self.query, self.key, self.value, self.proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, context=None):
        context = x if context is None else context
        B, T, d = x.shape

        def split(h):
            return h.view(B, -1, self.heads, d // self.heads).transpose(1, 2)

        y = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(context)), split(self.value(context)))
        return self.proj(y.transpose(1, 2).reshape(B, T, d))


def _mlp(d: int, times: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d, times * d), nn.GELU(), nn.Linear(times * d, d))


class EncoderBlock(nn.Module):
    def __init__(self, d: int, heads: int, mlp_times: int):
        super().__init__()
        self.norm1, self.attn = AdaLayerNorm(d), Attention(d, heads)
        self.norm2, self.mlp = nn.LayerNorm(d), _mlp(d, mlp_times)

    def forward(self, x, t):
        x = x + self.attn(self.norm1(x, t))
        return x + self.mlp(self.norm2(x))


class TrendBlock(nn.Module):
    """(B, T, d) → trend (B, T, D): per feature, coefficients of ``(τ/(T+1))^p`` (τ = 1…T, p = 1…P) from
    Conv1d(T → P, kernel 3) over the model axis, GELU, Conv1d(d → D, kernel 3) over the P coefficients."""

    def __init__(self, seq_len: int, d: int, n_features: int, poly: int = TREND_POLY):
        super().__init__()
        self.coef1 = nn.Conv1d(seq_len, poly, 3, padding=1)
        self.coef2 = nn.Conv1d(d, n_features, 3, padding=1)
        tau = torch.arange(1, seq_len + 1, dtype=torch.float32) / (seq_len + 1)
        self.register_buffer("basis", torch.stack([tau ** (p + 1) for p in range(poly)]), persistent=False)

    def coefficients(self, x):
        """(B, T, d) → (B, D, P) polynomial coefficients."""
        return self.coef2(F.gelu(self.coef1(x)).transpose(1, 2))

    def forward(self, x):
        return (self.coefficients(x) @ self.basis).transpose(1, 2)


class SeasonBlock(nn.Module):
    """(B, T, d) → season (B, T, d): per (window, channel) the ``k = ⌊ln F⌋`` largest-amplitude DFT frequencies
    among the F without the mean and (T even) the Nyquist term, summed back as ``2·|X_f|·cos(2π f τ + arg X_f)``
    over τ = 0…T−1 — the reference's inverse DFT of the kept terms and their conjugates, without the 1/T (a learned
    convolution follows)."""

    def __init__(self, seq_len: int):
        super().__init__()
        freqs = torch.fft.rfftfreq(seq_len)[1:]
        if seq_len % 2 == 0:
            freqs = freqs[:-1]
        self.n_freqs = len(freqs)
        self.k = int(math.log(self.n_freqs)) if self.n_freqs else 0
        self.register_buffer("freqs", freqs.float(), persistent=False)
        self.register_buffer("tau", torch.arange(seq_len, dtype=torch.float32), persistent=False)

    def forward(self, x):
        if self.k == 0:
            return x * 0
        spectrum = torch.fft.rfft(x.float(), dim=1)[:, 1:1 + self.n_freqs]  # (B, F, d)
        index = spectrum.abs().topk(self.k, dim=1).indices  # (B, k, d)
        real = spectrum.real.gather(1, index)[:, :, None]  # (B, k, 1, d)
        imag = spectrum.imag.gather(1, index)[:, :, None]
        angle = 2 * math.pi * self.freqs[index][:, :, None] * self.tau[None, None, :, None]  # (B, k, T, d)
        # 2·Re(X e^{iθ}) = 2·|X|·cos(θ + arg X)
        return (2 * (real * torch.cos(angle) - imag * torch.sin(angle))).sum(1).to(x.dtype)


class DecoderBlock(nn.Module):
    def __init__(self, seq_len: int, d: int, n_features: int, heads: int, mlp_times: int):
        super().__init__()
        self.norm1, self.self_attn = AdaLayerNorm(d), Attention(d, heads)
        self.norm2, self.cross_attn = AdaLayerNorm(d), Attention(d, heads)
        self.split = nn.Conv1d(seq_len, 2 * seq_len, 1)  # over the time axis, as the reference
        self.trend, self.season = TrendBlock(seq_len, d, n_features), SeasonBlock(seq_len)
        self.norm3, self.mlp = nn.LayerNorm(d), _mlp(d, mlp_times)
        self.level = nn.Linear(d, n_features)

    def forward(self, x, encoded, t):
        x = x + self.self_attn(self.norm1(x, t))
        x = x + self.cross_attn(self.norm2(x, t), encoded)
        to_trend, to_season = self.split(x).chunk(2, dim=1)
        trend, season = self.trend(to_trend), self.season(to_season)
        x = x + self.mlp(self.norm3(x))
        mean = x.mean(1, keepdim=True)
        return x - mean, self.level(mean), trend, season


class Denoiser(nn.Module):
    """x_t (B, T, D), t (B,) → x̂₀ (B, T, D); :meth:`components` gives its trend, season and residual parts."""

    def __init__(self, seq_len: int, n_features: int, d: int, n_layer_enc: int, n_layer_dec: int, heads: int,
                 mlp_times: int, kernel_size: int):
        super().__init__()
        self.embed = nn.Conv1d(n_features, d, 3, padding=1)
        self.inverse = nn.Conv1d(d, n_features, 3, padding=1)
        self.pos_enc = nn.Parameter(torch.empty(1, seq_len, d).uniform_(-0.02, 0.02))
        self.pos_dec = nn.Parameter(torch.empty(1, seq_len, d).uniform_(-0.02, 0.02))
        self.encoder = nn.ModuleList(EncoderBlock(d, heads, mlp_times) for _ in range(n_layer_enc))
        self.decoder = nn.ModuleList(DecoderBlock(seq_len, d, n_features, heads, mlp_times)
                                     for _ in range(n_layer_dec))
        self.combine_season = nn.Conv1d(d, n_features, kernel_size, padding=kernel_size // 2,
                                        padding_mode="circular", bias=False)
        self.combine_level = nn.Conv1d(n_layer_dec, 1, 1, bias=False)

    def components(self, x, t):
        """(trend, season, residual), each (B, T, D); x̂₀ is their sum."""
        h = self.embed(x.transpose(1, 2)).transpose(1, 2)
        encoded = h + self.pos_enc
        for block in self.encoder:
            encoded = block(encoded, t)
        state, levels, trend, season = h + self.pos_dec, [], 0, 0
        for block in self.decoder:
            state, level, block_trend, block_season = block(state, encoded, t)
            levels.append(level)
            trend, season = trend + block_trend, season + block_season
        residual = self.inverse(state.transpose(1, 2)).transpose(1, 2)
        residual_mean = residual.mean(1, keepdim=True)
        trend = trend + self.combine_level(torch.cat(levels, 1)) + residual_mean
        season = self.combine_season(season.transpose(1, 2)).transpose(1, 2)
        return trend, season, residual - residual_mean

    def forward(self, x, t):
        trend, season, residual = self.components(x, t)
        return trend + season + residual


class DiffusionTS(TorchGenerator):
    """Diffusion-TS (Yuan & Qiao, ICLR 2024). See the module docstring.

    Parameters
    ----------
    d_model, n_heads, mlp_hidden_times : int
        Model width, attention heads, MLP expansion (reference Sines: 64, 4, 4).
    n_layer_enc, n_layer_dec : int
        Encoder and decoder blocks (reference Sines: 1, 2; Stocks 2, 2; Energy 4, 3).
    kernel_size : int
        Kernel of the circular convolution that maps the summed seasons to the features (reference configs: 1).
    timesteps : int
        Diffusion steps T of the cosine schedule (reference Sines/Stocks: 500, Energy: 1000).
    sampling_timesteps : int or None
        ``None``: ancestral DDPM over all ``timesteps`` (the reference configs); fewer: the reference's fast
        (DDIM) sampler over that many steps, with ``eta`` (0: deterministic updates).
    loss_type : str
        ``"l1"`` (reference) or ``"l2"``, for both the time- and the frequency-domain terms.
    fourier_weight : float or None
        λ of the Fourier term (``None``: √seq_len/5, the reference); 0 turns it off.
    batch_size, grad_accumulation : int
        Mini-batch size (reference Sines: 128, Stocks/Energy: 64) and mini-batches per update (reference: 2).
    train_steps : int
        Optimiser updates (reference Sines: 12000, Stocks 10000, Energy 25000).
    lr, warmup_lr, warmup_steps, lr_patience : float, float, int, int
        Learning rate warmed up linearly from ``lr`` to ``warmup_lr`` over ``warmup_steps`` updates, then halved after
        ``lr_patience`` updates without a 10 % improvement of the loss (reference: 1e-5, 8e-4, 500; Sines 3000).
    ema_decay, ema_every : float, int
        The EMA of the weights that samples (reference: 0.995, every 10 updates).
    device, amp : str, bool
        ``"cpu"``/``"cuda"``/``"auto"``; bfloat16 autocast on CUDA.
    """

    name = "diffusion_ts"
    version = "1"
    card = Card(
        title="Diffusion-TS: Interpretable Diffusion for General Time Series Generation",
        authors="Xinyu Yuan, Yan Qiao", year=2024, venue="ICLR 2024", citation_key="yuan2024diffusionts",
        url="https://arxiv.org/abs/2403.01742", licence="reference code: MIT (github.com/Y-debug-sys/Diffusion-TS)",
        faithful=(
            "denoiser: transformer encoder–decoder predicting x̂₀ directly; Conv1d(kernel 3) embedding, learnable "
            "positional encodings, adaptive layer norms on the sinusoidal step embedding, GELU MLPs ×4",
            "decoder blocks with interpretable parts as the reference code: polynomial trend (basis (τ/(T+1))^p, "
            "p = 1…3), Fourier season (the ⌊ln F⌋ largest-amplitude frequencies per channel, inverse DFT), block "
            "levels mixed by a 1×1 convolution, and the residual; x̂₀ = trend + season + residual",
            "DDPM forward process with the cosine schedule (s = 0.008, β clipped at 0.999); data mapped to [−1, 1]",
            "loss: L1 of x̂₀ plus √T/5 × L1 of the real and imaginary parts of the 1/T-normalised DFT, averaged per "
            "window and weighted by √α_t·√(1−ᾱ_t)/β_t/100 (the reference code's reweighting)",
            "solver: Adam (β 0.9, 0.96), 2 accumulated mini-batches per update, gradient norm clipped at 1, linear "
            "warm-up 1e-5 → 8e-4 over 500 updates then halving on a plateau (threshold 10 % relative, min 1e-5), "
            "EMA 0.995 every 10 updates with ema-pytorch's warm-up; the EMA weights sample",
            "defaults and the paper preset: Config/sines.yaml (d_model 64, 1 encoder and 2 decoder layers, 4 heads, "
            "500 steps, batch 128, 12000 updates, patience 3000), sampled by ancestral DDPM over all 500 steps with "
            "x̂₀ clipped to [−1, 1]; Stocks and Energy: the parameters in REFERENCE_CONFIGS",
        ),
        adapted=(
            "PyTorch re-implementation written from the paper, reading the reference code for its defaults; no "
            "dropout (every reference config sets it to 0)",
            "one paper preset for every dataset (presets are not per dataset): it is the Sines configuration; for "
            "Stocks pass n_layer_enc=2,batch_size=64,train_steps=10000,lr_patience=2000, for Energy "
            "n_layer_enc=4,n_layer_dec=3,d_model=96,timesteps=1000,batch_size=64,train_steps=25000,lr_patience=5000 "
            "(REFERENCE_CONFIGS)",
            "the plateau scheduler tracks the loss on the device and its halvings are applied at the next logging "
            "step (every 10 updates) instead of the next update, so that training never waits on the host; with "
            "the reference patience (2000–5000 updates) this delays a halving by at most 9 updates",
            "the season block sums 2·Re(X_f e^{2πifτ}) (= the reference's |X_f| cos(2πfτ + arg X_f) over the kept "
            "frequencies and their conjugates) — the same values, without the angle's gradient singularity at 0",
            "quick preset: a CPU budget, not the reference's (d_model 32, 100 diffusion steps, batch 64, one "
            "mini-batch per update, 1200 updates, 100 warm-up updates, the EMA updated after every update) sampled "
            "with the reference's fast DDIM sampler over 25 steps (eta 0) instead of ancestral DDPM; the probe that "
            "chose it: results/tuning/diffusion_ts-probes.md; whether it beats the gaussian null, per dataset and "
            "metric: results/summary.md (generated from the records); smoke: a tiny network",
        ),
    )
    parameter_constraints = {"d_model": POSITIVE, "n_heads": POSITIVE, "mlp_hidden_times": POSITIVE,
                             "n_layer_enc": POSITIVE, "n_layer_dec": POSITIVE, "kernel_size": POSITIVE,
                             "timesteps": POSITIVE, "sampling_timesteps": POSITIVE, "eta": NON_NEGATIVE,
                             "fourier_weight": NON_NEGATIVE, "batch_size": POSITIVE, "grad_accumulation": POSITIVE,
                             "train_steps": POSITIVE, "lr": STRICTLY_POSITIVE, "warmup_lr": STRICTLY_POSITIVE,
                             "warmup_steps": NON_NEGATIVE, "lr_patience": NON_NEGATIVE, "ema_decay": PROBABILITY_BELOW_ONE,
                             "ema_every": POSITIVE}
    presets = {
        "smoke": {"d_model": 16, "n_heads": 2, "mlp_hidden_times": 2, "timesteps": 20, "batch_size": 16,
                  "grad_accumulation": 1, "train_steps": 12, "warmup_steps": 4, "ema_every": 1,
                  "sampling_timesteps": 5},
        "quick": {"d_model": 32, "timesteps": 100, "sampling_timesteps": 25, "batch_size": 64,
                  "grad_accumulation": 1, "train_steps": 1200, "warmup_steps": 100, "ema_every": 1},
        "paper": {},
    }

    def __init__(self, *, d_model: int = 64, n_heads: int = 4, mlp_hidden_times: int = 4, n_layer_enc: int = 1,
                 n_layer_dec: int = 2, kernel_size: int = 1, timesteps: int = 500,
                 sampling_timesteps: int | None = None, eta: float = 0.0, loss_type: str = "l1",
                 fourier_weight: float | None = None, batch_size: int = 128, grad_accumulation: int = 2,
                 train_steps: int = 12000, lr: float = 1e-5, warmup_lr: float = 8e-4, warmup_steps: int = 500,
                 lr_patience: int = 3000, ema_decay: float = 0.995, ema_every: int = 10, device: str = "cpu",
                 amp: bool = False):
        self.d_model = d_model
        self.n_heads = n_heads
        self.mlp_hidden_times = mlp_hidden_times
        self.n_layer_enc = n_layer_enc
        self.n_layer_dec = n_layer_dec
        self.kernel_size = kernel_size
        self.timesteps = timesteps
        self.sampling_timesteps = sampling_timesteps
        self.eta = eta
        self.loss_type = loss_type
        self.fourier_weight = fourier_weight
        self.batch_size = batch_size
        self.grad_accumulation = grad_accumulation
        self.train_steps = train_steps
        self.lr = lr
        self.warmup_lr = warmup_lr
        self.warmup_steps = warmup_steps
        self.lr_patience = lr_patience
        self.ema_decay = ema_decay
        self.ema_every = ema_every
        self.device = device
        self.amp = amp

    # networks -------------------------------------------------------------------------------------
    def _build(self, seq_len, n_features):
        _error(self.loss_type)  # an unknown loss type fails before any training
        if self.sampling_timesteps is not None and int(self.sampling_timesteps) > int(self.timesteps):
            raise InputError("Diffusion-TS sampling_timesteps", expected=f"at most timesteps ({self.timesteps})",
                             got=str(self.sampling_timesteps), fix="lower sampling_timesteps or leave it unset")
        model = Denoiser(seq_len, n_features, int(self.d_model), int(self.n_layer_enc), int(self.n_layer_dec),
                         int(self.n_heads), int(self.mlp_hidden_times), int(self.kernel_size))
        ema = copy.deepcopy(model).requires_grad_(False)
        return {"model": model, "ema": ema, "schedule": Schedule(int(self.timesteps))}

    def _fourier_weight(self, seq_len: int) -> float:
        return math.sqrt(seq_len) / 5 if self.fourier_weight is None else float(self.fourier_weight)

    # training -------------------------------------------------------------------------------------
    def loss(self, x0, t, noise):
        """The training loss of clean windows ``x0`` (B, T, D) in [−1, 1] at steps ``t`` (B,) with ``noise``."""
        schedule = self.nets_["schedule"]
        with self.autocast():
            x_hat = self.nets_["model"](schedule.q_sample(x0, t, noise), t).float()
        per_element = _error(self.loss_type)(x_hat, x0)
        weight = self._fourier_weight(x0.shape[1])
        if weight:
            per_element = per_element + weight * fourier_loss(x_hat, x0, self.loss_type)
        return (per_element.mean((1, 2)) * schedule.loss_weight[t]).mean()

    def warmup_rate(self, step: int) -> float | None:
        """The learning rate of update ``step`` (1-based) during the warm-up; ``None`` after it."""
        warmup = int(self.warmup_steps)
        if step > warmup + 1:
            return None
        if warmup == 0:
            return float(self.lr)
        increment = max(float(self.warmup_lr) - float(self.lr), 0.0) / warmup
        return max(float(self.lr) + (step - 1) * increment, LR_PLATEAU["min_lr"])

    def ema_rate(self, step: int) -> float | None:
        """What the EMA does after update ``step``: ``None`` nothing, 0.0 copy the weights, else the decay."""
        count = step - 1  # ema-pytorch counts its update() calls from 0
        if count % int(self.ema_every):
            return None
        if count <= EMA_AFTER:
            return 0.0
        return min(float(self.ema_decay), 1 - (1 + count - EMA_AFTER) ** -EMA_POWER)

    def _train(self, X, rng, callback):
        x_all = X * 2 - 1
        n = x_all.shape[0]
        batch = min(int(self.batch_size), n)
        per_epoch = n // batch  # the reference's loader drops the last partial batch
        accumulate = int(self.grad_accumulation)
        total = int(self.train_steps)
        model, ema = self.nets_["model"], self.nets_["ema"]
        params = [p for p in model.parameters() if p.requires_grad]
        ema_params = list(ema.parameters())
        optimizer = torch.optim.Adam(params, lr=float(self.lr), betas=ADAM_BETAS)
        order = torch.zeros(n, dtype=torch.long, device=X.device)
        # the plateau scheduler, on the device: best loss, updates without improvement, halvings not yet applied
        plateau = torch.tensor([math.inf, 0.0, 0.0], dtype=torch.float64, device=X.device)
        timesteps = int(self.timesteps)
        for step in self.training_steps(total, rng, optimizer=optimizer, order=order, plateau=plateau):
            rate = self.warmup_rate(step)
            if rate is not None:
                for group in optimizer.param_groups:
                    group["lr"] = rate
            optimizer.zero_grad(set_to_none=True)
            step_loss = torch.zeros((), device=X.device)
            for j in range(accumulate):
                position = ((step - 1) * accumulate + j) % per_epoch
                if position == 0:
                    order.copy_(torch.randperm(n, generator=rng, device=X.device))
                x0 = x_all[order[position * batch:(position + 1) * batch]]
                t = torch.randint(0, timesteps, (x0.shape[0],), generator=rng, device=X.device)
                noise = torch.randn(x0.shape, generator=rng, device=X.device)
                loss = self.loss(x0, t, noise) / accumulate
                loss.backward()
                step_loss += loss.detach()
            torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
            optimizer.step()
            if step > int(self.warmup_steps):  # the reference's scheduler: warm-up, then the plateau logic
                self._plateau_update(plateau, step_loss)
            decay = self.ema_rate(step)
            if decay is not None:
                with torch.no_grad():
                    if decay == 0.0:
                        torch._foreach_copy_(ema_params, params)
                    else:
                        torch._foreach_lerp_(ema_params, params, 1 - decay)
            if step % self.log_every == 0 or step == total:
                self._apply_halvings(optimizer, plateau)
                losses = {"loss": float(step_loss), "lr": float(optimizer.param_groups[0]["lr"])}
                self.log(step, **losses)
                callback(step, total, losses)

    def _plateau_update(self, plateau, loss):
        """One scheduler step on the device: ``plateau`` = (best, bad updates, pending halvings)."""
        best, bad, pending = plateau[0], plateau[1], plateau[2]
        better = loss.double() < best * (1 - LR_PLATEAU["threshold"])
        best = torch.where(better, loss.double(), best)
        bad = torch.where(better, torch.zeros_like(bad), bad + 1)
        halve = bad > int(self.lr_patience)
        plateau.copy_(torch.stack([best, torch.where(halve, torch.zeros_like(bad), bad), pending + halve.double()]))

    @staticmethod
    def _apply_halvings(optimizer, plateau):
        halvings = int(plateau[2])
        if not halvings:
            return
        for _ in range(halvings):
            for group in optimizer.param_groups:
                new = max(group["lr"] * LR_PLATEAU["factor"], LR_PLATEAU["min_lr"])
                if group["lr"] - new > LR_PLATEAU["eps"]:
                    group["lr"] = new
        plateau[2] = 0.0

    # generation -----------------------------------------------------------------------------------
    def _generate(self, n, rng):
        out = [self._sample_batch(min(SAMPLE_BATCH, n - start), rng) for start in range(0, n, SAMPLE_BATCH)]
        return (torch.cat(out) + 1) / 2

    def _predict(self, x, t_index: int):
        """x̂₀ of the EMA model at step ``t_index`` for every window, clipped to [−1, 1], and its batch of t."""
        t = torch.full((x.shape[0],), t_index, dtype=torch.long, device=x.device)
        with self.autocast():
            x0 = self.nets_["ema"](x, t).float()
        return x0.clamp(-1.0, 1.0), t

    def _sample_batch(self, n, rng):
        schedule = self.nets_["schedule"]
        x = torch.randn((n, self.seq_len_, self.n_features_in_), generator=rng, device=self.device_)
        steps = schedule.timesteps if self.sampling_timesteps is None else int(self.sampling_timesteps)
        if steps >= schedule.timesteps:  # ancestral DDPM
            for t_index in reversed(range(schedule.timesteps)):
                x0, t = self._predict(x, t_index)
                mean = Schedule.at(schedule.posterior_coef_x0, t) * x0 + Schedule.at(schedule.posterior_coef_xt, t) * x
                if t_index == 0:
                    return mean
                noise = torch.randn(x.shape, generator=rng, device=x.device)
                x = mean + (0.5 * Schedule.at(schedule.posterior_log_variance, t)).exp() * noise
        times = sampling_times(schedule.timesteps, steps)
        for now, following in zip(times[:-1], times[1:]):
            x0, t = self._predict(x, now)
            if following < 0:
                return x0
            eps = schedule.noise_from_x0(x, t, x0)
            alpha, alpha_next = schedule.alpha_bar[now], schedule.alpha_bar[following]
            sigma = float(self.eta) * ((1 - alpha / alpha_next) * (1 - alpha_next) / (1 - alpha)).sqrt()
            x = x0 * alpha_next.sqrt() + (1 - alpha_next - sigma ** 2).sqrt() * eps
            if float(self.eta):
                x = x + sigma * torch.randn(x.shape, generator=rng, device=x.device)
        return x


def sampling_times(timesteps: int, steps: int) -> list[int]:
    """The fast sampler's steps, descending, ending in −1: the reference's ``int`` of
    ``linspace(−1, timesteps − 1, steps + 1)`` (e.g. 10, 5 → [9, 7, 5, 3, 1, −1])."""
    return [int(v) for v in reversed(torch.linspace(-1, timesteps - 1, steps + 1, dtype=torch.float32).tolist())]
