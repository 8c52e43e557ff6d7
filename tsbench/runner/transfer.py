"""Shipping a cell's files to a worker that shares no disk with the client, and back.

The client packs the cell folder (:func:`pack_cell`), a worker runs :func:`run_cell_detached` in a private
temporary folder and returns what changed, and the client applies it with :func:`apply_cell_files`.

The client verifies what it ships: a completion marker whose files fail verification (a corrupt checkpoint
on the client, which is never shipped; truncated samples; an altered metric result) is left out with a
warning, so the worker recomputes it.

Write order on the client (every file through the atomic writers of :mod:`.atomic`; the ranks are
:meth:`.cellfiles.CellFolder.write_rank`), chosen so that an interrupted client never leaves a cell that
*looks* complete but is not — :meth:`.cellfiles.CellFolder.is_complete` needs ``trained.json``, every
``metrics/<key>.json`` and no ``failed.json``:

1. ``cell.json`` (the spec and provenance; it only lists intent);
2. failure markers (``failed.json``, ``metrics/<key>.failed.json``) — they make a cell incomplete;
3. removal of completion markers the worker removed (``trained.json`` and metric results, under ``--force``);
4. data: ``samples.npy``, ``model.ckpt``, ``losses.csv``, ``artefacts/…`` and anything else;
5. ``trained.json``; 6. ``metrics/<key>.json``;
7. the remaining removals (e.g. a stale ``failed.json`` of a cell that now succeeded).
"""
from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from .atomic import atomic_write_bytes, remove
from .cellfiles import CellFolder
from .cells import CellSpec
from .deadline import GRACE_S, run_cell_with_deadline
from .execute import CellOutcome, run_cell
from .store import RunStore

#: written by ``run_cell`` but never read by it: not shipped to workers (the client keeps its copy)
NOT_SHIPPED = CellFolder.NOT_READ


def pack_cell(folder: Path, *, everything: bool = False) -> dict[str, bytes]:
    """``{relative posix path: bytes}`` of the cell folder (minus temp files). Unless ``everything``: minus
    :data:`NOT_SHIPPED`, and minus completion markers that fail verification (warned, recomputed)."""
    files: dict[str, bytes] = {}
    if not folder.is_dir():
        return files
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in PurePosixPath(rel).parts):
            continue  # in-flight ``.name.xxx.tmp`` files of the atomic writers
        if everything or not rel.startswith(NOT_SHIPPED):
            files[rel] = path.read_bytes()
    if not everything:
        _drop_unverified(CellFolder(folder), files)
    return files


def _drop_unverified(cell: CellFolder, files: dict[str, bytes]) -> None:
    """Leave out the completion markers whose files fail verification, so the worker recomputes them."""
    for rel in [r for r in files if cell.is_completion_marker(r)]:
        if rel == cell.TRAINED:
            ok = cell.read_trained("the cell is trained again") is not None
        else:
            ok = cell.read_metric(PurePosixPath(rel).stem, "it is computed again") is not None
        if not ok:
            del files[rel]


def unpack_cell(files: dict[str, bytes], folder: Path) -> None:
    for rel, data in files.items():
        target = folder / _safe(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def run_cell_detached(cell: CellSpec, files: dict[str, bytes], force: bool, threads: int = 1,
                      grace: float = GRACE_S, in_child: bool = False) -> tuple[CellOutcome, dict[str, bytes], list[str]]:
    """Run ``cell`` in a private temporary results folder seeded with ``files``; a cell with a ``timeout`` runs
    in a child process killed at ``timeout + grace`` seconds (:mod:`.deadline`: a hard timeout), and so does every
    cell with ``in_child`` (cells packed on one GPU as threads of a worker: each in its own process).

    Returns ``(outcome, changed, removed)``: the new or modified files (bytes) and the shipped paths the
    run deleted. Executed on Dask workers; nothing outside the temporary folder is written.
    """
    from .executors import set_threads

    set_threads(threads)
    with tempfile.TemporaryDirectory(prefix="tsbench-cell-") as tmp:
        out = Path(tmp) / "run"
        folder = RunStore(out).cell_dir(cell.cell_id)
        unpack_cell(files, folder)
        if cell.timeout or in_child:
            outcome = run_cell_with_deadline(cell, str(out), force=force, threads=threads, absent_ok=NOT_SHIPPED,
                                             grace=grace, workdir=tmp)
        else:
            outcome = run_cell(cell, str(out), force=force, absent_ok=NOT_SHIPPED)
        after = pack_cell(folder, everything=True)
    changed = {rel: data for rel, data in after.items() if files.get(rel) != data}
    removed = sorted(set(files) - set(after))
    return outcome, changed, removed


def apply_cell_files(folder: Path, changed: dict[str, bytes], removed: list[str]) -> None:
    """Write a worker's results into the real cell ``folder`` in the safe order (module docstring)."""
    for rel in removed:
        if CellFolder.is_completion_marker(rel):
            remove(folder / _safe(rel))
    for rel in sorted(changed, key=lambda r: (CellFolder.write_rank(r), r)):
        atomic_write_bytes(folder / _safe(rel), changed[rel])
    for rel in removed:
        if not CellFolder.is_completion_marker(rel):
            remove(folder / _safe(rel))


def _safe(rel: str) -> PurePosixPath:
    """A relative path that stays inside the cell folder (a worker's reply is not trusted blindly)."""
    path = PurePosixPath(rel)
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        raise ValueError(f"refusing cell file path {rel!r} from a worker")
    return path
