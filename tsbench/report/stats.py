"""The statistics behind the tables, in one module and from scipy: Welch t-tests (two- and one-sided),
best/second marks, the comparison with the null, average ranks, Friedman + Nemenyi.

Welch (:func:`welch_p`). ``scipy.stats.ttest_ind(a, b, equal_var=False, alternative=...)`` on the per-seed
values; fewer than 2 values on a side give ``NaN`` (no test). Two constant samples are decided by their means
(p = 0 when they are ordered as the alternative says, else 1), as scipy's infinite t gives, written out so
every scipy version agrees.

Null (:func:`versus_null`). A model cell is ``'better'`` than the null (the ``gaussian`` row,
:mod:`tsbench.report.null`) when the one-sided Welch test in the metric's direction rejects "no better" at
``alpha``, ``'worse'`` when the opposite one-sided test does, ``'not_separated'`` otherwise, and ``None``
when there is no test (no direction, or fewer than 2 seeds on a side).

Marks (:func:`marks`). The tables pass only the model cells that are better than the null, so a lone model
that beats the null is the best one. Within one column, among cells with a direction and ``n ≥ 2`` seeds,
sort by mean (best first). The *best group* is the leader
plus the following cells (in that order, up to the first that differs) whose per-seed values a two-sided
Welch t-test at ``alpha`` (default 0.05) cannot tell apart from the leader's; it is bold. Among the rest, the
next leader and the cells indistinguishable from it, formed the same way, are underlined. So a mark always
means "better than the next group beyond the noise"; rows the test cannot separate share the mark (a tie).

Ranks (:func:`rank_matrix`, :func:`friedman_nemenyi`). A *block* is one ``(dataset, metric)`` of a table
group; generators are ranked within each block by mean with ``scipy.stats.rankdata``, direction-aware
(1 = best, ties get average ranks). Only blocks where every compared generator has a value are used.
``scipy.stats.friedmanchisquare`` (tie-corrected; defined for k ≥ 3 generators) checks whether the average
ranks differ (Demšar 2006, JMLR 7), with the Iman–Davenport F; the Nemenyi critical difference is
``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` with ``q_alpha = studentized_range.ppf(1 - alpha, k, inf) / sqrt(2)``.
Metrics of one dataset are correlated, so with few datasets the test is approximate; the caption says so.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st

ALPHA = 0.05
#: the verdicts of :func:`versus_null`
VERDICTS = ("better", "worse", "not_separated")


def welch_p(a, b, alternative: str = "two-sided") -> float:
    """p-value of Welch's t-test of samples ``a`` vs ``b`` (``alternative``: 'two-sided', 'less' = a's mean
    below b's, 'greater'); ``NaN`` with fewer than 2 values on a side. See the module docstring."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if a.var(ddof=1) == 0 and b.var(ddof=1) == 0:
        ordered = {"two-sided": a.mean() != b.mean(), "less": a.mean() < b.mean(),
                   "greater": a.mean() > b.mean()}[alternative]
        return 0.0 if ordered else 1.0
    with warnings.catch_warnings():  # nearly constant samples: scipy warns about precision, the p is still used
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(_st.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue)


def differs(a, b, alpha: float = ALPHA) -> bool:
    """Whether a two-sided Welch t-test rejects equal means of samples ``a`` and ``b`` at ``alpha``."""
    return bool(welch_p(a, b) < alpha)


def versus_null(sample, null, higher_is_better: bool | None, alpha: float = ALPHA) -> str | None:
    """``'better'``, ``'worse'``, ``'not_separated'`` or ``None`` (no test) for a model's per-seed ``sample``
    against the null's per-seed values (one-sided Welch t-tests in the metric's direction)."""
    if higher_is_better is None or sample is None or null is None or len(sample) < 2 or len(null) < 2:
        return None
    up, down = ("greater", "less") if higher_is_better else ("less", "greater")
    if welch_p(sample, null, up) < alpha:
        return "better"
    if welch_p(sample, null, down) < alpha:
        return "worse"
    return "not_separated"


def marks(samples: list, higher_is_better: bool | None, alpha: float = ALPHA) -> list[str | None]:
    """``'best'``, ``'second'`` or ``None`` per cell; ``samples[i]`` is the per-seed values of cell ``i``
    (``None`` or empty when missing). See the module docstring for the rule."""
    out: list[str | None] = [None] * len(samples)
    if higher_is_better is None:
        return out
    sign = -1.0 if higher_is_better else 1.0
    eligible = [i for i, s in enumerate(samples) if s is not None and len(s) >= 2]
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
    """Friedman test on a :func:`rank_matrix` and the Nemenyi CD; ``None`` with < 3 generators or < 2 blocks."""
    n, k = ranks.shape
    if n < 2 or k < 3:
        return None
    r = ranks.to_numpy(float)
    avg = r.mean(axis=0)
    # the ranks are re-ranked unchanged, so this is Friedman's test on the underlying means
    test = _st.friedmanchisquare(*r.T)
    chi2, p = float(test.statistic), float(test.pvalue)
    denom = n * (k - 1) - chi2
    ff = float((n - 1) * chi2 / denom) if denom > 0 else float("inf")
    p_ff = float(_st.f.sf(ff, k - 1, (k - 1) * (n - 1))) if np.isfinite(ff) else 0.0
    q = float(_st.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2.0))
    cd = q * float(np.sqrt(k * (k + 1) / (6.0 * n)))
    series = pd.Series(avg, index=ranks.columns, name="avg_rank").sort_values(kind="stable")
    return RankTest(series, n, chi2, p, ff, p_ff, cd, q, alpha)


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
