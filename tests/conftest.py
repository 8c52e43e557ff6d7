"""Test-wide settings: one torch thread per test process (the CI machine has 2 cores), no GPU assumptions."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TSBENCH_PROGRESS", "0")


def pytest_configure(config):
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.set_num_threads(1)
