"""Verified cell files: a truncated or corrupted file re-runs the cell (or just that metric) with a warning
naming it, never a crash and never a silently used bad file; a full disk or a read-only results folder is one
clear error that leaves every finished cell intact."""
from __future__ import annotations

import errno
import json
import os
import stat

import pandas as pd
import pytest

from tsbench.records import VOLATILE_COLUMNS
from tsbench.cli import main
from tsbench.runner import load_records
from tsbench.runner.cellfiles import CellFolder, CorruptCellFile
from tsbench.runner.grid import plan_cells, run_grid

GRID = ["-g", "real", "-g", "gaussian", "-d", "sines", "--preset", "smoke", "-m", "mmd", "--no-progress",
        "--seeds", "1"]
VOLATILE = list(VOLATILE_COLUMNS)


def stable(records: pd.DataFrame) -> pd.DataFrame:
    return records.drop(columns=VOLATILE).sort_values(["cell_id", "metric", "repeat"]).reset_index(drop=True)


@pytest.fixture
def finished(tmp_path, capsys):
    """A finished smoke grid: ``(out, records, gaussian cell folder)``."""
    out = tmp_path / "runs"
    assert main(["run", *GRID, "--out", str(out)]) == 0
    capsys.readouterr()
    records = load_records(out)
    cell_id = records.loc[records["generator"] == "gaussian", "cell_id"].iloc[0]
    return out, records, out / "cells" / cell_id


def truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def flip_last_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def rerun(out, capsys, *extra) -> tuple[int, str, str]:
    code = main(["run", *GRID, *extra, "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# corrupt metric results ------------------------------------------------------------------------------
def test_truncated_metric_file_is_reported_by_records_and_recomputed_by_run(finished, capsys):
    out, records, folder = finished
    [metric_file] = (folder / "metrics").glob("mmd-*.json")
    truncate(metric_file)
    with pytest.warns(CorruptCellFile, match=metric_file.name):
        broken = load_records(out)
    row = broken[(broken["cell_id"] == folder.name) & (broken["status"] != "done")]
    assert list(row["metric"]) == ["mmd"] and "corrupt" in row["error"].iloc[0]
    with pytest.warns(CorruptCellFile, match=metric_file.name):
        assert main(["table", "--out", str(out), "--format", "md"]) == 0  # was: internal error: JSONDecodeError
    capsys.readouterr()
    with pytest.warns(CorruptCellFile, match=metric_file.name):
        code, said, _ = rerun(out, capsys)
    assert code == 0 and "1 already done, 0 trained, 1 finished" in said  # was: "2 already done"
    pd.testing.assert_frame_equal(stable(records), stable(load_records(out)))


def test_a_metric_value_edited_in_place_is_detected_by_its_checksum(finished, capsys):
    out, records, folder = finished
    [metric_file] = (folder / "metrics").glob("mmd-*.json")
    result = json.loads(metric_file.read_text())
    result["values"]["value"] = [v + 1.0 for v in result["values"]["value"]]
    metric_file.write_text(json.dumps(result, indent=1, sort_keys=True))  # still valid JSON
    with pytest.warns(CorruptCellFile, match="checksum"):
        code, said, _ = rerun(out, capsys)
    assert code == 0 and "1 already done" in said
    pd.testing.assert_frame_equal(stable(records), stable(load_records(out)))


# corrupt training files ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, damage", [("samples.npy", truncate), ("samples.npy", flip_last_byte),
                                          ("model.ckpt", truncate), ("model.ckpt", flip_last_byte),
                                          ("trained.json", truncate)])
def test_a_damaged_training_file_retrains_the_cell_with_a_warning(finished, capsys, name, damage):
    out, records, folder = finished
    damage(folder / name)
    with pytest.warns(CorruptCellFile, match=name):
        code, said, _ = rerun(out, capsys)
    assert code == 0 and "1 already done, 1 trained, 1 finished, 0 failed" in said  # was: a failed record
    assert (load_records(out)["status"] == "done").all()
    pd.testing.assert_frame_equal(stable(records), stable(load_records(out)))
    assert CellFolder(folder).is_complete([k for k in CellFolder(folder).read_spec()["metric_keys"].values()])


def test_a_missing_checkpoint_retrains_the_cell(finished, capsys):
    out, records, folder = finished
    (folder / "model.ckpt").unlink()
    with pytest.warns(CorruptCellFile, match="model.ckpt"):
        code, said, _ = rerun(out, capsys)
    assert code == 0 and "1 trained" in said and (folder / "model.ckpt").exists()


def test_truncated_cell_spec_is_skipped_by_records_and_rewritten_by_run(finished, capsys):
    out, records, folder = finished
    truncate(folder / "cell.json")
    with pytest.warns(CorruptCellFile, match="cell.json"):
        partial = load_records(out)
    assert folder.name not in set(partial["cell_id"])
    with pytest.warns(CorruptCellFile, match="cell.json"):
        code, said, _ = rerun(out, capsys)
    assert code == 0 and "1 already done, 0 trained, 1 finished" in said  # only the spec is rewritten
    pd.testing.assert_frame_equal(stable(records), stable(load_records(out)))


def test_cells_written_before_checksums_are_still_complete(finished, capsys):
    """Folders written by earlier versions (no checksums) stay cached; their JSON must still parse."""
    out, records, folder = finished
    for path in [folder / "trained.json", *(folder / "metrics").glob("*.json")]:
        doc = json.loads(path.read_text())
        doc.pop("sha256"), doc.pop("files", None)
        path.write_text(json.dumps(doc, indent=1, sort_keys=True))
    code, said, _ = rerun(out, capsys)
    assert code == 0 and "2 already done" in said
    pd.testing.assert_frame_equal(stable(records), stable(load_records(out)))


# unwritable results folder -----------------------------------------------------------------------------
def _read_only(path):
    for p in [path, *path.rglob("*")]:
        if p.is_dir():
            p.chmod(stat.S_IRUSR | stat.S_IXUSR)


def _writable(path):
    for p in [path, *path.rglob("*")]:
        if p.is_dir():
            p.chmod(stat.S_IRWXU)


def _snapshot(folder) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("where", ["out", "cell"])
def test_read_only_results_folder_is_one_line_and_keeps_the_cells(finished, capsys, where):
    out, records, folder = finished
    before = _snapshot(out / "cells")
    target = out if where == "out" else folder
    _read_only(target)
    try:
        if os.access(target, os.W_OK):
            pytest.skip("chmod has no effect (running as root)")
        code, said, err = rerun(out, capsys, "-m", "mmd_multi")  # a new metric: the cell must be written
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "expected a writable" in err and "got" in err and "Permission denied" in err, err
        assert "internal error" not in err
    finally:
        _writable(target)
    assert _snapshot(out / "cells") == before
    pd.testing.assert_frame_equal(stable(records), stable(load_records(out)))


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_unwritable_cell_folder_is_one_line_and_keeps_the_cells(finished, capsys, monkeypatch, code):
    """As the chmod test above, also when running as root: every write under cells/ is refused."""
    import tempfile

    out, records, folder = finished
    before = _snapshot(out / "cells")
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and str(out / "cells") in str(dir):
            raise OSError(code, os.strerror(code), str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    code_, said, err = rerun(out, capsys, "-m", "mmd_multi")
    assert code_ == 2 and len(err.strip().splitlines()) == 1 and "internal error" not in err, err
    assert "expected a writable folder" in err and os.strerror(code) in err and "make the folder writable" in err
    monkeypatch.setattr(tempfile, "mkstemp", real_mkstemp)
    assert _snapshot(out / "cells") == before
    pd.testing.assert_frame_equal(stable(records), stable(load_records(out)))


def test_full_disk_is_one_line_keeps_finished_cells_and_resumes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "runs"
    real_fsync = os.fsync

    def fsync(fd):  # the disk fills up once the first cell is finished
        if list(out.glob("cells/*/metrics/*.json")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    code = main(["run", *GRID, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "No space left on device" in err and "expected" in err and "free" in err
    assert not list(out.rglob("*.tmp"))  # no temporary file left behind
    monkeypatch.setattr(os, "fsync", real_fsync)
    done = load_records(out)
    assert (done.loc[done["status"] == "done", "value"]).notna().any()  # the first cell is finished and intact
    code, said, _ = rerun(out, capsys)
    assert code == 0 and "1 already done, 1 trained" in said
    clean = tmp_path / "clean"
    assert main(["run", *GRID, "--out", str(clean)]) == 0
    pd.testing.assert_frame_equal(stable(load_records(clean)), stable(load_records(out)))


# shipped folders (Dask workers) --------------------------------------------------------------------------
def test_a_corrupt_file_on_the_client_is_recomputed_by_a_detached_worker(tmp_path):
    from tsbench.runner.transfer import apply_cell_files, pack_cell, run_cell_detached

    [cell] = plan_cells(["sines"], ["gaussian"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench")
    out = tmp_path / "runs"
    run_grid([cell], out, progress=False)
    folder = out / "cells" / cell.cell_id
    records = load_records(out)
    truncate(folder / "model.ckpt")  # not shipped: the client must notice
    with pytest.warns(CorruptCellFile, match="model.ckpt"):
        shipped = pack_cell(folder)
    outcome, changed, removed = run_cell_detached(cell, shipped, False)
    assert outcome.status == "done" and outcome.trained and "model.ckpt" in changed
    apply_cell_files(folder, changed, removed)
    assert CellFolder(folder).is_complete([m.key for m in cell.metrics])
    pd.testing.assert_frame_equal(stable(records), stable(load_records(out)))


# the folder object ---------------------------------------------------------------------------------------
def test_cell_folder_round_trip_and_verification(tmp_path):
    import numpy as np

    cell = CellFolder(tmp_path / "abc")
    assert cell.cell_id == "abc" and cell.read_spec() is None and not cell.is_complete([])
    samples = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    cell.write_spec({"cell_id": "abc", "dataset": "d", "generator": "g", "seed": 0, "preset": "p", "protocol": "t"})
    cell.mark_trained({"fit_s": 1.0}, [cell.write_samples(samples)])
    assert cell.is_complete([]) and cell.read_trained()["fit_s"] == 1.0
    np.testing.assert_array_equal(cell.trained_samples(), samples)
    cell.write_metric("k1", {"metric": "m", "metric_name": "m", "version": "1", "outputs": {"value": False},
                             "values": {"value": [0.5]}, "metric_s": 0.1})
    assert cell.read_metric("k1")["values"] == {"value": [0.5]} and cell.is_complete(["k1"])
    flip_last_byte(cell.path / "samples.npy")
    assert not cell.is_complete(["k1"])
    with pytest.warns(CorruptCellFile, match="samples.npy"):
        assert cell.trained_samples() is None
    assert cell.metric_keys_on_disk() == {"m": "k1"}  # what cell.json lists, recovered from the results
    cell.unmark()
    assert cell.read_trained() is None and cell.read_metric("k1") is None


def test_atomic_writes_get_the_usual_permissions(tmp_path):
    """mkstemp creates 0600 files; a results file (records.csv, cell files) must be readable like any other."""
    import os
    import stat

    from tsbench.runner.atomic import atomic_write_bytes

    mask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "records.csv", b"a\n")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "records.csv").stat().st_mode) == 0o644
