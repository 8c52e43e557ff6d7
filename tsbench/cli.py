"""The ``tsbench`` command line.

Errors print one line (what was expected, what was got, how to fix it) and exit non-zero: 2 for usage and
input errors, 1 for failed cells. ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand modules under tsbench.commands, in help order
COMMANDS = ("list", "run", "evaluate", "table", "data", "check", "validate_metrics")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(2, f"tsbench: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tsbench", description="Benchmark time-series generative models.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"tsbench.commands.{name}").register(sub)
    return parser


def _version() -> str:
    from . import __version__

    return f"tsbench {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .errors import TsbenchError

    try:
        return int(args.func(args) or 0)
    except TsbenchError as exc:
        if args.debug:
            raise
        print(f"tsbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tsbench: interrupted; finished cells are kept — re-run the same command to resume",
              file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected bug: still one line unless --debug
        if args.debug:
            raise
        print(f"tsbench: internal error: {type(exc).__name__}: {exc} (re-run with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
