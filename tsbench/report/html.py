"""A single self-contained HTML report: tables, ranks with the CD diagram, embeddings gallery, loss curves
and the metric-sensitivity figures.

Every image is embedded as a base64 ``data:`` URI, so the one ``.html`` file can be moved, mailed or
committed and still shows every figure. Figures are found in the run folder (layout of
:mod:`tsbench.runner.store`): ``cells/<cell_id>/**/*embedding*.png`` and ``cells/<cell_id>/losses.csv``;
sensitivity figures are the ``*.png`` of ``sensitivity_dir`` (``tsbench validate-metrics`` output).
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from .figures import cd_diagram, loss_figure, png_bytes
from .provenance import provenance
from .ranks import RankResult, rank_caption, rank_results
from .cost import FIELDS, CostTable
from .table import MISSING, Cell, CellMarkup, Table, build_tables, render_cell

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1300px;
color:#1b1b1b;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
table.lb{border-collapse:collapse;margin:.5em 0 .3em;font-variant-numeric:tabular-nums;font-size:.88em}
table.lb th,table.lb td{padding:.25em .6em;text-align:right;white-space:nowrap}
table.lb th:first-child,table.lb td:first-child{text-align:left}
table.lb thead{border-top:2px solid #222;border-bottom:1px solid #222}
table.lb tbody.calibration{border-top:1px solid #222;color:#555;font-style:italic}
table.lb tbody.calibration tr.label td{font-size:.85em;padding-top:.4em}
table.lb tbody.published{border-top:1px solid #222;color:#4a3b00;font-style:italic;background:#fbf8ec}
table.lb tbody.published tr.label td{font-size:.85em;padding-top:.4em}
table.lb{border-bottom:2px solid #222}
.caption{font-size:.85em;color:#333;max-width:1100px}.notes{font-size:.8em;color:#444}
.gallery{display:flex;flex-wrap:wrap;gap:12px}.gallery figure{margin:0;width:420px}
.gallery img{width:100%;border:1px solid #ddd}figcaption{font-size:.8em;color:#333}
figure{margin:0 0 1em}img.wide{max-width:100%;border:1px solid #ddd}.meta{font-size:.85em;color:#333}
"""


def _e(text) -> str:
    return html.escape(str(text))


def _img(data: bytes, alt: str, cls: str = "") -> str:
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return f'<img src="{uri}" alt="{_e(alt)}"' + (f' class="{cls}"' if cls else "") + ">"


HTML = CellMarkup(missing=MISSING, plus_minus=" ± ", best="<b>{}</b>", second="<u>{}</u>", count=" (n={})",
                  note="<sup>{}</sup>", worse='<sup title="significantly worse than the gaussian null">†</sup>',
                  escape=_e)


def cell_html(cell: Cell) -> str:
    return render_cell(cell, HTML)


def table_html(table: Table) -> str:
    groups = table.column_groups()
    head = ""
    if len(groups) > 1:
        head += "<tr><th></th>" + "".join(f'<th colspan="{w}" style="text-align:center">{_e(d)}</th>'
                                          for d, w in groups) + "</tr>"
    head += "<tr><th>Generator</th>" + "".join(f"<th>{_e(c.metric)} {c.arrow}</th>" for c in table.columns) + "</tr>"

    def rows(items):
        out = []
        for row in items:
            name = _e(row.generator) + (f" <cite>[{_e(row.citation)}]</cite>" if row.citation else "")
            out.append(f"<tr><td>{name}</td>" + "".join(f"<td>{cell_html(c)}</td>" for c in row.cells) + "</tr>")
        return "".join(out)

    body = f"<tbody>{rows(table.models)}</tbody>"
    if table.calibration:
        body += (f'<tbody class="calibration"><tr class="label"><td colspan="{len(table.columns) + 1}">'
                 f"calibration rows</td></tr>{rows(table.calibration)}</tbody>")
    if table.published:
        body += (f'<tbody class="published"><tr class="label"><td colspan="{len(table.columns) + 1}">'
                 f"published (not measured here; never ranked)</td></tr>")
        for row in table.published:
            body += (f"<tr><td><i>{_e(row.label)}</i> <cite>[{_e(row.citation)}]</cite></td>"
                     + "".join(f"<td>{MISSING if c.missing else '<i>' + cell_html(c) + '</i>'}</td>"
                               for c in row.cells) + "</tr>")
        body += "</tbody>"
    notes = (f"<div>{_e(table.legend)}</div>" if table.legend else "") + "".join(
        f"<div><sup>{i}</sup> {_e(n)}</div>" for i, n in enumerate(table.footnotes, 1))
    return (f"<h3>{_e(table.title)}</h3><table class=\"lb\"><thead>{head}</thead>{body}</table>"
            f"<p class=\"caption\">{_e(table.caption)}</p>" + (f'<div class="notes">{notes}</div>' if notes else "")
            + "".join(cost_html(c) for c in table.cost))


def cost_html(cost: CostTable) -> str:
    """A cost table (calibration rows in their own tbody) with its caption."""
    head = "<tr><th>Generator</th>" + "".join(f"<th>{_e(h)}</th>" for h in cost.headers) + "</tr>"

    def rows(items):
        return "".join(f"<tr><td>{_e(r.generator)}</td>" + "".join(f"<td>{_e(r.text(f))}</td>" for f in FIELDS)
                       + f"<td>{r.n_seeds}</td></tr>" for r in items)

    body = f"<tbody>{rows([r for r in cost.rows if not r.calibration])}</tbody>"
    calib = [r for r in cost.rows if r.calibration]
    if calib:
        body += f'<tbody class="calibration">{rows(calib)}</tbody>'
    return (f'<h4>{_e(cost.title)}</h4><table class="lb cost"><thead>{head}</thead>{body}</table>'
            f'<p class="caption">{_e(cost.caption)}</p>')


def ranks_html(result: RankResult) -> str:
    out = f"<h3>Average ranks — protocol {_e(result.protocol)}, preset {_e(result.preset)}</h3>"
    if result.test is not None:
        out += ('<table class="lb"><thead><tr><th>Generator</th><th>avg. rank ↓</th></tr></thead><tbody>' +
                "".join(f"<tr><td>{_e(g)}</td><td>{r:.2f}</td></tr>" for g, r in result.test.avg_ranks.items()) +
                "</tbody></table>")
        out += _img(png_bytes(cd_diagram(result.test)), "critical-difference diagram", "wide")
    return out + f'<p class="caption">{_e(rank_caption(result))}</p>'


def _cell_labels(records: pd.DataFrame) -> dict[str, tuple[str, str, str]]:
    """cell_id → (dataset, generator, seed)."""
    cells = records.dropna(subset=["cell_id"]).drop_duplicates("cell_id")
    return {str(r.cell_id): (str(r.dataset), str(r.generator), str(r.seed)) for r in cells.itertuples()}


def embedding_images(out_dir: Path, records: pd.DataFrame, *, first_seed_only: bool = False
                     ) -> list[tuple[str, Path]]:
    """``(label, png path)`` of the embeddings plots in the run folder, sorted by dataset, generator, seed;
    with ``first_seed_only`` one plot per (dataset, generator): its lowest training seed."""
    labels = _cell_labels(records)
    found = []
    for png in sorted(Path(out_dir).glob("cells/*/**/*.png")):
        rel = png.relative_to(out_dir).as_posix().lower()
        if "embedding" not in rel:
            continue
        cell_id = png.relative_to(out_dir).parts[1]
        dataset, generator, seed = labels.get(cell_id, (cell_id, "", ""))
        label = f"{dataset} · {generator} · seed {seed}" if generator else cell_id
        found.append(((dataset, generator, seed, png.name), f"{label} · {png.stem}", png))
    found.sort(key=lambda t: t[0])
    if first_seed_only:
        firsts = {}
        for key, label, png in found:
            firsts.setdefault((key[0], key[1], key[3]), (key, label, png))
        found = list(firsts.values())
    return [(label, png) for _, label, png in found]


def loss_curves(out_dir: Path, records: pd.DataFrame) -> dict[tuple[str, str], dict[str, pd.DataFrame]]:
    """``(dataset, generator) → {"seed s": losses frame}`` for every ``losses.csv`` with ≥ 2 rows."""
    labels = _cell_labels(records)
    out: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}
    for path in sorted(Path(out_dir).glob("cells/*/losses.csv")):
        try:
            df = pd.read_csv(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            continue
        if len(df) < 2:
            continue
        cell_id = path.parent.name
        dataset, generator, seed = labels.get(cell_id, (cell_id, "", ""))
        out.setdefault((dataset, generator), {})[f"seed {seed}" if generator else cell_id] = df
    return out


def to_html(records: pd.DataFrame, *, out_dir=None, sensitivity_dir=None, layout: str = "per-dataset",
            citations: dict[str, str] | None = None, title: str = "tsbench report",
            mix_devices: bool = False, published=False, cost: bool = False) -> str:
    """The report as one HTML string (records are not modified; figures are read from ``out_dir``;
    ``mix_devices``: see :func:`tsbench.report.aggregate.per_seed`; ``published``, ``cost``: see
    :func:`tsbench.report.table.build_tables`)."""
    tables = build_tables(records, layout=layout, citations=citations, mix_devices=mix_devices,
                          published=published, cost=cost)
    p = provenance(records)
    parts = [f"<h1>{_e(title)}</h1>",
             '<p class="meta">' + " · ".join(f"<b>{_e(k)}</b> {_e(v)}" for k, v in p.items()) + "</p>",
             "<h2>Tables</h2>"] + [table_html(t) for t in tables]
    parts += ["<h2>Ranks</h2>"] + [ranks_html(r) for r in rank_results(records, mix_devices=mix_devices)]
    if out_dir is not None and Path(out_dir).is_dir():
        images = embedding_images(Path(out_dir), records, first_seed_only=True)
        if images:
            parts.append("<h2>Embeddings (PCA / t-SNE, real vs synthetic)</h2>"
                         "<p>The first training seed of each row; every seed's plot and coordinates are in its "
                         "cell folder (<code>artefacts/embeddings/</code>).</p><div class=\"gallery\">")
            parts += [f"<figure>{_img(png.read_bytes(), label)}<figcaption>{_e(label)}</figcaption></figure>"
                      for label, png in images]
            parts.append("</div>")
        curves = loss_curves(Path(out_dir), records)
        if curves:
            parts.append("<h2>Loss curves</h2>")
            for (dataset, generator), frames in curves.items():
                name = f"{dataset} · {generator}" if generator else dataset
                parts.append(f"<h3>{_e(name)}</h3>" + _img(png_bytes(loss_figure(frames)), name, "wide"))
    if sensitivity_dir is not None and Path(sensitivity_dir).is_dir():
        figures = sorted(Path(sensitivity_dir).glob("*.png"))
        if figures:
            parts.append("<h2>Metric sensitivity (tsbench validate-metrics)</h2>")
            parts += [f"<figure>{_img(f.read_bytes(), f.stem, 'wide')}<figcaption>{_e(f.stem)}</figcaption></figure>"
                      for f in figures]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n" + "\n".join(parts) +
            "\n</body></html>\n")
