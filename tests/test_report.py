"""Leaderboard tables: aggregation order, marks, missing cells, calibration block, formats, purity."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from fixtures.records import frame, make_records, record

from tsbench.errors import InputError
from tsbench.report import aggregate, build_tables, cells, read_csv, to_csv, to_latex, to_markdown
from tsbench.report.stats import differs, marks


@pytest.fixture(scope="module")
def records():
    return make_records()


def _cell(table, generator, metric, dataset=None):
    j = next(i for i, c in enumerate(table.columns) if c.metric == metric and (dataset is None or c.dataset == dataset))
    row = next(r for r in table.rows if r.generator == generator)
    return row.cells[j]


def test_pure_functions_do_not_modify_records_and_are_deterministic(records):
    before = records.copy(deep=True)
    first = to_markdown(build_tables(records)), to_latex(build_tables(records, layout="columns")), to_csv(records)
    second = to_markdown(build_tables(records)), to_latex(build_tables(records, layout="columns")), to_csv(records)
    pd.testing.assert_frame_equal(records, before)
    assert first == second


def test_repeats_are_averaged_per_seed_before_the_seed_statistics():
    # seed 0: repeats 1, 3 (mean 2) — seed 1: a single repeat 10 — seed 2: repeats 4, 5, 6 (mean 5)
    values = {0: [1.0, 3.0], 1: [10.0], 2: [4.0, 5.0, 6.0]}
    rows = [record(seed=s, repeat=r, value=v) for s, vs in values.items() for r, v in enumerate(vs)]
    agg = aggregate(frame(rows))
    assert len(agg) == 1
    per_seed = np.array([2.0, 10.0, 5.0])
    assert agg["mean"].iloc[0] == pytest.approx(per_seed.mean())  # 17/3, not the pooled mean 29/6
    assert agg["std"].iloc[0] == pytest.approx(np.sqrt(((per_seed - 17 / 3) ** 2).sum() / 2))  # ddof = 1
    assert agg["n"].iloc[0] == 3


def test_marks_follow_welch_test():
    rng = np.random.default_rng(0)
    far = [np.array([0.10, 0.11, 0.12]), np.array([0.30, 0.31, 0.29]), np.array([0.60, 0.61, 0.59])]
    assert marks(far, higher_is_better=False) == ["best", "second", None]
    assert marks(far, higher_is_better=True) == [None, "second", "best"]
    # best and runner-up overlap within the noise: they tie (both bold); the third is underlined
    tied = [np.array([0.10, 0.20, 0.30]), np.array([0.15, 0.25, 0.35]), np.array([0.90, 0.91, 0.92])]
    assert not differs(tied[0], tied[1])
    assert marks(tied, higher_is_better=False) == ["best", "best", "second"]
    # n < 2 is never marked; no direction, no marks
    assert marks([np.array([0.1]), far[1], far[2]], higher_is_better=False) == [None, "best", "second"]
    assert marks(far, higher_is_better=None) == [None, None, None]
    # constant samples: different means differ, equal means tie
    assert differs(np.array([1.0, 1.0]), np.array([2.0, 2.0]))
    assert not differs(np.array([1.0, 1.0]), np.array([1.0, 1.0]))
    noisy = [rng.normal(0, 1, 3) for _ in range(3)]
    assert all(m in ("best", "second", None) for m in marks(noisy, False))


def test_bold_and_underline_in_every_format(records):
    table = build_tables(records)[0]
    assert _cell(table, "timegan", "mmd").mark == "best"
    assert _cell(table, "gan", "mmd").mark == "second"
    md = to_markdown([table])
    cell = _cell(table, "timegan", "mmd")
    assert f"**{cell.value} ± {cell.std_text}**" in md
    second = _cell(table, "gan", "mmd")
    assert f"<u>{second.value} ± {second.std_text}</u>" in md
    tex = to_latex([table])
    assert rf"\textbf{{{cell.value} $\pm$ {cell.std_text}}}" in tex
    assert rf"\underline{{{second.value} $\pm$ {second.std_text}}}" in tex


def test_calibration_rows_are_never_marked_and_come_after_a_rule(records):
    for table in build_tables(records) + build_tables(records, layout="columns"):
        kinds = [r.calibration for r in table.rows]
        assert kinds == sorted(kinds)  # models first, then calibration
        assert [r.generator for r in table.calibration] == ["real", "gaussian", "shuffle_time"]
        assert all(c.mark is None for r in table.calibration for c in r.cells)
    md = to_markdown(build_tables(records)[:1])
    lines = md.splitlines()
    assert lines.index(next(l for l in lines if l.startswith("| *calibration*"))) < \
        lines.index(next(l for l in lines if l.startswith("| *real*")))
    tex = to_latex(build_tables(records)[:1])
    assert tex.index(r"\emph{Calibration rows}") < tex.index(r"\emph{real}")
    assert tex.count(r"\midrule") == 2


def test_failed_and_missing_cells_show_a_dash_with_the_reason(records):
    sines, stocks = build_tables(records)
    gan_fid = _cell(sines, "gan", "context_fid")
    assert gan_fid.missing and gan_fid.note is not None
    assert "TS2Vec encoder diverged" in sines.footnotes[gan_fid.note - 1]
    md = to_markdown([sines])
    assert f"—<sup>{gan_fid.note}</sup>" in md
    assert f"<sup>{gan_fid.note}</sup> failed: RuntimeError: TS2Vec encoder diverged" in md
    assert rf"---\textsuperscript{{{gan_fid.note}}}" in to_latex([sines])
    # a partly failed cell keeps its value, states n and gets the footnote too
    crnn = _cell(stocks, "crnngan[hidden_dim=8]", "mmd")
    assert not crnn.missing and crnn.n == 2 and crnn.show_n and crnn.note is not None
    assert "non-finite loss" in stocks.footnotes[crnn.note - 1]
    # a generator absent from one dataset: "no record"
    extra = pd.concat([records, frame([record(dataset="sines", generator="nrgan", metric="mmd", value=0.3)])])
    sines2 = build_tables(extra)[0]
    cell = _cell(sines2, "nrgan", "predictive")
    assert cell.missing and "no record" in sines2.footnotes[cell.note - 1]


def test_caption_states_statistic_protocol_and_provenance(records):
    caption = build_tables(records)[0].caption
    for text in ("ddof = 1", "n = 3 training seeds", "2 metric repeats", "Welch", "tsbench@1", "preset quick",
                 "seeds 0, 1, 2", "0.1.0 (git 0123456)", "cpu on testhost", "2025-01-02"):
        assert text in caption


def test_layouts_and_citations(records):
    per = build_tables(records, citations={"timegan": "yoon2019"})
    assert [t.datasets for t in per] == [["sines"], ["stocks"]]
    wide = build_tables(records, layout="columns", citations={"timegan": "yoon2019"})
    assert len(wide) == 1 and wide[0].column_groups() == [("sines", 4), ("stocks", 4)]
    tex = to_latex(wide)
    assert r"\multicolumn{4}{c}{sines} & \multicolumn{4}{c}{stocks}" in tex
    assert r"timegan~\cite{yoon2019}" in tex and r"\cmidrule(lr){2-5} \cmidrule(lr){6-9}" in tex
    assert "timegan [yoon2019]" in to_markdown(per)
    with pytest.raises(InputError):
        build_tables(records, layout="rows")
    with pytest.raises(InputError):
        build_tables(records, metrics=["nope"])


def test_protocols_get_separate_tables(records):
    other = records.assign(protocol="timegan2019@1")
    tables = build_tables(pd.concat([records, other], ignore_index=True))
    assert [(t.protocol, t.datasets[0]) for t in tables] == [
        ("tsbench@1", "sines"), ("tsbench@1", "stocks"), ("timegan2019@1", "sines"), ("timegan2019@1", "stocks")]


def test_latex_structure_and_escaping(records):
    tex = to_latex(build_tables(records))
    assert tex.count(r"\begin{table}") == tex.count(r"\end{table}") == 2
    assert tex.count(r"\toprule") == tex.count(r"\bottomrule") == 2
    assert "crnngan[hidden\\_dim=8]" in tex and "context\\_fid $\\downarrow$" in tex
    body = tex.split(r"\begin{tabular}")[1].split(r"\end{tabular}")[0]
    assert all(line.count("&") == 4 for line in body.splitlines() if line.endswith(r"\\") and "multicolumn" not in line)
    standalone = to_latex(build_tables(records), standalone=True)
    assert standalone.startswith(r"\documentclass") and standalone.rstrip().endswith(r"\end{document}")
    assert r"\usepackage{booktabs}" in standalone and r"\cite{" not in standalone


def test_csv_round_trip(records, tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text(to_csv(records))
    back = read_csv(path)
    pd.testing.assert_frame_equal(back, cells(records), check_dtype=False)
    pd.testing.assert_frame_equal(back.drop(columns="vs_null"), aggregate(records), check_dtype=False)
    assert list(back.columns[:5]) == ["protocol", "preset", "dataset", "generator", "metric"]
    assert {"mean", "std", "n", "vs_null"} <= set(back.columns)


def test_number_formatting_uses_std_precision():
    rows = [record(generator=g, seed=s, value=v) for g, vals in
            {"gan": [0.1234, 0.1250, 0.1270], "timegan": [0.0512, 0.0530, 0.0551]}.items()
            for s, v in enumerate(vals)]
    table = build_tables(frame(rows))[0]
    assert _cell(table, "gan", "mmd").value == "0.1251"  # std ≈ 0.0018 → two significant digits
    assert _cell(table, "timegan", "mmd").std_text == "0.0020"


def test_bad_records_are_input_errors():
    with pytest.raises(InputError, match="records"):
        build_tables(pd.DataFrame({"a": [1]}))
    with pytest.raises(InputError):
        to_csv([1, 2])


def test_csv_text_is_parseable(records):
    df = pd.read_csv(io.StringIO(to_csv(records)))
    assert len(df) == len(aggregate(records))
