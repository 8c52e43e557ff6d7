"""One registry mechanism for generators, metrics and datasets.

Built-ins are registered lazily as ``"module:Class"`` strings (see :mod:`tsbench.builtins`), so listing
them imports nothing heavy (no torch). Third-party plugins are discovered through the entry-point groups
``tsbench.generators``, ``tsbench.metrics`` and ``tsbench.datasets``. Duplicate names are errors that name
both origins; unknown names get suggestions; a plugin that fails to import is *unavailable* (with its
error) and never crashes a listing or a run.

>>> from tsbench.registry import generators
>>> "timegan" in generators.names()
True
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterable

from .errors import InputError, TsbenchError, UnknownNameError


class DuplicateNameError(TsbenchError):
    """Two components claim the same registry name."""


class PluginUnavailableError(TsbenchError):
    """A registered component could not be imported."""

    exit_code = 1


@dataclass
class Entry:
    """A registered component: ``target`` is ``"module:Class"``; ``obj`` is filled on first load."""

    name: str
    target: str
    origin: str
    summary: str = ""
    obj: Any = field(default=None, repr=False)
    error: str | None = None

    def load(self) -> Any:
        if self.obj is None and self.error is None:
            module_name, _, attr = self.target.partition(":")
            try:
                value = importlib.import_module(module_name)
                for part in attr.split(".") if attr else ():
                    value = getattr(value, part)
                self.obj = value
            except Exception as exc:  # a broken plugin must not crash anything
                self.error = f"{type(exc).__name__}: {exc}"
        if self.error is not None:
            raise PluginUnavailableError(
                f"{self.name} ({self.origin}) is unavailable: {self.error}. "
                f"Install its dependencies or fix the plugin at {self.target}")
        return self.obj

    @property
    def available(self) -> bool:
        try:
            self.load()
        except PluginUnavailableError:
            return False
        return True


class Registry:
    """Name → component for one kind (``"generator"``, ``"metric"`` or ``"dataset"``)."""

    def __init__(self, kind: str, group: str):
        self.kind, self.group = kind, group
        self._entries: dict[str, Entry] = {}
        self._plugins_loaded = False

    # registration ---------------------------------------------------------------------------------
    def register(self, name: str, target: Any, *, origin: str = "built-in", summary: str = "") -> None:
        """Register ``target`` (a ``"module:Class"`` string or the class itself) under ``name``."""
        if name in self._entries:
            raise DuplicateNameError(
                f"duplicate {self.kind} name '{name}': registered by {self._entries[name].origin} "
                f"({self._entries[name].target}) and by {origin} ({_target_str(target)}). "
                "Rename one of them")
        obj = None if isinstance(target, str) else target
        self._entries[name] = Entry(name, _target_str(target), origin, summary, obj)

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def _discover_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in metadata.entry_points(group=self.group):
            dist = getattr(ep, "dist", None)
            origin = f"plugin {dist.name if dist else '?'} (entry point {self.group})"
            self.register(ep.name, ep.value, origin=origin)

    # lookup ---------------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        self._discover_plugins()
        return [self._entries[name] for name in sorted(self._entries)]

    def names(self, pattern: str | None = None) -> list[str]:
        names = [entry.name for entry in self.entries()]
        return [n for n in names if fnmatch.fnmatchcase(n, pattern)] if pattern else names

    def __contains__(self, name: str) -> bool:
        return name in self.names()

    def entry(self, name: str) -> Entry:
        self._discover_plugins()
        if name not in self._entries:
            names = self.names()
            raise UnknownNameError(self.kind, name, difflib.get_close_matches(name, names, n=3, cutoff=0.5),
                                   names)
        return self._entries[name]

    def get(self, name: str) -> Any:
        """The component class registered as ``name`` (imports it)."""
        return self.entry(name).load()

    def expand(self, patterns: Iterable[str]) -> list[str]:
        """Expand wildcard patterns (``'time*'``) to registered names; keeps ``[params]`` suffixes.

        A pattern that matches nothing raises :class:`UnknownNameError` with suggestions.
        """
        from .naming import parse_display_name

        out: list[str] = []
        for pattern in patterns:
            base, _params = parse_display_name(pattern)
            suffix = pattern.strip()[len(base.strip()):] if "[" in pattern else ""
            if any(ch in base for ch in "*?["):
                matches = self.names(base)
                if not matches:
                    raise InputError(f"{self.kind} pattern {base!r} matches nothing",
                                     expected=f"a pattern matching one of: {', '.join(self.names())}",
                                     got=repr(base), fix=f"see `tsbench list {self.kind}s`")
                out.extend(m + suffix for m in matches)
            else:
                self.entry(base)  # raises with suggestions
                out.append(pattern.strip())
        return list(dict.fromkeys(out))


def _target_str(target: Any) -> str:
    if isinstance(target, str):
        return target
    return f"{target.__module__}:{target.__qualname__}"


generators = Registry("generator", "tsbench.generators")
metrics = Registry("metric", "tsbench.metrics")
datasets = Registry("dataset", "tsbench.datasets")

REGISTRIES = {"generators": generators, "metrics": metrics, "datasets": datasets}

from . import builtins as _builtins  # noqa: E402  (registers the built-in names lazily)

_builtins.register_all(generators, metrics, datasets)
