"""Hard timeouts: a cell past its --timeout (plus grace) is killed from outside, recorded as `timeout`, its
worker replaced, and the rest of the grid finishes — even when the plugin never reports progress."""
from __future__ import annotations

import dataclasses
import time

import pytest

from tsbench.registry import generators, include_class
from tsbench.runner import load_records
from tsbench.runner.executors import ProcessExecutor
from tsbench.runner.grid import plan_cells, run_grid

PLUGIN = '''
import time

import numpy as np

from tsbench.generator import Generator


class _Hang(Generator):
    def _sample(self, n, *, seed):
        return np.full((n, self.seq_len_, self.n_features_in_), 0.5, dtype=np.float32)


class Sleeper(_Hang):
    """Sleeps inside one training step (as a call into C code would): never reports progress."""

    name = "sleeper"

    def _fit(self, X, *, seed, callback):
        time.sleep(600)


class Spinner(_Hang):
    """Spins in a Python loop without reporting progress."""

    name = "spinner"

    def _fit(self, X, *, seed, callback):
        while True:
            pass
'''


@pytest.fixture
def hanging(tmp_path):
    path = tmp_path / "hanging.py"
    path.write_text(PLUGIN)
    names = [include_class(f"{path}:{cls}", generators) for cls in ("Sleeper", "Spinner")]
    yield names
    for name in names:
        generators.unregister(name)


def test_hanging_cells_are_killed_recorded_and_the_grid_finishes(tmp_path, hanging):
    cells = plan_cells(["sines"], [*hanging, "gaussian"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench")
    cells = [dataclasses.replace(c, timeout=1.0) if c.generator in hanging else c for c in cells]
    start = time.monotonic()
    summary = run_grid(cells, tmp_path / "runs", executor=ProcessExecutor(2, grace=1.0), progress=False)
    assert time.monotonic() - start < 120
    status = {o.label.split(" / ")[1]: o for o in summary.outcomes}
    assert status["gaussian"].status == "done"
    for name in hanging:
        assert status[name].status == "timeout" and "worker killed" in status[name].error
    records = load_records(tmp_path / "runs").set_index("generator")
    assert records.loc["sleeper", "status"] == "timeout" and records.loc["spinner", "status"] == "timeout"
    assert (records.loc[["gaussian"], "status"] == "done").all()
    # the next run retries the timed-out cells (never cached as done) and keeps the finished one
    again = run_grid(cells, tmp_path / "runs", executor=ProcessExecutor(2, grace=1.0), progress=False)
    assert again.cached == 1 and {o.status for o in again.outcomes} == {"timeout"}
