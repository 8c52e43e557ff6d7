"""The ``tsbench`` command line.

Errors print one line (what was expected, what was got, how to fix it) and exit non-zero: 2 for usage and
input errors, 1 for failed cells. A file-system error on a path the command was given (a file where a folder
is needed, a folder where a file is, no permission, a full disk…) is an input error too. ``--debug`` shows the
traceback instead. Line breaks inside a message (a name or path holding one) are printed escaped, so an error
is always exactly one line.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand modules under tsbench.commands, in help order
COMMANDS = ("list", "run", "evaluate", "table", "data", "check", "validate_metrics")


#: file-system errors that concern a path the user gave (exit 2, one line), by errno name
_PATH_ERRNOS = ("EEXIST", "ENOENT", "EISDIR", "ENOTDIR", "EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT",
                "ENAMETOOLONG", "ELOOP")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        from .errors import one_line

        self.exit(2, f"tsbench: error: {one_line(message)} (see `{one_line(self.prog)} --help`)\n")


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
    from .errors import TsbenchError, one_line

    try:
        return int(args.func(args) or 0)
    except TsbenchError as exc:
        if args.debug:
            raise
        print(f"tsbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        if args.debug or not _is_path_error(exc):
            return _internal_error(exc, args.debug)
        print(f"tsbench: error: {one_line(_path_error(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tsbench: interrupted; finished cells are kept — re-run the same command to resume",
              file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected bug: still one line unless --debug
        return _internal_error(exc, args.debug)


def _internal_error(exc: Exception, debug: bool) -> int:
    from .errors import one_line

    if debug:
        raise exc
    print(f"tsbench: internal error: {type(exc).__name__}: {one_line(exc)} (re-run with --debug for the traceback)",
          file=sys.stderr)
    return 1


def _is_path_error(exc: OSError) -> bool:
    import errno

    return exc.filename is not None and errno.errorcode.get(exc.errno or 0) in _PATH_ERRNOS


def _path_error(exc: OSError) -> str:
    """``path: expected …, got <strerror>. fix`` for a file-system error on a path the command was given."""
    from .errors import describe

    paths = " → ".join(repr(str(p)) for p in (exc.filename, exc.filename2) if p is not None)
    return f"{paths}: " + describe("a path this command can read or write", exc.strerror or type(exc).__name__,
                                   "check the path: a folder where a file is expected (or the reverse), "
                                   "permissions, free space")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
