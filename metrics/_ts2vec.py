"""TS2Vec (Yue et al., AAAI 2022) in PyTorch: the encoder behind Context-FID, with a fit cache.

Architecture (as in the paper and its reference code): a linear input projection, timestamp masking
(binomial, p = 0.5, training only), a dilated convolutional encoder of residual blocks (block ``i`` has
dilation ``2**i``, two "same"-padded convolutions of kernel 3 with GELU before each, a 1×1 projection on
the residual path where the width changes and on the final block), dropout 0.1 on the representation.
Training: two overlapping random crops of each window are encoded and the hierarchical contrastive loss
(instance + temporal terms, α = 0.5, summed over max-pooled scales) pulls the representations of their
overlap together; AdamW; the encoder used for embedding is the stochastic weight average (SWA) of the
iterates, as in the reference code. Embedding: the full-series representation, max-pooled over time
(``(n, output_dim)``).

:func:`fit_encoder` caches fitted encoders per (data fingerprint, seed, settings): in process (LRU) and on
disk under ``$TSBENCH_CACHE/encoders/<hash>.pt`` (default ``pooch.os_cache("tsbench")``), holding a
``state_dict`` loaded with ``weights_only=True``. All randomness comes from a seeded ``torch.Generator``.

Devices: :func:`train_encoder` and :func:`encode` take a ``device``. Every random draw (initial weights, batches,
crops, timestamp masks, dropout masks) is made on the CPU, in the same order on every device, and sent to the
device (pinned, asynchronously); a training step reads nothing back to the host (the loss is checked for
finiteness every :data:`CHECK_EVERY` steps and after the last). Fitted encoders are cached with CPU weights
(the cache key has no device: an encoder fit on a GPU serves the CPU and back, within float round-off).
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: bump when a change alters fitted encoders (part of the cache key)
ENCODER_VERSION = "1"
#: training steps between two reads of the loss's finiteness (the only host reads while training)
CHECK_EVERY = 50
DROPOUT = 0.1


@dataclass(frozen=True)
class EncoderSettings:
    """TS2Vec settings. ``iterations=None`` applies the reference rule: 200 when the training data has at
    most 100 000 values, else 600."""

    hidden_dim: int = 64
    output_dim: int = 320
    depth: int = 10
    lr: float = 1e-3
    batch_size: int = 8
    iterations: int | None = None
    max_train_windows: int | None = None

    def n_iterations(self, X: np.ndarray) -> int:
        if self.iterations is not None:
            return int(self.iterations)
        return 200 if X.size <= 100_000 else 600


# network ------------------------------------------------------------------------------------------
class SamePadConv(nn.Module):
    """Conv1d whose output has the input's length (one step trimmed when the receptive field is even)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int = 1):
        super().__init__()
        field = (kernel_size - 1) * dilation + 1
        self.conv = nn.Conv1d(c_in, c_out, kernel_size, padding=field // 2, dilation=dilation)
        self.remove = 1 if field % 2 == 0 else 0

    def forward(self, x):
        out = self.conv(x)
        return out[:, :, :-self.remove] if self.remove else out


class ConvBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, final: bool = False):
        super().__init__()
        self.conv1 = SamePadConv(c_in, c_out, kernel_size, dilation)
        self.conv2 = SamePadConv(c_out, c_out, kernel_size, dilation)
        self.projector = nn.Conv1d(c_in, c_out, 1) if c_in != c_out or final else None

    def forward(self, x):
        residual = x if self.projector is None else self.projector(x)
        x = self.conv1(F.gelu(x))
        x = self.conv2(F.gelu(x))
        return x + residual


class TSEncoder(nn.Module):
    """``(B, T, n_features)`` → ``(B, T, output_dim)``. ``mask`` (B, T) bool: True = keep the step."""

    def __init__(self, n_features: int, hidden_dim: int, output_dim: int, depth: int):
        super().__init__()
        self.input_fc = nn.Linear(n_features, hidden_dim)
        channels = [hidden_dim] * depth + [output_dim]
        self.blocks = nn.Sequential(*[
            ConvBlock(channels[i - 1] if i > 0 else hidden_dim, channels[i], 3, dilation=2 ** i,
                      final=i == len(channels) - 1) for i in range(len(channels))])
        self.repr_dropout = nn.Dropout(DROPOUT)

    def forward(self, x, mask=None):
        x = self.input_fc(x)
        if mask is not None:
            x = x * mask.unsqueeze(-1).to(x.dtype)
        x = self.blocks(x.transpose(1, 2))
        if self.training:
            x = x * _dropout_scale(x, self.repr_dropout.p)
        return x.transpose(1, 2)


def _dropout_scale(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout's kept/scaled mask for ``x``, drawn on the CPU from torch's default generator exactly as CPU
    ``F.dropout`` draws it (``bernoulli_(1 − p)`` over ``x``'s contiguous layout, then ``/ (1 − p)``), and moved
    to ``x``'s device: the same masks on every device."""
    noise = torch.empty(x.shape, dtype=x.dtype).bernoulli_(1 - p)
    noise.div_(1 - p)
    return _to(noise, x.device)


def _to(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` (on the CPU) on ``device``; to CUDA through pinned memory without blocking the host."""
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


# loss ---------------------------------------------------------------------------------------------
def _contrast(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """InfoNCE over the second axis: z1, z2 (G, N, C); positives are z1[:, i] ↔ z2[:, i]; negatives are all
    other 2N − 2 items of the same group (the reference code's construction)."""
    n = z1.shape[1]
    z = torch.cat([z1, z2], dim=1)  # G × 2N × C
    sim = z @ z.transpose(1, 2)  # G × 2N × 2N
    logits = torch.tril(sim, diagonal=-1)[:, :, :-1] + torch.triu(sim, diagonal=1)[:, :, 1:]
    logits = -F.log_softmax(logits, dim=-1)
    i = torch.arange(n, device=z1.device)
    return (logits[:, i, n + i - 1].mean() + logits[:, n + i, i].mean()) / 2


def instance_contrastive_loss(z1, z2):
    """z (B, T, C): at each step, the same window's two views are positives, other windows negatives."""
    if z1.shape[0] == 1:
        return z1.new_zeros(())
    return _contrast(z1.transpose(0, 1), z2.transpose(0, 1))


def temporal_contrastive_loss(z1, z2):
    """z (B, T, C): within each window, the same step's two views are positives, other steps negatives."""
    if z1.shape[1] == 1:
        return z1.new_zeros(())
    return _contrast(z1, z2)


def hierarchical_contrastive_loss(z1, z2, alpha: float = 0.5, temporal_unit: int = 0):
    """Sum of α·instance + (1 − α)·temporal losses over scales (max-pool by 2 until length 1), averaged."""
    loss, depth = z1.new_zeros(()), 0
    while z1.shape[1] > 1:
        loss = loss + alpha * instance_contrastive_loss(z1, z2)
        if depth >= temporal_unit:
            loss = loss + (1 - alpha) * temporal_contrastive_loss(z1, z2)
        depth += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    if z1.shape[1] == 1:
        loss = loss + alpha * instance_contrastive_loss(z1, z2)
        depth += 1
    return loss / depth


# training -----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _single_thread():
    """One intra-op thread for batches of 8 short windows, which are too small to split across threads; the
    previous thread count is restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _randint(low: int, high: int, rng: torch.Generator, size=()) -> torch.Tensor:
    """Uniform integers in [low, high) (high > low)."""
    return torch.randint(low, high, size, generator=rng)


def _take_per_row(x: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """Rows of ``x`` (B, T, C) cut at per-row ``starts`` to ``length`` steps; out-of-range steps are zero."""
    steps = starts[:, None] + torch.arange(length)[None, :]  # B × L
    valid = (steps >= 0) & (steps < x.shape[1])
    picked = x[torch.arange(x.shape[0])[:, None], steps.clamp(0, x.shape[1] - 1)]
    return picked * valid.unsqueeze(-1).to(x.dtype)


def _train_step(net, optimiser, batch, rng, temporal_unit: int = 0, device=torch.device("cpu")) -> torch.Tensor:
    """One TS2Vec step: two overlapping random crops (with random extensions), contrast their overlap.
    ``batch`` and the crops are cut on the CPU and moved to ``device``; returns the loss (on ``device``)."""
    T = batch.shape[1]
    crop_l = int(_randint(2 ** (temporal_unit + 1), T + 1, rng)) if T >= 2 ** (temporal_unit + 1) else T
    crop_left = int(_randint(0, T - crop_l + 1, rng))
    crop_right = crop_left + crop_l
    crop_eleft = int(_randint(0, crop_left + 1, rng))
    crop_eright = int(_randint(crop_right, T + 1, rng))
    offset = _randint(-crop_eleft, T - crop_eright + 1, rng, size=(batch.shape[0],))
    mask1 = torch.rand(batch.shape[0], crop_right - crop_eleft, generator=rng) < 0.5
    mask2 = torch.rand(batch.shape[0], crop_eright - crop_left, generator=rng) < 0.5
    view1 = _to(_take_per_row(batch, offset + crop_eleft, crop_right - crop_eleft), device)
    view2 = _to(_take_per_row(batch, offset + crop_left, crop_eright - crop_left), device)
    out1 = net(view1, _to(mask1, device))[:, -crop_l:]
    out2 = net(view2, _to(mask2, device))[:, :crop_l]
    loss = hierarchical_contrastive_loss(out1, out2, temporal_unit=temporal_unit)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return loss.detach()


class _WeightAverage:
    """The stochastic weight average of the iterates with ``torch.optim.swa_utils.AveragedModel``'s CPU
    arithmetic (the first update copies, then ``a + (p − a) / (n + 1)``), its count ``n`` kept on the host so
    that an update never reads the device (``AveragedModel`` tests its count on the module's device)."""

    def __init__(self, net: nn.Module):
        self.module = copy.deepcopy(net)
        self.n_averaged = torch.tensor(0, dtype=torch.long)  # on the CPU, whatever the module's device

    @torch.no_grad()
    def update_parameters(self, net: nn.Module) -> None:
        first = bool(self.n_averaged == 0)
        for averaged, current in zip(self.module.parameters(), net.parameters(), strict=True):
            if first:
                averaged.detach().copy_(current.detach())
            else:
                averaged.detach().copy_(averaged.detach() + (current.detach() - averaged.detach())
                                        / (self.n_averaged + 1))
        self.n_averaged += 1


def _check_loss(finite: torch.Tensor, last: torch.Tensor) -> None:
    """Raise :class:`~tsbench.errors.CellFailure` when a loss since the last check was not finite (a host read:
    called every :data:`CHECK_EVERY` steps and after the last)."""
    if not bool(finite):
        from tsbench.errors import CellFailure

        raise CellFailure(f"TS2Vec encoder: non-finite contrastive loss {float(last)}; check the input scaling")


def train_encoder(X: np.ndarray, settings: EncoderSettings, seed: int, device="cpu") -> TSEncoder:
    """Fit a TS2Vec encoder on windows ``X`` (n, T, n_features) on ``device``; returns the SWA-averaged encoder
    (eval mode, on ``device``).

    Dropout masks use torch's default (CPU) generator inside a forked RNG state seeded from ``seed``, so the
    global RNG is untouched and the result is deterministic; every draw is made on the CPU, so every device
    trains from the same weights on the same crops and masks.
    """
    device = torch.device(device)
    rng = torch.Generator().manual_seed(int(seed))
    data = torch.as_tensor(np.asarray(X, dtype=np.float32))
    if settings.max_train_windows is not None and len(data) > settings.max_train_windows:
        data = data[torch.randperm(len(data), generator=rng)[:settings.max_train_windows]]
    inner_seed = int(torch.randint(0, 2**62, (1,), generator=rng))
    with torch.random.fork_rng(devices=[]), _single_thread():
        torch.manual_seed(inner_seed)  # module init and dropout only; restored on exit
        net = TSEncoder(data.shape[2], settings.hidden_dim, settings.output_dim, settings.depth).to(device)
        swa = _WeightAverage(net)
        optimiser = torch.optim.AdamW(net.parameters(), lr=settings.lr)
        batch_size = min(settings.batch_size, len(data))
        order, position = torch.randperm(len(data), generator=rng), 0
        finite = last = None
        net.train()
        for step in range(1, settings.n_iterations(np.asarray(X)) + 1):
            if position + batch_size > len(order):  # epochs of shuffled batches, as a DataLoader would
                order, position = torch.randperm(len(data), generator=rng), 0
            batch = data[order[position:position + batch_size]]
            position += batch_size
            last = _train_step(net, optimiser, batch, rng, device=device)
            finite = torch.isfinite(last) if finite is None else finite & torch.isfinite(last)
            if step % CHECK_EVERY == 0:
                _check_loss(finite, last)
            swa.update_parameters(net)
        if finite is not None:
            _check_loss(finite, last)
    encoder = swa.module
    encoder.eval()
    return encoder


@torch.no_grad()
def encode(encoder: TSEncoder, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Full-series representations max-pooled over time: ``(n, T, F)`` → float64 ``(n, output_dim)``, computed
    on the encoder's device."""
    encoder.eval()
    device = next(encoder.parameters()).device
    data = torch.as_tensor(np.asarray(X, dtype=np.float32))
    out = [encoder(_to(data[i:i + batch_size], device)).amax(dim=1) for i in range(0, len(data), batch_size)]
    return torch.cat(out).double().cpu().numpy()


# cache --------------------------------------------------------------------------------------------
_MEMORY: "OrderedDict[str, TSEncoder]" = OrderedDict()
_MEMORY_SIZE = 8


def cache_dir() -> Path:
    """``$TSBENCH_CACHE/encoders`` (default ``pooch.os_cache("tsbench")/encoders``)."""
    root = os.environ.get("TSBENCH_CACHE")
    if not root:
        import pooch

        root = str(pooch.os_cache("tsbench"))
    return Path(root) / "encoders"


def fingerprint(X: np.ndarray) -> str:
    """sha256 of the windows' shape and float32 bytes."""
    arr = np.ascontiguousarray(X, dtype=np.float32)
    digest = hashlib.sha256(repr(arr.shape).encode())
    digest.update(arr.tobytes())
    return digest.hexdigest()


def cache_key(X: np.ndarray, settings: EncoderSettings, seed: int) -> str:
    payload = json.dumps({"data": fingerprint(X), "seed": int(seed), "settings": asdict(settings),
                          "version": ENCODER_VERSION, "torch": torch.__version__.split("+")[0]},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def fit_encoder(X: np.ndarray, settings: EncoderSettings, seed: int, *, use_disk: bool = True,
                device="cpu") -> TSEncoder:
    """The TS2Vec encoder for (``X``, ``settings``, ``seed``) on ``device``: from memory, from disk, or trained
    now (on ``device``)."""
    device = torch.device(device)
    key = cache_key(X, settings, seed)
    if key in _MEMORY:
        _MEMORY.move_to_end(key)
        return _MEMORY[key].to(device)
    path = cache_dir() / f"{key}.pt"
    encoder = None
    if use_disk and path.exists():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            encoder = TSEncoder(X.shape[2], settings.hidden_dim, settings.output_dim, settings.depth)
            encoder.load_state_dict(state)
            encoder.to(device).eval()
        except Exception:  # a corrupt or stale file: retrain and overwrite
            encoder = None
    if encoder is None:
        encoder = train_encoder(X, settings, seed, device)
        if use_disk:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            torch.save(_cpu_state(encoder), tmp)
            os.replace(tmp, path)  # atomic: concurrent processes never read a partial file
    _MEMORY[key] = encoder
    while len(_MEMORY) > _MEMORY_SIZE:
        _MEMORY.popitem(last=False)
    return encoder


def _cpu_state(encoder: TSEncoder) -> dict:
    """``encoder.state_dict()`` with its tensors on the CPU (the same object when they already are)."""
    state = encoder.state_dict()
    if all(v.device.type == "cpu" for v in state.values()):
        return state
    cpu = OrderedDict((k, v.cpu()) for k, v in state.items())
    cpu._metadata = getattr(state, "_metadata", None)  # noqa: SLF001  (load_state_dict reads it)
    return cpu


def clear_memory_cache() -> None:
    _MEMORY.clear()
