"""Published rows (``tsbench table --published``): the papers' numbers beside the measured rows, only in matching
columns, never ranked, marked or flagged, cited in the caption — in Markdown, LaTeX and HTML."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from fixtures.records import make_records

from tsbench.cli import main
from tsbench.report import PUBLISHED, build_tables, to_html, to_latex, to_markdown
from tsbench.registry import generators
from tsbench.report.published import PublishedValue, dataset_base, matches, protocol_family

PROTOCOLS_MD = Path(__file__).resolve().parents[2] / "shared" / "docs" / "PROTOCOLS.md"
METRICS = {"discriminative": False, "predictive": False, "mmd": False}
TIMEGAN = "TimeGAN (Yoon et al. 2019, Table 2)"
YOON = tuple(e for e in PUBLISHED if e.citation == "yoon2019timegan")
YUAN = tuple(e for e in PUBLISHED if e.citation == "yuan2024diffusionts")


def _records(protocol="timegan2019@2", seq_len=24, datasets=("sines", "stocks"), metrics=None):
    records = make_records(seeds=3, repeats=1, datasets=datasets, metrics=metrics or METRICS, failures=False)
    records["protocol"] = protocol
    records["seq_len"] = seq_len
    return records


@pytest.fixture(scope="module")
def records():
    return _records()


def test_the_published_table_holds_exactly_the_numbers_of_the_protocol_notes():
    """Every value is copied from PROTOCOLS.md; no table or page is stated that the notes do not give."""
    got = {(e.model, e.metric, e.dataset): (e.value, e.std, e.table, e.page, e.seq_len, e.protocol)
           for e in YOON}
    expected = {}
    rows = [("TimeGAN", "discriminative", (".011", ".102", ".236"), (".008", ".021", ".012"), "Table 2"),
            ("TimeGAN", "predictive", (".093", ".038", ".273"), (".019", ".001", ".004"), "Table 2"),
            ("C-RNN-GAN", "discriminative", (".229", ".399", ".499"), (None,) * 3, "Table 2"),
            ("C-RNN-GAN", "predictive", (".127", ".038", ".483"), (None,) * 3, "Table 2"),
            ("Original data", "predictive", (".094", ".036", ".250"), (None,) * 3, "")]
    for model, metric, values, stds, table in rows:
        for dataset, value, std in zip(("sines", "stocks", "energy"), values, stds):
            expected[(model, metric, dataset)] = (value, std, table, "", 24, "timegan2019")
    assert got == expected
    assert len(YOON) == len(expected)
    assert {e.reference for e in YOON} == {"Yoon et al. 2019"}


#: Diffusion-TS (Yuan & Qiao, ICLR 2024, arXiv 2403.01742), Table 1 "Results of 24-length Time-series Generation",
#: hand-copied (value±std as printed) from the authors' image of the table in github.com/Y-debug-sys/Diffusion-TS
#: (README "Main Results", figures/fig2.jpg, commit 4f1e2fd) and checked against the same numbers quoted in
#: ST-Diff's Table 1. Columns Sines, Stocks, Energy; the ETTh column is left out (not known to be ETTh1), as are
#: the MuJoCo and fMRI columns (no tsbench data set) and the Diffwave, DiffTime and Cot-GAN rows. No page is shown.
DIFFUSION_TS_TABLE1 = {
    ("Diffusion-TS", "context_fid"): ("0.006±.000", "0.147±.025", "0.089±.024"),
    ("TimeGAN", "context_fid"): ("0.101±.014", "0.103±.013", "0.767±.103"),
    ("TimeVAE", "context_fid"): ("0.307±.060", "0.215±.035", "1.631±.142"),
    ("Diffusion-TS", "correlational"): ("0.015±.004", "0.004±.001", "0.856±.147"),
    ("TimeGAN", "correlational"): ("0.045±.010", "0.063±.005", "4.010±.104"),
    ("TimeVAE", "correlational"): ("0.131±.010", "0.095±.008", "1.688±.226"),
    ("Diffusion-TS", "discriminative"): ("0.006±.007", "0.067±.015", "0.122±.003"),
    ("TimeGAN", "discriminative"): ("0.011±.008", "0.102±.021", "0.236±.012"),
    ("TimeVAE", "discriminative"): ("0.041±.044", "0.145±.120", "0.499±.000"),
    ("Diffusion-TS", "predictive"): ("0.093±.000", "0.036±.000", "0.250±.000"),
    ("TimeGAN", "predictive"): ("0.093±.019", "0.038±.001", "0.273±.004"),
    ("TimeVAE", "predictive"): ("0.093±.000", "0.039±.000", "0.292±.000"),
}


def test_the_diffusion_ts_rows_are_exactly_the_hand_copied_table():
    got = {(e.model, e.metric, e.dataset): (f"{e.value}±{e.std}", e.table, e.page, e.seq_len, e.protocol,
                                            e.citation, e.reference) for e in YUAN}
    expected = {(model, metric, dataset): (cell, "Table 1", "", 24, "timegan2019", "yuan2024diffusionts",
                                           "Yuan and Qiao 2024")
                for (model, metric), cells in DIFFUSION_TS_TABLE1.items()
                for dataset, cell in zip(("sines", "stocks", "energy"), cells)}
    assert got == expected
    assert len(YUAN) == len(expected) == 36
    assert len(PUBLISHED) == len(YOON) + len(YUAN)
    assert all("Table 1" in e.source and "2403.01742" in e.source for e in YUAN)
    assert not any(e.dataset == "etth1" for e in PUBLISHED)
    # TimeGAN's own Table 2 numbers, repeated in Diffusion-TS's TimeGAN row
    for metric in ("discriminative", "predictive"):
        assert [(e.value.lstrip("0"), e.std) for e in YUAN if (e.model, e.metric) == ("TimeGAN", metric)] == \
            [(e.value, e.std) for e in YOON if (e.model, e.metric) == ("TimeGAN", metric)]


def test_the_citation_keys_are_the_generators_cards():
    """Each number cites the paper it was copied from, by the key on that paper's generator card (the TimeGAN and
    TimeVAE rows of Diffusion-TS's Table 1 are Yuan & Qiao's numbers, so they cite Diffusion-TS)."""
    key = {name: generators.get(name).card.citation_key for name in ("timegan", "diffusion_ts", "timevae")}
    assert {e.citation for e in YOON} == {key["timegan"]}
    assert {e.citation for e in YUAN} == {key["diffusion_ts"]}
    assert key["timevae"] == "desai2021timevae" and key["timevae"] not in {e.citation for e in PUBLISHED}


def _bullets(text: str) -> list[str]:
    """The notes' bullets, each with its indented continuation lines joined by a space."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith("  ") and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def test_published_numbers_are_the_lines_of_protocols_md():
    if not PROTOCOLS_MD.is_file():
        pytest.skip(f"{PROTOCOLS_MD} not found")
    text = PROTOCOLS_MD.read_text()
    bullets = _bullets(text)
    timegan = next(b for b in bullets if b.startswith("- Published (Table 2, seq_len 24"))
    crnngan = next(b for b in bullets if "TimeGAN Table 2 baseline numbers for C-RNN-GAN" in b)
    original = next(b for b in bullets if 'Published "Original"' in b)
    by = {}
    for e in YOON:
        by.setdefault((e.model, e.metric), []).append(e)
    for (model, metric), entries in by.items():
        if model == "TimeGAN":  # "discriminative .011±.008 / .102±.021 / .236±.012"
            assert f"{metric} " + " / ".join(f"{e.value}±{e.std}" for e in entries) in timegan, metric
        elif model == "C-RNN-GAN":
            assert f"{metric} " + " / ".join(e.value for e in entries) in crnngan, metric
        else:
            assert metric == "predictive" and "Predictive score" in original
            assert 'Published "Original" (real data in place of synthetic): ' + \
                " / ".join(e.value for e in entries) in original
    assert "Table" not in original  # so the Original row states no table
    assert "page" not in text.lower()  # so no entry may state a page


def test_published_rows_render_in_every_format_with_the_citation_in_the_caption(records):
    tables = build_tables(records, published=True)
    sines, stocks = tables
    assert [r.label for r in sines.published] == [TIMEGAN, "C-RNN-GAN (Yoon et al. 2019, Table 2)",
                                                  "Diffusion-TS (Yuan and Qiao 2024, Table 1)",
                                                  "TimeGAN (Yuan and Qiao 2024, Table 1)",
                                                  "TimeVAE (Yuan and Qiao 2024, Table 1)",
                                                  "Original data (Yoon et al. 2019)"]
    md = to_markdown(tables)
    assert f"| *{TIMEGAN} [yoon2019timegan]* | *0.011 ± 0.008* | *0.093 ± 0.019* | — |" in md
    assert "| *C-RNN-GAN (Yoon et al. 2019, Table 2) [yoon2019timegan]* | *0.399* | *0.038* | — |" in md
    assert "| *published (not measured here; never ranked)* |" in md
    assert md.count(f"Sources: {TIMEGAN} [yoon2019timegan]") == 2
    tex = to_latex(tables)
    assert (rf"\emph{{{TIMEGAN}~\cite{{yoon2019timegan}}}} & \emph{{0.011 $\pm$ 0.008}} & "
            rf"\emph{{0.093 $\pm$ 0.019}} & --- \\") in tex
    assert r"\emph{Published (not measured here; never ranked)}" in tex
    caption = next(line for line in tex.splitlines() if line.startswith(r"\caption{sines"))
    assert rf"Sources: {TIMEGAN}~\cite{{yoon2019timegan}}" in caption
    standalone = to_latex(tables, standalone=True)
    assert r"\cite" not in standalone and "[yoon2019timegan]" in standalone
    html = to_html(records, published=True)
    assert html.count('<tbody class="published">') == 2
    assert (f"<tr><td><i>{TIMEGAN}</i> <cite>[yoon2019timegan]</cite></td><td><i>0.102 ± 0.021</i></td>"
            f"<td><i>0.038 ± 0.001</i></td><td>—</td></tr>") in html
    assert f"Sources: {TIMEGAN} [yoon2019timegan]" in html


DTS = "Diffusion-TS (Yuan and Qiao 2024, Table 1)"
TABLE1_METRICS = {"context_fid": False, "correlational": False, "discriminative": False, "predictive": False}


def test_the_diffusion_ts_rows_render_in_every_format_unmarked_with_citation_and_table():
    records = _records(datasets=("sines", "energy"), metrics=TABLE1_METRICS)
    tables = build_tables(records, published=True)
    sines, energy = tables
    labels = [DTS, "TimeGAN (Yuan and Qiao 2024, Table 1)", "TimeVAE (Yuan and Qiao 2024, Table 1)"]
    for table in tables:
        assert [r.label for r in table.published if r.citation == "yuan2024diffusionts"] == labels
        assert [c.metric for c in table.columns] == ["context_fid", "correlational", "discriminative", "predictive"]
    dts = next(r for r in energy.published if r.label == DTS)
    assert [(c.value, c.std_text) for c in dts.cells] == [("0.089", "0.024"), ("0.856", "0.147"),
                                                          ("0.122", "0.003"), ("0.250", "0.000")]
    assert all(c.mark is None and c.vs_null is None and c.note is None and not c.show_n for c in dts.cells)
    md = to_markdown(tables)
    assert (f"| *{DTS} [yuan2024diffusionts]* | *0.006 ± 0.000* | *0.015 ± 0.004* | *0.006 ± 0.007* | "
            f"*0.093 ± 0.000* |") in md
    assert md.count(f"{DTS} [yuan2024diffusionts]") == 4  # a row and the caption's source, in each table
    tex = to_latex(tables)
    assert rf"\emph{{{DTS}~\cite{{yuan2024diffusionts}}}} & " in tex
    caption = next(line for line in tex.splitlines() if line.startswith(r"\caption{energy"))
    assert rf"{DTS}~\cite{{yuan2024diffusionts}}" in caption
    html = to_html(records, published=True)
    assert f"<tr><td><i>{DTS}</i> <cite>[yuan2024diffusionts]</cite></td>" in html
    assert f"Sources: {DTS} [yuan2024diffusionts]; " in html and f"; {TIMEGAN} [yoon2019timegan]" in html
    for line in md.splitlines():
        if "Yuan and Qiao 2024" in line and line.startswith("| *"):
            assert "**" not in line and "<u>" not in line and "†" not in line and "(n=" not in line
    for line in tex.splitlines():
        if "Yuan and Qiao 2024" in line and not line.startswith(r"\caption"):
            assert r"\textbf" not in line and r"\underline" not in line and r"\dagger" not in line
    for block in re.findall(r'<tbody class="published">(.*?)</tbody>', html):
        assert "<b>" not in block and "<u>" not in block and "†" not in block
    # the measured rows are exactly those of the table without published rows
    for a, b in zip(build_tables(records), tables):
        assert a.rows == b.rows and a.footnotes == b.footnotes and a.legend == b.legend


def test_published_rows_are_off_by_default(records):
    assert all(not t.published for t in build_tables(records))
    assert "Yoon et al." not in to_markdown(build_tables(records)) + to_html(records)


def test_published_rows_are_never_ranked_marked_or_flagged(records):
    """Published TimeGAN (0.011) beats every measured row; the measured marks must not move, and no published
    cell may carry a mark, a † flag or a count."""
    plain = build_tables(records)
    with_published = build_tables(records, published=True)
    for a, b in zip(plain, with_published):
        assert a.rows == b.rows and a.footnotes == b.footnotes and a.legend == b.legend
        for row in b.published:
            for cell in row.cells:
                assert cell.mark is None and cell.vs_null is None and not cell.show_n and cell.note is None
    md = to_markdown(with_published)
    tex = to_latex(with_published)
    html = to_html(records, published=True)
    for line in md.splitlines():
        if "Yoon et al. 2019" in line and line.startswith("| *"):
            assert "**" not in line and "<u>" not in line and "†" not in line and "(n=" not in line
    for line in tex.splitlines():
        if "Yoon et al. 2019" in line and not line.startswith(r"\caption"):
            assert r"\textbf" not in line and r"\underline" not in line and r"\dagger" not in line
    block = re.search(r'<tbody class="published">(.*?)</tbody>', html).group(1)
    assert "<b>" not in block and "<u>" not in block and "†" not in block


@pytest.mark.parametrize("change", ["protocol tsbench@2", "protocol tsbench-chrono@2", "seq_len 48",
                                    "dataset sines[n_samples=500]", "dataset my_data.csv",
                                    "metric discriminative[iterations=10]", "seq_len unknown", "seq_len mixed"])
def test_a_published_row_never_appears_under_a_non_matching_column(change):
    records = _records(datasets=("sines",))
    if change.startswith("protocol"):
        records["protocol"] = change.split()[1]
    elif change == "seq_len 48":
        records["seq_len"] = 48
    elif change == "seq_len unknown":
        records["seq_len"] = None
    elif change == "seq_len mixed":
        records.loc[records["seed"] == 1, "seq_len"] = 48
    elif change.startswith("dataset"):
        records["dataset"] = change.split()[1]
    else:
        records["metric"] = records["metric"].replace("discriminative", change.split()[1])
        records["metric"] = records["metric"].replace("predictive", "predictive[iterations=10]")
    tables = build_tables(records, published=True)
    assert tables and all(not t.published for t in tables)
    assert "Yoon et al." not in to_markdown(tables) + to_latex(tables) + to_html(records, published=True)


def test_only_matching_columns_get_a_value_in_the_columns_layout():
    """One table with sines at seq_len 24 and stocks at seq_len 48: published values only under sines."""
    records = _records()
    records.loc[records["dataset"] == "stocks", "seq_len"] = 48
    records.loc[records["dataset"] == "sines", "dataset"] = "sines[seq_len=24]"
    (table,) = build_tables(records, layout="columns", published=True)
    timegan = table.published[0]
    shown = {(c.dataset, c.metric): cell.value for c, cell in zip(table.columns, timegan.cells) if not cell.missing}
    assert shown == {("sines[seq_len=24]", "discriminative"): "0.011", ("sines[seq_len=24]", "predictive"): "0.093"}


def test_every_version_of_the_protocol_family_matches():
    entry = PUBLISHED[0]
    assert protocol_family("timegan2019@1") == "timegan2019"
    for tag in ("timegan2019@1", "timegan2019@2"):
        assert matches(entry, protocol=tag, dataset="sines", metric="discriminative", seq_len=24)
    assert not matches(entry, protocol="timegan2019x@2", dataset="sines", metric="discriminative", seq_len=24)
    assert dataset_base("sines[seq_len=24]") == "sines" and dataset_base("sines[seed=1]") is None
    assert dataset_base("data/my series.csv") is None


def test_a_custom_published_table_and_a_bad_one():
    mine = PublishedValue("Mine", "sines", "mmd", "timegan2019", 24, "0.5", None, "me2025", "Me 2025", "", "7",
                          "test")
    (table,) = build_tables(_records(datasets=("sines",)), published=[mine])
    assert [r.label for r in table.published] == ["Mine (Me 2025, p. 7)"]
    with pytest.raises(Exception, match="expected True, False or a sequence of PublishedValue"):
        build_tables(_records(datasets=("sines",)), published=[("Mine", 0.5)])


def test_table_command_published(records, tmp_path, capsys):
    path = tmp_path / "records.csv"
    records.to_csv(path, index=False)
    assert main(["table", "--records", str(path), "--published", "--no-citations"]) == 0
    assert f"| *{TIMEGAN} [yoon2019timegan]* |" in capsys.readouterr().out
    assert main(["table", "--records", str(path), "--format", "csv", "--published"]) == 2
    err = capsys.readouterr().err
    assert "expected --format md | latex | html | json, got --format csv" in err
    other = _records(protocol="tsbench@2")
    other.to_csv(path, index=False)
    assert main(["table", "--records", str(path), "--published", "--no-citations"]) == 0
    captured = capsys.readouterr()
    assert "Yoon et al." not in captured.out
    assert "no published number matches these tables" in captured.err and "protocol timegan2019" in captured.err
