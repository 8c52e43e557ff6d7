"""Batched ensembles of small GRUs: ``R`` independent networks trained as one.

The post-hoc metrics (discriminative and predictive score, :mod:`tsbench.metrics`) train the same tiny GRU once per metric repeat.
Here all repeats are one model whose parameters carry a leading repeat axis ``R``; every repeat has its
own initialisation (own seed), its own mini-batches and its own data split, and because the loss is the
*sum* of the per-repeat losses and Adam is element-wise, each repeat's parameters follow exactly the
trajectory they would follow alone. Only the arithmetic is shared: the per-operation overhead, which
dominates GRUs this small, is paid once for all repeats instead of once per repeat.

Layout: the batch axis is last, so every per-step operation works on whole ``(rows, B)`` blocks: inputs are
``x (R, D, T, B)`` (repeat, feature, step, batch row), hidden states come back as ``(R, H, T, B)``; column
``b`` of repeat ``r`` is an unrelated window of that repeat's own batch.

Speed: a GRU this small (hidden 2–16) is dominated by per-operation overhead, so the recurrence is a
hand-written forward/backward (:class:`_GRUSequence`) rather than autograd through the loop: the input
projections of all steps are one batched matmul; a step is the recurrent matmul (one block-diagonal GEMM over
all repeats when ``R·H`` is small, a batched matmul otherwise) and a few element-wise ops on contiguous
blocks; weight gradients are batched matmuls after the loop (timings: ``tests/benchmarks``).

Two cells (gate order ``r, z, n`` in the last axis of ``w_ih``/``w_hh``):

* ``"tf1"`` — TensorFlow 1 ``GRUCell`` (Cho et al. 2014; :mod:`tsbench.nn.gru`): ``c = tanh(W_c x + U_c (r ⊙ h) + b_c)``,
  ``h' = u ⊙ h + (1 − u) ⊙ c``, one bias, initialised by :func:`tsbench.nn.gru.tf1_gru_parameters` (gate bias
  1, Glorot-uniform kernels over the concatenated ``[x, h]``: what the TimeGAN reference code trains), its
  ``[x, h]`` kernels split into ``w_ih`` (the ``x`` rows) and ``w_hh`` (the ``h`` rows).
* ``"torch"`` — ``torch.nn.GRU``: ``n = tanh(W_n x + b_in + r ⊙ (U_n h + b_hn))``, ``h' = (1 − z) ⊙ n + z ⊙ h``,
  initialised ``U(−1/√H, 1/√H)`` like ``torch.nn.GRU``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .gru import tf1_gru_parameters
from .init import glorot_uniform, symmetric_uniform, torch_gru_bound

CELLS = ("tf1", "torch")
_BLOCK_DIAGONAL_MAX = 64  # R·max(I, K·H) up to which one block-diagonal matmul beats a batched matmul


class _Recurrence:
    """The recurrent matmul of one GRU step for ``R`` repeats at once, on 2-D per-step views.

    ``w (R, I, K·H)`` holds ``K`` gates' recurrent weights per repeat. :meth:`forward_` adds ``Wᵀ h`` for
    ``h (R·I, B)`` (rows ordered repeat, unit) to ``out (K·R·H, B)`` (rows ordered gate, repeat, unit);
    :meth:`backward` is its transpose. Small ensembles (``R·max(I, K·H)`` up to ``_BLOCK_DIAGONAL_MAX``)
    use one block-diagonal GEMM, larger ones a batched matmul per gate.
    """

    def __init__(self, w: torch.Tensor, n_gates: int):
        R, I, KH = w.shape
        H = KH // n_gates
        self.dims = (n_gates, R, H, I)
        self.block = R * max(I, KH) <= _BLOCK_DIAGONAL_MAX
        per_gate = w.view(R, I, n_gates, H).permute(2, 0, 3, 1)  # (K, R, H, I): [g, r] = W_g[r]ᵀ
        if self.block:  # (K·R·H, R·I)
            eye = torch.eye(R, dtype=w.dtype, device=w.device)[None, :, None, :, None]
            self.mat = (per_gate[:, :, :, None, :] * eye).reshape(n_gates * R * H, R * I)
            self.mat_t = self.mat.T
        else:
            self.w_t = per_gate.contiguous()  # W_gᵀ (R, H, I) per gate
            self.w = self.w_t.transpose(2, 3)

    def forward_(self, h, out):
        """``out += Wᵀ h`` in place."""
        if self.block:
            return out.addmm_(self.mat, h)
        K, R, H, I = self.dims
        h3, outs = h.view(R, I, -1), out.view(K, R, H, -1)
        for g in range(K):
            outs[g].baddbmm_(self.w_t[g], h3)
        return out

    def backward(self, d, add=None):
        """``W d`` for ``d (K·R·H, B)`` → ``(R·I, B)``; with ``add``: ``add += W d`` in place."""
        if self.block:
            return self.mat_t @ d if add is None else add.addmm_(self.mat_t, d)
        K, R, H, I = self.dims
        ds = d.view(K, R, H, -1)
        out = torch.bmm(self.w[0], ds[0]) if add is None else add.view(R, I, -1).baddbmm_(self.w[0], ds[0])
        for g in range(1, K):
            out.baddbmm_(self.w[g], ds[g])
        return out.view(R * I, -1)


def _per_repeat(a: torch.Tensor, R: int) -> torch.Tensor:
    """Time-major ``(T, K, R·H, B)`` (or ``(T, R·H, B)``) → per repeat ``(R, K·H, T·B)`` (a copy)."""
    T, B = a.shape[0], a.shape[-1]
    a = a.view(T, -1, R, a.shape[-2] // R, B)
    return a.permute(2, 1, 3, 0, 4).reshape(R, -1, T * B)


def _weight_grad(grads: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``Σ_n inputs ⊗ grads`` per repeat: ``grads (R, K, N)``, ``inputs (R, I, N)`` → ``(R, I, K)``."""
    return torch.bmm(grads, inputs.transpose(1, 2)).transpose(1, 2)


class _GRUSequence(torch.autograd.Function):
    """Hidden states of an ensemble GRU for inputs ``x (R, D, T, B)``: all of them ``(R, H, T, B)`` (a view),
    or only the last ``(R, H, B)`` when ``sequence`` is false; with a hand-written backward pass.

    Internally everything is time-major and gate-major, ``(T, gate, R·H, B)``: a step's slice of any buffer
    is one contiguous 2-D block (rows gate, repeat, unit; the batch in the columns), ready for the recurrent
    GEMM and cache- and TLB-friendly for the element-wise work. The input projection of all steps is one
    batched matmul; the loop adds the recurrent part in place. All per-step views are made before the loop
    (``unbind``), so a step costs six tensor operations forward and at most seven backward; the derivative factors
    that do not depend on the incoming gradient (``σ'``, ``tanh'`` and the products they enter) are
    computed for all steps at once, and the weight gradients are batched matmuls after the loop.
    """

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, cell, sequence):
        R, D, T, B = x.shape
        H = w_hh.shape[1]
        RH = R * H
        x = x.reshape(R, D, T * B)
        # input part of the pre-activations, all steps; the loop adds the recurrent part in place and leaves
        # σ(r), σ(u) (torch: σ(z)) and tanh(candidate) in gate rows 0, 1, 2
        pre = x.new_empty(T, 3, RH, B)
        projection = torch.bmm(w_ih.transpose(1, 2), x).view(R, 3, H, T, B).permute(3, 1, 0, 2, 4)
        torch.add(projection, b_ih.view(R, 3, H).transpose(0, 1)[None, :, :, :, None], out=pre.view(T, 3, R, H, B))
        # buffers written step by step are zero-filled up front: one bulk first touch instead of many small
        # cold writes inside the loop
        states = x.new_zeros(T + 1, RH, B)
        hs = states.unbind(0)
        steps = (hs[:-1], hs[1:], pre[:, :2].reshape(T, 2 * RH, B).unbind(0), pre[:, 0].unbind(0),
                 pre[:, 1].unbind(0), pre[:, 2].unbind(0))
        if cell == "tf1":
            rec_g, rec_c = _Recurrence(w_hh[..., :2 * H], 2), _Recurrence(w_hh[..., 2 * H:], 1)
            extra = x.new_zeros(T, RH, B)  # r ⊙ h
            for h, h1, g, r, u, c, rh in zip(*steps, extra.unbind(0)):
                rec_g.forward_(h, g).sigmoid_()
                torch.mul(r, h, out=rh)
                rec_c.forward_(rh, c).tanh_()
                torch.lerp(c, h, u, out=h1)
            ctx.recurrences = (rec_g, rec_c)
        else:
            rec = _Recurrence(w_hh, 3)
            extra = b_hh.view(R, 3, H).transpose(0, 1).reshape(1, 3, RH, 1).expand(T, 3, RH, B).contiguous()
            for h, h1, g, r, z, c, gh, gh_g, gh_c in zip(*steps, extra.view(T, 3 * RH, B).unbind(0),
                                                          extra[:, :2].reshape(T, 2 * RH, B).unbind(0),
                                                          extra[:, 2].unbind(0)):  # extra: U h + b_hh
                rec.forward_(h, gh)
                g.add_(gh_g).sigmoid_()
                c.addcmul_(r, gh_c).tanh_()
                torch.lerp(c, h, z, out=h1)
            ctx.recurrences = (rec,)
        ctx.cell, ctx.sequence = cell, sequence
        ctx.save_for_backward(x, states, pre, extra)
        if sequence:
            return states[1:].view(T, R, H, B).permute(1, 2, 0, 3)
        return states[T].view(R, H, B)

    @staticmethod
    def backward(ctx, grad_out):
        x, states, pre, extra = ctx.saved_tensors
        T, _, RH, B = pre.shape
        R = x.shape[0]
        H = RH // R
        prev, r, u, c = states[:-1], pre[:, 0], pre[:, 1], pre[:, 2]  # u is z for the torch cell
        # dh: gradient w.r.t. the step's output h_{t+1}; incoming[t]: the outputs' own gradient for h_t,
        # added while forming the gradient w.r.t. h_t (none for h_0, whose gradient is never formed)
        if ctx.sequence:
            grads = grad_out.permute(2, 0, 1, 3).reshape(T, RH, B).unbind(0)
            dh, incoming = grads[-1], (None,) + grads[:-1]
        else:
            dh, incoming = grad_out.reshape(RH, B), (None,) * T
        # factors independent of the incoming gradient dh, all steps at once: the gradient of the candidate
        # pre-activation is dh ⊙ f_c, of the u/z pre-activation dh ⊙ f_u
        f_c = (1 - u) * (1 - c * c)
        f_u = (prev - c) * u * (1 - u)
        d_pre = torch.zeros_like(pre)  # gradients of the pre-activations (tf1) or of U h + b_hh (torch)
        common = (incoming, d_pre[:, 0].unbind(0), d_pre[:, 1].unbind(0), d_pre[:, 2].unbind(0), f_c.unbind(0),
                  f_u.unbind(0), r.unbind(0), u.unbind(0))
        if ctx.cell == "tf1":
            rec_g, rec_c = ctx.recurrences
            f_r = prev * r * (1 - r)  # gradient of the r pre-activation: d(r ⊙ h) ⊙ f_r
            d_g = d_pre[:, :2].reshape(T, 2 * RH, B).unbind(0)
            steps = list(zip(*common, d_g, f_r.unbind(0)))
            for t in range(T - 1, -1, -1):
                grad, dr, du, dc, fc, fu, r_, u_, dg, fr = steps[t]
                torch.mul(dh, fc, out=dc)
                drh = rec_c.backward(dc)  # gradient w.r.t. r ⊙ h
                torch.mul(drh, fr, out=dr)
                torch.mul(dh, fu, out=du)
                if t:
                    direct = torch.mul(dh, u_) if grad is None else torch.addcmul(grad, dh, u_)
                    dh = rec_g.backward(dg, direct.addcmul_(drh, r_))
            d_gi = _per_repeat(d_pre, R)  # (R, 3H, T·B)
            d_hh = torch.cat([_weight_grad(d_gi[:, :2 * H], _per_repeat(prev, R)),
                              _weight_grad(d_gi[:, 2 * H:], _per_repeat(extra, R))], dim=-1)
            d_bhh = None
        else:
            (rec,) = ctx.recurrences
            f_r = f_c * extra[:, 2] * r * (1 - r)  # gradient of the r pre-activation: dh ⊙ f_r
            d_cand = torch.zeros_like(c)  # gradient w.r.t. the candidate pre-activation
            d_gh = d_pre.view(T, 3 * RH, B).unbind(0)
            steps = list(zip(*common, d_gh, d_cand.unbind(0), f_r.unbind(0)))
            for t in range(T - 1, -1, -1):
                grad, dr, dz, dgh_c, fc, fu, r_, z_, dgh, dc, fr = steps[t]
                torch.mul(dh, fc, out=dc)
                torch.mul(dh, fr, out=dr)
                torch.mul(dh, fu, out=dz)
                torch.mul(dc, r_, out=dgh_c)
                if t:
                    dh = rec.backward(dgh, torch.mul(dh, z_) if grad is None else torch.addcmul(grad, dh, z_))
            d_gh = _per_repeat(d_pre, R)  # (R, 3H, T·B)
            d_hh = _weight_grad(d_gh, _per_repeat(prev, R))
            d_bhh = d_gh.sum(-1)
            d_gi = torch.cat([d_gh[:, :2 * H], _per_repeat(d_cand, R)], dim=1)
        d_ih = _weight_grad(d_gi, x)
        return None, d_ih, d_gi.sum(-1), d_hh, d_bhh, None, None


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
    def init(cls, seeds, n_inputs: int, hidden: int, n_outputs: int, *, cell: str = "tf1",
             device: torch.device | str = "cpu") -> "EnsembleGRU":
        """One network per seed, each initialised from its own CPU ``torch.Generator`` and then moved to
        ``device``: the same initial weights on every device."""
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        parts = [_init_one(int(s), n_inputs, hidden, n_outputs, cell) for s in seeds]
        stacked = [torch.stack(p).to(device).requires_grad_() for p in zip(*parts)]
        return cls(cell, *stacked)

    @property
    def device(self) -> torch.device:
        return self.w_ih.device

    @property
    def n_repeats(self) -> int:
        return self.w_ih.shape[0]

    def parameters(self) -> list[torch.Tensor]:
        params = [self.w_ih, self.b_ih, self.w_hh, self.w_out, self.b_out]
        return params + ([self.b_hh] if self.cell == "torch" else [])

    def hidden_states(self, x: torch.Tensor, *, sequence: bool = True) -> torch.Tensor:
        """``x (R, D, T, B) → (R, H, T, B)``, all hidden states; with ``sequence=False`` only the last,
        ``(R, H, B)`` (cheaper backward). ``x`` may be a strided view (e.g. a slice of steps)."""
        return _GRUSequence.apply(x, self.w_ih, self.b_ih, self.w_hh, self.b_hh, self.cell, sequence)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """Linear head on hidden states ``(R, H, ...) → (R, out, ...)`` (one weight per repeat)."""
        R, H, *rest = h.shape
        out = torch.baddbmm(self.b_out[:, :, None], self.w_out.transpose(1, 2), h.reshape(R, H, -1))
        return out.view(R, -1, *rest)


def _init_one(seed, D, H, O, cell):
    g = torch.Generator().manual_seed(seed)
    if cell == "tf1":
        # tf.nn.rnn_cell.GRUCell (tsbench.nn.gru), its [x, h] kernels split into the x and h rows;
        # fully_connected: Glorot weights, bias 0.
        gate, gate_bias, candidate, candidate_bias = tf1_gru_parameters(
            D, H, lambda shape: glorot_uniform(shape, g))
        w_ih = torch.cat([gate[:D], candidate[:D]], dim=1)
        w_hh = torch.cat([gate[D:], candidate[D:]], dim=1)
        b_ih = torch.cat([gate_bias, candidate_bias])
        b_hh = torch.zeros(3 * H)
        w_out = glorot_uniform((H, O), g)
        b_out = torch.zeros(O)
    else:
        # torch.nn.GRU: every weight and bias U(-1/√H, 1/√H); torch.nn.Linear: U(-1/√H, 1/√H)
        k = torch_gru_bound(H)

        def u(*shape):
            return symmetric_uniform(shape, k, g)

        w_ih, w_hh, b_ih, b_hh = u(D, 3 * H), u(H, 3 * H), u(3 * H), u(3 * H)
        w_out, b_out = u(H, O), u(O)
    return w_ih, b_ih, w_hh, b_hh, w_out, b_out


class BatchSampler:
    """Per-repeat mini-batch indices: each repeat draws ``batch_size`` distinct rows of its own pool
    (``np.random.Generator.choice`` without replacement, like the reference code's
    ``np.random.permutation(n)[:batch_size]``) from its own generator.

    ``pools`` is a list of ``R`` integer arrays (row indices into the full data); :meth:`draw` returns a
    ``(B, R)`` LongTensor of data rows, :meth:`draw_steps` the next ``n`` steps' rows at once as ``(n, R, B)``
    (the same numbers: each repeat's generator draws its own steps in order).
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

    def draw_steps(self, n: int) -> torch.Tensor:
        """The rows of the next ``n`` steps, ``(n, R, B)`` on the CPU: ``draw()`` ``n`` times, transposed."""
        per_repeat = [np.stack([pool[rng.choice(len(pool), self.size, replace=False)] for _ in range(n)])
                      for pool, rng in zip(self.pools, self.rngs)]  # R × (n, B)
        return torch.from_numpy(np.stack(per_repeat, axis=1))


__all__ = ["CELLS", "BatchSampler", "EnsembleGRU"]
