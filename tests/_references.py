"""Slow, plain references for the fast paths of :mod:`tsbench.nn` (test-only code: nothing here ships).

The two cells are written once, step by step with autograd ops, independently of the package's kernels:

* :func:`tf1_gru_cell` — TensorFlow 1 ``GRUCell`` on its own parameters (``[x, h]`` kernels);
* :func:`torch_gru_cell` — ``torch.nn.GRU``'s equations on ``w_ih``/``w_hh`` (gate order r, z, n).

Built on them: :func:`reference_gru` (a :class:`tsbench.nn.gru.TF1GRU` stack, for TimeGAN's kernel),
:func:`gru_states` (one network of a :class:`tsbench.nn.ensemble.EnsembleGRU`, one window, float64),
:class:`TF1Net` (one TF1 GRU network with a dense head, drawn from a seed) and :func:`predictive_single` (one
single-network predictive score, ``torch.nn.GRU`` or :class:`TF1Net`: what each repeat of the batched
ensemble must be distributed like).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


# the two cells ----------------------------------------------------------------------------------------------
def tf1_gru_cell(x, h, gate_kernel, gate_bias, candidate_kernel, candidate_bias):
    """One TF1 ``GRUCell`` step: ``x (B, I)``, ``h (B, H)`` → ``h' (B, H)``."""
    H = h.shape[1]
    g = torch.sigmoid(torch.cat([x, h], 1) @ gate_kernel + gate_bias)
    r, u = g[:, :H], g[:, H:]
    c = torch.tanh(torch.cat([x, r * h], 1) @ candidate_kernel + candidate_bias)
    return u * h + (1 - u) * c


def torch_gru_cell(x, h, w_ih, b_ih, w_hh, b_hh):
    """One ``torch.nn.GRU`` step on ``w_ih (I, 3H)``, ``w_hh (H, 3H)`` (gates r, z, n): ``x (B, I)``,
    ``h (B, H)`` → ``h' (B, H)``."""
    H = h.shape[1]
    gi, gh = x @ w_ih + b_ih, h @ w_hh + b_hh
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


# TimeGAN's stack ---------------------------------------------------------------------------------------------
def reference_gru(x: torch.Tensor, layers) -> torch.Tensor:
    """A :class:`tsbench.nn.gru.TF1GRU` stack, time-major ``x (T, B, I)`` → ``(T, B, H)``, step by step."""
    for layer in layers.layers:
        h = x.new_zeros(x.shape[1], layer.hidden_size)
        outs = []
        for x_t in x:
            h = tf1_gru_cell(x_t, h, layer.gate_kernel, layer.gate_bias, layer.candidate_kernel,
                             layer.candidate_bias)
            outs.append(h)
        x = torch.stack(outs)
    return x


# the post-hoc metrics' ensemble --------------------------------------------------------------------------------
def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def params_of(net, r):
    """Float64 NumPy parameters of repeat ``r`` of an EnsembleGRU."""
    return [p[r].detach().double().numpy() for p in (net.w_ih, net.b_ih, net.w_hh, net.b_hh, net.w_out, net.b_out)]


def gru_states(x, w_ih, b_ih, w_hh, b_hh, cell):
    """One network (parameters in the ensemble's layout, :func:`params_of`), one window: ``x (T, D)`` → hidden
    states ``(T, H)``, float64 NumPy. ``tf1``: the ``[x, h]`` kernels are ``w_ih``'s rows over ``w_hh``'s."""
    x, w_ih, b_ih, w_hh, b_hh = (torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (x, w_ih, b_ih, w_hh, b_hh))
    H = w_hh.shape[0]
    if cell == "tf1":
        gate_kernel = torch.cat([w_ih[:, :2 * H], w_hh[:, :2 * H]])
        candidate_kernel = torch.cat([w_ih[:, 2 * H:], w_hh[:, 2 * H:]])

        def step(x_t, h):
            return tf1_gru_cell(x_t, h, gate_kernel, b_ih[:2 * H], candidate_kernel, b_ih[2 * H:])
    else:
        def step(x_t, h):
            return torch_gru_cell(x_t, h, w_ih, b_ih, w_hh, b_hh)
    h = x.new_zeros(1, H)
    out = []
    for x_t in x:
        h = step(x_t[None], h)
        out.append(h[0])
    return torch.stack(out).numpy()


class TF1Net(nn.Module):
    """One TensorFlow 1 ``GRUCell`` with a dense head, plain autograd (:func:`tf1_gru_cell`), written from the TF1
    definitions independently of the package: Glorot-uniform kernels over the concatenated ``[x, h]``, gate bias
    1, candidate bias 0, Glorot dense weights with bias 0 (drawn from ``seed``)."""

    def __init__(self, n_in: int, hidden: int, n_out: int, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)

        def glorot(fan_in, fan_out):
            limit = (6.0 / (fan_in + fan_out)) ** 0.5
            return nn.Parameter((torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * limit)

        self.gate_kernel = glorot(n_in + hidden, 2 * hidden)
        self.gate_bias = nn.Parameter(torch.ones(2 * hidden))
        self.cand_kernel = glorot(n_in + hidden, hidden)
        self.cand_bias = nn.Parameter(torch.zeros(hidden))
        self.out_w = glorot(hidden, n_out)
        self.out_b = nn.Parameter(torch.zeros(n_out))

    @classmethod
    def from_ensemble(cls, net, r: int) -> "TF1Net":
        """Repeat ``r`` of a ``tf1`` ensemble as a single network (same parameter values)."""
        D, H = net.w_ih.shape[1], net.w_hh.shape[1]
        single = cls(D, H, net.w_out.shape[2], seed=0)
        with torch.no_grad():
            single.gate_kernel.copy_(torch.cat([net.w_ih[r, :, :2 * H], net.w_hh[r, :, :2 * H]]))
            single.cand_kernel.copy_(torch.cat([net.w_ih[r, :, 2 * H:], net.w_hh[r, :, 2 * H:]]))
            single.gate_bias.copy_(net.b_ih[r, :2 * H])
            single.cand_bias.copy_(net.b_ih[r, 2 * H:])
            single.out_w.copy_(net.w_out[r])
            single.out_b.copy_(net.b_out[r])
        return single

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, T, D)`` → hidden states ``(B, T, H)``."""
        h = x.new_zeros(x.shape[0], self.cand_bias.shape[0])
        out = []
        for t in range(x.shape[1]):
            h = tf1_gru_cell(x[:, t], h, self.gate_kernel, self.gate_bias, self.cand_kernel, self.cand_bias)
            out.append(h)
        return torch.stack(out, 1)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.out_w + self.out_b


class TorchNet(nn.Module):
    """One ``torch.nn.GRU`` with a linear head, both ``U(−1/√H, 1/√H)``, drawn from ``seed``."""

    def __init__(self, n_in: int, hidden: int, n_out: int, seed: int):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.gru = nn.GRU(n_in, hidden, batch_first=True)
            self.out = nn.Linear(hidden, n_out)
            k = 1.0 / hidden ** 0.5  # nn.Linear would use 1/√fan_in as well; explicit for clarity
            nn.init.uniform_(self.out.weight, -k, k)
            nn.init.uniform_(self.out.bias, -k, k)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, T, D)`` → hidden states ``(B, T, H)``."""
        return self.gru(x)[0]

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(h)


NETS = {"tf1": TF1Net, "torch": TorchNet}


def predictive_single(real, synthetic, *, seed, iterations, hidden, batch_size=128, cell="torch", net=None,
                      batch_rng=None) -> float:
    """One ``timegan2019`` predictive score with one network (:data:`NETS`\\ ``[cell]`` drawn from ``seed``):
    the first dim−1 features predict the last feature one step ahead, trained on ``synthetic`` with Adam (TF
    defaults), scored as the mean over ``real`` windows of the per-window MAE. ``net`` and ``batch_rng`` replace
    the network and the batch generator drawn from ``seed``."""
    rng = np.random.default_rng(seed) if batch_rng is None else batch_rng
    D = real.shape[2]
    net = NETS[cell](D - 1, hidden, 1, seed) if net is None else net
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    syn = torch.from_numpy(synthetic)

    def predict(x):
        return torch.sigmoid(net.head(net.states(x[:, :-1, :D - 1])))

    for _ in range(iterations):
        x = syn[rng.choice(len(syn), min(batch_size, len(syn)), replace=False)]
        loss = (predict(x) - x[:, 1:, D - 1:]).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        x = torch.from_numpy(real)
        return float((predict(x) - x[:, 1:, D - 1:]).abs().mean(dim=(1, 2)).mean())
