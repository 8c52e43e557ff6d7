"""Machinery shared by the generator and metric checks: settings, results, known failures, pytest glue."""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ..errors import InputError

PASS, FAIL, XFAIL, XPASS = "PASS", "FAIL", "XFAIL", "XPASS"


class CheckFailure(AssertionError):
    """A conformance check found a contract violation (raised instead of bare ``assert``)."""


def fail(message: str) -> None:
    raise CheckFailure(message)


@dataclass(frozen=True)
class CheckSettings:
    """How the checks exercise a component.

    ``preset`` selects the component's ``presets[preset]`` parameters (``smoke`` by default: seconds);
    ``params`` override them. The toy data are ``n_windows`` sine-like windows of ``seq_len`` steps and
    ``n_features`` features in [0, 1]. ``sample_sizes`` are the ``n`` passed to ``sample``.
    ``registered_as`` (optional) is the registry name the component must report as its ``name``.
    """

    preset: str = "smoke"
    params: Mapping[str, Any] = field(default_factory=dict)
    n_windows: int = 64
    seq_len: int = 12
    n_features: int = 3
    sample_sizes: tuple[int, ...] = (1, 7, 33)
    seed: int = 0
    registered_as: str | None = None

    @classmethod
    def coerce(cls, settings: "CheckSettings | Mapping | None") -> "CheckSettings":
        if settings is None:
            return cls()
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, Mapping):
            unknown = sorted(set(settings) - set(cls.__dataclass_fields__))
            if unknown:
                raise InputError("check settings", expected=f"keys among {sorted(cls.__dataclass_fields__)}",
                                 got=", ".join(unknown), fix="see tsbench.testing.CheckSettings")
            return cls(**settings)
        raise InputError("check settings", expected="None, a dict or a CheckSettings",
                         got=type(settings).__name__)


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: ``status`` is PASS, FAIL, XFAIL (declared known failure that failed) or
    XPASS (declared known failure that passed: the declaration is stale, counted as not ok)."""

    component: str
    check: str
    status: str
    message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in (PASS, XFAIL)

    def line(self) -> str:
        text = f"{self.status:<5} {self.component}::{self.check}"
        return f"{text}: {self.message}" if self.message else text


class Check:
    """One check bound to a component's shared context. Calling it raises on failure (for pytest);
    :meth:`run` returns a :class:`CheckResult` honouring the declared known failures."""

    def __init__(self, component: str, name: str, func: Callable[[Any], str | None], context: Any,
                 xfail_reason: str | None = None):
        self.component, self.name, self.func, self.context = component, name, func, context
        self.xfail_reason = xfail_reason

    @property
    def id(self) -> str:
        return f"{self.component}-{self.name}"

    def __call__(self) -> str | None:
        return self.func(self.context)

    def __repr__(self) -> str:
        return f"<Check {self.id}>"

    def run(self) -> CheckResult:
        start = time.perf_counter()
        try:
            note = self()
        except Exception as exc:  # any exception is a failed check, reported in one line
            seconds = time.perf_counter() - start
            message = _describe(exc)
            if self.xfail_reason:
                return CheckResult(self.component, self.name, XFAIL, f"{self.xfail_reason} ({message})", seconds)
            return CheckResult(self.component, self.name, FAIL, message, seconds)
        seconds = time.perf_counter() - start
        if self.xfail_reason:
            return CheckResult(self.component, self.name, XPASS,
                               f"declared as a known failure ({self.xfail_reason}) but passed: remove it from "
                               "known_failures", seconds)
        return CheckResult(self.component, self.name, PASS, note or "", seconds)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CheckFailure):
        return str(exc)
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_checks(checks: Iterable[Check]) -> list[CheckResult]:
    return [check.run() for check in checks]


def parametrize(checks: Iterable[Check]):
    """``pytest.mark.parametrize("check", ...)`` with one test per check; known failures become
    strict xfails (an unexpected pass fails the test)."""
    import pytest

    params = []
    for check in checks:
        marks = [pytest.mark.xfail(reason=check.xfail_reason, strict=True)] if check.xfail_reason else []
        params.append(pytest.param(check, id=check.id, marks=marks))
    return pytest.mark.parametrize("check", params)
