"""Tests of the C-RNN-GAN generator: shapes, determinism, checkpoints, non-finite losses, parameters."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsbench.baselines.crnngan import CRNNGAN
from tsbench.errors import CellFailure, InputError, NotFittedError

SMOKE = {**CRNNGAN.presets["smoke"], "iterations": 12}


def sines(n, seq_len=24, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    freq, phase = rng.uniform(0, 0.1, (2, n, 1, n_features))
    return ((np.sin(freq * np.arange(seq_len)[None, :, None] + phase) + 1) / 2).astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    return CRNNGAN(**SMOKE).fit(sines(64), seed=0)


def test_presets_and_card():
    assert set(CRNNGAN.presets) == {"smoke", "quick", "paper"}
    for preset in CRNNGAN.presets.values():
        assert set(preset) <= set(CRNNGAN._get_param_names())
    assert CRNNGAN.card.problems() == [] and CRNNGAN.card.adapted and CRNNGAN.card.faithful
    params = CRNNGAN().get_params()
    assert params["device"] == "cpu" and params["amp"] is False


def test_sample_shape_range_and_seed(fitted):
    a, b = fitted.sample(7, seed=3), fitted.sample(7, seed=3)
    assert a.shape == (7, 24, 3) and a.dtype == np.float32
    assert np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fitted.sample(7, seed=4))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        CRNNGAN(**SMOKE).sample(2, seed=0)


def test_same_seed_same_fit_and_history():
    X = sines(48, n_features=2)
    a = CRNNGAN(**SMOKE).fit(X, seed=5)
    b = CRNNGAN(**SMOKE).fit(X, seed=5)
    np.testing.assert_array_equal(a.sample(5, seed=1), b.sample(5, seed=1))
    assert a.history_ == b.history_ and a.history_
    c = CRNNGAN(**SMOKE).fit(X, seed=6)
    assert not np.array_equal(a.sample(5, seed=1), c.sample(5, seed=1))


def test_no_global_rng_use():
    state = torch.random.get_rng_state()
    CRNNGAN(**SMOKE).fit(sines(32), seed=0).sample(3, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())


def test_checkpoint_round_trip(fitted, tmp_path):
    path = tmp_path / "model.pt"
    fitted.save(path)
    loaded = CRNNGAN(**SMOKE).load(path)
    np.testing.assert_array_equal(fitted.sample(9, seed=2), loaded.sample(9, seed=2))


def test_progress_callback_and_log():
    calls = []
    model = CRNNGAN(**SMOKE).fit(sines(32), seed=0, callback=lambda s, t, l: calls.append((s, t, l)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert all(np.isfinite(v) for _, _, losses in calls for v in losses.values())
    assert model.history_[-1]["step"] == calls[-1][0]


def test_non_finite_loss_fails_the_cell():
    class Broken(CRNNGAN):
        def _build(self, seq_len, n_features):
            nets = super()._build(seq_len, n_features)
            with torch.no_grad():
                for p in nets["generator"].parameters():
                    p.fill_(float("nan"))
            return nets

    with pytest.raises(CellFailure, match="non-finite"):
        Broken(**SMOKE).fit(sines(32), seed=0)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="3-D"):
        CRNNGAN(**SMOKE).fit(np.zeros((10, 24), np.float32), seed=0)


def test_bad_optimizer_is_a_clear_error():
    with pytest.raises(InputError, match="optimizer"):
        CRNNGAN(**{**SMOKE, "optimizer": "rmsprop"}).fit(sines(16), seed=0)


def _prepared(**params):
    model = CRNNGAN(**{**SMOKE, **params})
    model.device_, model.seq_len_, model.n_features_in_ = torch.device("cpu"), 24, 3
    model.nets_ = torch.nn.ModuleDict(model._build(24, 3)).train()
    return model, torch.as_tensor(sines(32)), torch.Generator().manual_seed(0)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_freezing_rule_skips_updates(optimizer):
    # a freeze ratio so large that each loss is "below ratio x the other": both networks are frozen
    model, X, rng = _prepared(optimizer=optimizer, freeze_ratio=1e9)
    before = {k: v.clone() for k, v in model.nets_.state_dict().items()}
    _, _, freeze = model.train_step(X, rng, *model._optimizers())
    assert freeze.tolist() == [1.0, 1.0]
    for key, value in model.nets_.state_dict().items():
        assert torch.equal(value, before[key]), key
    # ratio 0: nothing is frozen and both networks move
    model, X, rng = _prepared(optimizer=optimizer, freeze_ratio=0.0)
    before = {k: v.clone() for k, v in model.nets_.state_dict().items()}
    _, _, freeze = model.train_step(X, rng, *model._optimizers())
    assert freeze.tolist() == [0.0, 0.0]
    for net in ("generator", "discriminator"):
        assert any(not torch.equal(v, before[f"{net}.{k}"]) for k, v in model.nets_[net].state_dict().items())


def test_gradients_are_clipped_to_the_global_norm():
    model, X, rng = _prepared(grad_clip=1e-3, l2=0.0)
    G = model.nets_["generator"]
    loss = model._fake(8, 24, rng).pow(2).sum() * 1e3
    grads = model._penalised_grads(G, loss, retain=False)
    norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))
    assert norm == pytest.approx(1e-3, rel=1e-4)


def test_pretraining_lowers_the_next_step_error():
    model, X, rng = _prepared(optimizer="adam", lr=1e-2)
    opt_g, _ = model._optimizers()
    first = float(model.pretrain_step(X, rng, opt_g))
    for _ in range(30):
        last = float(model.pretrain_step(X, rng, opt_g))
    assert last < 0.5 * first
