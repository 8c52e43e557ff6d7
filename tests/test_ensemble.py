"""The batched GRU ensemble: exact against brute-force loops and torch.nn.GRU, repeats independent, and each
repeat distributed like a single torch.nn.GRU run."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from tests._posthoc_ref import gru_states, params_of
from tsbench.metrics._ensemble import EnsembleGRU, adam
from tsbench.metrics._single import predictive_single
from tsbench.metrics.predictive import predictive_scores


def _double(net):
    for name in ("w_ih", "b_ih", "w_hh", "b_hh", "w_out", "b_out"):
        setattr(net, name, getattr(net, name).detach().double().requires_grad_())
    return net


@pytest.mark.parametrize("cell", ["tf1", "torch"])
@pytest.mark.parametrize("R,H", [(3, 2), (6, 14)])  # block-diagonal and batched-matmul paths
def test_forward_matches_bruteforce_loop(cell, R, H):
    net = _double(EnsembleGRU.init(range(R), 4, H, 1, cell=cell))
    x = torch.rand(R, 4, 6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    states = net.hidden_states(x).detach().numpy()  # (R, H, T, B)
    for r in range(R):
        w_ih, b_ih, w_hh, b_hh, _, _ = params_of(net, r)
        for b in range(5):
            ref = gru_states(x[r, :, :, b].T.numpy(), w_ih, b_ih, w_hh, b_hh, cell)
            np.testing.assert_allclose(states[r, :, :, b].T, ref, atol=1e-12)


@pytest.mark.parametrize("cell", ["tf1", "torch"])
@pytest.mark.parametrize("block", [True, False])
@pytest.mark.parametrize("sequence", [True, False])
def test_backward_matches_gradcheck(cell, block, sequence, monkeypatch):
    from tsbench.metrics import _ensemble

    monkeypatch.setattr(_ensemble, "_BLOCK_DIAGONAL_MAX", 64 if block else 0)  # both hidden-matmul paths
    R, H = 2, 3
    net = _double(EnsembleGRU.init(range(R), 3, H, 1, cell=cell))
    x = torch.rand(R, 3, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    from tsbench.metrics._ensemble import _GRUSequence

    params = (net.w_ih, net.b_ih, net.w_hh) + ((net.b_hh,) if cell == "torch" else ())

    def f(*p):
        b_hh = p[3] if cell == "torch" else net.b_hh.detach()
        return _GRUSequence.apply(x, p[0], p[1], p[2], b_hh, cell, sequence)

    assert torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-7)


def test_torch_cell_equals_nn_gru():
    net = EnsembleGRU.init([7], 3, 4, 1, cell="torch")
    gru = torch.nn.GRU(3, 4, batch_first=True)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(net.w_ih[0].T)
        gru.weight_hh_l0.copy_(net.w_hh[0].T)
        gru.bias_ih_l0.copy_(net.b_ih[0])
        gru.bias_hh_l0.copy_(net.b_hh[0])
        x = torch.rand(5, 9, 3, generator=torch.Generator().manual_seed(0))  # (B, T, D)
        ours = net.hidden_states(x.permute(2, 1, 0)[None])[0]  # (H, T, B)
        theirs = gru(x)[0]  # (B, T, H)
    torch.testing.assert_close(ours.permute(2, 1, 0), theirs, atol=1e-6, rtol=1e-5)


def test_tf1_init_matches_tensorflow_defaults():
    net = EnsembleGRU.init([0], 5, 2, 1, cell="tf1")
    assert torch.equal(net.b_ih[0], torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0, 0.0]))  # gate bias 1, candidate 0
    with torch.no_grad():
        gate = torch.cat([net.w_ih[0, :, :4], net.w_hh[0, :, :4]])  # the TF gate kernel [x, h] → 2H
        candidate = torch.cat([net.w_ih[0, :, 4:], net.w_hh[0, :, 4:]])
        assert float(gate.abs().max()) <= (6 / (7 + 4)) ** 0.5  # Glorot-uniform limits
        assert float(candidate.abs().max()) <= (6 / (7 + 2)) ** 0.5
        assert float(net.b_out.abs().max()) == 0.0


@pytest.mark.parametrize("cell", ["tf1", "torch"])
def test_repeats_train_independently(cell):
    """Repeat 1 of a 3-repeat ensemble follows exactly the trajectory of a 1-repeat ensemble with its seed
    and its batches: the summed loss and element-wise Adam couple nothing."""
    g = torch.Generator().manual_seed(3)
    data = torch.rand(5, 3, 2, 6, 8, generator=g)  # (steps, R, D, T, B)
    nets = [EnsembleGRU.init([10, 11, 12], 2, 3, 1, cell=cell), EnsembleGRU.init([11], 2, 3, 1, cell=cell)]
    for net, cols in zip(nets, (slice(None), slice(1, 2))):
        opt = adam(net.parameters())
        for x in data:
            opt.zero_grad()
            y = net.head(net.hidden_states(x[cols], sequence=False))  # (R, 1, B)
            (y ** 2).mean(dim=(1, 2)).sum().backward()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(a[1:2], b, atol=1e-6, rtol=1e-5)


def test_ensemble_repeats_distributed_like_single_runs():
    """Per-repeat predictive scores of the ensemble (torch cell) vs 20 single torch.nn.GRU runs: same mean
    within 4 standard errors and a two-sample KS test that does not reject (p > 0.001)."""
    rng = np.random.default_rng(0)
    n, T, D = 256, 8, 3
    freq, phase = rng.uniform(0, 0.5, (n, 1, D)), rng.uniform(0, 2, (n, 1, D))
    data = ((np.sin(freq * np.arange(T)[None, :, None] + phase) + 1) / 2).astype(np.float32)
    kw = dict(iterations=40, hidden=2, batch_size=32)
    with torch.random.fork_rng(devices=[]):
        single = np.array([predictive_single(data, data, seed=1000 + s, **kw) for s in range(20)])
    ensemble = predictive_scores(data, data, seed=5, repeats=20, protocol="timegan2019", cell="torch", **kw)
    assert len(set(np.round(ensemble, 6))) == 20  # repeats differ from each other
    se = np.sqrt(single.var(ddof=1) / 20 + ensemble.var(ddof=1) / 20)
    assert abs(single.mean() - ensemble.mean()) < 4 * se + 1e-3, (single, ensemble)
    assert stats.ks_2samp(single, ensemble).pvalue > 1e-3, (single, ensemble)
