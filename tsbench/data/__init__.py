"""Datasets: Sines (generated), Stocks, Energy and ETTh1 (downloaded, verified) and users' own files.

This package imports nothing heavy at import time; submodules load on first use.

* :func:`resolve_dataset` — a dataset from a display name (``sines[seq_len=24]``) or a file path
  (``data.csv[seq_len=48]``);
* :func:`dataset_display_name` — the canonical name used in records, caches and tables;
* :func:`prepare_all` — fetch and verify every downloadable dataset (``tsbench data prepare``);
* :func:`load_windows_file` — windows from ``.npy``/``.npz``/``.csv`` (``tsbench evaluate``);
* :func:`make_windows`, :func:`minmax_scale`, :func:`split_series` — the TimeGAN loader steps.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

__all__ = ["resolve_dataset", "dataset_display_name", "prepare_all", "load_windows_file", "save_windows_csv",
           "make_windows", "minmax_scale", "split_series", "split_windows", "split_dataset", "RUNTIME_PARAMS"]

_LAZY = {
    "make_windows": "windows", "minmax_scale": "windows", "split_series": "windows", "split_windows": "windows",
    "split_dataset": "windows", "load_windows_file": "io", "save_windows_csv": "io", "UserFile": "user",
    "Sines": "sines", "Stocks": "files", "Energy": "files", "ETTh1": "files",
}

#: dataset parameters that say where data lives, not what it is: excluded from display names / identity
RUNTIME_PARAMS = frozenset({"data_dir"})

_FILE_SPEC = re.compile(r"^\s*(?P<path>[^\[\]]*?\.(?:csv|npy|npz))\s*(?P<params>\[.*\])?\s*$", re.IGNORECASE)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_dataset(spec: str, *, preset: str | None = None, **overrides: Any):
    """The dataset named by ``spec``: a registered display name or a ``.csv``/``.npy``/``.npz`` path.

    Parameters come from, in increasing priority: the dataset's ``preset`` settings (when given), the
    parameters in ``spec`` and ``overrides``. ``overrides`` that are ``None`` or that the dataset does not
    accept are ignored, so one global option (e.g. ``data_dir``) can be passed for every dataset. A path may
    carry parameters too (``data.csv[seq_len=48,scale=false]``); ``file[path='data.csv']`` also works.

    >>> resolve_dataset("sines[seq_len=12]").get_params()["seq_len"]
    12
    """
    from ..errors import InputError
    from ..naming import parse_display_name
    from ..presets import resolve_params

    match = _FILE_SPEC.match(spec or "")
    if match:
        _, params = parse_display_name("file" + (match.group("params") or ""))
        params = {"path": match.group("path").strip(), **params}
        name = "file"
    else:
        base = (spec or "").split("[", 1)[0]
        if "/" in base or "\\" in base:
            raise InputError("dataset file", expected="a .csv, .npy or .npz file or a dataset name",
                             got=repr(spec), fix="convert the data to CSV or .npy, or see `tsbench list datasets`")
        name, params = parse_display_name(spec)
    if name == "file":
        from .user import UserFile as cls
    else:
        from ..registry import datasets

        cls = datasets.get(name)
    valid = set(cls._get_param_names())
    extra = {k: v for k, v in overrides.items() if v is not None and k in valid}
    params = {**params, **extra}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise InputError(f"unknown parameter(s) for dataset {spec}", expected=f"one of: {', '.join(sorted(valid))}",
                         got=", ".join(unknown), fix=f"see the docstring of {cls.__module__}.{cls.__name__}")
    if preset is not None:
        params = resolve_params(cls, preset, params, display=spec)
    dataset = cls(**params)
    if name == "file":
        dataset._path()  # a missing file or a wrong suffix is an error now, not mid-run
    return dataset


def dataset_display_name(dataset) -> str:
    """``name[param=value,...]`` with the parameters that differ from their defaults (not ``data_dir``)."""
    import inspect

    from ..naming import format_display_name

    defaults = {name: p.default for name, p in inspect.signature(type(dataset).__init__).parameters.items()
                if name != "self"}
    params = {key: value for key, value in dataset.get_params(deep=False).items()
              if key not in RUNTIME_PARAMS and (key not in defaults or defaults[key] != value)}
    return format_display_name(dataset.name or type(dataset).__name__, params)


def prepare_all(names: list[str] | None = None, *, data_dir: str | None = None) -> list[Path]:
    """Fetch and verify the files of ``names`` (default: every registered dataset); returns their paths.

    Datasets without files (e.g. ``sines``) contribute nothing. With ``names=None`` a plugin dataset that
    fails to import is skipped; a named one raises.
    """
    from ..registry import datasets

    chosen = names if names is not None else [entry.name for entry in datasets.entries() if entry.available]
    paths: list[Path] = []
    for name in chosen:
        cls = datasets.get(name)
        kwargs = {"data_dir": data_dir} if data_dir and "data_dir" in cls._get_param_names() else {}
        path = cls(**kwargs).prepare()
        if path is not None:
            paths.append(Path(path))
    return paths
