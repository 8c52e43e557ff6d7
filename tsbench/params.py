"""Parameters checked before anything runs, from one declaration per component.

A generator, metric or dataset declares its parameters once: the constructor's annotations give their types
(``int``, ``float``, ``bool``, ``str``, optionally ``| None``), and an optional class attribute
``parameter_constraints`` narrows them — :class:`Interval` for numbers, a tuple of allowed values for choices
(the scikit-learn ``_parameter_constraints`` idea, kept small). Constraints are merged along the class's MRO,
so a base class can declare shared ones (e.g. ``repeats``). :func:`check_params` raises an
:class:`~tsbench.errors.InputError` naming the parameter; the runner calls it for every display name of a
grid before the first cell starts, so ``gan[iterations=abc]`` or ``gan[lr=-1]`` is one line and exit 2, with
nothing written. Plugins get the same check from the same declaration.

>>> class Toy:
...     parameter_constraints = {"lr": Interval(0, None, closed="neither")}
...     def __init__(self, *, iterations: int = 10, lr: float = 1e-3): ...
>>> check_params(Toy, {"iterations": 5, "lr": 0.1}, what="generator toy")
>>> check_params(Toy, {"iterations": "abc"}, what="generator toy")
Traceback (most recent call last):
...
tsbench.errors.InputError: generator toy parameter iterations: expected an integer, got 'abc'. pass iterations=<an integer>
"""
from __future__ import annotations

import inspect
import math
import numbers
import typing
from dataclasses import dataclass
from typing import Any

from .errors import InputError

_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


@dataclass(frozen=True)
class Interval:
    """``low ≤ x ≤ high`` (``None``: unbounded); ``closed`` in ``"both"``, ``"left"``, ``"right"``, ``"neither"``."""

    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def contains(self, x: float) -> bool:
        low_ok = self.low is None or (x >= self.low if self.closed in ("both", "left") else x > self.low)
        high_ok = self.high is None or (x <= self.high if self.closed in ("both", "right") else x < self.high)
        return low_ok and high_ok

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'≥' if self.closed in ('both', 'left') else '>'} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'≤' if self.closed in ('both', 'right') else '<'} {self.high:g}")
        return " and ".join(parts)


def constraints_of(cls: type) -> dict[str, Any]:
    """``parameter_constraints`` merged along the MRO (subclasses override their bases)."""
    merged: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        merged.update(vars(klass).get("parameter_constraints", {}) or {})
    return merged


def annotated_types(cls: type) -> dict[str, tuple[type, bool]]:
    """``name → (type, accepts None)`` for constructor parameters annotated with int, float, bool or str."""
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # unresolvable annotations: no type checks, the constraints still apply
        return {}
    out = {}
    for name in inspect.signature(cls.__init__).parameters:
        hint = hints.get(name)
        if hint is None:
            continue
        args = typing.get_args(hint)
        optional = type(None) in args
        base = [a for a in args if a is not type(None)] if args else [hint]
        if len(base) == 1 and base[0] in _TYPE_WORDS:
            out[name] = (base[0], optional)
    return out


def _type_error(kind: type, value: Any) -> bool:
    if kind is bool:
        return not isinstance(value, bool)
    if kind is int:
        return isinstance(value, bool) or not isinstance(value, numbers.Integral)
    if kind is float:
        return isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value))
    return not isinstance(value, kind)


def check_params(cls: type, params: dict[str, Any], *, what: str) -> None:
    """Raise :class:`InputError` for the first parameter in ``params`` that breaks ``cls``'s declaration."""
    types = annotated_types(cls)
    constraints = constraints_of(cls)
    for name, value in params.items():
        kind, optional = types.get(name, (None, True))
        rule = constraints.get(name)
        label = f"{what} parameter {name}"
        if value is None:
            if kind is not None and not optional:
                raise InputError(label, expected=_TYPE_WORDS[kind], got="none",
                                 fix=f"pass {name}=<{_TYPE_WORDS[kind]}> or leave it unset")
            continue
        if kind is not None and _type_error(kind, value):
            raise InputError(label, expected=_TYPE_WORDS[kind], got=repr(value),
                             fix=f"pass {name}=<{_TYPE_WORDS[kind]}>")
        if isinstance(rule, Interval):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not rule.contains(float(value)):
                noun = "an integer" if kind is int else "a number"
                raise InputError(label, expected=f"{noun} {rule.describe()}", got=repr(value),
                                 fix=f"pass {name}=<{noun} {rule.describe()}>")
        elif isinstance(rule, tuple) and value not in rule:
            choices = ", ".join(repr(c) for c in rule)
            raise InputError(label, expected=f"one of {choices}", got=repr(value), fix=f"pass {name}={rule[0]!r}")


POSITIVE = Interval(1, None)  # an integer count of at least one
NON_NEGATIVE = Interval(0, None)
STRICTLY_POSITIVE = Interval(0, None, closed="neither")
PROBABILITY_BELOW_ONE = Interval(0, 1, closed="left")

__all__ = ["Interval", "check_params", "constraints_of", "annotated_types", "POSITIVE", "NON_NEGATIVE",
           "STRICTLY_POSITIVE", "PROBABILITY_BELOW_ONE"]
