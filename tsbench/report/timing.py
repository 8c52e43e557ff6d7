"""Wall time of a grid, computed from the records alone.

Definition (:data:`DEFINITION`). A record's ``timestamp`` is when its cell's ``cell.json`` was last written,
which the runner does when it starts (or resumes) the cell, before training (``tsbench/runner/execute.py``
writes it, ``tsbench/runner/collect.py`` reads its modification time). So a cell runs from ``timestamp`` to
``timestamp + fit_s + sample_s + Σ metric_s``, with each metric's ``metric_s`` counted once (it is repeated on
every output and repeat row of that metric). The wall time of a set of cells is the latest cell end minus the
earliest cell start. It leaves out what the timed steps do not cover (process start-up, data loading), so it
slightly understates the elapsed time; a cell resumed only to add metrics is stamped at the resume while its
``fit_s`` is the earlier training's, so its end is overstated. Cells without a timestamp are left out and
counted; missing seconds count as 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .aggregate import GROUP

DEFINITION = ("wall time runs from the earliest cell start (a record's `timestamp`: when the runner started the "
              "cell) to the latest cell end (that start plus the cell's `fit_s + sample_s` and each metric's "
              "`metric_s`, counted once per metric); process start-up and data loading are not timed, so it is "
              "a slight underestimate")


@dataclass(frozen=True)
class WallTime:
    seconds: float  # latest end − earliest start
    cells: int  # cells with a timestamp
    cell_seconds: float  # Σ over those cells of their own fit + sample + metric seconds
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    untimed: int  # cells without a timestamp (left out)


def cell_spans(records: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: ``GROUP`` columns, ``start`` (UTC timestamp or NaT), ``seconds`` (its own time)."""
    cell = records["cell_id"].astype(object).where(records["cell_id"].notna(),
                                                   records[["protocol", "preset", "dataset", "generator", "seed"]]
                                                   .astype(str).agg("|".join, axis=1))
    seconds = {c: pd.to_numeric(records[c], errors="coerce").fillna(0.0) for c in ("fit_s", "sample_s", "metric_s")}
    frame = records.assign(_cell=cell, _metric=_metric_display(records), **seconds)
    per_metric = (frame.dropna(subset=["_metric"]).drop_duplicates(["_cell", "_metric"])
                  .groupby("_cell", sort=False)["metric_s"].sum())
    first = frame.drop_duplicates("_cell").set_index("_cell")
    own = first["fit_s"] + first["sample_s"] + per_metric.reindex(first.index).fillna(0.0)
    start = pd.to_datetime(first["timestamp"], utc=True, errors="coerce")
    return pd.DataFrame({**{c: first[c] for c in GROUP}, "start": start, "seconds": own.astype(float)},
                        index=first.index)


def _metric_display(records: pd.DataFrame) -> pd.Series:
    """The metric's display name per record (``metric`` without its ``.output`` suffix); NaN when no metric."""
    out = []
    for metric, output in zip(records["metric"], records["output"]):
        if not isinstance(metric, str):
            out.append(None)
        elif isinstance(output, str) and output != "value" and metric.endswith("." + output):
            out.append(metric[:-len(output) - 1])
        else:
            out.append(metric)
    return pd.Series(out, index=records.index, dtype=object)


def wall_time(records: pd.DataFrame) -> WallTime:
    """The :class:`WallTime` of all cells of ``records`` (see the module docstring)."""
    spans = cell_spans(records)
    timed = spans[spans["start"].notna()]
    if timed.empty:
        return WallTime(0.0, 0, 0.0, None, None, len(spans))
    start = timed["start"].min()
    end = (timed["start"] + pd.to_timedelta(timed["seconds"], unit="s")).max()
    return WallTime(float((end - start).total_seconds()), len(timed), float(timed["seconds"].sum()),
                    start, end, len(spans) - len(timed))


def format_duration(seconds: float) -> str:
    """``'42 s'``, ``'4 min 26 s'`` or ``'1 h 02 min 05 s'`` (rounded to the second)."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
