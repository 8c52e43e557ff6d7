"""GitHub-flavoured Markdown: pipe tables, **bold** best, <u>underlined</u> second, † worse than the null,
notes below; published rows in italics in a block of their own; cost tables after their leaderboard table."""
from __future__ import annotations

from .ranks import RankResult, rank_caption
from .cost import FIELDS, CostTable
from .table import MISSING, Cell, CellMarkup, PublishedRow, Row, Table, render_cell


def _esc(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


MARKDOWN = CellMarkup(missing=MISSING, plus_minus=" ± ", best="**{}**", second="<u>{}</u>", count=" (n={})",
                      note="<sup>{}</sup>", worse="†")


def cell_markdown(cell: Cell) -> str:
    return render_cell(cell, MARKDOWN)


def _label(row: Row) -> str:
    label = _esc(row.generator)
    return f"{label} [{_esc(row.citation)}]" if row.citation else label


def table_markdown(table: Table) -> str:
    groups = table.column_groups()
    multi = len(groups) > 1
    header = ["Generator"] + [(f"{_esc(c.dataset)}: " if multi else "") + f"{_esc(c.metric)} {c.arrow}".strip()
                              for c in table.columns]
    lines = [f"### {_esc(table.title)}", "", "| " + " | ".join(header) + " |",
             "|:--" + "|--:" * len(table.columns) + "|"]
    for row in table.models:
        lines.append("| " + " | ".join([_label(row)] + [cell_markdown(c) for c in row.cells]) + " |")
    if table.calibration:
        lines.append("| *calibration* " + "| " * len(table.columns) + "|")
        for row in table.calibration:
            lines.append("| " + " | ".join([f"*{_label(row)}*"] + [cell_markdown(c) for c in row.cells]) + " |")
    if table.published:
        lines.append("| *published (not measured here; never ranked)* " + "| " * len(table.columns) + "|")
        lines += [published_markdown(row) for row in table.published]
    lines += ["", _esc(table.caption)]
    if table.legend:
        lines += ["", _esc(table.legend)]
    if table.footnotes:
        lines += [""] + [f"<sup>{i}</sup> {_esc(note)}  " for i, note in enumerate(table.footnotes, 1)]
    text = "\n".join(lines) + "\n"
    return text + "".join("\n" + cost_markdown(c) for c in table.cost)


def published_markdown(row: PublishedRow) -> str:
    """One published row: label, citation and every value in italics."""
    cells = [MISSING if c.missing else f"*{cell_markdown(c)}*" for c in row.cells]
    return "| " + " | ".join([f"*{_esc(row.label)} [{_esc(row.citation)}]*"] + cells) + " |"


def cost_markdown(cost: CostTable) -> str:
    """A cost table: one row per generator (calibration rows in italics), its caption below."""
    lines = [f"#### {_esc(cost.title)}", "", "| " + " | ".join(["Generator"] + cost.headers) + " |",
             "|:--" + "|--:" * (len(FIELDS) - 1) + "|:--|--:|"]
    for row in cost.rows:
        name = f"*{_esc(row.generator)}*" if row.calibration else _esc(row.generator)
        lines.append("| " + " | ".join([name] + [_esc(row.text(f)) for f in FIELDS] + [str(row.n_seeds)]) + " |")
    return "\n".join(lines + ["", _esc(cost.caption)]) + "\n"


def ranks_markdown(result: RankResult) -> str:
    lines = [f"### Average ranks — protocol {_esc(result.protocol)}, preset {_esc(result.preset)}", ""]
    if result.test is not None:
        lines += ["| Generator | avg. rank ↓ |", "|:--|--:|"]
        lines += [f"| {_esc(g)} | {r:.2f} |" for g, r in result.test.avg_ranks.items()]
        lines.append("")
    lines.append(_esc(rank_caption(result)))
    return "\n".join(lines) + "\n"


def to_markdown(tables: list[Table], ranks: list[RankResult] | None = None) -> str:
    """All tables (and rank summaries) as one Markdown document."""
    parts = [table_markdown(t) for t in tables] + [ranks_markdown(r) for r in ranks or []]
    return "\n".join(parts)
