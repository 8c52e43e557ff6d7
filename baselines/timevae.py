"""TimeVAE — Desai, Freeman, Wang & Beaver, "TimeVAE: A Variational Auto-Encoder for Multivariate Time Series
Generation", arXiv 2111.08095 (2021).

A convolutional VAE whose decoder is a sum of interpretable parts (all from the latent ``z``, data ``(T, D)``):

* encoder: ``conv_layers`` Conv1D layers (kernel 3, stride 2, "same" padding, ReLU) with ``filters``,
  ``2·filters``, ``4·filters``… channels (the reference's 50, 100, 200), flattened, then two dense heads for the
  mean and log-variance of ``z`` (``latent_dim``);
* decoder = level + trend + seasonality + residual:
  level: Dense(D, ReLU) → Dense(D), repeated over time;
  trend (``trend_poly`` = P > 0): Dense(D·P, ReLU) → Dense(D·P) coefficients of the polynomials (t/T)^1…(t/T)^P;
  seasonality (``seasons``, e.g. ``"4x6"``: 4 seasons of 6 steps, repeating): Dense(D·S) values, one per season,
  laid out over time; residual (``use_residual_conn``): Dense(flattened size, ReLU) → the transposed convolutions
  (kernel 3, stride 2, ReLU) back to D channels → Flatten → Dense(T·D);
* loss = ``reconstruction_wt`` · (Σ (x − x̂)² + Σ (mean_D x − mean_D x̂)²) + KL(q(z|x) ‖ N(0, I)), sums over the
  batch; Adam (Keras defaults: lr 1e-3, ε 1e-7), mini-batches of ``batch_size`` over shuffled epochs, early stopping
  on the epoch's mean loss (min_delta 0.01, patience 50) and the learning rate halved after 30 epochs without
  improvement (Keras ReduceLROnPlateau: min_delta 1e-4) — as in the reference code;
* sampling: z ~ N(0, I) → decoder.

Scaling: as the reference pipeline (``MinMaxScaler`` in its ``data_utils.py``), the training windows are min-max
scaled per (time step, feature) — min and range over the windows axis — before training, and prior samples are
mapped back with the same min and range (:class:`StepMinMax`, kept with the networks). The protocol's own per-feature
scaling is not a substitute: on Sines every window starts near 0.5, so without it the early steps span a few
hundredths of the range and the KL term wins over their reconstruction error (the posterior collapsed towards the
mean curve in our runs, results/tuning/timevae-probes.md).

Shapes: windows ``(n, seq_len, n_features)`` in [0, 1]; the decoder is linear (samples clipped to [0, 1] by the
base class, the data range).

>>> import numpy as np
>>> X = np.random.default_rng(0).random((40, 8, 2), dtype=np.float32)
>>> TimeVAE(**TimeVAE.presets["smoke"]).fit(X, seed=0).sample(3, seed=1).shape
(3, 8, 2)
"""
from __future__ import annotations

import math
import re

import torch
from torch import nn
from torch.nn import functional as F

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.params import NON_NEGATIVE, POSITIVE, STRICTLY_POSITIVE

from ._torch import TorchGenerator

#: Keras defaults the reference code trains with
KERAS_ADAM_EPS = 1e-7
EARLY_STOPPING = {"min_delta": 1e-2, "patience": 50}
LR_PLATEAU = {"factor": 0.5, "patience": 30, "min_delta": 1e-4}


def parse_seasons(text: str | None) -> list[tuple[int, int]]:
    """``"4x6+7x24"`` → ``[(4, 6), (7, 24)]`` (number of seasons × steps per season); ``None``/``""`` → ``[]``."""
    if not text:
        return []
    pairs = []
    for part in str(text).split("+"):
        match = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", part)
        if match is None or min(int(match.group(1)), int(match.group(2))) < 1:
            raise InputError("TimeVAE seasons", expected="'SxL' pairs joined by '+', e.g. '4x6' or '7x24+4x6' "
                             "(S seasons of L steps each)", got=repr(text), fix="pass e.g. seasons=4x6")
        pairs.append((int(match.group(1)), int(match.group(2))))
    return pairs


def _same_padding(length: int) -> tuple[int, int]:
    """Keras "same" padding of a kernel-3, stride-2 convolution over ``length`` steps: (left, right)."""
    out = math.ceil(length / 2)
    total = max((out - 1) * 2 + 3 - length, 0)
    return total // 2, total - total // 2


def _glorot(module: nn.Module) -> None:
    """Keras' default initialisation: Glorot-uniform weights, zero biases."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.ConvTranspose1d)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


class _Encoder(nn.Module):
    """(B, T, D) → z mean, z log-variance (B, latent)."""

    def __init__(self, seq_len: int, n_features: int, channels: list[int], latent_dim: int):
        super().__init__()
        self.convs, lengths, width = nn.ModuleList(), [seq_len], n_features
        for out in channels:
            self.convs.append(nn.Conv1d(width, out, 3, stride=2))
            lengths.append(math.ceil(lengths[-1] / 2))
            width = out
        self.lengths = lengths
        self.flat = lengths[-1] * channels[-1]
        self.mean, self.log_var = nn.Linear(self.flat, latent_dim), nn.Linear(self.flat, latent_dim)

    def forward(self, x):
        h = x.transpose(1, 2)  # (B, D, T): channels first
        for conv, length in zip(self.convs, self.lengths):
            h = F.relu(conv(F.pad(h, _same_padding(length))))
        h = h.transpose(1, 2).flatten(1)  # time-major flatten, as Keras' (B, T', C) Flatten
        return self.mean(h), self.log_var(h)


class _Decoder(nn.Module):
    """z (B, latent) → (B, T, D): level + trend + seasonality + residual."""

    def __init__(self, seq_len: int, n_features: int, channels: list[int], latent_dim: int, flat: int,
                 last_length: int, trend_poly: int, seasons: list[tuple[int, int]], residual: bool):
        super().__init__()
        T, D = seq_len, n_features
        self.T, self.D, self.trend_poly, self.seasons = T, D, trend_poly, seasons
        self.level = nn.Sequential(nn.Linear(latent_dim, D), nn.ReLU(), nn.Linear(D, D))
        if trend_poly > 0:
            self.trend = nn.Sequential(nn.Linear(latent_dim, D * trend_poly), nn.ReLU(),
                                       nn.Linear(D * trend_poly, D * trend_poly))
            t = torch.arange(T, dtype=torch.float32) / T
            self.register_buffer("poly", torch.stack([t ** (p + 1) for p in range(trend_poly)]), persistent=False)
        self.season_heads = nn.ModuleList(nn.Linear(latent_dim, D * s) for s, _ in seasons)
        for i, (s, steps) in enumerate(seasons):  # season index of every time step, repeating
            index = torch.arange(s).repeat_interleave(steps).repeat(T // (s * steps) + 1)[:T]
            self.register_buffer(f"season_index_{i}", index, persistent=False)
        self.residual = residual
        if residual:
            self.channels, self.last_length = channels, last_length
            self.dense = nn.Linear(latent_dim, flat)
            widths = list(reversed(channels[:-1])) + [D]
            self.deconvs = nn.ModuleList(
                nn.ConvTranspose1d(w_in, w_out, 3, stride=2, padding=1, output_padding=1)
                for w_in, w_out in zip([channels[-1], *widths[:-1]], widths))
            self.final = nn.Linear(last_length * 2 ** len(channels) * D, T * D)

    def forward(self, z):
        B = z.shape[0]
        out = self.level(z)[:, None, :].expand(B, self.T, self.D)
        if self.trend_poly > 0:
            coefficients = self.trend(z).view(B, self.D, self.trend_poly)
            out = out + (coefficients @ self.poly).transpose(1, 2)
        for i, head in enumerate(self.season_heads):
            values = head(z).view(B, self.D, -1)  # (B, D, S)
            index = getattr(self, f"season_index_{i}")
            out = out + values[:, :, index].transpose(1, 2)
        if self.residual:
            h = F.relu(self.dense(z)).view(B, self.last_length, self.channels[-1]).transpose(1, 2)
            for deconv in self.deconvs:
                h = F.relu(deconv(h))
            out = out + self.final(h.transpose(1, 2).flatten(1)).view(B, self.T, self.D)
        return out


class StepMinMax(nn.Module):
    """The reference pipeline's ``MinMaxScaler`` (``data_utils.py``; ``utils.py`` in the paper-era code): min and
    range over the windows axis only — one pair per (time step, feature) — ``(x − min) / (range + 1e-7)`` on the
    training windows, samples mapped back with ``x · range + min``."""

    def __init__(self, seq_len: int, n_features: int):
        super().__init__()
        self.register_buffer("low", torch.zeros(seq_len, n_features))
        self.register_buffer("range", torch.ones(seq_len, n_features))

    def fit(self, X: torch.Tensor) -> "StepMinMax":
        self.low.copy_(X.amin(dim=0))
        self.range.copy_(X.amax(dim=0) - self.low)
        return self

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        return (X - self.low) / (self.range + 1e-7)

    def inverse(self, X: torch.Tensor) -> torch.Tensor:
        return X * self.range + self.low


class KerasCallbacks:
    """Keras' ``EarlyStopping`` and ``ReduceLROnPlateau`` on the epoch's mean loss (mode "min", the reference's
    settings :data:`EARLY_STOPPING`, :data:`LR_PLATEAU`); its state is saved in mid-fit checkpoints."""

    def __init__(self, optimizer, *, early_stopping: bool):
        self.optimizer, self.early_stopping = optimizer, early_stopping
        self.best_stop, self.wait_stop, self.best_lr, self.wait_lr = math.inf, 0, math.inf, 0

    def epoch_end(self, mean: float) -> bool:
        """Update both callbacks with the epoch's mean loss; True when training stops."""
        if mean < self.best_lr - LR_PLATEAU["min_delta"]:
            self.best_lr, self.wait_lr = mean, 0
        else:
            self.wait_lr += 1
            if self.wait_lr >= LR_PLATEAU["patience"]:
                for group in self.optimizer.param_groups:
                    group["lr"] *= LR_PLATEAU["factor"]
                self.wait_lr = 0
        if mean < self.best_stop - EARLY_STOPPING["min_delta"]:
            self.best_stop, self.wait_stop = mean, 0
        else:
            self.wait_stop += 1
        return self.early_stopping and self.wait_stop >= EARLY_STOPPING["patience"]

    def state_dict(self) -> dict:
        return {"best_stop": self.best_stop, "wait_stop": self.wait_stop, "best_lr": self.best_lr,
                "wait_lr": self.wait_lr}

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)


class TimeVAE(TorchGenerator):
    """TimeVAE (Desai et al. 2021). See the module docstring.

    Parameters
    ----------
    latent_dim : int
        Size of z (reference: 8).
    filters, conv_layers : int
        The encoder's Conv1D layers have ``filters · 2^k`` channels, k = 0…conv_layers−1 (reference: 50, 3 →
        50, 100, 200); the residual decoder mirrors them.
    reconstruction_wt : float
        Weight of the reconstruction term against the KL term (reference: 3.0).
    trend_poly : int
        Polynomial trend terms (0: none, the reference default; 2: linear and quadratic).
    seasons : str or None
        Custom seasonalities as ``"SxL"`` pairs joined by ``+`` (S seasons of L steps each), e.g. ``"4x6"``;
        ``None``: none (the reference default).
    use_residual_conn : bool
        The convolutional residual branch of the decoder (reference default: on).
    batch_size, lr : int, float
        Mini-batch size (reference: 16) and Adam's learning rate (Keras default 1e-3).
    epochs : int
        Maximum epochs (reference: 1000), each a shuffled pass over the training windows.
    max_steps : int or None
        Stop after this many updates at the latest (``None``: no cap, as the reference). A CPU budget.
    early_stopping : bool
        Stop when the epoch's mean loss has not improved by 0.01 for 50 epochs (reference: on).
    device, amp : str, bool
        ``"cpu"``/``"cuda"``/``"auto"``; bfloat16 autocast on CUDA.
    """

    name = "timevae"
    version = "2"
    card = Card(
        title="TimeVAE: A Variational Auto-Encoder for Multivariate Time Series Generation",
        authors="Abhyuday Desai, Cynthia Freeman, Zuhui Wang, Ian Beaver", year=2021, venue="arXiv 2111.08095",
        citation_key="desai2021timevae", url="https://arxiv.org/abs/2111.08095",
        faithful=(
            "encoder: Conv1D (kernel 3, stride 2, same padding, ReLU) with 50/100/200 filters, flatten, dense z mean "
            "and log-variance, latent_dim 8 (reference code's hyperparameters.yaml)",
            "decoder: level (Dense(D, ReLU) → Dense(D), repeated over time) + optional polynomial trend + optional "
            "custom seasonalities + the residual branch Dense → transposed convolutions → Dense(T·D)",
            "loss: reconstruction_wt (3.0) × (summed squared error + summed squared error of the per-step means over "
            "features) + summed KL divergence, as the reference code",
            "Adam with Keras defaults (lr 1e-3, ε 1e-7), batch 16, up to 1000 shuffled epochs, early stopping "
            "(epoch mean loss, min_delta 0.01, patience 50), learning rate halved after 30 epochs on a plateau",
            "Keras initialisation (Glorot-uniform weights, zero biases); sampling z ~ N(0, I) → decoder",
            "the reference pipeline's min-max scaling per (time step, feature) — min and range over the windows "
            "axis — of the training windows, and its inverse applied to the prior samples (version 2; version 1 "
            "trained on the protocol's per-feature scaling and under-dispersed on Sines: "
            "results/tuning/timevae-probes.md)",
        ),
        adapted=(
            "PyTorch re-implementation; Keras' 'same' padding of the strided convolutions reproduced by explicit "
            "padding, the transposed convolutions double the length as Keras' do",
            "the protocol's data are already in [0, 1] (per feature); the model's own per-(step, feature) scaling "
            "is applied on top, as the reference applies it to its raw data; samples are clipped to [0, 1]",
            "the channel widths are given as filters × 2^k (the reference's list [50, 100, 200] is filters=50, "
            "conv_layers=3) so that display names stay scalar",
            "quick preset: batch 64 and at most 2000 updates (max_steps, not in the reference) — a CPU budget, "
            "unchanged by the scaling fix (probes: results/tuning/timevae-probes.md); whether it beats the gaussian "
            "null at this budget, per dataset and metric: results/summary.md (generated from the records); smoke: a "
            "tiny network",
        ),
    )
    parameter_constraints = {"latent_dim": POSITIVE, "filters": POSITIVE, "conv_layers": POSITIVE,
                             "reconstruction_wt": STRICTLY_POSITIVE, "trend_poly": NON_NEGATIVE,
                             "batch_size": POSITIVE, "lr": STRICTLY_POSITIVE, "epochs": POSITIVE,
                             "max_steps": POSITIVE}
    presets = {
        "smoke": {"latent_dim": 4, "filters": 8, "conv_layers": 2, "batch_size": 32, "epochs": 2},
        "quick": {"batch_size": 64, "max_steps": 2000},
        "paper": {},
    }

    def __init__(self, *, latent_dim: int = 8, filters: int = 50, conv_layers: int = 3,
                 reconstruction_wt: float = 3.0, trend_poly: int = 0, seasons: str | None = None,
                 use_residual_conn: bool = True, batch_size: int = 16, lr: float = 1e-3, epochs: int = 1000,
                 max_steps: int | None = None, early_stopping: bool = True, device: str = "cpu", amp: bool = False):
        self.latent_dim = latent_dim
        self.filters = filters
        self.conv_layers = conv_layers
        self.reconstruction_wt = reconstruction_wt
        self.trend_poly = trend_poly
        self.seasons = seasons
        self.use_residual_conn = use_residual_conn
        self.batch_size = batch_size
        self.lr = lr
        self.epochs = epochs
        self.max_steps = max_steps
        self.early_stopping = early_stopping
        self.device = device
        self.amp = amp

    # networks -------------------------------------------------------------------------------------
    def _channels(self) -> list[int]:
        return [int(self.filters) * 2 ** k for k in range(int(self.conv_layers))]

    def _build(self, seq_len, n_features):
        seasons = parse_seasons(self.seasons)
        channels = self._channels()
        encoder = _Encoder(seq_len, n_features, channels, int(self.latent_dim))
        decoder = _Decoder(seq_len, n_features, channels, int(self.latent_dim), encoder.flat, encoder.lengths[-1],
                           int(self.trend_poly), seasons, bool(self.use_residual_conn))
        _glorot(encoder)
        _glorot(decoder)
        return {"encoder": encoder, "decoder": decoder, "scaler": StepMinMax(seq_len, n_features)}

    # training -------------------------------------------------------------------------------------
    def _train(self, X, rng, callback):
        X = self.nets_["scaler"].fit(X).transform(X)  # the reference pipeline scales per (step, feature)
        n = X.shape[0]
        batch = min(int(self.batch_size), n)
        per_epoch = math.ceil(n / batch)
        total = int(self.epochs) * per_epoch
        if self.max_steps is not None:
            total = min(total, int(self.max_steps))
        params = list(self.nets_.parameters())
        optimizer = torch.optim.Adam(params, lr=float(self.lr), eps=KERAS_ADAM_EPS)
        order = torch.zeros(n, dtype=torch.long, device=X.device)  # this epoch's shuffle
        epoch_loss = torch.zeros((), dtype=torch.float64, device=X.device)  # summed on the device
        callbacks = KerasCallbacks(optimizer, early_stopping=bool(self.early_stopping))
        for step in self.training_steps(total, rng, optimizer=optimizer, order=order, epoch_loss=epoch_loss,
                                        callbacks=callbacks):
            position = (step - 1) % per_epoch
            if position == 0:
                order.copy_(torch.randperm(n, generator=rng, device=X.device))
                epoch_loss.zero_()
            rows = order[position * batch:(position + 1) * batch]
            loss, reconstruction, kl = self.train_step(X[rows], rng, optimizer)
            epoch_loss += loss
            epoch_end = position == per_epoch - 1
            if epoch_end or step % self.log_every == 0 or step == total:  # the epoch's end is a logging step
                losses = {"loss": float(loss), "reconstruction": float(reconstruction), "kl": float(kl)}
                if epoch_end:
                    losses["epoch_loss"] = float(epoch_loss) / per_epoch
                self.log(step, **losses)
                callback(step, total, losses)
                if epoch_end and callbacks.epoch_end(losses["epoch_loss"]):
                    break

    def train_step(self, x, rng, optimizer):
        """One update on the batch ``x`` (B, T, D); returns (total, reconstruction, KL) losses as tensors."""
        encoder, decoder = self.nets_["encoder"], self.nets_["decoder"]
        with self.autocast():
            mean, log_var = encoder(x)
            mean, log_var = mean.float(), log_var.float()
            eps = torch.randn(mean.shape, generator=rng, device=mean.device)
            x_hat = decoder(mean + torch.exp(0.5 * log_var) * eps).float()
        reconstruction = (x - x_hat).pow(2).sum() + (x.mean(2) - x_hat.mean(2)).pow(2).sum()
        kl = (-0.5 * (1 + log_var - mean.pow(2) - log_var.exp())).sum()
        loss = float(self.reconstruction_wt) * reconstruction + kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach(), reconstruction.detach(), kl.detach()

    # generation -----------------------------------------------------------------------------------
    def _generate(self, n, rng):
        z = torch.randn(n, int(self.latent_dim), generator=rng, device=self.device_)
        with self.autocast():
            out = self.nets_["decoder"](z).float()
        return self.nets_["scaler"].inverse(out)
