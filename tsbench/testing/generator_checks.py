"""Conformance checks for :class:`tsbench.generator.Generator` (see :func:`check_generator`).

Every check takes the shared :class:`~tsbench.testing._common.Context` and raises
:class:`~tsbench.testing._core.CheckFailure` (an ``AssertionError``) on a contract violation. The fitted
model used by several checks is fitted once per component, on toy sine windows with the component's
``smoke`` preset.
"""
from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import NotFittedError
from ._common import (Context, check_get_set_params, check_init_no_validation, check_init_stores_params,
                      check_metadata_common)
from ._core import fail
from ._data import toy_windows

FIT_SEED = 0


# helpers -----------------------------------------------------------------------------------------
def _data(ctx: Context, n_features: int | None = None):
    s = ctx.settings
    n_features = s.n_features if n_features is None else n_features
    key = f"data{n_features}"
    if key not in ctx.cache:
        ctx.cache[key] = (True, (toy_windows(s.n_windows, s.seq_len, n_features, seed=s.seed),
                                 toy_windows(max(8, s.n_windows // 2), s.seq_len, n_features, seed=s.seed + 1)))
    X, X_test = ctx.cache[key][1]
    return X.copy(), X_test.copy()  # copies: a component that mutates its input cannot affect other checks


def _fit(ctx: Context, estimator, X, X_test, *, seed: int = FIT_SEED, callback=None, return_instance=True,
         checkpoint=None):
    """Fit ``estimator``; returns the instance itself (only :func:`check_fit` looks at fit's return value,
    so one violation does not cascade into every check)."""
    kwargs = {"X_test": X_test} if getattr(ctx.cls, "needs_held_out", False) else {}
    if callback is not None:
        kwargs["callback"] = callback
    if checkpoint is not None:
        kwargs["checkpoint"] = checkpoint
    returned = estimator.fit(X, seed=seed, **kwargs)
    return estimator if return_instance else returned


def _global_rng_state():
    _, key, pos, has_gauss, cached = np.random.get_state()
    state = {"numpy": (key.copy(), pos, has_gauss, cached), "random": random.getstate()}
    if "torch" in sys.modules:
        state["torch"] = sys.modules["torch"].random.get_rng_state().clone()
    return state


def _rng_changes(before: dict, after: dict) -> list[str]:
    changed = []
    if not np.array_equal(before["numpy"][0], after["numpy"][0]) or before["numpy"][1:] != after["numpy"][1:]:
        changed.append("numpy's global RNG (np.random.*)")
    if before["random"] != after["random"]:
        changed.append("Python's random module")
    if "torch" in before and "torch" in after and not bool((before["torch"] == after["torch"]).all()):
        changed.append("torch's default CPU generator (torch.manual_seed / unseeded torch.rand / dropout)")
    return changed


def _fitted(ctx: Context):
    """The shared model fitted on the default toy data (records global RNG use during fit)."""
    def compute():
        X, X_test = _data(ctx)
        estimator = ctx.make()
        before = _global_rng_state()
        _fit(ctx, estimator, X, X_test)
        ctx.cache["fit_rng_changes"] = (True, _rng_changes(before, _global_rng_state()))
        return estimator
    return ctx.once("fitted model", compute)


def _snapshot(estimator) -> dict:
    """Copies of the learned state (arrays and torch ``state_dict`` s) for before/after comparisons."""
    out = {}
    for key, value in vars(estimator).items():
        if not key.endswith("_") or key.startswith("_") or key == "history_":
            continue
        if isinstance(value, np.ndarray):
            out[key] = value.copy()
        elif hasattr(value, "state_dict"):
            out[key] = {k: v.detach().cpu().clone() for k, v in value.state_dict().items()}
        elif isinstance(value, (int, float, str, bool, tuple, type(None))):
            out[key] = value
    return out


def _snapshot_diff(a: dict, b: dict) -> list[str]:
    diff = sorted(set(a) ^ set(b))
    for key in set(a) & set(b):
        x, y = a[key], b[key]
        if isinstance(x, dict):
            if x.keys() != y.keys() or any(not bool((x[k] == y[k]).all()) for k in x):
                diff.append(key)
        elif isinstance(x, np.ndarray):
            if not np.array_equal(x, y, equal_nan=True):
                diff.append(key)
        elif x != y:
            diff.append(key)
    return diff


def _params_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] is b[k] or _eq(a[k], b[k]) for k in a)


def _eq(x, y) -> bool:
    try:
        return bool(np.all(x == y))
    except Exception:
        return False


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Identical samples (NaNs in the same places count as equal: finiteness is checked elsewhere)."""
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _assert_samples(samples, n: int, seq_len: int, n_features: int, what: str) -> None:
    if not isinstance(samples, np.ndarray):
        fail(f"{what}: sample returned {type(samples).__name__}, expected a numpy.ndarray")
    if samples.shape != (n, seq_len, n_features):
        fail(f"{what}: sample({n}) returned shape {samples.shape}, expected {(n, seq_len, n_features)}")
    if samples.dtype != np.float32:
        fail(f"{what}: sample returned dtype {samples.dtype}, expected float32")
    if not np.isfinite(samples).all():
        fail(f"{what}: sample returned {(~np.isfinite(samples)).sum()} non-finite values")


def _assert_in_range(samples: np.ndarray, what: str) -> None:
    """Samples lie in [0, 1], the range of the (min-max scaled) data."""
    low, high = float(np.nanmin(samples)), float(np.nanmax(samples))
    if low < 0.0 or high > 1.0:
        outside = int(((samples < 0) | (samples > 1)).sum())
        fail(f"{what}: {outside} sampled values outside [0, 1] (min {low:.4g}, max {high:.4g}); the data are "
             "scaled to [0, 1], so squash the output (e.g. sigmoid) or clip it")


def _holds_networks(estimator) -> bool:
    """Whether the learned state includes torch modules (a model trained from random initial weights)."""
    torch = sys.modules.get("torch")
    return torch is not None and any(isinstance(v, torch.nn.Module) for k, v in vars(estimator).items()
                                     if k.endswith("_") and not k.startswith("_"))


# checks ------------------------------------------------------------------------------------------
def check_metadata(ctx: Context) -> None:
    """``name``, ``card``, ``version``, ``presets`` (keys ⊆ smoke/quick/paper, valid parameters),
    ``known_failures`` (known check names, with reasons), ``role`` and ``needs_held_out`` are valid."""
    problems = check_metadata_common(ctx, list(GENERATOR_CHECKS))
    problems += _role_problems(ctx.cls)
    if problems:
        fail("; ".join(problems))


def _role_problems(cls) -> list[str]:
    """``role`` is ``"model"`` unless the class is a built-in row; ``needs_held_out`` only for such rows."""
    from ..generator import ROLES
    from ..registry import BUILT_IN, generators

    role, held_out = getattr(cls, "role", "model"), getattr(cls, "needs_held_out", False)
    if role not in ROLES:
        return [f"role must be one of {', '.join(ROLES)}, got {role!r}"]
    problems = [] if isinstance(held_out, bool) else [f"needs_held_out must be a bool, got {held_out!r}"]
    if role != "model" and generators.origin_of(cls) != BUILT_IN:
        problems.append(f"role {role!r} is reserved for tsbench's built-in rows; a plugin keeps role = 'model'")
    elif role == "model" and held_out:
        problems.append("needs_held_out = True on a model: held-out windows are only given to built-in "
                        "calibration and corruption rows; remove it")
    return problems


def check_not_fitted(ctx: Context) -> None:
    """``sample`` before ``fit`` raises ``NotFittedError``."""
    estimator = ctx.make()
    try:
        estimator.sample(3, seed=0)
    except NotFittedError:
        return
    except Exception as exc:
        fail(f"sample before fit raised {type(exc).__name__}: {exc}; expected tsbench.errors.NotFittedError")
    fail("sample before fit did not raise; expected tsbench.errors.NotFittedError")


def check_fit(ctx: Context) -> str:
    """``fit`` returns ``self``, leaves ``X`` untouched, keeps its parameters, adds only learned attributes
    (ending in ``_``) and reports progress through the callback."""
    X, X_test = _data(ctx)
    X_copy, X_test_copy = X.copy(), X_test.copy()
    estimator = ctx.make()
    params_before = estimator.get_params(deep=False)
    attrs_before = set(vars(estimator))
    calls: list[tuple] = []
    returned = _fit(ctx, estimator, X, X_test, return_instance=False, callback=lambda step, total, losses: calls.append(
        (step, total, losses)))
    if returned is not estimator:
        fail(f"fit returned {type(returned).__name__} object, expected self")
    if not np.array_equal(X, X_copy) or not np.array_equal(X_test, X_test_copy):
        fail("fit modified its input array in place; work on a copy")
    if not _params_equal(params_before, estimator.get_params(deep=False)):
        fail("fit changed the estimator's parameters; store derived values in attributes ending in '_'")
    new_public = sorted(k for k in set(vars(estimator)) - attrs_before if not k.startswith("_") and not k.endswith("_"))
    if new_public:
        fail(f"fit added public attribute(s) {new_public}; learned state must end in '_'")
    if not calls:
        fail("fit never called the progress callback; call callback(step, total, losses) during training")
    step, total, losses = calls[-1]
    if not (isinstance(step, (int, np.integer)) and isinstance(total, (int, np.integer)) and isinstance(losses, dict)):
        fail(f"callback called with ({type(step).__name__}, {type(total).__name__}, {type(losses).__name__}); "
             "expected (int step, int total, dict losses)")
    return f"{len(calls)} progress calls"


def check_device_audit(ctx: Context) -> str:
    """Training stays on the model's device (a CPU-runnable audit, :mod:`tsbench.testing.device_audit`): during
    the training steps of ``fit`` no tensor is created without ``device=`` and no value is read on the host
    (``.item()``, ``.cpu()``, ``.numpy()``, ``.tolist()``, ``float``/``bool`` of a tensor, boolean-mask indexing,
    ``nonzero``, …) except in logging steps (inside ``self.log`` / the progress callback, or reading the losses
    out after the step's last gradient computation, at most every other step); after ``fit`` every parameter
    and buffer of the learned modules is on the model's device. Reports host syncs per training step.
    Non-torch generators pass trivially; torch generators without a ``device`` parameter are CPU-only and only
    reported."""
    from .device_audit import audit_fit

    X, X_test = _data(ctx)
    kwargs = {"X_test": X_test} if getattr(ctx.cls, "needs_held_out", False) else {}
    audit = audit_fit(ctx.make(), X, seed=FIT_SEED, **kwargs)
    problems = audit.problems()
    if problems:
        fail("; ".join(problems) + f" [{audit.summary()}]")
    return audit.summary()


def check_global_rng(ctx: Context) -> None:
    """``fit`` and ``sample`` leave the global RNGs (numpy, random, torch) untouched: all randomness comes
    from the explicit seeds."""
    estimator = _fitted(ctx)
    changes = list(ctx.cache["fit_rng_changes"][1])
    before = _global_rng_state()
    estimator.sample(7, seed=1)
    changes += [f"{c} (in sample)" for c in _rng_changes(before, _global_rng_state()) if c not in changes]
    if changes:
        fail(f"used or reseeded global random state: {', '.join(changes)}; draw from "
             "np.random.default_rng(seed) / a seeded torch.Generator instead")


def check_sample_shapes(ctx: Context) -> None:
    """``sample(n)`` returns float32 ``(n, seq_len, n_features)``, finite, for each n in the settings."""
    estimator = _fitted(ctx)
    X, _ = _data(ctx)
    for n in ctx.settings.sample_sizes:
        _assert_samples(estimator.sample(n, seed=n), n, X.shape[1], X.shape[2], f"n={n}")


def check_sample_range(ctx: Context) -> None:
    """Every sampled value lies in [0, 1], the data range (for each n in the settings and for as many windows
    as the training set)."""
    estimator = _fitted(ctx)
    X, _ = _data(ctx)
    for n in (*ctx.settings.sample_sizes, len(X)):
        samples = np.asarray(estimator.sample(n, seed=100 + n))
        if samples.size and np.issubdtype(samples.dtype, np.number):
            _assert_in_range(samples, f"n={n}")


def check_sample_bad_n(ctx: Context) -> None:
    """``sample`` rejects n = 0, -1, 2.5 and True with a ``ValueError``."""
    estimator = _fitted(ctx)
    for n in (0, -1, 2.5, True):
        try:
            estimator.sample(n, seed=0)
        except ValueError:
            continue
        except Exception as exc:
            fail(f"sample({n!r}) raised {type(exc).__name__}: {exc}; expected a ValueError")
        fail(f"sample({n!r}) did not raise; expected a ValueError")


def check_seed_determinism(ctx: Context) -> None:
    """Same seed → identical samples (also after refitting with the same seed); different seeds differ."""
    estimator = _fitted(ctx)
    a = estimator.sample(7, seed=3)
    if not _same(a, estimator.sample(7, seed=3)):
        fail("two sample(7, seed=3) calls gave different windows; draw all randomness from the seed")
    if _same(a, estimator.sample(7, seed=4)):
        fail("sample(7, seed=3) and sample(7, seed=4) are identical; the seed must drive the randomness")
    X, X_test = _data(ctx)
    refit = _fit(ctx, ctx.make(), X, X_test)
    b = refit.sample(7, seed=3)
    if not _same(a, b):
        diff = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("nan")
        fail(f"two fits with seed={FIT_SEED} gave different samples (max |diff| {diff:.3g}); seed every random "
             "draw of fit (weights, batches, noise) from the seed")


def check_fit_seed(ctx: Context) -> str | None:
    """fit + sample with other seeds gives other samples: ``fit(seed=1)`` then ``sample(7, seed=4)`` differs
    from ``fit(seed=0)`` then ``sample(7, seed=3)``. A model that trains networks (torch modules in its learned
    state) must also depend on the fit seed alone: ``fit(seed=1)`` and ``fit(seed=0)`` sampled with the same
    seed differ. (Same seeds → identical samples: :func:`check_seed_determinism`.)"""
    estimator = _fitted(ctx)
    X, X_test = _data(ctx)
    other = _fit(ctx, ctx.make(), X, X_test, seed=FIT_SEED + 1)
    if _same(estimator.sample(7, seed=3), other.sample(7, seed=4)):
        fail(f"fit(seed={FIT_SEED}) + sample(seed=3) and fit(seed={FIT_SEED + 1}) + sample(seed=4) gave identical "
             "samples; the seeds must drive the randomness")
    if _same(estimator.sample(7, seed=3), other.sample(7, seed=3)):
        if _holds_networks(estimator):
            fail(f"fits with seed={FIT_SEED} and seed={FIT_SEED + 1} gave identical samples although the model "
                 "trains networks; initialise weights and draw batches and noise from the fit seed")
        return "the fit does not depend on its seed (no networks: a deterministic fit)"
    return None


def check_n_parameters(ctx: Context) -> str | None:
    """``n_parameters()`` of the fitted model (the leaderboard's cost column) is a non-negative int, or ``None``
    (shown as unknown); a model that trains networks counts more than zero."""
    count = _fitted(ctx).n_parameters()
    if count is None:
        return "n_parameters() is None: the cost tables show the parameter count as unknown"
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        fail(f"n_parameters() returned {count!r}; expected a non-negative int or None (override "
             "Generator.n_parameters to count your model's learned numbers)")
    if count == 0 and _holds_networks(_fitted(ctx)):
        fail("n_parameters() is 0 although the model trains networks; count their trainable parameters")
    return None


def check_sample_stateless(ctx: Context) -> None:
    """``sample`` does not change the model: a sample call in between does not alter a later one, and the
    learned state and parameters are unchanged."""
    estimator = _fitted(ctx)
    params = estimator.get_params(deep=False)
    state = _snapshot(estimator)
    a = estimator.sample(7, seed=11)
    estimator.sample(33, seed=12)
    if not _same(a, estimator.sample(7, seed=11)):
        fail("sample(7, seed=11) changed after another sample call: sampling must not change state")
    changed = _snapshot_diff(state, _snapshot(estimator))
    if changed:
        fail(f"sample changed learned state {changed}")
    if not _params_equal(params, estimator.get_params(deep=False)):
        fail("sample changed the parameters")


def check_bad_input(ctx: Context) -> None:
    """``fit`` rejects 2-D, NaN, inf, empty and object-dtype input with a ``ValueError`` whose message says
    what is wrong, and stays unfitted."""
    X, X_test = _data(ctx)
    nan, inf = X.copy(), X.copy()
    nan[0, 1, 0] = np.nan
    inf[1, 2, 0] = np.inf
    cases = {"2-D array": X[0], "NaN": nan, "inf": inf, "empty array": X[:0], "object dtype": X.astype(object)}
    for case, bad in cases.items():
        estimator = ctx.make()
        try:
            _fit(ctx, estimator, bad, X_test)
        except ValueError as exc:
            if len(str(exc)) < 20:
                fail(f"fit on {case} raised a ValueError with an unclear message {str(exc)!r}; say what was "
                     "expected, what was got and how to fix it")
        except Exception as exc:
            fail(f"fit on {case} raised {type(exc).__name__}: {exc}; expected a ValueError "
                 "(tsbench.errors.InputError)")
        else:
            fail(f"fit accepted {case} input; expected a ValueError (use tsbench.validation.check_windows)")
        try:
            estimator.sample(2, seed=0)
        except NotFittedError:
            continue
        except Exception:
            pass
        fail(f"after fit failed on {case} input the model is not reported as unfitted")


def check_n_features(ctx: Context) -> str:
    """Works with one feature and with several (the default data has ``n_features`` of them)."""
    X1, X1_test = _data(ctx, n_features=1)
    one = _fit(ctx, ctx.make(), X1, X1_test)
    _assert_samples(one.sample(5, seed=0), 5, X1.shape[1], 1, "1 feature")
    X, _ = _data(ctx)
    _assert_samples(_fitted(ctx).sample(5, seed=0), 5, X.shape[1], X.shape[2], f"{X.shape[2]} features")
    return f"1 and {X.shape[2]} features"


def check_checkpoint(ctx: Context) -> None:
    """``save`` then ``load`` into a fresh, identically parametrised instance gives identical samples."""
    estimator = _fitted(ctx)
    with tempfile.TemporaryDirectory(prefix="tsbench-check-") as tmp:
        path = Path(tmp) / "checkpoint"
        estimator.save(path)
        if not path.exists():
            fail(f"save({path}) wrote no file at the given path")
        restored = ctx.make().load(path)
    if not isinstance(restored, type(estimator)):
        fail(f"load returned {type(restored).__name__}; expected the instance itself")
    for seed in (0, 5):
        a, b = estimator.sample(9, seed=seed), restored.sample(9, seed=seed)
        if not _same(a, b):
            fail(f"samples after a save/load round trip differ (seed {seed}); save every learned array")


class _Interrupted(Exception):
    """Raised inside ``fit`` by :func:`check_resume` to stop it mid-training."""


def check_resume(ctx: Context) -> str:
    """For a generator that declares mid-fit checkpoints (``Generator.resumable()``): a fit with a
    ``TrainingCheckpoint`` (every 2 steps) interrupted at its first progress report past half of the steps
    after a save (or, without one, right after its second save), then resumed by a fresh instance from the file,
    gives samples and ``history_`` identical to an uninterrupted fit's (CPU). Other generators pass: an
    interrupted fit restarts."""
    from ..generator import TrainingCheckpoint

    if not ctx.cls.resumable():
        return "not resumable (an interrupted fit restarts)"
    reference = _fitted(ctx)
    X, X_test = _data(ctx)
    with tempfile.TemporaryDirectory(prefix="tsbench-check-") as tmp:
        checkpoint = TrainingCheckpoint(Path(tmp) / "fit.ckpt", every=2, seconds=None)

        def interrupt(step, total, losses):
            if checkpoint.saves and step >= total // 2:
                raise _Interrupted

        try:
            _fit(ctx, ctx.make(), X, X_test, callback=interrupt, checkpoint=checkpoint)
        except _Interrupted:
            pass
        else:  # no progress report after a save: stop right after the second save instead
            checkpoint.clear()
            save = checkpoint.save_file

            def save_then_stop(path, writer):
                save(path, writer)
                if checkpoint.saves >= 1:
                    raise _Interrupted

            checkpoint.save_file = save_then_stop
            try:
                _fit(ctx, ctx.make(), X, X_test, checkpoint=checkpoint)
            except _Interrupted:
                pass
            checkpoint.save_file = save
        if not checkpoint.path.exists():
            fail("resumable() but fit with a TrainingCheckpoint(every=2) saved nothing; call self.checkpoint_fit(step) "
                 "after each training step")
        resumed = _fit(ctx, ctx.make(), X, X_test, checkpoint=checkpoint)
    if not checkpoint.resumed_step:
        fail("a fit given the checkpoint of an interrupted fit did not resume from it; call self.resume_fit() in "
             "_fit once the training objects exist and start after the step it returns")
    for seed in (0, 5):
        if not _same(reference.sample(9, seed=seed), resumed.sample(9, seed=seed)):
            fail(f"samples after an interrupted and resumed fit differ from an uninterrupted fit's (seed {seed}, "
                 f"resumed after step {checkpoint.resumed_step}); save every state the rest of the fit depends "
                 "on (parameters, optimizer state, RNG states, loop counters) in _training_state")
    if [sorted(r.items()) for r in reference.history_] != [sorted(r.items()) for r in resumed.history_]:
        fail(f"history_ after a resumed fit differs from an uninterrupted fit's (resumed after step "
             f"{checkpoint.resumed_step})")
    return f"resumed after step {checkpoint.resumed_step}: identical samples and history"


def check_smoke_cell(ctx: Context) -> str:
    """End to end: fit → sample as many windows as the training set (float32 ``(n, seq_len, n_features)``,
    finite, in [0, 1]) → a metric gives finite values."""
    estimator = _fitted(ctx)
    X, X_test = _data(ctx)
    synthetic = estimator.sample(len(X), seed=1)
    _assert_samples(synthetic, len(X), X.shape[1], X.shape[2], f"n={len(X)}")
    _assert_in_range(synthetic, f"n={len(X)}")
    name, values = _score(X, X_test, synthetic)
    bad = {k: v for k, v in values.items() if not all(np.isfinite(v))}
    if bad:
        fail(f"{name} gave non-finite values {bad}")
    return f"{name}: " + ", ".join(f"{k}={np.mean(v):.4g}" for k, v in values.items())


def _score(X, X_test, synthetic) -> tuple[str, dict[str, list[float]]]:
    """MMD² from :mod:`tsbench.metrics.mmd` when available, else the gap between per-(step, feature)
    means and standard deviations of real and synthetic windows (a cheap stand-in)."""
    try:
        from ..metrics.mmd import MMD
    except ImportError:
        MMD = None
    if MMD is not None:
        metric = MMD(**MMD.presets.get("smoke", {}))
        return "mmd", metric.compute(X, X_test, synthetic, seed=0)
    gap = (np.abs(X_test.mean(0) - synthetic.mean(0)).mean() + np.abs(X_test.std(0) - synthetic.std(0)).mean())
    return "mean/std gap (tsbench.metrics.mmd not importable)", {"value": [float(gap)]}


#: check name → function, in running order (cheap checks first)
GENERATOR_CHECKS = {
    "check_metadata": check_metadata,
    "check_init_stores_params": check_init_stores_params,
    "check_init_no_validation": check_init_no_validation,
    "check_get_set_params": check_get_set_params,
    "check_not_fitted": check_not_fitted,
    "check_bad_input": check_bad_input,
    "check_fit": check_fit,
    "check_device_audit": check_device_audit,
    "check_global_rng": check_global_rng,
    "check_sample_shapes": check_sample_shapes,
    "check_sample_range": check_sample_range,
    "check_sample_bad_n": check_sample_bad_n,
    "check_seed_determinism": check_seed_determinism,
    "check_fit_seed": check_fit_seed,
    "check_sample_stateless": check_sample_stateless,
    "check_n_parameters": check_n_parameters,
    "check_n_features": check_n_features,
    "check_checkpoint": check_checkpoint,
    "check_resume": check_resume,
    "check_smoke_cell": check_smoke_cell,
}

__all__ = ["GENERATOR_CHECKS"]
