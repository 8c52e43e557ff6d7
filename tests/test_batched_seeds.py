"""Several seeds as one batched model (issue 16, item 2): :class:`tsbench.nn.stacked.StackedModules` computes what
each network computes on its own, and ``GAN.fit_seeds`` gives what separate fits give, to float tolerance."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tsbench.baselines.gan import GAN
from tsbench.errors import InputError
from tsbench.nn.stacked import StackedModules

PARAMS = {"iterations": 30, "batch_size": 16, "lr_decay": True}


def _modules(make, n=3):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return [make() for _ in range(n)]


class Residual(nn.Module):  # not a Sequential MLP: goes through vmap
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        return x + torch.tanh(self.linear(x))


@pytest.mark.parametrize("make", [
    lambda: nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.1), nn.Linear(8, 2), nn.Tanh()),
    Residual,
], ids=["mlp-baddbmm", "other-vmap"])
def test_stacked_forward_and_gradients_equal_each_network_on_its_own(make):
    nets = _modules(make)
    stacked = StackedModules(nets)
    assert (stacked._layers is not None) == isinstance(nets[0], nn.Sequential)
    x = torch.rand(3, 5, 4, generator=torch.Generator().manual_seed(1))
    out = stacked(x)
    for m, net in enumerate(nets):
        torch.testing.assert_close(out[m], net(x[m]))
    out.square().sum().backward()
    for m, net in enumerate(nets):
        net(x[m]).square().sum().backward()
        for name, p in net.named_parameters():
            torch.testing.assert_close(stacked.params[name].grad[m], p.grad)


def test_write_back_gives_each_network_its_slice():
    nets = _modules(lambda: nn.Linear(2, 3))
    stacked = StackedModules(nets)
    with torch.no_grad():
        for tensor in stacked.parameters():
            tensor.add_(torch.arange(3.0).view(3, *[1] * (tensor.dim() - 1)))
    before = [net.weight.detach().clone() for net in nets]
    stacked.write_back(nets)
    for m, net in enumerate(nets):
        torch.testing.assert_close(net.weight, before[m] + m)
    with pytest.raises(ValueError, match="3 stacked models, got 2"):
        stacked.write_back(nets[:2])


def _windows(seed: int, n: int = 96) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 12, 3), dtype=np.float32)


@pytest.mark.parametrize("per_seed", [False, True], ids=["one-X", "X-per-seed"])
def test_fit_seeds_equals_separate_fits(per_seed):
    seeds = [4, 9, 11]
    X = [_windows(s) for s in seeds] if per_seed else _windows(0)
    seen = {s: [] for s in seeds}
    callbacks = [lambda step, total, losses, s=s: seen[s].append((step, total, losses)) for s in seeds]
    batched = GAN(**PARAMS).fit_seeds(X, seeds, callbacks=callbacks)
    for m, (seed, model) in enumerate(zip(seeds, batched)):
        alone = GAN(**PARAMS).fit(X[m] if per_seed else X, seed=seed)
        for (name, a), (_, b) in zip(model.nets_.state_dict().items(), alone.nets_.state_dict().items()):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=lambda msg: f"seed {seed} {name}: {msg}")
        np.testing.assert_allclose(model.sample(20, seed=1), alone.sample(20, seed=1), atol=1e-5)
        assert [row["step"] for row in model.history_] == [row["step"] for row in alone.history_]
        np.testing.assert_allclose([row["d_loss"] for row in model.history_],
                                   [row["d_loss"] for row in alone.history_], rtol=1e-4)
        assert [step for step, _, _ in seen[seed]] == [row["step"] for row in alone.history_]
    samples = [model.sample(20, seed=1) for model in batched]
    assert not np.allclose(samples[0], samples[1])  # different seeds, different models


def test_fitted_copies_are_ordinary_fitted_models(tmp_path):
    model = GAN(**PARAMS).fit_seeds(_windows(0), [0, 1])[1]
    assert model.is_fitted_ and not model.nets_.training and model.get_params() == GAN(**PARAMS).get_params()
    model.save(tmp_path / "gan.pt")
    loaded = GAN(**PARAMS).load(tmp_path / "gan.pt")
    np.testing.assert_array_equal(loaded.sample(5, seed=2), model.sample(5, seed=2))


def test_bad_seeds_and_windows_are_clear_errors():
    with pytest.raises(InputError, match="distinct integers"):
        GAN(**PARAMS).fit_seeds(_windows(0), [1, 1])
    with pytest.raises(InputError, match="one per seed"):
        GAN(**PARAMS).fit_seeds([_windows(0)], [1, 2])
    with pytest.raises(InputError, match="window shape"):
        GAN(**PARAMS).fit_seeds([_windows(0), _windows(1)[:, :6]], [1, 2])
    with pytest.raises(InputError, match="one per seed"):
        GAN(**PARAMS).fit_seeds(_windows(0), [1, 2], callbacks=[None])
