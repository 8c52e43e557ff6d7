"""``tsbench validate-metrics`` — which metric detects which defect (see :mod:`tsbench.sensitivity`)."""
from __future__ import annotations

from ..presets import DEFAULT_PRESET, PRESETS
from ..protocols import DEFAULT_PROTOCOL, PROTOCOLS

#: metrics that produce no numbers
EXCLUDED = frozenset({"embeddings"})


def register(sub) -> None:
    parser = sub.add_parser("validate-metrics",
                            help="feed every metric controlled corruptions of real data; flag blind spots")
    parser.add_argument("-d", "--dataset", action="append", metavar="NAME",
                        help="dataset name or .csv/.npy file (repeatable; default: sines)")
    parser.add_argument("-m", "--metric", action="append", metavar="NAME",
                        help="metric display name or wildcard (default: every available metric but embeddings)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=PRESETS, help="metric settings (default quick)")
    parser.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=sorted(PROTOCOLS),
                        help="data split (default tsbench: the corruptions use held-out windows)")
    parser.add_argument("--repeats", type=int, default=3, help="independent repeats per row (default 3, ≥ 2)")
    parser.add_argument("--level", type=float, default=0.05, help="Welch t-test level for 'differs' (default 0.05)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="validate-metrics", help="output folder (default ./validate-metrics)")
    parser.add_argument("--data-dir", default=None, help="folder with local copies of the dataset files")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=run)


def run(args) -> int:
    import sys
    import time
    from pathlib import Path

    from ..registry import metrics
    from ..runner.grid import select_names
    from ..sensitivity import run_validation, summarise, write_outputs

    names, skipped = select_names(metrics, args.metric, all_=True, exclude=EXCLUDED)
    names = [n for n in names if n.split("[", 1)[0] not in EXCLUDED]
    for name, reason in skipped:
        print(f"skipped unavailable metric {name}: {reason}", file=sys.stderr)
    progress = None if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    start = time.perf_counter()
    raw = run_validation(args.dataset or ["sines"], names, preset=args.preset, repeats=args.repeats, seed=args.seed,
                         protocol=args.protocol, data_dir=args.data_dir, progress=progress)
    summary = summarise(raw, level=args.level)
    wall = time.perf_counter() - start
    datasets = " ".join(f"-d {d}" for d in (args.dataset or ["sines"]))
    datasets += "".join(f" -m '{m}'" for m in args.metric or [])
    header = (f"# Metric validation\n\nCommand: `tsbench validate-metrics {datasets} --preset {args.preset} "
              f"--protocol {args.protocol} --repeats {args.repeats} --seed {args.seed}`; wall time {wall:.0f} s. "
              f"Metrics: {', '.join(names)}.")
    if skipped:
        header += f" Unavailable (skipped): {', '.join(n for n, _ in skipped)}."
    if len(raw):
        first = raw.iloc[0]
        header += (f"\n\nRun: git {first.git_sha or 'unknown'}, tsbench {first.tsbench_version}, "
                   f"torch {first.torch_version}, numpy {first.numpy_version}, Python {first.python_version}; "
                   f"host {first.host}, {first.device}; started {first.timestamp} (also in every row of raw.csv).\n")
    paths = write_outputs(raw, summary, Path(args.out), level=args.level, header=header)
    blind = summary[(summary.response == "blind") & (summary.output == "value")]
    print(f"wrote {paths['report']} ({len(summary)} rows, {len(blind)} blind spots, {wall:.0f} s)")
    return 0
