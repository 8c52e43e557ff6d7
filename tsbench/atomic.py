"""Atomic, durable file writes: ``write_atomically(path, writer)`` has ``writer`` fill a temporary file in the
target's folder, gives it the process's usual permissions, flushes it to disk and renames it over ``path``; the
temporary file is removed when anything fails. Used by generators for mid-fit training checkpoints and by the
runner for every cell file (:mod:`tsbench.runner.atomic` adds the results folder's storage errors)."""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def write_atomically(path: str | Path, writer: Callable[[str], Any]) -> None:
    """``writer(tmp_path)`` writes a file, which is flushed to disk and renamed to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; written files get the usual permissions
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process's umask, read once (reading it means setting it, which is not thread-safe to repeat)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync(name: str) -> None:
    fd = os.open(name, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["write_atomically"]
