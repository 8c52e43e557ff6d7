"""Hard timeouts: a cell past its --timeout (plus grace) is killed from outside, recorded as `timeout`, its
worker replaced, and the rest of the grid finishes — even when the plugin never reports progress."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
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


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie awaiting its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


PID_PLUGIN = '''
import os
import time
from pathlib import Path

import numpy as np

from tsbench.generator import Generator


class PidSleeper(Generator):
    """Writes its process id next to this file, then sleeps inside its fit."""

    name = "pid_sleeper"

    def _fit(self, X, *, seed, callback):
        (Path(__file__).parent / f"pid-{os.getpid()}").touch()
        time.sleep(600)

    def _sample(self, n, *, seed):
        return np.zeros((n, self.seq_len_, self.n_features_in_), dtype=np.float32)
'''


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_workers_exit_when_the_parent_run_is_killed(tmp_path):
    """SIGKILL only `tsbench run --jobs 2` (not its process group): its workers end too, instead of training on."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "pid_sleeper.py").write_text(PID_PLUGIN)
    cmd = [sys.executable, "-m", "tsbench.cli", "run", "--include", str(plugins), "-g", "pid_sleeper",
           "-d", "sines", "-m", "mmd", "--preset", "smoke", "--seeds", "2", "--jobs", "2", "--no-progress",
           "--out", str(tmp_path / "runs")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(plugins.glob("pid-*"))) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    pids = [int(p.name.split("-")[1]) for p in plugins.glob("pid-*")]
    assert len(pids) == 2 and all(map(_alive, pids))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(map(_alive, pids)):
        time.sleep(0.1)
    survivors = [pid for pid in pids if _alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"orphaned workers still running: {survivors}"
