"""``tsbench list [generators|datasets|metrics] [PATTERN]`` — never imports torch."""
from __future__ import annotations

from .run import add_include_argument, include_folders

KINDS = ("generators", "datasets", "metrics")


def register(sub) -> None:
    parser = sub.add_parser("list", help="list registered generators, datasets and metrics")
    parser.add_argument("kind", nargs="?", default=None, help="generators | datasets | metrics (default: all)")
    parser.add_argument("pattern", nargs="?", default=None, help="wildcard, e.g. 'time*'")
    parser.add_argument("--check", action="store_true",
                        help="import built-ins too, to show which are unavailable (may import torch)")
    add_include_argument(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..errors import InputError
    from ..registry import REGISTRIES

    include_folders(args)
    kind, pattern = args.kind, args.pattern
    if kind is not None and kind not in KINDS:
        singular = {k[:-1]: k for k in KINDS}
        if kind in singular:
            kind = singular[kind]
        elif pattern is None:  # `tsbench list 'time*'`
            kind, pattern = None, kind
        else:
            raise InputError("list kind", expected=" | ".join(KINDS), got=repr(kind),
                             fix="run e.g. `tsbench list generators 'time*'`")
    for name in [kind] if kind else KINDS:
        registry = REGISTRIES[name]
        rows = [e for e in registry.entries() if pattern is None or e.name in registry.names(pattern)]
        print(f"{name}:")
        for entry in rows:
            # plugins are imported to show whether they work; built-ins only with --check (keeps listing instant)
            status = ""
            if entry.origin != "built-in" or args.check:
                status = "" if entry.available else f"  [unavailable: {entry.error}]"
            origin = "" if entry.origin == "built-in" else f"  ({entry.origin})"
            summary = entry.summary or (_first_line(entry.obj.__doc__) if entry.obj is not None else "")
            print(f"  {entry.name:<18} {summary}{origin}{status}")
    return 0


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""
