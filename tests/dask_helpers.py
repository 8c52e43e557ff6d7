"""Test-only generators for the Dask tests, importable by worker processes (``tests/`` is on their path).

Registered in the client with :func:`register` and in every worker (restarted ones included) through
the :class:`RegisterTestGenerators` worker plugin.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from distributed import WorkerPlugin

from tsbench.generator import Generator


class _Constant(Generator):
    def _fit(self, X, *, seed, callback, **kwargs):
        self.mean_ = X.mean(axis=0)

    def _sample(self, n, *, seed):
        return np.repeat(self.mean_[None], n, axis=0)


class DieOnce(_Constant):
    """First attempt: writes its pid to ``flag`` and waits to be killed; a retry (flag present) fits at once."""

    name = "die_once"

    def __init__(self, *, flag: str = "", wait_s: float = 60.0):
        self.flag = flag
        self.wait_s = wait_s

    def _fit(self, X, *, seed, callback, **kwargs):
        flag = Path(self.flag)
        if not flag.exists():
            tmp = flag.with_suffix(".tmp")
            tmp.write_text(str(os.getpid()))
            tmp.replace(flag)
            end = time.monotonic() + self.wait_s
            while time.monotonic() < end:  # the test kills this process; never returns normally in time
                time.sleep(0.02)
            raise RuntimeError("die_once was not killed")
        super()._fit(X, seed=seed, callback=callback)


class AlwaysDie(_Constant):
    """Kills its own worker process every time (a cell that crashes the interpreter or exhausts memory)."""

    name = "always_die"

    def _fit(self, X, *, seed, callback, **kwargs):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


class Endless(_Constant):
    """Reports progress forever (bounded by ``steps``): a per-cell timeout stops it."""

    name = "endless"

    def __init__(self, *, steps: int = 10**9):
        self.steps = steps

    def _fit(self, X, *, seed, callback, **kwargs):
        for step in range(self.steps):
            float(np.square(X[:8]).sum())
            callback(step, self.steps, {})
        super()._fit(X, seed=seed, callback=callback)


class Sleeper(_Constant):
    """Sleeps inside one training step (as a call into C code would): never reports progress."""

    name = "sleeper"

    def _fit(self, X, *, seed, callback, **kwargs):
        time.sleep(600)


class Spinner(_Constant):
    """Spins in a Python loop without reporting progress."""

    name = "spinner"

    def _fit(self, X, *, seed, callback, **kwargs):
        while True:
            pass


class Exploding(_Constant):
    name = "exploding"

    def _fit(self, X, *, seed, callback, **kwargs):
        raise RuntimeError("boom")


TEST_GENERATORS = {cls.name: cls for cls in (DieOnce, AlwaysDie, Endless, Sleeper, Spinner, Exploding)}


def register() -> None:
    from tsbench.registry import generators

    for name, cls in TEST_GENERATORS.items():
        if name not in generators.names():
            generators.register(name, cls, origin="test")


def unregister() -> None:
    from tsbench.registry import generators

    for name in TEST_GENERATORS:
        generators.unregister(name)


class RegisterTestGenerators(WorkerPlugin):
    def setup(self, worker) -> None:
        register()
