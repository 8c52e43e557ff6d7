"""The layout-neutral leaderboard: :func:`build_tables` turns records into :class:`Table` objects that the
Markdown, LaTeX and HTML writers render.

Rows are generators (models first, then the calibration rows of
:data:`~tsbench.report.aggregate.CALIBRATION` in a separate block); columns are ``(dataset, metric)``.
``layout='per-dataset'`` gives one table per dataset, ``layout='columns'`` one table with the datasets as
column groups. Tables never mix protocols or presets: each ``(protocol, preset)`` gets its own tables.

A cell is mean ± std over training seeds of the per-seed mean over metric repeats (see
:mod:`tsbench.report.aggregate`); marks follow :func:`tsbench.report.stats.marks` among the model rows;
cells without any value show "—" and every failure becomes a numbered footnote.

>>> tables = build_tables(records, layout="per-dataset")  # doctest: +SKIP
>>> print(to_markdown(tables))  # doctest: +SKIP
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .aggregate import CALIBRATION, GROUP, aggregate, appearance, check_records, is_calibration, per_seed
from .provenance import caption_text
from .stats import ALPHA, marks

LAYOUTS = ("per-dataset", "columns")
MISSING = "—"
_NOTE_CHARS = 240


@dataclass(frozen=True)
class Column:
    dataset: str
    metric: str
    higher_is_better: bool | None

    @property
    def arrow(self) -> str:
        return {True: "↑", False: "↓"}.get(self.higher_is_better, "")


@dataclass(frozen=True)
class Cell:
    """One table cell; ``value``/``std`` are the formatted numbers ("" when absent)."""

    mean: float | None
    std: float | None
    n: int
    value: str
    std_text: str
    mark: str | None  # 'best' | 'second' | None
    note: int | None  # footnote number
    show_n: bool  # n differs from the table's usual n, so the cell states it

    @property
    def missing(self) -> bool:
        return self.mean is None


@dataclass(frozen=True)
class CellMarkup:
    """How one output format writes a cell: ``{}`` in each template is replaced by the (escaped) text."""

    missing: str
    plus_minus: str
    best: str
    second: str
    count: str
    note: str
    escape: object = str


def render_cell(cell: Cell, markup: CellMarkup) -> str:
    """``mean ± std`` with the best/second mark, the cell's n when it differs, and its footnote."""
    note = markup.note.format(cell.note) if cell.note else ""
    if cell.missing:
        return markup.missing + note
    text = markup.escape(cell.value)
    if cell.std_text:
        text += markup.plus_minus + markup.escape(cell.std_text)
    if cell.mark == "best":
        text = markup.best.format(text)
    elif cell.mark == "second":
        text = markup.second.format(text)
    return text + (markup.count.format(cell.n) if cell.show_n else "") + note


@dataclass(frozen=True)
class Row:
    generator: str
    citation: str | None
    calibration: bool
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    title: str
    protocol: str
    preset: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    footnotes: tuple[str, ...]
    caption: str
    n_seeds: int

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(c.dataset for c in self.columns))

    def column_groups(self) -> list[tuple[str, int]]:
        """``(dataset, number of columns)`` in order."""
        return [(d, sum(c.dataset == d for c in self.columns)) for d in self.datasets]

    @property
    def models(self) -> list[Row]:
        return [r for r in self.rows if not r.calibration]

    @property
    def calibration(self) -> list[Row]:
        return [r for r in self.rows if r.calibration]


def headline_metrics(records: pd.DataFrame) -> list[str]:
    """Metric columns shown by default: each metric's main output plus outputs with a direction
    (diagnostics such as ``mmd.bandwidth`` or the embeddings' descriptors stay in the records only)."""
    done = records.dropna(subset=["metric"])
    keep = (done["output"] == "value") | done["higher_is_better"].notna() | done["output"].isna()
    return list(dict.fromkeys(done.loc[keep, "metric"]))


def build_tables(records: pd.DataFrame, *, layout: str = "per-dataset", citations: dict[str, str] | None = None,
                 datasets=None, generators=None, metrics=None, alpha: float = ALPHA) -> list[Table]:
    """Leaderboard tables from tidy records (never modified).

    ``citations`` maps a generator display name or registry name to a citation key (shown next to model
    rows). ``datasets``/``generators``/``metrics`` select and order (default: all, in order of appearance).
    """
    check_records(records)
    if layout not in LAYOUTS:
        raise InputError("table layout", expected=" | ".join(LAYOUTS), got=repr(layout),
                         fix="pass --layout per-dataset or --layout columns")
    agg = aggregate(records)
    seeds = per_seed(records)
    out = []
    for group_key in dict.fromkeys(zip(*(records[c] for c in GROUP))):
        protocol, preset = group_key
        in_group = (records["protocol"] == protocol) & (records["preset"] == preset)
        recs = records[in_group]
        g_agg = agg[(agg["protocol"] == protocol) & (agg["preset"] == preset)]
        g_seeds = seeds[(seeds["protocol"] == protocol) & (seeds["preset"] == preset)]
        ds_all = _select(appearance(recs, "dataset"), datasets, "dataset")
        gens = _order_rows(recs, _select(appearance(recs, "generator"), generators, "generator"))
        candidates = appearance(recs, "metric") if metrics else headline_metrics(recs)
        mets = _select(candidates, metrics, "metric")
        directions = dict(zip(g_agg["metric"], g_agg["higher_is_better"]))
        splits = [[d] for d in ds_all] if layout == "per-dataset" else [ds_all]
        for ds in splits:
            columns = [Column(d, m, directions.get(m)) for d in ds for m in mets
                       if ((g_agg["dataset"] == d) & (g_agg["metric"] == m)).any()]
            if not columns:
                continue
            sub = recs[recs["dataset"].isin(ds)]
            title = (f"{ds[0]}" if len(ds) == 1 else "All datasets") + f" — protocol {protocol}, preset {preset}"
            out.append(_table(title, protocol, preset, columns, gens, g_agg, g_seeds, sub, citations or {},
                              alpha))
    return out


def _select(available: list, wanted, what: str) -> list:
    if wanted is None:
        return available
    wanted = list(wanted)
    unknown = [w for w in wanted if w not in available]
    if unknown:
        raise InputError(f"{what} not in the records", expected=f"one of: {', '.join(map(str, available))}",
                         got=", ".join(map(str, unknown)), fix=f"check the {what} names (display names)")
    return wanted


def _order_rows(recs: pd.DataFrame, generators: list[str]) -> list[str]:
    names = dict(zip(recs["generator"], recs["generator_name"]))
    models = [g for g in generators if not is_calibration(names.get(g, g))]
    calib = [g for g in generators if is_calibration(names.get(g, g))]
    calib.sort(key=lambda g: CALIBRATION.index(str(names.get(g, g))))  # stable: same name keeps its order
    return models + calib


def decimals(stds, means) -> int:
    """Decimals for one column: two significant digits of the median positive std, else three of the
    largest |mean|; clamped to 0..6."""
    stds = [s for s in stds if s is not None and np.isfinite(s) and s > 0]
    means = [abs(m) for m in means if m is not None and np.isfinite(m) and m != 0]
    if stds:
        d = 1 - math.floor(math.log10(float(np.median(stds))))
    elif means:
        d = 2 - math.floor(math.log10(max(means)))
    else:
        d = 3
    return int(min(6, max(0, d)))


def _fmt(x: float, d: int) -> str:
    text = f"{x + 0.0:.{d}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _table(title, protocol, preset, columns, gens, agg, seeds, recs, citations, alpha) -> Table:
    stats = {(r.dataset, r.generator, r.metric): r for r in agg.itertuples(index=False)}
    values = {key: grp["value"].to_numpy(float)
              for key, grp in seeds.groupby(["dataset", "generator", "metric"], sort=False)}
    names = dict(zip(recs["generator"], recs["generator_name"]))
    n_seeds = int(max((stats[k].n for k in stats if k[0] in {c.dataset for c in columns}), default=0))
    notes: list[str] = []
    grid: dict[tuple[int, int], Cell] = {}
    for j, col in enumerate(columns):
        keys = [(col.dataset, g, col.metric) for g in gens]
        present = [stats.get(k) for k in keys]
        d = decimals([s.std for s in present if s is not None], [s.mean for s in present if s is not None])
        model_idx = [i for i, g in enumerate(gens) if not is_calibration(names.get(g, g))]
        col_marks = marks([values.get(keys[i]) for i in model_idx], col.higher_is_better, alpha)
        mark_of = dict(zip(model_idx, col_marks))
        for i, key in enumerate(keys):
            s = stats.get(key)
            has = s is not None and s.n > 0 and s.mean == s.mean
            note_text = s.note if s is not None and s.note else (None if has else "no record: not run")
            note = None
            if note_text:
                note_text = " ".join(str(note_text).split())
                note_text = note_text if len(note_text) <= _NOTE_CHARS else note_text[:_NOTE_CHARS - 1] + "…"
                if note_text not in notes:
                    notes.append(note_text)
                note = notes.index(note_text) + 1
            std_ok = has and s.std == s.std
            grid[i, j] = Cell(mean=float(s.mean) if has else None, std=float(s.std) if std_ok else None,
                              n=int(s.n) if s is not None else 0, value=_fmt(s.mean, d) if has else "",
                              std_text=_fmt(s.std, d) if std_ok else "", mark=mark_of.get(i) if has else None,
                              note=note, show_n=has and int(s.n) != n_seeds)
    rows = []
    for i, g in enumerate(gens):
        name = names.get(g, g)
        calib = is_calibration(name)
        cite = None if calib else (citations.get(g) or citations.get(name) or None)
        rows.append(Row(g, cite, calib, tuple(grid[i, j] for j in range(len(columns)))))
    caption = caption_text(recs, n_seeds=n_seeds, alpha=alpha)
    return Table(title, protocol, preset, tuple(columns), tuple(rows), tuple(notes), caption, n_seeds)
