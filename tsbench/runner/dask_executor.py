"""Run the grid's cells on a Dask cluster: a loopback ``LocalCluster``, a remote scheduler, or Slurm.

Cells are the unit of work. Workers need no shared disk: the client ships each cell's folder to its task
and writes the returned files into the results folder itself (:mod:`tsbench.runner.transfer`), so the
results folder, its lock and every write stay on the client. See ``docs/dask.md``.

Fault tolerance. A worker that dies mid-cell (killed, out of memory, node lost) makes the scheduler
re-run the cell on another worker, up to ``retries`` times (the scheduler's ``allowed-failures``); an
exception outside ``run_cell`` is retried the same number of times (``submit(retries=…)``). A cell that
still fails is recorded as failed (``failed.json``) and the grid goes on. Only the attempt that finished
is returned to the client, so a retried cell is written once. A client that dies loses nothing already
written: the next ``tsbench run`` resumes from the finished cells.

>>> from tsbench.runner.dask_executor import DaskExecutor, DaskOptions          # doctest: +SKIP
>>> run_grid(cells, "runs", executor=DaskExecutor(n_workers=2))                   # doctest: +SKIP
>>> run_grid(cells, "runs", executor=DaskExecutor.from_options(DaskOptions(jobs=2)))  # doctest: +SKIP
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import InputError
from ..validation import check_positive_int
from .cells import CellSpec
from .execute import CellOutcome, provenance
from .gpus import PINNABLE_DEVICES, check_one_worker_per_gpu, gpus_for, visible_gpus
from .store import RunStore
from .deadline import GRACE_S
from .transfer import apply_cell_files, pack_cell, run_cell_detached

try:  # this module is imported only for --executor dask; without the extra, require_distributed explains
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - exercised only without the extra
    _WorkerPlugin = object

INSTALL_HINT = "pip install 'tsbench[dask]'"
GPU_DEVICES = PINNABLE_DEVICES
#: cells submitted ahead of the workers (at least; else twice the cluster's threads): bounds client memory
MIN_IN_FLIGHT = 32


def require_distributed():
    """Import ``distributed`` or raise a one-line :class:`InputError` naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise InputError("--executor dask", expected="the optional Dask extra installed",
                         got="no module named 'distributed'", fix=INSTALL_HINT) from None
    return distributed


@dataclass(frozen=True)
class DaskOptions:
    """The options of ``tsbench run --executor dask``, typed: one field per command-line option, named as
    its ``argparse`` destination and with the same default. :meth:`DaskExecutor.from_options` validates them.
    """

    #: --jobs: worker processes of the LocalCluster started when no --scheduler is given (None: 1, or with
    #: --cells-per-gpu one per visible GPU)
    jobs: int | None = None
    scheduler: str | None = None  # --scheduler ADDRESS of a running scheduler
    cluster: str = "local"  # --cluster local | slurm
    retries: int = 2  # --retries
    cells_per_gpu: int | None = None  # --cells-per-gpu
    slurm_queue: str | None = None
    slurm_host: str | None = None
    slurm_cores: int = 4
    slurm_memory: str = "16GB"
    slurm_walltime: str = "04:00:00"
    slurm_jobs: int = 1
    slurm_extra: tuple[str, ...] | list[str] = ()  # extra #SBATCH directives

    def slurm_options(self) -> dict:
        """The ``slurm_options`` of :class:`DaskExecutor` (see :func:`slurm_cluster`)."""
        return {"queue": self.slurm_queue, "cores": self.slurm_cores, "memory": self.slurm_memory,
                "walltime": self.slurm_walltime, "jobs": self.slurm_jobs, "extra": self.slurm_extra,
                "host": self.slurm_host}


class DaskExecutor:
    """Executor protocol ``run(cells, out, force_ids) -> Iterator[CellOutcome]`` on Dask distributed.

    Parameters
    ----------
    client : distributed.Client, optional
        Use this client (not closed afterwards). Otherwise one is created for the run and closed after it.
    address : str, optional
        Scheduler to connect to, e.g. ``tcp://10.0.0.5:8786`` or ``tls://…`` (TLS settings from the Dask
        config ``distributed.comm.tls``, see ``docs/dask.md``). Default: start a cluster (``cluster``).
    n_workers : int
        Worker processes of the ``LocalCluster`` started for you (``--jobs``).
    threads_per_worker : int
        Torch (compute) threads each cell uses; set in every task.
    cluster : {"local", "slurm"}
        What to start when no ``client``/``address`` is given. ``local``: a ``LocalCluster`` on 127.0.0.1
        only, one process per worker. ``slurm``: a ``dask_jobqueue.SLURMCluster`` (see ``slurm_options``).
    slurm_options : dict, optional
        ``queue``, ``cores``, ``memory``, ``walltime``, ``jobs`` (Slurm jobs, one worker each),
        ``extra`` (``#SBATCH`` directives), ``host`` (the login-node address workers reach the scheduler
        on; default: this host's address), ``tls`` (default True: temporary certificates),
        ``shared_temp_directory`` (where the certificates are written for the jobs; default
        ``~/.tsbench/dask``), ``prologue`` (shell lines run before the worker, e.g. ``module load``).
    retries : int
        Re-runs of a cell whose worker died or whose task raised, before it is recorded as failed.
    cells_per_gpu : int, optional
        Pack this many GPU cells (device ``cuda``/``auto``) on one GPU: each requests the Dask resource
        ``GPU=1/cells_per_gpu``; workers must offer ``GPU=1`` (``dask worker --resources GPU=1``: one worker per
        GPU, pinned to it) and have ``cells_per_gpu`` threads. Every cell then runs in a child process of its
        worker (:mod:`tsbench.runner.deadline`), which inherits the worker's GPU: cells packed on a GPU never share
        a process (global RNG, torch threads, CUDA context). CPU cells request nothing. With the ``LocalCluster``,
        ``n_workers`` must not exceed the visible GPUs (:func:`tsbench.runner.gpus.visible_gpus`).
    grace : float
        A cell with a ``--timeout`` runs in a child process of its worker, killed (with its process group) at
        ``timeout + grace`` seconds and recorded as ``timeout`` (:mod:`tsbench.runner.deadline`): a hard
        timeout, as with ``--jobs``.
    """

    def __init__(self, client=None, address: str | None = None, n_workers: int = 2, threads_per_worker: int = 1,
                 cluster: str = "local", slurm_options: dict | None = None, retries: int = 2,
                 cells_per_gpu: int | None = None, grace: float = GRACE_S):
        self.client = client
        self.address = address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.cluster = cluster
        self.slurm_options = slurm_options
        self.retries = retries
        self.cells_per_gpu = cells_per_gpu
        self.grace = grace

    @classmethod
    def from_options(cls, options: DaskOptions) -> DaskExecutor:
        """The executor ``--executor dask`` runs with (validated; one-line :class:`InputError` otherwise)."""
        require_distributed()
        retries = options.retries
        if retries is None or retries < 0:
            raise InputError("--retries", expected="0 or more", got=repr(retries), fix="pass e.g. --retries 2")
        cells_per_gpu = options.cells_per_gpu
        if cells_per_gpu is not None:
            cells_per_gpu = check_positive_int(cells_per_gpu, what="--cells-per-gpu")
        jobs = options.jobs
        if jobs is None:
            jobs = max(1, len(visible_gpus())) if cells_per_gpu else 1
        return cls(address=options.scheduler, n_workers=check_positive_int(jobs, what="--jobs"),
                   cluster=options.cluster, slurm_options=options.slurm_options(), retries=retries,
                   cells_per_gpu=cells_per_gpu)

    # protocol -------------------------------------------------------------------------------------
    def run(self, cells: Iterable[CellSpec], out: str, force_ids: set[str]) -> Iterator[CellOutcome]:
        distributed = require_distributed()
        cells = list(cells)
        if not cells:
            return
        store = RunStore(out)
        self._check_local_gpus(cells)
        client, cluster = self._connect(distributed)
        futures: dict = {}
        try:
            self._check_gpu_workers(client, cells)
            token = uuid.uuid4().hex[:8]  # fresh keys per run: never collide with a long-lived scheduler's
            copies = Counter(cell.cell_id for cell in cells)  # a cell listed twice runs once
            pending = iter({cell.cell_id: cell for cell in cells}.values())
            finished = distributed.as_completed()

            def submit_next() -> None:  # files are packed lazily: a bounded number of cells in the graph
                cell = next(pending, None)
                if cell is not None:
                    future = client.submit(run_cell_detached, cell, pack_cell(store.cell_dir(cell.cell_id)),
                                           cell.cell_id in force_ids, self.threads_per_worker, self.grace,
                                           bool(self.cells_per_gpu), pure=False,
                                           key=f"tsbench-cell-{cell.cell_id}-{token}", retries=self.retries,
                                           resources=self._resources(cell))
                    futures[future] = cell
                    finished.add(future)

            for _ in range(max(MIN_IN_FLIGHT, 2 * _total_threads(client))):
                submit_next()
            for future in finished:
                cell = futures.pop(future)
                outcome = self._collect(future, cell, store)
                future.release()
                submit_next()
                for _ in range(copies[cell.cell_id]):
                    yield outcome
        finally:
            for future in futures:
                future.cancel()
            if cluster is not None:
                client.close()
                cluster.close()
            elif self.client is None:
                client.close()

    # helpers --------------------------------------------------------------------------------------
    def _resources(self, cell: CellSpec) -> dict | None:
        if self.cells_per_gpu and cell.device.split(":")[0] in GPU_DEVICES:
            return {"GPU": 1 / self.cells_per_gpu}
        return None

    def _collect(self, future, cell: CellSpec, store: RunStore) -> CellOutcome:
        folder = store.cell_dir(cell.cell_id)
        if future.status == "finished":
            try:
                outcome, changed, removed = future.result()
                apply_cell_files(folder, changed, removed)
                return outcome
            except Exception as exc:  # e.g. an unsafe path in a worker's reply
                error = f"could not store the worker's results: {type(exc).__name__}: {exc}"
        else:
            exc = future.exception() if future.status == "error" else None
            error = _task_error(exc, future.status, self.retries)
        record_failure(folder, cell, error)
        return CellOutcome(cell.cell_id, cell.label, "failed", error)

    def _connect(self, distributed):
        if self.client is not None:
            return self.client, None
        if self.address:
            try:
                return distributed.Client(self.address, timeout="30s"), None
            except (OSError, TimeoutError) as exc:
                raise InputError("--scheduler", expected="a reachable Dask scheduler address",
                                 got=f"{self.address!r} ({type(exc).__name__}: {exc})",
                                 fix="start one with `dask scheduler --host 127.0.0.1` or check the address "
                                     "and TLS settings (docs/dask.md)") from None
        if self.cluster == "slurm":
            options = self.slurm_options or {}
            cluster = slurm_cluster(options, retries=self.retries, cells_per_gpu=self.cells_per_gpu)
            cluster.scale(jobs=check_positive_int(options.get("jobs", 1), what="--slurm-jobs"))
        elif self.cluster == "local":
            cluster = local_cluster(self.n_workers, retries=self.retries, cells_per_gpu=self.cells_per_gpu)
        else:
            raise InputError("--cluster", expected="local | slurm", got=repr(self.cluster),
                             fix="pass --cluster local or --cluster slurm")
        client = distributed.Client(cluster)
        if self.cells_per_gpu and self.cluster == "local":
            client.register_plugin(PinGPU(), name="tsbench-pin-gpu")
        return client, cluster

    def _check_local_gpus(self, cells: list[CellSpec]) -> None:
        """A ``LocalCluster`` started for GPU cells has one worker per GPU: ``n_workers`` ≤ visible GPUs."""
        if not self.cells_per_gpu or self.client is not None or self.address or self.cluster != "local":
            return
        gpus = gpus_for(cells, cells_per_gpu=self.cells_per_gpu)
        check_one_worker_per_gpu(self.n_workers, gpus, cells_per_gpu=self.cells_per_gpu)

    def _check_gpu_workers(self, client, cells: list[CellSpec]) -> None:
        """Fail fast when GPU cells can never be placed (workers present, none offering ``GPU``)."""
        if not any(self._resources(c) for c in cells):
            return
        workers = client.scheduler_info().get("workers", {})
        if workers and not any("GPU" in (w.get("resources") or {}) for w in workers.values()):
            raise InputError("--cells-per-gpu", expected="workers started with `--resources GPU=1`",
                             got=f"{len(workers)} worker(s) without a GPU resource",
                             fix="restart the workers with `dask worker ADDRESS --resources GPU=1` (one per GPU) "
                                 "or drop --cells-per-gpu / pass --device cpu")


def _total_threads(client) -> int:
    return sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values())


def _task_error(exc, status: str, retries: int) -> str:
    if exc is None:
        return f"the Dask task ended as {status!r} (scheduler lost or task cancelled); rerun to resume"
    name = type(exc).__name__
    if name == "KilledWorker":
        return ("KilledWorker: every worker that ran this cell died (killed, out of memory or lost) until the "
                "scheduler's allowed-failures (--retries) ran out; see the worker logs")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {text} (after {retries} retries)" if text else f"{name} (after {retries} retries)"


def record_failure(folder: Path, cell: CellSpec, error: str) -> None:
    """Record a cell whose task never returned: ``cell.json`` (written if missing or unreadable, else its metric
    list extended) then ``failed.json``, through the cell folder's verified reads and atomic writes."""
    from .cellfiles import CellFolder

    cell_folder = CellFolder(folder)
    cell_folder.create()
    keys = {m.display: m.key for m in cell.metrics}
    info = cell_folder.read_spec()
    if info is None:
        info = {**cell.to_dict(), **provenance(), "device": None, "metric_keys": keys}
    else:  # keep the spec, make sure the new metrics are listed
        info["metric_keys"] = {**info.get("metric_keys", {}), **keys}
    cell_folder.write_spec(info)
    cell_folder.write_failure({"status": "failed", "error": error, "traceback": None, "time": time.time()})


# clusters -----------------------------------------------------------------------------------------
def local_cluster(n_workers: int, *, retries: int, cells_per_gpu: int | None = None):
    """A ``LocalCluster`` bound to 127.0.0.1 (scheduler, workers, nannies and the HTTP/dashboard server).

    CPU: ``n_workers`` processes with one Dask thread each. With ``cells_per_gpu`` (one worker per GPU):
    each worker offers ``GPU=1`` and ``cells_per_gpu`` threads, and :class:`PinGPU` gives it its own GPU; each
    thread only waits for its cell's child process (:class:`DaskExecutor`), so packed cells are processes.
    """
    from distributed import LocalCluster

    gpu = {"resources": {"GPU": 1}} if cells_per_gpu else {}
    return LocalCluster(n_workers=n_workers, threads_per_worker=cells_per_gpu or 1, processes=True,
                        host="127.0.0.1", dashboard_address="127.0.0.1:0", scheduler_kwargs={"allowed_failures": retries},
                        silence_logs=40, **gpu)


class PinGPU(_WorkerPlugin):
    """Worker plugin: give the LocalCluster worker named ``i`` its own GPU (``CUDA_VISIBLE_DEVICES``).

    Runs before any cell, i.e. before CUDA is initialised in the worker process. The devices are those of
    ``CUDA_VISIBLE_DEVICES`` (inherited from the client) or every GPU listed in ``/proc/driver/nvidia/gpus``;
    worker ``i`` gets device ``i mod n``.
    """

    def setup(self, worker) -> None:
        index = worker.name if isinstance(worker.name, int) else None
        devices = visible_gpus()
        if index is not None and devices:
            os.environ["CUDA_VISIBLE_DEVICES"] = devices[index % len(devices)]


def slurm_cluster(options: dict, *, retries: int, cells_per_gpu: int | None = None):
    """A ``dask_jobqueue.SLURMCluster`` (one worker per Slurm job; nothing submitted until ``scale``).

    The scheduler runs in this process and listens on ``options["host"]`` only (default: this host's
    address; its HTTP/dashboard server on the login node's 127.0.0.1 — reach it with ``ssh -L``); TLS with
    temporary certificates is on unless ``options["tls"]`` is False. The workers' certificate files (mode 0600) go to
    ``shared_temp_directory`` (made mode 0700); dask-jobqueue deletes them with the cluster object.
    """
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise InputError("--cluster slurm", expected="dask-jobqueue installed", got="no module 'dask_jobqueue'",
                         fix=INSTALL_HINT) from None
    cores = check_positive_int(options.get("cores", 4), what="--slurm-cores")
    host = options.get("host") or default_host()
    worker_args = ["--resources", "GPU=1"] if cells_per_gpu else []
    tls = options.get("tls", True)
    shared = os.path.expanduser(options.get("shared_temp_directory") or "~/.tsbench/dask")
    if tls:
        try:
            import cryptography  # noqa: F401  (Security.temporary creates the certificates with it)
        except ImportError:
            raise InputError("--cluster slurm", expected="the 'cryptography' package (TLS certificates)",
                             got="not installed", fix=INSTALL_HINT) from None
        os.makedirs(shared, mode=0o700, exist_ok=True)
    cluster = SLURMCluster(
        queue=options.get("queue"), cores=cores, memory=options.get("memory", "16GB"),
        walltime=options.get("walltime", "04:00:00"), processes=1,
        job_extra_directives=list(options.get("extra") or ()), worker_extra_args=worker_args,
        job_script_prologue=list(options.get("prologue") or ()), job_name="tsbench",
        scheduler_options={"host": host, "dashboard_address": "127.0.0.1:0", "allowed_failures": retries},
        security=True if tls else None, shared_temp_directory=shared if tls else None)
    return cluster


def default_host() -> str:
    """This host's (login node's) address; refuses loopback, which compute nodes cannot reach."""
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        address = "127.0.0.1"
    if address.startswith("127."):
        raise InputError("Slurm scheduler address", expected="an address the compute nodes can reach",
                         got=f"{socket.gethostname()} resolves to {address}",
                         fix="pass the login node's cluster-network address (slurm_options['host'] / --slurm-host)")
    return address


# command line -------------------------------------------------------------------------------------
__all__ = ["DaskExecutor", "DaskOptions", "local_cluster", "slurm_cluster", "require_distributed", "visible_gpus"]
