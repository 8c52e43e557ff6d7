"""The batched GRU ensemble: exact against brute-force loops and torch.nn.GRU, repeats independent, initialised
as documented, and each repeat distributed like a single-network run of the same cell (``tf1``: an independent
plain-autograd TF1 GRUCell, itself checked to follow an ensemble repeat exactly; ``torch``: torch.nn.GRU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from tests._posthoc_ref import gru_states, params_of
from tsbench.metrics._ensemble import EnsembleGRU, adam
from tsbench.metrics._posthoc import repeat_seeds
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


# single-run references -----------------------------------------------------------------------------------
class TF1Net(torch.nn.Module):
    """One TensorFlow 1 ``GRUCell`` with a dense head, plain autograd, written from the TF1 definitions
    independently of the ensemble: ``[r, u] = σ([x, h] W_g + b_g)``, ``c = tanh([x, r ⊙ h] W_c + b_c)``,
    ``h' = u ⊙ h + (1 − u) ⊙ c``; Glorot-uniform kernels over the concatenated ``[x, h]``, gate bias 1,
    candidate bias 0, Glorot dense weights with bias 0 (drawn from ``seed``)."""

    def __init__(self, n_in: int, hidden: int, n_out: int, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)

        def glorot(fan_in, fan_out):
            limit = (6.0 / (fan_in + fan_out)) ** 0.5
            return torch.nn.Parameter((torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * limit)

        self.gate_kernel = glorot(n_in + hidden, 2 * hidden)
        self.gate_bias = torch.nn.Parameter(torch.ones(2 * hidden))
        self.cand_kernel = glorot(n_in + hidden, hidden)
        self.cand_bias = torch.nn.Parameter(torch.zeros(hidden))
        self.out_w = glorot(hidden, n_out)
        self.out_b = torch.nn.Parameter(torch.zeros(n_out))

    @classmethod
    def from_ensemble(cls, net: EnsembleGRU, r: int) -> "TF1Net":
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
            r, u = torch.sigmoid(torch.cat([x[:, t], h], 1) @ self.gate_kernel + self.gate_bias).chunk(2, 1)
            c = torch.tanh(torch.cat([x[:, t], r * h], 1) @ self.cand_kernel + self.cand_bias)
            h = u * h + (1 - u) * c
            out.append(h)
        return torch.stack(out, 1)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.out_w + self.out_b


def _tf1_predictive_single(real, synthetic, *, seed, iterations, hidden, batch_size=128, net=None,
                           batch_rng=None) -> float:
    """One ``timegan2019`` predictive score with :class:`TF1Net` (as ``predictive_single`` with nn.GRU);
    ``net`` and ``batch_rng`` replace the network and batch generator drawn from ``seed``."""
    rng = np.random.default_rng(seed) if batch_rng is None else batch_rng
    D = real.shape[2]
    net = TF1Net(D - 1, hidden, 1, seed) if net is None else net
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


SINGLE = {"torch": predictive_single, "tf1": _tf1_predictive_single}


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
    single = [_tf1_predictive_single(data, data, seed=None, net=TF1Net.from_ensemble(init, r),
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
        single = np.array([SINGLE[cell](data, data, seed=1000 + s, **kw) for s in range(40)])
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
