"""Brute-force NumPy references for the post-hoc GRU metrics (independent of the ensemble code)."""
from __future__ import annotations

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def gru_states(x, w_ih, b_ih, w_hh, b_hh, cell):
    """One network, one window at a time: ``x (T, D)`` → hidden states ``(T, H)`` (float64 loops)."""
    H = w_hh.shape[0]
    h = np.zeros(H)
    out = []
    for xt in x:
        gi = xt @ w_ih + b_ih
        if cell == "tf1":
            ru = sigmoid(gi[:2 * H] + h @ w_hh[:, :2 * H])
            r, u = ru[:H], ru[H:]
            c = np.tanh(gi[2 * H:] + (r * h) @ w_hh[:, 2 * H:])
            h = u * h + (1 - u) * c
        else:
            gh = h @ w_hh + b_hh
            r, z = sigmoid(gi[:H] + gh[:H]), sigmoid(gi[H:2 * H] + gh[H:2 * H])
            n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
            h = (1 - z) * n + z * h
        out.append(h)
    return np.array(out)


def params_of(net, r):
    """Float64 NumPy parameters of repeat ``r`` of an EnsembleGRU."""
    return [p[r].detach().double().numpy() for p in (net.w_ih, net.b_ih, net.w_hh, net.b_hh, net.w_out, net.b_out)]
