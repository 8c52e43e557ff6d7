"""Claims generated from the records (`tsbench table --format summary`) and the grid's wall time."""
from __future__ import annotations

import pandas as pd
import pytest
from fixtures.records import frame, make_records, record

from tsbench.cli import main
from tsbench.report.summary import null_claims, to_summary
from tsbench.report.timing import format_duration, wall_time

# metric → higher_is_better, {generator: per-seed values}
COLUMNS = {
    "mmd": (False, {"gan": [0.10, 0.11, 0.09], "nrgan": [0.60, 0.61, 0.62], "gaussian": [0.50, 0.51, 0.49]}),
    "sd": (False, {"gan": [0.90, 0.91, 0.92], "nrgan": [0.10, 0.11, 0.09], "gaussian": [0.50, 0.51, 0.49]}),
    "predictive": (False, {"gan": [0.45, 0.60, 0.40], "nrgan": [0.10, 0.11, 0.09], "gaussian": [0.50, 0.51, 0.49]}),
    "memorisation": (None, {"gan": [0.5, 0.6, 0.7], "nrgan": [0.5, 0.6, 0.7], "gaussian": [0.5, 0.5, 0.5]}),
}


def _records(protocol="tsbench@1", dataset="sines") -> pd.DataFrame:
    rows = [record(protocol=protocol, dataset=dataset, generator=g, metric=m, seed=s, value=v, higher_is_better=hib)
            for m, (hib, gens) in COLUMNS.items() for g, vals in gens.items() for s, v in enumerate(vals)]
    rows.append(record(protocol=protocol, dataset=dataset, generator="real", metric="mmd", value=0.0))
    return frame(rows)


def test_claims_count_metrics_beaten_and_lost_against_the_null():
    claims = {c.generator: c for c in null_claims(_records())}
    assert set(claims) == {"gan", "nrgan"}  # calibration rows make no claims
    gan, nrgan = claims["gan"], claims["nrgan"]
    assert gan.better == ("mmd",) and gan.worse == ("sd",) and gan.not_separated == ("predictive",)
    assert nrgan.better == ("sd", "predictive") and nrgan.worse == ("mmd",)
    assert gan.n == nrgan.n == 3  # memorisation has no direction


def test_summary_states_k_of_n_and_lists_the_metrics():
    text = to_summary(_records())
    assert "**`gan`** beats the gaussian null on 1 of 3 directional metrics (`mmd`); " \
           "worse than the null on 1 (`sd`); not separated on 1 (`predictive`)." in text
    assert "**`nrgan`** beats the gaussian null on 2 of 3 directional metrics (`sd`, `predictive`); " \
           "worse than the null on 1 (`mmd`)" in text
    assert "one-sided Welch t-test" in text and "α = 0.05" in text
    assert "## Protocol tsbench@1, preset quick" in text and "### sines" in text


def test_summary_says_when_there_is_no_null():
    records = _records()
    text = to_summary(records[records["generator"] != "gaussian"])
    assert "no gaussian null row" in text and "beats the gaussian null on" not in text


def _timed(cell, start, fit, metrics, protocol="tsbench@1"):
    """Records of one cell: ``start`` (its timestamp), fit seconds, {metric: seconds} with 2 repeats each."""
    return [record(cell_id=cell, generator=cell, protocol=protocol, timestamp=start, fit_s=fit, sample_s=1.0,
                   metric=m, metric_s=s, repeat=r) for m, s in metrics.items() for r in (0, 1)]


def test_wall_time_runs_from_the_earliest_cell_start_to_the_latest_cell_end():
    # a: starts 10:00:00, runs 100 + 1 + (10 + 20) = 131 s; b: starts 10:01:00, runs 200 + 1 + 5 = 206 s → ends 10:04:26
    rows = _timed("a", "2025-01-02T10:00:00+00:00", 100.0, {"mmd": 10.0, "acd": 20.0})
    rows += _timed("b", "2025-01-02T10:01:00+00:00", 200.0, {"mmd": 5.0})
    wall = wall_time(frame(rows))
    assert wall.seconds == pytest.approx(266.0)  # metric_s counted once per metric, not per repeat
    assert wall.cells == 2 and wall.cell_seconds == pytest.approx(131.0 + 206.0)
    assert format_duration(wall.seconds) == "4 min 26 s" and format_duration(3725.2) == "1 h 02 min 05 s"


def test_summary_reports_wall_time_per_protocol_and_in_total():
    rows = _timed("a", "2025-01-02T10:00:00+00:00", 100.0, {"mmd": 10.0})  # 10:00:00 → 10:01:51
    rows += _timed("b", "2025-01-02T11:00:00+00:00", 50.0, {"mmd": 9.0}, protocol="timegan2019@1")  # → 11:01:00
    text = to_summary(frame(rows))
    assert "## Protocol tsbench@1, preset quick" in text and "## Protocol timegan2019@1, preset quick" in text
    assert "Wall time: 1 min 51 s" in text and "Wall time: 1 min 00 s" in text
    assert "Wall time of all records: 1 h 01 min 00 s" in text
    assert "earliest cell start" in text and "fit_s + sample_s" in text  # the definition is stated


def test_table_command_writes_the_summary(tmp_path, capsys):
    path = tmp_path / "records.csv"
    make_records().to_csv(path, index=False)
    assert main(["table", "--records", str(path), "--format", "summary", "--no-citations"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Summary generated from the records")
    assert "**`timegan`** beats the gaussian null on 4 of 4 directional metrics" in out
