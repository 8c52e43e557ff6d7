"""Small helpers shared by several test modules (import as ``from tests._helpers import ...``)."""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str) -> ModuleType:
    """The module ``scripts/<name>.py`` (scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stock_csv(rows: int = 60, seed: int = 0) -> bytes:
    """A Stocks-shaped CSV (the six columns of ``stock_data.csv``) of random prices, as bytes."""
    values = np.random.default_rng(seed).random((rows, 6)) * 100
    out = io.StringIO()
    out.write("Open,High,Low,Close,Adj_Close,Volume\n")
    np.savetxt(out, values, delimiter=",", fmt="%.17g")
    return out.getvalue().encode()
