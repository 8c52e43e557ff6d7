"""The public conformance suite: checks every generator and metric — built-in or third-party — must pass
(the counterpart of scikit-learn's ``check_estimator`` / ``parametrize_with_checks``).

Run them directly::

    >>> from tsbench.testing import check_generator
    >>> from tsbench.baselines.calibration import Gaussian
    >>> results = check_generator(Gaussian)
    >>> all(r.ok for r in results), results[0].check
    (True, 'check_metadata')

from pytest (one test per check; known failures become strict xfails)::

    from tsbench.testing import parametrize_generator_checks

    @parametrize_generator_checks([MyGenerator])
    def test_tsbench_conformance(check):
        check()

or from the command line: ``tsbench check my_package.module:MyGenerator``.

The checks use the component's ``smoke`` preset on tiny sine-like data (64 windows × 12 steps ×
3 features), with ``device="cpu"`` when the component has a ``device`` parameter. A component may
declare ``known_failures = {"check_name": "reason"}``: such a check is still run and reported as XFAIL
with the reason; if it passes it is reported as XPASS (not ok) so stale declarations are noticed.
Check names and what they verify: :data:`GENERATOR_CHECKS`, :data:`METRIC_CHECKS`.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from ._core import (FAIL, PASS, XFAIL, XPASS, Check, CheckFailure, CheckResult, CheckSettings, parametrize,
                    run_checks)

__all__ = ["CheckResult", "CheckSettings", "CheckFailure", "Check", "PASS", "FAIL", "XFAIL", "XPASS",
           "check_generator", "check_metric", "iter_generator_checks", "iter_metric_checks",
           "parametrize_generator_checks", "parametrize_metric_checks", "GENERATOR_CHECKS", "METRIC_CHECKS"]


def __getattr__(name: str):  # the check tables, imported lazily
    if name == "GENERATOR_CHECKS":
        from .generator_checks import GENERATOR_CHECKS

        return GENERATOR_CHECKS
    if name == "METRIC_CHECKS":
        from .metric_checks import METRIC_CHECKS

        return METRIC_CHECKS
    raise AttributeError(name)


def _iter(target: Any, settings, kind: str) -> Iterator[Check]:
    from ._common import Context

    if kind == "generator":
        from ..generator import Generator as base
        from .generator_checks import GENERATOR_CHECKS as table
    else:
        from ..metric import Metric as base
        from .metric_checks import METRIC_CHECKS as table
    ctx = Context(target, base, CheckSettings.coerce(settings))
    known = getattr(ctx.cls, "known_failures", {})
    known = known if isinstance(known, dict) else {}
    for name, func in table.items():
        yield Check(ctx.label, name, func, ctx, xfail_reason=known.get(name))


def iter_generator_checks(generator: Any, *, settings: CheckSettings | dict | None = None) -> Iterator[Check]:
    """The checks for ``generator`` (a ``Generator`` subclass, an instance whose parameters are used as
    they are, or a registered name), each bound to one shared context (the model is fitted once)."""
    return _iter(generator, settings, "generator")


def iter_metric_checks(metric: Any, *, settings: CheckSettings | dict | None = None) -> Iterator[Check]:
    """The checks for ``metric`` (a ``Metric`` subclass, instance or registered name)."""
    return _iter(metric, settings, "metric")


def check_generator(generator: Any, *, settings: CheckSettings | dict | None = None) -> list[CheckResult]:
    """Run every generator check; returns one :class:`CheckResult` per check (never raises for a failed
    check; a bad ``generator`` argument raises :class:`~tsbench.errors.InputError`)."""
    return run_checks(iter_generator_checks(generator, settings=settings))


def check_metric(metric: Any, *, settings: CheckSettings | dict | None = None) -> list[CheckResult]:
    """Run every metric check; returns one :class:`CheckResult` per check."""
    return run_checks(iter_metric_checks(metric, settings=settings))


def parametrize_generator_checks(generators: Iterable[Any], *, settings: CheckSettings | dict | None = None):
    """A ``pytest.mark.parametrize("check", ...)`` decorator with one test per (generator, check)."""
    return parametrize(check for g in generators for check in iter_generator_checks(g, settings=settings))


def parametrize_metric_checks(metrics: Iterable[Any], *, settings: CheckSettings | dict | None = None):
    """A ``pytest.mark.parametrize("check", ...)`` decorator with one test per (metric, check)."""
    return parametrize(check for m in metrics for check in iter_metric_checks(m, settings=settings))
