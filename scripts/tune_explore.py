"""Exploration harness for quick-preset tuning: fit one generator configuration on the quick Sines (or another
dataset's) tsbench split with one torch thread and print fit time and MMD / discriminative / predictive
against the gaussian null. Usage: python scripts/tune_explore.py 'crnngan[iterations=300]' [--seeds 0,1,2]
[--metrics mmd,discriminative,predictive] [--dataset sines]

Its seeds are the given indices themselves (split seed, fit seed, sample seed + 1, metric seed), not the runner's
seeds, which derive from the cell's names (``CellSpec.seed_id``): its numbers are exploration, not the
leaderboard's. For the leaderboard's own seeds run the cells with ``tsbench run -g '<config>' -g gaussian -d sines
--preset quick --protocol tsbench --seeds 3 -m mmd -m discriminative -m predictive`` (as
results/tuning/gan-probes.md does)."""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)

from tsbench.data import resolve_dataset  # noqa: E402
from tsbench.evaluation import compute_metrics  # noqa: E402
from tsbench.naming import parse_display_name  # noqa: E402,F401
from tsbench.registry import generators  # noqa: E402
from tsbench.runner.cells import MetricSpec  # noqa: E402


def build(display: str, preset: str):
    from tsbench.naming import parse_display_name as parse
    name, params = parse(display)
    cls = generators.get(name)
    return cls(**{**getattr(cls, "presets", {}).get(preset, {}), **params})


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("generator", nargs="+")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--metrics", default="mmd,discriminative,predictive")
    ap.add_argument("--dataset", default="sines")
    ap.add_argument("--preset", default="quick")
    args = ap.parse_args(argv)
    specs = [MetricSpec.build(m, preset=args.preset, protocol="tsbench", repeats=None)
             for m in args.metrics.split(",") if m]
    for display in args.generator:
        rows = []
        for seed in map(int, args.seeds.split(",")):
            split = resolve_dataset(args.dataset, preset=args.preset).load(seed, "tsbench")
            model = build(display, args.preset)
            t0 = time.perf_counter()
            model.fit(split.train, seed=seed)
            fit_s = time.perf_counter() - t0
            synth = model.sample(len(split.train), seed=seed + 1)
            vals = compute_metrics(specs, split.train, split.test, synth, seed=seed) if specs else []
            row = {"seed": seed, "fit_s": round(fit_s, 1)}
            for s, v in zip(specs, vals):
                key = "value" if "value" in v else sorted(v)[0]
                row[s.name] = round(float(np.mean(v[key])), 4)
            rows.append(row)
            print(display, json.dumps(row), flush=True)
        summary = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0] if k != "seed"}
        print("MEAN", display, json.dumps(summary), flush=True)


if __name__ == "__main__":
    sys.exit(main())
