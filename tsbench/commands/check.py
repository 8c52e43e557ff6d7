"""``tsbench check TARGET`` — run the conformance suite (:mod:`tsbench.testing`) on one generator or metric.

``TARGET`` is ``path/file.py:Class``, ``package.module:Class`` or a registered name (``--include DIR``
registers the components of a folder of plugin files), optionally with parameters
(``timegan[hidden_dim=8]``) that override the preset. Prints one line per check (PASS / FAIL / XFAIL /
XPASS with the reason) and a summary; exits 0 when every check passes (declared known failures allowed),
1 otherwise, 2 for a bad target.
"""
from __future__ import annotations

from .run import add_include_argument, include_folders


def register(sub) -> None:
    parser = sub.add_parser(
        "check", help="run the conformance checks on a generator or metric",
        description="Run the conformance suite (tsbench.testing) on one generator or metric and print one line "
                    "per check (PASS / FAIL / XFAIL / XPASS). Exit 0 when every check passes (declared known "
                    "failures allowed), 1 otherwise, 2 for a target that cannot be loaded. "
                    "See docs/plugins.md.")
    parser.add_argument("target", help="file.py:Class, package.module:Class or a registered name, e.g. gaussian, "
                                       "my_model.py:MyGenerator or my_pkg.models:MyGenerator[hidden=8]")
    parser.add_argument("--kind", choices=("generator", "metric"), default=None,
                        help="which registry a bare name refers to (default: generators, then metrics)")
    parser.add_argument("--preset", default="smoke", choices=("smoke", "quick", "paper"),
                        help="parameter preset used by the checks (default: smoke)")
    add_include_argument(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    import sys
    import time

    from ..plugin_files import describe
    from ..presets import check_preset
    from ..runner.executors import set_threads
    from ..testing import CheckSettings, check_generator, check_metric

    check_preset(args.preset)
    include_folders(args)
    set_threads(1)  # the checks use tiny data: more threads only add overhead
    cls, kind, registered_as, params = resolve_target(args.target, args.kind)
    settings = CheckSettings(preset=args.preset, params=params, registered_as=registered_as)
    start = time.perf_counter()
    results = (check_generator if kind == "generator" else check_metric)(cls, settings=settings)
    for result in results:
        print(result.line())
    counts = {status: sum(r.status == status for r in results) for status in ("PASS", "FAIL", "XFAIL", "XPASS")}
    summary = ", ".join(f"{n} {status.lower()}" for status, n in counts.items() if n)
    print(f"{kind} {describe(cls)}: {summary} in {time.perf_counter() - start:.1f}s")
    sys.stdout.flush()
    return 0 if all(r.ok for r in results) else 1


def resolve_target(target: str, kind: str | None):
    """``(class, kind, registered name or None, params)`` for a ``file.py:Class[params]``,
    ``module:Class[params]`` or a registered name."""
    import importlib

    from ..errors import InputError
    from ..generator import Generator
    from ..metric import Metric
    from ..plugin_files import load_file
    from ..registry import PluginUnavailableError, generators, metrics

    base, params = _split_params(target)
    swept = sorted(key for key, value in params.items() if isinstance(value, list))
    if swept:
        raise InputError("check target", expected="one value per parameter (sweeps are for `tsbench run`)",
                         got=f"a list for {', '.join(swept)}", fix="check one value at a time, e.g. gan[lr=0.001]")
    registered_as = None
    if ":" in base:
        where, _, attr = base.rpartition(":")
        try:
            obj = load_file(where) if where.endswith(".py") else importlib.import_module(where)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as exc:
            raise InputError("check target", expected="an importable package.module:Class or file.py:Class",
                             got=f"{base!r} ({type(exc).__name__}: {exc})",
                             fix="check the spelling and that the package is installed in this environment")
    else:
        name = base
        registries = {"generator": [generators], "metric": [metrics], None: [generators, metrics]}[kind]
        registry = next((r for r in registries if name in r), registries[0])
        try:
            obj = registry.get(name)  # unknown names raise with suggestions
        except PluginUnavailableError as exc:
            raise InputError("check target", expected="an importable component", got=str(exc),
                             fix="install the component's dependencies") from None
        registered_as = name
    if not isinstance(obj, type) or not issubclass(obj, (Generator, Metric)):
        raise InputError("check target", expected="a tsbench Generator or Metric subclass",
                         got=f"{base!r} is {obj!r}", fix="point at the class, e.g. my_pkg.models:MyGenerator")
    found = "generator" if issubclass(obj, Generator) else "metric"
    if kind is not None and kind != found:
        raise InputError("check target", expected=f"a {kind}", got=f"{base!r} is a {found}",
                         fix=f"drop --kind or pass --kind {found}")
    return obj, found, registered_as, params


def _split_params(target: str):
    """``'a.b:C[x=1]'`` → ``('a.b:C', {'x': 1})`` (parameters parsed with the display-name syntax)."""
    from ..naming import parse_display_name

    target = target.strip()
    if "[" not in target:
        return target, {}
    head, _, rest = target.partition("[")
    _, params = parse_display_name(f"x[{rest}")
    return head.strip(), params
