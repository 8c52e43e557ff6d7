"""Checks shared by generators and metrics: metadata, the scikit-learn ``__init__`` contract, params."""
from __future__ import annotations

import inspect
import re
from typing import Any

import numpy as np
from sklearn.base import clone

from ..card import Card
from ..errors import InputError
from ..presets import PRESETS
from ._core import CheckSettings, fail

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
#: values that must not make ``__init__``/``set_params`` raise (scikit-learn's smoke values)
_ODD_VALUES = (-1, 3.0, "helloworld", np.array([1.0, 4.0]), [1], {}, [])


class Context:
    """What every check of one component shares: the class, the parameters under test, the settings
    and lazily computed, cached results (a fitted model, a metric value) so expensive work runs once."""

    def __init__(self, target: Any, base: type, settings: CheckSettings):
        if isinstance(target, str):
            target = _from_registry(target, base)
        if isinstance(target, type):
            if not issubclass(target, base):
                raise InputError("check target", expected=f"a subclass of tsbench {base.__name__}",
                                 got=f"{target.__module__}.{target.__qualname__}",
                                 fix=f"derive your class from tsbench.{base.__module__.split('.')[-1]}."
                                     f"{base.__name__}")
            self.cls = target
            params = dict(_presets(target).get(settings.preset, {}) or {})
        elif isinstance(target, base):
            self.cls = type(target)
            params = target.get_params(deep=False)
        else:
            raise InputError("check target", expected=f"a {base.__name__} subclass, instance or registered name",
                             got=repr(target))
        names = _param_names(self.cls)
        unknown = sorted(set(settings.params) - set(names))
        if unknown:
            raise InputError(f"parameter(s) for {self.cls.__name__}", expected=f"one of: {', '.join(names) or 'none'}",
                             got=", ".join(unknown), fix=f"see {self.cls.__name__}'s docstring")
        params.update(settings.params)
        if "device" in names and "device" not in settings.params:
            params["device"] = "cpu"  # the checks' determinism contract is stated for CPU
        self.params = params
        self.settings = settings
        self.label = getattr(self.cls, "name", "") or self.cls.__name__
        self.cache: dict[str, Any] = {}

    def make(self, **overrides):
        return self.cls(**{**self.params, **overrides})

    def once(self, key: str, compute):
        """Compute ``key`` once; a failure is cached and re-raised for every check that needs it."""
        if key not in self.cache:
            try:
                self.cache[key] = (True, compute())
            except Exception as exc:
                self.cache[key] = (False, exc)
        ok, value = self.cache[key]
        if not ok:
            fail(f"could not prepare '{key}': {type(value).__name__}: {value}")
        return value


def _from_registry(name: str, base: type):
    from ..registry import generators, metrics

    registry = generators if base.__name__ == "Generator" else metrics
    return registry.get(name)


def _presets(cls) -> dict:
    presets = getattr(cls, "presets", {})
    return presets if isinstance(presets, dict) else {}


def _param_names(cls) -> list[str]:
    return list(cls._get_param_names())


# checks ------------------------------------------------------------------------------------------
def check_metadata_common(ctx: Context, check_names: list[str]) -> list[str]:
    """Problems with ``name``, ``card``, ``version``, ``presets`` and ``known_failures``."""
    cls, problems = ctx.cls, []
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"name must be a non-empty identifier-like string (letters, digits, _ . -), got {name!r}")
    elif ctx.settings.registered_as and name != ctx.settings.registered_as:
        problems.append(f"registered as {ctx.settings.registered_as!r} but its name attribute is {name!r}")
    card = getattr(cls, "card", None)
    if not isinstance(card, Card):
        problems.append(f"card must be a tsbench.card.Card, got {type(card).__name__}")
    else:
        problems.extend(card.problems())
    version = getattr(cls, "version", None)
    if not isinstance(version, str) or not version.strip():
        problems.append(f"version must be a non-empty string, got {version!r}")
    presets = getattr(cls, "presets", None)
    valid = set(_param_names(cls))
    if not isinstance(presets, dict):
        problems.append(f"presets must be a dict, got {type(presets).__name__}")
    else:
        extra = sorted(set(presets) - set(PRESETS))
        if extra:
            problems.append(f"presets has keys {extra}; allowed: {list(PRESETS)}")
        for preset, values in presets.items():
            if not isinstance(values, dict):
                problems.append(f"presets[{preset!r}] must be a dict of parameters, got {type(values).__name__}")
                continue
            unknown = sorted(set(values) - valid)
            if unknown:
                problems.append(f"presets[{preset!r}] sets unknown parameter(s) {unknown}; "
                                f"__init__ accepts {sorted(valid)}")
    known = getattr(cls, "known_failures", None)
    if not isinstance(known, dict):
        problems.append(f"known_failures must be a dict {{check_name: reason}}, got {type(known).__name__}")
    else:
        for key, reason in known.items():
            if key not in check_names:
                problems.append(f"known_failures names unknown check {key!r}; checks are {check_names}")
            if not isinstance(reason, str) or not reason.strip():
                problems.append(f"known_failures[{key!r}] needs a reason (non-empty string)")
    return problems


def check_init_stores_params(ctx: Context) -> None:
    """``__init__`` stores every keyword parameter unchanged and sets nothing else (scikit-learn contract)."""
    cls = ctx.cls
    init = cls.__init__
    parameters = {} if init is object.__init__ else inspect.signature(init).parameters
    for pname, param in parameters.items():
        if pname == "self":
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            fail(f"{cls.__name__}.__init__ takes *{pname}; declare every parameter explicitly as a keyword")
        if param.default is inspect.Parameter.empty:
            fail(f"{cls.__name__}.__init__ parameter {pname!r} has no default; every parameter needs one")
    try:
        default = cls()
    except Exception as exc:
        fail(f"{cls.__name__}() with default parameters raised {type(exc).__name__}: {exc}")
    for estimator, passed in ((default, {}), (ctx.make(), ctx.params)):
        names = set(_param_names(cls))
        missing = sorted(n for n in names if n not in vars(estimator))
        if missing:
            fail(f"__init__ does not store parameter(s) {missing} as attributes of the same name")
        extra = sorted(k for k in vars(estimator) if k not in names and not k.startswith("_"))
        if extra:
            fail(f"__init__ sets attribute(s) {extra} besides its parameters; compute them in fit "
                 "(learned state ends in '_')")
        for key, value in passed.items():
            if getattr(estimator, key) is not value:
                fail(f"__init__ changed parameter {key!r}: passed {value!r}, stored {getattr(estimator, key)!r}; "
                     "store it unchanged and validate in fit")


def check_init_no_validation(ctx: Context) -> None:
    """``__init__`` and ``set_params`` accept any value without raising: validation belongs in ``fit``."""
    names = _param_names(ctx.cls)
    for value in _ODD_VALUES:
        odd = {key: value for key in names}
        try:
            estimator = ctx.cls(**odd)
        except Exception as exc:
            fail(f"__init__ raised {type(exc).__name__} for parameter value {value!r}: {exc}; "
                 "validate parameters in fit, not in __init__")
        try:
            estimator.set_params(**odd)
        except Exception as exc:
            fail(f"set_params raised {type(exc).__name__} for value {value!r}: {exc}")


def check_get_set_params(ctx: Context) -> None:
    """``get_params``/``set_params``/``clone`` round trip."""
    estimator = ctx.make()
    params = estimator.get_params(deep=False)
    if set(params) != set(_param_names(ctx.cls)):
        fail(f"get_params keys {sorted(params)} differ from __init__ parameters {sorted(_param_names(ctx.cls))}")
    fresh = ctx.cls()
    returned = fresh.set_params(**params)
    if returned is not fresh:
        fail("set_params must return self")
    again = fresh.get_params(deep=False)
    for key, value in params.items():
        if again[key] is not value:
            fail(f"set_params/get_params round trip changed {key!r}: {value!r} → {again[key]!r}")
    cloned = clone(estimator).get_params(deep=False)
    for key, value in params.items():
        if not _same(cloned[key], value):
            fail(f"clone changed parameter {key!r}: {value!r} → {cloned[key]!r}")


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    try:
        return bool(a == b)
    except Exception:
        return a is b
