"""Grid expansion and the resumable run loop.

``run_grid`` expands datasets × generators × seeds into cells, skips cells whose results are complete,
runs the rest on an executor, and returns a :class:`RunSummary`. A failing cell never stops the grid; it
is recorded (not cached) and retried by the next run. A lock stops two runs sharing one folder.
"""
from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError
from ..naming import expand_sweeps, parse_display_name
from ..presets import check_preset
from ..protocols import runnable_protocol
from ..validation import check_positive_int
from .cells import CellSpec, MetricSpec, build_cell
from ..seeding import derive_seed
from .execute import CellOutcome, dataset_identity, instantiate_dataset, load_split, parse_checkpoint_every
from .seed_groups import train_seed_groups
from .store import RunStore


@dataclass
class RunSummary:
    cells: list[CellSpec]
    cached: int = 0
    outcomes: list[CellOutcome] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (generator, reason): unavailable plugins

    @property
    def failures(self) -> list[CellOutcome]:
        return [o for o in self.outcomes if o.status != "done"]

    @property
    def trained(self) -> int:
        return sum(o.trained for o in self.outcomes)


#: the most training seeds one grid plans (more is a typo, and planning them would take the machine's memory)
MAX_SEEDS = 1000


def plan_cells(datasets: list[str], generators: list[str], metrics: list[str], *, seeds: int, preset: str,
               protocol: str, repeats: int | None = None, device: str = "cpu",
               n_samples: int | None = None, timeout: float | None = None,
               checkpoint_every: str | None = None, deterministic: bool = False,
               batch_seeds: bool = False) -> list[CellSpec]:
    """All cells of the grid (validates every name and parameter before anything runs). A list value in a
    generator or metric display name is a sweep: ``gan[lr=[1e-3,1e-4]]`` gives the rows ``gan[lr=0.001]`` and
    ``gan[lr=0.0001]``. ``checkpoint_every`` (``"5m"``, ``"500steps"``, ``"off"``): how often resumable fits save
    their training state (default: ``$TSBENCH_CHECKPOINT_SECONDS``/``_STEPS``, else every 60 s of training).
    ``deterministic``: cells run with :func:`tsbench.determinism.enable_determinism` (set here too, so that the
    precision label of the identity says TF32 is off). ``batch_seeds``: the cells of generators with ``fit_seeds``
    train their seeds together (:mod:`.seed_groups`); their ids change, their seeds do not."""
    check_preset(preset)
    if deterministic:
        from ..determinism import enable_determinism

        enable_determinism()
    checkpoint = parse_checkpoint_every(checkpoint_every) if checkpoint_every is not None else None
    generators = [name for display in generators for name in expand_sweeps(display)]
    metrics = [name for display in metrics for name in expand_sweeps(display)]
    protocol = runnable_protocol(protocol).tag
    seeds = check_positive_int(seeds, what="--seeds", maximum=MAX_SEEDS)
    if n_samples is not None:
        n_samples = check_positive_int(n_samples, what="--n-samples")
    if repeats is not None:
        repeats = check_positive_int(repeats, what="--repeats")
    if timeout is not None and not timeout > 0:
        raise InputError("--timeout", expected="a positive number of seconds", got=repr(timeout),
                         fix="pass e.g. --timeout 3600")
    _check_contracts(generators, metrics)
    metric_specs = tuple(MetricSpec.build(m, preset=preset, protocol=protocol, repeats=repeats) for m in metrics)
    cells = []
    for dataset_spec in datasets:
        identity = dataset_identity(instantiate_dataset(dataset_spec, preset))
        # fetch and validate the data now: bad files fail here with one line, before anything is written
        load_split(dataset_spec, preset, derive_seed("data", identity["name"], 0), protocol)
        for generator in generators:
            for seed in range(seeds):
                cells.append(build_cell(dataset_spec, identity, generator, seed, preset=preset, protocol=protocol,
                                        metric_specs=metric_specs, device=device, n_samples=n_samples,
                                        timeout=timeout, checkpoint=checkpoint, deterministic=deterministic,
                                        batch_seeds=batch_seeds))
    return cells


def _check_contracts(generator_names: list[str], metric_names: list[str]) -> None:
    """Refuse a class lacking a required method (``_fit``, ``_sample``, ``_compute``) before anything runs."""
    from ..registry import generators, metrics

    for registry, names in ((generators, generator_names), (metrics, metric_names)):
        for display in names:
            registry.get(parse_display_name(display)[0]).check_contract()


def is_complete(store: RunStore, cell: CellSpec) -> bool:
    """Whether ``cell`` is trained, not failed and has every metric result, all files verified."""
    return store.cell(cell.cell_id).is_complete(m.key for m in cell.metrics)


def matches_force(cell: CellSpec, patterns: list[str]) -> bool:
    """``--force`` patterns match the cell id prefix or ``dataset/generator/seed``."""
    label = f"{cell.dataset}/{cell.generator}/{cell.seed}"
    return any(cell.cell_id.startswith(p) or fnmatch.fnmatchcase(label, p) or fnmatch.fnmatchcase(cell.generator, p)
               for p in patterns)


def run_grid(cells: list[CellSpec], out: str | Path, *, jobs: int = 1, executor=None,
             threads_per_job: int | None = None, force: list[str] = (), progress: bool | None = None) -> RunSummary:
    """Run ``cells`` into ``out``; returns the summary (failures included, never raised).

    Without an ``executor``: in this process for ``jobs == 1``, else a pool of ``min(jobs, pending cells)``
    worker processes (``threads_per_job`` torch threads each, default 1); when fewer cells than ``jobs`` are
    pending, each cell computes its metrics in ``jobs // workers`` processes at once. Before the executor runs,
    the pending ``batch_seeds`` cells that differ only by seed are trained together in this process, one group
    at a time (:mod:`.seed_groups`); the executor then computes their metrics.
    """
    from .executors import InProcessExecutor, ProcessExecutor

    jobs = check_positive_int(jobs, what="--jobs")
    store = RunStore(out)
    store.ensure_writable()
    show = _progress_enabled(progress)
    summary = RunSummary(cells)
    force_ids = {c.cell_id for c in cells if force and matches_force(c, list(force))}
    with store.lock():
        todo = [c for c in cells if c.cell_id in force_ids or not is_complete(store, c)]
        summary.cached = len(cells) - len(todo)
        groups = train_seed_groups(todo, str(store.root), force_ids, progress_factory=_group_bar if show else None)
        force_ids -= groups.prepared  # un-marked before their group fit: forcing them again would retrain them alone
        summary.outcomes.extend(groups.failed)  # outputs of a group fit that failed: recorded, not run again now
        failed_ids = {o.cell_id for o in groups.failed}
        todo = [c for c in todo if c.cell_id not in failed_ids]
        if executor is None:
            workers = min(jobs, max(1, len(todo)))
            if jobs // workers > 1:  # fewer pending cells than --jobs: spare cores compute a cell's metrics at once
                todo = [replace(c, metric_jobs=jobs // workers) for c in todo]
            executor = (ProcessExecutor(workers, threads_per_job=threads_per_job or 1) if workers > 1
                        else InProcessExecutor(_training_bar if show else None))
        bar = _bar(total=len(cells), initial=summary.cached + len(groups.failed), desc="cells", disable=not show)
        for outcome in groups.failed:
            bar.write(f"failed: {outcome.label}: {outcome.error}")
        try:
            for outcome in executor.run(todo, str(store.root), force_ids):
                outcome.trained = outcome.trained or outcome.cell_id in groups.trained
                summary.outcomes.append(outcome)
                bar.update(1)
                if outcome.status != "done":
                    bar.write(f"failed: {outcome.label}: {outcome.error}")
        finally:
            bar.close()
    return summary


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return os.environ.get("TSBENCH_PROGRESS", "1") != "0" and sys.stderr.isatty()


def _bar(**kwargs):
    from tqdm.auto import tqdm

    return tqdm(unit="cell", dynamic_ncols=True, **kwargs)


class _training_bar:
    """Nested bar fed by a generator's progress callback ``(step, total, losses)``."""

    def __init__(self, cell: CellSpec, desc: str | None = None):
        from tqdm.auto import tqdm

        self._bar = tqdm(desc=desc or f"  {cell.generator} seed {cell.seed}", position=1, leave=False,
                         dynamic_ncols=True)

    def __call__(self, step: int, total: int, losses: dict) -> None:
        if self._bar.total != total:
            self._bar.reset(total=total)
        self._bar.n = step
        if losses:
            self._bar.set_postfix({k: f"{v:.3g}" for k, v in list(losses.items())[:3]}, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def _group_bar(group: list[CellSpec]) -> _training_bar:
    """The training bar of a ``--batch-seeds`` group (fed by its first seed's progress)."""
    seeds = ", ".join(str(c.seed) for c in group)
    return _training_bar(group[0], desc=f"  {group[0].generator} seeds {seeds} together")


def select_names(registry, patterns: list[str] | None, *, all_: bool, exclude: frozenset = frozenset()):
    """Expand CLI selections (wildcards, sweeps, ``file.py:Class``); with ``all_`` every registered name (minus
    ``exclude``) that imports.

    Returns ``(names, skipped)`` where ``skipped`` lists ``(name, reason)`` of unavailable plugins.
    """
    if patterns:  # a wildcard skips what does not import (as --all does); a name given exactly must import
        from ..naming import parse_display_name

        names, skipped = [], []
        for pattern in patterns:
            wildcard = any(ch in pattern.split("[")[0] for ch in "*?")
            for display in registry.expand([pattern]):
                entry = registry.entry(parse_display_name(display)[0])
                if not wildcard or entry.available:
                    names.append(display)
                elif (entry.name, entry.error) not in skipped:
                    skipped.append((entry.name, entry.error))
        return list(dict.fromkeys(names)), skipped
    if not all_:
        raise InputError(f"{registry.kind} selection", expected=f"--all or at least one -{registry.kind[0]} NAME",
                         got="neither", fix=f"e.g. `tsbench run --all` or `tsbench run -{registry.kind[0]} NAME`")
    names, skipped = [], []
    for entry in registry.entries():
        if entry.name in exclude:
            continue
        if entry.available:
            names.append(entry.name)
        else:
            skipped.append((entry.name, entry.error))
    return names, skipped


def select_metrics(patterns: list[str] | None, protocol: str):
    """Metric names for ``-m`` patterns; by default every available metric defined under ``protocol``.

    Returns ``(names, skipped)`` with ``(name, reason)`` for unavailable or undefined metrics.
    """
    from ..registry import metrics

    family = runnable_protocol(protocol).metrics  # metrics declare the settings families they support
    names, skipped = select_names(metrics, patterns, all_=True)
    explicit = {name for p in patterns or () if not any(ch in p.partition("[")[0] for ch in "*?")
                for name in metrics.expand([p])}

    def defined(display: str) -> bool:
        return family in metrics.get(parse_display_name(display)[0]).protocols

    # names given exactly are checked (and rejected) by MetricSpec; defaults and wildcard matches are filtered
    undefined = [m for m in names if m not in explicit and not defined(m)]
    if undefined:
        names = [m for m in names if m not in undefined]
        skipped += [(m, f"not defined under --protocol {protocol}") for m in undefined]
    return names, skipped


def select_grid(generator_patterns: list[str] | None, metric_patterns: list[str] | None, protocol: str, *,
                all_: bool = False):
    """``(generators, metrics, skipped)`` of a grid, as ``tsbench run`` and :func:`tsbench.run` select them:
    ``all_`` without generator patterns means every available generator except the corruption rows (those
    belong to ``tsbench validate-metrics``; select them with ``-g``); metrics default to every available one
    defined under ``protocol``."""
    from ..registry import generators

    every = all_ and not generator_patterns
    corruptions = frozenset(generators.names(role="corruption")) if every else frozenset()
    gens, skipped = select_names(generators, generator_patterns, all_=all_, exclude=corruptions)
    mets, skipped_metrics = select_metrics(metric_patterns, protocol)
    return gens, mets, skipped + skipped_metrics

