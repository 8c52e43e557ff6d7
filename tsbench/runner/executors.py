"""Executors run cells and yield their outcomes as they finish.

* ``InProcessExecutor`` — one cell after another in this process (debugging; nested progress bars).
* ``ProcessExecutor`` — ``--jobs N`` worker processes, each with one torch thread (on 2 cores, two
  1-thread jobs give about twice the throughput of one 2-thread job).
* ``tsbench.runner.dask_executor.DaskExecutor`` — the same cells on a Dask cluster (optional extra).

An executor implements ``run(cells, out, force_ids) -> Iterator[CellOutcome]``; each cell is executed by
:func:`tsbench.runner.execute.run_cell`, which writes only inside its own cell folder.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Iterable, Iterator, Protocol

from ..evaluation import set_threads  # noqa: F401  (re-exported: `from tsbench.runner.executors import set_threads`)
from .cells import CellSpec
from .execute import CellOutcome, run_cell


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
    def __init__(self, jobs: int, threads_per_job: int = 1):
        self.jobs, self.threads = jobs, threads_per_job

    def run(self, cells: Iterable[CellSpec], out: str, force_ids: set[str]) -> Iterator[CellOutcome]:
        cells = list(cells)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.jobs, mp_context=context, initializer=set_threads,
                                 initargs=(self.threads,)) as pool:
            futures = {pool.submit(run_cell, cell, out, force=cell.cell_id in force_ids): cell for cell in cells}
            for future in as_completed(futures):
                cell = futures[future]
                try:
                    yield future.result()
                except Exception as exc:  # the worker process died
                    yield CellOutcome(cell.cell_id, cell.label, "failed", f"worker died: {type(exc).__name__}: {exc}")
