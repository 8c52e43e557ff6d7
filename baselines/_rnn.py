"""A TensorFlow-1 ``GRUCell`` stack in PyTorch, with a hand-written sequence backward.

Equations (``tf.nn.rnn_cell.GRUCell``, the cell of the TimeGAN reference code), per step with
input ``x`` (B, I) and state ``h`` (B, H)::

    r, u = split(sigmoid([x, h] @ gate_kernel + gate_bias))      # gate_kernel (I+H, 2H)
    c    = tanh([x, r * h] @ candidate_kernel + candidate_bias)   # candidate_kernel (I+H, H)
    h'   = u * h + (1 - u) * c

(``torch.nn.GRU`` differs: it applies the reset gate *after* the hidden matmul and names the gates
differently.) Initialisation ``"tf1"`` is TF1's: Glorot-uniform kernels over the concatenated
``(I+H, ·)`` shape, gate bias 1.0, candidate bias 0. ``"torch"`` is ``nn.GRU``'s: every parameter
U(−1/√H, 1/√H).

Speed: the input projections of all time steps are one matmul; a forward step is 6 small ops and a
backward step about 10; weight gradients are one matmul per kernel over all steps. Weight gradients
are only computed when requested (``torch.autograd.grad`` on other parameters skips them). Tensors are
time-major ``(T, B, features)`` throughout.
"""
from __future__ import annotations

import math

import torch
from torch import nn

_tanh_backward = torch.ops.aten.tanh_backward
_sigmoid_backward = torch.ops.aten.sigmoid_backward


class _TF1GRUSequence(torch.autograd.Function):
    """One GRU layer over a whole sequence: ``x`` (T, B, I) → outputs (T, B, H), zero initial state."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)  # float32 core under autocast
    def forward(ctx, x, gate_kernel, gate_bias, cand_kernel, cand_bias):
        T, B, I = x.shape
        H = cand_bias.shape[0]
        w_gh, w_ch = gate_kernel[I:], cand_kernel[I:]
        flat = x.reshape(T * B, I)
        gx = torch.addmm(gate_bias, flat, gate_kernel[:I]).view(T, B, 2 * H)
        cx = torch.addmm(cand_bias, flat, cand_kernel[:I]).view(T, B, H)
        out = x.new_empty(T, B, H)
        gates = x.new_empty(T, B, 2 * H)  # sigmoid outputs [r, u]
        r_h = x.new_empty(T, B, H)  # r * h_prev
        cand = x.new_empty(T, B, H)  # tanh outputs
        h = x.new_zeros(B, H)
        # per-step views made once (indexing in the loop costs more than the small ops themselves)
        steps = zip(gx.unbind(0), cx.unbind(0), gates.unbind(0), gates[:, :, :H].unbind(0),
                    gates[:, :, H:].unbind(0), r_h.unbind(0), cand.unbind(0), out.unbind(0))
        for gx_t, cx_t, g_t, r_t, u_t, rh_t, c_t, out_t in steps:
            torch.addmm(gx_t, h, w_gh, out=g_t).sigmoid_()
            torch.mul(r_t, h, out=rh_t)
            torch.addmm(cx_t, rh_t, w_ch, out=c_t).tanh_()
            h = torch.lerp(c_t, h, u_t, out=out_t)
        ctx.save_for_backward(x, gate_kernel, cand_kernel, out, gates, r_h, cand)
        return out

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad_out):
        x, gate_kernel, cand_kernel, out, gates, r_h, cand = ctx.saved_tensors
        need_x, need_gk, need_gb, need_ck, need_cb = ctx.needs_input_grad
        T, B, I = x.shape
        H = out.shape[2]
        w_gh_t, w_ch_t = gate_kernel[I:].t(), cand_kernel[I:].t()
        grad_out = grad_out.contiguous()
        d_gates = x.new_empty(T, B, 2 * H)  # gradients of the gate pre-activations
        d_cand = x.new_empty(T, B, H)  # gradients of the candidate pre-activations
        d_sig = x.new_empty(B, 2 * H)
        zeros = x.new_zeros(B, H)
        d_sig_r, d_sig_u = d_sig[:, :H], d_sig[:, H:]
        h_prev = [zeros, *out[:-1].unbind(0)]
        steps = zip(range(T - 1, -1, -1), reversed(h_prev), reversed(gates.unbind(0)),
                    reversed(gates[:, :, :H].unbind(0)), reversed(gates[:, :, H:].unbind(0)),
                    reversed(cand.unbind(0)), reversed(d_gates.unbind(0)), reversed(d_cand.unbind(0)))
        grads = grad_out.unbind(0)
        dh = grads[T - 1]
        for t, hp, g, r, u, c, dg_t, dc_t in steps:
            dh_u = dh * u
            dac = _tanh_backward.grad_input(dh - dh_u, c, grad_input=dc_t)
            drh = torch.mm(dac, w_ch_t)
            torch.mul(drh, hp, out=d_sig_r)
            torch.mul(dh, hp - c, out=d_sig_u)
            dag = _sigmoid_backward.grad_input(d_sig, g, grad_input=dg_t)
            dh = torch.addcmul(dh_u, drh, r).addmm_(dag, w_gh_t)
            if t > 0:
                dh += grads[t - 1]
        flat_dg, flat_dc = d_gates.view(T * B, 2 * H), d_cand.view(T * B, H)
        dx = dgk = dgb = dck = dcb = None
        if need_x:
            dx = torch.addmm(torch.mm(flat_dc, cand_kernel[:I].t()), flat_dg, gate_kernel[:I].t()).view(T, B, I)
        if need_gk:
            h_prev_all = torch.cat([zeros.unsqueeze(0), out[:-1]], 0)
            dgk = torch.mm(torch.cat([x, h_prev_all], 2).view(T * B, I + H).t(), flat_dg)
        if need_ck:
            dck = torch.mm(torch.cat([x, r_h], 2).view(T * B, I + H).t(), flat_dc)
        if need_gb:
            dgb = flat_dg.sum(0)
        if need_cb:
            dcb = flat_dc.sum(0)
        return dx, dgk, dgb, dck, dcb


class TF1GRULayer(nn.Module):
    """One ``GRUCell`` layer (parameters named and shaped as in TF1)."""

    def __init__(self, input_size: int, hidden_size: int, init: str = "tf1"):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.gate_kernel = nn.Parameter(torch.empty(input_size + hidden_size, 2 * hidden_size))
        self.gate_bias = nn.Parameter(torch.empty(2 * hidden_size))
        self.candidate_kernel = nn.Parameter(torch.empty(input_size + hidden_size, hidden_size))
        self.candidate_bias = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters(init)

    def reset_parameters(self, init: str = "tf1") -> None:
        with torch.no_grad():
            if init == "tf1":
                nn.init.xavier_uniform_(self.gate_kernel)
                nn.init.xavier_uniform_(self.candidate_kernel)
                self.gate_bias.fill_(1.0)
                self.candidate_bias.zero_()
            elif init == "torch":
                bound = 1.0 / math.sqrt(self.hidden_size)
                for p in self.parameters():
                    p.uniform_(-bound, bound)
            else:
                raise ValueError(f"init must be 'tf1' or 'torch', got {init!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (T, B, input_size) → (T, B, hidden_size)."""
        return _TF1GRUSequence.apply(x.contiguous(), self.gate_kernel, self.gate_bias,
                                     self.candidate_kernel, self.candidate_bias)


class TF1GRU(nn.Module):
    """A stack of ``num_layers`` GRUCell layers (``MultiRNNCell``); time-major (T, B, I) → (T, B, H)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, init: str = "tf1"):
        super().__init__()
        self.layers = nn.ModuleList(
            TF1GRULayer(input_size if k == 0 else hidden_size, hidden_size, init) for k in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def reference_gru(x: torch.Tensor, layers: TF1GRU) -> torch.Tensor:
    """The same stack written step by step with autograd ops (a slow reference for tests)."""
    for layer in layers.layers:
        T, B, _ = x.shape
        H = layer.hidden_size
        h = x.new_zeros(B, H)
        outs = []
        for t in range(T):
            g = torch.sigmoid(torch.cat([x[t], h], 1) @ layer.gate_kernel + layer.gate_bias)
            r, u = g[:, :H], g[:, H:]
            c = torch.tanh(torch.cat([x[t], r * h], 1) @ layer.candidate_kernel + layer.candidate_bias)
            h = u * h + (1 - u) * c
            outs.append(h)
        x = torch.stack(outs)
    return x
