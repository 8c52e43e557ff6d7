"""The versioned machine-readable leaderboard (``tsbench table --format json``, ``results/leaderboard.json``):
valid against its schema, the same numbers, verdicts and marks as the other formats, provenance and cost, and
every field documented in docs/leaderboard-json.md."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from fixtures.records import make_records

from tsbench.cli import main
from tsbench.report import RESULT_FILES, build_tables, cells, render_results
from tsbench.report.aggregate import KEY
from tsbench.report.leaderboard_json import SCHEMA, SCHEMA_VERSION, check, leaderboard, to_json, validate

DOC = Path(__file__).resolve().parents[1] / "docs" / "leaderboard-json.md"


@pytest.fixture(scope="module")
def records():
    r = make_records(seeds=3, repeats=2)
    r["n_parameters"] = 5000
    return r


@pytest.fixture(scope="module")
def doc(records):
    return json.loads(to_json(records))


def _strict(text: str):
    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_the_export_is_strict_json_valid_against_the_schema(records):
    text = to_json(records)
    document = _strict(text)
    assert validate(document) == []
    check(document)
    assert document["schema_version"] == SCHEMA_VERSION == "1.0"
    assert text.endswith("}\n") and text == to_json(records)  # deterministic


def test_the_validator_rejects_what_the_schema_forbids(doc):
    cases = {
        "missing": lambda d: d.pop("cost"),
        "extra": lambda d: d.update(extra=1),
        "version": lambda d: d.update(schema_version="2.0"),
        "type": lambda d: d["results"][0].update(n="3"),
        "enum": lambda d: d["results"][0].update(mark="gold"),
        "bool is no integer": lambda d: d["results"][0].update(n=True),
        "minimum": lambda d: d["cost"][0].update(n_seeds=-1),
        "nested missing": lambda d: d["generated_from"].pop("git_shas"),
        "item type": lambda d: d["generated_from"]["git_shas"].append(7),
    }
    for what, spoil in cases.items():
        bad = copy.deepcopy(doc)
        spoil(bad)
        errors = validate(bad)
        assert errors, what
        with pytest.raises(Exception, match="expected a document following schema 1.0"):
            check(bad)
    assert any("$.results[0].mark" in e for e in validate({**doc, "results": [{**doc["results"][0],
                                                                                "mark": "gold"}]}))


def test_results_are_the_csv_cells_with_the_tables_marks(records, doc):
    expected = cells(records)
    assert len(doc["results"]) == len(expected)
    got = {tuple(r[k] for k in KEY): r for r in doc["results"]}
    for row in expected.to_dict("records"):
        entry = got[tuple(row[k] for k in KEY)]
        assert entry["n"] == row["n"] and entry["n_failed"] == row["n_failed"]
        assert entry["mean"] == (None if pd.isna(row["mean"]) else pytest.approx(row["mean"], rel=1e-15))
        assert entry["std"] == (None if pd.isna(row["std"]) else pytest.approx(row["std"], rel=1e-15))
        assert entry["vs_null"] == row["vs_null"] and entry["note"] == row["note"]
        assert entry["direction"] == {True: "higher", False: "lower", None: None}[row["higher_is_better"]]
    marks = {(t.protocol, t.preset, c.dataset, r.generator, c.metric): cell.mark
             for t in build_tables(records) for r in t.rows for c, cell in zip(t.columns, r.cells)}
    assert {k: v["mark"] for k, v in got.items() if k in marks} == marks
    assert {"best", "second"} <= {v["mark"] for v in got.values()}
    calibration = {r["generator"] for r in doc["results"] if r["calibration"]}
    assert calibration == {"real", "gaussian", "shuffle_time"}
    assert all(r["mark"] is None and r["vs_null"] is None for r in doc["results"] if r["calibration"])
    failed = got[("tsbench@1", "quick", "sines", "gan", "context_fid")]
    assert failed["mean"] is None and failed["n"] == 0 and "TS2Vec" in failed["note"]


def test_provenance_and_groups(records, doc):
    source = doc["generated_from"]
    assert source["git_shas"] == ["0123456789abcdef"] and source["torch_versions"] == ["2.3.0"]
    assert source["protocols"] == ["tsbench@1"] and source["presets"] == ["quick"]
    assert source["n_records"] == len(records) and source["device_types"] == ["unknown"]
    assert source["first_timestamp"] == "2025-01-02T03:04:05+00:00"
    assert doc["groups"] == [{"protocol": "tsbench@1", "preset": "quick", "null": "gaussian"}]
    assert doc["statistics"]["alpha"] == 0.05


def test_cost_fields(doc):
    timegan = next(c for c in doc["cost"] if c["generator"] == "timegan" and c["dataset"] == "sines")
    assert timegan == {"protocol": "tsbench@1", "preset": "quick", "dataset": "sines", "generator": "timegan",
                       "generator_name": "timegan", "calibration": False, "n_seeds": 3, "n_parameters": 5000.0,
                       "fit_s": 1.0, "sample_s_per_1000": 5.0, "peak_memory_mb": None, "device": "cpu"}
    assert len(doc["cost"]) == 2 * 6


def test_published_entries_only_when_asked_and_only_where_they_match(doc):
    assert doc["published"] == []
    records = make_records(seeds=2, repeats=1, datasets=("sines",), failures=False)
    records["protocol"] = "timegan2019@2"
    published = leaderboard(records, published=True)["published"]
    assert validate(leaderboard(records, published=True)) == []
    yuan = {(model, metric) for model in ("Diffusion-TS", "TimeGAN", "TimeVAE")
            for metric in ("context_fid", "correlational", "discriminative", "predictive")
            if metric in set(records["metric"])}  # Diffusion-TS's Table 1 (Yuan and Qiao 2024)
    assert {(p["model"], p["metric"]) for p in published} == {("TimeGAN", "discriminative"),
                                                             ("TimeGAN", "predictive"),
                                                             ("C-RNN-GAN", "discriminative"),
                                                             ("C-RNN-GAN", "predictive"),
                                                             ("Original data", "predictive")} | yuan
    assert {p["reference"] for p in published} == {"Yoon et al. 2019", "Yuan and Qiao 2024"}
    first = published[0]
    assert (first["value"], first["std"], first["table"], first["page"]) == (0.011, 0.008, "Table 2", "")
    assert first["shown_in"] == [{"protocol": "timegan2019@2", "preset": "quick", "dataset": "sines"}]
    records["seq_len"] = 48
    assert leaderboard(records, published=True)["published"] == []


def test_the_results_folder_includes_the_json(records):
    assert "leaderboard.json" in RESULT_FILES
    files = render_results(records)
    assert set(files) == set(RESULT_FILES)
    assert validate(_strict(files["leaderboard.json"])) == []


def test_table_command_writes_json(records, tmp_path, capsys):
    path = tmp_path / "records.csv"
    records.to_csv(path, index=False)
    assert main(["table", "--records", str(path), "--format", "json"]) == 0
    document = _strict(capsys.readouterr().out)
    assert validate(document) == [] and len(document["results"]) == len(cells(records))


def _fields(schema: dict) -> set[str]:
    names = set(schema.get("properties", {}))
    for sub in schema.get("properties", {}).values():
        names |= _fields(sub)
    if "items" in schema:
        names |= _fields(schema["items"])
    return names


def test_every_schema_field_is_documented():
    text = DOC.read_text()
    documented = set(re.findall(r"`([a-z_0-9]+)`", text))
    assert _fields(SCHEMA) - documented == set()
    assert f'`"{SCHEMA_VERSION}"`' in text
