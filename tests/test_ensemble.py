"""The batched GRU ensemble: exact against brute-force loops and torch.nn.GRU, repeats independent, initialised
as documented, and each repeat distributed like a single-network run of the same cell (``tf1``: an independent
plain-autograd TF1 GRUCell, itself checked to follow an ensemble repeat exactly; ``torch``: torch.nn.GRU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from tests._references import TF1Net, gru_states, params_of, predictive_single
from tsbench.metrics._posthoc import repeat_seeds
from tsbench.metrics.predictive import predictive_scores
from tsbench.nn.ensemble import EnsembleGRU
from tsbench.nn.gru import TF1GRULayer
from tsbench.nn.optim import adam


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
    from tsbench.nn import ensemble

    monkeypatch.setattr(ensemble, "_BLOCK_DIAGONAL_MAX", 64 if block else 0)  # both hidden-matmul paths
    R, H = 2, 3
    net = _double(EnsembleGRU.init(range(R), 3, H, 1, cell=cell))
    x = torch.rand(R, 3, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    from tsbench.nn.ensemble import _GRUSequence

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


# the two TF1 kernels ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("R,H", [(2, 3), (3, 24)])  # the ensemble's block-diagonal and batched-matmul paths
def test_the_two_tf1_kernels_compute_the_same_cell(R, H):
    """TimeGAN's time-major kernel (:class:`TF1GRULayer`) and the ensemble's batch-last one give the same hidden
    states and the same gradients for the same parameters: one cell, two layouts."""
    D, T, B = 4, 7, 5
    net = _double(EnsembleGRU.init(range(R), D, H, 1, cell="tf1"))
    x = torch.rand(R, D, T, B, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    grad = torch.randn(R, H, T, B, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    states = net.hidden_states(x)
    d_ih, d_b, d_hh = torch.autograd.grad(states, (net.w_ih, net.b_ih, net.w_hh), grad)
    for r in range(R):
        layer = TF1GRULayer(D, H).double()
        with torch.no_grad():  # the [x, h] kernels: w_ih's rows over w_hh's
            layer.gate_kernel.copy_(torch.cat([net.w_ih[r, :, :2 * H], net.w_hh[r, :, :2 * H]]))
            layer.candidate_kernel.copy_(torch.cat([net.w_ih[r, :, 2 * H:], net.w_hh[r, :, 2 * H:]]))
            layer.gate_bias.copy_(net.b_ih[r, :2 * H])
            layer.candidate_bias.copy_(net.b_ih[r, 2 * H:])
        out = layer(x[r].permute(1, 2, 0))  # (T, B, D) → (T, B, H)
        torch.testing.assert_close(out, states[r].permute(1, 2, 0), atol=1e-12, rtol=0)
        gk, gb, ck, cb = torch.autograd.grad(out, (layer.gate_kernel, layer.gate_bias, layer.candidate_kernel,
                                                   layer.candidate_bias), grad[r].permute(1, 2, 0))
        torch.testing.assert_close(torch.cat([gk[:D], ck[:D]], 1), d_ih[r], atol=1e-11, rtol=0)
        torch.testing.assert_close(torch.cat([gk[D:], ck[D:]], 1), d_hh[r], atol=1e-11, rtol=0)
        torch.testing.assert_close(torch.cat([gb, cb]), d_b[r], atol=1e-11, rtol=0)


# single-run references (tests/_references.py) ------------------------------------------------------------------
def _sines(n: int, T: int, D: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    freq, phase = rng.uniform(0, 0.5, (n, 1, D)), rng.uniform(0, 2, (n, 1, D))
    return ((np.sin(freq * np.arange(T)[None, :, None] + phase) + 1) / 2).astype(np.float32)


def test_tf1_single_reference_follows_ensemble_repeat_exactly():
    """The TF1 single-run reference, started from repeat r's initial parameters and fed repeat r's batches,
    reproduces that repeat's predictive score: it implements the same model, so the distribution test below
    compares like with like."""
    data = _sines(64, 8, 3)
    seed, R, kw = 5, 3, dict(iterations=30, hidden=3, batch_size=16)
    ensemble = predictive_scores(data, data, seed=seed, repeats=R, protocol="timegan2019", cell="tf1", **kw)
    init = EnsembleGRU.init(repeat_seeds(seed, "ps-init", R), 2, kw["hidden"], 1, cell="tf1")
    single = [predictive_single(data, data, seed=None, cell="tf1", net=TF1Net.from_ensemble(init, r),
                                batch_rng=np.random.default_rng(repeat_seeds(seed, "ps-batch", R)[r]), **kw)
              for r in range(R)]
    np.testing.assert_allclose(ensemble, single, atol=1e-4)


@pytest.mark.parametrize("cell", ["tf1", "torch"])
def test_ensemble_repeats_distributed_like_single_runs(cell):
    """Per-repeat predictive scores of a 200-repeat ensemble vs 40 single-network runs of the same cell
    (``torch``: torch.nn.GRU; ``tf1``: :class:`TF1Net`), each with its own seed: same mean within 4 standard
    errors, same spread (Levene) and the same distribution (two-sample KS), neither test rejecting at 0.001.
    At this budget (40 steps) the scores mostly reflect the initialisation: the spread test is the one that
    notices a wrong one (measured: halved Glorot limits p ≈ 1e-9, torch init and math in place of tf1 p ≈ 1e-4)."""
    data = _sines(256, 8, 3)
    kw = dict(iterations=40, hidden=2, batch_size=32)
    with torch.random.fork_rng(devices=[]):
        single = np.array([predictive_single(data, data, seed=1000 + s, cell=cell, **kw) for s in range(40)])
    ensemble = predictive_scores(data, data, seed=5, repeats=200, protocol="timegan2019", cell=cell, **kw)
    assert len(np.unique(ensemble)) == len(ensemble)  # repeats differ from each other
    se = np.sqrt(single.var(ddof=1) / len(single) + ensemble.var(ddof=1) / len(ensemble))
    assert abs(single.mean() - ensemble.mean()) < 4 * se, (single.mean(), ensemble.mean(), se)
    assert stats.levene(single, ensemble).pvalue > 1e-3, (single.std(), ensemble.std())
    assert stats.ks_2samp(single, ensemble).pvalue > 1e-3, (single, ensemble)


@pytest.mark.parametrize("cell", ["tf1", "torch"])
def test_init_distributions(cell):
    """Initial weights are uniform on the documented range (KS against U(−1, 1) after dividing by the
    limit, p > 0.001; ``tf1``: Glorot over the concatenated [x, h] per kernel, dense Glorot; ``torch``:
    ±1/√H for every weight and bias) and the ``tf1`` biases are exactly 1 (gates), 0 (candidate, dense)."""
    D, H, O = 5, 4, 2
    net = EnsembleGRU.init(range(300), D, H, O, cell=cell)
    with torch.no_grad():
        if cell == "tf1":
            gate = torch.cat([net.w_ih[..., :2 * H], net.w_hh[..., :2 * H]], dim=1) / (6 / (D + H + 2 * H)) ** 0.5
            cand = torch.cat([net.w_ih[..., 2 * H:], net.w_hh[..., 2 * H:]], dim=1) / (6 / (D + H + H)) ** 0.5
            dense = net.w_out / (6 / (H + O)) ** 0.5
            scaled = [gate, cand, dense]
            assert torch.equal(net.b_ih, torch.cat([torch.ones(2 * H), torch.zeros(H)]).expand(300, -1))
            assert not net.b_out.any()
        else:
            scaled = [p * H ** 0.5 for p in (net.w_ih, net.w_hh, net.b_ih, net.b_hh, net.w_out, net.b_out)]
    for values in scaled:
        assert stats.kstest(values.flatten().numpy(), stats.uniform(-1, 2).cdf).pvalue > 1e-3
