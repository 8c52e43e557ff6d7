"""Leaderboard tables and the HTML report: pure functions of tidy records (:mod:`tsbench.records`).

>>> from tsbench.report import build_tables, to_markdown, to_latex, to_csv, to_html, rank_results
>>> print(to_markdown(build_tables(records), rank_results(records)))  # doctest: +SKIP
"""
from __future__ import annotations

from .aggregate import CALIBRATION, aggregate, per_seed
from .export import read_csv, to_csv
from .html import to_html
from .latex import to_latex
from .markdown import to_markdown
from .ranks import rank_results
from .table import build_tables

__all__ = ["CALIBRATION", "aggregate", "per_seed", "build_tables", "rank_results", "to_markdown", "to_latex",
           "to_csv", "read_csv", "to_html"]
