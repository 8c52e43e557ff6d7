"""Best marks only for models that beat the gaussian null; models worse than the null are flagged in every format."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from fixtures.records import frame, record

from tsbench.report import build_tables, read_csv, to_csv, to_html, to_latex, to_markdown

LEGEND = "significantly worse than the gaussian null (one-sided Welch t-test"


def _records(columns: dict, *, higher_is_better=False, dataset="sines") -> pd.DataFrame:
    """``columns``: metric → {generator: per-seed values}."""
    rows = [record(dataset=dataset, generator=g, metric=m, seed=s, value=v, higher_is_better=higher_is_better)
            for m, gens in columns.items() for g, vals in gens.items() for s, v in enumerate(vals)]
    return frame(rows)


def _cell(table, generator, metric="mmd"):
    j = next(i for i, c in enumerate(table.columns) if c.metric == metric)
    return next(r for r in table.rows if r.generator == generator).cells[j]


def test_models_worse_than_the_null_get_no_mark_and_a_dagger_in_every_format():
    records = _records({"mmd": {"gan": [0.50, 0.52, 0.48], "timegan": [0.30, 0.31, 0.29],
                                "gaussian": [0.20, 0.21, 0.19], "real": [0.0, 0.001, 0.0]}})
    (table,) = build_tables(records)
    gan, timegan = _cell(table, "gan"), _cell(table, "timegan")
    assert gan.mark is None and timegan.mark is None  # the old rule made timegan bold, gan underlined
    assert gan.vs_null == timegan.vs_null == "worse"
    md = to_markdown([table])
    assert f"{timegan.value} ± {timegan.std_text}†" in md and f"{gan.value} ± {gan.std_text}†" in md
    assert "**" not in md.split("\n\n")[1] and "<u>" not in md  # no bold/underline anywhere in the table
    assert f"† {LEGEND}, α = 0.05, n = 3 seeds)" in md
    tex = to_latex([table])
    assert rf"{timegan.value} $\pm$ {timegan.std_text}$^{{\dagger}}$" in tex
    assert r"\textbf" not in tex and r"\underline" not in tex
    assert r"\dag{} significantly worse than the gaussian null (one-sided Welch t-test, $\alpha$ = 0.05" in tex
    html = to_html(records)
    assert f"{timegan.value} ± {timegan.std_text}<sup" in html and "†</sup>" in html and LEGEND in html
    csv = read_csv(io.StringIO(to_csv(records))).set_index("generator")
    assert csv.loc["gan", "vs_null"] == csv.loc["timegan", "vs_null"] == "worse"
    assert csv.loc["gaussian", "vs_null"] is None and csv.loc["real", "vs_null"] is None


@pytest.mark.parametrize("higher_is_better", [False, True])
def test_only_models_significantly_better_than_the_null_are_marked(higher_is_better):
    sign = -1.0 if higher_is_better else 1.0
    values = {"a": [0.10, 0.11, 0.09],  # beats the null
              "b": [0.20, 0.21, 0.19],  # beats the null, clearly behind a
              "c": [0.45, 0.60, 0.40],  # noisy: not separated from the null
              "d": [-0.40, 0.50, 0.00],  # best mean, but too noisy to beat the null
              "gaussian": [0.50, 0.51, 0.49]}
    records = _records({"mmd": {g: [sign * v for v in vs] for g, vs in values.items()}},
                       higher_is_better=higher_is_better)
    (table,) = build_tables(records)
    assert [_cell(table, g).mark for g in "abcd"] == ["best", "second", None, None]
    assert [_cell(table, g).vs_null for g in "abcd"] == ["better", "better", "not_separated", "not_separated"]
    assert "†" not in to_markdown([table])


def test_calibration_rows_are_never_marked_or_flagged():
    records = _records({"mmd": {"gan": [0.10, 0.11, 0.09], "gaussian": [0.50, 0.51, 0.49],
                                "real": [0.0, 0.001, 0.002], "shuffle_time": [0.90, 0.91, 0.92]}})
    (table,) = build_tables(records)
    for row in table.calibration:
        assert all(c.mark is None and c.vs_null is None for c in row.cells)
    md = to_markdown([table])
    assert all("†" not in line for line in md.splitlines() if line.startswith("| *"))
    assert _cell(table, "gan").mark == "best"


def test_without_a_gaussian_row_nothing_is_marked_and_the_caption_says_why():
    records = _records({"mmd": {"gan": [0.50, 0.52, 0.48], "timegan": [0.10, 0.11, 0.09],
                                "real": [0.0, 0.001, 0.0]}})
    (table,) = build_tables(records)
    assert all(c.mark is None and c.vs_null is None for r in table.rows for c in r.cells)
    assert "no gaussian null row" in table.caption
    assert "**" not in to_markdown([table]).split("\n\n")[1]


def test_a_column_where_the_null_has_one_seed_is_not_marked():
    records = _records({"mmd": {"gan": [0.10, 0.11, 0.09], "gaussian": [0.50, 0.51, 0.49]},
                        "acd": {"gan": [0.10, 0.11, 0.09], "gaussian": [0.50]}})
    (table,) = build_tables(records)
    assert _cell(table, "gan", "mmd").mark == "best"
    assert _cell(table, "gan", "acd").mark is None and _cell(table, "gan", "acd").vs_null is None
    assert "acd" in table.caption.split("No marks in")[1]


def test_every_caption_states_the_null_test_and_alpha():
    records = _records({"mmd": {"gan": [0.10, 0.11, 0.09], "gaussian": [0.50, 0.51, 0.49]}})
    for alpha in (0.05, 0.1):
        (table,) = build_tables(records, alpha=alpha)
        assert "one-sided Welch t-test" in table.caption and f"α = {alpha:g}" in table.caption
        assert "gaussian null" in table.caption
    tex = to_latex(build_tables(records))
    assert r"one-sided Welch t-test over seeds ($\alpha$ = 0.05)" in tex
