"""Mid-fit checkpoints (issue 15, item 1): the Generator contract (``fit(checkpoint=TrainingCheckpoint)``, the
training-state hooks), the conformance check ``check_resume``, the runner's ``fit.ckpt``, and the property: a
``tsbench run`` SIGKILLed at seeded random moments mid-fit and resumed gives the model, samples and records of an
uninterrupted run (CPU, one thread)."""
from __future__ import annotations

import importlib.util
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tsbench.baselines.calibration import Gaussian
from tsbench.baselines.crnngan import CRNNGAN
from tsbench.baselines.gan import GAN
from tsbench.baselines.nrgan import NRGAN
from tsbench.baselines.timegan import TimeGAN
from tsbench.generator import Generator, TrainingCheckpoint
from tsbench.runner.execute import checkpoint_timing
from tsbench.runner.grid import plan_cells, run_grid
from tsbench.runner.store import RunStore
from tsbench.testing import CheckSettings, iter_generator_checks

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "chaos.py"
X = np.random.default_rng(0).random((48, 10, 2), dtype=np.float32)


class _Stop(Exception):
    pass


def interrupted(make, ckpt: Path, *, every: int, stop_at: int, **fit):
    """Fit ``make()`` with a checkpoint every ``every`` steps, stopped by the progress report at ``stop_at``."""
    checkpoint = TrainingCheckpoint(ckpt, every=every, seconds=None)

    def stop(step, total, losses):
        if step >= stop_at:
            raise _Stop

    with pytest.raises(_Stop):
        make().fit(X, callback=stop, checkpoint=checkpoint, **fit)
    return checkpoint


def same_fit(a: Generator, b: Generator) -> None:
    for seed in (0, 7):
        np.testing.assert_array_equal(a.sample(11, seed=seed), b.sample(11, seed=seed))
    assert a.history_ == b.history_


def run_check_resume(target, **params):
    (check,) = [c for c in iter_generator_checks(target, settings=CheckSettings(params=params))
                if c.name == "check_resume"]
    return check.run()


# the contract and the conformance check --------------------------------------------------------------------
@pytest.mark.parametrize("target, params", [
    ("gan", {}), ("gan", {"lr_decay": True}), ("crnngan", {}), ("crnngan", {"optimizer": "adam"}),
    ("nrgan", {}), ("nrgan", {"lr_decay": False}), ("timegan", {}), ("timevae", {}),
    ("timevae", {"epochs": 6, "seasons": "2x2", "trend_poly": 2}), ("diffusion_ts", {}),
], ids=["gan", "gan-lr_decay", "crnngan", "crnngan-adam", "nrgan", "nrgan-constant_lr", "timegan", "timevae",
        "timevae-epochs-parts", "diffusion_ts"])
def test_built_in_torch_generators_resume_bit_identically(target, params):
    result = run_check_resume(target, **params)
    assert result.status == "PASS" and "identical" in result.message, result.line()


def test_nrgan_denoise_resumes_bit_identically(tmp_path):
    def make():
        return NRGAN(mode="denoise", iterations=30, batch_size=16, hidden=8, lr_decay=True)

    checkpoint = interrupted(make, tmp_path / "fit.ckpt", every=4, stop_at=20, seed=2)
    resumed = make().fit(X, seed=2, checkpoint=checkpoint)
    reference = make().fit(X, seed=2)
    assert checkpoint.resumed_step == 16
    np.testing.assert_array_equal(resumed.denoise(X[:5]), reference.denoise(X[:5]))
    assert resumed.history_ == reference.history_


def test_resuming_twice_and_with_another_interval_changes_nothing(tmp_path):
    def make():
        return TimeGAN(**{**TimeGAN.presets["smoke"], "iterations": 12})

    path = tmp_path / "fit.ckpt"
    interrupted(make, path, every=5, stop_at=11, seed=1)
    second = interrupted(make, path, every=3, stop_at=30, seed=1)  # resumes, then is stopped again
    assert second.resumed_step == 10
    final = make().fit(X, seed=1, checkpoint=TrainingCheckpoint(path, every=7, seconds=None))
    same_fit(final, make().fit(X, seed=1))


class _ForgetsOptimizers(GAN):
    def _restore_training_state(self, state):
        rng, _ = self._loop
        self.nets_.load_state_dict(state["nets"])
        rng.set_state(state["rng"])


class _ForgetsRng(GAN):
    def _restore_training_state(self, state):
        state = {**state, "rng": torch.Generator().manual_seed(0).get_state()}
        super()._restore_training_state(state)


class _NeverSaves(Gaussian):
    def _training_state(self):
        return {}

    def _restore_training_state(self, state):
        pass


@pytest.mark.parametrize("cls, fragment", [
    (_ForgetsOptimizers, "samples after an interrupted and resumed fit differ"),
    (_ForgetsRng, "samples after an interrupted and resumed fit differ"),
    (_NeverSaves, "saved nothing"),
])
def test_check_resume_catches_state_left_out(cls, fragment):
    result = run_check_resume(cls, **({"iterations": 40} if issubclass(cls, GAN) else {}))
    assert result.status == "FAIL" and fragment in result.message, result.line()


def test_a_generator_without_the_hooks_ignores_the_checkpoint(tmp_path):
    checkpoint = TrainingCheckpoint(tmp_path / "fit.ckpt", every=1)
    assert not Gaussian.resumable() and GAN.resumable() and CRNNGAN.resumable()
    Gaussian().fit(X, seed=0, checkpoint=checkpoint)
    assert not checkpoint.path.exists() and checkpoint.saves == 0 and checkpoint.resumed_step == 0
    assert run_check_resume(Gaussian).message == "not resumable (an interrupted fit restarts)"


def test_a_checkpoint_of_another_fit_is_not_used(tmp_path):
    def make():
        return GAN(iterations=30)

    checkpoint = interrupted(make, tmp_path / "fit.ckpt", every=5, stop_at=20, seed=0)
    with pytest.warns(RuntimeWarning, match="belongs to another fit"):
        other_seed = make().fit(X, seed=1, checkpoint=checkpoint)
    assert checkpoint.resumed_step == 0
    same_fit(other_seed, make().fit(X, seed=1))


@pytest.mark.parametrize("damage", ["garbage", "stale layout"])
def test_an_unusable_checkpoint_restarts_the_fit(tmp_path, damage):
    def make():
        return GAN(iterations=30, lr_decay=True)

    checkpoint = interrupted(make, tmp_path / "fit.ckpt", every=5, stop_at=20, seed=0)
    if damage == "garbage":
        checkpoint.path.write_bytes(b"not a checkpoint")
        match = "unreadable training checkpoint"
    else:  # same fit, but the saved loop lacks an optimizer (an older layout): restored partly, then refused
        saved = torch.load(checkpoint.path, weights_only=True)
        del saved["state"]["loop"]["opt_d"]
        torch.save(saved, checkpoint.path)
        match = "could not be restored"
    with pytest.warns(RuntimeWarning, match=match):
        restarted = make().fit(X, seed=0, checkpoint=checkpoint)
    assert checkpoint.resumed_step == 0
    same_fit(restarted, make().fit(X, seed=0))


def test_numpy_state_round_trips(tmp_path):
    checkpoint = TrainingCheckpoint(tmp_path / "fit.ckpt")
    rng = np.random.default_rng(5)
    state = {"array": np.arange(6, dtype=np.uint16).reshape(2, 3), "rng": rng.bit_generator.state,
             "scalar": np.float32(1.5), "nested": [(1, "a"), {"t": torch.ones(2)}]}
    checkpoint.write(state)
    back = checkpoint.read()
    np.testing.assert_array_equal(back["array"], state["array"])
    assert back["array"].dtype == np.uint16 and back["rng"] == state["rng"] and back["scalar"] == 1.5
    assert back["nested"][0] == (1, "a") and torch.equal(back["nested"][1]["t"], torch.ones(2))
    assert checkpoint.saves == 1 and not list(tmp_path.glob(".*.tmp"))


def test_due_by_steps_and_by_seconds(tmp_path):
    by_steps = TrainingCheckpoint(tmp_path / "a", every=3, seconds=None)
    assert [s for s in range(1, 10) if by_steps.due(s)] == [3, 6, 9]
    by_time = TrainingCheckpoint(tmp_path / "b")  # the default: once a minute of training
    assert by_time.seconds == 60.0 and not by_time.due(1)
    by_time._last -= 61  # a minute of training later
    assert by_time.due(2)


# the runner -------------------------------------------------------------------------------------------------
def test_checkpoint_timing_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("TSBENCH_CHECKPOINT_STEPS", raising=False)
    monkeypatch.delenv("TSBENCH_CHECKPOINT_SECONDS", raising=False)
    assert checkpoint_timing() == {"every": None, "seconds": 60.0}
    monkeypatch.setenv("TSBENCH_CHECKPOINT_STEPS", "25")
    monkeypatch.setenv("TSBENCH_CHECKPOINT_SECONDS", "off")
    assert checkpoint_timing() == {"every": 25, "seconds": None}
    monkeypatch.setenv("TSBENCH_CHECKPOINT_STEPS", "often")
    with pytest.raises(ValueError, match="TSBENCH_CHECKPOINT_STEPS"):
        checkpoint_timing()


def _cells(generator: str = "gan[iterations=40]"):
    return plan_cells(["sines"], [generator], ["mmd"], seeds=1, preset="smoke", protocol="tsbench", device="cpu")


def test_the_checkpoint_interval_is_not_part_of_the_cell_identity(monkeypatch):
    monkeypatch.setenv("TSBENCH_CHECKPOINT_STEPS", "3")
    first = _cells()[0]
    monkeypatch.setenv("TSBENCH_CHECKPOINT_STEPS", "50")
    monkeypatch.setenv("TSBENCH_CHECKPOINT_SECONDS", "1")
    assert _cells()[0].cell_id == first.cell_id and _cells()[0] == first


def test_the_runner_resumes_from_fit_ckpt_and_removes_it(tmp_path, monkeypatch):
    """A fit interrupted inside the cell folder (same model, data, seed) is resumed by the next run, whose records
    and files equal an uninterrupted run's; ``fit.ckpt`` is gone once the cell is trained."""
    from tsbench.runner.execute import load_split

    monkeypatch.setenv("TSBENCH_CHECKPOINT_STEPS", "4")
    cell = _cells()[0]
    clean, resumed = RunStore(tmp_path / "clean"), RunStore(tmp_path / "resumed")
    run_grid([cell], clean.root, progress=False)
    folder = resumed.cell(cell.cell_id)
    folder.create()
    split = load_split(cell.dataset, cell.preset, cell.data_seed, cell.protocol)
    checkpoint = folder.fit_checkpoint(every=4, seconds=None)
    with pytest.raises(_Stop):
        GAN(**cell.generator_params).fit(split.train, seed=cell.fit_seed, checkpoint=checkpoint,
                                         callback=lambda step, total, losses: _raise(step >= 30))
    (folder.path / ".samples.npy.abc123.tmp").write_bytes(b"half")  # a write a killed run left unfinished
    run_grid([cell], resumed.root, progress=False)
    assert folder.read_trained()["resumed_after_step"] == 28
    assert not (folder.path / folder.FIT_STATE).exists() and not list(folder.path.glob(".*.tmp"))
    chaos = _chaos_module()
    assert chaos.compare_files(clean.root, resumed.root) == {"compared": 3, "differing": []}
    from tsbench.runner import load_records

    assert chaos.compare_records(load_records(clean.root), load_records(resumed.root))["identical"]
    assert clean.cell(cell.cell_id).read_trained()["resumed_after_step"] == 0


def test_force_trains_from_the_start(tmp_path, monkeypatch):
    cell = _cells()[0]
    store = RunStore(tmp_path)
    run_grid([cell], store.root, progress=False)
    folder = store.cell(cell.cell_id)
    stale = folder.fit_checkpoint()
    stale.write({"anything": 1})
    run_grid([cell], store.root, progress=False, force=["gan*"])
    assert not stale.path.exists() and folder.read_trained()["resumed_after_step"] == 0


def _raise(condition: bool) -> None:
    if condition:
        raise _Stop


def _chaos_module():
    spec = importlib.util.spec_from_file_location("chaos", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# the property: SIGKILL at random moments, resume, same result ------------------------------------------------
KILL_GRID = {"generators": ["gan[iterations=800]", "timegan[iterations=40]"], "datasets": ["sines"],
             "metrics": ["mmd"], "seeds": 1, "preset": "smoke"}


def test_sigkill_at_random_moments_mid_fit_then_resume_gives_the_uninterrupted_result(tmp_path):
    """``tsbench run`` (gan, then timegan; smoke; a checkpoint every 7 steps) is SIGKILLed 3 times — mid-gan, then
    twice mid-timegan — each at a moment drawn from a seeded RNG (up to 0.4 s after that fit saved its first
    checkpoint in the run), and resumed each time; the final model, samples and losses are byte-identical to an
    uninterrupted run's, the records equal, nothing is orphaned, and both final fits resumed from a checkpoint."""
    chaos = _chaos_module()
    env = chaos.run_env(checkpoint_steps=7)
    reference, killed, log = tmp_path / "reference", tmp_path / "killed", tmp_path / "runs.log"
    assert chaos.run_to_end(chaos.run_command(reference, 1, KILL_GRID), env, log)["exit_code"] == 0
    cmd, rng, interrupted = chaos.run_command(killed, 1, KILL_GRID), random.Random(15), []

    def fit_of(name, since):
        return lambda: any(chaos.cell_label(killed / rel).startswith(name + "[")
                           for rel in chaos.fits_under_way(killed, since))

    for name in ("gan", "timegan", "timegan"):  # bounded: three kills, each in a fresh run
        since = time.time() - 0.01
        proc = chaos.start(cmd, env, log)
        assert chaos.wait_until(fit_of(name, since), proc, 300), f"no {name} fit seen; {log.read_text()[-2000:]}"
        chaos.wait_until(lambda: False, proc, rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            interrupted += [f["cell"] for f in chaos.landing(killed, since)["fits"]]
        proc.wait(timeout=300)
    assert chaos.run_to_end(cmd, env, log)["exit_code"] == 0, log.read_text()[-2000:]
    assert {cell.split("[")[0] for cell in interrupted} == {"gan", "timegan"}, interrupted
    assert {c["cell"].split("[")[0] for c in chaos.resumed_cells(killed)} == {"gan", "timegan"}
    from tsbench.runner import load_records

    assert chaos.compare_records(load_records(reference), load_records(killed))["identical"]
    files = chaos.compare_files(reference, killed)
    assert files["compared"] == 6 and files["differing"] == []
    scan = chaos.scan_folder(killed)
    assert scan["orphans"] == [] and scan["unverifiable"] == [], scan


@pytest.mark.parametrize("text, timing", [
    ("90s", {"every": None, "seconds": 90.0}), ("5m", {"every": None, "seconds": 300.0}),
    ("1h", {"every": None, "seconds": 3600.0}), ("500steps", {"every": 500, "seconds": None}),
    ("1step", {"every": 1, "seconds": None}), ("off", {"every": None, "seconds": None})])
def test_checkpoint_every_values(text, timing):
    from tsbench.runner.execute import parse_checkpoint_every

    assert parse_checkpoint_every(text) == timing


@pytest.mark.parametrize("bad", ["often", "0s", "-5m", "5", "1.5steps", ""])
def test_a_bad_checkpoint_every_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, bad):
    from tsbench.cli import main

    out = tmp_path / "runs"
    assert main(["run", "-g", "gaussian", "-m", "mmd", "--preset", "smoke", f"--checkpoint-every={bad}",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--checkpoint-every" in err and "Traceback" not in err
    assert not out.exists()


def test_checkpoint_every_reaches_the_fit_and_is_not_part_of_the_identity(tmp_path, monkeypatch):
    """The interval travels with the cell (so remote Dask workers get it too), overrides the environment, and
    never changes the cell id."""
    from tsbench.runner.cellfiles import CellFolder

    monkeypatch.setenv("TSBENCH_CHECKPOINT_SECONDS", "5")
    seen = []
    original = CellFolder.fit_checkpoint

    def spy(self, **timing):
        seen.append(timing)
        return original(self, **timing)

    monkeypatch.setattr(CellFolder, "fit_checkpoint", spy)
    cell = plan_cells(["sines"], ["gan[iterations=40]"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench",
                      device="cpu", checkpoint_every="7steps")[0]
    assert cell.cell_id == _cells()[0].cell_id
    run_grid([cell], tmp_path, progress=False)
    assert seen == [{"every": 7, "seconds": None}]
