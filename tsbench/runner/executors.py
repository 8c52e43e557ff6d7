"""Executors run cells and yield their outcomes as they finish.

* ``InProcessExecutor`` — one cell after another in this process (debugging; nested progress bars).
* ``ProcessExecutor`` — ``--jobs N`` worker processes, each with one torch thread (on 2 cores, two
  1-thread jobs give about twice the throughput of one 2-thread job); on GPUs each worker is pinned to one
  GPU, round-robin (:mod:`.gpus`).
* ``tsbench.runner.dask_executor.DaskExecutor`` — the same cells on a Dask cluster (optional extra).

An executor implements ``run(cells, out, force_ids) -> Iterator[CellOutcome]``; each cell is executed by
:func:`tsbench.runner.execute.run_cell`, which writes only inside its own cell folder.
"""
from __future__ import annotations

import multiprocessing
import queue
import time
from typing import Iterable, Iterator, Protocol

from ..evaluation import set_threads  # noqa: F401  (re-exported: `from tsbench.runner.executors import set_threads`)
from .cells import CellSpec
from .atomic import ResultsNotWritable
from .execute import CellOutcome, record_dead_worker, record_killed_past_deadline, run_cell
from .gpus import gpus_for, pin_this_process, worker_gpus
from .orphans import exit_with_parent


class Executor(Protocol):
    def run(self, cells: list[CellSpec], out: str, force_ids: set[str]) -> Iterator[CellOutcome]: ...


class InProcessExecutor:
    def __init__(self, progress_factory=None):
        self.progress_factory = progress_factory

    def run(self, cells: Iterable[CellSpec], out: str, force_ids: set[str]) -> Iterator[CellOutcome]:
        for cell in cells:
            bar = self.progress_factory(cell) if self.progress_factory else None
            try:
                yield run_cell(cell, out, force=cell.cell_id in force_ids, progress=bar)
            finally:
                if bar is not None:
                    bar.close()


class ProcessExecutor:
    """``jobs`` spawned worker processes (``threads_per_job`` torch threads each) fed one cell at a time.

    ``--timeout`` is enforced from outside as well: a worker whose cell runs past its timeout plus ``grace``
    seconds (the cooperative check inside the cell gets the first chance) is killed, the cell is recorded as
    ``timeout`` in its folder, and a fresh worker takes the next cell — so a plugin that hangs inside one step,
    in C code or in a loop that never reports progress cannot stall the grid. A worker that dies (killed,
    out of memory) fails its cell, is replaced, and the rest of the grid finishes. A worker whose parent is
    killed exits too (:mod:`.orphans`).

    GPUs (:mod:`.gpus`). When the cells' device is ``cuda`` or ``auto`` and GPUs are visible, worker ``k`` is
    pinned to GPU ``gpus[k mod G]`` (``CUDA_VISIBLE_DEVICES`` set in the worker before torch initialises CUDA:
    one CUDA context per process, the GPU seen as ``cuda:0``); a replaced worker gets the GPU of the one it
    replaces. ``cells_per_gpu`` = K caps the workers per GPU: ``jobs`` must be at most ``G × K``
    (:class:`~tsbench.errors.InputError` otherwise). ``gpus`` overrides the discovered GPU ids
    (:func:`.gpus.visible_gpus`).
    """

    def __init__(self, jobs: int, threads_per_job: int = 1, grace: float = 30.0, poll: float = 0.2, *,
                 cells_per_gpu: int | None = None, gpus: list[str] | None = None):
        self.jobs, self.threads, self.grace, self.poll = jobs, threads_per_job, grace, poll
        self.cells_per_gpu, self.gpus = cells_per_gpu, gpus

    def run(self, cells: Iterable[CellSpec], out: str, force_ids: set[str]) -> Iterator[CellOutcome]:
        pending = list(cells)[::-1]
        gpus = gpus_for(pending, cells_per_gpu=self.cells_per_gpu, gpus=self.gpus)
        slots = worker_gpus(min(self.jobs, len(pending)), gpus, cells_per_gpu=self.cells_per_gpu, jobs=self.jobs)
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        workers = [_Worker(context, results, self.threads, gpu) for gpu in slots]
        try:
            while pending or any(w.cell for w in workers):
                for worker in workers:
                    if worker.cell is None and pending:
                        cell = pending.pop()
                        worker.start(cell, out, cell.cell_id in force_ids)
                message = _next_result(results, self.poll)
                if message is not None:
                    kind, cell_id, outcome = message
                    if kind == "unwritable":
                        raise outcome
                    busy = [w for w in workers if w.cell is not None and w.cell.cell_id == cell_id]
                    if kind == "started":  # the deadline counts from here, not from the worker's start-up
                        for worker in busy:
                            worker.started = time.monotonic()
                        continue
                    for worker in busy:
                        worker.cell = None
                    yield outcome
                    continue
                for i, worker in enumerate(workers):
                    ended = worker.check(out, self.grace)
                    if ended is not None:
                        workers[i] = _Worker(context, results, self.threads, worker.gpu)  # same GPU slot
                        yield ended
        finally:
            for worker in workers:
                worker.stop()


def _next_result(results, timeout: float):
    try:
        return results.get(timeout=timeout)
    except queue.Empty:
        return None


class _Worker:
    """One spawned process with its own task queue; ``cell`` is what it runs now (``None``: idle); ``gpu``: the
    GPU id it is pinned to (``None``: not pinned)."""

    def __init__(self, context, results, threads: int, gpu: str | None = None):
        self.gpu = gpu
        self.tasks = context.Queue()
        self.process = context.Process(target=_work, args=(self.tasks, results, threads, gpu), daemon=True)
        self.process.start()
        self.cell: CellSpec | None = None
        self.started = 0.0

    def start(self, cell: CellSpec, out: str, force: bool) -> None:
        self.cell, self.started = cell, time.monotonic()
        self.tasks.put((cell, out, force))

    def check(self, out: str, grace: float) -> CellOutcome | None:
        """The outcome of a cell whose worker died or ran past its deadline plus ``grace`` (worker killed)."""
        if self.cell is None:
            return None
        cell = self.cell
        if not self.process.is_alive():
            self.cell = None
            return record_dead_worker(out, cell, self.process.exitcode)
        if cell.timeout and time.monotonic() - self.started > cell.timeout + grace:
            self.stop()
            self.cell = None
            return record_killed_past_deadline(out, cell, grace)
        return None

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)


def _work(tasks, results, threads: int, gpu: str | None = None) -> None:
    """Worker loop: run cells from ``tasks`` until the parent stops the process (or dies: :mod:`.orphans`).
    ``gpu``: the only GPU this process sees (set before anything initialises CUDA)."""
    pin_this_process(gpu)
    exit_with_parent()
    set_threads(threads)
    while True:
        cell, out, force = tasks.get()
        results.put(("started", cell.cell_id, None))
        try:
            outcome = run_cell(cell, out, force=force)
        except ResultsNotWritable as exc:  # the parent stops the grid with one clear line
            results.put(("unwritable", cell.cell_id, exc))
            continue
        except BaseException as exc:  # run_cell records its own failures; this is a last resort
            outcome = CellOutcome(cell.cell_id, cell.label, "failed", f"{type(exc).__name__}: {exc}")
        results.put(("ended", cell.cell_id, outcome))
