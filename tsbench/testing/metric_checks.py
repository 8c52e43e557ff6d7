"""Conformance checks for :class:`tsbench.metric.Metric` (see :func:`check_metric`).

Toy inputs: ``real_train`` and ``real_test`` are sine-like windows, ``synthetic`` a perturbed version of
them (so the metric has something to measure). The reference value (seed 0) is computed once per metric.
"""
from __future__ import annotations

import tempfile

import numpy as np

from ._common import (Context, check_get_set_params, check_init_no_validation, check_init_stores_params,
                      check_metadata_common)
from ._core import fail
from ._data import toy_windows


def _data(ctx: Context):
    def compute():
        s = ctx.settings
        train = toy_windows(s.n_windows, s.seq_len, s.n_features, seed=s.seed)
        test = toy_windows(max(8, s.n_windows // 2), s.seq_len, s.n_features, seed=s.seed + 1)
        rng = np.random.default_rng(s.seed + 2)
        synthetic = toy_windows(s.n_windows, s.seq_len, s.n_features, seed=s.seed + 3)
        synthetic = np.clip(synthetic + 0.1 * rng.standard_normal(synthetic.shape), 0, 1).astype(np.float32)
        return train, test, synthetic
    return tuple(a.copy() for a in ctx.once("toy data", compute))  # copies: mutation cannot leak across checks


def _reference(ctx: Context):
    """``(result, inputs_unchanged)`` of ``compute(..., seed=0)`` on the toy data."""
    def compute():
        arrays = _data(ctx)
        copies = [a.copy() for a in arrays]
        result = ctx.make().compute(*arrays, seed=0)
        return result, all(np.array_equal(a, c) for a, c in zip(arrays, copies))
    return ctx.once("reference value", compute)


def check_metadata(ctx: Context) -> None:
    """``name``, ``card``, ``version``, ``presets``, ``known_failures`` are valid; ``outputs`` is a non-empty
    dict mapping output names to a direction: True (higher is better), False or None. The main output is
    named ``"value"``; a metric without one (e.g. a plot-only metric reporting descriptive numbers) is allowed."""
    problems = check_metadata_common(ctx, list(METRIC_CHECKS))
    outputs = getattr(ctx.cls, "outputs", None)
    if not isinstance(outputs, dict) or not outputs:
        problems.append(f"outputs must be a non-empty dict {{name: direction}}, got {outputs!r}")
    else:
        for key, direction in outputs.items():
            if not isinstance(key, str) or not key:
                problems.append(f"output name {key!r} must be a non-empty string")
            if direction not in (True, False, None):
                problems.append(f"outputs[{key!r}] must be True, False or None (direction), got {direction!r}")
    if problems:
        fail("; ".join(problems))


def check_compute_output(ctx: Context) -> str:
    """``compute`` returns ``{output: [float per repeat]}``: only declared outputs, ``value`` whenever declared,
    finite floats, the same number for every output: ``n_repeats()`` of them, or one when the repeats would
    be identical (e.g. a subset size covering the whole toy data)."""
    result, _ = _reference(ctx)
    if not isinstance(result, dict):
        fail(f"compute returned {type(result).__name__}, expected a dict {{output: [values]}}")
    declared = set(ctx.cls.outputs)
    if not result or ("value" in declared and "value" not in result):
        fail(f"compute returned outputs {sorted(result)} without its main output 'value'")
    undeclared = sorted(set(result) - declared)
    if undeclared:
        fail(f"compute returned undeclared output(s) {undeclared}; add them to {ctx.cls.__name__}.outputs")
    expected = ctx.make().n_repeats()
    lengths = {key: len(values) for key, values in result.items()}
    repeats = next(iter(lengths.values()))
    if repeats not in (1, expected) or len(set(lengths.values())) != 1:
        fail(f"outputs have {lengths} values; expected one per repeat ({expected}, or 1 when the repeats "
             "would be identical) for every output")
    for key, values in result.items():
        if not all(isinstance(v, float) and np.isfinite(v) for v in values):
            fail(f"output {key!r} has non-finite or non-float values {values}")
    return ", ".join(f"{k}={np.mean(v):.4g}" for k, v in result.items()) + f" ({repeats} repeats)"


def check_no_input_mutation(ctx: Context) -> None:
    """``compute`` does not modify ``real_train``, ``real_test`` or ``synthetic``."""
    _, unchanged = _reference(ctx)
    if not unchanged:
        fail("compute modified an input array in place; work on copies")


def check_determinism(ctx: Context) -> None:
    """Same seed → identical values (also when writing artefacts into a folder)."""
    result, _ = _reference(ctx)
    with tempfile.TemporaryDirectory(prefix="tsbench-check-") as tmp:
        again = ctx.make().compute(*_data(ctx), seed=0, artefact_dir=tmp)
    if again != result:
        fail(f"two compute(..., seed=0) calls differ: {result} vs {again}; derive all randomness from the seed")


def check_bad_input(ctx: Context) -> None:
    """Mismatched seq_len / n_features, NaN synthetic and 2-D synthetic → ``ValueError``."""
    train, test, synthetic = _data(ctx)
    nan = synthetic.copy()
    nan[0, 0, 0] = np.nan
    cases = {"synthetic with a different seq_len": (train, test, synthetic[:, :-1]),
             "synthetic with a different n_features": (train, test, synthetic[:, :, :1]),
             "real_test with a different n_features": (train, test[:, :, :1], synthetic),
             "synthetic with NaN": (train, test, nan),
             "2-D synthetic": (train, test, synthetic[0])}
    for case, arrays in cases.items():
        try:
            ctx.make().compute(*arrays, seed=0)
        except ValueError as exc:
            if len(str(exc)) < 20:
                fail(f"{case}: ValueError with an unclear message {str(exc)!r}")
            continue
        except Exception as exc:
            fail(f"{case}: raised {type(exc).__name__}: {exc}; expected a ValueError")
        fail(f"{case}: compute accepted it; expected a ValueError")


METRIC_CHECKS = {
    "check_metadata": check_metadata,
    "check_init_stores_params": check_init_stores_params,
    "check_init_no_validation": check_init_no_validation,
    "check_get_set_params": check_get_set_params,
    "check_bad_input": check_bad_input,
    "check_compute_output": check_compute_output,
    "check_no_input_mutation": check_no_input_mutation,
    "check_determinism": check_determinism,
}

__all__ = ["METRIC_CHECKS"]
