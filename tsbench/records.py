"""Tidy records: one row per (cell, metric output, repeat), with provenance.

Columns (all present in every record; ``None`` where not applicable):

identity   cell_id, dataset, generator, generator_name, role, seed, preset, protocol, split
metric     metric, metric_name, metric_version, output, higher_is_better, repeat, value,
           metric_params (the metric's resolved parameters as sorted JSON — preset values included, runtime-only
           ones left out — so the subsampling rule a value was computed under, e.g. MMD's ``subset_size`` or
           memorisation's ``max_windows``, is in the records; ``None`` in records written before it existed)
outcome    status ('done' | 'failed' | 'timeout'), error
timings    fit_s, sample_s, metric_s (seconds; metric_s is per metric, shared by its repeats)
shape      n_train, n_test, n_samples, seq_len, n_features
provenance tsbench_version, torch_version, numpy_version, python_version, git_sha, device, host, timestamp
compute    device_type ('cpu' | 'cuda' | 'mps'), precision ('float32' | 'amp' | 'float32-tf32'); part of the
           cell identity, so tables can refuse to mix them (``None`` in records written before they existed)
           deterministic (True for cells run with ``--deterministic``; part of their identity)
cost       n_parameters (the fitted generator's :meth:`~tsbench.generator.Generator.n_parameters`),
           peak_memory_mb (over the fit: :mod:`tsbench.peak_memory` — CUDA: torch's peak allocated memory;
           CPU: the worker process's peak resident memory); ``None`` where unknown or in older records
           batched_seeds (``tsbench run --batch-seeds``: the number of seeds trained together as one batched model
           with this cell — its ``fit_s`` is the group's fit time divided by that number, its ``peak_memory_mb``
           the group's; ``None`` for a cell trained alone and in records written before it existed)

``role`` is what the generator row is — ``'model'``, ``'calibration'`` or ``'corruption'``, its class's declared
``role`` (:data:`tsbench.generator.ROLES`) — and decides which rows the report ranks (``None`` in records written
before it existed: the report then falls back to :data:`tsbench.report.aggregate.CALIBRATION`).
``dataset`` and ``generator`` are display names (``timegan[hidden_dim=48]``); ``protocol`` is
``name@version`` (e.g. ``tsbench@2``); ``metric`` is the metric's display name, suffixed ``.output`` for
outputs other than ``value``. A failed cell contributes one row with ``metric = None``, status and error.
Tables (:mod:`tsbench.report`) are pure functions of these records.
"""
from __future__ import annotations

import json

COLUMNS = [
    "cell_id", "dataset", "generator", "generator_name", "role", "seed", "preset", "protocol", "split",
    "metric", "metric_name", "metric_version", "output", "higher_is_better", "repeat", "value", "metric_params",
    "status", "error",
    "fit_s", "sample_s", "metric_s",
    "n_train", "n_test", "n_samples", "seq_len", "n_features",
    "tsbench_version", "torch_version", "numpy_version", "python_version", "git_sha", "device", "host",
    "timestamp", "device_type", "precision", "deterministic", "n_parameters", "peak_memory_mb", "batched_seeds",
]

#: columns that differ between two identical runs (timings, memory, when, where, which commit): what a
#: reproducibility comparison of records leaves out
VOLATILE_COLUMNS = ("fit_s", "sample_s", "metric_s", "peak_memory_mb", "timestamp", "git_sha", "device", "host")


def params_json(params: dict | None) -> str | None:
    """The ``metric_params`` value: ``params`` (runtime-only entries already dropped by the caller, see
    :func:`tsbench.generator.identity_params`) as compact JSON with sorted keys."""
    if params is None:
        return None
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def metric_column(display: str, output: str) -> str:
    """Record ``metric`` value for one output of a metric."""
    return display if output == "value" else f"{display}.{output}"
