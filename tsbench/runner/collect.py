"""Records from a results folder: a pure read of the cell folders into the tidy schema of
:mod:`tsbench.records` (one row per cell × metric output × repeat)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..naming import parse_display_name
from ..protocols import get_protocol, recorded_tag
from ..records import COLUMNS, metric_column
from .store import RunStore, read_json

_PROVENANCE = ("tsbench_version", "torch_version", "numpy_version", "python_version", "git_sha", "device", "host")


def load_records(out: str | Path = "tsbench-runs") -> pd.DataFrame:
    """All records of the run folder ``out`` as a DataFrame with :data:`tsbench.records.COLUMNS`."""
    store = RunStore(out)
    if not store.cells_dir.is_dir():
        raise InputError("results folder", expected="a folder written by `tsbench run`",
                         got=f"{str(store.root)!r} with no cells/ inside",
                         fix="run `tsbench run ...` first or pass the folder with --out")
    rows: list[dict] = []
    for cell_id in store.cell_ids():
        rows.extend(cell_records(store.cell_dir(cell_id)))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["dataset", "generator", "seed", "metric", "repeat"], na_position="last",
                             kind="stable").reset_index(drop=True)


def cell_records(folder: Path) -> list[dict]:
    cell = read_json(folder / "cell.json")
    trained = read_json(folder / "trained.json") if (folder / "trained.json").exists() else {}
    protocol = get_protocol(recorded_tag(cell["protocol"]))
    base = {
        "cell_id": cell["cell_id"], "dataset": cell["dataset"], "generator": cell["generator"],
        "generator_name": parse_display_name(cell["generator"])[0], "seed": cell["seed"],
        "preset": cell["preset"], "protocol": protocol.tag, "split": trained.get("split"),
        "fit_s": trained.get("fit_s"), "sample_s": trained.get("sample_s"),
        **{k: trained.get(k) for k in ("n_train", "n_test", "n_samples", "seq_len", "n_features")},
        **{k: cell.get(k) for k in _PROVENANCE},
        "device_type": cell.get("device_type"), "precision": cell.get("precision"),
        "timestamp": datetime.fromtimestamp((folder / "cell.json").stat().st_mtime, timezone.utc)
        .isoformat(timespec="seconds"),
    }
    if (folder / "failed.json").exists() or not trained:
        failure = read_json(folder / "failed.json") if (folder / "failed.json").exists() else {}
        return [{**base, "status": failure.get("status", "failed"), "error": failure.get("error", "not finished")}]
    rows = []
    metric_dir = folder / "metrics"
    for display, key in sorted(cell.get("metric_keys", {}).items()):
        done, failed = metric_dir / f"{key}.json", metric_dir / f"{key}.failed.json"
        if failed.exists() and not done.exists():
            result = read_json(failed)
            rows.append({**base, "metric": display, "metric_name": result["metric_name"],
                         "status": "failed", "error": result["error"]})
            continue
        if not done.exists():
            continue  # requested by a run that was interrupted before this metric ran
        result = read_json(done)
        for output, values in result["values"].items():
            for repeat, value in enumerate(values):
                rows.append({**base, "metric": metric_column(display, output),
                             "metric_name": result["metric_name"], "metric_version": result["version"],
                             "output": output, "higher_is_better": result["outputs"].get(output),
                             "repeat": repeat, "value": value, "status": "done", "error": None,
                             "metric_s": result["metric_s"]})
    return rows
