"""Plugins as plain Python files: load ``file.py:Class``, ``module:Class`` or every component of a folder.

A file is imported as a module of its own (named after its path, kept in ``sys.modules`` so that
:func:`inspect.getsourcefile` — hence the cell's source hash — finds it). The components of a file are the
:class:`~tsbench.generator.Generator` and :class:`~tsbench.metric.Metric` subclasses it *defines* (not those it
imports) with a non-empty ``name``: the registry key. Files whose name starts with ``_`` are helpers, skipped.
Registering what is found is :mod:`tsbench.registry`'s job (:func:`tsbench.registry.include`).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .errors import InputError

#: prefix of the module names given to plugin files
PREFIX = "tsbench_file_"
#: module name → file, for the files loaded by :func:`load_file`
_FILES: dict[str, Path] = {}
#: base class of each registry kind, by import path (the plugin mechanism imports by string)
BASES = {"generator": "tsbench.generator:Generator", "metric": "tsbench.metric:Metric"}


@dataclass(frozen=True)
class Found:
    """One component of a plugin file, or (``cls`` None, ``error`` set) a file that failed to import."""

    kind: str  # "generator" | "metric"
    name: str
    cls: type | None
    path: Path
    error: str | None = None

    @property
    def origin(self) -> str:
        return f"file {self.path}"


def is_class_spec(text: str) -> bool:
    """Whether ``text`` (before any ``[params]``) is ``path/file.py:Class`` or ``package.module:Class``."""
    return ":" in text.partition("[")[0]


def base(kind: str) -> type:
    module, _, attr = BASES[kind].partition(":")
    return getattr(importlib.import_module(module), attr)


def load_file(path: str | Path) -> ModuleType:
    """Import the Python file ``path`` (once per process); raises what its code raises."""
    path = Path(path).resolve()
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    module_name = f"{PREFIX}{''.join(c if c.isalnum() else '_' for c in path.stem)}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    _FILES[module_name] = path
    return module


def describe(cls: type) -> str:
    """``path/file.py:Class`` for a class of a plugin file, else ``module:Class``."""
    where = _FILES.get(cls.__module__, cls.__module__)
    return f"{where}:{cls.__qualname__}"


def load_class(spec: str, kind: str) -> tuple[type, str]:
    """``(class, origin)`` for ``path/file.py:Class`` or ``package.module:Class``; :class:`InputError` when it
    cannot be imported or is not a ``kind`` (generator or metric) class."""
    where, _, attr = spec.strip().rpartition(":")
    is_file = where.endswith(".py")
    origin = f"file {Path(where).resolve()}" if is_file else f"module {where}"
    if is_file and not Path(where).is_file():
        raise InputError(f"{kind} {spec!r}", expected="an existing .py file", got=f"no file {where}",
                         fix="check the path (relative to the current folder)")
    try:
        obj = load_file(where) if is_file else importlib.import_module(where)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:
        raise InputError(f"{kind} {spec!r}", expected="an importable file.py:Class or package.module:Class",
                         got=f"{type(exc).__name__}: {exc}", fix="fix the error in that file or module") from None
    if not (isinstance(obj, type) and issubclass(obj, base(kind))):
        raise InputError(f"{kind} {spec!r}", expected=f"a subclass of {BASES[kind].replace(':', '.')}",
                         got=repr(obj), fix="point at the class")
    if not getattr(obj, "name", ""):
        raise InputError(f"{kind} {spec!r}", expected="a class with a name (its registry key)", got="name = ''",
                         fix=f'set name = "..." in class {attr}')
    return obj, origin


def components(folder: str | Path) -> list[Found]:
    """Every generator and metric defined in the ``.py`` files of ``folder`` (not recursive, sorted); a file
    that fails to import is one :class:`Found` with its error (kind ``generator``, named after the file)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("--include", expected="a folder of plugin .py files", got=f"{str(folder)!r}",
                         fix="pass an existing folder")
    found: list[Found] = []
    for path in sorted(folder.resolve().glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            module = load_file(path)
        except Exception as exc:
            found.append(Found("generator", path.name, None, path, f"{type(exc).__name__}: {exc}"))
            continue
        for obj in vars(module).values():
            if not (isinstance(obj, type) and obj.__module__ == module.__name__ and getattr(obj, "name", "")):
                continue
            kind = next((k for k in BASES if issubclass(obj, base(k))), None)
            if kind is not None:
                found.append(Found(kind, obj.name, obj, path))
    return found
