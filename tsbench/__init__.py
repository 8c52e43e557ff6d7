"""tsbench: a reproducible benchmark suite for time-series generative models.

Import is light: heavy modules (torch, the runner) load on first use. The Python API —
:func:`tsbench.evaluate`, :func:`tsbench.run`, :func:`tsbench.table` (see :mod:`tsbench.api`) — is loaded on
first access.
"""
from __future__ import annotations

__version__ = "0.1.0"

#: the one-call API, served lazily from :mod:`tsbench.api`
_API = ("evaluate", "run", "table")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from . import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
