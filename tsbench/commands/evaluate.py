"""``tsbench evaluate`` — score synthetic windows produced anywhere against real ones."""
from __future__ import annotations

from ..presets import PRESETS
from ..protocols import DEFAULT_PROTOCOL, PROTOCOLS


def register(sub) -> None:
    parser = sub.add_parser("evaluate", help="score samples produced elsewhere (.npy/.npz/.csv)")
    parser.add_argument("--real", required=True, help="real windows (training set under --protocol tsbench)")
    parser.add_argument("--real-test", default=None,
                        help="held-out real windows (default: --real; the tsbench protocol wants a held-out set)")
    parser.add_argument("--synthetic", required=True, help="synthetic windows")
    parser.add_argument("-m", "--metric", action="append", metavar="NAME", help="metrics (default: all available)")
    parser.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=sorted(PROTOCOLS))
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--preset", default="paper", choices=PRESETS,
                        help="metric settings (default paper: the protocol's full settings)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1,
                        help="metrics computed at once in worker processes, one thread each (same values)")
    parser.add_argument("--artefacts", default=None, help="folder for plots (default: none)")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.set_defaults(func=run)


def run(args) -> int:
    import json
    from pathlib import Path

    import numpy as np

    from ..data import load_windows_file
    from ..evaluation import compute_metrics
    from ..registry import metrics
    from ..runner.cells import MetricSpec
    from ..runner.grid import select_metrics
    from ..validation import check_positive_int, check_same_layout

    jobs = check_positive_int(args.jobs, what="--jobs")

    real = load_windows_file(args.real)
    real_test = load_windows_file(args.real_test) if args.real_test else real
    synthetic = load_windows_file(args.synthetic)
    check_same_layout(real, real_test)
    check_same_layout(real, synthetic)
    names, skipped = select_metrics(args.metric, args.protocol)
    specs = [MetricSpec.build(d, preset=args.preset, protocol=args.protocol, repeats=args.repeats) for d in names]
    computed = compute_metrics(specs, real, real_test, synthetic, seed=args.seed, jobs=jobs,
                               artefact_root=Path(args.artefacts) if args.artefacts else None)
    results = []
    for spec, values in zip(specs, computed):
        metric_cls = metrics.get(spec.name)
        for output, vals in values.items():
            results.append({"metric": spec.display if output == "value" else f"{spec.display}.{output}",
                            "higher_is_better": metric_cls.outputs.get(output), "version": metric_cls.version,
                            "protocol": args.protocol, "mean": float(np.mean(vals)),
                            "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
                            "n": len(vals), "values": vals})
    if args.json:
        print(json.dumps({"real": args.real, "synthetic": args.synthetic, "results": results,
                          "skipped": [{"metric": n, "reason": r} for n, r in skipped]}, indent=1))
        return 0
    arrows = {True: "↑", False: "↓", None: ""}
    print(f"{'metric':<32} {'mean ± std':>22}  n   (protocol {args.protocol})")
    for row in results:
        spread = f"± {row['std']:<8.4f}" if row["std"] is not None else " " * 10
        print(f"{row['metric'] + arrows[row['higher_is_better']]:<32} {row['mean']:>11.4f} {spread} {row['n']:>3}")
    for name, reason in skipped:
        print(f"skipped {name}: {reason}")
    return 0
