"""Benchmarks record their figures under results/benchmarks/ when run with --benchmark-only (see recording.py)."""
from recording import pytest_runtest_makereport  # noqa: F401  (the recording hook)
