"""C-RNN-GAN specifics: optimiser choice, the paper's freezing rule, gradient clipping, ML pretraining.
(Shapes, seeds, checkpoints and bad input: the conformance suite; cards and losses: test_torch_generators.)"""
from __future__ import annotations

import pytest
import torch

from tsbench.baselines.crnngan import CRNNGAN
from tsbench.data.sines import sine_windows
from tsbench.errors import InputError

SMOKE = {**CRNNGAN.presets["smoke"], "iterations": 12}


def test_bad_optimizer_is_a_clear_error():
    with pytest.raises(InputError, match="optimizer"):
        CRNNGAN(**{**SMOKE, "optimizer": "rmsprop"}).fit(sine_windows(16), seed=0)


def _prepared(**params):
    model = CRNNGAN(**{**SMOKE, **params})
    model.device_, model.seq_len_, model.n_features_in_ = torch.device("cpu"), 24, 5
    model.nets_ = torch.nn.ModuleDict(model._build(24, 5)).train()
    return model, torch.as_tensor(sine_windows(32)), torch.Generator().manual_seed(0)


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
