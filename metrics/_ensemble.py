"""Batched ensembles of small GRUs: ``R`` independent networks trained as one.

The post-hoc metrics (discriminative and predictive score) train the same tiny GRU once per metric repeat.
Here all repeats are one model whose parameters carry a leading repeat axis ``R``; every repeat has its
own initialisation (own seed), its own mini-batches and its own data split, and because the loss is the
*sum* of the per-repeat losses and Adam is element-wise, each repeat's parameters follow exactly the
trajectory they would follow alone. Only the arithmetic is shared, so 10 repeats cost about as much as one
or two single runs.

Layout: the batch axis is last so every per-step operation runs on contiguous ``(R, H, B)`` blocks: inputs
are ``x (R, D, T, B)`` (repeat, feature, step, batch row), hidden states ``(T, R, H, B)``; column ``b`` of
repeat ``r`` is an unrelated window of that repeat's own batch.

Speed: a GRU this small (hidden 2–16) is dominated by per-operation overhead, so the recurrence is a
hand-written forward/backward (:class:`_GRUSequence`) rather than autograd through the loop: input
projections for all steps are one matmul; the time loop does only the hidden matmul (block-diagonal over
repeats when ``R·H`` is small, a batched matmul otherwise) and a few fused element-wise ops; weight
gradients are accumulated after the loop in one batched matmul.

Two cells (gate order ``r, z, n`` in the last axis of ``w_ih``/``w_hh``):

* ``"tf1"`` — TensorFlow 1 ``GRUCell`` (Cho et al. 2014): ``c = tanh(W_c x + U_c (r ⊙ h) + b_c)``,
  ``h' = u ⊙ h + (1 − u) ⊙ c``, one bias, gate bias initialised to 1, Glorot-uniform kernels over the
  concatenated ``[x, h]`` (this is what the TimeGAN reference code trains).
* ``"torch"`` — ``torch.nn.GRU``: ``n = tanh(W_n x + b_in + r ⊙ (U_n h + b_hn))``, ``h' = (1 − z) ⊙ n + z ⊙ h``,
  initialised ``U(−1/√H, 1/√H)`` like ``torch.nn.GRU``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

CELLS = ("tf1", "torch")
_BLOCK_DIAGONAL_MAX = 64  # R·H up to which one block-diagonal matmul beats a batched matmul
_tanh_backward = torch.ops.aten.tanh_backward.grad_input
_sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input


class _HiddenMatmul:
    """``Wᵀ h`` for a per-repeat ``W (R, I, K)`` and ``h (R, I, B)`` → ``(R, K, B)``, and its transpose."""

    def __init__(self, w: torch.Tensor):
        R, i, k = w.shape
        self.shape = (R, i, k)
        self.wt = w.transpose(1, 2)
        self.block = R * max(i, k) <= _BLOCK_DIAGONAL_MAX
        if self.block:  # one (R·K, R·I) matrix: a single small GEMM instead of R tiny ones
            eye = torch.eye(R, dtype=w.dtype, device=w.device)
            self.blk = (eye[:, None, :, None] * self.wt[:, :, None, :]).reshape(R * k, R * i)
            self.blk_t = self.blk.T

    def __call__(self, h, add, out):
        """``out = add + Wᵀ h``; ``add`` is ``(R, K, B)`` or ``(R, K, 1)``."""
        R, i, k = self.shape
        if self.block:
            torch.addmm(add.reshape(R * k, -1), self.blk, h.reshape(R * i, -1), out=out.view(R * k, -1))
        else:
            torch.baddbmm(add, self.wt, h, out=out)
        return out

    def transposed(self, g, add=None):
        """``add + W g`` for ``g (R, K, B)`` → ``(R, I, B)``."""
        R, i, k = self.shape
        B = g.shape[-1]
        if self.block:
            flat = g.reshape(R * k, B)
            out = self.blk_t @ flat if add is None else torch.addmm(add.reshape(R * i, B), self.blk_t, flat)
            return out.view(R, i, B)
        w = self.wt.transpose(1, 2)
        return torch.bmm(w, g) if add is None else torch.baddbmm(add, w, g)


def _batched(a: torch.Tensor) -> torch.Tensor:
    """``(R, K, T, B)`` → ``(R, K, T·B)`` (a view when the last two axes are contiguous)."""
    return a.reshape(a.shape[0], a.shape[1], -1)


class _GRUSequence(torch.autograd.Function):
    """All hidden states ``(T, R, H, B)`` of an ensemble GRU for inputs ``x (R, D, T, B)``, with a
    hand-written backward pass (see the module docstring for the layout)."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, cell):
        R, D, T, B = x.shape
        H = w_hh.shape[1]
        xb = _batched(x)
        # input halves of all gates for all steps: two batched matmuls, kept as (R, K, T, B)
        gi_g = torch.bmm(w_ih[..., :2 * H].transpose(1, 2), xb).add_(b_ih[:, :2 * H, None]).view(R, 2 * H, T, B)
        gi_c = torch.bmm(w_ih[..., 2 * H:].transpose(1, 2), xb).add_(b_ih[:, 2 * H:, None]).view(R, H, T, B)
        states = x.new_zeros(T + 1, R, H, B)
        gates = x.new_empty(T, R, 2 * H, B)  # r, u (tf1) or r, z (torch) after the sigmoid
        cand = x.new_empty(T, R, H, B)  # candidate state after tanh
        extra = x.new_empty(T, R, H, B)  # tf1: r ⊙ h; torch: U_n h + b_hn
        if cell == "tf1":
            mm_g, mm_c = _HiddenMatmul(w_hh[..., :2 * H]), _HiddenMatmul(w_hh[..., 2 * H:])
            ctx.matmuls = (mm_g, mm_c)
            for t in range(T):
                h = states[t]
                mm_g(h, gi_g[:, :, t], gates[t]).sigmoid_()
                torch.mul(gates[t, :, :H], h, out=extra[t])
                mm_c(extra[t], gi_c[:, :, t], cand[t]).tanh_()
                torch.lerp(cand[t], h, gates[t, :, H:], out=states[t + 1])
        else:
            mm = _HiddenMatmul(w_hh)
            ctx.matmuls = (mm,)
            gh = x.new_empty(R, 3 * H, B)
            bias = b_hh[:, :, None]
            for t in range(T):
                h = states[t]
                mm(h, bias, gh)
                torch.add(gi_g[:, :, t], gh[:, :2 * H], out=gates[t]).sigmoid_()
                extra[t].copy_(gh[:, 2 * H:])
                torch.addcmul(gi_c[:, :, t], gates[t, :, :H], extra[t], out=cand[t]).tanh_()
                torch.lerp(cand[t], h, gates[t, :, H:], out=states[t + 1])
        ctx.cell = cell
        ctx.save_for_backward(x, states, gates, cand, extra)
        return states[1:]

    @staticmethod
    def backward(ctx, grad_out):
        x, states, gates, cand, extra = ctx.saved_tensors
        T, R, H, B = grad_out.shape
        d_gi = x.new_empty(R, 3 * H, T, B)  # gradients of the gate and candidate pre-activations
        d_g, d_c = d_gi[:, :2 * H], d_gi[:, 2 * H:]
        dh = torch.zeros_like(states[0])
        if ctx.cell == "tf1":
            mm_g, mm_c = ctx.matmuls
            for t in range(T - 1, -1, -1):
                dh = dh + grad_out[t]
                h, r, u, c = states[t], gates[t, :, :H], gates[t, :, H:], cand[t]
                dg, dc = d_g[:, :, t], d_c[:, :, t]
                dhu = dh * u
                _tanh_backward(dh - dhu, c, grad_input=dc)
                drh = mm_c.transposed(dc)
                torch.mul(drh, h, out=dg[:, :H])
                torch.mul(dh, h - c, out=dg[:, H:])
                _sigmoid_backward(dg, gates[t], grad_input=dg)
                dh = mm_g.transposed(dg, torch.addcmul(dhu, drh, r))
            prev = _batched(states[:-1].permute(1, 2, 0, 3))
            d_hh = torch.cat([torch.bmm(prev, _batched(d_g).transpose(1, 2)),
                              torch.bmm(_batched(extra.permute(1, 2, 0, 3)), _batched(d_c).transpose(1, 2))], dim=-1)
            d_bhh = None
        else:
            (mm,) = ctx.matmuls
            d_gh = x.new_empty(R, 3 * H, T, B)
            for t in range(T - 1, -1, -1):
                dh = dh + grad_out[t]
                h, r, z, n = states[t], gates[t, :, :H], gates[t, :, H:], cand[t]
                dg, dc, dgh = d_g[:, :, t], d_c[:, :, t], d_gh[:, :, t]
                dhz = dh * z
                _tanh_backward(dh - dhz, n, grad_input=dc)
                torch.mul(dc, r, out=dgh[:, 2 * H:])
                torch.mul(dc, extra[t], out=dg[:, :H])
                torch.mul(dh, h - n, out=dg[:, H:])
                _sigmoid_backward(dg, gates[t], grad_input=dg)
                dgh[:, :2 * H] = dg
                dh = mm.transposed(dgh, dhz)
            prev = _batched(states[:-1].permute(1, 2, 0, 3))
            d_hh = torch.bmm(prev, _batched(d_gh).transpose(1, 2))
            d_bhh = d_gh.sum(dim=(2, 3))
        d_ih = torch.bmm(_batched(x), _batched(d_gi).transpose(1, 2))
        d_bih = d_gi.sum(dim=(2, 3))
        return None, d_ih, d_bih, d_hh, d_bhh, None


@dataclass
class EnsembleGRU:
    """Parameters of ``R`` independent one-layer GRUs followed by a linear head ``H → out``.

    ``w_ih (R, D, 3H)``, ``b_ih (R, 3H)``, ``w_hh (R, H, 3H)``, ``b_hh (R, 3H)`` (unused by ``"tf1"``),
    ``w_out (R, H, out)``, ``b_out (R, out)``.
    """

    cell: str
    w_ih: torch.Tensor
    b_ih: torch.Tensor
    w_hh: torch.Tensor
    b_hh: torch.Tensor
    w_out: torch.Tensor
    b_out: torch.Tensor

    @classmethod
    def init(cls, seeds, n_inputs: int, hidden: int, n_outputs: int, *, cell: str = "tf1") -> "EnsembleGRU":
        """One network per seed, each initialised from its own ``torch.Generator``."""
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        parts = [_init_one(int(s), n_inputs, hidden, n_outputs, cell) for s in seeds]
        stacked = [torch.stack(p).requires_grad_() for p in zip(*parts)]
        return cls(cell, *stacked)

    @property
    def n_repeats(self) -> int:
        return self.w_ih.shape[0]

    def parameters(self) -> list[torch.Tensor]:
        params = [self.w_ih, self.b_ih, self.w_hh, self.w_out, self.b_out]
        return params + ([self.b_hh] if self.cell == "torch" else [])

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """``x (R, D, T, B) → (T, R, H, B)`` (all hidden states; the last is ``[-1]``)."""
        return _GRUSequence.apply(x.contiguous(), self.w_ih, self.b_ih, self.w_hh, self.b_hh, self.cell)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """Linear head on hidden states ``(..., R, H, B) → (..., R, out, B)`` (one weight per repeat)."""
        return torch.einsum("...rhb,rho->...rob", h, self.w_out) + self.b_out[..., None]


def _glorot(shape, fan_in, fan_out, generator):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(shape, generator=generator) * 2 - 1) * limit


def _init_one(seed, D, H, O, cell):
    g = torch.Generator().manual_seed(seed)
    if cell == "tf1":
        # tf.nn.rnn_cell.GRUCell: gate kernel ([x, h] → 2H) and candidate kernel ([x, h] → H) Glorot-uniform
        # over the concatenated input, gate bias 1, candidate bias 0; fully_connected: Glorot weights, bias 0.
        gate = _glorot((D + H, 2 * H), D + H, 2 * H, g)
        candidate = _glorot((D + H, H), D + H, H, g)
        w_ih = torch.cat([gate[:D], candidate[:D]], dim=1)
        w_hh = torch.cat([gate[D:], candidate[D:]], dim=1)
        b_ih = torch.cat([torch.ones(2 * H), torch.zeros(H)])
        b_hh = torch.zeros(3 * H)
        w_out = _glorot((H, O), H, O, g)
        b_out = torch.zeros(O)
    else:
        # torch.nn.GRU: every weight and bias U(-1/√H, 1/√H); torch.nn.Linear: U(-1/√H, 1/√H)
        k = 1.0 / math.sqrt(H)

        def u(*shape):
            return (torch.rand(shape, generator=g) * 2 - 1) * k

        w_ih, w_hh, b_ih, b_hh = u(D, 3 * H), u(H, 3 * H), u(3 * H), u(3 * H)
        w_out, b_out = u(H, O), u(O)
    return w_ih, b_ih, w_hh, b_hh, w_out, b_out


def adam(params, lr: float = 1e-3):
    """Adam with TensorFlow's defaults (β = 0.9, 0.999; ε = 1e-8). Element-wise, so repeats stay independent."""
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, foreach=True)


class BatchSampler:
    """Per-repeat mini-batch indices: each repeat draws ``batch_size`` distinct rows of its own pool
    (``np.random.Generator.choice`` without replacement, like the reference code's
    ``np.random.permutation(n)[:batch_size]``) from its own generator.

    ``pools`` is a list of ``R`` integer arrays (row indices into the full data); :meth:`draw` returns a
    ``(B, R)`` LongTensor of data rows.
    """

    def __init__(self, pools, batch_size: int, rngs):
        self.pools = [np.asarray(p) for p in pools]
        self.batch_size = [min(batch_size, len(p)) for p in self.pools]
        self.rngs = rngs
        self.size = min(self.batch_size)

    def draw(self) -> torch.Tensor:
        cols = [pool[rng.choice(len(pool), self.size, replace=False)]
                for pool, rng in zip(self.pools, self.rngs)]
        return torch.from_numpy(np.stack(cols, axis=1))
