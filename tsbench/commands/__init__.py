"""CLI subcommands, one module each: ``register(subparsers)`` adds the parser and sets ``func=run``.

Command modules import only argparse-level things at top level; heavy imports happen inside ``run``
(so ``tsbench list`` never imports torch).
"""
