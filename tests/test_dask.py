"""Dask executor: same records as in-process, killed workers, timeouts, failures, shipping, Slurm, CLI.

Loopback only. One 2-worker LocalCluster is shared by the module (worker start-up dominates the cost).
"""
from __future__ import annotations

import dataclasses
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

import dask_helpers  # noqa: E402  (tests/ is on sys.path, and on the workers' through spawn)

from tsbench.records import VOLATILE_COLUMNS  # noqa: E402
from tsbench.cli import main  # noqa: E402
from tsbench.errors import InputError  # noqa: E402
from tsbench.runner import load_records  # noqa: E402
from tsbench.runner.dask_executor import DaskExecutor, local_cluster, require_distributed  # noqa: E402
from tsbench.runner.executors import InProcessExecutor  # noqa: E402
from tsbench.runner.grid import plan_cells, run_grid  # noqa: E402
from tsbench.runner.transfer import apply_cell_files, pack_cell, run_cell_detached  # noqa: E402

pytestmark = [pytest.mark.dask, pytest.mark.timeout(300)]
VOLATILE = list(VOLATILE_COLUMNS)
TESTS = Path(__file__).resolve().parent


def stable(records: pd.DataFrame) -> pd.DataFrame:
    return records.drop(columns=VOLATILE).sort_values(["cell_id", "metric", "repeat"]).reset_index(drop=True)


def smoke(generators, seeds=1, metrics=("mmd",)):
    return plan_cells(["sines"], list(generators), list(metrics), seeds=seeds, preset="smoke", protocol="tsbench")


@pytest.fixture(scope="module")
def client():
    dask_helpers.register()
    cluster = local_cluster(2, retries=2)
    client = distributed.Client(cluster)
    client.register_plugin(dask_helpers.RegisterTestGenerators(), name="tsbench-test-generators")
    yield client
    client.close()
    cluster.close()
    dask_helpers.unregister()


def test_local_cluster_listens_on_loopback_only(client):
    info = client.scheduler_info()
    assert client.scheduler.address.startswith("tcp://127.0.0.1:")
    assert len(info["workers"]) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in info["workers"])
    assert all(w["nthreads"] == 1 for w in info["workers"].values())


def test_smoke_grid_matches_in_process_records(client, tmp_path, monkeypatch):
    monkeypatch.setattr("tsbench.runner.dask_executor.MIN_IN_FLIGHT", 1)  # 4 in flight: lazy submission
    cells = smoke(["real", "gaussian", "gan"], seeds=2)
    local, remote = tmp_path / "local", tmp_path / "dask"
    run_grid(cells, local, executor=InProcessExecutor(), progress=False)
    summary = run_grid(cells, remote, executor=DaskExecutor(client=client), progress=False)
    assert [o.status for o in summary.outcomes] == ["done"] * 6 and summary.trained == 6
    pd.testing.assert_frame_equal(stable(load_records(local)), stable(load_records(remote)))
    for cell in cells:  # the files written on the client: checkpoint, samples, markers
        folder = remote / "cells" / cell.cell_id
        assert {"cell.json", "model.ckpt", "samples.npy", "trained.json"} <= {p.name for p in folder.iterdir()}
        assert not list(folder.rglob(".*.tmp"))
    again = run_grid(cells, remote, executor=DaskExecutor(client=client), progress=False)
    assert again.cached == 6 and again.outcomes == []


def test_killed_worker_cell_is_retried_once_nothing_lost(client, tmp_path):
    flag = tmp_path / "die_once.pid"
    cells = smoke(["real", "gaussian", f"die_once[flag={flag}]"])
    killed = []

    def killer():
        deadline = time.monotonic() + 120
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        pid = int(flag.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    summary = run_grid(cells, tmp_path / "runs", executor=DaskExecutor(client=client, retries=2), progress=False)
    thread.join(5)
    assert killed, "the die_once cell never started"
    assert sorted(o.cell_id for o in summary.outcomes) == sorted(c.cell_id for c in cells)  # no duplicate
    assert [o.status for o in summary.outcomes] == ["done"] * 3, [o.error for o in summary.outcomes]
    records = load_records(tmp_path / "runs")
    assert (records["status"] == "done").all()
    assert records["cell_id"].nunique() == 3 and set(records["metric"]) >= {"mmd", "mmd.bandwidth"}
    assert len(records) == len(records.drop_duplicates(["cell_id", "metric", "repeat"]))
    _wait_for_workers(client, 2)


def test_timeout_and_failing_cells_are_recorded_while_others_finish(client, tmp_path):
    cells = smoke(["real", "endless", "exploding"])
    cells[1] = dataclasses.replace(cells[1], timeout=0.5)
    summary = run_grid(cells, tmp_path / "runs", executor=DaskExecutor(client=client), progress=False)
    status = {o.label.split(" / ")[1]: o for o in summary.outcomes}
    assert status["real"].status == "done"
    assert status["endless"].status == "timeout" and "timeout of 0.5 s" in status["endless"].error
    assert status["exploding"].status == "failed" and "RuntimeError: boom" in status["exploding"].error
    records = load_records(tmp_path / "runs").set_index("generator")
    assert records.loc["endless", "status"] == "timeout" and records.loc["exploding", "status"] == "failed"
    assert (records.loc[["real"], "status"] == "done").all()


def test_hanging_cells_are_killed_from_outside_and_the_grid_finishes(client, tmp_path):
    """A plugin that sleeps inside one step or spins without reporting progress never reaches the cooperative
    check: the worker kills the cell's process at timeout + grace, records `timeout`, and takes the next cell."""
    cells = smoke(["sleeper", "spinner", "gaussian"])
    cells = [dataclasses.replace(c, timeout=30.0 if c.generator == "gaussian" else 1.0) for c in cells]
    start = time.monotonic()
    summary = run_grid(cells, tmp_path / "runs", executor=DaskExecutor(client=client, grace=1.0), progress=False)
    assert time.monotonic() - start < 120
    status = {o.label.split(" / ")[1]: o for o in summary.outcomes}
    assert status["gaussian"].status == "done", status["gaussian"].error
    for name in ("sleeper", "spinner"):
        assert status[name].status == "timeout" and "worker killed" in status[name].error, status[name].error
    records = load_records(tmp_path / "runs").set_index("generator")
    assert records.loc["sleeper", "status"] == "timeout" and records.loc["spinner", "status"] == "timeout"
    # the next run retries the timed-out cells and keeps the finished one
    again = run_grid(cells, tmp_path / "runs", executor=DaskExecutor(client=client, grace=1.0), progress=False)
    assert again.cached == 1 and {o.status for o in again.outcomes} == {"timeout"}


def test_force_reruns_through_the_shipped_folder(client, tmp_path):
    cells = smoke(["gaussian"])
    out = tmp_path / "runs"
    run_grid(cells, out, executor=DaskExecutor(client=client), progress=False)
    folder = out / "cells" / cells[0].cell_id
    (folder / "failed.json").write_text("{}")  # a stale failure marker must disappear
    summary = run_grid(cells, out, executor=DaskExecutor(client=client), force=["gaussian"], progress=False)
    assert summary.trained == 1 and summary.outcomes[0].status == "done"
    assert not (folder / "failed.json").exists() and (folder / "trained.json").exists()


def test_cells_per_gpu_without_gpu_workers_fails_fast(client, tmp_path):
    cells = plan_cells(["sines"], ["gan"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench", device="cuda")
    with pytest.raises(InputError, match="--resources GPU=1"):
        list(DaskExecutor(client=client, cells_per_gpu=4).run(cells, str(tmp_path), set()))


def test_gpu_cells_request_a_fraction_of_a_gpu():
    executor = DaskExecutor(cells_per_gpu=4)
    cpu, cuda, auto = (plan_cells(["sines"], ["gan"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench",
                                  device=d)[0] for d in ("cpu", "cuda:1", "auto"))
    assert executor._resources(cpu) is None
    assert executor._resources(cuda) == executor._resources(auto) == {"GPU": 0.25}
    assert DaskExecutor()._resources(cuda) is None


def test_gpu_pinning_gives_each_local_worker_its_own_device(monkeypatch):
    from tsbench.runner.dask_executor import PinGPU

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    seen = []
    for name in range(3):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
        PinGPU().setup(type("W", (), {"name": name})())
        seen.append(os.environ["CUDA_VISIBLE_DEVICES"])
    assert seen == ["2", "5", "2"]


# file shipping (no cluster) ----------------------------------------------------------------------------
def test_detached_run_returns_every_file_and_apply_orders_markers_last(tmp_path, monkeypatch):
    cell = smoke(["gaussian"])[0]
    outcome, changed, removed = run_cell_detached(cell, {}, False)
    assert outcome.status == "done" and removed == []
    assert {"cell.json", "model.ckpt", "samples.npy", "trained.json"} <= set(changed)
    order = []
    import tsbench.runner.transfer as transfer

    real_write = transfer.atomic_write_bytes
    monkeypatch.setattr(transfer, "atomic_write_bytes", lambda path, data: (order.append(path.name),
                                                                           real_write(path, data)))
    folder = tmp_path / "cell"
    apply_cell_files(folder, changed, [])
    metric = [n for n in order if n.startswith("mmd-")]
    assert order[0] == "cell.json" and order[-2:] == ["trained.json", *metric]
    # resume: the shipped folder leaves out the checkpoint; nothing is recomputed
    shipped = pack_cell(folder)
    assert "model.ckpt" not in shipped and "samples.npy" in shipped
    outcome, changed, removed = run_cell_detached(cell, shipped, False)
    assert not outcome.trained and set(changed) <= {"cell.json"} and removed == []  # spec only


def test_unsafe_paths_from_a_worker_are_refused(tmp_path):
    for bad in ("../escape.json", "/etc/x", "a/../../b"):
        with pytest.raises(ValueError, match="refusing"):
            apply_cell_files(tmp_path, {bad: b"x"}, [])


def test_task_that_never_returns_is_recorded_as_failed(tmp_path):
    cell = smoke(["gaussian"])[0]

    class Lost:
        status = "error"

        def exception(self):
            return distributed.KilledWorker("tsbench-cell-x", "tcp://127.0.0.1:1", [])

    from tsbench.runner.store import RunStore

    outcome = DaskExecutor(retries=2)._collect(Lost(), cell, RunStore(tmp_path))
    assert outcome.status == "failed" and outcome.error.startswith("KilledWorker: every worker that ran this cell "
                                                                   "died")
    records = load_records(tmp_path)
    assert list(records["status"]) == ["failed"] and records["error"].iloc[0] == outcome.error


def test_missing_extra_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(InputError, match=r"pip install 'tsbench\[dask\]'"):
        require_distributed()


# Slurm (nothing submitted) -----------------------------------------------------------------------------
def test_slurm_job_script_carries_the_options(tmp_path):
    pytest.importorskip("dask_jobqueue")
    from tsbench.runner.dask_executor import slurm_cluster

    options = {"queue": "gpu", "cores": 8, "memory": "32GB", "walltime": "01:30:00", "extra": ["--gres=gpu:1"],
               "host": "127.0.0.1", "shared_temp_directory": str(tmp_path), "prologue": ["module load cuda"]}
    cluster = slurm_cluster(options, retries=2, cells_per_gpu=4)
    try:
        script = cluster.job_script()
        assert cluster.scheduler_address.startswith("tls://127.0.0.1:")  # TLS by default, given host only
        certificates = list(tmp_path.glob(".dask-jobqueue.worker.*"))
        assert len(certificates) == 3 and all(oct(p.stat().st_mode)[-3:] == "600" for p in certificates)
    finally:
        cluster.close()
    del cluster
    gc.collect()
    assert not list(tmp_path.glob(".dask-jobqueue.worker.*"))  # the temporary certificates go with the cluster
    for expected in ("#SBATCH -p gpu", "#SBATCH -n 1", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=30G",
                     "#SBATCH -t 01:30:00", "#SBATCH --gres=gpu:1", "module load cuda", "--nthreads 8",
                     "--resources GPU=1", "--tls-ca-file", "tls://127.0.0.1:"):
        assert expected in script, expected
    assert "#SBATCH -J tsbench" in script


def test_slurm_refuses_a_loopback_scheduler_address(monkeypatch):
    import socket

    from tsbench.runner.dask_executor import default_host

    monkeypatch.setattr(socket, "gethostbyname", lambda name: "127.0.1.1")
    with pytest.raises(InputError, match="compute nodes can reach"):
        default_host()


# command line -------------------------------------------------------------------------------------------
def test_dask_options_are_typed_and_built_from_the_command_line():
    """``tsbench run``'s Dask arguments map one to one (name and default) onto :class:`DaskOptions`; the
    executor built from the parsed arguments is the one built from the typed options."""
    from tsbench.cli import build_parser
    from tsbench.commands.run import _executor
    from tsbench.runner.dask_executor import DaskOptions

    def parsed(*argv):
        args = build_parser().parse_args(["run", "--all", "--executor", "dask", *argv])
        return args, DaskOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(DaskOptions)})

    _, defaults = parsed()
    assert dataclasses.replace(defaults, slurm_extra=tuple(defaults.slurm_extra)) == DaskOptions()
    args, options = parsed("--jobs", "3", "--cluster", "slurm", "--slurm-queue", "gpu", "--slurm-extra=--gres=gpu:1",
                           "--slurm-host", "10.0.0.2", "--cells-per-gpu", "2", "--retries", "1")
    assert options == DaskOptions(jobs=3, cluster="slurm", slurm_queue="gpu", slurm_extra=["--gres=gpu:1"],
                                  slurm_host="10.0.0.2", cells_per_gpu=2, retries=1)
    executor = DaskExecutor.from_options(options)
    assert vars(_executor(args)) == vars(executor)
    assert (executor.n_workers, executor.cluster, executor.retries, executor.cells_per_gpu) == (3, "slurm", 1, 2)
    assert executor.slurm_options == {"queue": "gpu", "cores": 4, "memory": "16GB", "walltime": "04:00:00",
                                      "jobs": 1, "extra": ["--gres=gpu:1"], "host": "10.0.0.2"}
    for bad, message in (({"retries": -1}, "--retries"), ({"cells_per_gpu": 0}, "--cells-per-gpu"),
                         ({"jobs": 0}, "--jobs")):
        with pytest.raises(InputError, match=message):
            DaskExecutor.from_options(DaskOptions(**bad))


CLI_GRID = ["run", "-g", "real", "-g", "gaussian", "-d", "sines", "--preset", "smoke", "-m", "mmd", "--seeds", "1",
            "--no-progress", "--executor", "dask"]


def test_cli_against_a_running_local_cluster(client, tmp_path, capsys):
    out = str(tmp_path / "runs")
    assert main([*CLI_GRID, "--scheduler", client.scheduler.address, "--out", out]) == 0
    assert "2 cells: 0 already done, 2 trained, 2 finished, 0 failed" in capsys.readouterr().out
    assert (load_records(out)["status"] == "done").all()
    assert client.status == "running"  # a client it did not create is left alone


@pytest.mark.slow
def test_cli_starts_its_own_loopback_local_cluster(tmp_path, capsys):
    out = str(tmp_path / "runs")
    assert main([*CLI_GRID, "--jobs", "2", "--out", out]) == 0
    assert "2 cells: 0 already done, 2 trained, 2 finished, 0 failed" in capsys.readouterr().out
    assert (load_records(out)["status"] == "done").all()


@pytest.mark.slow
def test_cli_against_a_separately_started_scheduler_and_worker(tmp_path, capsys):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    scheduler_file = tmp_path / "scheduler.json"
    bin_dir = Path(sys.executable).parent
    scheduler = subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--host", "127.0.0.1", "--nthreads",
                                   "1", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        out = str(tmp_path / "runs")
        assert main([*CLI_GRID, "--scheduler", address, "--out", out]) == 0
        assert "2 trained, 2 finished, 0 failed" in capsys.readouterr().out
        assert (load_records(out)["status"] == "done").all()
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(30)


@pytest.mark.slow
def test_cell_whose_worker_always_dies_is_recorded_failed(client, tmp_path):
    cells = smoke(["gaussian", "always_die"])
    summary = run_grid(cells, tmp_path / "runs", executor=DaskExecutor(client=client), progress=False)
    status = {o.label.split(" / ")[1]: o for o in summary.outcomes}
    assert status["gaussian"].status == "done"
    assert status["always_die"].status == "failed" and status["always_die"].error.startswith("KilledWorker")
    records = load_records(tmp_path / "runs").set_index("generator")
    assert records.loc["always_die", "status"] == "failed"
    _wait_for_workers(client, 2)


def _wait_for_workers(client, n, timeout=60):
    client.wait_for_workers(n, timeout=timeout)
