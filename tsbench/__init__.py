"""tsbench: a reproducible benchmark suite for time-series generative models.

Import is light: heavy modules (torch, the runner) load on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
