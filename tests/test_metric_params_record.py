"""The records state the rule each value was computed under: ``metric_params`` holds the metric's resolved
parameters (preset values included, runtime-only ones left out), so a quadratic metric's subsampling
(MMD's ``subset_size``, memorisation's ``max_windows``) can be read next to its value."""
from __future__ import annotations

import json

import numpy as np

import tsbench
from tsbench.records import COLUMNS, params_json


def test_params_json_is_sorted_and_compact():
    assert params_json({"subset_size": 1000, "repeats": 3}) == '{"repeats":3,"subset_size":1000}'
    assert params_json(None) is None


def test_runtime_parameters_stay_out_of_the_records(tmp_path):
    records = tsbench.run(["gaussian"], "sines", ["mmd[block_size=64]"], seeds=1, preset="smoke",
                          out=tmp_path / "runs", progress=False)
    assert "block_size" not in json.loads(records["metric_params"].iloc[0])


def test_run_records_the_resolved_subsampling_rule_of_every_metric(tmp_path):
    records = tsbench.run(["gaussian"], "sines", ["mmd", "memorisation", "mmd[subset_size=150]"], seeds=1,
                          preset="smoke", out=tmp_path / "runs", progress=False)
    assert "metric_params" in COLUMNS and "metric_params" in records.columns
    params = {metric: json.loads(rows["metric_params"].iloc[0]) for metric, rows in records.groupby("metric")}
    assert params["mmd"]["subset_size"] == 200  # the smoke preset's rule
    assert params["mmd.bandwidth"] == params["mmd"]  # every output row carries its metric's parameters
    assert params["mmd[subset_size=150]"]["subset_size"] == 150  # an explicit value wins
    assert params["memorisation"]["max_windows"] == 500
    written = tsbench.api.read_records(tmp_path / "runs" / "records.csv")
    assert written["metric_params"].tolist() == records["metric_params"].tolist()


def test_evaluate_reports_the_parameters_too():
    rng = np.random.default_rng(0)
    real, synthetic = rng.random((120, 24, 2), dtype=np.float32), rng.random((100, 24, 2), dtype=np.float32)
    scores = tsbench.evaluate(real, synthetic, ["mmd"], preset="quick", repeats=2, seed=0)
    assert {json.loads(p)["subset_size"] for p in scores["metric_params"]} == {1000}
