"""Incomplete components fail when instantiated, naming the method they lack.

A component implements each required hook either directly (``Generator._fit``) or by overriding the public
method that calls it (``Generator.fit``), so subclasses that replace ``fit``/``sample``/``compute`` whole keep
working. Abstract intermediate bases can still be defined; only instantiating them fails.
"""
from __future__ import annotations

from .errors import TsbenchError


class IncompleteComponentError(TsbenchError, TypeError):
    """A generator or metric class that does not implement a required method."""


def missing_hooks(cls: type, base: type, hooks: tuple[tuple[str, str], ...]) -> list[str]:
    """The hooks of ``(public, hook)`` pairs that ``cls`` implements neither as ``hook`` nor via ``public``."""
    return [hook for public, hook in hooks
            if getattr(cls, public) is getattr(base, public) and getattr(cls, hook) is getattr(base, hook)]


def check_complete(cls: type, base: type, hooks: tuple[tuple[str, str], ...]) -> None:
    """Raise :class:`IncompleteComponentError` naming every hook ``cls`` lacks."""
    missing = missing_hooks(cls, base, hooks)
    if missing:
        wanted = ", ".join(f"{hook}()" for _, hook in hooks)
        raise IncompleteComponentError(
            f"{cls.__module__}.{cls.__qualname__} cannot be instantiated: it does not implement "
            f"{' and '.join(f'{m}()' for m in missing)}. A tsbench {base.__name__} implements {wanted} "
            "(see docs/plugins.md)")
