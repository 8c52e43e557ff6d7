"""``tsbench run`` — train and score a grid of (dataset, generator, seed) cells, resumably."""
from __future__ import annotations

from ..presets import DEFAULT_PRESET, PRESETS
from ..protocols import DEFAULT_PROTOCOL, PROTOCOLS


def add_grid_arguments(parser) -> None:
    parser.add_argument("--all", action="store_true", dest="all_", help="every available generator and metric")
    parser.add_argument("-g", "--generator", action="append", metavar="NAME",
                        help="generator display name or wildcard, e.g. 'timegan[hidden_dim=48]', 'time*', a sweep "
                             "'gan[lr=[1e-3,1e-4]]' or a plugin file 'my_model.py:MyModel'")
    parser.add_argument("-d", "--dataset", action="append", metavar="NAME",
                        help="dataset name or a .csv/.npy file (default: sines)")
    parser.add_argument("-m", "--metric", action="append", metavar="NAME",
                        help="metric display name, wildcard, sweep or file.py:Class (default: every available metric)")
    parser.add_argument("--seeds", type=int, default=3, help="number of training seeds (default 3)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=PRESETS)
    parser.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=sorted(PROTOCOLS))
    parser.add_argument("--repeats", type=int, default=None, help="metric repeats (default: the protocol's)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="synthetic windows per cell (default: as many as training windows)")
    parser.add_argument("--device", default="auto", help="cpu | cuda | auto (default auto)")
    add_include_argument(parser)


def add_include_argument(parser) -> None:
    parser.add_argument("--include", action="append", default=[], metavar="DIR",
                        help="register every generator and metric defined in the .py files of DIR (repeatable)")


def include_folders(args) -> None:
    """Register the components of every ``--include`` folder."""
    from ..registry import include

    for folder in args.include:
        include(folder)


def add_dask_arguments(parser) -> None:
    group = parser.add_argument_group("Dask (--executor dask; pip install 'tsbench[dask]')")
    group.add_argument("--scheduler", default=None, help="address of a running scheduler, e.g. tcp://127.0.0.1:8786"
                       " (default: start a LocalCluster bound to 127.0.0.1 with --jobs workers)")
    group.add_argument("--cluster", default="local", choices=("local", "slurm"),
                       help="cluster to start when no --scheduler is given")
    group.add_argument("--retries", type=int, default=2, help="re-runs of a cell whose worker died (default 2)")
    group.add_argument("--slurm-queue", default=None)
    group.add_argument("--slurm-host", default=None,
                       help="address the scheduler listens on, reachable from the compute nodes (not 0.0.0.0)")
    group.add_argument("--slurm-cores", type=int, default=4)
    group.add_argument("--slurm-memory", default="16GB")
    group.add_argument("--slurm-walltime", default="04:00:00")
    group.add_argument("--slurm-jobs", type=int, default=1, help="number of Slurm jobs (each one worker)")
    group.add_argument("--slurm-extra", action="append", default=[], metavar="DIRECTIVE",
                       help="extra #SBATCH directive, e.g. '--gres=gpu:1'")


def register(sub) -> None:
    parser = sub.add_parser("run", help="run a benchmark grid (resumes finished cells)")
    add_grid_arguments(parser)
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes: cells run in parallel; with fewer pending cells than jobs, the "
                             "spare processes compute each cell's metrics at once (default 1; with --cells-per-gpu: "
                             "visible GPUs × K, or one Dask worker per GPU)")
    parser.add_argument("--cells-per-gpu", type=int, default=None, metavar="K",
                        help="pack K cells on each GPU, each in its own process (one CUDA context each): worker "
                             "processes are pinned round-robin to the visible GPUs (CUDA_VISIBLE_DEVICES), at most "
                             "K per GPU (--jobs ≤ GPUs × K); with --executor dask, one worker per GPU (resource "
                             "GPU=1) runs K cells in child processes. Needs --device cuda or auto")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per job (default: 1 with --jobs > 1, else torch's default)")
    parser.add_argument("--out", default="tsbench-runs", help="results folder (default ./tsbench-runs)")
    parser.add_argument("--force", action="append", default=[], metavar="PATTERN",
                        help="re-run cells matching PATTERN (cell id prefix, generator, or dataset/generator/seed)")
    parser.add_argument("--executor", default=None, choices=("inprocess", "process", "dask"),
                        help="where cells run (default: a process pool when --jobs > 1, in-process for one job "
                             "or a single pending cell)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per cell; a cell past it is recorded as 'timeout' (checked at progress reports; "
                             "with --jobs > 1 or --executor dask a cell past it plus a grace period is killed)")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic torch algorithms, TF32 off, fixed cuBLAS workspace (reproducible on a GPU; "
                             "slower); recorded, and part of each cell's identity")
    parser.add_argument("--batch-seeds", action="store_true",
                        help="train each row's seeds together as one batched model: the pending cells that differ "
                             "only by seed are fitted with one fit_seeds call (each copy equals a separate fit to "
                             "float tolerance; the cells' ids change, their seeds do not). Only generators with "
                             "fit_seeds are batched (today: gan); others run as usual. A group trains in this "
                             "process, one group at a time, before the executor computes the cells' metrics; "
                             "--timeout does not bound a group's fit. Recorded as batched_seeds")
    parser.add_argument("--checkpoint-every", default=None, metavar="WHEN",
                        help="how often a resumable fit saves its training state: 90s, 5m, 1h, 500steps or off "
                             "(default: every 60 s of training; $TSBENCH_CHECKPOINT_SECONDS/_STEPS)")
    parser.add_argument("--data-dir", default=None, help="folder with local copies of the dataset files")
    add_dask_arguments(parser)
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run)


def resolve_selection(args):
    """(datasets, generators, metrics, skipped) from the grid arguments (see :func:`select_grid`)."""
    from ..runner.grid import select_grid

    include_folders(args)
    gens, mets, skipped = select_grid(args.generator, args.metric, args.protocol, all_=args.all_)
    return args.dataset or ["sines"], gens, mets, skipped


def run(args) -> int:
    import os

    if args.data_dir:
        os.environ["TSBENCH_DATA_DIR"] = args.data_dir
    from ..runner.grid import plan_cells, run_grid

    datasets, gens, mets, skipped = resolve_selection(args)
    for name, reason in skipped:
        print(f"skipped {name}: {reason}")
    cells = plan_cells(datasets, gens, mets, seeds=args.seeds, preset=args.preset, protocol=args.protocol,
                       repeats=args.repeats, device=args.device, n_samples=args.n_samples, timeout=args.timeout,
                       checkpoint_every=args.checkpoint_every, deterministic=args.deterministic,
                       batch_seeds=args.batch_seeds)
    if args.threads is not None:
        from ..runner.executors import set_threads
        from ..validation import MAX_THREADS, check_positive_int

        set_threads(check_positive_int(args.threads, what="--threads", maximum=MAX_THREADS))
    args.jobs = _jobs(args, cells)
    executor = _executor(args)
    summary = run_grid(cells, args.out, jobs=args.jobs, executor=executor, threads_per_job=args.threads,
                       force=args.force, progress=False if args.no_progress else None)
    from ..runner.collect import write_records_file

    records_file = write_records_file(args.out)
    print(f"{len(cells)} cells: {summary.cached} already done, {summary.trained} trained, "
          f"{len(summary.outcomes) - len(summary.failures)} finished, {len(summary.failures)} failed "
          f"→ records in {records_file} (`tsbench table --records {records_file}`)")
    for outcome in summary.failures:
        print(f"  failed: {outcome.label}: {outcome.error}")
    return 1 if summary.failures else 0


def _executor(args):
    """The executor asked for; None lets ``run_grid`` choose from ``--jobs`` (in-process or a process pool,
    with spare cores given to the cells' metrics when fewer cells than jobs are pending)."""
    from ..runner.executors import InProcessExecutor, ProcessExecutor

    per_gpu = getattr(args, "cells_per_gpu", None)
    if args.executor == "process" or (args.executor is None and per_gpu):
        return ProcessExecutor(args.jobs, threads_per_job=args.threads or 1, cells_per_gpu=per_gpu)
    if args.executor == "inprocess":
        return InProcessExecutor()
    if args.executor == "dask":
        from dataclasses import fields

        from ..runner.dask_executor import DaskExecutor, DaskOptions

        return DaskExecutor.from_options(DaskOptions(**{f.name: getattr(args, f.name) for f in fields(DaskOptions)}))
    return None


def _jobs(args, cells) -> int:
    """``--jobs``, validated with ``--cells-per-gpu``; when not given: 1, or with ``--cells-per-gpu`` K the
    visible GPUs × K worker processes (one Dask worker per GPU with ``--executor dask``)."""
    from ..errors import InputError
    from ..runner.gpus import check_one_worker_per_gpu, gpus_for, worker_gpus
    from ..validation import check_positive_int

    jobs = args.jobs if args.jobs is None else check_positive_int(args.jobs, what="--jobs")
    per_gpu = args.cells_per_gpu
    if per_gpu is None:
        return 1 if jobs is None else jobs
    per_gpu = check_positive_int(per_gpu, what="--cells-per-gpu")
    if args.executor == "inprocess":
        raise InputError("--cells-per-gpu", expected="--executor process or dask (cells packed as processes)",
                         got="--executor inprocess", fix="drop --executor inprocess or drop --cells-per-gpu")
    gpus = gpus_for(cells, cells_per_gpu=per_gpu)
    dask = args.executor == "dask"
    if jobs is None:
        return max(1, len(gpus) if dask else len(gpus) * per_gpu)
    if not dask:  # checked before anything is written (the executors check it again)
        worker_gpus(jobs, gpus, cells_per_gpu=per_gpu)
    elif args.scheduler is None and args.cluster == "local":
        check_one_worker_per_gpu(jobs, gpus, cells_per_gpu=per_gpu)
    return jobs
