"""Deprecated name of :mod:`tsbench.sensitivity` (the metric sensitivity study behind
``tsbench validate-metrics``); import from there. Kept so that old imports keep working."""
from __future__ import annotations

from .sensitivity import *  # noqa: F401,F403
from .sensitivity import __all__  # noqa: F401
