"""scripts/gpu_check.py, the prepared GPU check, run on the CPU with its tiny settings (--quick): it writes one
JSON file with the documented keys, and its guards (compile failure, compile timeout, no CUDA) report instead
of crashing. (No GPU figures are tested: none were measured.)"""
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
    assert report["schema"] == "tsbench-gpu-check/1" and report["quick"] is True and report["device"] == "cpu"
    assert report["torch_version"] == torch.__version__ and isinstance(report["device_name"], str)
    assert report["git_sha"] is None or re.fullmatch(r"[0-9a-f]{40}", report["git_sha"])
    assert set(report["generators"]) == {"gan", "crnngan", "nrgan", "timegan"}
    assert report["failures"] == []


@pytest.mark.parametrize("name", ["gan", "crnngan", "nrgan", "timegan"])
def test_each_generator_is_timed_audited_and_projected(report, gpu_check, name):
    g = report["generators"][name]
    assert tuple(g) == ("params", "eager", "sync_debug", "determinism", "compile", "paper")
    assert set(g) == set(gpu_check.GENERATOR_KEYS)
    assert g["params"]["device"] == "cpu" and "iterations" not in g["params"]
    eager = g["eager"]
    assert eager["status"] == "ok" and eager["step_ms_median"] > 0 and all(v > 0 for v in eager["step_ms"].values())
    assert g["sync_debug"] == {"status": "skipped",
                               "reason": "not a CUDA device (torch.cuda.set_sync_debug_mode is CUDA's)"}
    assert g["determinism"]["status"] == "equal" and g["determinism"]["max_abs_diff"] == 0.0
    assert g["compile"] == {"status": "skipped", "reason": "--no-compile"}
    paper = g["paper"]
    assert paper["projected_fit_s"] > 0 and paper["projected_compiled_fit_s"] is None
    assert sum(paper["steps"].values()) >= paper["iterations"]


def test_timegan_phases_are_timed_apart(report):
    assert set(report["generators"]["timegan"]["eager"]["step_ms"]) == {"phase1", "phase2", "phase3"}
    assert report["generators"]["timegan"]["paper"]["steps"] == {"phase1": 50000, "phase2": 50000, "phase3": 50000}


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
    assert {"gan", "crnngan", "nrgan", "timegan", "real", "gaussian"} <= set(projection["rows_scored"])
    fits = sum(projection["fit_s_per_generator"].values())
    assert projection["fit_s"] == pytest.approx(3 * fits)
    assert projection["total_s"] == pytest.approx(projection["fit_s"] + projection["posthoc_s"])


def test_paper_step_counts(gpu_check):
    from tsbench.baselines.crnngan import CRNNGAN
    from tsbench.baselines.gan import GAN

    assert gpu_check.paper_steps("crnngan", CRNNGAN.presets["paper"], 7000) == {"pretrain": 2100, "train": 20000}
    assert gpu_check.paper_steps("gan", GAN.presets["paper"], 7000) == {"train": 50000}
    assert gpu_check.step_kind("timegan", {"recon_rmse": 1.0}) == "phase1"
    assert gpu_check.step_kind("timegan", {"g_loss_s": 1.0}) == "phase2"
    assert gpu_check.step_kind("timegan", {"recon_rmse": 1.0, "g_loss_u": 1.0, "d_loss": 1.0}) == "phase3"
    assert gpu_check.step_kind("crnngan", {"pretrain_mse": 1.0, "prefix_len": 3.0}) == "pretrain"


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
