"""Run a tsbench grid on Slurm through Dask, with the site options the CLI does not expose.

    python examples/slurm/launch.py --host 10.1.2.3 --queue gpu --jobs 4 --gres gpu:1 --cells-per-gpu 4 \
        --prologue "module load cuda/12.4" -- --all --preset paper --device cuda --seeds 3

Everything after ``--`` is a ``tsbench run`` grid selection (-g/-d/-m/--all/--preset/--seeds/...).
Print the generated job script without submitting anything with ``--dry-run``.
"""
from __future__ import annotations

import argparse
import sys

from tsbench.commands.run import add_grid_arguments, resolve_selection
from tsbench.runner.dask_executor import DaskExecutor, slurm_cluster
from tsbench.runner.grid import plan_cells, run_grid


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, grid = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="scheduler address reachable from the compute nodes")
    parser.add_argument("--queue", help="Slurm partition")
    parser.add_argument("--account", help="Slurm account (#SBATCH -A)")
    parser.add_argument("--jobs", type=int, default=1, help="worker jobs (one Dask worker each)")
    parser.add_argument("--cores", type=int, default=4)
    parser.add_argument("--memory", default="16GB")
    parser.add_argument("--walltime", default="04:00:00")
    parser.add_argument("--gres", help="e.g. gpu:1 (one GPU per worker job)")
    parser.add_argument("--cells-per-gpu", type=int, default=None)
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--prologue", action="append", default=[], help="shell line run before each worker")
    parser.add_argument("--out", default="tsbench-runs")
    parser.add_argument("--dry-run", action="store_true", help="print the job script and exit")
    args = parser.parse_args(ours)
    extra = [f"--gres={args.gres}"] if args.gres else []
    extra += [f"--account={args.account}"] if args.account else []
    options = {"host": args.host, "queue": args.queue, "jobs": args.jobs, "cores": args.cores,
               "memory": args.memory, "walltime": args.walltime, "extra": extra, "prologue": args.prologue}
    if args.dry_run:
        cluster = slurm_cluster(options, retries=args.retries, cells_per_gpu=args.cells_per_gpu)
        print(cluster.job_script())
        cluster.close()
        return 0

    grid_parser = argparse.ArgumentParser(prog="tsbench run")
    add_grid_arguments(grid_parser)
    grid_args = grid_parser.parse_args(grid)
    datasets, gens, mets, _ = resolve_selection(grid_args)
    cells = plan_cells(datasets, gens, mets, seeds=grid_args.seeds, preset=grid_args.preset,
                       protocol=grid_args.protocol, repeats=grid_args.repeats, device=grid_args.device,
                       n_samples=grid_args.n_samples)
    executor = DaskExecutor(cluster="slurm", slurm_options=options, retries=args.retries,
                            cells_per_gpu=args.cells_per_gpu)
    summary = run_grid(cells, args.out, executor=executor, progress=False)
    print(f"{len(cells)} cells: {summary.cached} already done, {len(summary.failures)} failed → {args.out}")
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
