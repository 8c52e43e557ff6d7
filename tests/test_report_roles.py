"""What a row is comes from the records: the runner records each cell's generator ``role`` (its class's declared
role) and the report ranks, marks, tests and orders rows by that column — falling back to the built-in names
(:data:`tsbench.report.aggregate.CALIBRATION`) only for records written without it."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from fixtures.records import frame, make_records, record

from tsbench.generator import ROLES
from tsbench.report import build_tables, rank_results, to_json, to_markdown, to_summary
from tsbench.report.aggregate import CALIBRATION, generator_roles, row_order
from tsbench.report.aggregate import ROLES as REPORT_ROLES
from tsbench.report.null import null_verdicts

#: per-seed values of one "mmd" column (lower is better): "real" here is a *plugin model* named like the
#: built-in calibration row, and clearly better than the gaussian null
VALUES = {"gan": [0.50, 0.52, 0.48], "timegan": [0.30, 0.31, 0.29], "real": [0.10, 0.11, 0.09],
          "gaussian": [0.60, 0.61, 0.59], "noise": [0.70, 0.71, 0.69]}
ROLE = {"gan": "model", "timegan": "model", "real": "model", "gaussian": "calibration", "noise": "corruption"}


def _records(roles: dict | None) -> pd.DataFrame:
    rows = [record(generator=g, seed=s, value=v, **({"role": roles[g]} if roles else {}))
            for g, values in VALUES.items() for s, v in enumerate(values)]
    return frame(rows)


def test_report_roles_are_the_generator_roles():
    assert REPORT_ROLES == ROLES


def test_a_model_named_like_a_calibration_row_is_a_model_when_its_role_says_so():
    records = _records(ROLE)
    assert generator_roles(records) == ROLE
    (table,) = build_tables(records)
    assert [r.generator for r in table.models] == ["gan", "timegan", "real"]
    assert [r.generator for r in table.calibration] == ["gaussian", "noise"]
    real = next(r for r in table.rows if r.generator == "real")
    assert real.cells[0].vs_null == "better" and real.cells[0].mark == "best"  # tested, and the best model
    verdicts = null_verdicts(records).set_index("generator")["vs_null"]
    assert verdicts["real"] == "better" and verdicts["gaussian"] is None
    (ranks,) = rank_results(records)
    assert list(ranks.ranks.columns) == ["gan", "timegan", "real"]
    assert "**`real`** beats the gaussian null on 1 of 1" in to_summary(records)
    document = json.loads(to_json(records))
    assert {r["generator"]: r["calibration"] for r in document["results"]} == {
        g: role != "model" for g, role in ROLE.items()}
    assert {r["generator"]: r["calibration"] for r in document["cost"]} == {
        g: role != "model" for g, role in ROLE.items()}
    (with_cost,) = build_tables(records, cost=True)
    assert {r.generator: r.calibration for r in with_cost.cost[0].rows} == {g: r != "model" for g, r in ROLE.items()}


def test_without_roles_the_same_rows_fall_back_to_the_built_in_names():
    """The same records written before roles were recorded: ``real`` is taken for the calibration row."""
    records = _records(None)
    assert "role" in records.columns and records["role"].isna().all()
    for old in (records, records.drop(columns="role")):
        assert generator_roles(old)["real"] == "calibration"
        (table,) = build_tables(old)
        assert [r.generator for r in table.models] == ["gan", "timegan"]
        assert [r.generator for r in table.calibration] == ["real", "gaussian", "noise"]
        assert null_verdicts(old).set_index("generator")["vs_null"]["real"] is None


def test_old_records_render_as_records_with_the_built_in_roles_recorded():
    """Records without ``role`` render byte for byte as the same records with each built-in row's role recorded
    (the committed results/records.csv has no role column: tests/test_results.py re-renders it)."""
    old = make_records()
    legacy = {"real": "calibration", "gaussian": "calibration", "shuffle_time": "corruption"}
    new = old.assign(role=old["generator_name"].map(lambda n: legacy.get(n, "model")))
    for layout in ("per-dataset", "columns"):
        assert to_markdown(build_tables(old.drop(columns="role"), layout=layout)) == to_markdown(
            build_tables(new, layout=layout))
    assert to_summary(old) == to_summary(new)
    assert to_json(old.drop(columns="role")) == to_json(new)


def test_recorded_roles_order_the_rows_and_a_new_built_in_row_follows_the_known_ones():
    names = {g: g.split("[")[0] for g in ("mine", "noise[scale=0.1]", "zeta", "gaussian", "real", "gan")}
    roles = {"mine": "model", "noise[scale=0.1]": "corruption", "zeta": "calibration", "gaussian": "calibration",
             "real": "calibration", "gan": "model"}
    assert row_order(list(names), roles, names) == ["mine", "gan", "real", "gaussian", "zeta", "noise[scale=0.1]"]
    assert list(CALIBRATION[:2]) == ["real", "gaussian"]


def test_a_model_row_named_gaussian_is_never_the_null():
    records = frame([record(generator=g, seed=s, value=v, role=r)
                     for g, r, vals in (("gan", "model", [0.5, 0.52, 0.48]), ("gaussian", "model", [0.6, 0.61, 0.59]))
                     for s, v in enumerate(vals)])
    verdicts = null_verdicts(records)
    assert verdicts["null"].isna().all() and verdicts["vs_null"].isna().all()
    (table,) = build_tables(records)
    assert [r.generator for r in table.models] == ["gan", "gaussian"] and not table.calibration


@pytest.mark.parametrize("generator, role", [("gaussian", "calibration"), ("noise", "corruption"),
                                             ("gan", "model")])
def test_the_runner_records_the_generator_role(generator, role):
    from tsbench.runner.cells import build_cell

    cell = build_cell("sines", {"name": "sines", "version": "1", "params": {}}, generator, 0, preset="smoke",
                      protocol="tsbench", metric_specs=(), device="cpu", n_samples=None)
    assert cell.role == role and cell.to_dict()["role"] == role  # written into cell.json


def test_records_carry_the_role_and_old_cell_files_leave_it_empty(tmp_path):
    from tsbench.records import COLUMNS
    from tsbench.runner import load_records
    from tsbench.runner.grid import plan_cells, run_grid
    from tsbench.runner.store import RunStore

    cells = plan_cells(["sines"], ["gaussian", "noise"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench")
    run_grid(cells, tmp_path, progress=False)
    records = load_records(tmp_path)
    assert list(records.columns) == COLUMNS
    assert dict(zip(records["generator"], records["role"])) == {"gaussian": "calibration", "noise": "corruption"}
    store = RunStore(tmp_path)
    for cell_id in store.cell_ids():  # a cell folder written before roles were recorded
        spec = store.cell(cell_id).path / "cell.json"
        info = json.loads(spec.read_text())
        assert info.pop("role") in ("calibration", "corruption")
        spec.write_text(json.dumps(info))
    old = load_records(tmp_path)
    assert old["role"].isna().all()
    assert generator_roles(old) == {"gaussian": "calibration", "noise": "corruption"}
