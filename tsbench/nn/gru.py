"""The TensorFlow 1 ``GRUCell`` (the cell of the TimeGAN reference code): its equations, its initialisation,
and a time-major stack of them for one network with a hand-written sequence backward.

Equations (``tf.nn.rnn_cell.GRUCell``), per step with input ``x`` (B, I) and state ``h`` (B, H)::

    r, u = split(sigmoid([x, h] @ gate_kernel + gate_bias))      # gate_kernel (I+H, 2H)
    c    = tanh([x, r * h] @ candidate_kernel + candidate_bias)   # candidate_kernel (I+H, H)
    h'   = u * h + (1 - u) * c

(``torch.nn.GRU`` differs: it applies the reset gate *after* the hidden matmul and names the gates
differently.) Initialisation (:func:`tf1_gru_parameters`): TF1's Glorot-uniform kernels over the concatenated
``(I+H, ·)`` shape, gate bias 1.0, candidate bias 0. :class:`TF1GRULayer` draws them from torch's global RNG
(module construction; ``init="torch"`` gives ``nn.GRU``'s ``U(−1/√H, 1/√H)`` instead);
:class:`tsbench.nn.ensemble.EnsembleGRU` draws the same parameters from one ``torch.Generator`` per network and
runs the same cell in a batch-last layout.

Speed: the input projections of all time steps are one matmul, written into the buffers that the
steps then complete in place (no per-step copies); tanh is evaluated as 2·σ(2a) − 1 (σ is several times
faster than tanh on CPU; the factor 2 is folded into the kernels, exactly); a forward step is 6 small
ops. The backward computes the step-local derivative factors for all steps at once, leaving 7 small
ops per step; weight gradients are one matmul per kernel block over all steps, and only computed when
requested (``torch.autograd.grad`` on other parameters skips them). Tensors are time-major
``(T, B, features)`` throughout.

Step loops: the per-step loops of the forward and the backward run in Python (:func:`_forward_steps`,
:func:`_backward_steps`, the reference) or in C++ (:mod:`tsbench.nn._gru_cpp`, compiled on first use,
then cached), with bit-identical results (``torch.equal`` on outputs and every gradient, float32 and float64:
tests/test_gru_kernel.py) — which one ran never changes a number. The environment variable ``TSBENCH_GRU_KERNEL``
selects them:

* ``auto`` (default): C++ for CPU tensors; Python on other devices, and (after one ``RuntimeWarning``) when the
  extension cannot be built (no C++ compiler, no ``ninja``, a build error);
* ``cpp``: C++ on every device, an error when it cannot be built. On CUDA tensors the C++ loops call the same ATen
  operators as the Python ones (untested: no GPU in the test suite);
* ``python``: the Python loops, nothing is built.

A ``create_graph=True`` backward always takes the Python loop, so its behaviour does not change (the in-place
buffers are not differentiable).
"""
from __future__ import annotations

import os
from typing import Callable

import torch
from torch import nn

from . import _gru_cpp
from .init import torch_gru_bound

#: the environment variable that selects the step loops: ``auto`` (default), ``cpp`` or ``python``
KERNEL_ENV = "TSBENCH_GRU_KERNEL"

#: TF1 GRUCell's gate bias: the reset and update gates start open
TF1_GATE_BIAS = 1.0


def tf1_gru_parameters(n_inputs: int, hidden: int, glorot: Callable[[tuple[int, int]], torch.Tensor]):
    """TF1 ``GRUCell``'s initial parameters ``(gate_kernel (I+H, 2H), gate_bias (2H,), candidate_kernel
    (I+H, H), candidate_bias (H,))``: Glorot-uniform kernels over the concatenated ``[x, h]`` drawn by
    ``glorot(shape)`` (the gate kernel first), gate bias :data:`TF1_GATE_BIAS`, candidate bias 0."""
    gate_kernel = glorot((n_inputs + hidden, 2 * hidden))
    candidate_kernel = glorot((n_inputs + hidden, hidden))
    return gate_kernel, torch.full((2 * hidden,), TF1_GATE_BIAS), candidate_kernel, torch.zeros(hidden)


def _glorot_from_global_rng(shape: tuple[int, int]) -> torch.Tensor:
    """A Glorot-uniform kernel from torch's global RNG (module construction; the generators seed it around it)."""
    return nn.init.xavier_uniform_(torch.empty(shape))


def _cpp_loops(device: torch.device) -> _gru_cpp.Loops | None:
    """The C++ step loops when ``$TSBENCH_GRU_KERNEL`` selects them for ``device``, else ``None`` (the Python
    loops)."""
    choice = os.environ.get(KERNEL_ENV, "auto")
    if choice == "python":
        return None
    if choice == "auto":
        return _gru_cpp.load_or_warn(f"set {KERNEL_ENV}=python to skip the build") if device.type == "cpu" else None
    if choice == "cpp":
        try:
            return _gru_cpp.load()
        except RuntimeError as error:
            raise RuntimeError(f"{KERNEL_ENV}=cpp, but {error}. Install a C++ compiler and ninja (pip install "
                               f"ninja), or unset {KERNEL_ENV} to fall back to the Python loops.") from error
    raise ValueError(f"{KERNEL_ENV} must be 'auto', 'cpp' or 'python', got {choice!r}; unset it for 'auto'")


def _forward_steps(gates, cand, w_gh, w_ch2, r_h, out, minus_one) -> None:
    """The forward's per-step loop, the reference for the C++ one: completes ``gates`` (T, B, 2H) and ``cand``
    (T, B, H) in place into the σ outputs [r, u] and the tanh outputs, writes ``r·h_prev`` to ``r_h`` and the
    states to ``out``."""
    H = cand.shape[2]
    h = out.new_zeros(out.shape[1], H)
    # per-step views made once (indexing in the loop costs more than the small ops themselves)
    steps = zip(gates.unbind(0), gates[:, :, :H].unbind(0), gates[:, :, H:].unbind(0), r_h.unbind(0),
                cand.unbind(0), out.unbind(0))
    for g_t, r_t, u_t, rh_t, c_t, out_t in steps:
        g_t.addmm_(h, w_gh).sigmoid_()
        torch.mul(r_t, h, out=rh_t)
        c_t.addmm_(rh_t, w_ch2).sigmoid_()
        torch.add(minus_one, c_t, alpha=2, out=c_t)
        h = torch.lerp(c_t, h, u_t, out=out_t)


def _backward_steps(grad_out, fac_c, fac_g, gates, w_ch_t, w_gh_t, d_gates, d_cand) -> None:
    """The backward's per-step loop, the reference for the C++ one: writes the gradients of the gate and candidate
    pre-activations to ``d_gates`` (T, B, 2H) and ``d_cand`` (T, B, H)."""
    T, _, H = d_cand.shape
    r, u = gates[:, :, :H], gates[:, :, H:]
    steps = zip(range(T - 1, -1, -1), reversed(fac_c.unbind(0)), reversed(fac_g[:, :, :H].unbind(0)),
                reversed(fac_g[:, :, H:].unbind(0)), reversed(r.unbind(0)), reversed(u.unbind(0)),
                reversed(d_gates.unbind(0)), reversed(d_gates[:, :, :H].unbind(0)),
                reversed(d_gates[:, :, H:].unbind(0)), reversed(d_cand.unbind(0)))
    grads = grad_out.unbind(0)
    dh = grads[T - 1]
    for t, fc, fr, fu, r_t, u_t, dg_t, dr_t, du_t, dc_t in steps:
        torch.mul(dh, fc, out=dc_t)
        drh = torch.mm(dc_t, w_ch_t)
        torch.mul(drh, fr, out=dr_t)
        torch.mul(dh, fu, out=du_t)
        if t > 0:  # the gradient reaching h_prev: through u·h, through r·h, through the gate matmul
            dh = torch.addcmul(grads[t - 1], dh, u_t).addcmul_(drh, r_t).addmm_(dg_t, w_gh_t)


class _TF1GRUSequence(torch.autograd.Function):
    """One GRU layer over a whole sequence: ``x`` (T, B, I) → outputs (T, B, H), zero initial state."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)  # float32 core under autocast
    def forward(ctx, x, gate_kernel, gate_bias, cand_kernel, cand_bias):
        T, B, I = x.shape
        H = cand_bias.shape[0]
        flat = x.reshape(T * B, I)
        # input parts of the pre-activations for all steps at once; the hidden parts are added in place.
        # The candidate is computed as tanh(a) = 2·σ(2a) − 1 (σ is several times faster than tanh on CPU);
        # its pre-activation is scaled by 2 through the kernels, which is exact in floating point.
        gates = torch.addmm(gate_bias, flat, gate_kernel[:I]).view(T, B, 2 * H)  # → σ outputs [r, u]
        cand = torch.addmm(cand_bias, flat, cand_kernel[:I], beta=2, alpha=2).view(T, B, H)  # → tanh outputs
        w_gh, w_ch2 = gate_kernel[I:], cand_kernel[I:] * 2
        out = x.new_empty(T, B, H)
        r_h = x.new_empty(T, B, H)  # r * h_prev
        minus_one = x.new_full((), -1.0)
        cpp = _cpp_loops(x.device)
        if cpp is not None:  # bit-identical to the Python loop (tsbench/nn/_gru_cpp.py)
            cpp.forward_steps(gates, cand, w_gh, w_ch2, r_h, out, minus_one)
        else:
            _forward_steps(gates, cand, w_gh, w_ch2, r_h, out, minus_one)
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
        h_prev = torch.cat([out.new_zeros(1, B, H), out[:-1]])
        u = gates[:, :, H:]
        one = x.new_ones(())
        # the step-local derivative factors, for all steps at once:
        #   ∂h'/∂a_c = (1 − u)(1 − c²),  ∂h'/∂a_u = (h − c)·u(1 − u),  ∂(r·h)/∂a_r = h·r(1 − r)
        fac_c = torch.sub(one, u).mul_(torch.addcmul(one, cand, cand, value=-1))
        fac_g = torch.addcmul(gates, gates, gates, value=-1)
        fac_g[:, :, :H].mul_(h_prev)
        fac_g[:, :, H:].mul_(h_prev - cand)
        d_gates = x.new_empty(T, B, 2 * H)  # gradients of the gate pre-activations
        d_cand = x.new_empty(T, B, H)  # gradients of the candidate pre-activations
        # a create_graph=True backward (grad mode on) stays on the Python loop: unchanged behaviour
        cpp = None if torch.is_grad_enabled() else _cpp_loops(x.device)
        if cpp is not None:
            cpp.backward_steps(grad_out, fac_c, fac_g, gates, w_ch_t, w_gh_t, d_gates, d_cand)
        else:
            _backward_steps(grad_out, fac_c, fac_g, gates, w_ch_t, w_gh_t, d_gates, d_cand)
        flat_dg, flat_dc = d_gates.view(T * B, 2 * H), d_cand.view(T * B, H)
        dx = dgk = dgb = dck = dcb = None
        if need_x:
            dx = torch.addmm(torch.mm(flat_dc, cand_kernel[:I].t()), flat_dg, gate_kernel[:I].t()).view(T, B, I)
        if need_gk:
            dgk = gate_kernel.new_empty(I + H, 2 * H)
            torch.mm(x.reshape(T * B, I).t(), flat_dg, out=dgk[:I])
            torch.mm(h_prev.view(T * B, H).t(), flat_dg, out=dgk[I:])
        if need_ck:
            dck = cand_kernel.new_empty(I + H, H)
            torch.mm(x.reshape(T * B, I).t(), flat_dc, out=dck[:I])
            torch.mm(r_h.view(T * B, H).t(), flat_dc, out=dck[I:])
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
        """``"tf1"``: :func:`tf1_gru_parameters`; ``"torch"``: every parameter ``U(−1/√H, 1/√H)``; both drawn from
        torch's global RNG (the generators seed it around module construction)."""
        with torch.no_grad():
            if init == "tf1":
                values = tf1_gru_parameters(self.input_size, self.hidden_size, _glorot_from_global_rng)
                for param, value in zip((self.gate_kernel, self.gate_bias, self.candidate_kernel,
                                         self.candidate_bias), values):
                    param.copy_(value)
            elif init == "torch":
                bound = torch_gru_bound(self.hidden_size)
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


class CuDNNGRU(nn.Module):
    """``torch.nn.GRU`` (cuDNN on CUDA) as a drop-in for :class:`TF1GRU`: time-major (T, B, I) → (T, B, H).

    A *different cell* from TF1's: the reset gate multiplies the hidden part of the candidate *after* its matmul,
    ``c = tanh(W_c x + b_c + r·(U_c h + b_hc))``, and it has a second (hidden) bias per gate. With
    ``init="tf1"`` its input/hidden weights get exactly TF1's initial values (:func:`tf1_gru_parameters`, Glorot over
    the concatenated ``(I+H, ·)`` shapes, drawn from torch's global RNG in the same order), the input gate bias 1.0,
    and the hidden biases 0; ``init="torch"`` keeps ``nn.GRU``'s ``U(−1/√H, 1/√H)``. The update gate plays TF1's
    ``u`` (``h' = u·h + (1 − u)·c`` in both). Under autocast the recurrence runs in float32, as the TF1 cell does.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, init: str = "tf1"):
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # nn.GRU's own draws leave the global RNG as it was: only
            self.rnn = nn.GRU(input_size, hidden_size, num_layers)  # reset_parameters draws (TF1's order for "tf1")
        self.reset_parameters(init)

    def reset_parameters(self, init: str = "tf1") -> None:
        if init == "torch":
            self.rnn.reset_parameters()
            return
        if init != "tf1":
            raise ValueError(f"init must be 'tf1' or 'torch', got {init!r}")
        H = self.rnn.hidden_size
        with torch.no_grad():
            for k in range(self.rnn.num_layers):
                I = self.rnn.input_size if k == 0 else H
                gate_kernel, gate_bias, cand_kernel, cand_bias = tf1_gru_parameters(I, H, _glorot_from_global_rng)
                # nn.GRU's rows: [reset | update | new], (3H, I) for the input, (3H, H) for the hidden state
                getattr(self.rnn, f"weight_ih_l{k}").copy_(torch.cat([gate_kernel[:I], cand_kernel[:I]], 1).t())
                getattr(self.rnn, f"weight_hh_l{k}").copy_(torch.cat([gate_kernel[I:], cand_kernel[I:]], 1).t())
                getattr(self.rnn, f"bias_ih_l{k}").copy_(torch.cat([gate_bias, cand_bias]))
                getattr(self.rnn, f"bias_hh_l{k}").zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):  # the parameters' precision, as the TF1 cell
            return self.rnn(x.to(self.rnn.weight_hh_l0.dtype))[0]


__all__ = ["TF1_GATE_BIAS", "CuDNNGRU", "TF1GRU", "TF1GRULayer", "tf1_gru_parameters"]
