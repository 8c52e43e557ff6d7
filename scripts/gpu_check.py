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
* ``cuda_graph`` (CUDA only; gan, timegan and its variant: :attr:`Model.graph`) — in a subprocess with a timeout,
  each training step kind captured whole (forward, backward, optimiser update, random batch and noise) as one
  ``torch.cuda.CUDAGraph`` and replayed: the eager step time measured right before capture (same objects,
  ``torch.cuda.synchronize()`` around each timed block) against the replay time, the capture time, and whether
  a replay changes the state exactly as an eager step from the same state does (``check``);
* ``paper`` — the number of steps of each kind at the ``paper`` preset on the Sines training split
  (:attr:`Model.steps`) and the projected fit time (steps × median step time; set-up and sampling excluded).

Then ``posthoc``: the discriminative and the predictive score (``paper`` preset, default protocol, 10 repeats) on
one Sines cell, computed on the device (the metrics' runtime ``device``) and timed (goal: ≤ 5 s together on an
H100/H200-class GPU), with ``cpu_match``: both scores at a small size on the device and on the CPU, compared; and
``projection``: the ``paper`` grid ``tsbench run --all --preset paper`` (Sines, ``--seeds`` seeds) projected from the
above — fits of the grid's models (not the variant) plus both post-hoc scores for every row.

Order (most important first): eager timings of every entry, post-hoc scores, sync debug and determinism,
CUDA graphs, torch.compile. A global ``--budget-s`` (default 280 s) bounds the run: a section that would not fit
is skipped with a reason. Failures are recorded in the JSON, never raised; the exit status is 0 once the file is
written.
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

SCHEMA = "tsbench-gpu-check/3"
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
    ``graph``: how the ``cuda_graph`` section captures the entry's training steps (``None``: not prepared).
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
    graph: "GraphCapture | None" = None


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


# CUDA graphs: each step prepared for capture ----------------------------------------------------------------
class GraphStep(NamedTuple):
    """One training step prepared for CUDA-graph capture.

    ``run()`` performs one step on device tensors only (no host sync, no tensor made on the host) and returns its
    losses as device tensors (a graph's static outputs). ``tensors()``: every tensor the step updates in place —
    parameters, buffers, optimiser state — listed when called (``torch.optim`` creates its state at the first
    step). ``generators``: the ``torch.Generator`` s it draws from (registered with the graph, so that every replay
    draws fresh numbers). ``what``: the code captured.
    """

    run: Callable[[], dict]
    tensors: Callable[[], list]
    generators: tuple
    what: str


class GraphCapture(NamedTuple):
    """How the ``cuda_graph`` section prepares an entry: ``fit``, the overrides of the set-up fit (the shortest:
    it only puts the networks on the device); ``steps(model, X)``, the entry's steps ``{step kind: GraphStep}`` on
    the fitted ``model`` and its windows ``X`` (a float32 tensor on the device), in the order they are captured."""

    fit: dict
    steps: Callable[[object, object], dict]


class NotCapturable(Exception):
    """An entry's parameters rule out a faithful capture (the section is ``skipped`` with this reason)."""


def state_tensors(modules, optimizers) -> list:
    """Every tensor a training step updates in place, each once: the parameters and buffers of ``modules`` and
    the state of each optimiser (``torch.optim``: the tensors of ``opt.state``; any other, e.g.
    :class:`tsbench.nn.optim.MaskedAdam`: its tensor attributes and lists of tensors)."""
    import torch

    seen, out = set(), []

    def add(values):
        for value in values:
            if isinstance(value, torch.Tensor) and id(value) not in seen:
                seen.add(id(value))
                out.append(value)

    add([*modules.parameters(), *modules.buffers()])
    for opt in optimizers:
        if isinstance(opt, torch.optim.Optimizer):
            for state in opt.state.values():
                add(state.values())
        else:
            for value in vars(opt).values():
                add(value if isinstance(value, (list, tuple)) else [value])
    return out


def _graph_generator(device, seed: int = 1):
    """The generator of the captured steps (a fresh one: the fitted model's is internal to its fit)."""
    import torch

    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    return rng


def _gan_graph_steps(model, X) -> dict:
    """gan: ``GAN.train_step(flat, rng, opt_g, opt_d)`` (one D and one G update on a random batch) with the fit's
    ``torch.optim.Adam`` made ``capturable=True`` (its step count on the device; not on a CPU, where torch refuses
    it); ``flat``: the windows flattened and, with ``output="tanh"``, scaled to [-1, 1] as ``GAN._train`` does."""
    import torch

    if model.lr_decay:
        raise NotCapturable("lr_decay=True: its LambdaLR schedules set the learning rate on the host after every "
                            "step, a graph would keep the rate it was captured with")
    G, D = model.nets_["generator"], model.nets_["discriminator"]
    flat = X.reshape(X.shape[0], -1)
    if model.output == "tanh":
        flat = flat * 2 - 1
    capturable = X.device.type == "cuda"
    opt_g = torch.optim.Adam(G.parameters(), lr=model.lr, capturable=capturable)
    opt_d = torch.optim.Adam(D.parameters(), lr=model.lr, capturable=capturable)
    rng = _graph_generator(X.device)

    def run() -> dict:
        loss_d, loss_g = model.train_step(flat, rng, opt_g, opt_d)
        return {"d_loss": loss_d, "g_loss": loss_g}

    return {"train": GraphStep(run, lambda: state_tensors(model.nets_, (opt_g, opt_d)), (rng,),
                               f"GAN.train_step with torch.optim.Adam(capturable={capturable})")}


def _timegan_graph_steps(model, X) -> dict:
    """timegan (either cell): the three steps of one ``Trainer`` (``baselines/timegan.py``: five
    :class:`~tsbench.nn.optim.MaskedAdam` solvers with all state on the device, batches from ``torch.randperm``
    and noise from ``torch.rand`` with its device generator) — the joint step first (phase 3, the costliest
    kind), then the embedding and the supervised step."""
    trainer = importlib.import_module(type(model).__module__).Trainer(model, X, _graph_generator(X.device))

    def tensors() -> list:
        return state_tensors(model.nets_, trainer.optimizers().values())

    return {kind: GraphStep(run, tensors, (trainer.rng,), f"Trainer.{run.__name__}")
            for kind, run in (("phase3", trainer.joint_step), ("phase1", trainer.embedding_step),
                              ("phase2", trainer.supervised_step))}


GAN_GRAPH = GraphCapture({"iterations": 1}, _gan_graph_steps)
TIMEGAN_GRAPH = GraphCapture({"iterations": 1, "pretrain_iterations": None, "joint_iterations": None},
                             _timegan_graph_steps)


#: the check's entries, in the order of the run: the paper grid's model generators, then the opt-in variant
GENERATORS: dict[str, Model] = {
    "gan": Model("tsbench.baselines.gan:GAN", _iterations_fit, _iterations_steps, _one_kind, ("iterations",),
                 graph=GAN_GRAPH),
    "crnngan": Model("tsbench.baselines.crnngan:CRNNGAN", _crnngan_fit, _crnngan_steps, _crnngan_kind,
                     ("iterations", "pretrain_epochs", "batch_size"), few_windows=True),
    "nrgan": Model("tsbench.baselines.nrgan:NRGAN", _iterations_fit, _iterations_steps, _one_kind, ("iterations",)),
    "timegan": Model("tsbench.baselines.timegan:TimeGAN", _timegan_fit, _timegan_steps, _timegan_kind,
                     ("iterations", "pretrain_iterations", "joint_iterations"), graph=TIMEGAN_GRAPH),
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
GENERATOR_KEYS = ("params", "eager", "sync_debug", "determinism", "cuda_graph", "compile", "paper")

FULL = {"preset": "paper", "warmup": 2, "intervals": 10, "compile_warmup": 3, "compile_intervals": 5,
        "sync_debug_intervals": 3, "determinism_intervals": 2, "crnngan_windows": 400, "posthoc_preset": "paper",
        "posthoc_windows": None, "posthoc_repeats": 10, "compile_timeout_s": 60.0, "budget_s": 280.0,
        "graph_warmup": 5, "graph_blocks": 5, "graph_block_steps": 10, "graph_capture_warmup": 3,
        "graph_check_steps": 2, "graph_timeout_s": 90.0}
QUICK = {"preset": "smoke", "warmup": 1, "intervals": 1, "compile_warmup": 1, "compile_intervals": 1,
         "sync_debug_intervals": 3, "determinism_intervals": 1, "crnngan_windows": 64, "posthoc_preset": "smoke",
         "posthoc_windows": 200, "posthoc_repeats": 2, "compile_timeout_s": 30.0, "budget_s": 120.0,
         "graph_warmup": 2, "graph_blocks": 2, "graph_block_steps": 3, "graph_capture_warmup": 3,
         "graph_check_steps": 2, "graph_timeout_s": 60.0}
#: least time (s) a section needs to start (the estimate when nothing better is known)
MIN_NEED_S = 5.0
#: how many times slower a fit runs under the device audit's interceptors (sync_debug's estimate; CPU-measured)
AUDIT_SLOWDOWN = 4.0
#: the ``cuda_graph`` worker's start (torch import, CUDA context, data, set-up fit), in its time estimate (a guess)
GRAPH_START_S = 15.0


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


# CUDA graphs: capture, check, timing ------------------------------------------------------------------------
#: the ``cuda_graph`` section's reason on a CPU
CPU_GRAPH_REASON = "CUDA graphs need a CUDA device"
#: a replay "close" to the eager step: every state tensor within this absolute difference (else "differ")
GRAPH_TOLERANCE = 1e-4


def time_steps(run: Callable[[], object], synchronize: Callable[[], None], blocks: int, per_block: int) -> float:
    """Median milliseconds per call of ``run`` over ``blocks`` blocks of ``per_block`` calls, with
    ``synchronize()`` before each clock read."""
    times = []
    for _ in range(int(blocks)):
        synchronize()
        start = time.perf_counter()
        for _ in range(int(per_block)):
            run()
        synchronize()
        times.append((time.perf_counter() - start) / int(per_block) * 1e3)
    return statistics.median(times)


class Snapshot:
    """Copies of ``tensors`` and of the ``generators``' states; :meth:`restore` writes them back *in place* (a
    captured graph keeps reading and writing the same memory) and resets the generators with ``set_state`` (a
    graph reads its registered generator's seed and offset at every replay)."""

    def __init__(self, tensors, generators):
        import torch

        self.tensors, self.generators = list(tensors), tuple(generators)
        with torch.no_grad():
            self.saved = [t.detach().clone() for t in self.tensors]
        self.rng = [g.get_state() for g in self.generators]

    def restore(self) -> None:
        import torch

        with torch.no_grad():
            for tensor, saved in zip(self.tensors, self.saved):
                tensor.copy_(saved)
        for generator, state in zip(self.generators, self.rng):
            generator.set_state(state)


def max_abs_diff(a, b) -> float:
    """The largest absolute difference between paired tensors (0.0 for none; NaN where a value is NaN)."""
    diffs = [float((x.detach().double() - y.detach().double()).abs().max()) for x, y in zip(a, b) if x.numel()]
    if any(math.isnan(d) for d in diffs):
        return math.nan
    return max(diffs, default=0.0)


def replay_check(step: GraphStep, replay: Callable[[], dict], n: int, synchronize: Callable[[], None]) -> dict:
    """Does ``replay()`` (a graph's replay, returning its static outputs) change the state exactly as ``n`` eager
    steps from the same state would? Snapshot (state tensors, generator states), ``n`` eager steps, restore,
    ``n`` replays; the differences of the state tensors (``params_max_abs_diff``: the parameters alone), of the
    last step's losses, and whether the generators advanced alike (fresh draws at each replay, as eager)."""
    import torch

    tensors = step.tensors()
    snapshot = Snapshot(tensors, step.generators)

    def run_n(call) -> tuple[list, dict, list]:
        for _ in range(max(int(n), 1)):
            losses = call()
        synchronize()
        return ([t.detach().clone() for t in tensors], {k: v.detach().clone() for k, v in losses.items()},
                [g.get_state() for g in step.generators])

    eager = run_n(step.run)
    snapshot.restore()
    graph = run_n(replay)
    params = [k for k, t in enumerate(tensors) if isinstance(t, torch.nn.Parameter)]
    out = {"steps": max(int(n), 1), "state_tensors": len(tensors),
           "state_max_abs_diff": max_abs_diff(eager[0], graph[0]),
           "params_max_abs_diff": max_abs_diff([eager[0][k] for k in params], [graph[0][k] for k in params]),
           "losses_max_abs_diff": max_abs_diff([eager[1][k] for k in eager[1]], [graph[1][k] for k in eager[1]]),
           "rng_equal": all(torch.equal(a, b) for a, b in zip(eager[2], graph[2])),
           "tolerance": GRAPH_TOLERANCE}
    diff = out["state_max_abs_diff"]
    if diff == 0.0 and out["rng_equal"]:
        out["status"] = "equal"
    elif diff <= GRAPH_TOLERANCE and out["rng_equal"]:  # NaN compares false: "differ"
        out["status"] = "close"
    else:
        out["status"] = "differ"
    return out


def warm_up_on(stream, run: Callable[[], object], n: int) -> None:
    """``n`` calls of ``run`` on the side ``stream`` (lazy state — optimiser moments, cuBLAS and cuDNN handles and
    workspaces of that stream, autograd's streams — is created before capture), then the current stream waits."""
    import torch

    current = torch.cuda.current_stream(stream.device)
    stream.wait_stream(current)
    with torch.cuda.stream(stream):
        for _ in range(int(n)):
            run()
    current.wait_stream(stream)


def capture_step(run: Callable[[], dict], generators, stream):
    """One call of ``run`` captured as a CUDA graph on ``stream``, with ``generators`` registered first
    (``CUDAGraph.register_generator_state``: each replay then reads the generator's seed and offset and advances
    the offset as an eager step would, so every replay draws fresh numbers). Returns ``(graph, static outputs)``.
    On an error the current stream is restored (a failing ``capture_end`` skips ``torch.cuda.graph``'s own
    restore) and the first error is raised: the step's, not the capture's end that follows it."""
    import torch

    graph = torch.cuda.CUDAGraph()
    if not hasattr(graph, "register_generator_state"):
        raise RuntimeError(f"torch {torch.__version__} has no CUDAGraph.register_generator_state: a graph cannot "
                           "draw from the step's own torch.Generator")
    for generator in generators:
        graph.register_generator_state(generator)
    entry = torch.cuda.current_stream(stream.device)
    first: list[BaseException] = []
    outputs = None
    try:
        with torch.cuda.graph(graph, stream=stream):
            try:
                outputs = run()
            except Exception as exc:  # noqa: BLE001 — raised below, after the capture has ended
                first.append(exc)
    except Exception as exc:  # noqa: BLE001
        first.append(exc)
    finally:
        torch.cuda.set_stream(entry)
    if first:
        raise first[0]
    return graph, outputs


def measure_graph_step(step: GraphStep, settings: dict, device, record: dict) -> None:
    """One step kind, into ``record`` as it goes (a failure keeps what was measured before it, and ``stage`` names
    the stage that failed): eager warm-up and timing (``graph_warmup`` steps, then ``graph_blocks`` ×
    ``graph_block_steps`` steps, a synchronize around each block), warm-up on a side stream, capture
    (``capture_s``, instantiation included), a first replay, :func:`replay_check`, and the replays timed as the
    eager steps were."""
    import torch

    def synchronize():
        torch.cuda.synchronize(device)

    blocks, per_block = settings["graph_blocks"], settings["graph_block_steps"]
    record["stage"] = "eager"
    for _ in range(int(settings["graph_warmup"])):
        step.run()
    record["eager_step_ms"] = time_steps(step.run, synchronize, blocks, per_block)
    record["timed_steps"] = int(blocks) * int(per_block)
    record["stage"] = "side-stream warm-up"
    stream = torch.cuda.Stream(device)
    warm_up_on(stream, step.run, settings["graph_capture_warmup"])
    synchronize()
    record["stage"] = "capture"
    start = time.perf_counter()
    graph, outputs = capture_step(step.run, step.generators, stream)
    synchronize()
    record["capture_s"] = time.perf_counter() - start
    record["stage"] = "first replay"
    start = time.perf_counter()
    graph.replay()
    synchronize()
    record["first_replay_ms"] = (time.perf_counter() - start) * 1e3

    def replay() -> dict:
        graph.replay()
        return outputs

    record["stage"] = "check"
    record["check"] = replay_check(step, replay, settings["graph_check_steps"], synchronize)
    record["stage"] = "replay timing"
    record["graph_step_ms"] = time_steps(graph.replay, synchronize, blocks, per_block)
    record["speedup"] = record["eager_step_ms"] / record["graph_step_ms"] if record["graph_step_ms"] > 0 else None
    del record["stage"]
    record["status"] = "ok"


def _json_safe(value):
    """``value`` with every non-finite float as a string (the report is written with ``allow_nan=False``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def graph_section(stdout: str, problem: str | None = None) -> dict:
    """The ``cuda_graph`` section from the ``--worker cuda_graph`` output ``stdout`` (one JSON line per record:
    ``{"setup": …}``, one ``{"kind": …}`` per step kind, ``{"done": true}``) and the ``problem`` that ended the
    worker early (a timeout, an exit status), if any: ``ok`` when every kind was captured and its replay
    reproduces the eager step (``check.status`` ``equal`` or ``close``), ``differ`` when one does not, ``failed``
    when a capture failed or the worker stopped early (the kinds done are kept), ``skipped`` when the entry's
    parameters rule capture out."""
    records = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    setup = next((r["setup"] for r in records if isinstance(r.get("setup"), dict)), None)
    kinds = {r["kind"]: {k: v for k, v in r.items() if k != "kind"} for r in records if "kind" in r}
    done = any(r.get("done") for r in records)
    if setup is None:
        return {"status": "failed", "reason": problem or "the worker wrote no set-up record"}
    if setup.get("status") != "ok":
        return {k: v for k, v in setup.items() if k != "setup_s"}
    out = {"status": "ok", "setup": setup, "kinds": kinds}
    failed = [kind for kind, r in kinds.items() if r.get("status") != "ok"]
    differ = [kind for kind, r in kinds.items() if r.get("status") == "ok" and
              r.get("check", {}).get("status") not in ("equal", "close")]
    if problem and done:  # e.g. a crash while the process shut down, after its last record
        out["worker_problem"] = problem
    if not done:
        out["status"], out["reason"] = "failed", problem or "the worker stopped before its last step kind"
    elif failed:
        out["status"], out["reason"] = "failed", f"capture failed: {', '.join(failed)}"
    elif differ:
        out["status"], out["reason"] = "differ", f"a replay does not reproduce the eager step: {', '.join(differ)}"
    return out


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

    def over_budget(self) -> str:
        """The reason of a section skipped for time."""
        return f"time budget: {self.left():.0f} s left of --budget-s {self.settings['budget_s']:.0f}"

    def budgeted(self, what: str, need_s: float, section):
        if self.left() < need_s:
            return {"status": "skipped", "reason": f"{self.over_budget()}, {what} needs ~{need_s:.0f} s"}
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
    def timed_fit(self, cls, name: str, train, warmup: int, intervals: int) -> dict:
        """A short fit of ``cls`` (entry ``name``'s class or a subclass) timed by a :class:`StepTimer`: overrides,
        windows, ``fit_s``, ``first_log_s`` (the first callback's time) and the summary after ``warmup`` intervals."""
        overrides = short_fit(name, warmup + intervals)
        timer = StepTimer(name, self.synchronize)
        X = self.windows_for(name, train)
        start = time.perf_counter()
        cls(**self.params(name, overrides)).fit(X, seed=0, callback=timer)
        self.synchronize()
        return {"overrides": overrides, "windows": len(X), "fit_s": time.perf_counter() - start,
                "first_log_s": timer.rows[0][2] - start if timer.rows else None, **timer.summary(warmup)}

    def eager(self, name: str, train) -> dict:
        timed = self.timed_fit(load_class(name), name, train, self.settings["warmup"], self.settings["intervals"])
        del timed["first_log_s"]
        return {"status": "ok", **timed}

    def compiled(self, name: str) -> dict:
        """torch.compile'd step times, measured in a subprocess (a hung or crashing compile cannot stop the
        check)."""
        if not self.args.compile:
            return {"status": "skipped", "reason": "--no-compile"}
        if self.left() - 5 < min(10.0, self.settings["compile_timeout_s"]):
            return {"status": "skipped", "reason": self.over_budget()}
        timeout = min(self.settings["compile_timeout_s"], self.left() - 5)
        try:
            done = self.run_worker("compile", name, timeout)
        except subprocess.TimeoutExpired:
            return {"status": "skipped", "reason": f"compile + timed steps took over {timeout:g} s "
                                                   "(--compile-timeout-s)"}
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            return {"status": "failed", "reason": _worker_exit(done)}
        return json.loads(lines[-1])

    def run_worker(self, worker: str, name: str, timeout: float) -> subprocess.CompletedProcess:
        """This script's ``--worker WORKER`` for entry ``name`` in a subprocess (raises ``TimeoutExpired``)."""
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", worker, "--generator", name,
                   "--device", str(self.device), os.devnull] + (["--quick"] if self.args.quick else []) + (
                       ["--threads", str(self.args.threads)] if self.args.threads else [])
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)

    def graph_need_s(self, name: str, eager) -> float:
        """Estimated time of the ``cuda_graph`` worker of entry ``name``: :data:`GRAPH_START_S` and, per step kind,
        its eager and graph steps (warm-ups, timings, capture, check; all counted at the ``eager`` fit's time per
        step, set-up and logging included: an upper bound for the replays)."""
        entry, s = GENERATORS[name], self.settings
        if entry.graph is None or not self.cuda:
            return 0.0
        if not (isinstance(eager, dict) and eager.get("status") == "ok" and eager.get("steps")):
            return GRAPH_START_S
        per_kind = 2 * (s["graph_warmup"] + s["graph_blocks"] * s["graph_block_steps"] + s["graph_capture_warmup"]
                        + 2 * s["graph_check_steps"] + 2)
        return GRAPH_START_S + len(eager.get("step_ms") or {"": 0}) * per_kind * eager["fit_s"] / eager["steps"]

    def cuda_graph(self, name: str) -> dict:
        """Eager vs CUDA-graph step times of entry ``name`` (:data:`GENERATORS` ``graph``), measured in a subprocess
        with a timeout (a capture that crashes or hangs cannot stop the check; a finished step kind is kept)."""
        if not self.cuda:
            return {"status": "skipped", "reason": CPU_GRAPH_REASON}
        if not self.args.cuda_graph:
            return {"status": "skipped", "reason": "--no-cuda-graph"}
        if GENERATORS[name].graph is None:
            prepared = ", ".join(g for g, m in GENERATORS.items() if m.graph is not None)
            return {"status": "skipped", "reason": f"no CUDA-graph capture is prepared for {name} (only for "
                                                   f"{prepared})"}
        timeout = min(self.settings["graph_timeout_s"], self.left() - 5)
        if timeout < MIN_NEED_S:
            return {"status": "skipped", "reason": self.over_budget()}
        start = time.perf_counter()
        try:
            done = self.run_worker("cuda_graph", name, timeout)
            stdout, problem = done.stdout, _worker_exit(done) if done.returncode != 0 else None
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            problem = (f"the worker ran over {timeout:.0f} s (graph_timeout_s {self.settings['graph_timeout_s']:g}, "
                       f"or the time left of --budget-s)")
        return {**_json_safe(graph_section(stdout, problem)), "worker_s": time.perf_counter() - start}

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
            print(f"[gpu_check] {name}: CUDA graph", flush=True)
            generators[name]["cuda_graph"] = self.budgeted(
                "a CUDA-graph capture", self.graph_need_s(name, generators[name]["eager"]),
                lambda: self.cuda_graph(name))
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


def _worker_exit(done: subprocess.CompletedProcess) -> str:
    """A worker's exit status and the last line it wrote to stderr."""
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return f"worker exited {done.returncode}: {tail}"


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

    check = GPUCheck(args)
    name = args.generator[0]
    cls = load_class(name)

    class Compiled(cls):  # every network with parameters wrapped in torch.compile
        def _build(self, seq_len, n_features):
            return {key: torch.compile(module) if any(True for _ in module.parameters()) else module
                    for key, module in super()._build(seq_len, n_features).items()}

    Compiled.__name__ = f"Compiled{cls.__name__}"
    train, _ = check.data()
    try:
        timed = check.timed_fit(Compiled, name, train, check.settings["compile_warmup"],
                                check.settings["compile_intervals"])
    except Exception as exc:  # noqa: BLE001 — dynamo/inductor errors are the result
        return {"status": "failed", "reason": _error(exc)}
    del timed["windows"]
    return {"status": "ok", "mode": "default", **timed}


def graph_setup(check: GPUCheck, name: str) -> tuple[int, dict]:
    """Entry ``name`` fitted on the check's device with its ``graph.fit`` overrides (the preset's architecture and
    batch size, the shortest fit), its networks in training mode (cuDNN's RNN backward needs it): ``(windows,
    {step kind: GraphStep})``. Raises :class:`NotCapturable` where the entry's parameters rule capture out."""
    import numpy as np
    import torch

    spec = GENERATORS[name].graph
    train, _ = check.data()
    X = check.windows_for(name, train)
    model = build(name, check.params(name, spec.fit)).fit(X, seed=0)
    model.nets_.train()
    steps = spec.steps(model, torch.as_tensor(np.asarray(X, dtype=np.float32), device=check.device))
    check.synchronize()
    return len(X), steps


def cuda_graph_worker(args) -> None:
    """The ``--worker cuda_graph`` subprocess: entry ``args.generator[0]`` fitted for its ``graph`` set-up (the
    shortest fit, at the preset's architecture and batch size), then each prepared step kind measured
    (:func:`measure_graph_step`); prints one JSON line per record as it is done (see :func:`graph_section`), so that
    a timeout keeps the kinds already measured. A failing kind is recorded and the next one tried (marked
    ``after_failed``: a failed capture may leave the process's CUDA state unusable)."""
    def emit(record: dict) -> None:
        print(json.dumps(_json_safe(record), default=str), flush=True)

    check = GPUCheck(args)
    name = args.generator[0]
    spec = GENERATORS[name].graph
    if not check.cuda:
        emit({"setup": {"status": "skipped", "reason": CPU_GRAPH_REASON}})
        return
    start = time.perf_counter()
    try:
        windows, steps = graph_setup(check, name)
    except NotCapturable as exc:
        emit({"setup": {"status": "skipped", "reason": str(exc)}})
        return
    except Exception as exc:  # noqa: BLE001 — the set-up's failure is the result
        emit({"setup": {"status": "failed", "reason": _error(exc), "site": _user_site(exc)}})
        return
    emit({"setup": {"status": "ok", "fit": spec.fit, "windows": windows, "setup_s": time.perf_counter() - start,
                    "kinds": list(steps)}})
    failed: list[str] = []
    for kind, step in steps.items():
        record = {"kind": kind, "step": step.what, "status": "failed"}
        try:
            measure_graph_step(step, check.settings, check.device, record)
        except Exception as exc:  # noqa: BLE001 — a capture error is data
            record.update(status="failed", reason=_error(exc), site=_user_site(exc))
        if failed:
            record["after_failed"] = list(failed)
        if record["status"] != "ok":
            failed.append(kind)
        emit(record)
    emit({"done": True})


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="the JSON file to write")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny settings (smoke architectures, a few steps)")
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip the torch.compile timings")
    parser.add_argument("--no-cuda-graph", dest="cuda_graph", action="store_false",
                        help="skip the CUDA-graph captures")
    parser.add_argument("--generator", action="append", choices=list(GENERATORS), metavar="NAME",
                        help=f"only these entries (repeatable; default all): {', '.join(GENERATORS)}")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds of the projected paper grid (3)")
    parser.add_argument("--budget-s", type=float, default=None, help="time budget of the whole run (280; quick 120)")
    parser.add_argument("--compile-timeout-s", type=float, default=None,
                        help="per generator, compile + timed steps (60; quick 30)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--worker", choices=["compile", "cuda_graph"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from tsbench.atomic import write_atomically

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: --device cuda but no CUDA GPU is visible; use --device cpu (with --quick for a test run)",
              file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker == "compile":
        print(json.dumps(compile_worker(args)), flush=True)
        return 0
    if args.worker == "cuda_graph":
        cuda_graph_worker(args)
        return 0
    result = GPUCheck(args).run()
    out = Path(args.output)
    text = json.dumps(result, indent=2, allow_nan=False, default=str) + "\n"
    write_atomically(out, lambda tmp: Path(tmp).write_text(text))
    print(f"[gpu_check] wrote {out} in {result['elapsed_s']:.0f} s; "
          f"failures: {', '.join(result['failures']) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
