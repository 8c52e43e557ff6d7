"""Long windows (issue 17): time and memory of every built-in generator and metric against the window length.

    python scripts/scaling.py results/scaling --data-dir ../shared/data     # the committed run
    python scripts/scaling.py OUT --seq-lens 8,16 --datasets sines --steps 2 --windows 64   # a quick check

For each dataset and ``seq_len`` (default 24, 64, 128, 256), on the ``tsbench`` split of the ``quick`` preset:

* each model generator (its ``quick`` architecture) trains for ``--steps`` updates (:data:`STEPS`: the parameters
  that set its number of updates; C-RNN-GAN without pretraining, TimeGAN ``--steps`` per phase): the median
  seconds per update over ``--repeats`` fits, the sampling time per 1000 windows, and the peak memory of the fit
  (:mod:`tsbench.peak_memory`);
* each metric (its ``quick`` settings) scores ``--windows`` synthetic windows (the gaussian null's) against as many
  real ones: the median seconds per call — so that the length, not the window count, varies. Context-FID's encoder
  is fitted anew in every call (a grid fits it once per dataset and shares it between rows).

One torch thread. Writes ``OUT/scaling.json`` (settings, provenance, one row per measurement), ``OUT/scaling.svg``
(seconds against seq_len, log-log, one line per component) and ``OUT/README.md`` (generated from the JSON).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SCHEMA = "tsbench-scaling/1"
#: model generator → parameters that give it ``steps`` updates (``{steps}`` is replaced)
STEPS = {"gan": {"iterations": "{steps}"}, "crnngan": {"iterations": "{steps}", "pretrain_epochs": 0},
         "nrgan": {"iterations": "{steps}"},
         "timegan": {"iterations": "{steps}", "pretrain_iterations": "{steps}", "joint_iterations": "{steps}"},
         "timevae": {"max_steps": "{steps}"}, "diffusion_ts": {"train_steps": "{steps}"}}
#: updates a fit of ``steps`` makes (TimeGAN: three phases)
UPDATES = {"timegan": 3}
METRICS = ("acd", "context_fid", "correlational", "discriminative", "kd", "mdd", "memorisation", "mmd", "mmd_multi",
           "predictive", "sd")


def _params(name: str, steps: int) -> dict:
    from tsbench.registry import generators

    cls = generators.get(name)
    params = dict(getattr(cls, "presets", {}).get("quick", {}))
    params.update({k: (steps if v == "{steps}" else v) for k, v in STEPS[name].items()})
    return cls, params


def measure_generator(name: str, train: np.ndarray, steps: int, repeats: int) -> dict:
    from tsbench.peak_memory import PeakMemory

    cls, params = _params(name, steps)
    per_update, peaks, sample_s = [], [], []
    for r in range(repeats):
        model = cls(**params)
        with PeakMemory("cpu") as peak:
            start = time.perf_counter()
            model.fit(train, seed=r)
            per_update.append((time.perf_counter() - start) / (steps * UPDATES.get(name, 1)))
        peaks.append(peak.mb)
        start = time.perf_counter()
        model.sample(1000, seed=r)
        sample_s.append(time.perf_counter() - start)
    return {"kind": "generator", "name": name, "seconds_per_update": statistics.median(per_update),
            "sample_s_per_1000": statistics.median(sample_s),
            "peak_memory_mb": max(p for p in peaks if p is not None) if any(peaks) else None,
            "n_parameters": model.n_parameters(), "params": params}


@contextlib.contextmanager
def _cold_encoders():
    """A metric call without any Context-FID encoder fitted before (none in memory, an empty private cache folder,
    removed afterwards), so the call fits its own: a grid fits one per dataset and shares it between rows, this
    measures that fit."""
    from tsbench.metrics import _ts2vec

    _ts2vec._MEMORY.clear()
    previous = os.environ.get("TSBENCH_CACHE")
    with tempfile.TemporaryDirectory(prefix="tsbench-scaling-") as cache:
        os.environ["TSBENCH_CACHE"] = cache
        try:
            yield
        finally:
            if previous is None:
                del os.environ["TSBENCH_CACHE"]
            else:
                os.environ["TSBENCH_CACHE"] = previous


def measure_metric(name: str, train: np.ndarray, real: np.ndarray, synthetic: np.ndarray, repeats: int) -> dict:
    from tsbench.evaluation import MetricSpec

    spec = MetricSpec.build(name, preset="quick", protocol="tsbench", repeats=1)
    seconds = []
    for r in range(repeats):
        with _cold_encoders():
            start = time.perf_counter()
            spec.instantiate().compute(train, real, synthetic, seed=r)
            seconds.append(time.perf_counter() - start)
    return {"kind": "metric", "name": name, "seconds_per_call": statistics.median(seconds), "params": spec.params}


def run(out: Path, datasets: list[str], seq_lens: list[int], steps: int, windows: int, repeats: int,
        generators: list[str], metrics: list[str]) -> dict:
    from tsbench.data import resolve_dataset
    from tsbench.evaluation import set_threads
    from tsbench.registry import generators as registry

    set_threads(1)
    rows, started = [], time.perf_counter()
    _warm_up(datasets[0], seq_lens[0], generators, metrics)
    for dataset in datasets:
        for seq_len in seq_lens:
            split = resolve_dataset(f"{dataset}[seq_len={seq_len}]", preset="quick").load(0, "tsbench")
            rng = np.random.default_rng(0)
            real = split.test[rng.permutation(len(split.test))[:windows]]
            synthetic = registry.get("gaussian")().fit(split.train, seed=0).sample(len(real), seed=1)
            shape = {"dataset": dataset, "seq_len": seq_len, "n_train": len(split.train),
                     "n_features": split.n_features, "n_windows": len(real)}
            for name in generators:
                rows.append({**shape, **measure_generator(name, split.train, steps, repeats)})
                print(json.dumps({k: rows[-1][k] for k in ("dataset", "seq_len", "name", "seconds_per_update")}),
                      flush=True)
            for name in metrics:
                rows.append({**shape, **measure_metric(name, split.train, real, synthetic, repeats)})
                print(json.dumps({k: rows[-1][k] for k in ("dataset", "seq_len", "name", "seconds_per_call")}),
                      flush=True)
    report = {"schema": SCHEMA, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              **_provenance(), "settings": {"datasets": datasets, "seq_lens": seq_lens, "steps": steps,
                                            "windows": windows, "repeats": repeats, "threads": 1,
                                            "protocol": "tsbench", "preset": "quick"},
              "rows": rows, "elapsed_s": round(time.perf_counter() - started, 1)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    write_figure(report, out / "scaling.svg")
    (out / "README.md").write_text(render_readme(report))
    return report


def _warm_up(dataset: str, seq_len: int, generators: list[str], metrics: list[str]) -> None:
    """One untimed fit and metric call of each component: first-call costs (lazy imports, allocator and kernel
    set-up) would otherwise land on the first measured length."""
    from tsbench.data import resolve_dataset

    split = resolve_dataset(f"{dataset}[seq_len={seq_len}]", preset="quick").load(0, "tsbench")
    small, held_out = split.train[:32], split.test[:32]
    for name in generators:
        measure_generator(name, small, 1, 1)
    for name in metrics:
        measure_metric(name, small, held_out, held_out, 1)


def _provenance() -> dict:
    import platform

    import torch

    from tsbench.provenance import git_sha, machine_text, uncommitted_sources

    return {"git_sha": git_sha(), "uncommitted": uncommitted_sources(), "machine": machine_text(),
            "python": platform.python_version(), "torch_version": torch.__version__}


def write_figure(report: dict, path: Path) -> None:
    """Seconds against seq_len (log-log): per update for generators, per call for metrics; one panel per dataset
    and kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = report["settings"]["datasets"]
    fig, axes = plt.subplots(2, len(datasets), figsize=(5.5 * len(datasets), 8), squeeze=False)
    for column, dataset in enumerate(datasets):
        for row, (kind, value, label) in enumerate((("generator", "seconds_per_update", "seconds per update"),
                                                    ("metric", "seconds_per_call", "seconds per call"))):
            ax = axes[row][column]
            picked = [r for r in report["rows"] if r["dataset"] == dataset and r["kind"] == kind]
            for name in sorted({r["name"] for r in picked}):
                points = sorted((r["seq_len"], r[value]) for r in picked if r["name"] == name)
                ax.plot(*zip(*points), marker="o", label=name)
            ax.set(xscale="log", yscale="log", xlabel="seq_len", ylabel=label, title=f"{dataset}: {kind}s")
            ax.set_xticks(report["settings"]["seq_lens"], [str(s) for s in report["settings"]["seq_lens"]])
            ax.legend(fontsize=7)
    fig.suptitle(f"tsbench scaling with the window length (git {str(report['git_sha'])[:7]}, "
                 f"torch {report['torch_version']}, one thread)")
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def render_readme(report: dict) -> str:
    settings = report["settings"]
    lines = ["# Scaling with the window length", "",
             "Generated by `scripts/scaling.py` from `scaling.json` (do not edit). Each model generator trains for "
             f"{settings['steps']} updates at its `quick` architecture (median seconds per update over "
             f"{settings['repeats']} fits); each metric scores {settings['windows']} synthetic (gaussian null) "
             "windows against as many real ones at its `quick` settings (median seconds per call; Context-FID fits "
             "its encoder in every call, a grid once per dataset); one torch "
             f"thread, `tsbench` split. Commit {report['git_sha']}, {report['machine']}, torch "
             f"{report['torch_version']}; {report['elapsed_s']} s in all.", "", "![scaling](scaling.svg)", ""]
    for dataset in settings["datasets"]:
        for kind, value in (("generator", "seconds_per_update"), ("metric", "seconds_per_call")):
            picked = [r for r in report["rows"] if r["dataset"] == dataset and r["kind"] == kind]
            names = sorted({r["name"] for r in picked})
            lines += [f"## {dataset}: {kind}s ({value.replace('_', ' ')})", "",
                      "| " + " | ".join(["name", *(f"seq_len {s}" for s in settings["seq_lens"]),
                                         f"ratio {settings['seq_lens'][-1]} / {settings['seq_lens'][0]}"]) + " |",
                      "|:--" + "|--:" * (len(settings["seq_lens"]) + 1) + "|"]
            for name in names:
                values = {r["seq_len"]: r[value] for r in picked if r["name"] == name}
                first, last = values[settings["seq_lens"][0]], values[settings["seq_lens"][-1]]
                cells = [f"{values[s]:.4g}" for s in settings["seq_lens"]]
                lines.append(f"| {name} | " + " | ".join(cells) + f" | {last / first:.3g} |")
            lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--datasets", default="sines,energy")
    ap.add_argument("--seq-lens", default="24,64,128,256")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--windows", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--generators", default=",".join(STEPS))
    ap.add_argument("--metrics", default=",".join(METRICS))
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)
    if args.data_dir:
        import os

        os.environ["TSBENCH_DATA_DIR"] = args.data_dir
    run(args.out, args.datasets.split(","), [int(s) for s in args.seq_lens.split(",")], args.steps, args.windows,
        args.repeats, [g for g in args.generators.split(",") if g], [m for m in args.metrics.split(",") if m])
    print(f"wrote {args.out / 'scaling.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
