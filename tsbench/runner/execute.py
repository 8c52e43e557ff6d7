"""Running one cell: load data → fit (or reuse the cached model and samples) → each missing metric.

``run_cell`` is executed in-process or in a worker process; it writes only inside its own cell folder
(through :class:`.cellfiles.CellFolder`) and returns a small :class:`CellOutcome`. Nothing is marked done
before its files are complete; a corrupt file is recomputed (with a warning), never used. A resumable
generator's fit saves its training state to the cell's ``fit.ckpt`` (:func:`checkpoint_timing`) and a fit
interrupted by a kill resumes from it in the next run, with the same result; the file goes once the cell is
trained.
"""
from __future__ import annotations

import functools
import os
import platform
import re
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import TsbenchError
from ..peak_memory import PeakMemory
from .atomic import ResultsNotWritable
from .cellfiles import CellFolder
from .cells import CellSpec, MetricSpec
from .store import RunStore


#: how often a resumable fit saves ``fit.ckpt``: runtime settings, never part of a cell's identity
CHECKPOINT_STEPS_ENV, CHECKPOINT_SECONDS_ENV = "TSBENCH_CHECKPOINT_STEPS", "TSBENCH_CHECKPOINT_SECONDS"


def checkpoint_timing() -> dict:
    """``{"every": steps, "seconds": seconds}`` of the mid-fit checkpoints, from ``$TSBENCH_CHECKPOINT_STEPS``
    (default: no step trigger) and ``$TSBENCH_CHECKPOINT_SECONDS`` (default 60 s of training); ``0`` or ``off``
    turns a trigger off."""
    from ..errors import InputError
    from ..generator import CHECKPOINT_SECONDS

    timing = {}
    for key, env, default, kind in (("every", CHECKPOINT_STEPS_ENV, None, int),
                                    ("seconds", CHECKPOINT_SECONDS_ENV, CHECKPOINT_SECONDS, float)):
        text = os.environ.get(env, "").strip().lower()
        try:
            value = default if not text else None if text == "off" else kind(text)
        except ValueError:
            raise InputError(env, expected="a non-negative number or 'off'", got=repr(text),
                             fix=f"unset it or set e.g. {env}={60 if kind is float else 100}") from None
        if value is not None and value < 0:
            raise InputError(env, expected="a non-negative number or 'off'", got=repr(text), fix=f"unset {env}")
        timing[key] = value or None
    return timing


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_checkpoint_every(text: str) -> dict:
    """``--checkpoint-every``: ``"90s"``, ``"5m"``, ``"1h"`` (training time), ``"500steps"`` (fit steps) or
    ``"off"`` → ``{"every": steps, "seconds": seconds}`` as :func:`checkpoint_timing` returns it."""
    from ..errors import InputError

    value = str(text).strip().lower().replace(" ", "")
    if value == "off":
        return {"every": None, "seconds": None}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)|(\d+)steps?", value)
    if match is None or float(match.group(1) or match.group(3)) <= 0:
        raise InputError("--checkpoint-every", expected="a positive duration (90s, 5m, 1h), a number of fit "
                         "steps (500steps) or 'off'", got=repr(text), fix="pass e.g. --checkpoint-every 5m")
    if match.group(3):
        return {"every": int(match.group(3)), "seconds": None}
    return {"every": None, "seconds": float(match.group(1)) * _UNITS[match.group(2)]}


class CellTimeout(TsbenchError):
    """A cell ran past its ``--timeout``."""

    exit_code = 1


@dataclass
class CellOutcome:
    cell_id: str
    label: str
    status: str  # "done" | "failed" | "timeout"
    error: str | None = None
    trained: bool = False  # whether this call trained the model (False when the cache was used)
    failed_metrics: list[str] = field(default_factory=list)


def instantiate_dataset(spec: str, preset: str):
    """A Dataset from a registered display name (preset-resolved) or a file path."""
    from ..data import resolve_dataset

    return resolve_dataset(spec, preset=preset)  # local copies: --data-dir sets TSBENCH_DATA_DIR


def dataset_identity(dataset) -> dict:
    """Name, version and parameters of a dataset (a user file's version includes its sha256)."""
    from ..data import RUNTIME_PARAMS

    params = {k: v for k, v in dataset.get_params().items() if k not in RUNTIME_PARAMS}
    if "path" in params:
        params["path"] = Path(params["path"]).name  # the content hash is in the version
    return {"name": dataset.name or type(dataset).__name__, "version": dataset.version, "params": params}


@functools.lru_cache(maxsize=8)
def load_split(dataset_spec: str, preset: str, data_seed: int, protocol: str):
    return instantiate_dataset(dataset_spec, preset).load(data_seed, protocol)


@functools.lru_cache(maxsize=None)
def provenance() -> dict:
    import sys

    import torch

    from .. import __version__
    from ..provenance import git_sha

    return {"tsbench_version": __version__, "torch_version": torch.__version__, "numpy_version": np.__version__,
            "python_version": platform.python_version(), "git_sha": git_sha(), "host": socket.gethostname(),
            "platform": sys.platform}


def _device_label(device: str) -> str:
    """The records' ``device``: ``cuda:0 (NVIDIA H200, GPU 3)`` names the physical GPU of a pinned process."""
    from .gpus import device_label

    return device_label(device)


def run_cell(cell: CellSpec, out: str, *, force: bool = False, progress=None,
             absent_ok: tuple[str, ...] = ()) -> CellOutcome:
    """Run (or resume) one cell in ``out``. Never raises for cell failures: they are returned and recorded.
    Raises :class:`.atomic.ResultsNotWritable` when the folder cannot be written (nothing can be recorded).

    ``progress(step, total, losses)`` receives training progress (optional). ``absent_ok``: files the
    training marker records that this copy of the folder may lack (a worker's, :data:`CellFolder.NOT_READ`).
    """
    folder = RunStore(out).cell(cell.cell_id)
    outcome = CellOutcome(cell.cell_id, cell.label, "done")
    if cell.deterministic:  # in this (worker) process, before anything computes
        from ..determinism import enable_determinism

        enable_determinism()
    deadline = Deadline(cell.timeout)
    progress = deadline.wrap(progress)
    try:
        prepare_folder(cell, folder, force=force)
        split = load_split(cell.dataset, cell.preset, cell.data_seed, cell.protocol)
        samples = folder.trained_samples(absent_ok=absent_ok)
        if samples is None:
            folder.unmark()  # results of other samples are void (none, unless a file was corrupt)
            samples = _train_and_sample(cell, split, folder, progress)
            outcome.trained = True
        pending = [m for m in cell.metrics if _missing_result(folder, m)]
        for metric, ok in _run_metrics(cell, pending, split, samples, folder, deadline):
            if not ok:
                outcome.failed_metrics.append(metric.display)
        folder.clear_failure()
        if outcome.failed_metrics:
            outcome.status = "failed"
            outcome.error = f"metric(s) failed: {', '.join(outcome.failed_metrics)}"
    except ResultsNotWritable:
        raise  # nothing can be recorded: stop the grid with one line
    except Exception as exc:  # recorded, never cached as done
        failed = record_failure(cell, folder, exc)
        outcome.status, outcome.error = failed.status, failed.error
    return outcome


def record_failure(cell: CellSpec, folder: CellFolder, exc: BaseException) -> CellOutcome:
    """Write ``exc`` as ``cell``'s last failure (``failed.json``: status, one-line error, traceback) and return
    the outcome saying so (``timeout`` for a :class:`CellTimeout`); call it where ``exc`` is being handled."""
    status = "timeout" if isinstance(exc, CellTimeout) else "failed"
    error = _error_text(exc)
    folder.write_failure({"status": status, "error": error, "traceback": traceback.format_exc(), "time": time.time()})
    return CellOutcome(cell.cell_id, cell.label, status, error)


def prepare_folder(cell: CellSpec, folder: CellFolder, *, force: bool = False) -> None:
    """Ready ``cell``'s folder for a run: create it, remove the temporary files of writes a killed run left
    unfinished, under ``force`` un-mark the cell and its metrics and drop its ``fit.ckpt`` (files are rewritten
    as they are recomputed; the fit starts over), and write ``cell.json`` (spec, provenance, every metric ever
    requested at its current key)."""
    folder.create()
    folder.remove_temp_files()
    if force:
        folder.unmark()
        folder.clear_fit_checkpoint()
    info = {**cell.to_dict(), **provenance(), "device": _device_label(cell.device)}
    previous = {} if force else folder.read_spec("it is written again") or {
        "metric_keys": folder.metric_keys_on_disk()}
    info["metric_keys"] = {**previous.get("metric_keys", {}), **{m.display: m.key for m in cell.metrics}}
    folder.write_spec(info)


def _missing_result(folder: CellFolder, metric: MetricSpec) -> bool:
    """Whether ``metric`` must be computed: no result yet, or a corrupt one (discarded, with a warning)."""
    if folder.read_metric(metric.key, "it is computed again") is not None:
        return False
    folder.discard(folder.metric_file(metric.key))
    return True


def record_outcome(out: str, cell: CellSpec, status: str, error: str) -> CellOutcome:
    """Record a cell ended from outside its worker (killed past its deadline, worker died) in its folder, as
    :func:`run_cell` records its own failures: never cached as done, retried by the next run. Returns its outcome."""
    folder = RunStore(out).cell(cell.cell_id)
    folder.create()
    if folder.read_spec() is None:  # killed before it described itself: the records must still list it
        folder.write_spec({**cell.to_dict(), "metric_keys": {m.display: m.key for m in cell.metrics}})
    folder.write_failure({"status": status, "error": error, "traceback": None, "time": time.time()})
    return CellOutcome(cell.cell_id, cell.label, status, error)


def record_killed_past_deadline(out: str, cell: CellSpec, grace: float) -> CellOutcome:
    """:func:`record_outcome` for a cell whose process was killed ``grace`` seconds after its timeout."""
    return record_outcome(out, cell, "timeout", f"CellTimeout: cell exceeded its timeout of {cell.timeout:g} s "
                                                f"(worker killed after {grace:g} s of grace)")


def record_dead_worker(out: str, cell: CellSpec, exitcode: int | None) -> CellOutcome:
    """:func:`record_outcome` for a cell whose process died (killed, out of memory) before it returned."""
    return record_outcome(out, cell, "failed", f"worker died (exit code {exitcode})")


class Deadline:
    """Cooperative per-cell timeout: checked at every training progress report and before each metric."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.end = time.monotonic() + seconds if seconds else None

    def check(self) -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise CellTimeout(f"cell exceeded its timeout of {self.seconds:g} s")

    def wrap(self, progress):
        if self.end is None:
            return progress

        def report(step, total, losses):
            self.check()
            if progress is not None:
                progress(step, total, losses)

        return report


def _train_and_sample(cell: CellSpec, split, folder: CellFolder, progress):
    """Fit ``cell``'s generator alone (resuming an interrupted fit from ``fit.ckpt``) and :func:`write_fit`."""
    generator = new_generator(cell)
    from_floor = uses_floor(generator_name(cell))
    checkpoint = folder.fit_checkpoint(**(cell.checkpoint or checkpoint_timing()))  # resumed when an interrupted fit left one
    peak = PeakMemory(cell.device_type)
    start = time.perf_counter()
    with peak:
        generator.fit(split.train, seed=cell.fit_seed, callback=progress, X_test=split.floor if from_floor else None,
                      checkpoint=checkpoint)
    fit = {"fit_s": time.perf_counter() - start, "resumed_after_step": checkpoint.resumed_step,
           "peak_memory_mb": None if peak.mb is None else round(peak.mb, 1)}
    return write_fit(cell, split, folder, generator, fit)


def write_fit(cell: CellSpec, split, folder: CellFolder, generator, fit: dict) -> np.ndarray:
    """Write what a fit of ``cell`` produced and return its samples: the model checkpoint, the loss curves (when
    logged), ``cell.n_samples`` windows (default: as many as the fit's windows) drawn with ``cell.sample_seed``,
    then ``trained.json`` — last — with the timings, shapes and costs merged with ``fit`` (``fit_s``,
    ``resumed_after_step``, ``peak_memory_mb``; ``batched_seeds`` for a batched fit), and ``fit.ckpt`` goes.
    Non-finite samples raise :class:`TsbenchError` before anything is marked trained."""
    from_floor = uses_floor(generator_name(cell))
    written = [folder.save_model(generator.save)]
    if generator.history_:
        import pandas as pd

        written.append(folder.write_losses(pd.DataFrame(generator.history_).to_csv(index=False).encode()))
    n = cell.n_samples or len(split.floor if from_floor else split.train)
    start = time.perf_counter()
    samples = generator.sample(n, seed=cell.sample_seed)
    sample_s = time.perf_counter() - start
    if not np.isfinite(samples).all():
        raise TsbenchError(f"{cell.generator} produced non-finite samples; the cell fails instead of scoring them")
    written.append(folder.write_samples(samples))
    real_train, real_test = split.scoring_windows(from_floor)
    timings = {"sample_s": sample_s, "n_train": len(real_train), "n_test": len(real_test), "n_samples": n,
               "seq_len": split.seq_len, "n_features": split.n_features, "split": split.policy,
               "n_parameters": _n_parameters(generator), **fit}
    folder.mark_trained(timings, written)  # the trained marker comes last
    folder.clear_fit_checkpoint()
    return samples


def generator_name(cell: CellSpec) -> str:
    """The registered name of ``cell``'s generator (its display name without parameters)."""
    from ..naming import parse_display_name

    return parse_display_name(cell.generator)[0]


def new_generator(cell: CellSpec):
    """An unfitted instance of ``cell``'s generator with its resolved parameters."""
    from ..registry import generators

    return generators.get(generator_name(cell))(**cell.generator_params)


def _n_parameters(generator) -> int | None:
    """The fitted generator's parameter count; ``None`` when a plugin's count fails (a cost figure never fails a
    cell)."""
    try:
        count = generator.n_parameters()
    except Exception:  # noqa: BLE001
        return None
    return None if count is None else int(count)


def uses_floor(generator_name: str) -> bool:
    """Whether the generator is a built-in calibration or corruption row that ``needs_held_out`` (``real``,
    ``noise``, …): it is fitted with ``split.floor`` and scored with :meth:`Split.scoring_windows`. Held-out
    windows are never handed to anything else — a model or a plugin — whatever it declares."""
    from ..registry import BUILT_IN, generators

    entry = generators.entry(generator_name)
    cls = entry.load()
    return entry.origin == BUILT_IN and cls.role in ("calibration", "corruption") and cls.needs_held_out is True


def _run_metrics(cell: CellSpec, pending: list[MetricSpec], split, samples, folder: CellFolder, deadline):
    """Compute and record each pending metric; yields ``(metric, ok)`` in order. With ``cell.metric_jobs > 1``
    they are computed at once in worker processes (same values: each metric has its own seed).

    Every row of a dataset and seed shares ``split.train`` as the metrics' ``reference`` (what kernel scales
    and encoders are fitted on), so their fitted state is the same for every row of a table. Metrics with a
    ``device`` parameter left at ``"auto"`` compute on the cell's device (``--device cpu`` keeps them on the CPU
    of a GPU machine)."""
    from ..evaluation import MetricWorkers, timed_compute
    from ..naming import parse_display_name

    real_train, real_test = split.scoring_windows(uses_floor(parse_display_name(cell.generator)[0]))
    reference = split.train

    def artefacts(metric):
        return folder.artefact_dir(metric.name)

    def settle(metric, result) -> bool:  # result: a callable returning (values, seconds), or raising
        try:
            computed = result()
        except Exception as exc:
            return _record_metric(metric, folder, error=exc)
        return _record_metric(metric, folder, result=computed)

    jobs = min(cell.metric_jobs, len(pending))
    if jobs <= 1:
        for metric in pending:
            deadline.check()
            yield metric, settle(metric, lambda m=metric: timed_compute(
                m, real_train, real_test, samples, seed=cell.metric_seed(m), artefact_dir=artefacts(m),
                reference=reference, device=cell.device))
        return
    deadline.check()
    with MetricWorkers(jobs, real_train, real_test, samples, reference=reference) as workers:
        futures = [(m, workers.submit(m, cell.metric_seed(m), artefacts(m), cell.device)) for m in pending]
        for metric, future in futures:
            yield metric, settle(metric, future.result)


def _record_metric(metric: MetricSpec, folder: CellFolder, *, result=None,
                   error: BaseException | None = None) -> bool:
    """Write the metric's result file (or its failure file); returns whether it succeeded."""
    if error is None:
        values, seconds = result
        bad = [k for k, v in values.items() if not np.all(np.isfinite(v))]
        if bad:
            error = TsbenchError(f"{metric.display} returned non-finite values for {', '.join(bad)}")
    if error is not None:
        trace = "".join(traceback.format_exception(error))
        folder.write_metric_failure(metric.key, {"metric": metric.display, "metric_name": metric.name,
                                                 "key": metric.key, "error": _error_text(error), "traceback": trace})
        return False
    from ..registry import metrics

    cls = metrics.get(metric.name)
    folder.write_metric(metric.key, {"metric": metric.display, "metric_name": metric.name, "key": metric.key,
                                     "params": metric.params, "version": cls.version, "outputs": cls.outputs,
                                     "values": values, "metric_s": seconds})
    return True


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
