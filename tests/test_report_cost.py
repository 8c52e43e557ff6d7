"""Cost tables (``tsbench table --cost``): parameters, fit time, sampling time per 1000 windows, peak memory and
device per generator, mean over seeds, read from the records; "–" where the records lack a value."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from fixtures.records import frame, make_records, record

from tsbench.cli import main
from tsbench.report import build_tables, cost_frame, to_html, to_latex, to_markdown
from tsbench.report.cost import MISSING, format_number


def _cells(rows_per_cell=3, **extra):
    """timegan on sines, seeds 0-2 with fit_s 10/20/30, sample_s 1/2/4 for n_samples 500/1000/2000 (2 s per
    1000 windows each), every cell repeated over ``rows_per_cell`` metric rows; gaussian with one seed."""
    rows = []
    for seed, (fit, sample, n) in enumerate([(10.0, 1.0, 500), (20.0, 2.0, 1000), (30.0, 4.0, 2000)]):
        for k in range(rows_per_cell):
            rows.append(record(generator="timegan", seed=seed, fit_s=fit, sample_s=sample, n_samples=n,
                               metric="mmd" if k == 0 else f"m{k}", repeat=0, value=0.1 * k,
                               **{key: (v[seed] if isinstance(v, list) else v) for key, v in extra.items()}))
    rows.append(record(generator="gaussian", seed=0, fit_s=0.01, sample_s=0.002, n_samples=1000,
                       **{key: (v[0] if isinstance(v, list) else v) for key, v in extra.items()}))
    return frame(rows)


def test_cost_is_the_mean_over_seeds_of_each_cells_values():
    cost = cost_frame(_cells(n_parameters=[1000, 1000, 1000], peak_memory_mb=[100.0, 200.0, 300.0]))
    timegan = cost[cost["generator"] == "timegan"].iloc[0]
    assert timegan["n_seeds"] == 3  # one observation per seed, not per metric row
    assert timegan["fit_s"] == pytest.approx(20.0)
    assert timegan["sample_s_per_1000"] == pytest.approx(2.0)
    assert timegan["n_parameters"] == pytest.approx(1000)
    assert timegan["peak_memory_mb"] == pytest.approx(200.0)
    assert timegan["device"] == "cpu"
    gaussian = cost[cost["generator"] == "gaussian"].iloc[0]
    assert gaussian["n_seeds"] == 1 and gaussian["sample_s_per_1000"] == pytest.approx(0.002)


def test_records_older_than_the_cost_columns_show_them_missing_not_zero():
    records = _cells().drop(columns=["n_parameters", "peak_memory_mb"], errors="ignore")  # records of older runners
    assert "n_parameters" not in records.columns and "peak_memory_mb" not in records.columns
    cost = cost_frame(records)
    assert cost["n_parameters"].isna().all() and cost["peak_memory_mb"].isna().all()
    md = to_markdown(build_tables(records, cost=True))
    assert f"| timegan | {MISSING} | 20.0 | 2.00 | {MISSING} | cpu | 3 |" in md


def test_failed_cells_without_a_fit_time_do_not_count_and_devices_are_listed():
    records = _cells(device=["cuda:0 (H200)", "cpu", "cpu"])
    failed = record(generator="timegan", seed=3, metric=None, value=None, status="failed", error="boom",
                    fit_s=None, sample_s=None, device="cpu")
    records = pd.concat([records, frame([failed])], ignore_index=True)
    timegan = cost_frame(records).set_index("generator").loc["timegan"]
    assert timegan["n_seeds"] == 3 and timegan["fit_s"] == pytest.approx(20.0)
    assert timegan["device"] == "cuda:0 (H200); cpu"


def test_cost_tables_follow_each_dataset_table_in_every_format():
    records = make_records(seeds=2, repeats=1)
    records["n_parameters"] = 12345
    tables = build_tables(records, cost=True)
    assert [c.dataset for t in tables for c in t.cost] == ["sines", "stocks"]
    md = to_markdown(tables)
    head = "| Generator | parameters | fit (s) | sample (s / 1000 windows) | peak memory (MB) | device | n |"
    assert md.count(head) == 2
    assert md.index("### sines") < md.index("#### Cost on sines") < md.index("### stocks") < md.index(
        "#### Cost on stocks")
    assert f"| timegan | 12,345 | 1.00 | 5.00 | {MISSING} | cpu | 2 |" in md
    assert f"| *gaussian* | 12,345 | 1.00 | 5.00 | {MISSING} | cpu | 2 |" in md  # calibration rows in italics
    tex = to_latex(tables)
    assert r"\caption{Cost on sines --- protocol tsbench@1, preset quick." in tex
    assert r"timegan & 12,345 & 1.00 & 5.00 & -- & cpu & 2 \\" in tex
    assert r"\label{tab:tsbench-cost-sines-tsbench-1-quick}" in tex
    html = to_html(records, cost=True)
    assert html.count('<table class="lb cost">') == 2
    assert f"<tr><td>timegan</td><td>12,345</td><td>1.00</td><td>5.00</td><td>{MISSING}</td><td>cpu</td>" in html


def test_the_columns_layout_gets_one_cost_table_per_dataset():
    (table,) = build_tables(make_records(seeds=2, repeats=1), layout="columns", cost=True)
    assert [c.dataset for c in table.cost] == ["sines", "stocks"]
    assert [r.generator for r in table.cost[0].rows] == [r.generator for r in table.rows]


def test_no_cost_tables_by_default():
    records = make_records(seeds=2, repeats=1)
    assert all(not t.cost for t in build_tables(records))
    assert "Cost on" not in to_markdown(build_tables(records)) + to_html(records)


def test_format_number():
    assert format_number(1234567.0, "n_parameters") == "1,234,567"
    assert format_number(24.0, "n_parameters") == "24"
    assert format_number(0.012345, "fit_s") == "0.0123"
    assert format_number(12.345, "fit_s") == "12.3"
    assert format_number(1234.4, "fit_s") == "1,234"
    assert format_number(math.nan, "fit_s") == MISSING and format_number(None, "peak_memory_mb") == MISSING


def test_table_command_cost(tmp_path, capsys):
    path = tmp_path / "records.csv"
    make_records(seeds=2, repeats=1).to_csv(path, index=False)
    assert main(["table", "--records", str(path), "--cost", "--no-citations", "--no-ranks"]) == 0
    assert "#### Cost on sines" in capsys.readouterr().out
    assert main(["table", "--records", str(path), "--cost", "--format", "summary"]) == 2
    assert "--cost: expected --format md | latex | html | json, got --format summary" in capsys.readouterr().err
    assert main(["table", "--records", str(path), "--cost", "--results-dir", str(tmp_path / "r")]) == 2
    assert "got --results-dir" in capsys.readouterr().err


def test_the_runner_records_parameters_and_peak_memory(tmp_path):
    """A real smoke run writes the cost columns: a torch model's trainable parameter count, the gaussian null's
    2 × seq_len × n_features learned numbers, and a positive peak memory; the cost table shows them."""
    from tsbench.registry import generators
    from tsbench.runner import load_records
    from tsbench.runner.grid import plan_cells, run_grid

    cells = plan_cells(["sines"], ["gan", "gaussian"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench")
    run_grid(cells, tmp_path, progress=False)
    records = load_records(tmp_path)
    per_generator = records.groupby("generator").first()
    gan = generators.get("gan")(**cells[0].generator_params)
    split_shape = (int(per_generator.loc["gaussian", "seq_len"]), int(per_generator.loc["gaussian", "n_features"]))
    assert per_generator.loc["gaussian", "n_parameters"] == 2 * split_shape[0] * split_shape[1]
    import numpy as np

    gan.fit(np.random.default_rng(0).random((64, *split_shape), dtype=np.float32), seed=0)
    assert per_generator.loc["gan", "n_parameters"] == gan.n_parameters() > 0
    assert (records["peak_memory_mb"] > 0).all()
    md = to_markdown(build_tables(records, cost=True))
    assert f"| gan | {gan.n_parameters()}" in md.replace(",", "")
