"""The resumable cell runner: grid expansion, executors, the results store and records.

>>> from tsbench.runner import run_grid, load_records   # doctest: +SKIP
"""
from __future__ import annotations

from .collect import load_records
from .grid import run_grid

__all__ = ["run_grid", "load_records"]
