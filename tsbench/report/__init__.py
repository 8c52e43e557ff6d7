"""Leaderboard tables, generated claims and the HTML report: pure functions of tidy records
(:mod:`tsbench.records`).

>>> from tsbench.report import build_tables, to_markdown, to_latex, to_csv, to_html, rank_results, to_summary
>>> print(to_markdown(build_tables(records), rank_results(records)))  # doctest: +SKIP
>>> write_results(records, "results")  # every record-only file of the committed results folder  # doctest: +SKIP
>>> print(to_markdown(build_tables(records, published=True, cost=True)))  # papers' numbers, cost  # doctest: +SKIP
>>> to_json(records)  # the versioned machine-readable leaderboard  # doctest: +SKIP
"""
from __future__ import annotations

from .aggregate import CALIBRATION, aggregate, generator_roles, per_seed
from .cost import cost_frame
from .export import cells, read_csv, to_csv
from .hardware import select_hardware
from .html import to_html
from .latex import to_latex
from .leaderboard_json import leaderboard, to_json
from .markdown import to_markdown
from .null import null_verdicts
from .published import PUBLISHED
from .ranks import rank_results
from .results import RESULT_FILES, render_results, write_results
from .summary import null_claims, to_summary
from .table import build_tables

__all__ = ["CALIBRATION", "aggregate", "generator_roles", "per_seed", "build_tables", "rank_results", "to_markdown",
           "to_latex", "to_csv", "read_csv", "cells", "to_html", "to_summary", "null_claims", "null_verdicts",
           "select_hardware", "RESULT_FILES", "render_results", "write_results", "cost_frame", "leaderboard",
           "to_json", "PUBLISHED"]
