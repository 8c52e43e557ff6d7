"""``tsbench data prepare`` — download and verify the real datasets into the cache."""
from __future__ import annotations


def register(sub) -> None:
    parser = sub.add_parser("data", help="manage dataset files")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    prepare = actions.add_parser("prepare", help="download (or verify local copies of) the dataset files")
    prepare.add_argument("names", nargs="*", help="datasets (default: all)")
    prepare.add_argument("--data-dir", default=None, help="folder with local copies (else TSBENCH_DATA_DIR)")
    prepare.set_defaults(func=run)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run(args) -> int:
    from ..data import prepare_all

    for path in prepare_all(args.names or None, data_dir=args.data_dir):
        print(f"ready: {path}")
    return 0
