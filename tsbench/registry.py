"""One registry mechanism for generators, metrics and datasets.

Built-ins are registered lazily as ``"module:Class"`` strings (see :mod:`tsbench.builtins`), so listing
them imports nothing heavy (no torch). Third-party plugins are discovered through the entry-point groups
``tsbench.generators``, ``tsbench.metrics`` and ``tsbench.datasets``, and plugin files through
:mod:`tsbench.plugin_files`. Duplicate names are errors that name both origins; unknown names get
suggestions; a plugin that fails to import — or that declares a generator ``role`` other than ``"model"``,
which only built-ins may — is *unavailable* (with its error) and never crashes a listing or a run.

>>> from tsbench.registry import generators
>>> "timegan" in generators.names()
True
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
import json
import os
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterable

from .errors import InputError, TsbenchError, UnknownNameError


class DuplicateNameError(TsbenchError):
    """Two components claim the same registry name."""


class PluginUnavailableError(TsbenchError):
    """A registered component could not be imported."""

    exit_code = 1


BUILT_IN = "built-in"


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
            self._refuse_reserved_role()
        if self.error is not None:
            raise PluginUnavailableError(
                f"{self.name} ({self.origin}) is unavailable: {self.error}. "
                f"Install its dependencies or fix the plugin at {self.target}")
        return self.obj

    def _refuse_reserved_role(self) -> None:
        """Only built-ins may declare a generator role other than ``"model"`` (calibration, corruption)."""
        role = getattr(self.obj, "role", "model") if isinstance(self.obj, type) else "model"
        if self.origin != BUILT_IN and role != "model":
            self.obj, self.error = None, (f"declares role {role!r}, which only tsbench's built-in rows may; "
                                          "a plugin generator keeps role = 'model'")

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
        self._plugins_loaded = False  # set once discovery has finished, never before
        self._discovering = False  # discovery in progress on the thread holding the lock
        self._discovery_lock = threading.RLock()

    # registration ---------------------------------------------------------------------------------
    def register(self, name: str, target: Any, *, origin: str = BUILT_IN, summary: str = "",
                 error: str | None = None) -> None:
        """Register ``target`` (a ``"module:Class"`` string or the class itself) under ``name``; with ``error``
        the entry is registered as unavailable (e.g. a plugin file that failed to import)."""
        if name in self._entries:
            raise DuplicateNameError(
                f"duplicate {self.kind} name '{name}': registered by {self._entries[name].origin} "
                f"({self._entries[name].target}) and by {origin} ({_target_str(target)}). "
                "Rename one of them")
        obj = None if isinstance(target, str) else target
        entry = Entry(name, _target_str(target), origin, summary, obj, error)
        if obj is not None:
            entry._refuse_reserved_role()
        self._entries[name] = entry

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def _add(self, name: str, cls: type, origin: str) -> None:
        """Register ``cls`` unless this very class is already registered as ``name`` (a file included twice)."""
        existing = self._entries.get(name)
        if existing is None or (existing.obj is not cls and existing.target != _target_str(cls)):
            self.register(name, cls, origin=origin)

    def _discover_plugins(self) -> None:
        """Register entry-point plugins and ``TSBENCH_INCLUDE`` files once. Another thread asking meanwhile waits
        until discovery has finished (two threads of one Dask worker must both see every plugin); the
        discovering thread re-entering (a plugin file registering names) goes on with what is registered so far."""
        if self._plugins_loaded:
            return
        with self._discovery_lock:
            if self._plugins_loaded or self._discovering:
                return
            self._discovering = True
            try:
                for ep in metadata.entry_points(group=self.group):
                    dist = getattr(ep, "dist", None)
                    origin = f"plugin {dist.name if dist else '?'} (entry point {self.group})"
                    self.register(ep.name, ep.value, origin=origin)
                _include_from_environment()
            finally:
                self._discovering = False
                self._plugins_loaded = True

    # lookup ---------------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        self._discover_plugins()
        return [self._entries[name] for name in sorted(self._entries)]

    def names(self, pattern: str | None = None, *, role: str | None = None) -> list[str]:
        """Registered names, optionally matching a wildcard ``pattern``; with ``role`` only the available
        components declaring it (this imports them: e.g. ``generators.names(role="corruption")``)."""
        names = [entry.name for entry in self.entries()]
        if pattern:
            names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if role is not None:
            names = [n for n in names if self._entries[n].available
                     and getattr(self._entries[n].obj, "role", "model") == role]
        return names

    def origin_of(self, cls: type) -> str | None:
        """The origin of the entry registered for class ``cls`` (``"built-in"``, a plugin…), None if none."""
        target = _target_str(cls)
        for entry in self.entries():
            if entry.obj is cls or entry.target == target:
                return entry.origin
        return None

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
        """Expand wildcard patterns (``'time*'``) to registered names; keeps ``[params]`` suffixes and expands
        sweeps (``'gan[lr=[1e-3,1e-4]]'`` → ``gan[lr=0.001]``, ``gan[lr=0.0001]``).

        A pattern that matches nothing raises :class:`UnknownNameError` with suggestions.
        """
        from .naming import expand_sweeps, parse_display_name
        from .plugin_files import is_class_spec

        out: list[str] = []
        for pattern in patterns:
            if is_class_spec(pattern):  # file.py:Class[params] / module:Class[params] → name[params]
                spec, bracket, rest = pattern.strip().partition("[")
                pattern = include_class(spec, self) + bracket + rest
            base, _params = parse_display_name(pattern)
            suffix = pattern.strip()[len(base.strip()):] if "[" in pattern else ""
            if any(ch in base for ch in "*?["):
                matches = self.names(base)
                if not matches:
                    raise InputError(f"{self.kind} pattern {base!r} matches nothing",
                                     expected=f"a pattern matching one of: {', '.join(self.names())}",
                                     got=repr(base), fix=f"see `tsbench list {self.kind}s`")
                out.extend(name for m in matches for name in expand_sweeps(m + suffix))
            else:
                self.entry(base)  # raises with suggestions
                out.extend(expand_sweeps(pattern.strip()))
        return list(dict.fromkeys(out))


# plugin files -------------------------------------------------------------------------------------
#: what this process included, as a JSON list of ``[kind, source]`` (kind ``folder``, ``generator`` or
#: ``metric``), inherited by the worker processes it starts so that they register the same components
INCLUDE_ENV = "TSBENCH_INCLUDE"
_included: set[tuple[str, str]] = set()


def include(folder: str) -> list[str]:
    """Register every generator and metric defined in the ``.py`` files of ``folder`` under its ``name``; a
    file that fails to import is registered as an unavailable generator named after the file. Returns the
    names registered."""
    from .plugin_files import components

    source = os.path.abspath(folder)
    names = []
    for found in components(source):
        registry = generators if found.kind == "generator" else metrics
        if found.cls is not None:
            registry._add(found.name, found.cls, found.origin)
        elif found.name not in registry._entries:
            registry.register(found.name, str(found.path), origin=found.origin, error=found.error)
        names.append(found.name)
    _remember("folder", source)
    return names


def include_class(spec: str, registry: Registry) -> str:
    """Register the class at ``path/file.py:Class`` or ``package.module:Class`` in ``registry`` under its
    ``name``; returns that name. :class:`InputError` when it cannot be loaded."""
    from .plugin_files import load_class

    where, _, attr = spec.strip().rpartition(":")
    if where.endswith(".py"):
        spec = f"{os.path.abspath(where)}:{attr}"
    cls, origin = load_class(spec, registry.kind)
    registry._add(cls.name, cls, origin)
    _remember(registry.kind, spec)
    return cls.name


def _remember(kind: str, source: str) -> None:
    _included.add((kind, source))
    listed = json.loads(os.environ.get(INCLUDE_ENV) or "[]")
    if [kind, source] not in listed:
        os.environ[INCLUDE_ENV] = json.dumps([*listed, [kind, source]])


def _include_from_environment() -> None:
    """Register what the parent process included (``TSBENCH_INCLUDE``), once per source."""
    try:
        sources = [tuple(item) for item in json.loads(os.environ.get(INCLUDE_ENV) or "[]")]
    except (ValueError, TypeError):
        raise InputError(INCLUDE_ENV, expected="a JSON list of [kind, source] pairs",
                         got=repr(os.environ[INCLUDE_ENV]), fix=f"unset {INCLUDE_ENV}") from None
    for kind, source in sources:
        if (kind, source) in _included:
            continue
        if kind == "folder":
            include(source)
        else:
            include_class(source, generators if kind == "generator" else metrics)


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
