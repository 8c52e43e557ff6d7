"""``tsbench table``: render the leaderboard of a run folder (or a records file) as Markdown, LaTeX, CSV,
the generated claims (``--format summary``) or a self-contained HTML report; ``--results-dir DIR`` writes every
record-only file of a committed results folder at once (:mod:`tsbench.report.results`). A thin layer over
:func:`tsbench.table` (:mod:`tsbench.api`).

``--format json`` writes the versioned machine-readable leaderboard (:mod:`tsbench.report.leaderboard_json`,
docs/leaderboard-json.md); ``--published`` adds the papers' numbers as marked extra rows
(:mod:`tsbench.report.published`); ``--cost`` a cost table after each dataset's table (:mod:`tsbench.report.cost`)."""
from __future__ import annotations

from ..api import COST_FORMATS, PUBLISHED_FORMATS, TABLE_FORMATS
from ..api import citations_from_registry, read_records  # noqa: F401  (importable from here too)

FORMATS = TABLE_FORMATS


def register(sub) -> None:
    parser = sub.add_parser("table", help="render leaderboard tables / the HTML report from records")
    parser.add_argument("--out", default="tsbench-runs", metavar="DIR",
                        help="run folder written by `tsbench run` (default: ./tsbench-runs)")
    parser.add_argument("--records", default=None, metavar="FILE",
                        help="read records from a CSV or Parquet file instead of the run folder")
    parser.add_argument("--format", default="md", choices=FORMATS,
                        help="output format (default: md); 'json': the versioned machine-readable leaderboard "
                             "(docs/leaderboard-json.md); 'summary': which model beats the gaussian null on "
                             "which metric, and the wall time (Markdown); 'records': the raw tidy records as CSV")
    parser.add_argument("--published", action="store_true",
                        help="md/latex/html/json: add the papers' published numbers as italic rows in their own "
                             "block, only in columns of the same dataset, metric, protocol family and seq_len "
                             "(never ranked or marked; cited in the caption)")
    parser.add_argument("--cost", action="store_true",
                        help="md/latex/html: a cost table after each dataset's table (parameters, fit time, "
                             "sampling time per 1000 windows, peak memory, device; mean over seeds); json always "
                             "has these fields")
    parser.add_argument("--results-dir", default=None, metavar="DIR",
                        help="write leaderboard.md/.tex, leaderboard-standalone.tex, leaderboard.csv, "
                             "leaderboard.json and summary.md into DIR (plus report.html when the run folder "
                             "--out exists); e.g. --records results/records.csv --results-dir results")
    parser.add_argument("--device-type", default=None, metavar="TYPE",
                        help="only records computed on this device type (e.g. cpu, cuda; 'unknown' for records "
                             "that predate the column)")
    parser.add_argument("--precision", default=None, metavar="DTYPE",
                        help="only records computed at this precision (e.g. float32; 'unknown' as above)")
    parser.add_argument("--mix-devices", action="store_true",
                        help="let one table cell pool seeds run on different device types or precisions")
    parser.add_argument("--layout", default="per-dataset", choices=("per-dataset", "columns"),
                        help="one table per dataset, or datasets as column groups")
    parser.add_argument("--output", default=None, metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--standalone", action="store_true", help="LaTeX: a complete compilable document")
    parser.add_argument("--no-ranks", action="store_true", help="md/latex: leave out the rank tables")
    parser.add_argument("--sensitivity", default=None, metavar="DIR",
                        help="html: folder of validate-metrics figures (default: OUT/validate-metrics or "
                             "results/validate-metrics when present)")
    parser.add_argument("--no-citations", action="store_true",
                        help="do not look up citation keys on the generators' cards")
    parser.set_defaults(func=run)


def run(args) -> int:
    import sys
    from pathlib import Path

    from ..api import default_sensitivity, load_run_records, prepare_records, render_table, table
    from ..errors import InputError
    from ..report import write_results

    for flag, allowed in (("--published", PUBLISHED_FORMATS), ("--cost", COST_FORMATS)):
        if getattr(args, flag[2:]) and (args.results_dir or args.format not in allowed):
            got = f"--results-dir {args.results_dir}" if args.results_dir else f"--format {args.format}"
            raise InputError(flag, expected=f"--format {' | '.join(allowed)}", got=got,
                             fix=f"drop {flag}, or render one of those formats (--results-dir writes a fixed "
                                 f"set of files)")
    records = read_records(args.records) if args.records else load_run_records(args.out)
    run_folder = None if args.records and not Path(args.out).is_dir() else args.out
    if not args.results_dir:
        text = table(records, args.format, layout=args.layout, ranks=not args.no_ranks, standalone=args.standalone,
                     citations=not args.no_citations, mix_devices=args.mix_devices, device_type=args.device_type,
                     precision=args.precision, run_folder=run_folder, sensitivity=args.sensitivity,
                     published=args.published, cost=args.cost)
        if args.published:
            _note_unmatched_published(records, args)
    if not args.results_dir:
        if args.output:
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    records, citations = prepare_records(records, device_type=args.device_type, precision=args.precision,
                                         citations=not args.no_citations)
    if args.output:
        raise InputError("--results-dir with --output", expected="one of them",
                         got=f"--results-dir {args.results_dir} and --output {args.output}",
                         fix="--results-dir writes a fixed set of files; drop --output")
    for path in write_results(records, args.results_dir, citations=citations, mix_devices=args.mix_devices):
        print(f"wrote {path}", file=sys.stderr)
    if run_folder is None:
        print("report.html not written: its figures need the run folder (pass --out RUN)", file=sys.stderr)
    else:
        sensitivity = args.sensitivity if args.sensitivity is not None else default_sensitivity(run_folder)
        html = Path(args.results_dir) / "report.html"
        html.write_text(render_table(records, "html", citations=citations, mix_devices=args.mix_devices,
                                     run_folder=run_folder, sensitivity=sensitivity), encoding="utf-8")
        print(f"wrote {html}", file=sys.stderr)
    return 0


def _note_unmatched_published(records, args) -> None:
    """A note on stderr when no published number matches the rendered tables (what they cover instead)."""
    import sys

    from ..api import prepare_records
    from ..report import build_tables
    from ..report.published import coverage

    records, _ = prepare_records(records, device_type=args.device_type, precision=args.precision, citations=False)
    tables = build_tables(records, layout=args.layout, mix_devices=args.mix_devices, published=True)
    if not any(t.published for t in tables):
        print(f"note: no published number matches these tables; the published numbers cover {coverage()}",
              file=sys.stderr)
