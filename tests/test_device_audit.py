"""The device audit (``check_device_audit``, :mod:`tsbench.testing.device_audit`): a CPU-runnable check that a
generator's training steps create no tensors off the model's device, read nothing back to the host outside
logging steps, and leave every parameter on the model's device. One deliberately bad toy per defect must fail
it; a clean toy, the non-torch rows and the built-in torch generators pass it."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from tsbench.baselines._torch import TorchGenerator, random_batch
from tsbench.card import Card
from tsbench.generator import Generator
from tsbench.testing import GENERATOR_CHECKS, check_generator
from tsbench.testing._data import toy_windows
from tsbench.testing.device_audit import audit_fit


class Toy(TorchGenerator):
    """A linear denoiser on noisy windows: a minimal, device-clean torch generator (logs every 4 steps, with
    two host reads after the step, as the built-ins do)."""

    name = "toy_torch"
    card = Card(title="device audit toy")
    presets = {"smoke": {"iterations": 12}}

    def __init__(self, iterations: int = 12, device: str = "cpu"):
        self.iterations = iterations
        self.device = device

    def _build(self, seq_len, n_features):
        return {"net": nn.Linear(n_features, n_features)}

    def _train(self, X, rng, callback):
        opt = torch.optim.Adam(self.nets_.parameters(), lr=1e-2)
        total = int(self.iterations)
        for step in range(1, total + 1):
            loss = self.train_step(X, rng, opt)
            self.after_step(loss)
            if step % 4 == 0 or step == total:
                losses = {"loss": float(loss), "scale": loss.new_ones(2).tolist()[0]}
                self.log(step, **losses)
                callback(step, total, losses)

    def noise(self, batch, rng):
        return torch.randn(batch.shape, generator=rng, device=batch.device)

    def train_step(self, X, rng, opt):
        batch = random_batch(X, 16, rng)
        batch = batch + 0.01 * self.noise(batch, rng) + torch.zeros_like(batch) + batch.new_zeros(())
        loss = (self.nets_["net"](batch) - batch).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    def after_step(self, loss) -> None:
        pass

    def _generate(self, n, rng):
        x = torch.rand(n, self.seq_len_, self.n_features_in_, generator=rng, device=self.device_)
        return torch.sigmoid(self.nets_["net"](x))


# one defect each ---------------------------------------------------------------------------------------------
class ImplicitNoise(Toy):
    """Draws its noise with no device=: on a GPU the noise is on the CPU (an error or a copy each step)."""

    def noise(self, batch, rng):
        return torch.randn(batch.shape, generator=rng)


class HostScalarTensor(Toy):
    """Builds a constant tensor from a Python value in every step (torch.tensor without device=)."""

    def noise(self, batch, rng):
        return super().noise(batch, rng) * torch.tensor(1.0)


class HostArange(Toy):
    """Builds an index tensor with torch.arange and no device= in every step."""

    def noise(self, batch, rng):
        return super().noise(batch, rng)[:, torch.arange(batch.shape[1])]


SYNCS = {
    "item": lambda loss: loss.item(),
    "cpu": lambda loss: loss.cpu(),
    "numpy": lambda loss: loss.numpy(),
    "tolist": lambda loss: loss.tolist(),
    "float": lambda loss: float(loss),
    "bool": lambda loss: bool(loss > 1e6),
    "format": lambda loss: f"{loss:.3f}",
    "np.asarray": lambda loss: np.asarray(loss),
    "nonzero": lambda loss: torch.nonzero(loss.reshape(1)),
    "boolean mask": lambda loss: loss.reshape(1)[loss.reshape(1) > 0],
}


def _syncing(kind: str) -> type:
    """A Toy that reads the loss on the host (``kind``) after every step, outside the logging path."""
    read = SYNCS[kind]
    return type(f"Sync_{kind.replace('.', '_').replace(' ', '_')}", (Toy,),
                {"after_step": lambda self, loss: read(loss)})


class SyncBeforeBackward(Toy):
    """A data-dependent Python branch on the loss before the backward pass (the TimeGAN reference's D rule)."""

    def train_step(self, X, rng, opt):
        batch = random_batch(X, 16, rng)
        loss = (self.nets_["net"](batch) - batch).pow(2).mean()
        if loss > 0.15:  # bool(tensor): a host sync in every step
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        else:
            torch.autograd.grad(loss, list(self.nets_.parameters()))
        return loss.detach()


class LogsEveryStep(Toy):
    """Reads the loss to log it after every step (a progress bar's loss.item() each iteration)."""

    log_every = 1

    def _train(self, X, rng, callback):
        opt = torch.optim.Adam(self.nets_.parameters(), lr=1e-2)
        for step in range(1, int(self.iterations) + 1):
            loss = self.train_step(X, rng, opt)
            callback(step, int(self.iterations), {"loss": loss.item()})


class UnmovedHead(Toy):
    """Builds an extra learned module during training and never moves it to the model's device."""

    def _train(self, X, rng, callback):
        self.head_ = nn.Linear(X.shape[2], X.shape[2])
        super()._train(X, rng, callback)


class HeadOnMeta(Toy):
    """Keeps a learned module on another device (here 'meta', the only other device a CPU machine has)."""

    def _train(self, X, rng, callback):
        self.head_ = nn.Linear(X.shape[2], X.shape[2], device="meta")
        super()._train(X, rng, callback)


# clean variants ------------------------------------------------------------------------------------------------
class LogsWithCallbackOnly(Toy):
    """Reads its losses inside the progress callback's arguments only, every 4th step: a logging step."""

    def _train(self, X, rng, callback):
        opt = torch.optim.Adam(self.nets_.parameters(), lr=1e-2)
        for step in range(1, int(self.iterations) + 1):
            loss = self.train_step(X, rng, opt)
            if step % 4 == 0:
                callback(step, int(self.iterations), {"loss": loss.item(), "list": loss.reshape(1).cpu().numpy()[0]})


class CPUOnly(Generator):
    """A torch generator without a device parameter that syncs every step: CPU-only, reported but not failed."""

    name = "cpu_only"
    card = Card(title="device audit toy")
    presets = {"smoke": {}}

    def __init__(self, iterations: int = 8):
        self.iterations = iterations

    def _fit(self, X, *, seed, callback):
        g = torch.Generator().manual_seed(seed)
        self.net_ = nn.Linear(X.shape[2], X.shape[2])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net_.reset_parameters()
        x = torch.as_tensor(X)
        opt = torch.optim.SGD(self.net_.parameters(), lr=0.01)
        for step in range(int(self.iterations)):
            loss = (self.net_(x + 0.01 * torch.randn(x.shape, generator=g)) - x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            callback(step + 1, int(self.iterations), {"loss": loss.item()})

    def _sample(self, n, *, seed):
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            out = torch.sigmoid(self.net_(torch.rand(n, self.seq_len_, self.n_features_in_, generator=g)))
        return out.numpy()

    def _state(self):
        return {"weight": self.net_.weight.detach().numpy(), "bias": self.net_.bias.detach().numpy()}

    def _set_state(self, state):
        self.net_ = nn.Linear(*state["weight"].shape[::-1])
        with torch.no_grad():
            self.net_.weight.copy_(torch.as_tensor(state["weight"]))
            self.net_.bias.copy_(torch.as_tensor(state["bias"]))


X = toy_windows(64, 12, 3, seed=0)


def _audit(cls, **params):
    return audit_fit(cls(**{**cls.presets["smoke"], **params}), X, seed=0)


def _check(cls):
    return {r.check: r for r in check_generator(cls)}["check_device_audit"]


def test_the_audit_is_a_conformance_check():
    assert "check_device_audit" in GENERATOR_CHECKS


def test_clean_toy_passes_with_zero_syncs_per_step():
    audit = _audit(Toy)
    assert audit.problems() == []
    assert audit.steps == 12 and audit.syncs_per_step == 0
    assert audit.logging_calls == 3 and audit.syncs_per_logging_step == 2  # float(loss) and .tolist()
    result = _check(Toy)
    assert result.status == "PASS", result.line()
    assert result.message.startswith("0 host syncs per training step (12 steps; 2 per logging step")


@pytest.mark.parametrize("cls, fragment", [
    (ImplicitNoise, "torch.randn(…) without device= at test_device_audit.py:"),
    (HostScalarTensor, "torch.tensor(…) without device= at test_device_audit.py:"),
    (HostArange, "torch.arange(…) without device= at test_device_audit.py:"),
])
def test_tensors_created_without_device_fail(cls, fragment):
    result = _check(cls)
    assert result.status == "FAIL"
    # step 1's part before its first gradient computation is set-up: 11 of the 12 calls are in training steps
    assert "11 tensor(s) created without device= in training steps" in result.message
    assert fragment in result.message and "in noise (11×)" in result.message


@pytest.mark.parametrize("kind", sorted(SYNCS))
def test_host_syncs_in_training_steps_fail(kind):
    result = _check(_syncing(kind))
    assert result.status == "FAIL", result.line()
    # read after every step: 9 of the 12 fall outside logging steps (steps 4, 8 and 12 log right after)
    assert "0.75 host sync(s) per training step outside logging steps" in result.message
    assert "in after_step (9×)" in result.message or "in <lambda> (9×)" in result.message


def test_a_sync_before_the_backward_pass_is_counted_in_every_step():
    audit = _audit(SyncBeforeBackward)
    assert audit.count("sync", "step") == 11  # step 1's part before its first gradient computation is set-up
    assert any("bool(tensor)" in p for p in audit.problems())


def test_logging_on_every_step_fails():
    result = _check(LogsEveryStep)
    assert result.status == "FAIL"
    assert "syncs to log on 12 of 12 training steps" in result.message


def test_logging_through_the_callback_only_passes():
    audit = _audit(LogsWithCallbackOnly)
    assert audit.problems() == [] and audit.count("sync", "logging") == 9


@pytest.mark.parametrize("cls, fragment", [
    (UnmovedHead, "created without a device and never moved to the model's device"),
    (HeadOnMeta, "not on the model's device cpu: head_.weight on meta"),
])
def test_parameters_off_the_device_fail(cls, fragment):
    result = _check(cls)
    assert result.status == "FAIL"
    assert fragment in result.message and "head_.bias" in result.message
    assert "net" not in result.message.split("[")[0]  # the moved nets_ are fine


def test_generator_without_device_parameter_is_reported_not_failed():
    audit = _audit(CPUOnly)
    assert audit.problems() == [] and not audit.has_device_param
    # the same figures with a device parameter: every defect the toy has would fail
    problems = " ".join(dataclasses.replace(audit, has_device_param=True).problems())
    for fragment in ("torch.randn(…) without device=", "syncs to log on 8 of 8 training steps", "never moved"):
        assert fragment in problems
    assert "no device parameter" in _check(CPUOnly).message


def test_non_torch_rows_pass_trivially():
    from tsbench.baselines.calibration import Gaussian

    result = _check(Gaussian)
    assert result.status == "PASS" and result.message == "fit ran no torch code: nothing to audit"


@pytest.mark.parametrize("path", ["tsbench.baselines.gan:GAN", "tsbench.baselines.crnngan:CRNNGAN",
                                  "tsbench.baselines.nrgan:NRGAN", "tsbench.baselines.timegan:TimeGAN"])
def test_builtin_torch_generators_pass_the_audit(path):
    import importlib

    module, name = path.split(":")
    cls = getattr(importlib.import_module(module), name)
    audit = _audit(cls, device="cpu")
    assert audit.problems() == [], audit.problems()
    assert audit.syncs_per_step == 0 and audit.steps > 0 and audit.logging_calls > 0


class WarnsLikeSyncDebug(Toy):
    """Raises torch's CUDA sync-debug warning inside every step (what a ``.item()`` does on a GPU under
    ``torch.cuda.set_sync_debug_mode("warn")``), and once when logging."""

    def after_step(self, loss):
        import warnings

        from tsbench.testing.device_audit import CUDA_SYNC_WARNING

        warnings.warn(CUDA_SYNC_WARNING)


def test_cuda_sync_debug_warnings_are_recorded_and_classified():
    starts = []
    audit = audit_fit(WarnsLikeSyncDebug(), X, seed=0, cuda_sync_warnings=True, on_gradient=starts.append)
    cuda = [e for e in audit.events if e.what == "CUDA sync (sync debug)"]
    assert {e.phase for e in cuda} == {"step", "logging"} and len(cuda) == 12
    assert all(e.site.startswith("test_device_audit.py:") and e.site.endswith("in after_step") for e in cuda)
    assert starts == list(range(1, 13))  # called before each gradient computation
    with pytest.warns(UserWarning, match="synchronizing"):  # without the option the warning is shown as usual
        audit_fit(WarnsLikeSyncDebug(), X, seed=0)
