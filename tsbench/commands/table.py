"""``tsbench table``: render the leaderboard of a run folder (or a records file) as Markdown, LaTeX, CSV,
the generated claims (``--format summary``) or a self-contained HTML report; ``--results-dir DIR`` writes every
record-only file of a committed results folder at once (:mod:`tsbench.report.results`)."""
from __future__ import annotations

FORMATS = ("md", "latex", "csv", "html", "summary", "records")


def register(sub) -> None:
    parser = sub.add_parser("table", help="render leaderboard tables / the HTML report from records")
    parser.add_argument("--out", default="tsbench-runs", metavar="DIR",
                        help="run folder written by `tsbench run` (default: ./tsbench-runs)")
    parser.add_argument("--records", default=None, metavar="FILE",
                        help="read records from a CSV or Parquet file instead of the run folder")
    parser.add_argument("--format", default="md", choices=FORMATS,
                        help="output format (default: md); 'summary': which model beats the gaussian null on "
                             "which metric, and the wall time (Markdown); 'records': the raw tidy records as CSV")
    parser.add_argument("--results-dir", default=None, metavar="DIR",
                        help="write leaderboard.md/.tex, leaderboard-standalone.tex, leaderboard.csv and "
                             "summary.md into DIR (plus report.html when the run folder --out exists); "
                             "e.g. --records results/records.csv --results-dir results")
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


def read_records(path):
    """Records from a ``.csv`` or ``.parquet`` file (the columns of :data:`tsbench.records.COLUMNS`)."""
    from pathlib import Path

    import pandas as pd

    from ..errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError("records file not found", expected="an existing .csv or .parquet file",
                         got=str(path), fix="pass the records file written by `tsbench run`")
    if path.suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise InputError("reading Parquet", expected="pyarrow installed", got=str(exc).split(".")[0],
                             fix="pip install pyarrow, or pass the records as CSV") from exc
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=True)
    raise InputError("records file format", expected=".csv or .parquet", got=path.suffix or "no suffix",
                     fix="convert the records to CSV or Parquet")


def citations_from_registry(names) -> dict[str, str]:
    """``generator_name → citation key`` from registered cards; unknown or broken generators are skipped."""
    from ..registry import generators

    out = {}
    for name in names:
        try:
            key = generators.get(name).card.citation_key
        except Exception:  # a missing or broken plugin must not stop a table
            continue
        if key:
            out[name] = key
    return out


def run(args) -> int:
    import sys
    from pathlib import Path

    from ..errors import InputError
    from ..report import (build_tables, rank_results, select_hardware, to_csv, to_html, to_latex, to_markdown,
                          to_summary, write_results)
    from ..report.aggregate import is_calibration

    if args.records:
        records = read_records(args.records)
    else:
        try:
            from ..runner import load_records
        except ImportError as exc:
            raise InputError("records", expected="a run folder readable by tsbench.runner.load_records",
                             got=f"this tsbench cannot read run folders ({exc})",
                             fix="pass --records FILE (CSV or Parquet)") from exc
        records = load_records(args.out)
    if len(records) == 0:
        raise InputError("records", expected="at least one record", got="none",
                         fix="run `tsbench run ...` first or check --out / --records")
    if args.device_type is not None or args.precision is not None:
        records = select_hardware(records, device_type=args.device_type, precision=args.precision)
    mix = args.mix_devices
    citations = {}
    if not args.no_citations:
        names = [n for n in dict.fromkeys(records["generator_name"].dropna()) if not is_calibration(n)]
        citations = citations_from_registry(names)
    sensitivity = args.sensitivity
    if sensitivity is None:
        candidates = [Path(args.out) / "validate-metrics", Path("results") / "validate-metrics"]
        sensitivity = next((c for c in candidates if c.is_dir()), None)
    run_folder = None if args.records and not Path(args.out).is_dir() else args.out
    if args.results_dir:
        if args.output:
            raise InputError("--results-dir with --output", expected="one of them",
                             got=f"--results-dir {args.results_dir} and --output {args.output}",
                             fix="--results-dir writes a fixed set of files; drop --output")
        for path in write_results(records, args.results_dir, citations=citations, mix_devices=mix):
            print(f"wrote {path}", file=sys.stderr)
        if run_folder is None:
            print("report.html not written: its figures need the run folder (pass --out RUN)", file=sys.stderr)
        else:
            html = Path(args.results_dir) / "report.html"
            html.write_text(to_html(records, out_dir=run_folder, sensitivity_dir=sensitivity,
                                    citations=citations, mix_devices=mix), encoding="utf-8")
            print(f"wrote {html}", file=sys.stderr)
        return 0
    if args.format == "records":
        text = records.to_csv(index=False)
    elif args.format == "csv":
        text = to_csv(records, mix_devices=mix)
    elif args.format == "summary":
        text = to_summary(records, mix_devices=mix)
    elif args.format == "html":
        text = to_html(records, out_dir=run_folder, sensitivity_dir=sensitivity, layout=args.layout,
                       citations=citations, mix_devices=mix)
    else:
        tables = build_tables(records, layout=args.layout, citations=citations, mix_devices=mix)
        ranks = None if args.no_ranks else rank_results(records, mix_devices=mix)
        text = (to_markdown(tables, ranks) if args.format == "md"
                else to_latex(tables, ranks, standalone=args.standalone))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
