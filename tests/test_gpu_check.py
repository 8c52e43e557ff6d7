"""scripts/gpu_check.py, the prepared GPU check, run on the CPU with its tiny settings (--quick): it writes one
JSON file with the documented keys for every built-in model generator and the opt-in timegan[cell=cudnn]; its
step counts match the generators' loops, its step kinds the losses they report; its guards (compile failure,
compile timeout, time budget, no CUDA) report instead of crashing. (No GPU figures are tested: none were
measured.)"""
from __future__ import annotations

import json
import re
import subprocess
import sys
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
    assert report["schema"] == "tsbench-gpu-check/2" and report["quick"] is True and report["device"] == "cpu"
    assert report["torch_version"] == torch.__version__ and isinstance(report["device_name"], str)
    assert report["git_sha"] is None or re.fullmatch(r"[0-9a-f]{40}", report["git_sha"])
    assert tuple(report["generators"]) == (*GRID, VARIANT) == tuple(gpu_check.GENERATORS)
    assert gpu_check.GRID == GRID
    assert report["failures"] == []


@pytest.mark.parametrize("name", [*GRID, VARIANT])
def test_each_generator_is_timed_audited_and_projected(report, gpu_check, name):
    g = report["generators"][name]
    assert tuple(g) == ("params", "eager", "sync_debug", "determinism", "compile", "paper")
    assert set(g) == set(gpu_check.GENERATOR_KEYS)
    eager = g["eager"]
    # the short fits' step-count parameters are set per section, not part of the shared parameters
    assert g["params"]["device"] == "cpu" and not set(eager["overrides"]) & set(g["params"])
    assert eager["status"] == "ok" and eager["step_ms_median"] > 0 and all(v > 0 for v in eager["step_ms"].values())
    assert set(eager["step_ms"]) == TIMED_KINDS[name] and all(n >= 1 for n in eager["intervals"].values())
    assert g["sync_debug"] == {"status": "skipped",
                               "reason": "not a CUDA device (torch.cuda.set_sync_debug_mode is CUDA's)"}
    assert g["determinism"]["status"] == "equal" and g["determinism"]["max_abs_diff"] == 0.0
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
        for key in ("eager", "sync_debug", "determinism"):
            assert g[key]["status"] == "skipped" and g[key]["reason"].startswith("time budget: ")
        assert g["paper"]["projected_fit_s"] is None and g["paper"]["steps"]
    assert report["posthoc"]["status"] == "skipped" and report["projection"]["complete"] is False


def test_later_sections_need_the_eager_time_scaled_by_steps(gpu_check):
    args = gpu_check.parse_args(["unused.json", "--device", "cpu", "--quick"])
    check = gpu_check.GPUCheck(args)
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
    args = gpu_check.parse_args(["unused.json", "--device", "cpu", "--quick", "--worker", "compile",
                                 "--generator", "gan"])
    result = gpu_check.compile_worker(args)
    assert result["status"] == "failed" and "no inductor backend here" in result["reason"]


def test_a_slow_compile_is_skipped_with_its_reason(gpu_check):
    args = gpu_check.parse_args(["unused.json", "--device", "cpu", "--quick", "--compile-timeout-s", "0.5"])
    result = gpu_check.GPUCheck(args).compiled("gan")
    assert result == {"status": "skipped", "reason": "compile + timed steps took over 0.5 s (--compile-timeout-s)"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_a_gpu_is_a_one_line_error(gpu_check, capsys, tmp_path):
    assert gpu_check.main([str(tmp_path / "x.json"), "--device", "cuda"]) == 2
    assert "no CUDA GPU is visible" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
