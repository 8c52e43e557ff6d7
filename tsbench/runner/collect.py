"""Records from a results folder: a pure read of the cell folders into the tidy schema of
:mod:`tsbench.records` (one row per cell × metric output × repeat).

Every file read is verified (:class:`.cellfiles.CellFolder`); a corrupt one never crashes the read: it warns
(:class:`.cellfiles.CorruptCellFile`) and becomes a ``failed`` record saying so — or, for an unreadable
``cell.json``, leaves the cell out — and the next ``tsbench run`` recomputes it."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..generator import identity_params
from ..naming import parse_display_name
from ..protocols import get_protocol, recorded_tag
from ..records import COLUMNS, metric_column, params_json
from .cellfiles import CellFolder
from .store import RunStore

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
        rows.extend(cell_records(store.cell(cell_id)))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["dataset", "generator", "seed", "metric", "repeat"], na_position="last",
                             kind="stable").reset_index(drop=True)


def cell_records(folder: CellFolder | str | Path) -> list[dict]:
    """The records of one cell folder (none when its ``cell.json`` is unreadable)."""
    folder = folder if isinstance(folder, CellFolder) else CellFolder(folder)
    cell = folder.read_spec("the cell is left out of the records until `tsbench run` rewrites it")
    if cell is None:
        return []
    rerun = "`tsbench run` recomputes it"
    trained = folder.read_trained(f"the cell is recorded as failed; {rerun}", verify_data=False)
    broken = trained is None and (folder.path / folder.TRAINED).exists()
    trained = trained or {}
    protocol = get_protocol(recorded_tag(cell["protocol"]))
    base = {
        "cell_id": cell["cell_id"], "dataset": cell["dataset"], "generator": cell["generator"],
        "generator_name": parse_display_name(cell["generator"])[0], "role": cell.get("role"), "seed": cell["seed"],
        "preset": cell["preset"], "protocol": protocol.tag, "split": trained.get("split"),
        "fit_s": trained.get("fit_s"), "sample_s": trained.get("sample_s"),
        **{k: trained.get(k) for k in ("n_train", "n_test", "n_samples", "seq_len", "n_features", "n_parameters",
                                       "peak_memory_mb", "batched_seeds")},
        **{k: cell.get(k) for k in _PROVENANCE},
        "device_type": cell.get("device_type"), "precision": cell.get("precision"),
        "deterministic": cell.get("deterministic"),
        "timestamp": datetime.fromtimestamp((folder.path / folder.SPEC).stat().st_mtime, timezone.utc)
        .isoformat(timespec="seconds"),
    }
    if (folder.path / folder.FAILED).exists() or not trained:
        failure = folder.read_failure(f"the cell is recorded as failed; {rerun}") or {}
        unfinished = f"corrupt {folder.TRAINED}; {rerun}" if broken else "not finished"
        return [{**base, "status": failure.get("status", "failed"), "error": failure.get("error", unfinished)}]
    rows = []
    for display, key in sorted(cell.get("metric_keys", {}).items()):
        rows.extend(_metric_rows(folder, display, key, base))
    return rows


def _metric_params(params: dict | None) -> str | None:
    return None if params is None else params_json(identity_params(params))


def _metric_rows(folder: CellFolder, display: str, key: str, base: dict) -> list[dict]:
    """One row per output × repeat of a verified result; one failed row for a failure or a corrupt result;
    none for a metric requested by a run that was interrupted before it ran."""
    rerun = "`tsbench run` recomputes it"
    if (folder.path / folder.metric_file(key)).exists():
        result = folder.read_metric(key, f"the metric is recorded as failed; {rerun}")
        if result is None:
            return [{**base, "metric": display, "metric_name": parse_display_name(display)[0], "status": "failed",
                     "error": f"corrupt result file {folder.metric_file(key)}; {rerun}"}]
        return [{**base, "metric": metric_column(display, output), "metric_name": result["metric_name"],
                 "metric_version": result["version"], "output": output,
                 "higher_is_better": result["outputs"].get(output), "repeat": repeat, "value": value,
                 "metric_params": _metric_params(result.get("params")), "status": "done", "error": None, "metric_s": result["metric_s"]}
                for output, values in result["values"].items() for repeat, value in enumerate(values)]
    failure = folder.read_metric_failure(key, f"the failure is left out; {rerun}")
    if failure is None:
        return []
    return [{**base, "metric": display, "metric_name": failure.get("metric_name"), "status": "failed",
             "error": failure.get("error")}]


def write_records_file(out: str | Path) -> Path:
    """Write ``OUT/records.csv`` (every record of the folder, :data:`tsbench.records.COLUMNS`) atomically and
    return its path; ``tsbench run`` and :func:`tsbench.run` rewrite it at the end of every run, so it always
    matches the cells on disk."""
    from .atomic import atomic_write_bytes

    path = Path(out) / "records.csv"
    atomic_write_bytes(path, load_records(out).to_csv(index=False).encode())
    return path

