"""A hard deadline for one cell inside a worker that cannot fork helper processes (a Dask worker is daemonic):
the cell runs in a child Python (``python -m tsbench.runner.deadline JOB RESULT``, its own session), and a child
still running ``cell.timeout + grace`` seconds after it started the cell (its interpreter start-up not counted,
as with ``--jobs``) is killed with its whole process group, the cell recorded as
``timeout`` in its folder — so a plugin that hangs inside one step, in C code or in a loop that never reports
progress is stopped on a Dask cluster as it is by ``--jobs`` (:class:`~tsbench.runner.executors.ProcessExecutor`).

The child finds the generator and metric classes by name in its registry (entry points and included plugin files
come with the environment); a class registered only in the parent's memory is sent along, pickled by reference.

The same child process runs every cell of a Dask worker that packs several GPU cells (``--cells-per-gpu``): cells
packed on one GPU never share a process (global RNG, torch threads and CUDA context stay their own).
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

from .cells import CellSpec
from .execute import CellOutcome, record_dead_worker, record_killed_past_deadline, record_outcome, run_cell

#: seconds a cell may overrun its timeout before its process is killed (the cooperative check comes first)
GRACE_S = 30.0
#: seconds the child may take to start (imports) before it is taken for hung
STARTUP_S = 600.0
#: how often the parent looks at the child
POLL_S = 0.1


def run_cell_with_deadline(cell: CellSpec, out: str, *, force: bool, threads: int, absent_ok: tuple = (),
                           grace: float = GRACE_S, workdir: str | Path) -> CellOutcome:
    """Run ``cell`` into results folder ``out`` in a child process killed at ``cell.timeout + grace`` seconds
    (never, for a cell without a timeout: the child then only keeps the cell out of the worker's process, as
    GPU packing needs — :mod:`.gpus`). ``workdir`` (outside ``out``) holds the job and result files. The child
    inherits the worker's environment, its ``CUDA_VISIBLE_DEVICES`` pinning included."""
    job, result, started = (Path(workdir) / name for name in ("job.pkl", "result.pkl", "started"))
    job.write_bytes(pickle.dumps({"cell": cell, "out": str(out), "force": force, "threads": threads,
                                  "absent_ok": tuple(absent_ok), "classes": _classes(cell)}))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.Popen([sys.executable, "-m", "tsbench.runner.deadline", str(job), str(result),
                              str(started)], env=env, start_new_session=True)
    launched, began = time.monotonic(), None
    try:
        while child.poll() is None:
            now = time.monotonic()
            if began is None and started.exists():
                began = now
            if began is not None and cell.timeout and now - began > cell.timeout + grace:
                _kill_group(child)
                return record_killed_past_deadline(out, cell, grace)
            if began is None and now - launched > STARTUP_S:
                _kill_group(child)
                return record_outcome(out, cell, "failed", f"the cell's process did not start within {STARTUP_S:g} s")
            time.sleep(POLL_S)
    finally:
        if child.poll() is None:  # the parent itself is interrupted: take the child with it
            _kill_group(child)
    if child.returncode == 0 and result.is_file():
        return pickle.loads(result.read_bytes())
    return record_dead_worker(out, cell, child.returncode)


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _classes(cell: CellSpec) -> list[tuple[str, str, bytes | None]]:
    """``(kind, name, pickled class or None)`` of the cell's generator and metrics. ``None`` also when this
    process cannot look the class up (e.g. a plugin unavailable here); the child, with the same environment,
    looks it up itself and reports what fails."""
    from ..naming import parse_display_name
    from ..registry import generators, metrics

    wanted = [("generator", parse_display_name(cell.generator)[0])] + [("metric", m.name) for m in cell.metrics]
    out = []
    for kind, name in wanted:
        try:  # a class this worker cannot load is the child's to look up and report
            cls = (generators if kind == "generator" else metrics).get(name)
            out.append((kind, name, pickle.dumps(cls)))
        except Exception:  # not picklable by reference (e.g. defined in a function): the child looks it up
            out.append((kind, name, None))
    return out


def _register_missing(classes) -> None:
    from ..registry import generators, metrics

    for kind, name, data in classes:
        registry = generators if kind == "generator" else metrics
        if name not in registry and data is not None:
            registry.register(name, pickle.loads(data), origin="the parent process")


def _main(job_path: str, result_path: str, started_path: str) -> int:
    from ..evaluation import set_threads
    from .orphans import exit_with_parent

    exit_with_parent()  # a killed Dask worker takes its cell's process with it
    job = pickle.loads(Path(job_path).read_bytes())
    set_threads(job["threads"])
    _register_missing(job["classes"])
    Path(started_path).touch()  # the deadline counts from here
    outcome = run_cell(job["cell"], job["out"], force=job["force"], absent_ok=job["absent_ok"])
    tmp = Path(result_path).with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(outcome))
    tmp.replace(result_path)
    return 0


if __name__ == "__main__":
    sys.exit(_main(*sys.argv[1:4]))
