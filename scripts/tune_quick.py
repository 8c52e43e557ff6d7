"""Reproduce the quick-preset comparison against the ``gaussian`` null on Sines (issue 13, defect 8).

Runs ``tsbench run`` for gan, crnngan, nrgan, timegan and the gaussian null on Sines at the ``quick`` preset,
3 training seeds, metrics mmd / discriminative / predictive, one worker with one torch thread; then prints per
metric the mean ± std over the seeds' means and the one-sided Welch t-test p-value of "generator < null" (all
three are lower-is-better), plus the fit time per cell, and writes them to ``results/tuning/quick-sines.json``
with the git sha, torch version and machine.

    python scripts/tune_quick.py [--out /tmp/tune-quick] [--json results/tuning/quick-sines.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

GENERATORS = ["gan", "crnngan", "nrgan", "timegan"]
NULL = "gaussian"
METRICS = ["mmd", "discriminative", "predictive"]
ALPHA = 0.05


def git_sha() -> str:
    from tsbench.provenance import git_sha as checkout_sha

    return checkout_sha() or "unknown"


def run_grid(out: str, seeds: int, dataset: str) -> float:
    command = ["tsbench", "run", "-d", dataset, "--preset", "quick", "--seeds", str(seeds), "--jobs", "1",
               "--threads", "1", "--out", out, "--no-progress"]
    for g in [*GENERATORS, NULL]:
        command += ["-g", g]
    for m in METRICS:
        command += ["-m", m]
    start = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - start


def summarise(out: str, dataset: str) -> dict:
    from scipy.stats import ttest_ind

    from tsbench.runner import load_records

    records = load_records(out)
    records = records[(records["status"] == "done") & (records["dataset"].str.startswith(dataset))]
    values = records[records["metric"].isin(METRICS)]
    # one value per (generator, seed, metric): the mean over the metric's repeats
    per_seed = values.groupby(["generator_name", "metric", "seed"])["value"].mean()
    fits = records.groupby(["generator_name", "seed"])["fit_s"].first()
    summary = {}
    for g in [*GENERATORS, NULL]:
        entry = {"fit_s": [round(float(v), 1) for v in fits[g].tolist()], "metrics": {}}
        for m in METRICS:
            seeds = per_seed[g][m]
            row = {"per_seed": [round(float(v), 5) for v in seeds.tolist()],
                   "mean": round(float(seeds.mean()), 5), "std": round(float(seeds.std(ddof=1)), 5)}
            if g != NULL:
                null = per_seed[NULL][m]
                p = float(ttest_ind(seeds.to_numpy(), null.to_numpy(), equal_var=False, alternative="less").pvalue)
                row["p_vs_null"] = round(p, 5)
                row["better_than_null"] = bool(p < ALPHA)
            entry["metrics"][m] = row
        summary[g] = entry
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/tune-quick")
    ap.add_argument("--json", default="results/tuning/quick-sines.json")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--dataset", default="sines")
    ap.add_argument("--no-run", action="store_true", help="only summarise an existing --out folder")
    args = ap.parse_args(argv)
    wall = None if args.no_run else run_grid(args.out, args.seeds, args.dataset)
    summary = summarise(args.out, args.dataset)
    import torch

    from tsbench.baselines import crnngan, gan, nrgan, timegan  # noqa: F401  (presets recorded below)
    from tsbench.registry import generators

    result = {
        "command": f"python scripts/tune_quick.py --out {args.out}",
        "dataset": args.dataset, "preset": "quick", "protocol": "tsbench", "seeds": args.seeds,
        "metrics": METRICS, "null": NULL, "test": f"one-sided Welch t-test over the seeds' means, alpha {ALPHA}",
        "quick_presets": {g: generators.get(g).presets["quick"] for g in GENERATORS},
        "git_sha": git_sha(), "torch_version": torch.__version__, "numpy_version": np.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), {platform.system()} {platform.release()}",
        "threads": 1, "grid_wall_s": None if wall is None else round(wall, 1),
        "results": summary,
    }
    print(f"{'generator':10} {'fit_s':>18} " + " ".join(f"{m:>30}" for m in METRICS))
    for g, entry in summary.items():
        cells = []
        for m in METRICS:
            r = entry["metrics"][m]
            p = f" p={r['p_vs_null']:.3f}" if "p_vs_null" in r else ""
            cells.append(f"{r['mean']:.4f}±{r['std']:.4f}{p}")
        print(f"{g:10} {str(entry['fit_s']):>18} " + " ".join(f"{c:>30}" for c in cells))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
