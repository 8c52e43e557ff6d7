"""scripts/gpu_check.py, the prepared GPU check, run on the CPU with its tiny settings (--quick): it writes one
JSON file with the documented keys for every built-in model generator and the opt-in timegan[cell=cudnn]; its
step counts match the generators' loops, its step kinds the losses they report; its guards (compile failure,
compile timeout, time budget, no CUDA) report instead of crashing. The CUDA-graph section's own logic — the
steps it captures, the snapshot/restore of their state, the eager-vs-replay check, the worker's records and the
section built from them — runs here against a stand-in for ``torch.cuda`` (a "graph" that replays eagerly). (No
GPU figures are tested: none were measured.)"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest
import torch

from tests._helpers import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"
#: the paper grid's model generators (``tsbench run --all``) and the opt-in variant the check also times
GRID = ("gan", "crnngan", "nrgan", "timegan", "timevae", "diffusion_ts")
VARIANT = "timegan[cell=cudnn]"
#: the step kinds each entry's progress callbacks report (crnngan's pretraining is too short at --quick to time)
TIMED_KINDS = {"gan": {"train"}, "crnngan": {"train"}, "nrgan": {"train"}, "timevae": {"train"},
               "diffusion_ts": {"train"}, "timegan": {"phase1", "phase2", "phase3"},
               VARIANT: {"phase1", "phase2", "phase3"}}


@pytest.fixture(scope="module")
def gpu_check():
    return load_script("gpu_check")


def _args(gpu_check, *extra):
    """The check's arguments on the CPU at --quick, with ``extra``."""
    return gpu_check.parse_args(["unused.json", "--device", "cpu", "--quick", *extra])


def _check(gpu_check, *extra):
    return gpu_check.GPUCheck(_args(gpu_check, *extra))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check") / "check.json"
    done = subprocess.run([sys.executable, str(SCRIPT), str(out), "--device", "cpu", "--quick", "--threads", "1",
                           "--no-compile"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"wrote {out}" in done.stdout
    return json.loads(out.read_text())


def test_the_json_has_the_documented_keys(report, gpu_check):
    assert tuple(report) == gpu_check.TOP_KEYS
    assert report["schema"] == "tsbench-gpu-check/3" and report["quick"] is True and report["device"] == "cpu"
    assert report["torch_version"] == torch.__version__ and isinstance(report["device_name"], str)
    assert report["git_sha"] is None or re.fullmatch(r"[0-9a-f]{40}", report["git_sha"])
    assert tuple(report["generators"]) == (*GRID, VARIANT) == tuple(gpu_check.GENERATORS)
    assert gpu_check.GRID == GRID
    assert report["failures"] == []


@pytest.mark.parametrize("name", [*GRID, VARIANT])
def test_each_generator_is_timed_audited_and_projected(report, gpu_check, name):
    g = report["generators"][name]
    assert tuple(g) == ("params", "eager", "sync_debug", "determinism", "cuda_graph", "compile", "paper")
    assert tuple(g) == gpu_check.GENERATOR_KEYS
    eager = g["eager"]
    # the short fits' step-count parameters are set per section, not part of the shared parameters
    assert g["params"]["device"] == "cpu" and not set(eager["overrides"]) & set(g["params"])
    assert eager["status"] == "ok" and eager["step_ms_median"] > 0 and all(v > 0 for v in eager["step_ms"].values())
    assert set(eager["step_ms"]) == TIMED_KINDS[name] and all(n >= 1 for n in eager["intervals"].values())
    assert g["sync_debug"] == {"status": "skipped",
                               "reason": "not a CUDA device (torch.cuda.set_sync_debug_mode is CUDA's)"}
    assert g["determinism"]["status"] == "equal" and g["determinism"]["max_abs_diff"] == 0.0
    assert g["cuda_graph"] == {"status": "skipped", "reason": "CUDA graphs need a CUDA device"}
    assert g["compile"] == {"status": "skipped", "reason": "--no-compile"}
    paper = g["paper"]
    assert paper["projected_fit_s"] > 0 and paper["projected_compiled_fit_s"] is None
    assert paper["n_train"] == 7000 and set(paper["steps"]) >= TIMED_KINDS[name]
    assert set(paper["step_params"]) == set(gpu_check.GENERATORS[name].step_params)


def test_paper_steps_in_the_report(report):
    generators = report["generators"]
    assert generators["timegan"]["paper"]["steps"] == {"phase1": 50000, "phase2": 50000, "phase3": 50000}
    assert generators["crnngan"]["paper"]["steps"] == {"pretrain": 6 * 350, "train": 20000}  # ⌈7000 / 20⌉ = 350
    # TimeVAE: 1000 epochs × ⌈7000 / 16⌉ = 438 updates, an upper bound (early stopping)
    assert generators["timevae"]["paper"]["steps"] == {"train": 438000}
    assert generators["timevae"]["paper"]["steps_exact"] is False
    assert generators["timevae"]["paper"]["step_params"] == {"epochs": 1000, "max_steps": None, "batch_size": 16,
                                                             "early_stopping": True}
    # Diffusion-TS: 12000 updates of 2 accumulated mini-batches (Config/sines.yaml); the warm-up is among them
    assert generators["diffusion_ts"]["paper"]["steps"] == {"train": 12000}
    assert generators["diffusion_ts"]["paper"]["steps_exact"] is True
    assert generators["diffusion_ts"]["paper"]["step_params"] == {"train_steps": 12000, "grad_accumulation": 2,
                                                                  "warmup_steps": 500}


def test_the_cudnn_variant_is_timed_but_not_projected(report, gpu_check):
    variant = report["generators"][VARIANT]
    assert variant["params"]["cell"] == "cudnn" and "cell" not in report["generators"]["timegan"]["params"]  # tf1
    assert variant["paper"]["steps"] == report["generators"]["timegan"]["paper"]["steps"]
    assert VARIANT not in report["projection"]["fit_s_per_generator"]
    assert VARIANT not in report["projection"]["rows_scored"]
    assert gpu_check.parse_args(["x.json", "--generator", VARIANT]).generator == [VARIANT]


def test_posthoc_and_projection(report):
    posthoc = report["posthoc"]
    assert posthoc["status"] == "ok" and posthoc["dataset"] == "sines"
    assert posthoc["seconds"] == pytest.approx(posthoc["discriminative_s"] + posthoc["predictive_s"])
    # computed on the checked device, with the settings' repeats, and compared with the CPU (here: the same device)
    assert posthoc["device"] == "cpu" and posthoc["repeats"] == 2 == posthoc["discriminative_repeats"]
    match = posthoc["cpu_match"]
    assert match["status"] == "equal"
    assert match["discriminative"]["max_abs_diff"] == 0.0 and match["predictive"]["max_abs_diff"] == 0.0
    projection = report["projection"]
    assert projection["complete"] and projection["seeds"] == 3
    assert set(projection["fit_s_per_generator"]) == set(GRID)
    assert {*GRID, "real", "gaussian"} <= set(projection["rows_scored"])
    fits = sum(projection["fit_s_per_generator"].values())
    assert projection["fit_s"] == pytest.approx(3 * fits)
    assert projection["total_s"] == pytest.approx(projection["fit_s"] + projection["posthoc_s"])


def test_paper_step_counts(gpu_check):
    from tsbench.baselines.crnngan import CRNNGAN
    from tsbench.baselines.diffusion_ts import DiffusionTS
    from tsbench.baselines.gan import GAN
    from tsbench.baselines.timegan import TimeGAN
    from tsbench.baselines.timevae import TimeVAE

    assert gpu_check.paper_steps("crnngan", CRNNGAN.presets["paper"], 7000) == {"pretrain": 2100, "train": 20000}
    assert gpu_check.paper_steps("gan", GAN.presets["paper"], 7000) == {"train": 50000}
    assert gpu_check.paper_steps(VARIANT, TimeGAN.presets["paper"], 7000) == {f"phase{k}": 50000 for k in (1, 2, 3)}
    # TimeVAE's loop: epochs × ⌈n / min(batch_size, n)⌉ updates, capped at max_steps
    assert gpu_check.paper_steps("timevae", TimeVAE.presets["paper"], 7000) == {"train": 1000 * 438}
    assert gpu_check.paper_steps("timevae", TimeVAE.presets["paper"], 10) == {"train": 1000}  # batch = n
    assert gpu_check.paper_steps("timevae", TimeVAE.presets["quick"], 7000) == {"train": 2000}  # max_steps
    # Diffusion-TS's loop: train_steps updates, whatever the windows
    assert gpu_check.paper_steps("diffusion_ts", DiffusionTS.presets["paper"], 7000) == {"train": 12000}
    assert gpu_check.step_kind("timegan", {"recon_rmse": 1.0}) == "phase1"
    assert gpu_check.step_kind("timegan", {"g_loss_s": 1.0}) == "phase2"
    assert gpu_check.step_kind("timegan", {"recon_rmse": 1.0, "g_loss_u": 1.0, "d_loss": 1.0}) == "phase3"
    assert gpu_check.step_kind("crnngan", {"pretrain_mse": 1.0, "prefix_len": 3.0}) == "pretrain"


@pytest.mark.parametrize("name, kinds", [("crnngan", {"pretrain", "train"}), ("timevae", {"train"}),
                                         ("diffusion_ts", {"train"}), (VARIANT, {"phase1", "phase2", "phase3"})])
def test_short_fits_time_each_step_kind_the_callbacks_report(gpu_check, name, kinds):
    """A smoke fit with the short-fit overrides for 2 intervals: the kinds told by the losses each generator really
    passes to its callback, and at least 2 timed intervals of each (crnngan's pretraining: set by the windows)."""
    from tsbench.data.sines import Sines

    X = Sines(**Sines.presets["smoke"]).load(seed=0, protocol="tsbench").train
    timer = gpu_check.StepTimer(name, lambda: None)
    params = {**gpu_check.load_class(name).presets["smoke"], **gpu_check.short_fit(name, 2)}
    gpu_check.build(name, params).fit(X, seed=0, callback=timer)
    assert {kind for kind, _, _ in timer.rows} == kinds
    intervals = timer.summary(warmup=0)["intervals"]
    assert all(intervals[kind] >= 2 for kind in kinds - {"pretrain"})
    assert timer.rows[-1][1] == sum(gpu_check.paper_steps(name, params, len(X)).values())  # the fit's own total


def test_a_spent_budget_skips_sections_with_their_reason(gpu_check, tmp_path):
    out = tmp_path / "spent.json"
    assert gpu_check.main([str(out), "--device", "cpu", "--quick", "--no-compile", "--budget-s", "0"]) == 0
    report = json.loads(out.read_text())
    assert tuple(report["generators"]) == (*GRID, VARIANT) and report["failures"] == []
    for g in report["generators"].values():
        for key in ("eager", "sync_debug", "determinism", "cuda_graph"):
            assert g[key]["status"] == "skipped" and g[key]["reason"].startswith("time budget: ")
        assert g["paper"]["projected_fit_s"] is None and g["paper"]["steps"]
    assert report["posthoc"]["status"] == "skipped" and report["projection"]["complete"] is False


def test_later_sections_need_the_eager_time_scaled_by_steps(gpu_check):
    check = _check(gpu_check)
    eager = {"status": "ok", "steps": 130, "windows": 210, "fit_s": 13.0}  # 0.1 s per step, set-up included
    # gan's sync-debug fits: 2 audited fits of 3 intervals = 40 steps each, AUDIT_SLOWDOWN times slower
    assert check.need_s("gan", eager, fits=2, intervals=3, slowdown=4.0) == pytest.approx(2 * 4.0 * 0.1 * 40)
    assert check.need_s("gan", {"status": "skipped"}, fits=2, intervals=3) == gpu_check.MIN_NEED_S


def test_step_timer_medians_after_warm_up(gpu_check):
    timer = gpu_check.StepTimer("gan", lambda: None)
    timer.rows = [("train", 10, 0.0), ("train", 20, 1.0), ("train", 30, 1.1), ("train", 40, 1.3), ("train", 50, 1.4)]
    summary = timer.summary(warmup=1)  # intervals 100, 10, 20, 10 ms per step; the first is warm-up
    assert summary["step_ms"] == {"train": pytest.approx(10.0)} and summary["intervals"] == {"train": 3}


def test_a_failing_compile_is_reported(gpu_check, monkeypatch):
    def broken(module, *args, **kwargs):
        raise RuntimeError("no inductor backend here")

    monkeypatch.setattr(torch, "compile", broken)
    result = gpu_check.compile_worker(_args(gpu_check, "--worker", "compile", "--generator", "gan"))
    assert result["status"] == "failed" and "no inductor backend here" in result["reason"]


def test_a_slow_compile_is_skipped_with_its_reason(gpu_check):
    result = _check(gpu_check, "--compile-timeout-s", "0.5").compiled("gan")
    assert result == {"status": "skipped", "reason": "compile + timed steps took over 0.5 s (--compile-timeout-s)"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_a_gpu_is_a_one_line_error(gpu_check, capsys, tmp_path):
    assert gpu_check.main([str(tmp_path / "x.json"), "--device", "cuda"]) == 2
    assert "no CUDA GPU is visible" in capsys.readouterr().err and not (tmp_path / "x.json").exists()


# the CUDA-graph section ---------------------------------------------------------------------------------------
GRAPH_KINDS = {"gan": ["train"], "timegan": ["phase3", "phase1", "phase2"], VARIANT: ["phase3", "phase1", "phase2"]}


def test_only_gan_and_timegan_have_a_prepared_capture(gpu_check):
    assert {name for name, m in gpu_check.GENERATORS.items() if m.graph is not None} == set(GRAPH_KINDS)
    # on a CUDA device an entry without one is skipped with its reason (on a CPU every entry: the CPU's reason)
    check = _check(gpu_check)
    check.cuda = True
    assert check.cuda_graph("crnngan") == {
        "status": "skipped", "reason": "no CUDA-graph capture is prepared for crnngan (only for gan, timegan, "
                                       "timegan[cell=cudnn])"}
    assert check.graph_need_s("crnngan", {"status": "ok"}) == 0.0
    # gan's worker: its start-up, then per kind eager and graph steps (warm-ups, timed blocks, the check's steps,
    # capture and first replay) at the eager fit's 0.1 s per step
    q = gpu_check.QUICK
    per_kind = 2 * (q["graph_warmup"] + q["graph_blocks"] * q["graph_block_steps"] + q["graph_capture_warmup"]
                    + 2 * q["graph_check_steps"] + 2)
    eager = {"status": "ok", "steps": 130, "fit_s": 13.0, "step_ms": {"train": 90.0}}
    assert check.graph_need_s("gan", eager) == pytest.approx(gpu_check.GRAPH_START_S + per_kind * 0.1)
    assert check.graph_need_s("gan", {"status": "skipped"}) == gpu_check.GRAPH_START_S
    check.cuda = False
    assert check.cuda_graph("gan") == {"status": "skipped", "reason": "CUDA graphs need a CUDA device"}


@pytest.mark.parametrize("name", list(GRAPH_KINDS))
def test_a_restored_snapshot_repeats_a_step_exactly(gpu_check, name):
    """The correctness check's snapshot (parameters, buffers, optimiser state, generator state) restored in place
    and the step re-run gives the same state bit for bit; without the generator's state it does not."""
    windows, steps = gpu_check.graph_setup(_check(gpu_check), name)
    assert list(steps) == GRAPH_KINDS[name] and windows > 0
    for kind, step in steps.items():
        step.run()  # torch.optim creates its state at the first step
        tensors = step.tensors()
        n_params = sum(isinstance(t, torch.nn.Parameter) for t in tensors)
        assert len({id(t) for t in tensors}) == len(tensors) > n_params  # optimiser state listed, each once
        snapshot = gpu_check.Snapshot(tensors, step.generators)
        before = [t.clone() for t in tensors]
        step.run()
        after = [t.clone() for t in tensors]
        assert any(not torch.equal(a, b) for a, b in zip(before, after))  # the step updates state in place
        snapshot.restore()
        assert all(torch.equal(t, b) for t, b in zip(tensors, before))
        step.run()
        assert all(torch.equal(t, a) for t, a in zip(tensors, after)), kind
        # the same step from the same state, the generator not restored: other batches, another state
        without_rng = gpu_check.Snapshot(tensors, ())
        step.run()
        following = [t.clone() for t in tensors]
        without_rng.restore()
        step.run()
        assert any(not torch.equal(t, f) for t, f in zip(tensors, following)), kind


def test_the_replay_check_tells_equal_from_differ(gpu_check):
    """``replay_check`` with the eager step as its "replay": equal; a replay that runs two steps: differ (the state
    and the generator both ahead)."""
    _, steps = gpu_check.graph_setup(_check(gpu_check), "timegan")
    step = steps["phase1"]
    step.run()
    same = gpu_check.replay_check(step, step.run, 2, lambda: None)
    assert same["status"] == "equal" and same["rng_equal"] and same["state_max_abs_diff"] == 0.0
    assert same["params_max_abs_diff"] == 0.0 and same["losses_max_abs_diff"] == 0.0 and same["steps"] == 2

    def two_steps():
        step.run()
        return step.run()

    other = gpu_check.replay_check(step, two_steps, 1, lambda: None)
    assert other["status"] == "differ" and not other["rng_equal"] and other["params_max_abs_diff"] > 0
    assert math.isnan(gpu_check.max_abs_diff([torch.tensor([float("nan")])], [torch.tensor([0.0])]))


class FakeStream:
    def __init__(self, device=None):
        self.device = device

    def wait_stream(self, other):
        pass


class FakeGraph:
    """A stand-in for ``torch.cuda.CUDAGraph`` whose replay runs the captured step eagerly and writes its losses
    into the capture's outputs (as a real replay writes its static outputs)."""

    def __init__(self):
        self.generators, self.run, self.outputs = [], None, None

    def register_generator_state(self, generator):
        self.generators.append(generator)

    def replay(self):
        for key, value in self.run().items():
            self.outputs[key].copy_(value)


@pytest.fixture
def fake_cuda(gpu_check, monkeypatch):
    """``torch.cuda`` replaced where the section calls it; the check believes it runs on CUDA (on the CPU)."""
    calls = {"set_stream": [], "graphs": []}
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "Stream", FakeStream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: FakeStream(device))
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: nullcontext())
    monkeypatch.setattr(torch.cuda, "set_stream", lambda stream: calls["set_stream"].append(stream))
    monkeypatch.setattr(torch.cuda, "CUDAGraph", FakeGraph)
    monkeypatch.setattr(torch.cuda, "graph", lambda graph, stream=None: nullcontext())
    real_capture = gpu_check.capture_step

    def capture(run, generators, stream):  # the real capture_step; then the fake graph learns what to replay
        graph, outputs = real_capture(run, generators, stream)
        graph.run, graph.outputs = run, outputs
        calls["graphs"].append(graph)
        return graph, outputs

    monkeypatch.setattr(gpu_check, "capture_step", capture)

    class CudaCheck(gpu_check.GPUCheck):
        def __init__(self, args):
            super().__init__(args)
            self.cuda = True

    monkeypatch.setattr(gpu_check, "GPUCheck", CudaCheck)
    return calls


@pytest.mark.parametrize("name", ["gan", "timegan"])
def test_the_worker_records_every_step_kind(gpu_check, fake_cuda, capsys, name):
    """The ``--worker cuda_graph`` run end to end on the stand-in: set-up, each kind timed eager and replayed, the
    check equal (the stand-in replays the same step), the generator registered, the section ``ok``."""
    gpu_check.cuda_graph_worker(_args(gpu_check, "--worker", "cuda_graph", "--generator", name))
    stdout = capsys.readouterr().out
    assert [json.loads(line) for line in stdout.splitlines()][-1] == {"done": True}
    section = gpu_check.graph_section(stdout)
    assert section["status"] == "ok" and section["setup"]["status"] == "ok", section
    assert section["setup"]["kinds"] == list(section["kinds"]) == GRAPH_KINDS[name]
    settings = gpu_check.QUICK
    for kind, record in section["kinds"].items():
        assert record["status"] == "ok" and record["check"]["status"] == "equal" and record["check"]["rng_equal"]
        assert record["eager_step_ms"] > 0 and record["graph_step_ms"] > 0 and record["capture_s"] >= 0
        assert record["speedup"] == pytest.approx(record["eager_step_ms"] / record["graph_step_ms"])
        assert record["timed_steps"] == settings["graph_blocks"] * settings["graph_block_steps"]
        assert record["step"].startswith("GAN.train_step" if name == "gan" else "Trainer.")
    assert len(fake_cuda["graphs"]) == len(GRAPH_KINDS[name])
    assert all(len(graph.generators) == 1 and graph.generators[0].device.type == "cpu"
               for graph in fake_cuda["graphs"])


def test_a_failing_capture_is_recorded_and_the_next_kind_tried(gpu_check, fake_cuda, monkeypatch, capsys):
    """A step that raises under capture (as a host sync does) and a capture end that raises in turn: the step's
    error is recorded with its site, the stream is restored, and the next kind runs, marked ``after_failed``."""
    captures = []

    @contextmanager
    def failing_graph(graph, stream=None):
        captures.append(graph)
        yield
        if len(captures) == 1:  # the joint step's capture, invalidated by its sync
            raise RuntimeError("CUDA error: operation failed due to a previous error during capture")

    monkeypatch.setattr(torch.cuda, "graph", failing_graph)
    steps = gpu_check.GENERATORS["timegan"].graph.steps

    def sync_in_joint_step(model, X):
        prepared = steps(model, X)
        joint = prepared["phase3"]
        capturing = []

        def run():
            if capturing:  # the call inside capture (warm-ups run first, each ends with the joint step's losses)
                raise RuntimeError("CUDA error: operation not permitted when stream is capturing")
            return joint.run()

        prepared["phase3"] = joint._replace(run=run)
        real = gpu_check.warm_up_on

        def warm_then_arm(stream, call, n):
            real(stream, call, n)
            capturing.append(call is run)

        monkeypatch.setattr(gpu_check, "warm_up_on", warm_then_arm)
        return prepared

    monkeypatch.setitem(gpu_check.GENERATORS, "timegan",
                        gpu_check.GENERATORS["timegan"]._replace(graph=gpu_check.GraphCapture(
                            gpu_check.TIMEGAN_GRAPH.fit, sync_in_joint_step)))
    gpu_check.cuda_graph_worker(_args(gpu_check, "--worker", "cuda_graph", "--generator", "timegan"))
    section = gpu_check.graph_section(capsys.readouterr().out)
    assert section["status"] == "failed" and section["reason"] == "capture failed: phase3"
    failed = section["kinds"]["phase3"]
    assert failed["status"] == "failed" and "operation not permitted when stream is capturing" in failed["reason"]
    assert failed["stage"] == "capture" and failed["eager_step_ms"] > 0  # what was measured before it is kept
    assert failed["site"].startswith("test_gpu_check.py:")  # the innermost frame outside torch and the script
    assert section["kinds"]["phase1"]["status"] == "ok" and section["kinds"]["phase1"]["after_failed"] == ["phase3"]
    assert fake_cuda["set_stream"]  # capture_step put the entry stream back


def test_the_section_from_the_worker_records(gpu_check):
    def lines(*records):
        return "\n".join(json.dumps(r) for r in records) + "\n"

    setup = {"setup": {"status": "ok", "fit": {}, "windows": 7000, "setup_s": 1.0, "kinds": ["phase3", "phase1"]}}
    ok = {"status": "ok", "check": {"status": "equal"}}
    done = lines(setup, {"kind": "phase3", **ok}, {"kind": "phase1", **ok}, {"done": True})
    assert gpu_check.graph_section(done)["status"] == "ok"
    assert gpu_check.graph_section("torch warning on stdout\n" + done)["kinds"]["phase1"] == ok
    close = lines(setup, {"kind": "phase3", "status": "ok", "check": {"status": "close"}}, {"done": True})
    assert gpu_check.graph_section(close)["status"] == "ok"
    differ = gpu_check.graph_section(lines(setup, {"kind": "phase3", "status": "ok", "check": {"status": "differ"}},
                                           {"done": True}))
    assert differ["status"] == "differ" and differ["reason"].endswith(": phase3")
    # a timeout after the first kind keeps it
    cut = gpu_check.graph_section(lines(setup, {"kind": "phase3", **ok}), "the worker ran over 90 s")
    assert cut["status"] == "failed" and cut["reason"] == "the worker ran over 90 s"
    assert list(cut["kinds"]) == ["phase3"]
    assert gpu_check.graph_section("", "worker exited -11: Segmentation fault") == {
        "status": "failed", "reason": "worker exited -11: Segmentation fault"}
    assert gpu_check.graph_section(lines({"setup": {"status": "skipped", "reason": "lr_decay=True: …"}})) == {
        "status": "skipped", "reason": "lr_decay=True: …"}
    assert gpu_check._json_safe({"a": [float("nan"), 1.0]}) == {"a": ["nan", 1.0]}


def test_a_gan_with_learning_rate_decay_is_not_captured(gpu_check):
    from tsbench.baselines.gan import GAN

    with pytest.raises(gpu_check.NotCapturable, match="lr_decay"):
        gpu_check._gan_graph_steps(GAN(lr_decay=True), torch.zeros(4, 3, 2))


def test_the_check_runs_the_worker_in_a_subprocess(gpu_check):
    """The parent's side: the worker command line and its records (here the worker, on a CPU, declines)."""
    check = _check(gpu_check)
    check.cuda = True
    section = check.cuda_graph("gan")
    assert section["status"] == "skipped" and section["reason"] == "CUDA graphs need a CUDA device"
    assert section["worker_s"] > 0
    assert _check(gpu_check, "--no-cuda-graph").args.cuda_graph is False


COMMITTED = Path(__file__).resolve().parents[1] / "results" / "gpu-check"


@pytest.mark.parametrize("path", sorted(COMMITTED.glob("*.json")), ids=lambda p: p.name)
def test_committed_outputs_are_complete_checks_of_a_commit(path, gpu_check):
    """Every committed output is a whole run of the current schema on a named, clean commit, without failures, with
    eager and compiled step times for every generator."""
    report = json.loads(path.read_text())
    assert tuple(report) == gpu_check.TOP_KEYS and report["schema"] == gpu_check.SCHEMA
    assert re.fullmatch(r"[0-9a-f]{40}", report["git_sha"]) and report["git_dirty"] is False
    assert report["quick"] is False and report["failures"] == []
    assert set(report["generators"]) == set(gpu_check.GENERATORS)
    for name, sections in report["generators"].items():
        assert tuple(sections) == gpu_check.GENERATOR_KEYS, name
        for key in ("eager", "compile"):
            assert sections[key]["status"] == "ok" and sections[key]["step_ms"], (name, key)
    assert report["projection"]["complete"] is True
