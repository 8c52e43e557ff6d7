"""The post-hoc ensembles (discriminative, predictive) and the Context-FID encoder on the metric's device
(issue 16, item 7), checked on the CPU:

* ``device`` is a runtime-only parameter: the metric's key and seed do not change with it, and the runner's device
  (``timed_compute(..., device=)``) replaces ``auto`` only;
* ``device="cpu"`` and the default give the values the CPU code gave before devices existed, bit for bit;
* the training loops run on the ``meta`` device: every floating-point tensor of a training step is created on the
  requested device, and no step reads a device value back to the host (on ``meta`` any ``.item()``,
  ``float(t)``, ``.cpu()`` or ``.numpy()`` raises); the only reads are the finiteness checks at the logging points;
* the device audit (:mod:`tsbench.testing.device_audit`) sees no host sync and no device-less tensor factory in the
  ensemble's training steps.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from tsbench.data.sines import Sines
from tsbench.evaluation import MetricSpec, timed_compute
from tsbench.metrics import _posthoc, _ts2vec
from tsbench.metrics.context_fid import ContextFID
from tsbench.metrics.discriminative import DiscriminativeScore, DiscriminativeTraining
from tsbench.metrics.predictive import PredictiveScore, PredictiveTraining
from tsbench.testing.device_audit import audit_fit


@pytest.fixture(scope="module")
def sines():
    split = Sines(n_samples=300).load(seed=0, protocol="tsbench")
    noisy = np.clip(split.train + np.random.default_rng(0).normal(0, .05, split.train.shape), 0, 1)
    return split.train, split.test, noisy.astype(np.float32)


# identity ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["discriminative", "predictive", "context_fid"])
def test_device_is_runtime_only(name):
    plain = MetricSpec.build(name, preset="smoke", protocol="tsbench", repeats=None)
    on_cpu = MetricSpec.build(f"{name}[device=cpu]", preset="smoke", protocol="tsbench", repeats=None)
    assert on_cpu.key == plain.key and on_cpu.seed_key == plain.seed_key
    assert plain.instantiate().device == "auto"
    assert plain.instantiate("cuda:1").device == "cuda:1"  # the cell's device replaces auto …
    assert on_cpu.instantiate("cuda:1").device == "cpu"  # … never an explicit one


@pytest.fixture
def devices_seen(monkeypatch) -> list[str]:
    """The ``device`` of every discriminative score computed during the test, in order."""
    seen = []
    real = DiscriminativeScore._compute

    def spy(self, *args, **kwargs):
        seen.append(self.device)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DiscriminativeScore, "_compute", spy)
    return seen


def test_timed_compute_passes_the_cells_device(sines, devices_seen):
    spec = MetricSpec.build("discriminative[iterations=2,repeats=1]", preset="smoke", protocol="tsbench", repeats=None)
    timed_compute(spec, *sines, seed=0, device="cpu")
    assert devices_seen == ["cpu"]


# same numbers --------------------------------------------------------------------------------------------
#: values of the CPU code before devices existed (commit 64a4705), same data and settings: 300 iterations
#: cross a PREFETCH_STEPS boundary
BEFORE = {
    ("discriminative", "tsbench", "tf1"): ["0x1.7297297297298p-5", "0x1.ee1ee1ee1ee20p-5", "0x1.4b94b94b94b90p-5"],
    ("predictive", "timegan2019", "torch"): ["0x1.f1b3840000000p-4", "0x1.5d1cb60000000p-3", "0x1.aa66fc0000000p-4"],
}


@pytest.mark.parametrize("name, protocol, cell", list(BEFORE))
def test_cpu_values_are_unchanged_and_explicit_cpu_is_the_default(sines, name, protocol, cell):
    train, test, synthetic = sines
    cls = DiscriminativeScore if name == "discriminative" else PredictiveScore
    if protocol == "timegan2019":
        test = train
    assert _posthoc.PREFETCH_STEPS < 300
    kw = dict(protocol=protocol, repeats=3, iterations=300, cell=cell)
    default = cls(**kw).compute(train, test, synthetic, seed=7)["value"]
    explicit = cls(**kw, device="cpu").compute(train, test, synthetic, seed=7)["value"]
    assert [v.hex() for v in default] == BEFORE[name, protocol, cell]
    assert explicit == default


def test_context_fid_explicit_cpu_is_the_default(sines, tmp_path, monkeypatch):
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path))
    _ts2vec.clear_memory_cache()
    kw = dict(hidden_dim=8, output_dim=16, depth=2, iterations=12, repeats=1, max_windows=200)
    default = ContextFID(**kw).compute(*sines, seed=3)["value"]
    _ts2vec.clear_memory_cache()
    explicit = ContextFID(**kw, device="cpu").compute(*sines, seed=3, )["value"]
    assert explicit == default


def test_dropout_masks_match_torch_dropout_on_the_cpu():
    x = torch.randn(4, 16, 9)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        expected = torch.nn.functional.dropout(x, _ts2vec.DROPOUT, training=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        got = x * _ts2vec._dropout_scale(x, _ts2vec.DROPOUT)
    assert torch.equal(got, expected)


# the training loops on another device -------------------------------------------------------------------
_OPTIM = os.path.join(os.path.dirname(torch.__file__), "optim") + os.sep


def _in_optimizer() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_OPTIM):
            return True
        frame = frame.f_back
    return False


class _OutputDevices(TorchDispatchMode):
    """Records (op, device, dtype) of every tensor an ATen op returns, outside ``torch.optim`` (the unfused
    Adam keeps its step counter on the host by design; the fused one used on a GPU keeps it on the device)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if _in_optimizer():
            return out
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.seen.append((str(func), t.device.type, t.dtype))
        return out


def _on_meta(monkeypatch):
    """The fused Adam has no meta kernel: the same update, unfused; the finiteness read (after training) is
    recorded instead of made (a meta tensor has no value)."""
    checks = []
    monkeypatch.setattr(_posthoc, "adam", lambda params, lr: torch.optim.Adam(
        params, lr=lr, betas=(0.9, 0.999), eps=1e-8, foreach=False))
    monkeypatch.setattr(_posthoc, "check_finite", lambda net: checks.append(net))
    return checks


@pytest.mark.parametrize("which", ["discriminative", "predictive"])
def test_ensemble_training_steps_stay_on_the_requested_device(sines, monkeypatch, which):
    checks = _on_meta(monkeypatch)
    train, test, synthetic = sines
    kw = dict(seed=0, repeats=2, protocol="tsbench", batch_size=16, hidden=4, cell="tf1", device="meta")
    job = (DiscriminativeTraining(train, test, synthetic, **kw) if which == "discriminative"
           else PredictiveTraining(test, synthetic, **kw))
    assert all(p.device.type == "meta" for p in job.net.parameters()) and job.X.device.type == "meta"
    with _OutputDevices() as mode:
        _posthoc.train(job.net, job.step_loss, job.draw_steps, 3)
    floats = [(op, dev) for op, dev, dtype in mode.seen if dtype.is_floating_point]
    assert floats and all(dev == "meta" for _, dev in floats), [f for f in floats if f[1] != "meta"][:5]
    # on the host: only the batch indices of the one prefetch (wrapped, joined), then one copy to the device
    host = [op for op, dev, dtype in mode.seen if dev == "cpu"]
    assert all(dtype == torch.int64 for _, dev, dtype in mode.seen if dev == "cpu") and len(host) <= 3, host
    assert sum(op == "aten._to_copy.default" for op, _, _ in mode.seen) == 1
    assert len(checks) == 1


def test_ts2vec_training_steps_stay_on_the_requested_device_and_read_nothing(monkeypatch):
    reads = []
    monkeypatch.setattr(_ts2vec, "_check_loss", lambda finite, last: reads.append(finite.device.type))
    X = np.random.default_rng(0).random((40, 12, 2), dtype=np.float32)
    settings = _ts2vec.EncoderSettings(hidden_dim=8, output_dim=16, depth=2, iterations=_ts2vec.CHECK_EVERY + 3)
    encoder = _ts2vec.train_encoder(X, settings, seed=1, device="meta")  # any host read of a step would raise
    assert all(p.device.type == "meta" for p in encoder.parameters())
    assert reads == ["meta", "meta"]  # every CHECK_EVERY steps and after the last


# the device audit ----------------------------------------------------------------------------------------
class _EnsembleFit:
    """The discriminative ensemble's training as a ``fit`` the device audit can run."""

    def __init__(self, data, device="cpu"):
        self.data, self.device = data, device

    def get_params(self, deep=False):
        return {"device": self.device}

    def fit(self, X, seed=0, callback=None):
        train, test, synthetic = self.data
        job = DiscriminativeTraining(train, test, synthetic, seed=seed, repeats=2, protocol="tsbench",
                                     batch_size=16, hidden=4, cell="tf1", device=self.device)
        _posthoc.train(job.net, job.step_loss, job.draw_steps, 6)
        return self


def test_device_audit_sees_no_sync_and_no_deviceless_factory_in_the_ensemble_steps(sines):
    audit = audit_fit(_EnsembleFit(sines), sines[0])
    assert audit.gradient_calls == 6
    assert audit.count("sync", "step") == 0 and audit.count("factory", "step") == 0, audit.summary()
    assert audit.problems() == []



def test_the_runner_scores_on_the_cells_device(tmp_path, devices_seen):
    """``tsbench run --device cpu`` on a GPU machine must not score on the GPU: the runner hands the cell's
    device to metrics whose ``device`` is left at ``"auto"`` (before, they kept ``"auto"``: CUDA when visible)."""
    from tsbench.runner.execute import run_cell
    from tsbench.runner.grid import plan_cells

    (cell,) = plan_cells(["sines"], ["gaussian"], ["discriminative[iterations=2,repeats=1]"], seeds=1,
                         preset="smoke", protocol="tsbench", device="cpu")
    run_cell(cell, str(tmp_path / "runs"))
    assert devices_seen == ["cpu"]
