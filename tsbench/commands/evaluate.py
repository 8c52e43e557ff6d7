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

    from ..api import evaluate

    scores = evaluate(args.real, args.synthetic, args.metric, protocol=args.protocol, preset=args.preset,
                      seed=args.seed, jobs=args.jobs, real_test=args.real_test or None, repeats=args.repeats,
                      artefacts=args.artefacts)
    results = summarise(scores, protocol=args.protocol)
    skipped = scores.attrs["skipped"]
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


def summarise(scores, *, protocol: str) -> list[dict]:
    """One dict per metric output of :func:`tsbench.evaluate`'s tidy scores, in order: ``metric``,
    ``higher_is_better``, ``version``, ``protocol``, ``mean``, ``std`` (ddof 1; None for one repeat), ``n``,
    ``values``."""
    import numpy as np

    results = []
    for row in scores.itertuples(index=False):
        if row.repeat == 0:  # each output's repeats start at 0
            direction = None if row.higher_is_better is None else bool(row.higher_is_better)
            results.append({"metric": row.metric, "higher_is_better": direction, "version": row.metric_version,
                            "protocol": protocol, "values": []})
        results[-1]["values"].append(float(row.value))
    for result in results:
        vals = result.pop("values")
        result.update({"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
                       "n": len(vals), "values": vals})
    return results
