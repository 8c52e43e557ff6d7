"""Test-wide settings: one torch thread per test process (the CI machine has 2 cores), no GPU assumptions; the
rule for tests that need the real Stocks/Energy CSVs (``require_shared_data``)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TSBENCH_PROGRESS", "0")

#: where the real reference CSVs (stock_data.csv, energy_data.csv) live unless $TSBENCH_SHARED_DATA says otherwise
DEFAULT_SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pytest_configure(config):
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.set_num_threads(1)


def on_ci() -> bool:
    """``CI`` is set to true (``true``/``1``/``yes``, any case), as CI services and ``.ci/run`` do."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_files(folder: Path, *filenames: str) -> Path:
    """``folder`` when every file in it exists. Otherwise the calling test is skipped — or, under CI=true,
    fails: CI must run the real-data tests, never silently skip them."""
    missing = [name for name in filenames if not (folder / name).is_file()]
    if missing:
        message = f"reference data {', '.join(missing)} not found in {folder}"
        if on_ci():
            pytest.fail(f"CI=true: {message}; provide ../shared/data or set TSBENCH_SHARED_DATA", pytrace=False)
        pytest.skip(message)
    return folder


@pytest.fixture
def require_shared_data():
    """``require_shared_data(*filenames) -> Path``: the folder of the real reference CSVs
    (``$TSBENCH_SHARED_DATA``, else ../shared/data), via :func:`require_files` (skip when a file is missing,
    fail under CI=true)."""
    def require(*filenames: str) -> Path:
        return require_files(Path(os.environ.get("TSBENCH_SHARED_DATA") or DEFAULT_SHARED_DATA), *filenames)
    return require


@pytest.fixture(autouse=True)
def _isolated_plugin_includes():
    """`--include` / `-g file.py:Class` record their sources in $TSBENCH_INCLUDE for worker processes; a test
    that includes a temporary folder must not leave it to the tests (and spawned workers) that follow."""
    from tsbench.registry import INCLUDE_ENV

    before = os.environ.pop(INCLUDE_ENV, None)
    yield
    os.environ.pop(INCLUDE_ENV, None)
    if before is not None:
        os.environ[INCLUDE_ENV] = before
