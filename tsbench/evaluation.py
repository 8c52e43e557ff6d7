"""Scoring one set of synthetic windows with several metrics, one after another or in worker processes.

Each metric gets its own seed, derived from the base seed and its cache key, so the values do not depend on
``jobs`` or on which other metrics run: ``jobs=2`` returns exactly what ``jobs=1`` returns, in the same order.
Workers are spawned processes with one compute thread each (the post-hoc GRUs are fastest on one thread,
so two metrics on two cores finish in about the time of the slower one).
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .runner.cells import MetricSpec
from .seeding import derive_seed

_DATA: tuple | None = None  # (real_train, real_test, synthetic) in a worker, sent once by the initializer


def metric_seed(seed: int, spec: MetricSpec) -> int:
    """The seed one metric computes with: independent of the other metrics and of the order."""
    return derive_seed(seed, spec.key)


def compute_metric(spec: MetricSpec, real_train: np.ndarray, real_test: np.ndarray, synthetic: np.ndarray, *,
                   seed: int, artefact_dir: Path | None = None) -> dict[str, list[float]]:
    """``{output: [value per repeat]}`` of one metric (see :meth:`tsbench.metric.Metric.compute`)."""
    return spec.instantiate().compute(real_train, real_test, synthetic, seed=metric_seed(seed, spec),
                                      artefact_dir=artefact_dir)


def compute_metrics(specs: list[MetricSpec], real_train: np.ndarray, real_test: np.ndarray,
                    synthetic: np.ndarray, *, seed: int, jobs: int = 1,
                    artefact_root: Path | None = None) -> list[dict[str, list[float]]]:
    """One result per spec, in the order of ``specs``; ``jobs > 1`` computes up to ``jobs`` metrics at once
    in spawned processes. A metric's exception is re-raised here (the first one, in spec order)."""
    def folder(spec):
        return Path(artefact_root) / spec.name if artefact_root else None

    jobs = max(1, min(int(jobs), len(specs)))
    if jobs == 1:
        return [compute_metric(s, real_train, real_test, synthetic, seed=seed, artefact_dir=folder(s))
                for s in specs]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                             initargs=(real_train, real_test, synthetic)) as pool:
        futures = [pool.submit(_compute_in_worker, s, seed, folder(s)) for s in specs]
        return [f.result() for f in futures]


def _init_worker(real_train, real_test, synthetic) -> None:
    from .runner.executors import set_threads

    global _DATA
    set_threads(1)
    _DATA = (real_train, real_test, synthetic)


def _compute_in_worker(spec: MetricSpec, seed: int, artefact_dir: Path | None):
    return compute_metric(spec, *_DATA, seed=seed, artefact_dir=artefact_dir)
