"""``tsbench table``: render the leaderboard of a run folder (or a records file) as Markdown, LaTeX, CSV
or a self-contained HTML report."""
from __future__ import annotations

FORMATS = ("md", "latex", "csv", "html", "records")


def register(sub) -> None:
    parser = sub.add_parser("table", help="render leaderboard tables / the HTML report from records")
    parser.add_argument("--out", default="tsbench-runs", metavar="DIR",
                        help="run folder written by `tsbench run` (default: ./tsbench-runs)")
    parser.add_argument("--records", default=None, metavar="FILE",
                        help="read records from a CSV or Parquet file instead of the run folder")
    parser.add_argument("--format", default="md", choices=FORMATS,
                        help="output format (default: md); 'records' writes the raw tidy records as CSV")
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
    from ..report import build_tables, rank_results, to_csv, to_html, to_latex, to_markdown
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
    citations = {}
    if not args.no_citations:
        names = [n for n in dict.fromkeys(records["generator_name"].dropna()) if not is_calibration(n)]
        citations = citations_from_registry(names)
    if args.format == "records":
        text = records.to_csv(index=False)
    elif args.format == "csv":
        text = to_csv(records)
    elif args.format == "html":
        sensitivity = args.sensitivity
        if sensitivity is None:
            candidates = [Path(args.out) / "validate-metrics", Path("results") / "validate-metrics"]
            sensitivity = next((c for c in candidates if c.is_dir()), None)
        text = to_html(records, out_dir=None if args.records and not Path(args.out).is_dir() else args.out,
                       sensitivity_dir=sensitivity, layout=args.layout, citations=citations)
    else:
        tables = build_tables(records, layout=args.layout, citations=citations)
        ranks = None if args.no_ranks else rank_results(records)
        text = (to_markdown(tables, ranks) if args.format == "md"
                else to_latex(tables, ranks, standalone=args.standalone))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
