"""The Python API: one call for each of ``tsbench evaluate``, ``tsbench run`` and ``tsbench table``.

>>> import tsbench                                                                   # doctest: +SKIP
>>> scores = tsbench.evaluate(real, synthetic, metrics=["mmd", "discriminative"])    # doctest: +SKIP
>>> records = tsbench.run(["gaussian", "timegan"], datasets=["sines"], seeds=3)      # doctest: +SKIP
>>> print(tsbench.table(records, format="md"))                                      # doctest: +SKIP

Same names, defaults and numbers as the command line: ``tsbench evaluate`` and ``tsbench table`` are thin
layers over :func:`evaluate` and :func:`table`, and :func:`run` calls the runner functions ``tsbench run``
calls (same cells, cache, resume and records). One difference: :func:`evaluate` defaults to the ``quick``
preset (the command to ``paper``). Errors are :class:`tsbench.errors.InputError` with the command's message.

This module imports nothing heavy; torch loads when a generator or metric first runs. It is reached lazily
from ``tsbench.evaluate`` / ``tsbench.run`` / ``tsbench.table`` (see :mod:`tsbench`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .presets import DEFAULT_PRESET
from .protocols import DEFAULT_PROTOCOL

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: columns of :func:`evaluate`'s result, in order (named as in :data:`tsbench.records.COLUMNS`)
SCORE_COLUMNS = ["metric", "metric_name", "metric_version", "output", "higher_is_better", "repeat", "value",
                 "metric_params", "protocol", "preset", "seed"]

#: formats of :func:`table` (``tsbench table --format``)
TABLE_FORMATS = ("md", "latex", "csv", "html", "summary", "records", "json")
#: formats that can show published rows (``published=True``) and the cost tables (``cost=True``)
PUBLISHED_FORMATS = ("md", "latex", "html", "json")
COST_FORMATS = ("md", "latex", "html", "json")


def _names(value) -> list[str] | None:
    """``None`` → None; one string → ``[it]``; any other iterable → a list (like repeating ``-g``/``-m``/``-d``)."""
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


# evaluate ---------------------------------------------------------------------------------------------
def _windows(value, what: str):
    from .data import load_windows_file
    from .validation import check_windows

    if isinstance(value, (str, os.PathLike)):
        return load_windows_file(value)  # as `tsbench evaluate --real FILE`
    return check_windows(value, what=what)


def evaluate(real, synthetic, metrics: str | Iterable[str] | None = None, *, protocol: str = DEFAULT_PROTOCOL,
             preset: str = DEFAULT_PRESET, seed: int = 0, jobs: int = 1, real_test=None, repeats: int | None = None,
             artefacts: str | os.PathLike | None = None) -> pd.DataFrame:
    """Score synthetic windows against real ones, as ``tsbench evaluate``.

    Parameters
    ----------
    real, synthetic : array ``(n, seq_len, n_features)`` or path to a ``.npy``/``.npz``/``.csv`` file
        Real windows (the training set under ``protocol="tsbench"``) and the windows to score.
    metrics : metric display names or wildcards (``-m``), e.g. ``["mmd", "discriminative[iterations=500]"]``;
        default every available metric defined under ``protocol``.
    protocol, preset : the metric settings (``--protocol``, ``--preset``; ``smoke``, ``quick`` or ``paper``).
    seed : base seed; each metric gets its own seed derived from it and its cache key.
    jobs : metrics computed at once in worker processes, one thread each (the values do not change).
    real_test : held-out real windows (default ``real``; the tsbench protocol wants a held-out set).
    repeats : metric repeats (default the protocol's).
    artefacts : folder for the metrics' plots (default none).

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per metric output × repeat, columns :data:`SCORE_COLUMNS`; ``metric`` is the display
        name, suffixed ``.output`` for outputs other than ``value`` (as in the runner's records).
        ``frame.attrs["skipped"]`` lists ``(metric, reason)`` of metrics left out (unavailable or undefined
        under ``protocol``).
    """
    import pandas as pd

    from .evaluation import MetricSpec, compute_metrics
    from .generator import identity_params
    from .records import metric_column, params_json
    from .registry import metrics as registry
    from .runner.grid import select_metrics
    from .validation import check_positive_int, check_same_layout

    jobs = check_positive_int(jobs, what="--jobs")
    real = _windows(real, "real")
    real_test = _windows(real_test, "real_test") if real_test is not None else real
    synthetic = _windows(synthetic, "synthetic")
    check_same_layout(real, real_test)
    check_same_layout(real, synthetic)
    names, skipped = select_metrics(_names(metrics), protocol)
    specs = [MetricSpec.build(d, preset=preset, protocol=protocol, repeats=repeats) for d in names]
    computed = compute_metrics(specs, real, real_test, synthetic, seed=seed, jobs=jobs,
                               artefact_root=Path(artefacts) if artefacts else None)
    rows = []
    for spec, values in zip(specs, computed):
        metric_cls = registry.get(spec.name)
        for output, vals in values.items():
            rows.extend({"metric": metric_column(spec.display, output), "metric_name": spec.name,
                         "metric_version": metric_cls.version, "output": output,
                         "higher_is_better": metric_cls.outputs.get(output), "repeat": repeat, "value": value,
                         "metric_params": params_json(identity_params(spec.params)), "protocol": protocol, "preset": preset, "seed": seed}
                        for repeat, value in enumerate(vals))
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    frame.attrs["skipped"] = list(skipped)
    return frame


# run --------------------------------------------------------------------------------------------------
def run(generators: str | Iterable[str], datasets: str | Iterable[str] | None = None,
        metrics: str | Iterable[str] | None = None, *, seeds: int = 3, preset: str = DEFAULT_PRESET,
        protocol: str = DEFAULT_PROTOCOL, out: str | os.PathLike = "tsbench-runs", jobs: int = 1,
        repeats: int | None = None, n_samples: int | None = None, device: str = "auto", threads: int | None = None,
        timeout: float | None = None, force: Iterable[str] = (), executor=None,
        data_dir: str | os.PathLike | None = None, include: Iterable[str] = (),
        checkpoint_every: str | None = None, deterministic: bool = False, batch_seeds: bool = False,
        progress: bool | None = None) -> pd.DataFrame:
    """Train and score a grid of (dataset, generator, seed) cells into ``out``, resumably, as ``tsbench run``.

    Parameters
    ----------
    generators : generator display names or wildcards (``-g``), e.g. ``["timegan[hidden_dim=48]", "gan*"]``,
        or ``"all"`` (``--all``: every available generator but the corruption rows).
    datasets : dataset names or ``.csv``/``.npy`` files (``-d``; default ``["sines"]``).
    metrics : metric display names or wildcards (``-m``; default every available metric of ``protocol``).
    seeds, preset, protocol, repeats, n_samples, device, threads, timeout, force, jobs, data_dir, include,
    checkpoint_every : as ``--seeds``, ``--preset``, ``--protocol``, ``--repeats``, ``--n-samples``, ``--device``,
        ``--threads``, ``--timeout``, ``--force``, ``--jobs``, ``--data-dir``, ``--include`` (folders of plugin
        files), ``--checkpoint-every`` (``"5m"``, ``"500steps"``, ``"off"``).
    deterministic : ``--deterministic`` (reproducible algorithms on a GPU; part of each cell's identity).
    batch_seeds : ``--batch-seeds``: train each row's seeds together as one batched model — the pending cells
        that differ only by seed are fitted with one ``fit_seeds`` call (each copy equals a separate fit to float
        tolerance; the cells' ids change, their seeds do not). Only generators with ``fit_seeds`` are batched
        (today: ``gan``); others run as usual. A group trains in this process, one group at a time, before the
        executor computes the cells' metrics; ``timeout`` does not bound a group's fit. Recorded as
        ``batched_seeds``.
    out : the results folder (``--out``); finished cells in it are reused, never recomputed.
    executor : where cells run: ``None`` (chosen from ``jobs``, as without ``--executor``) or an executor object,
        e.g. ``tsbench.runner.executors.ProcessExecutor(4)`` or ``tsbench.runner.dask_executor.DaskExecutor
        .from_options(DaskOptions(jobs=4))``.
    progress : progress bars (default: when stderr is a terminal and ``TSBENCH_PROGRESS`` is not ``0``).

    Returns
    -------
    pandas.DataFrame
        Every record of ``out`` (:func:`tsbench.runner.load_records`, columns :data:`tsbench.records.COLUMNS`),
        also written to ``out/records.csv``. Failed cells are records with ``status`` ``failed``/``timeout``
        (never raised); ``frame.attrs["skipped"]`` lists ``(name, reason)`` of unavailable components.
    """
    if data_dir:
        os.environ["TSBENCH_DATA_DIR"] = str(data_dir)
    from .registry import include as include_folder
    from .runner import load_records
    from .runner.collect import write_records_file
    from .runner.grid import plan_cells, run_grid, select_grid

    for folder in _names(include) or ():
        include_folder(folder)
    every = isinstance(generators, str) and generators == "all"  # `--all`: no corruption rows
    gens, mets, skipped = select_grid(None if every else _names(generators), _names(metrics), protocol, all_=every)
    cells = plan_cells(_names(datasets) or ["sines"], gens, mets, seeds=seeds, preset=preset, protocol=protocol,
                       repeats=repeats, device=device, n_samples=n_samples, timeout=timeout,
                       checkpoint_every=checkpoint_every, deterministic=deterministic, batch_seeds=batch_seeds)
    if threads is not None:
        from .evaluation import set_threads
        from .validation import MAX_THREADS, check_positive_int

        set_threads(check_positive_int(threads, what="--threads", maximum=MAX_THREADS))
    run_grid(cells, out, jobs=jobs, executor=executor, threads_per_job=threads, force=list(_names(force) or ()),
             progress=progress)
    write_records_file(out)
    records = load_records(out)
    records.attrs["skipped"] = skipped
    return records


# table ------------------------------------------------------------------------------------------------
def read_records(path) -> pd.DataFrame:
    """Records from a ``.csv`` or ``.parquet`` file (the columns of :data:`tsbench.records.COLUMNS`)."""
    import pandas as pd

    from .errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError("records file not found", expected="an existing .csv or .parquet file",
                         got=str(path), fix="pass the records file written by `tsbench run`")
    if path.suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise InputError("reading Parquet", expected="pyarrow installed", got=str(exc).split(".")[0],
                             fix="pip install pyarrow, or pass the records as CSV") from exc
    if path.suffix == ".csv":
        try:
            return pd.read_csv(path, keep_default_na=True)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError("records file", expected="a CSV written by `tsbench run` or `tsbench table --format "
                             "records`", got=f"unparseable text ({' '.join(str(exc).split())})",
                             fix="pass the records file written by `tsbench run` (OUT/records.csv)") from None
    raise InputError("records file format", expected=".csv or .parquet", got=path.suffix or "no suffix",
                     fix="convert the records to CSV or Parquet")


def load_run_records(out) -> pd.DataFrame:
    """The records of the run folder ``out`` (:func:`tsbench.runner.load_records`)."""
    from .errors import InputError

    try:
        from .runner import load_records
    except ImportError as exc:
        raise InputError("records", expected="a run folder readable by tsbench.runner.load_records",
                         got=f"this tsbench cannot read run folders ({exc})",
                         fix="pass --records FILE (CSV or Parquet)") from exc
    return load_records(out)


def citations_from_registry(names) -> dict[str, str]:
    """``generator_name → citation key`` from registered cards; unknown or broken generators are skipped."""
    from .registry import generators

    out = {}
    for name in names:
        try:
            key = generators.get(name).card.citation_key
        except Exception:  # a missing or broken plugin must not stop a table
            continue
        if key:
            out[name] = key
    return out


def prepare_records(records: pd.DataFrame, *, device_type: str | None = None, precision: str | None = None,
                    citations: bool = True) -> tuple[pd.DataFrame, dict[str, str]]:
    """``(records, citation keys)`` a table is rendered from: non-empty records, selected by hardware."""
    from .errors import InputError
    from .report import select_hardware
    from .report.aggregate import is_calibration

    if len(records) == 0:
        raise InputError("records", expected="at least one record", got="none",
                         fix="run `tsbench run ...` first or check --out / --records")
    if device_type is not None or precision is not None:
        records = select_hardware(records, device_type=device_type, precision=precision)
    keys = {}
    if citations:
        names = [n for n in dict.fromkeys(records["generator_name"].dropna()) if not is_calibration(n)]
        keys = citations_from_registry(names)
    return records, keys


def default_sensitivity(run_folder) -> Path | None:
    """The validate-metrics figures an HTML report shows by default: ``RUN/validate-metrics``, else
    ``results/validate-metrics``, when present."""
    candidates = ([Path(run_folder) / "validate-metrics"] if run_folder is not None else []) + [
        Path("results") / "validate-metrics"]
    return next((c for c in candidates if c.is_dir()), None)


def render_table(records: pd.DataFrame, format: str = "md", *, citations: dict[str, str] | None = None,
                 layout: str = "per-dataset", ranks: bool = True, standalone: bool = False,
                 mix_devices: bool = False, run_folder=None, sensitivity=None, published: bool = False,
                 cost: bool = False) -> str:
    """The text of one ``format`` of prepared records (see :func:`table`)."""
    from .errors import InputError
    from .report import build_tables, rank_results, to_csv, to_html, to_json, to_latex, to_markdown, to_summary

    if format not in TABLE_FORMATS:
        raise InputError("table format", expected=" | ".join(TABLE_FORMATS), got=repr(format),
                         fix="pass one of these formats")
    for what, wanted, allowed in (("published rows", published, PUBLISHED_FORMATS), ("cost tables", cost,
                                                                                    COST_FORMATS)):
        if wanted and format not in allowed:
            raise InputError(what, expected=f"format {' | '.join(allowed)}", got=f"format {format}",
                             fix="render one of those formats")
    citations = citations or {}
    if format == "json":
        return to_json(records, mix_devices=mix_devices, published=published)
    if format == "records":
        return records.to_csv(index=False)
    if format == "csv":
        return to_csv(records, mix_devices=mix_devices)
    if format == "summary":
        return to_summary(records, mix_devices=mix_devices)
    if format == "html":
        return to_html(records, out_dir=run_folder, sensitivity_dir=sensitivity, layout=layout, citations=citations,
                       mix_devices=mix_devices, published=published, cost=cost)
    tables = build_tables(records, layout=layout, citations=citations, mix_devices=mix_devices,
                          published=published, cost=cost)
    rank_tables = rank_results(records, mix_devices=mix_devices) if ranks else None
    return to_markdown(tables, rank_tables) if format == "md" else to_latex(tables, rank_tables, standalone=standalone)


def table(records, format: str = "md", *, layout: str = "per-dataset", ranks: bool = True, standalone: bool = False,
          citations: bool = True, mix_devices: bool = False, device_type: str | None = None,
          precision: str | None = None, run_folder: str | os.PathLike | None = None,
          sensitivity: str | os.PathLike | None = None, published: bool = False, cost: bool = False) -> str:
    """The leaderboard of ``records`` as text, as ``tsbench table``.

    Parameters
    ----------
    records : a records DataFrame (:func:`run`, :func:`tsbench.runner.load_records`), a run folder (``--out``)
        or a records file ``.csv``/``.parquet`` (``--records``).
    format : ``md``, ``latex``, ``csv``, ``html`` (one self-contained report), ``summary`` (which model beats
        the gaussian null on which metric), ``records`` (the tidy records as CSV) or ``json`` (the versioned
        machine-readable leaderboard, docs/leaderboard-json.md).
    layout : ``per-dataset`` (one table per dataset) or ``columns`` (datasets as column groups).
    ranks : md/latex: include the rank tables (``--no-ranks`` is ``ranks=False``).
    standalone : latex: a complete compilable document.
    citations : look up citation keys on the generators' cards (``--no-citations`` is ``citations=False``).
    mix_devices, device_type, precision : as ``--mix-devices``, ``--device-type``, ``--precision``.
    run_folder : html: the run folder whose loss curves and embeddings are shown (default: ``records`` when it
        is a run folder).
    sensitivity : html: folder of validate-metrics figures (default ``RUN/validate-metrics`` or
        ``results/validate-metrics`` when present).
    published, cost : md/latex/html/json: the cited published numbers as marked extra rows (``--published``);
        md/latex/html: a cost table per dataset (``--cost``).
    """
    if isinstance(records, (str, os.PathLike)):
        path = Path(records)
        if path.is_dir():
            run_folder = path if run_folder is None else run_folder
            records = load_run_records(path)
        else:
            records = read_records(path)
    records, keys = prepare_records(records, device_type=device_type, precision=precision, citations=citations)
    if sensitivity is None:
        sensitivity = default_sensitivity(run_folder)
    return render_table(records, format, citations=keys, layout=layout, ranks=ranks, standalone=standalone,
                        mix_devices=mix_devices, run_folder=run_folder, sensitivity=sensitivity,
                        published=published, cost=cost)


__all__ = ["SCORE_COLUMNS", "TABLE_FORMATS", "PUBLISHED_FORMATS", "COST_FORMATS", "evaluate", "run", "table", "read_records", "load_run_records",
           "citations_from_registry", "prepare_records", "default_sensitivity", "render_table"]
