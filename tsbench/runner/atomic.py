"""Atomic, durable file writes into the results folder, and the one error a storage failure becomes.

Every write goes to a temporary file in the target's folder, is flushed to disk (``fsync``) and renamed over
the target, so an interrupted or failed write never leaves a half-written file under its final name, and the
temporary file is removed. A storage failure (full disk, quota, read-only or permission-denied folder, I/O
error) raises :class:`ResultsNotWritable`, a one-line :class:`~tsbench.errors.InputError`; other errors pass.
"""
from __future__ import annotations

import errno
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..atomic import write_atomically
from ..errors import InputError

#: errno values that mean "this folder cannot take the write", not a bug
STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}


class ResultsNotWritable(InputError):
    """The results folder cannot be written (full disk, read-only, no permission). Finished cells are kept."""

    def __init__(self, path: Path, exc: OSError):
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        fix = ("free disk space (or pass another --out)" if full
               else "make the folder writable (or pass another --out)")
        super().__init__("results folder", expected="a writable folder with free space",
                         got=f"{exc.strerror or exc} writing {path}",
                         fix=f"{fix}, then re-run the same command: finished cells are kept and it resumes")


@contextmanager
def storage_errors(path: Path):
    """Turn a storage :class:`OSError` raised inside the block into :class:`ResultsNotWritable`."""
    try:
        yield
    except OSError as exc:
        if exc.errno in STORAGE_ERRORS:
            raise ResultsNotWritable(path, exc) from None
        raise


def atomic_save(path: Path, writer: Callable[[str], Any]) -> None:
    """:func:`tsbench.atomic.write_atomically`, with storage failures as :class:`ResultsNotWritable`."""
    with storage_errors(Path(path)):
        write_atomically(path, writer)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_save`)."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    atomic_save(path, write)


def json_bytes(obj: Any) -> bytes:
    """The results folder's JSON text: indented, sorted keys, numpy scalars and arrays as plain numbers."""
    return json.dumps(obj, indent=1, sort_keys=True, default=_json_default).encode()


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json_bytes(obj))


def remove(path: Path) -> None:
    """Delete ``path`` if it exists (storage failures as :class:`ResultsNotWritable`)."""
    with storage_errors(path):
        Path(path).unlink(missing_ok=True)


def read_json(path: Path) -> Any:
    """Parse a JSON file (unverified; cell files are read through :class:`.cellfiles.CellFolder`)."""
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
