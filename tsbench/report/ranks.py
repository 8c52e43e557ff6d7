"""Average ranks per generator and the Friedman + Nemenyi test, per ``(protocol, preset)`` group.

The models are compared; calibration and corruption rows (by the records' ``role``:
:func:`tsbench.report.aggregate.generator_roles`) are left out unless ``include_calibration=True`` (they are
reference points, not contenders). See :mod:`tsbench.report.stats` for the statistics.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .aggregate import GROUP, aggregate, check_records, generator_roles
from .stats import ALPHA, RankTest, friedman_nemenyi, rank_matrix


@dataclass(frozen=True)
class RankResult:
    protocol: str
    preset: str
    ranks: pd.DataFrame  # blocks (dataset, metric) × generators
    test: RankTest | None  # None when fewer than 2 generators or blocks
    excluded: tuple[str, ...]  # generators without a value in every block (not ranked)


def rank_results(records: pd.DataFrame, *, include_calibration: bool = False,
                 alpha: float = ALPHA, mix_devices: bool = False) -> list[RankResult]:
    """One :class:`RankResult` per ``(protocol, preset)`` in ``records`` (never modified).

    Friedman's test needs complete blocks and at least 3 generators: among "the m generators with the most
    values" (m = k, k-1, …, 3) the set keeping the most ranked values (m × complete blocks) is used; the
    generators left out are listed in ``excluded`` and incomplete blocks are dropped. ``mix_devices``: see
    :func:`tsbench.report.aggregate.per_seed`.
    """
    check_records(records)
    agg = aggregate(records, mix_devices=mix_devices)
    agg = agg[agg["higher_is_better"].notna()]
    roles = generator_roles(records)
    out = []
    for (protocol, preset), group in agg.groupby(GROUP, sort=False):
        if not include_calibration:
            group = group[group["generator"].map(lambda g: roles.get(g, "model") == "model")]
        gens = list(dict.fromkeys(group["generator"]))
        full = set(_best_subset(group[group["mean"].notna()], gens))
        kept = [g for g in gens if g in full]
        ranks = rank_matrix(group, kept)
        out.append(RankResult(protocol, preset, ranks, friedman_nemenyi(ranks, alpha) if len(ranks) else None,
                              tuple(g for g in gens if g not in full)))
    return out


def _p(p: float) -> str:
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.3g}"


def rank_caption(result: RankResult) -> str:
    """One sentence stating the test outcome."""
    test = result.test
    if test is None:
        return (f"Protocol {result.protocol}, preset {result.preset}: too few generators (the Friedman test "
                f"needs 3) or complete (dataset, metric) blocks (2) for a rank test.")
    verdict = "the ranks differ" if test.significant else "no significant difference between the ranks"
    text = (f"Average rank (1 = best) over N = {test.n_blocks} (dataset, metric) blocks, protocol "
            f"{result.protocol}, preset {result.preset}. Friedman χ² = {test.chi2:.2f} "
            f"(df = {len(test.avg_ranks) - 1}), {_p(test.p_value)}; Iman–Davenport F = "
            f"{test.iman_davenport:.2f}, {_p(test.p_value_id)}: {verdict} at α = {test.alpha:g}. "
            f"Nemenyi critical difference CD = {test.cd:.2f} (q = {test.q_alpha:.3f}). "
            f"Metrics of one dataset are correlated, so the test is approximate.")
    if result.excluded:
        text += f" Not ranked (no value in some blocks): {', '.join(result.excluded)}."
    return text


def _best_subset(has: pd.DataFrame, gens: list[str]) -> list[str]:
    blocks = [set(v) for _, v in has.groupby(["dataset", "metric"], sort=False)["generator"]]
    coverage = sorted(gens, key=lambda g: -sum(g in b for b in blocks))  # stable: ties keep row order
    best, best_score = gens, -1
    fewest = min(3, len(coverage))  # the Friedman test needs 3 generators
    for m in range(len(coverage), fewest - 1, -1):
        chosen = set(coverage[:m])
        score = m * sum(chosen <= b for b in blocks)
        if score > best_score:
            best, best_score = coverage[:m], score
    return best
