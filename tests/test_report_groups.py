"""What one table may pool: never two protocol versions in a column, never two device types or precisions in a
cell (unless asked), and old records (tsbench@1, no device_type/precision columns) still render."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from fixtures.records import make_records

from tsbench.cli import main
from tsbench.errors import InputError
from tsbench.records import COLUMNS
from tsbench.report import aggregate, build_tables, rank_results, read_csv, to_csv, to_html, to_latex, to_markdown
from tsbench.report.hardware import select_hardware
from tsbench.report.summary import to_summary


@pytest.fixture(scope="module")
def records():
    return make_records(failures=False)


def test_protocol_versions_never_share_a_column(records):
    v2 = records.assign(protocol="tsbench@2", value=records["value"] + 10.0)
    both = pd.concat([records, v2], ignore_index=True)
    for layout in ("per-dataset", "columns"):
        tables = build_tables(both, layout=layout)
        assert {t.protocol for t in tables} == {"tsbench@1", "tsbench@2"}
        for table in tables:  # every number of a table comes from its own version only
            means = [c.mean for r in table.rows for c in r.cells if c.mean is not None]
            assert all(m >= 9.0 for m in means) if table.protocol == "tsbench@2" else all(m < 9.0 for m in means)
    assert [(r.protocol, r.test.n_blocks) for r in rank_results(both)] == [("tsbench@1", 8), ("tsbench@2", 8)]
    assert sorted(set(read_csv(io.StringIO(to_csv(both)))["protocol"])) == ["tsbench@1", "tsbench@2"]
    summary = to_summary(both)
    assert "## Protocol tsbench@1, preset quick" in summary and "## Protocol tsbench@2, preset quick" in summary


def _on(records, **hardware):
    return records.assign(**hardware)


def test_a_cell_never_pools_device_types_unless_asked(records):
    cpu = _on(records, device_type="cpu", precision="float32")
    mixed = cpu.copy()
    mixed.loc[mixed["seed"] == 2, "device_type"] = "cuda"
    for render in (build_tables, aggregate, to_csv, rank_results, to_summary, to_html):
        with pytest.raises(InputError) as error:
            render(mixed)
        message = str(error.value)
        assert "device_type and precision" in message and "cpu/float32" in message and "cuda/float32" in message
        assert "--device-type" in message and "--mix-devices" in message
    pooled = build_tables(mixed, mix_devices=True)
    assert pooled[0].rows[0].cells[0].n == 3 and "pooled" in pooled[0].caption
    assert "cpu, cuda" in pooled[0].caption
    assert len(select_hardware(mixed, device_type="cuda")) == (mixed["seed"] == 2).sum()


def test_a_cell_never_pools_precisions_or_unknown_with_known(records):
    mixed = _on(records, device_type="cuda", precision="float32")
    mixed.loc[mixed["seed"] == 0, "precision"] = "bfloat16"
    with pytest.raises(InputError, match="cuda/bfloat16"):
        build_tables(mixed)
    partly_old = _on(records, device_type="cpu", precision="float32")
    partly_old.loc[partly_old["seed"] == 1, ["device_type", "precision"]] = None  # written before the columns
    with pytest.raises(InputError, match="unknown/unknown"):
        build_tables(partly_old)
    # different hardware in different cells is fine: one table, each cell from one device
    per_dataset = _on(records, device_type="cpu", precision="float32")
    per_dataset.loc[per_dataset["dataset"] == "stocks", "device_type"] = "cuda"
    assert len(build_tables(per_dataset, layout="columns")) == 1


def test_table_command_filters_or_pools_hardware(records, tmp_path, capsys):
    mixed = _on(records, device_type="cpu", precision="float32")
    mixed.loc[mixed["seed"] == 2, "device_type"] = "cuda"
    path = tmp_path / "records.csv"
    mixed.to_csv(path, index=False)
    base = ["table", "--records", str(path), "--no-citations"]
    assert main(base) == 2
    assert "--mix-devices" in capsys.readouterr().err
    assert main(base + ["--device-type", "cpu"]) == 0
    assert "n = 2 training seeds" in capsys.readouterr().out
    assert main(base + ["--mix-devices"]) == 0
    assert "n = 3 training seeds" in capsys.readouterr().out
    assert main(base + ["--device-type", "tpu"]) == 2
    assert "tpu" in capsys.readouterr().err


def test_old_tsbench_1_records_without_hardware_columns_render(records, tmp_path, capsys):
    old = records.drop(columns=[c for c in ("device_type", "precision") if c in records.columns])
    assert list(old.columns) == [c for c in COLUMNS if c not in ("device_type", "precision")]
    assert set(old["protocol"]) == {"tsbench@1"}
    tables = build_tables(old)
    assert "device type unknown, precision unknown" in tables[0].caption
    assert to_markdown(tables) and to_latex(tables) and to_csv(old) and to_html(old) and to_summary(old)
    assert len(select_hardware(old, device_type="unknown")) == len(old)
    path = tmp_path / "old.csv"
    old.to_csv(path, index=False)
    for fmt in ("md", "latex", "csv", "summary"):
        assert main(["table", "--records", str(path), "--format", fmt, "--no-citations"]) == 0
    assert "tsbench@1" in capsys.readouterr().out
