"""Metric specs, and scoring one set of synthetic windows with several metrics, one after another or in
worker processes.

A :class:`MetricSpec` is one metric with its settings resolved (preset, explicit parameters, protocol, repeats)
and its cache key; the runner stores each cell's metric results under that key, and ``tsbench evaluate``
computes the same specs on arrays. This module sits below the runner (see docs/architecture.md).

Each metric computes with its own explicit seed, so its values do not depend on how many workers there are or
on which other metrics run: ``jobs=2`` returns exactly what ``jobs=1`` returns. Workers are spawned processes
with one compute thread each (the post-hoc GRUs are fastest on one thread, so two metrics on two cores take
about as long as the slower one). Used by ``tsbench evaluate --jobs`` and by the runner when a grid has fewer
pending cells than ``--jobs``.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .generator import identity_params
from .naming import format_display_name, parse_display_name
from .params import check_params
from .presets import resolve_params
from .protocols import get_protocol
from .registry import metrics
from .seeding import derive_seed

_DATA: tuple | None = None  # (real_train, real_test, synthetic, reference) inside a worker, sent once


@functools.lru_cache(maxsize=None)
def source_hash(cls: type) -> str:
    """sha256 (12 hex digits) of the source file defining ``cls``."""
    try:
        path = inspect.getsourcefile(cls)
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12] if path else "nosource"
    except (TypeError, OSError):
        return "nosource"


def stable_hash(obj) -> str:
    """sha256 (16 hex digits) of ``obj`` as sorted JSON: the cell ids and metric keys."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MetricSpec:
    display: str  # as the user wrote it (canonicalised), e.g. "discriminative[iterations=500]"
    name: str
    params: dict  # resolved: preset + explicit + protocol/repeats
    key: str  # cache key inside a cell
    seed_key: str = ""  # what the metric's seed derives from: name and resolved parameters only (no code hash)

    @classmethod
    def build(cls, display: str, *, preset: str, protocol: str, repeats: int | None) -> "MetricSpec":
        name, explicit = parse_display_name(display)
        metric_cls = metrics.get(name)
        protocol = get_protocol(protocol).metrics  # the metric-settings family, e.g. "tsbench" for tsbench-chrono
        if protocol not in metric_cls.protocols:
            raise InputError(f"metric {name}", expected=f"a protocol it is defined under ({', '.join(metric_cls.protocols)})",
                             got=f"--protocol {protocol}", fix=f"drop -m {name} or use another --protocol")
        params = resolve_params(metric_cls, preset, explicit, display=display)
        check_params(metric_cls, explicit, what=f"metric {name}")
        valid = set(metric_cls._get_param_names())
        if "protocol" in valid:
            params["protocol"] = protocol
        if repeats is not None and "repeats" in valid:
            params["repeats"] = repeats
        key_src = {"name": name, "params": identity_params(params), "version": metric_cls.version,
                   "code": source_hash(metric_cls)}
        canonical = format_display_name(name, explicit)
        seed_key = f"{name}-{stable_hash({'name': name, 'params': identity_params(params)})}"
        return cls(canonical, name, params, f"{name}-{stable_hash(key_src)}", seed_key)

    def instantiate(self, device: str | None = None):
        """The metric object; ``device`` (the cell's, e.g. ``"cuda:1"``) replaces a ``device`` parameter left at
        ``"auto"`` — a runtime setting, so it changes neither :attr:`key` nor the seed."""
        cls = metrics.get(self.name)
        params = dict(self.params)
        if device is not None and "device" in cls._get_param_names() and str(params.get("device", "auto")) == "auto":
            params["device"] = str(device)
        return cls(**params)


def set_threads(threads: int) -> None:
    """Limit this process to ``threads`` compute threads: torch, and every OpenMP/BLAS runtime loaded
    (scikit-learn's t-SNE included: an oversubscribed OpenMP pool is far slower on a busy machine)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import sklearn.utils._openmp_helpers  # noqa: F401  (loads scikit-learn's OpenMP runtime)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)


def metric_seed(seed: int, spec: MetricSpec) -> int:
    """The seed ``tsbench evaluate`` gives one metric: independent of the other metrics and of the order, and
    derived from the metric's name and parameters only, so editing a metric's source does not redraw it."""
    return derive_seed(seed, spec.seed_key)


def timed_compute(spec: MetricSpec, real_train: np.ndarray, real_test: np.ndarray, synthetic: np.ndarray, *,
                  seed: int, artefact_dir: Path | None = None, reference: np.ndarray | None = None,
                  device: str | None = None) -> tuple[dict[str, list[float]], float]:
    """``({output: [value per repeat]}, seconds)`` of one metric computed with exactly ``seed``; ``reference``
    (default ``real_train``) is what data-dependent scales are fitted on (see :class:`tsbench.metric.Metric`);
    ``device`` (the cell's) is where a metric with a ``device`` parameter left at ``"auto"`` computes."""
    start = time.perf_counter()
    values = spec.instantiate(device).compute(real_train, real_test, synthetic, seed=seed, artefact_dir=artefact_dir,
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

    def submit(self, spec: MetricSpec, seed: int, artefact_dir: Path | None = None,
               device: str | None = None) -> Future:
        return self._pool.submit(_compute_in_worker, spec, seed, artefact_dir, device)

    def __enter__(self) -> MetricWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def compute_metrics(specs: list[MetricSpec], real_train: np.ndarray, real_test: np.ndarray,
                    synthetic: np.ndarray, *, seed: int, jobs: int = 1, artefact_root: Path | None = None,
                    device: str | None = None) -> list[dict[str, list[float]]]:
    """One result per spec, in the order of ``specs``, each computed with :func:`metric_seed`; ``jobs > 1``
    computes up to ``jobs`` metrics at once. A metric's exception is re-raised (the first, in spec order).
    ``device``: where metrics with a ``device`` parameter left at ``"auto"`` compute (default: their own
    ``auto``, CUDA when visible)."""
    def folder(spec):
        return Path(artefact_root) / spec.name if artefact_root else None

    jobs = max(1, min(int(jobs), len(specs)))
    if jobs == 1:
        return [timed_compute(s, real_train, real_test, synthetic, seed=metric_seed(seed, s),
                              artefact_dir=folder(s), device=device)[0] for s in specs]
    with MetricWorkers(jobs, real_train, real_test, synthetic) as workers:
        futures = [workers.submit(s, metric_seed(seed, s), folder(s), device) for s in specs]
        return [f.result()[0] for f in futures]


def _init_worker(real_train, real_test, synthetic, reference) -> None:
    global _DATA
    set_threads(1)
    _DATA = (real_train, real_test, synthetic, reference)


def _compute_in_worker(spec: MetricSpec, seed: int, artefact_dir: Path | None, device: str | None = None):
    real_train, real_test, synthetic, reference = _DATA
    return timed_compute(spec, real_train, real_test, synthetic, seed=seed, artefact_dir=artefact_dir,
                         reference=reference, device=device)


__all__ = ["MetricSpec", "MetricWorkers", "compute_metrics", "metric_seed", "set_threads", "source_hash",
           "stable_hash", "timed_compute"]
