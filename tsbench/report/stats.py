"""Statistics behind the tables: noise-aware best/second marks, average ranks, Friedman + Nemenyi.

Marks (:func:`marks`). Within one column, among cells with a direction and ``n ≥ 2`` seeds (the noise of a
single seed is unknown, so such cells are never marked), sort by mean (best first). The *best group* is the
leader plus the following cells (in that order, up to the first that differs) whose per-seed values a
two-sided Welch t-test at ``alpha`` (default 0.05) cannot tell apart from the leader's; it is bold. Among
the rest, the next leader and the cells indistinguishable from it, formed the same way, are underlined. So a mark always means "better than the next group beyond the noise";
rows the test cannot separate share the mark (a tie).

Ranks (:func:`rank_matrix`, :func:`friedman_nemenyi`). A *block* is one ``(dataset, metric)`` of a table
group; generators are ranked within each block by mean, direction-aware (1 = best, ties get average ranks).
Only blocks where every compared generator has a value are used. The Friedman test (Demšar 2006, JMLR 7)
checks whether the average ranks differ; the Nemenyi critical difference is
``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` with ``q_alpha = studentized_range.ppf(1 - alpha, k, inf) / sqrt(2)``.
Metrics of one dataset are correlated, so with few datasets the test is approximate; the caption says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st

ALPHA = 0.05


def differs(a, b, alpha: float = ALPHA) -> bool:
    """Whether a two-sided Welch t-test rejects equal means of samples ``a`` and ``b`` at ``alpha``.

    Needs ≥ 2 values on each side (else ``False``). Two constant samples differ iff their means differ.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return False
    va, vb = a.var(ddof=1), b.var(ddof=1)
    if va == 0 and vb == 0:
        return bool(a.mean() != b.mean())
    return bool(_st.ttest_ind(a, b, equal_var=False).pvalue < alpha)


def marks(samples: list, higher_is_better: bool | None, alpha: float = ALPHA) -> list[str | None]:
    """``'best'``, ``'second'`` or ``None`` per cell; ``samples[i]`` is the per-seed values of cell ``i``
    (``None`` or empty when missing). See the module docstring for the rule."""
    out: list[str | None] = [None] * len(samples)
    if higher_is_better is None:
        return out
    sign = -1.0 if higher_is_better else 1.0
    eligible = [i for i, s in enumerate(samples) if s is not None and len(s) >= 2]
    if len(eligible) < 2:
        return out
    order = sorted(eligible, key=lambda i: (sign * float(np.mean(samples[i])), i))
    remaining = order
    for label in ("best", "second"):
        if not remaining:
            break
        leader, group = remaining[0], [remaining[0]]
        for i in remaining[1:]:  # contiguous in the sorted order, so marks follow the means
            if differs(samples[i], samples[leader], alpha):
                break
            group.append(i)
        for i in group:
            out[i] = label
        remaining = [i for i in remaining if i not in group]
    return out


def rank_matrix(agg: pd.DataFrame, generators: list[str] | None = None) -> pd.DataFrame:
    """Direction-aware ranks: one row per complete block ``(dataset, metric)``, one column per generator.

    ``agg`` is one table group of :func:`tsbench.report.aggregate.aggregate`; metrics without a direction
    are skipped; ``generators`` (default: all in ``agg``) fixes the compared set and column order.
    """
    data = agg[agg["higher_is_better"].notna() & agg["mean"].notna()]
    generators = list(dict.fromkeys(data["generator"])) if generators is None else list(generators)
    rows, index = [], []
    for (dataset, metric), block in data.groupby(["dataset", "metric"], sort=False):
        means = block.drop_duplicates("generator").set_index("generator")["mean"]
        if not set(generators) <= set(means.index):
            continue
        sign = -1.0 if bool(block["higher_is_better"].iloc[0]) else 1.0
        rows.append(_st.rankdata(sign * means.loc[generators].to_numpy(float)))
        index.append((dataset, metric))
    return pd.DataFrame(rows, columns=generators,
                        index=pd.MultiIndex.from_tuples(index, names=["dataset", "metric"]) if index else None)


@dataclass(frozen=True)
class RankTest:
    """Average ranks with the Friedman test and the Nemenyi critical difference."""

    avg_ranks: pd.Series  # generator → average rank (1 = best), sorted
    n_blocks: int
    chi2: float
    p_value: float
    iman_davenport: float
    p_value_id: float
    cd: float
    q_alpha: float
    alpha: float

    @property
    def significant(self) -> bool:
        return bool(self.p_value < self.alpha)


def friedman_nemenyi(ranks: pd.DataFrame, alpha: float = ALPHA) -> RankTest | None:
    """Friedman test on a :func:`rank_matrix` and the Nemenyi CD; ``None`` with < 2 generators or blocks."""
    n, k = ranks.shape
    if n < 2 or k < 2:
        return None
    r = ranks.to_numpy(float)
    avg = r.mean(axis=0)
    # Friedman statistic with the tie correction (equals scipy.stats.friedmanchisquare for k ≥ 3)
    ties = sum(_tie_term(row) for row in r)
    chi2 = 12.0 * n / (k * (k + 1)) * float(np.sum((avg - (k + 1) / 2.0) ** 2))
    chi2 /= 1.0 - ties / (n * k * (k * k - 1))
    p = float(_st.chi2.sf(chi2, k - 1))
    denom = n * (k - 1) - chi2
    ff = float((n - 1) * chi2 / denom) if denom > 0 else float("inf")
    p_ff = float(_st.f.sf(ff, k - 1, (k - 1) * (n - 1))) if np.isfinite(ff) else 0.0
    q = float(_st.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2.0))
    cd = q * float(np.sqrt(k * (k + 1) / (6.0 * n)))
    series = pd.Series(avg, index=ranks.columns, name="avg_rank").sort_values(kind="stable")
    return RankTest(series, n, float(chi2), p, ff, p_ff, cd, q, alpha)


def _tie_term(row: np.ndarray) -> float:
    _, counts = np.unique(row, return_counts=True)
    return float(np.sum(counts ** 3 - counts))


def cliques(avg_ranks: pd.Series, cd: float) -> list[tuple[int, int]]:
    """Maximal runs ``(first, last)`` (positions in ``avg_ranks`` sorted ascending) whose rank spread is
    below ``cd``: the groups a CD diagram joins with a bar."""
    values = avg_ranks.to_numpy(float)
    runs = []
    for i in range(len(values)):
        j = i
        while j + 1 < len(values) and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in runs):
            runs.append((i, j))
    return runs
