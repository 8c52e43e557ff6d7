"""Single-run reference implementations (``torch.nn.GRU``) of the two post-hoc scores, ``timegan2019``
data handling. Slow (one network at a time, autograd through ``nn.GRU``); used by the tests to check that
each repeat of the batched ensemble (``cell="torch"``) follows the same distribution as a plain run.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class _Net(nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.gru = nn.GRU(n_in, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_out)
        k = 1.0 / hidden ** 0.5  # nn.Linear would use 1/√fan_in as well; explicit for clarity
        nn.init.uniform_(self.out.weight, -k, k)
        nn.init.uniform_(self.out.bias, -k, k)


def _build(seed, n_in, hidden, n_out):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _Net(n_in, hidden, n_out)


def discriminative_single(real, synthetic, *, seed, iterations, hidden, batch_size=128) -> float:
    """One ``|accuracy − 0.5|`` (pooled test accuracy, 80/20 splits), arrays ``(n, T, D)``."""
    rng = np.random.default_rng(seed)
    real_perm, syn_perm = rng.permutation(len(real)), rng.permutation(len(synthetic))
    cr, cs = int(len(real) * 0.8), int(len(synthetic) * 0.8)
    r_tr, r_te = torch.from_numpy(real[real_perm[:cr]]), torch.from_numpy(real[real_perm[cr:]])
    s_tr, s_te = torch.from_numpy(synthetic[syn_perm[:cs]]), torch.from_numpy(synthetic[syn_perm[cs:]])
    net = _build(seed, real.shape[2], hidden, 1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    bce = nn.BCEWithLogitsLoss()
    logit = lambda x: net.out(net.gru(x)[1][0])[:, 0]  # noqa: E731 - last hidden state → logit
    for _ in range(iterations):
        xr = r_tr[rng.choice(len(r_tr), min(batch_size, len(r_tr)), replace=False)]
        xs = s_tr[rng.choice(len(s_tr), min(batch_size, len(s_tr)), replace=False)]
        lr_, ls_ = logit(xr), logit(xs)
        loss = bce(lr_, torch.ones_like(lr_)) + bce(ls_, torch.zeros_like(ls_))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        correct = (logit(r_te) > 0).sum() + (logit(s_te) <= 0).sum()
    return abs(float(correct) / (len(r_te) + len(s_te)) - 0.5)


def predictive_single(real, synthetic, *, seed, iterations, hidden, batch_size=128) -> float:
    """One predictive score: first dim−1 features → last feature one step ahead, train on synthetic,
    mean over all real windows of the per-window MAE."""
    rng = np.random.default_rng(seed)
    D = real.shape[2]
    net = _build(seed, D - 1, hidden, 1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    syn = torch.from_numpy(synthetic)

    def predict(x):
        return torch.sigmoid(net.out(net.gru(x[:, :-1, :D - 1])[0]))

    for _ in range(iterations):
        x = syn[rng.choice(len(syn), min(batch_size, len(syn)), replace=False)]
        loss = (predict(x) - x[:, 1:, D - 1:]).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        x = torch.from_numpy(real)
        return float((predict(x) - x[:, 1:, D - 1:]).abs().mean(dim=(1, 2)).mean())
