"""Scoring one set of synthetic windows with several metrics, one after another or in worker processes.

Each metric computes with its own explicit seed, so its values do not depend on how many workers there are or
on which other metrics run: ``jobs=2`` returns exactly what ``jobs=1`` returns. Workers are spawned processes
with one compute thread each (the post-hoc GRUs are fastest on one thread, so two metrics on two cores take
about as long as the slower one). Used by ``tsbench evaluate --jobs`` and by the runner when a grid has fewer
pending cells than ``--jobs``.
"""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .runner.cells import MetricSpec
from .seeding import derive_seed

_DATA: tuple | None = None  # (real_train, real_test, synthetic, reference) inside a worker, sent once


def metric_seed(seed: int, spec: MetricSpec) -> int:
    """The seed ``tsbench evaluate`` gives one metric: independent of the other metrics and of the order."""
    return derive_seed(seed, spec.key)


def timed_compute(spec: MetricSpec, real_train: np.ndarray, real_test: np.ndarray, synthetic: np.ndarray, *,
                  seed: int, artefact_dir: Path | None = None,
                  reference: np.ndarray | None = None) -> tuple[dict[str, list[float]], float]:
    """``({output: [value per repeat]}, seconds)`` of one metric computed with exactly ``seed``; ``reference``
    (default ``real_train``) is what data-dependent scales are fitted on (see :class:`tsbench.metric.Metric`)."""
    start = time.perf_counter()
    values = spec.instantiate().compute(real_train, real_test, synthetic, seed=seed, artefact_dir=artefact_dir,
                                        reference=reference)
    return values, time.perf_counter() - start


class MetricWorkers:
    """``jobs`` spawned one-thread processes that hold the three arrays (sent once per worker);
    :meth:`submit` returns a future of :func:`timed_compute`. Use as a context manager."""

    def __init__(self, jobs: int, real_train: np.ndarray, real_test: np.ndarray, synthetic: np.ndarray, *,
                 reference: np.ndarray | None = None):
        self._pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker,
                                         initargs=(real_train, real_test, synthetic, reference))

    def submit(self, spec: MetricSpec, seed: int, artefact_dir: Path | None = None) -> Future:
        return self._pool.submit(_compute_in_worker, spec, seed, artefact_dir)

    def __enter__(self) -> MetricWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def compute_metrics(specs: list[MetricSpec], real_train: np.ndarray, real_test: np.ndarray,
                    synthetic: np.ndarray, *, seed: int, jobs: int = 1,
                    artefact_root: Path | None = None) -> list[dict[str, list[float]]]:
    """One result per spec, in the order of ``specs``, each computed with :func:`metric_seed`; ``jobs > 1``
    computes up to ``jobs`` metrics at once. A metric's exception is re-raised (the first, in spec order)."""
    def folder(spec):
        return Path(artefact_root) / spec.name if artefact_root else None

    jobs = max(1, min(int(jobs), len(specs)))
    if jobs == 1:
        return [timed_compute(s, real_train, real_test, synthetic, seed=metric_seed(seed, s),
                              artefact_dir=folder(s))[0] for s in specs]
    with MetricWorkers(jobs, real_train, real_test, synthetic) as workers:
        futures = [workers.submit(s, metric_seed(seed, s), folder(s)) for s in specs]
        return [f.result()[0] for f in futures]


def _init_worker(real_train, real_test, synthetic, reference) -> None:
    from .runner.executors import set_threads

    global _DATA
    set_threads(1)
    _DATA = (real_train, real_test, synthetic, reference)


def _compute_in_worker(spec: MetricSpec, seed: int, artefact_dir: Path | None):
    real_train, real_test, synthetic, reference = _DATA
    return timed_compute(spec, real_train, real_test, synthetic, seed=seed, artefact_dir=artefact_dir,
                         reference=reference)


__all__ = ["MetricWorkers", "compute_metrics", "metric_seed", "timed_compute"]
