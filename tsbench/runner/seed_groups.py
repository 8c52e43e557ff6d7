"""Training a row's seeds together (``tsbench run --batch-seeds``).

Before the executor runs the pending cells, :func:`train_seed_groups` gathers the ``batch_seeds`` cells that
differ only by their seed index (same dataset, generator display name and parameters, preset, protocol, device,
``n_samples`` …: :func:`group_key`) and that need training (no valid trained samples, or forced). Each group of
two or more is trained with ONE call of its generator's ``fit_seeds``, in this process, each cell on its own
split's training windows with its own ``fit_seed`` — the seeds a separate fit of the cell would use. Each cell's
outputs are then written as a separate fit's are (:func:`.execute.write_fit`), with ``fit_s`` the group's fit
time divided by its size, ``batched_seeds`` the group's size and ``peak_memory_mb`` the group's peak. The
executor then finds the cells trained and computes only their metrics.

Failures. A group fit that raises prints one warning line and leaves its cells untrained: the executor trains
them one by one (each failure then recorded per cell, as always). A cell whose written outputs fail (non-finite
samples) is recorded as failed and not run again in this run. Nothing is marked trained before its files are
written, so an interrupted group fit leaves no trained marker and the next run fits the group again.
``--timeout`` does not bound a group fit (only the cells' metrics, on the executor).
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..errors import TsbenchError
from ..peak_memory import PeakMemory
from .atomic import ResultsNotWritable
from .cellfiles import CellFolder
from .cells import CellSpec
from .execute import (CellOutcome, _error_text, generator_name, load_split, new_generator, prepare_folder,
                      record_failure, uses_floor, write_fit)
from .store import RunStore

#: fields of a cell that differ between the seeds of one group, or that do not affect its training
_NOT_GROUPING = ("seed", "cell_id", "seed_id", "metrics", "metric_jobs", "timeout")


@dataclass
class GroupsResult:
    """What :func:`train_seed_groups` did: cells ``trained`` by a group fit; cells ``prepared`` for one (their
    folders readied, the forced ones un-marked: the executor must not force them again); cells whose written
    outputs ``failed`` (recorded in their folders; not to be run again in this run)."""

    trained: set[str] = field(default_factory=set)
    prepared: set[str] = field(default_factory=set)
    failed: list[CellOutcome] = field(default_factory=list)


def group_key(cell: CellSpec) -> str:
    """What a cell's group shares: everything in its spec but the seed index, the ids derived from it, and the
    metric and runtime settings that do not change training."""
    spec = {k: v for k, v in cell.to_dict().items() if k not in _NOT_GROUPING}
    return json.dumps(spec, sort_keys=True, default=str)


def seed_groups(cells: Iterable[CellSpec], store: RunStore, force_ids: set[str]) -> list[list[CellSpec]]:
    """The groups (≥ 2 cells each, in seed order) of ``batch_seeds`` cells that differ only by seed and need
    training: forced (``force_ids``) or without valid trained samples in ``store``. Rows fitted on held-out
    windows (:func:`.execute.uses_floor`) are never grouped."""
    groups: dict[str, dict[str, CellSpec]] = {}
    for cell in cells:
        if cell.batch_seeds and not uses_floor(generator_name(cell)) and _needs_training(cell, store, force_ids):
            groups.setdefault(group_key(cell), {})[cell.cell_id] = cell
    return [sorted(group.values(), key=lambda c: c.seed) for group in groups.values() if len(group) >= 2]


def _needs_training(cell: CellSpec, store: RunStore, force_ids: set[str]) -> bool:
    return (cell.cell_id in force_ids
            or store.cell(cell.cell_id).read_trained("the cell is trained again") is None)


def train_seed_groups(cells: Iterable[CellSpec], out, force_ids: set[str], *,
                      progress_factory: Callable | None = None) -> GroupsResult:
    """Train every group of :func:`seed_groups` in this process (one ``fit_seeds`` call each) and write its
    cells' training outputs; see the module docstring. ``progress_factory(group)`` returns a progress callback
    ``(step, total, losses)`` with a ``close()`` for the group's first seed (optional). Raises only
    :class:`.atomic.ResultsNotWritable` (nothing can be recorded)."""
    store = RunStore(out)
    result = GroupsResult()
    for group in seed_groups(cells, store, force_ids):
        folders = [store.cell(cell.cell_id) for cell in group]
        for cell, folder in zip(group, folders):
            prepare_folder(cell, folder, force=cell.cell_id in force_ids)
            folder.unmark()  # results of other samples are void; no trained marker until the group's are written
            result.prepared.add(cell.cell_id)
        try:
            splits, models, fit = fit_group(group, progress_factory)
        except ResultsNotWritable:
            raise
        except Exception as exc:  # noqa: BLE001 - the executor trains the cells one by one instead
            print(f"warning: --batch-seeds: fitting {_group_label(group)} as one model failed ({_error_text(exc)}); "
                  "its cells train one by one", file=sys.stderr, flush=True)
            continue
        for cell, folder, split, model in zip(group, folders, splits, models):
            failed = _write_cell(cell, folder, split, model, fit)
            if failed is None:
                result.trained.add(cell.cell_id)
            else:
                result.failed.append(failed)
    return result


def fit_group(group: list[CellSpec], progress_factory: Callable | None = None):
    """One ``fit_seeds`` call for ``group`` → ``(splits, fitted models, fit)``: each cell's split and fitted
    copy, and the ``trained.json`` entries of the fit (``fit_s`` per cell, ``batched_seeds``, the group's
    ``peak_memory_mb``). Raises what the fit raises, or :class:`TsbenchError` for a wrong number of models."""
    first = group[0]
    if first.deterministic:  # as run_cell does, before anything computes
        from ..determinism import enable_determinism

        enable_determinism()
    splits = [load_split(cell.dataset, cell.preset, cell.data_seed, cell.protocol) for cell in group]
    bar = progress_factory(group) if progress_factory is not None else None
    callbacks = None if bar is None else [bar] + [None] * (len(group) - 1)
    peak = PeakMemory(first.device_type)
    start = time.perf_counter()
    try:
        with peak:
            models = new_generator(first).fit_seeds([split.train for split in splits],
                                                    [cell.fit_seed for cell in group], callbacks=callbacks)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    models = list(models)
    if len(models) != len(group):
        raise TsbenchError(f"{first.generator}.fit_seeds returned {len(models)} models for {len(group)} seeds")
    fit = {"fit_s": seconds / len(group), "resumed_after_step": 0, "batched_seeds": len(group),
           "peak_memory_mb": None if peak.mb is None else round(peak.mb, 1)}
    return splits, models, fit


def _write_cell(cell: CellSpec, folder: CellFolder, split, model, fit: dict) -> CellOutcome | None:
    """:func:`.execute.write_fit` for one cell of a group; ``None`` when written, else its recorded failure."""
    try:
        write_fit(cell, split, folder, model, fit)
    except ResultsNotWritable:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded in the cell's folder, as run_cell records it
        return record_failure(cell, folder, exc)
    return None


def _group_label(group: list[CellSpec]) -> str:
    return f"{group[0].dataset} / {group[0].generator} / seeds {', '.join(str(c.seed) for c in group)}"


__all__ = ["GroupsResult", "fit_group", "group_key", "seed_groups", "train_seed_groups"]
