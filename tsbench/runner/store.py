"""The results folder: atomic writes, a lock, and the on-disk layout of cells.

Layout of ``--out`` (default ``./tsbench-runs``)::

    .tsbench.lock                      held by a running ``tsbench run``
    cells/<cell_id>/cell.json          the cell's spec, identity and provenance (written first)
    cells/<cell_id>/model.ckpt         generator checkpoint (state_dict / npz)
    cells/<cell_id>/losses.csv         loss curves logged during fit
    cells/<cell_id>/samples.npy        synthetic windows, float32 (n, seq_len, n_features)
    cells/<cell_id>/trained.json       marker: fit + sample finished (written last of the training step)
    cells/<cell_id>/failed.json        the last failure (removed when the cell later succeeds)
    cells/<cell_id>/metrics/<key>.json one finished metric result (values per repeat, timing)
    cells/<cell_id>/artefacts/<metric>/ plots and coordinates written by metrics

Every file is written to a temporary name and renamed, so an interrupted run never leaves a
half-written file under its final name; a cell counts as trained only once ``trained.json`` exists.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from ..errors import InputError, TsbenchError

DEFAULT_OUT = "tsbench-runs"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=1, sort_keys=True, default=_json_default).encode())


def atomic_save(path: Path, writer) -> None:
    """``writer(tmp_path)`` writes a file, which is then renamed to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    with open(path) as fh:
        return json.load(fh)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


class RunStore:
    """Access to one results folder."""

    def __init__(self, out: str | Path = DEFAULT_OUT):
        self.root = Path(out)

    @property
    def cells_dir(self) -> Path:
        return self.root / "cells"

    def cell_dir(self, cell_id: str) -> Path:
        return self.cells_dir / cell_id

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
        return sorted(p.name for p in self.cells_dir.iterdir() if (p / "cell.json").exists())
