"""The prepared GPU check (issue 16, item 6): what tsbench's torch generators cost and do on one accelerator.

    python scripts/gpu_check.py gpu-check.json                       # on a CUDA machine: under 5 minutes
    python scripts/gpu_check.py --device cpu --quick cpu-check.json  # tiny settings on a CPU (the tests)

Writes ONE JSON file (keys in docs/gpu.md) with the torch version, the device name and the git sha, and for each
entry of :data:`GENERATORS` — the built-in model generators of the ``paper`` grid (gan, crnngan, nrgan, timegan,
timevae, diffusion_ts) and the opt-in variant ``timegan[cell=cudnn]`` — at its ``paper`` architecture:

* ``eager`` — the training-step time: a short fit (:attr:`Model.short_fit`) timed between consecutive progress
  callbacks (every ``log_every`` = 10 steps, one logging read-out each, as in a real run) with
  ``torch.cuda.synchronize()`` before each clock read; per step kind (told by the losses the generator reports,
  :attr:`Model.step_kind`: ``train``; crnngan ``pretrain``; timegan ``phase1``–``phase3``) the median over the
  intervals after ``--warmup`` warm-up intervals;
* ``compile`` — the same with every parameterised network wrapped in ``torch.compile`` (default mode), in a
  subprocess with a timeout; a compile error or timeout is reported as ``failed``/``skipped`` with the reason;
* ``sync_debug`` (CUDA only) — the fit under ``torch.cuda.set_sync_debug_mode``: ``"warn"`` from the first
  gradient computation on, every synchronising call classified by the device audit
  (:mod:`tsbench.testing.device_audit`: logging read-outs allowed, anything else in a training step is a
  failure); and ``"error"`` from the first gradient computation after the first logging step, where the first
  synchronising call must be a logging read-out (a line the ``"warn"`` pass saw only in logging steps);
* ``determinism`` — two fits with the same seed under ``torch.use_deterministic_algorithms(True)`` (with
  ``CUBLAS_WORKSPACE_CONFIG`` set, before torch starts) must give identical samples;
* ``paper`` — the number of steps of each kind at the ``paper`` preset on the Sines training split
  (:attr:`Model.steps`) and the projected fit time (steps × median step time; set-up and sampling excluded).

Then ``posthoc``: the discriminative and the predictive score (``paper`` preset, default protocol, 10 repeats) on
one Sines cell, computed on the device (the metrics' runtime ``device``) and timed (goal: ≤ 5 s together on an
H100/H200-class GPU), with ``cpu_match``: both scores at a small size on the device and on the CPU, compared; and
``projection``: the ``paper`` grid ``tsbench run --all --preset paper`` (Sines, ``--seeds`` seeds) projected from the
above — fits of the grid's models (not the variant) plus both post-hoc scores for every row.

Order (most important first): eager timings of every entry, post-hoc scores, sync debug and determinism,
torch.compile. A global ``--budget-s`` (default 280 s) bounds the run: a section that would not fit is skipped
with a reason. Failures are recorded in the JSON, never raised; the exit status is 0 once the file is written.
"""
from __future__ import annotations

import os

# cuBLAS reads this when it first starts: it must be set before torch touches the GPU (the determinism pass)
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, NamedTuple  # noqa: E402

SCHEMA = "tsbench-gpu-check/2"
ROOT = Path(__file__).resolve().parents[1]


# the generators: how to drive each one ----------------------------------------------------------------------
class Model(NamedTuple):
    """How the check drives one entry of :data:`GENERATORS`.

    ``short_fit(log_every, n)``: the parameter overrides of a fit with at least ``n`` timed intervals (between
    consecutive progress callbacks) of every step kind whose length the overrides decide (crnngan's pretraining
    follows from the windows). ``steps(model, n_train)``: the training steps of each kind of ``model.fit`` on
    ``n_train`` windows (the generator's loop). ``step_kind(losses)``: the kind of the steps a progress callback
    closes, from the losses the generator passes to ``callback(step, total, losses)``. ``step_params``: the
    parameters the step counts follow from (recorded under ``paper``). ``stops_early(model)``: the fit may end
    before ``steps`` (which is then an upper bound). ``fixed``: a variant's parameters. ``grid``: a row of
    ``tsbench run --all`` (counted in the projection). ``few_windows``: fitted on ``crnngan_windows`` windows.
    """

    target: str
    short_fit: Callable[[int, int], dict]
    steps: Callable[[object, int], dict]
    step_kind: Callable[[dict], str]
    step_params: tuple
    stops_early: Callable[[object], bool] = lambda model: False
    fixed: dict = {}
    grid: bool = True
    few_windows: bool = False


def _one_kind(losses: dict) -> str:
    return "train"


def _crnngan_kind(losses: dict) -> str:
    """Pretraining reports ``pretrain_mse``; the adversarial steps ``d_loss``/``g_loss``."""
    return "pretrain" if "pretrain_mse" in losses else "train"


def _timegan_kind(losses: dict) -> str:
    """Phase 1 (embedding) reports ``recon_rmse``, 2 (supervised) ``g_loss_s``, 3 (joint) adds the adversarial
    losses ``g_loss_u`` and ``d_loss``."""
    if {"g_loss_u", "d_loss"} & set(losses):
        return "phase3"
    return "phase1" if "recon_rmse" in losses else "phase2"


def _iterations_fit(log_every: int, n: int) -> dict:
    """gan, nrgan: a callback every ``log_every`` steps from step ``log_every`` on: n + 1 callbacks, n intervals."""
    return {"iterations": log_every * (n + 1)}


def _crnngan_fit(log_every: int, n: int) -> dict:
    """The adversarial steps' intervals start at the pretraining's last callback."""
    return {"iterations": log_every * n}


def _timegan_fit(log_every: int, n: int) -> dict:
    """Three phases of ``iterations`` steps, each with a callback at its first step and every ``log_every``."""
    return {"iterations": log_every * n, "pretrain_iterations": None, "joint_iterations": None}


def _timevae_fit(log_every: int, n: int) -> dict:
    """``max_steps`` updates (``epochs`` ≥ that: one update per epoch at least); no early stop of the timed fit."""
    steps = log_every * (n + 1)
    return {"epochs": steps, "max_steps": steps, "early_stopping": False}


def _diffusion_ts_fit(log_every: int, n: int) -> dict:
    """``train_steps`` updates of ``grad_accumulation`` mini-batches (kept: it is the step's cost) without the
    warm-up, so that the timed updates run the plateau scheduler as all the paper's after its warm-up."""
    return {"train_steps": log_every * (n + 1), "warmup_steps": 0}


def _iterations_steps(model, n_train: int) -> dict:
    return {"train": int(model.iterations)}


def _crnngan_steps(model, n_train: int) -> dict:
    """``pretrain_epochs`` epochs of ⌈n_train / batch_size⌉ pretraining steps, then ``iterations``."""
    per_epoch = math.ceil(n_train / int(model.batch_size))
    return {"pretrain": int(model.pretrain_epochs) * per_epoch, "train": int(model.iterations)}


def _timegan_steps(model, n_train: int) -> dict:
    return dict(zip(("phase1", "phase2", "phase3"), model.phase_lengths()))


def _timevae_steps(model, n_train: int) -> dict:
    """``epochs`` × ⌈n_train / min(batch_size, n_train)⌉ updates, capped at ``max_steps``."""
    total = int(model.epochs) * math.ceil(n_train / min(int(model.batch_size), n_train))
    return {"train": total if model.max_steps is None else min(total, int(model.max_steps))}


def _diffusion_ts_steps(model, n_train: int) -> dict:
    """``train_steps`` updates, each of ``grad_accumulation`` mini-batches."""
    return {"train": int(model.train_steps)}


#: the check's entries, in the order of the run: the paper grid's model generators, then the opt-in variant
GENERATORS: dict[str, Model] = {
    "gan": Model("tsbench.baselines.gan:GAN", _iterations_fit, _iterations_steps, _one_kind, ("iterations",)),
    "crnngan": Model("tsbench.baselines.crnngan:CRNNGAN", _crnngan_fit, _crnngan_steps, _crnngan_kind,
                     ("iterations", "pretrain_epochs", "batch_size"), few_windows=True),
    "nrgan": Model("tsbench.baselines.nrgan:NRGAN", _iterations_fit, _iterations_steps, _one_kind, ("iterations",)),
    "timegan": Model("tsbench.baselines.timegan:TimeGAN", _timegan_fit, _timegan_steps, _timegan_kind,
                     ("iterations", "pretrain_iterations", "joint_iterations")),
    "timevae": Model("tsbench.baselines.timevae:TimeVAE", _timevae_fit, _timevae_steps, _one_kind,
                     ("epochs", "max_steps", "batch_size", "early_stopping"),
                     stops_early=lambda model: bool(model.early_stopping)),
    "diffusion_ts": Model("tsbench.baselines.diffusion_ts:DiffusionTS", _diffusion_ts_fit, _diffusion_ts_steps,
                          _one_kind, ("train_steps", "grad_accumulation", "warmup_steps")),
}
GENERATORS["timegan[cell=cudnn]"] = GENERATORS["timegan"]._replace(fixed={"cell": "cudnn"}, grid=False)
#: the entries the projection of the ``paper`` grid counts (the faithful defaults, not the variant)
GRID = tuple(name for name, model in GENERATORS.items() if model.grid)

#: the keys of the JSON file (tests/test_gpu_check.py checks them; docs/gpu.md describes them)
TOP_KEYS = ("schema", "created", "quick", "device", "device_name", "torch_version", "cuda_version", "git_sha",
            "git_dirty", "python", "platform", "settings", "generators", "posthoc", "projection", "elapsed_s",
            "failures")
GENERATOR_KEYS = ("params", "eager", "compile", "sync_debug", "determinism", "paper")

FULL = {"preset": "paper", "warmup": 2, "intervals": 10, "compile_warmup": 3, "compile_intervals": 5,
        "sync_debug_intervals": 3, "determinism_intervals": 2, "crnngan_windows": 400, "posthoc_preset": "paper",
        "posthoc_windows": None, "posthoc_repeats": 10, "compile_timeout_s": 60.0, "budget_s": 280.0}
QUICK = {"preset": "smoke", "warmup": 1, "intervals": 1, "compile_warmup": 1, "compile_intervals": 1,
         "sync_debug_intervals": 3, "determinism_intervals": 1, "crnngan_windows": 64, "posthoc_preset": "smoke",
         "posthoc_windows": 200, "posthoc_repeats": 2, "compile_timeout_s": 30.0, "budget_s": 120.0}
#: least time (s) a section needs to start (the estimate when nothing better is known)
MIN_NEED_S = 5.0
#: how many times slower a fit runs under the device audit's interceptors (sync_debug's estimate; CPU-measured)
AUDIT_SLOWDOWN = 4.0


# helpers --------------------------------------------------------------------------------------------------
def _error(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}{where}"


def _guard(section):
    """Run ``section()``; an exception becomes ``{"status": "error", "error": ...}``."""
    try:
        return section()
    except Exception as exc:  # noqa: BLE001 — a failed section is a result, not a crash
        return {"status": "error", "error": _error(exc)}


def git_state() -> tuple[str | None, bool | None]:
    """``(sha, uncommitted changes to tracked files)`` of the checkout (``None`` where git cannot tell)."""
    from tsbench.provenance import git, git_sha

    status = git("status", "--porcelain", "--untracked-files=no", cwd=ROOT)
    return git_sha(ROOT), None if status is None else bool(status)


def load_class(name: str):
    """The generator class of entry ``name`` (a variant's is its base's)."""
    module, cls = GENERATORS[name].target.split(":")
    return getattr(importlib.import_module(module), cls)


def short_fit(name: str, intervals: int) -> dict:
    """Parameter overrides of a fit of entry ``name`` with ≥ ``intervals`` timed intervals of each step kind."""
    return GENERATORS[name].short_fit(int(load_class(name).log_every), int(intervals))


def step_kind(name: str, losses: dict) -> str:
    """The kind of the steps a progress callback of entry ``name`` closes (each kind has its own cost)."""
    return GENERATORS[name].step_kind(losses)


def build(name: str, params: dict):
    """An instance of entry ``name``: its class with its fixed parameters (a variant's) and ``params``."""
    return load_class(name)(**{**GENERATORS[name].fixed, **params})


def paper_steps(name: str, params: dict, n_train: int) -> dict[str, int]:
    """Training steps of each kind of a fit of entry ``name`` with ``params`` (over its class defaults and its
    fixed parameters) on ``n_train`` windows."""
    return GENERATORS[name].steps(build(name, params), int(n_train))


class StepTimer:
    """Progress callback that reads the clock (after a device synchronisation) at every logging step."""

    def __init__(self, name: str, synchronize):
        self.name, self.synchronize, self.rows = name, synchronize, []

    def __call__(self, step, total, losses):
        self.synchronize()
        self.rows.append((step_kind(self.name, losses), int(step), time.perf_counter()))

    def summary(self, warmup: int) -> dict:
        per_kind: dict[str, list[float]] = {}
        for (_, step_a, t_a), (kind, step_b, t_b) in zip(self.rows, self.rows[1:]):
            if step_b > step_a:
                per_kind.setdefault(kind, []).append((t_b - t_a) / (step_b - step_a) * 1e3)
        step_ms, counts = {}, {}
        for kind, values in per_kind.items():
            kept = values[warmup:] if len(values) > warmup else values  # too few: keep the warm-up ones
            step_ms[kind], counts[kind] = statistics.median(kept), len(kept)
        everything = [v for values in per_kind.values() for v in values[warmup:]] or [
            v for values in per_kind.values() for v in values]
        return {"step_ms": step_ms, "step_ms_median": statistics.median(everything) if everything else None,
                "intervals": counts, "warmup_intervals": warmup, "steps": self.rows[-1][1] if self.rows else 0}


# the check ------------------------------------------------------------------------------------------------
class GPUCheck:
    def __init__(self, args):
        import torch

        self.args, self.torch = args, torch
        self.settings = dict(QUICK if args.quick else FULL)
        for key in ("budget_s", "compile_timeout_s"):
            if getattr(args, key) is not None:
                self.settings[key] = float(getattr(args, key))
        self.settings["seeds"] = int(args.seeds)
        self.settings["threads"] = torch.get_num_threads()
        self.device = torch.device(args.device)
        self.cuda = self.device.type == "cuda"
        self.start = time.perf_counter()
        self.failures: list[str] = []

    # time and devices -------------------------------------------------------------------------------------
    def left(self) -> float:
        return self.settings["budget_s"] - (time.perf_counter() - self.start)

    def budgeted(self, what: str, need_s: float, section):
        if self.left() < need_s:
            return {"status": "skipped", "reason": f"time budget: {self.left():.0f} s left of --budget-s "
                                                   f"{self.settings['budget_s']:.0f}, {what} needs ~{need_s:.0f} s"}
        return _guard(section)

    def synchronize(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize(self.device)

    def device_name(self) -> str:
        if self.cuda:
            return self.torch.cuda.get_device_name(self.device)
        return platform.processor() or platform.machine()

    # data -------------------------------------------------------------------------------------------------
    def data(self):
        from tsbench.data.sines import Sines

        preset = self.settings["preset"]
        train = Sines(**Sines.presets[preset]).load(seed=0, protocol="tsbench").train
        paper = Sines(**Sines.presets["paper"]).load(seed=0, protocol="tsbench")
        return train, paper

    def params(self, name: str, overrides: dict) -> dict:
        """The preset's parameters, the entry's fixed ones (a variant's), ``overrides`` and this device."""
        cls = load_class(name)
        return {**cls.presets[self.settings["preset"]], **GENERATORS[name].fixed, **overrides,
                "device": str(self.device)}

    def arch_params(self, name: str) -> dict:
        """The parameters every timed fit shares (the short fits' overrides are set per section)."""
        overrides = short_fit(name, 1)
        return {k: v for k, v in self.params(name, {}).items() if k not in overrides}

    def windows_for(self, name: str, train):
        return train[: self.settings["crnngan_windows"]] if GENERATORS[name].few_windows else train

    def fit_steps(self, name: str, overrides: dict, n_windows: int) -> int:
        """Training steps of a fit with ``overrides`` on ``n_windows`` windows (all kinds)."""
        return sum(paper_steps(name, {**load_class(name).presets[self.settings["preset"]], **overrides},
                               n_windows).values())

    def need_s(self, name: str, eager, *, fits: int, intervals: int, slowdown: float = 1.0) -> float:
        """Estimated time of ``fits`` short fits of ``intervals`` intervals, ``slowdown`` times slower than the
        ``eager`` fit per step (its time scaled by steps, set-up included); :data:`MIN_NEED_S` at least."""
        if not (isinstance(eager, dict) and eager.get("status") == "ok" and eager.get("steps")):
            return MIN_NEED_S
        steps = self.fit_steps(name, short_fit(name, intervals), eager["windows"])
        return max(MIN_NEED_S, fits * slowdown * eager["fit_s"] * steps / eager["steps"])

    # sections ---------------------------------------------------------------------------------------------
    def eager(self, name: str, train) -> dict:
        s = self.settings
        overrides = short_fit(name, s["warmup"] + s["intervals"])
        timer = StepTimer(name, self.synchronize)
        X = self.windows_for(name, train)
        start = time.perf_counter()
        load_class(name)(**self.params(name, overrides)).fit(X, seed=0, callback=timer)
        self.synchronize()
        return {"status": "ok", "overrides": overrides, "windows": len(X), "fit_s": time.perf_counter() - start,
                **timer.summary(s["warmup"])}

    def compiled(self, name: str) -> dict:
        """torch.compile'd step times, measured in a subprocess (a hung or crashing compile cannot stop the
        check)."""
        if not self.args.compile:
            return {"status": "skipped", "reason": "--no-compile"}
        if self.left() - 5 < min(10.0, self.settings["compile_timeout_s"]):
            return {"status": "skipped", "reason": f"time budget: {self.left():.0f} s left of --budget-s "
                                                   f"{self.settings['budget_s']:.0f}"}
        timeout = min(self.settings["compile_timeout_s"], self.left() - 5)
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", "compile", "--generator", name,
                   "--device", str(self.device), os.devnull] + (["--quick"] if self.args.quick else []) + (
                       ["--threads", str(self.args.threads)] if self.args.threads else [])
        try:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"status": "skipped", "reason": f"compile + timed steps took over {timeout:g} s "
                                                   "(--compile-timeout-s)"}
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return {"status": "failed", "reason": f"worker exited {done.returncode}: {tail}"}
        return json.loads(lines[-1])

    def sync_debug(self, name: str, train) -> dict:
        if not self.cuda:
            return {"status": "skipped", "reason": "not a CUDA device (torch.cuda.set_sync_debug_mode is CUDA's)"}
        from tsbench.testing.device_audit import CUDA_SYNC_WARNING, audit_fit

        torch = self.torch
        overrides = short_fit(name, self.settings["sync_debug_intervals"])
        X = self.windows_for(name, train)

        def warn_from_first_gradient(k):
            if k == 1:
                torch.cuda.set_sync_debug_mode("warn")

        try:
            audit = audit_fit(load_class(name)(**self.params(name, overrides)), X, seed=0,
                              cuda_sync_warnings=True, on_gradient=warn_from_first_gradient)
        finally:
            torch.cuda.set_sync_debug_mode(0)
        cuda = [e for e in audit.events if e.what == "CUDA sync (sync debug)"]
        in_steps = [e for e in cuda if e.phase == "step"]
        logging_sites = sorted({e.site for e in cuda if e.phase == "logging"} - {e.site for e in in_steps})
        warn = {"overrides": overrides, "steps": audit.steps, "logging_steps": audit.logging_calls,
                "syncs_per_step": len(in_steps) / max(audit.steps, 1),
                "syncs_per_logging_step": sum(e.phase == "logging" for e in cuda) / max(audit.logging_calls, 1),
                "step_sites": sorted({e.site for e in in_steps}), "logging_sites": logging_sites}

        logged, armed = [], []

        def after_log(step, total, losses):
            logged.append(step)

        def error_after_first_log(k):
            if logged and not armed:
                armed.append(k)
                torch.cuda.set_sync_debug_mode("error")

        error: dict = {"armed_at_gradient": None, "first_sync_site": None}
        try:
            audit_fit(load_class(name)(**self.params(name, overrides)), X, seed=0, callback=after_log,
                      on_gradient=error_after_first_log)
            error["outcome"] = "no synchronising call after the first logging step"
        except RuntimeError as exc:
            if CUDA_SYNC_WARNING not in str(exc):
                raise
            error["first_sync_site"] = _user_site(exc)
            error["outcome"] = "raised"
        finally:
            torch.cuda.set_sync_debug_mode(0)
        error["armed_at_gradient"] = armed[0] if armed else None
        error["ok"] = error["first_sync_site"] is None or error["first_sync_site"] in logging_sites
        ok = not in_steps and error["ok"]
        return {"status": "ok" if ok else "failed", "warn": warn, "error": error}

    def determinism(self, name: str, train) -> dict:
        torch = self.torch
        overrides = short_fit(name, self.settings["determinism_intervals"])
        params = self.params(name, overrides)
        X = self.windows_for(name, train)
        previous = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)
        try:
            a, b = (load_class(name)(**params).fit(X, seed=0).sample(64, seed=0) for _ in range(2))
        except RuntimeError as exc:  # an op without a deterministic implementation raises here
            return {"status": "failed", "reason": _error(exc)}
        finally:
            torch.use_deterministic_algorithms(previous)
        diff = float(abs(a.astype("float64") - b.astype("float64")).max())
        return {"status": "equal" if diff == 0.0 else "differ", "max_abs_diff": diff, "overrides": overrides,
                "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG")}

    def paper(self, name: str, eager: dict, compiled: dict, n_train: int) -> dict:
        """Steps of each kind of the entry's ``paper`` fit on ``n_train`` windows and the projected fit times."""
        entry, model = GENERATORS[name], build(name, load_class(name).presets["paper"])
        steps = entry.steps(model, n_train)
        params = model.get_params(deep=False)
        out = {"step_params": {key: params[key] for key in entry.step_params}, "n_train": n_train, "steps": steps,
               "steps_exact": not entry.stops_early(model)}
        for key, timing in (("projected_fit_s", eager), ("projected_compiled_fit_s", compiled)):
            ms = timing.get("step_ms") if isinstance(timing, dict) else None
            if ms:
                overall = timing.get("step_ms_median")
                out[key] = sum(n * ms.get(kind, overall) for kind, n in steps.items()) / 1e3
            else:
                out[key] = None
        return out

    def posthoc(self) -> dict:
        """Discriminative + predictive (``posthoc_preset``, default protocol, ``posthoc_repeats`` repeats) on one
        Sines cell, on this device (the metrics' runtime ``device``), each timed with a synchronize before the
        clock read; then ``cpu_match``: the same two scores at ``smoke`` size on this device and on the CPU
        (equal to float tolerance; the goal's ≤ 5 s on an H100/H200-class GPU is read from ``seconds``)."""
        from tsbench.data.sines import Sines, sine_windows
        from tsbench.evaluation import MetricSpec, compute_metrics
        from tsbench.protocols import DEFAULT_PROTOCOL

        preset, n = self.settings["posthoc_preset"], self.settings["posthoc_windows"]
        repeats = self.settings["posthoc_repeats"]
        split = Sines(**Sines.presets["paper"]).load(seed=0, protocol=DEFAULT_PROTOCOL)
        train, test = (split.train, split.test) if n is None else (split.train[:n], split.test[:n])
        synthetic = sine_windows(len(train), seed=1)
        out = {"status": "ok", "dataset": "sines", "preset": preset, "protocol": DEFAULT_PROTOCOL,
               "n_train": len(train), "n_test": len(test), "device": str(self.device), "repeats": repeats}
        total = 0.0
        for metric in ("discriminative", "predictive"):
            spec = MetricSpec.build(metric, preset=preset, protocol=DEFAULT_PROTOCOL, repeats=repeats)
            self.synchronize()
            start = time.perf_counter()
            (values,) = compute_metrics([spec], train, test, synthetic, seed=0, jobs=1, device=str(self.device))
            self.synchronize()
            seconds = time.perf_counter() - start
            out[f"{metric}_s"], out[f"{metric}_repeats"] = seconds, len(values["value"])
            out[f"{metric}_values"] = values["value"]
            total += seconds
        out["seconds"] = total
        out["goal_s"] = 5.0
        out["cpu_match"] = _guard(lambda: self.posthoc_cpu_match(train, test, synthetic))
        return out

    def posthoc_cpu_match(self, train, test, synthetic) -> dict:
        """Both post-hoc scores at ``smoke`` size (a few windows, 2 repeats) on this device and on the CPU."""
        from tsbench.evaluation import MetricSpec, compute_metrics
        from tsbench.protocols import DEFAULT_PROTOCOL

        n = min(len(train), 300)
        diffs = {}
        for metric in ("discriminative", "predictive"):
            spec = MetricSpec.build(f"{metric}[iterations=200]", preset="smoke", protocol=DEFAULT_PROTOCOL,
                                    repeats=2)
            here, cpu = (compute_metrics([spec], train[:n], test[:n], synthetic[:n], seed=0, device=device)[0]["value"]
                         for device in (str(self.device), "cpu"))
            diffs[metric] = {"device": here, "cpu": cpu, "max_abs_diff": max(abs(a - b) for a, b in zip(here, cpu))}
        # accuracy differs by whole test windows when a logit sits at the threshold: a tolerance, not equality
        ok = diffs["predictive"]["max_abs_diff"] <= 1e-3 and diffs["discriminative"]["max_abs_diff"] <= 0.02
        return {"status": "equal" if ok else "differ", **diffs}

    def projection(self, generators: dict, posthoc: dict) -> dict:
        """The ``paper`` grid's time from the grid entries' projected fits (complete: all of :data:`GRID` and the
        post-hoc time known)."""
        seeds = self.settings["seeds"]
        rows = _scored_rows()
        fits = {name: generators[name]["paper"].get("projected_fit_s") for name in GRID
                if isinstance(generators.get(name, {}).get("paper"), dict)}
        known = [v for v in fits.values() if v is not None]
        per_cell = posthoc.get("seconds") if posthoc.get("status") == "ok" else None
        fit_s = seeds * sum(known) if known else None
        posthoc_s = seeds * len(rows) * per_cell if per_cell is not None else None
        return {"command": f"tsbench run --all --preset paper -d sines --seeds {seeds}", "seeds": seeds,
                "rows_scored": rows, "fit_s_per_generator": fits, "fit_s": fit_s, "posthoc_s": posthoc_s,
                "total_s": None if fit_s is None or posthoc_s is None else fit_s + posthoc_s,
                "complete": len(known) == len(GRID) and per_cell is not None,
                "excludes": "sampling, the metrics other than discriminative/predictive, data preparation, "
                            "worker start-up; one cell at a time on this device"}

    # the whole run ----------------------------------------------------------------------------------------
    def run(self) -> dict:
        torch = self.torch
        sha, dirty = git_state()
        train, paper_split = self.data()
        n_train = len(paper_split.train)
        generators: dict[str, dict] = {}
        names = [g for g in GENERATORS if not self.args.generator or g in self.args.generator]
        for name in names:
            print(f"[gpu_check] {name}: eager", flush=True)
            generators[name] = {"params": _guard(lambda: self.arch_params(name)),
                                "eager": self.budgeted("an eager fit", MIN_NEED_S, lambda: self.eager(name, train))}
        print("[gpu_check] post-hoc scores", flush=True)
        posthoc = self.budgeted("the post-hoc scores", MIN_NEED_S if self.args.quick else 30, self.posthoc)
        for name in names:
            print(f"[gpu_check] {name}: sync debug, determinism", flush=True)
            eager, s = generators[name]["eager"], self.settings
            need = self.need_s(name, eager, fits=2, intervals=s["sync_debug_intervals"], slowdown=AUDIT_SLOWDOWN)
            generators[name]["sync_debug"] = self.budgeted("the sync-debug fits", need if self.cuda else 0,
                                                           lambda: self.sync_debug(name, train))
            need = self.need_s(name, eager, fits=2, intervals=s["determinism_intervals"])
            generators[name]["determinism"] = self.budgeted("two short fits", need,
                                                            lambda: self.determinism(name, train))
        for name in names:
            print(f"[gpu_check] {name}: torch.compile", flush=True)
            generators[name]["compile"] = _guard(lambda: self.compiled(name))
            generators[name]["paper"] = _guard(lambda: self.paper(name, generators[name]["eager"],
                                                                  generators[name]["compile"], n_train))
        for name, sections in generators.items():
            for key, value in sections.items():
                if isinstance(value, dict) and value.get("status") in ("error", "failed", "differ"):
                    self.failures.append(f"{name}.{key}: {value.get('status')}")
        if isinstance(posthoc, dict) and posthoc.get("status") == "error":
            self.failures.append("posthoc: error")
        if isinstance(posthoc, dict) and isinstance(posthoc.get("cpu_match"), dict) and \
                posthoc["cpu_match"].get("status") in ("error", "differ"):
            self.failures.append(f"posthoc.cpu_match: {posthoc['cpu_match']['status']}")
        return {
            "schema": SCHEMA, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "quick": bool(self.args.quick), "device": str(self.device), "device_name": self.device_name(),
            "torch_version": torch.__version__, "cuda_version": torch.version.cuda, "git_sha": sha,
            "git_dirty": dirty, "python": platform.python_version(), "platform": platform.platform(),
            "settings": self.settings, "generators": generators, "posthoc": posthoc,
            "projection": _guard(lambda: self.projection(generators, posthoc if isinstance(posthoc, dict) else {})),
            "elapsed_s": time.perf_counter() - self.start, "failures": self.failures,
        }


def _user_site(exc: BaseException) -> str | None:
    """``file:line in function`` of the innermost traceback frame outside torch, the audit and this script."""
    import torch

    torch_dir = os.path.dirname(os.path.abspath(torch.__file__))
    skip = (torch_dir, str(Path(__file__).resolve()), os.path.abspath(importlib.import_module(
        "tsbench.testing.device_audit").__file__))
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not os.path.abspath(frame.filename).startswith(skip):
            return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
    return None


def _scored_rows() -> list[str]:
    """The rows ``tsbench run --all`` scores: every generator but the corruption rows."""
    try:
        from tsbench.registry import generators

        corruptions = set(generators.names(role="corruption"))
        return [name for name in generators.names() if name not in corruptions]
    except Exception:  # noqa: BLE001 — the registry's API is not this script's business
        return [*GRID, "real", "gaussian"]


def compile_worker(args) -> dict:
    """The ``--worker compile`` subprocess: eager steps of ``args.generator`` with its networks compiled."""
    import torch

    settings = QUICK if args.quick else FULL
    check = GPUCheck(args)
    name = args.generator[0]
    cls = load_class(name)

    class Compiled(cls):  # every network with parameters wrapped in torch.compile
        def _build(self, seq_len, n_features):
            return {key: torch.compile(module) if any(True for _ in module.parameters()) else module
                    for key, module in super()._build(seq_len, n_features).items()}

    Compiled.__name__ = f"Compiled{cls.__name__}"
    train, _ = check.data()
    overrides = short_fit(name, settings["compile_warmup"] + settings["compile_intervals"])
    timer = StepTimer(name, check.synchronize)
    start = time.perf_counter()
    try:
        Compiled(**check.params(name, overrides)).fit(check.windows_for(name, train), seed=0, callback=timer)
        check.synchronize()
    except Exception as exc:  # noqa: BLE001 — dynamo/inductor errors are the result
        return {"status": "failed", "reason": _error(exc)}
    summary = timer.summary(settings["compile_warmup"])
    first = timer.rows[0][2] - start if timer.rows else None
    return {"status": "ok", "mode": "default", "overrides": overrides, "fit_s": time.perf_counter() - start,
            "first_log_s": first, **summary}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="the JSON file to write")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny settings (smoke architectures, a few steps)")
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip the torch.compile timings")
    parser.add_argument("--generator", action="append", choices=list(GENERATORS), metavar="NAME",
                        help=f"only these entries (repeatable; default all): {', '.join(GENERATORS)}")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds of the projected paper grid (3)")
    parser.add_argument("--budget-s", type=float, default=None, help="time budget of the whole run (280; quick 120)")
    parser.add_argument("--compile-timeout-s", type=float, default=None,
                        help="per generator, compile + timed steps (60; quick 30)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--worker", choices=["compile"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: --device cuda but no CUDA GPU is visible; use --device cpu (with --quick for a test run)",
              file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker == "compile":
        print(json.dumps(compile_worker(args)), flush=True)
        return 0
    result = GPUCheck(args).run()
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, allow_nan=False, default=str) + "\n")
    tmp.replace(out)
    print(f"[gpu_check] wrote {out} in {result['elapsed_s']:.0f} s; "
          f"failures: {', '.join(result['failures']) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
