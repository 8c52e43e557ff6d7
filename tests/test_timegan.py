"""TimeGAN: TF1 GRU gradients, loss terms against hand computations, the D threshold, learning on Sines,
determinism and checkpoints."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests._references import reference_gru
from tsbench.baselines.timegan import TimeGAN, Trainer, bce, discriminator_loss, moment_losses, supervised_loss
from tsbench.data.sines import sine_windows
from tsbench.errors import InputError
from tsbench.metrics.mmd import MMD
from tsbench.nn.gru import TF1GRU, _TF1GRUSequence
from tsbench.nn.optim import MaskedAdam


def sines(n: int, seq_len: int = 24, dim: int = 3, seed: int = 0) -> np.ndarray:
    return sine_windows(n, seq_len, dim, seed)


def mmd2(samples: np.ndarray, held_out: np.ndarray) -> float:
    return MMD(subset_size=None).compute(held_out, held_out, samples, seed=0)["value"][0]


# the recurrent core -------------------------------------------------------------------------------
def test_tf1_gru_matches_step_by_step_reference_and_gradcheck():
    torch.manual_seed(0)  # only for this test's throwaway tensors (forked, restored below)
    with torch.random.fork_rng(devices=[]):
        net = TF1GRU(3, 4, 2).double()
        x = torch.rand(5, 6, 3, dtype=torch.double, requires_grad=True)
    torch.testing.assert_close(net(x), reference_gru(x, net))
    layer = net.layers[1]
    h = torch.rand(5, 6, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(_TF1GRUSequence.apply, (h, layer.gate_kernel, layer.gate_bias,
                                                            layer.candidate_kernel, layer.candidate_bias))


def test_tf1_gru_float32_and_partial_gradients_match_autograd_reference():
    """float32 (tanh computed as 2σ(2a) − 1 in the fast core) and gradients for x only / weights only."""
    torch.manual_seed(1)
    with torch.random.fork_rng(devices=[]):
        net = TF1GRU(3, 5, 2)
        x = torch.rand(7, 4, 3, requires_grad=True)
        grad = torch.randn(7, 4, 5)
    torch.testing.assert_close(net(x), reference_gru(x, net), atol=1e-6, rtol=1e-5)
    params = list(net.parameters())
    for wrt in ([x], params, [x, *params]):
        ours = torch.autograd.grad(net(x), wrt, grad)
        ref = torch.autograd.grad(reference_gru(x, net), wrt, grad)
        for a, b in zip(ours, ref):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_tf1_init_has_unit_gate_bias():
    net = TF1GRU(2, 5, 1, init="tf1")
    assert torch.equal(net.layers[0].gate_bias, torch.ones(10))
    assert torch.equal(net.layers[0].candidate_bias, torch.zeros(5))


# loss terms against hand computations -------------------------------------------------------------
def test_supervised_loss_compares_next_step():
    H = torch.arange(12.0).view(3, 2, 2)  # (T, B, hidden)
    S = torch.zeros_like(H)
    assert supervised_loss(H, S).item() == pytest.approx(float((H[1:] ** 2).mean()))
    assert supervised_loss(H, torch.roll(H, -1, 0)).item() == 0.0  # S(H)[t] = H[t+1] exactly


def test_moment_losses_by_hand():
    X = torch.tensor([[[0.0], [1.0]]])  # T=1, B=2, F=1: mean .5, var .25
    X_hat = torch.tensor([[[0.5], [0.5]]])  # mean .5, var 0
    v1, v2 = moment_losses(X_hat, X)
    assert v1.item() == pytest.approx(abs(np.sqrt(1e-6) - np.sqrt(0.25 + 1e-6)), rel=1e-5)
    assert v2.item() == 0.0


def test_discriminator_loss_and_bce():
    zero = torch.zeros(2, 3, 1)
    assert bce(zero, 1.0).item() == pytest.approx(np.log(2))
    assert discriminator_loss(zero, zero, zero, gamma=0.5).item() == pytest.approx(2.5 * np.log(2))


def test_masked_adam_skips_when_mask_false_and_matches_torch_adam():
    p = torch.nn.Parameter(torch.linspace(-1, 1, 6))
    q = torch.nn.Parameter(p.detach().clone())
    ours, ref = MaskedAdam([p]), torch.optim.Adam([q], lr=1e-3)
    grads = [torch.linspace(0.5, -2, 6), torch.linspace(3, 1, 6)]
    for g in grads:
        ours.step([g], mask=torch.tensor(True))
        q.grad = g.clone()
        ref.step()
    torch.testing.assert_close(p.detach(), q.detach())
    before = p.detach().clone()
    ours.step([torch.ones(6)], mask=torch.tensor(0.1 > 0.15))  # the D threshold: loss 0.1 → no step
    assert torch.equal(p.detach(), before) and ours.t.item() == 2


# model ---------------------------------------------------------------------------------------------
SMOKE = TimeGAN.presets["smoke"]


def test_bad_params_raise_input_error():
    X = sines(20, 8, 2)
    with pytest.raises(InputError, match="num_layers"):
        TimeGAN(num_layers=1, iterations=1).fit(X, seed=0)
    with pytest.raises(InputError, match="gru_init"):
        TimeGAN(gru_init="keras", iterations=1).fit(X, seed=0)


def test_same_seed_same_samples_and_checkpoint_round_trip(tmp_path):
    X = sines(64, 12, 2)
    a = TimeGAN(**SMOKE).fit(X, seed=3)
    b = TimeGAN(**SMOKE).fit(X, seed=3)
    np.testing.assert_array_equal(a.sample(9, seed=1), b.sample(9, seed=1))
    assert not np.array_equal(a.sample(9, seed=1), a.sample(9, seed=2))
    a.save(tmp_path / "tg.pt")
    c = TimeGAN(**SMOKE).load(tmp_path / "tg.pt")
    np.testing.assert_array_equal(a.sample(9, seed=1), c.sample(9, seed=1))
    phases = {row["phase"] for row in a.history_}
    assert phases == {1.0, 2.0, 3.0} and a.history_[-1]["step"] == 3 * SMOKE["iterations"]


def test_phase_lengths_default_to_iterations_and_can_be_set_per_phase():
    """Default (and paper preset): ``iterations`` steps in each of the three phases, as in the reference code;
    ``pretrain_iterations`` / ``joint_iterations`` set phases 1–2 / 3 (the quick preset's 200 + 200 + 300)."""
    assert TimeGAN(iterations=7).phase_lengths() == (7, 7, 7)
    assert TimeGAN(**TimeGAN.presets["paper"]).phase_lengths() == (50000,) * 3
    assert TimeGAN(**TimeGAN.presets["quick"]).phase_lengths() == (200, 200, 300)
    model = TimeGAN(**{**SMOKE, "pretrain_iterations": 3, "joint_iterations": 5}).fit(sines(40, 8, 2), seed=0)
    steps = {phase: [r["step"] for r in model.history_ if r["phase"] == phase] for phase in (1.0, 2.0, 3.0)}
    assert (steps[1.0][-1], steps[2.0][0], steps[2.0][-1], steps[3.0][0], steps[3.0][-1]) == (3, 4, 6, 7, 11)
    with pytest.raises(InputError, match="joint_iterations"):
        TimeGAN(**{**SMOKE, "joint_iterations": 0}).fit(sines(20, 8, 2), seed=0)


def test_progress_callback_and_nonfinite_loss_fails_cell():
    from tsbench.errors import CellFailure

    calls = []
    TimeGAN(**SMOKE).fit(sines(40, 8, 2), seed=0, callback=lambda s, t, losses: calls.append((s, t)))
    assert calls[-1] == (3 * SMOKE["iterations"],) * 2
    with pytest.raises(CellFailure, match="non-finite"):
        TimeGAN(**{**SMOKE, "lr": 1e30}).fit(sines(40, 8, 2), seed=0)


SEEDS = [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)]


@pytest.mark.parametrize("seed", SEEDS)
def test_autoencoder_reconstruction_drops_5x(seed):
    """600 embedding-phase steps cut the held-out reconstruction RMSE ≥ 5× (measured 6.5–7.2× on seeds 0–2)."""
    X, X_test = sines(256, 16, 3, seed=seed), sines(200, 16, 3, seed=seed + 100)
    model = TimeGAN(hidden_dim=12, num_layers=2, batch_size=32, iterations=1).fit(X, seed=seed)

    def rmse():
        return float(np.sqrt(((model.reconstruct(X_test) - X_test) ** 2).mean()))

    before = rmse()
    trainer = Trainer(model, torch.as_tensor(X), torch.Generator().manual_seed(seed))
    for _ in range(600):
        trainer.embedding_step()
    assert rmse() * 5 <= before


@pytest.mark.parametrize("seed", SEEDS)
def test_samples_move_towards_held_out_sines(seed):
    """After a short three-phase fit, samples are closer (MMD²) to held-out windows than before training
    (measured 0.16–0.36 vs 0.79–0.81 on seeds 0–2)."""
    X, X_test = sines(256, 16, 3, seed=seed), sines(200, 16, 3, seed=seed + 100)
    params = dict(hidden_dim=12, num_layers=2, batch_size=32)
    untrained = TimeGAN(**params, iterations=1).fit(X, seed=seed)
    trained = TimeGAN(**params, iterations=80).fit(X, seed=seed)
    assert mmd2(trained.sample(200, seed=7), X_test) < mmd2(untrained.sample(200, seed=7), X_test)
