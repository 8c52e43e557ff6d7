"""LaTeX tables: booktabs rules, ``\\textbf`` best, ``\\underline`` second, ``$^{\\dagger}$`` worse than the null,
``$\\pm$``, notes under the table.

The default output is a ``table`` float to paste into a paper (needs ``\\usepackage{booktabs}``, and
``graphicx`` for tables wider than :data:`WIDE` metric columns, which are scaled to the line width); with
``standalone=True`` it is a complete document that compiles with ``pdflatex``. Citation keys become
``\\cite{key}`` (plain ``[key]`` in the standalone document, which has no bibliography). Published rows are set
in ``\\emph`` under their own rule; cost tables are separate ``table`` floats after their leaderboard table.
"""
from __future__ import annotations

import re

from .ranks import RankResult, rank_caption
from .cost import FIELDS, CostTable
from .table import Cell, CellMarkup, PublishedRow, Row, Table, render_cell

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
            "±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "α": r"$\alpha$", "χ": r"$\chi$",
            "²": r"\textsuperscript{2}", "≥": r"$\geq$", "≤": r"$\leq$", "×": r"$\times$", "—": "---",
            "–": "--", "…": r"\ldots{}", "∞": r"$\infty$", "−": "-", "†": r"\dag{}"}
#: tables with more metric columns than this are scaled to the line width (needs graphicx)
WIDE = 6
_PATTERN = re.compile("|".join(re.escape(k) for k in _SPECIAL))


def escape(text: str) -> str:
    """Escape LaTeX specials and map the few non-ASCII symbols tsbench uses to math/text commands."""
    out = _PATTERN.sub(lambda m: _SPECIAL[m.group(0)], str(text))
    return "{" + out + "}" if out.startswith("[") else out  # a row must not start with '[' after \\


LATEX = CellMarkup(missing="---", plus_minus=r" $\pm$ ", best=r"\textbf{{{}}}", second=r"\underline{{{}}}",
                   count=r" ($n{{=}}{}$)", note=r"\textsuperscript{{{}}}",
                worse=r"$^{\dagger}$")


def cell_latex(cell: Cell) -> str:
    return render_cell(cell, LATEX)


def _label(row: Row, standalone: bool) -> str:
    label = escape(row.generator)
    if row.citation:
        label += rf" [{escape(row.citation)}]" if standalone else rf"~\cite{{{row.citation}}}"
    return label


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _caption(table: Table, standalone: bool) -> str:
    """The escaped caption; the published rows' citations become ``\\cite`` unless ``standalone``."""
    text = escape(table.caption)
    if not standalone:
        for key in dict.fromkeys(row.citation for row in table.published):
            text = text.replace(f" [{escape(key)}]", rf"~\cite{{{key}}}")
    return text


def table_latex(table: Table, *, standalone: bool = False) -> str:
    """One ``table`` float with caption, label, booktabs tabular and notes."""
    n = len(table.columns)
    groups = table.column_groups()
    multi = len(groups) > 1
    label = "tab:tsbench-" + _slug("-".join(table.datasets if not multi else ["all"]) +
                                   f"-{table.protocol}-{table.preset}")
    lines = [r"\begin{table}[tbp]", r"\centering", r"\small", r"\setlength{\tabcolsep}{4pt}",
             rf"\caption{{{escape(table.title)}. {_caption(table, standalone)}}}", rf"\label{{{label}}}",
             *([r"\resizebox{\linewidth}{!}{%"] if n > WIDE else []),
             rf"\begin{{tabular}}{{l{'r' * n}}}", r"\toprule"]
    if multi:
        heads, rules, col = [""], [], 2
        for dataset, width in groups:
            heads.append(rf"\multicolumn{{{width}}}{{c}}{{{escape(dataset)}}}")
            rules.append(rf"\cmidrule(lr){{{col}-{col + width - 1}}}")
            col += width
        lines += [" & ".join(heads) + r" \\", " ".join(rules)]
    lines.append(" & ".join(["Generator"] + [f"{escape(c.metric)} {escape(c.arrow)}".strip()
                                             for c in table.columns]) + r" \\")
    lines.append(r"\midrule")
    for row in table.models:
        lines.append(" & ".join([_label(row, standalone)] + [cell_latex(c) for c in row.cells]) + r" \\")
    if table.calibration:
        lines += [r"\midrule", rf"\multicolumn{{{n + 1}}}{{l}}{{\emph{{Calibration rows}}}} \\"]
        for row in table.calibration:
            lines.append(" & ".join([rf"\emph{{{_label(row, standalone)}}}"] + [cell_latex(c) for c in row.cells])
                         + r" \\")
    if table.published:
        lines += [r"\midrule",
                  rf"\multicolumn{{{n + 1}}}{{l}}{{\emph{{Published (not measured here; never ranked)}}}} \\"]
        lines += [published_latex(row, standalone=standalone) for row in table.published]
    lines += [r"\bottomrule", r"\end{tabular}" + ("}" if n > WIDE else "")]
    if table.footnotes or table.legend:
        lines += [r"\par\smallskip", r"\begin{minipage}{\linewidth}\footnotesize"]
        lines += [rf"{escape(table.legend)}\par"] if table.legend else []
        lines += [rf"\textsuperscript{{{i}}}{escape(note)}\par" for i, note in enumerate(table.footnotes, 1)]
        lines.append(r"\end{minipage}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n" + "".join("\n" + cost_latex(c) for c in table.cost)


def published_latex(row: PublishedRow, *, standalone: bool = False) -> str:
    """One published row in ``\\emph``, its citation as ``\\cite`` (``[key]`` when standalone)."""
    cite = rf" [{escape(row.citation)}]" if standalone else rf"~\cite{{{row.citation}}}"
    cells = ["---" if c.missing else rf"\emph{{{cell_latex(c)}}}" for c in row.cells]
    return " & ".join([rf"\emph{{{escape(row.label)}{cite}}}"] + cells) + r" \\"


def cost_latex(cost: CostTable) -> str:
    """A cost table as its own ``table`` float (calibration rows in ``\\emph``)."""
    label = "tab:tsbench-cost-" + _slug(f"{cost.dataset}-{cost.protocol}-{cost.preset}")
    lines = [r"\begin{table}[tbp]", r"\centering", r"\small", r"\setlength{\tabcolsep}{4pt}",
             rf"\caption{{{escape(cost.title)}. {escape(cost.caption)}}}", rf"\label{{{label}}}",
             rf"\begin{{tabular}}{{l{'r' * (len(FIELDS) - 1)}lr}}", r"\toprule",
             " & ".join(["Generator"] + [escape(h) for h in cost.headers]) + r" \\", r"\midrule"]
    for row in cost.rows:
        name = rf"\emph{{{escape(row.generator)}}}" if row.calibration else escape(row.generator)
        lines.append(" & ".join([name] + [escape(row.text(f)) for f in FIELDS] + [str(row.n_seeds)]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def ranks_latex(result: RankResult) -> str:
    lines = [r"\begin{table}[tbp]", r"\centering", r"\small",
             rf"\caption{{{escape(rank_caption(result))}}}",
             rf"\label{{tab:tsbench-ranks-{_slug(result.protocol + '-' + result.preset)}}}"]
    if result.test is not None:
        lines += [r"\begin{tabular}{lr}", r"\toprule", r"Generator & avg.\ rank $\downarrow$ \\", r"\midrule"]
        lines += [rf"{escape(g)} & {r:.2f} \\" for g, r in result.test.avg_ranks.items()]
        lines += [r"\bottomrule", r"\end{tabular}"]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


PREAMBLE = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{booktabs}
\usepackage{graphicx}
\usepackage[a4paper,landscape,margin=1.5cm]{geometry}
\begin{document}
"""


def to_latex(tables: list[Table], ranks: list[RankResult] | None = None, *, standalone: bool = False) -> str:
    """All tables (and rank tables) as LaTeX; ``standalone=True`` wraps them in a compilable document."""
    body = "\n".join([table_latex(t, standalone=standalone) for t in tables] + [ranks_latex(r) for r in ranks or []])
    if standalone:
        return PREAMBLE + body + "\\end{document}\n"
    return "% tsbench tables: need \\usepackage{booktabs} and \\usepackage{graphicx} (wide tables)\n" + body
