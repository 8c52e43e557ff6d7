"""The results folder: its lock, its cells, and (re-exported from :mod:`.atomic`) the atomic writers.

Layout of ``--out`` (default ``./tsbench-runs``)::

    .tsbench.lock          held by a running ``tsbench run``
    records.csv            every record, rewritten at the end of each run
    cells/<cell_id>/       one cell: its files are owned by :class:`.cellfiles.CellFolder`

Every file is written to a temporary name, flushed and renamed, so an interrupted run never leaves a
half-written file under its final name; a full disk or a read-only folder raises
:class:`.atomic.ResultsNotWritable` (one line) and leaves every finished cell intact.
"""
from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import InputError, TsbenchError
from .atomic import ResultsNotWritable, atomic_save, atomic_write_bytes, atomic_write_json, read_json
from .cellfiles import CellFolder

__all__ = ["RunStore", "DEFAULT_OUT", "CellFolder", "ResultsNotWritable", "atomic_save", "atomic_write_bytes",
           "atomic_write_json", "read_json"]

DEFAULT_OUT = "tsbench-runs"


class RunStore:
    """Access to one results folder."""

    def __init__(self, out: str | Path = DEFAULT_OUT):
        self.root = Path(out)

    @property
    def cells_dir(self) -> Path:
        return self.root / "cells"

    def cell_dir(self, cell_id: str) -> Path:
        return self.cells_dir / cell_id

    def cell(self, cell_id: str) -> CellFolder:
        return CellFolder(self.cell_dir(cell_id))

    def ensure_writable(self) -> None:
        """Create the folder and prove it is writable, or raise a one-line :class:`InputError`."""
        try:
            self.cells_dir.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise InputError("--out", expected="a writable folder", got=f"{str(self.root)!r} ({exc.strerror})",
                             fix="choose another folder with --out or fix its permissions") from None

    def lock(self) -> FileLock:
        """An exclusive lock on the folder; raises at once if another run holds it."""
        lock = FileLock(str(self.root / ".tsbench.lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise TsbenchError(f"another tsbench run is using {self.root} (lock {self.root / '.tsbench.lock'}); "
                               "wait for it to finish or pass a different --out") from None
        return lock

    def cell_ids(self) -> list[str]:
        if not self.cells_dir.is_dir():
            return []
        return sorted(p.name for p in self.cells_dir.iterdir() if CellFolder(p).exists())
