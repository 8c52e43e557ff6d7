"""The layout-neutral leaderboard: :func:`build_tables` turns records into :class:`Table` objects that the
Markdown, LaTeX and HTML writers render.

Rows are generators (models first, then the calibration and corruption rows in a separate block, as the
records' ``role`` column says: :func:`~tsbench.report.aggregate.generator_roles`); columns are
``(dataset, metric)``.
``layout='per-dataset'`` gives one table per dataset, ``layout='columns'`` one table with the datasets as
column groups. Tables never mix protocols or presets: each ``(protocol, preset)`` gets its own tables.

A cell is mean ± std over training seeds of the per-seed mean over metric repeats (see
:mod:`tsbench.report.aggregate`). Each model cell is compared with the gaussian null of its column
(:mod:`tsbench.report.null`): only cells significantly better than the null take part in the best/second
marks of :func:`tsbench.report.stats.marks`, cells significantly worse get a † flag with a legend under the
table, and calibration rows are never marked or flagged; without a null nothing is marked and the caption
says why. Cells without any value show "—" and every failure becomes a numbered footnote. A cell never pools
values from two device types or precisions unless ``mix_devices=True`` (:mod:`tsbench.report.hardware`).

Two optional extras never change a measured cell: ``published=True`` adds :attr:`Table.published` rows —
numbers copied from the papers (:mod:`tsbench.report.published`), only in columns whose dataset, metric,
protocol family and seq_len match, never ranked, marked or flagged, cited in the caption — and ``cost=True``
adds one :class:`~tsbench.report.cost.CostTable` per dataset (:attr:`Table.cost`, :mod:`tsbench.report.cost`).

>>> tables = build_tables(records, layout="per-dataset")  # doctest: +SKIP
>>> print(to_markdown(tables))  # doctest: +SKIP
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import InputError
from .aggregate import GROUP, KEY, aggregate, appearance, check_records, generator_roles, per_seed, row_order
from .cost import CostTable, cost_frame, cost_table
from .null import null_verdicts
from .published import PublishedValue, matches, resolve
from .provenance import caption_text, worse_legend
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
    vs_null: str | None = None  # 'better' | 'worse' | 'not_separated' | None (see tsbench.report.null)

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
    worse: str  # the flag of a cell significantly worse than the null
    escape: object = str


def render_cell(cell: Cell, markup: CellMarkup) -> str:
    """``mean ± std`` with the best/second mark or the worse-than-null flag, the cell's n when it differs,
    and its footnote."""
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
    if cell.vs_null == "worse":
        text += markup.worse
    return text + (markup.count.format(cell.n) if cell.show_n else "") + note


@dataclass(frozen=True)
class Row:
    generator: str
    citation: str | None
    calibration: bool
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class PublishedRow:
    """A row of published numbers (not measured here): ``label`` e.g. ``'TimeGAN (Yoon et al. 2019, Table 2)'``,
    one cell per table column (missing where no published value matches). Its cells never carry a mark, a
    † flag or a count, by construction."""

    label: str
    citation: str
    cells: tuple[Cell, ...]
    entries: tuple[PublishedValue, ...]


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
    legend: str | None = None  # explains the † flag; only when a cell has it
    published: tuple[PublishedRow, ...] = ()  # shown in their own block, after the calibration rows
    cost: tuple[CostTable, ...] = ()  # one per dataset of the table, rendered after it

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
                 datasets=None, generators=None, metrics=None, alpha: float = ALPHA,
                 mix_devices: bool = False, published=False, cost: bool = False) -> list[Table]:
    """Leaderboard tables from tidy records (never modified).

    ``citations`` maps a generator display name or registry name to a citation key (shown next to model
    rows). ``datasets``/``generators``/``metrics`` select and order (default: all, in order of appearance).
    The null comparison uses every generator of the records, selected or not. ``alpha`` is the level of every
    test. ``mix_devices`` lets a cell pool device types/precisions (else :class:`InputError`).
    ``published``: ``True`` for :data:`tsbench.report.published.PUBLISHED` (or a sequence of
    :class:`~tsbench.report.published.PublishedValue`) as extra rows where they match. ``cost``: attach
    the cost tables of :mod:`tsbench.report.cost`.
    """
    entries = resolve(published)
    costs = cost_frame(records) if cost else None
    check_records(records)
    if layout not in LAYOUTS:
        raise InputError("table layout", expected=" | ".join(LAYOUTS), got=repr(layout),
                         fix="pass --layout per-dataset or --layout columns")
    agg = aggregate(records, mix_devices=mix_devices)
    seeds = per_seed(records, mix_devices=mix_devices)
    verdicts = null_verdicts(records, alpha=alpha, seeds=seeds)
    roles = generator_roles(records)
    out = []
    for group_key in dict.fromkeys(zip(*(records[c] for c in GROUP))):
        protocol, preset = group_key
        in_group = (records["protocol"] == protocol) & (records["preset"] == preset)
        recs = records[in_group]
        g_agg = agg[(agg["protocol"] == protocol) & (agg["preset"] == preset)]
        g_seeds = seeds[(seeds["protocol"] == protocol) & (seeds["preset"] == preset)]
        g_verdicts = verdicts[(verdicts["protocol"] == protocol) & (verdicts["preset"] == preset)]
        ds_all = _select(appearance(recs, "dataset"), datasets, "dataset")
        gens = _order_rows(recs, _select(appearance(recs, "generator"), generators, "generator"), roles)
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
            table = _table(title, protocol, preset, columns, gens, g_agg, g_seeds, g_verdicts, sub,
                           citations or {}, alpha, mix_devices, roles)
            if entries:
                table = _with_published(table, entries, sub)
            if costs is not None:
                calib = {g for g in gens if not _is_model(g, roles)}
                table = replace(table, cost=tuple(
                    cost_table(costs, protocol=protocol, preset=preset, dataset=d, generators=gens,
                               calibration=calib) for d in ds))
            out.append(table)
    return out


def seq_len_of(records: pd.DataFrame, dataset: str) -> int | None:
    """The one seq_len the records state for ``dataset``; ``None`` when unknown or not unique."""
    if "seq_len" not in records.columns:
        return None
    values = pd.to_numeric(records.loc[records["dataset"] == dataset, "seq_len"], errors="coerce").dropna()
    distinct = set(values.astype(int))
    return distinct.pop() if len(distinct) == 1 else None


def _published_cell(entry: PublishedValue | None) -> Cell:
    """The published number as printed (a leading zero added: ``.011`` → ``0.011``); never marked."""
    if entry is None:
        return Cell(mean=None, std=None, n=0, value="", std_text="", mark=None, note=None, show_n=False)
    lead = (lambda text: "0" + text if text.startswith(".") else text)
    return Cell(mean=entry.mean, std=entry.spread, n=0, value=lead(entry.value),
                std_text=lead(entry.std) if entry.std is not None else "", mark=None, note=None, show_n=False)


def _with_published(table: Table, entries, recs: pd.DataFrame) -> Table:
    """``table`` with its :class:`PublishedRow` block and the published sources appended to the caption."""
    seq_lens = {d: seq_len_of(recs, d) for d in table.datasets}
    found: dict[tuple, dict[int, PublishedValue]] = {}
    for j, col in enumerate(table.columns):
        for e in entries:
            if matches(e, protocol=table.protocol, dataset=col.dataset, metric=col.metric,
                       seq_len=seq_lens[col.dataset]):
                found.setdefault((e.label, e.citation), {}).setdefault(j, e)
    if not found:
        return table
    rows = []
    for (label, citation), by_column in found.items():
        cells = [_published_cell(by_column.get(j)) for j in range(len(table.columns))]
        rows.append(PublishedRow(label, citation, tuple(cells), tuple(by_column.values())))
    sources = "; ".join(f"{r.label} [{r.citation}]" for r in rows)
    caption = (table.caption + f" Published rows (italic, in their own block at the bottom) are copied from the "
               f"papers, not measured by tsbench, and are never ranked, marked or flagged; a published value is "
               f"shown only in a column with the same dataset, metric, protocol family and seq_len, as mean ± "
               f"std where the paper gives a ± (its own seeds, budget and code). Sources: {sources}.")
    return replace(table, published=tuple(rows), caption=caption)


def _select(available: list, wanted, what: str) -> list:
    if wanted is None:
        return available
    wanted = list(wanted)
    unknown = [w for w in wanted if w not in available]
    if unknown:
        raise InputError(f"{what} not in the records", expected=f"one of: {', '.join(map(str, available))}",
                         got=", ".join(map(str, unknown)), fix=f"check the {what} names (display names)")
    return wanted


def _order_rows(recs: pd.DataFrame, generators: list[str], roles: dict[str, str]) -> list[str]:
    return row_order(generators, roles, dict(zip(recs["generator"], recs["generator_name"])))


def _is_model(generator: str, roles: dict[str, str]) -> bool:
    return roles.get(generator, "model") == "model"


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


def _table(title, protocol, preset, columns, gens, agg, seeds, verdicts, recs, citations, alpha,
           mix_devices, roles) -> Table:
    stats = {(r.dataset, r.generator, r.metric): r for r in agg.itertuples(index=False)}
    values = {key: grp["value"].to_numpy(float)
              for key, grp in seeds.groupby(["dataset", "generator", "metric"], sort=False)}
    verdict = {(r.dataset, r.generator, r.metric): r.vs_null for r in verdicts.itertuples(index=False)}
    null = next(iter(verdicts["null"]), None)
    names = dict(zip(recs["generator"], recs["generator_name"]))
    n_seeds = int(max((stats[k].n for k in stats if k[0] in {c.dataset for c in columns}), default=0))
    multi = len({c.dataset for c in columns}) > 1
    notes: list[str] = []
    unmarked: list[str] = []  # columns with a direction where the null has < 2 seeds
    grid: dict[tuple[int, int], Cell] = {}
    for j, col in enumerate(columns):
        keys = [(col.dataset, g, col.metric) for g in gens]
        present = [stats.get(k) for k in keys]
        d = decimals([s.std for s in present if s is not None], [s.mean for s in present if s is not None])
        if null is not None and col.higher_is_better is not None \
                and len(values.get((col.dataset, null, col.metric), ())) < 2:
            unmarked.append(f"{col.dataset} {col.metric}" if multi else col.metric)
        better = [i for i, key in enumerate(keys) if _is_model(gens[i], roles) and verdict.get(key) == "better"]
        mark_of = dict(zip(better, marks([values.get(keys[i]) for i in better], col.higher_is_better, alpha)))
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
                              note=note, show_n=has and int(s.n) != n_seeds,
                              vs_null=verdict.get(key) if has else None)
    rows = []
    for i, g in enumerate(gens):
        name = names.get(g, g)
        calib = not _is_model(g, roles)
        cite = None if calib else (citations.get(g) or citations.get(name) or None)
        rows.append(Row(g, cite, calib, tuple(grid[i, j] for j in range(len(columns)))))
    caption = caption_text(recs, n_seeds=n_seeds, alpha=alpha, null=null, unmarked=unmarked,
                           mix_devices=mix_devices, key=KEY)
    flagged = any(c.vs_null == "worse" for r in rows for c in r.cells)
    legend = worse_legend(null, alpha=alpha, n_seeds=n_seeds) if flagged else None
    return Table(title, protocol, preset, tuple(columns), tuple(rows), tuple(notes), caption, n_seeds, legend)
