"""Average ranks, Friedman + Nemenyi, the CD diagram."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures.records import frame, make_records, record
from scipy import stats

from tsbench.report.figures import cd_diagram, png_bytes
from tsbench.report.ranks import rank_results
from tsbench.report.stats import cliques, friedman_nemenyi, rank_matrix


def _hand_records():
    # 2 datasets × 2 metrics (one higher-is-better); means per generator chosen by hand
    means = {  # (dataset, metric): {generator: mean}
        ("a", "mmd"): {"x": 0.1, "y": 0.2, "z": 0.3},  # lower better → x1 y2 z3
        ("a", "acc"): {"x": 0.9, "y": 0.7, "z": 0.8},  # higher better → x1 z2 y3
        ("b", "mmd"): {"x": 0.3, "y": 0.1, "z": 0.3},  # y1, x/z tie → 2.5
        ("b", "acc"): {"x": 0.5, "y": 0.6, "z": 0.4},  # y1 x2 z3
    }
    rows = [record(dataset=d, metric=m, generator=g, higher_is_better=(m == "acc"), value=v, seed=s)
            for (d, m), gens in means.items() for g, v in gens.items() for s in (0, 1)]
    rows.append(record(dataset="a", metric="mmd", generator="real", value=0.0))  # calibration: not ranked
    return frame(rows)


def test_average_ranks_by_hand():
    (result,) = rank_results(_hand_records())
    assert list(result.ranks.columns) == ["x", "y", "z"]
    expected = {"x": (1 + 1 + 2.5 + 2) / 4, "y": (2 + 3 + 1 + 1) / 4, "z": (3 + 2 + 2.5 + 3) / 4}
    assert result.test.avg_ranks.to_dict() == pytest.approx(expected)
    assert result.test.n_blocks == 4 and result.excluded == ()
    assert "real" not in result.ranks.columns


def test_friedman_matches_scipy_and_nemenyi_matches_demsar():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(10, 4)) + np.array([0.0, 0.3, 0.6, 1.2])
    ranks = pd.DataFrame(np.apply_along_axis(stats.rankdata, 1, values), columns=list("abcd"))
    test = friedman_nemenyi(ranks)
    ref = stats.friedmanchisquare(*values.T)
    assert test.chi2 == pytest.approx(ref.statistic) and test.p_value == pytest.approx(ref.pvalue)
    # Iman–Davenport F by hand
    n, k = values.shape
    assert test.iman_davenport == pytest.approx((n - 1) * ref.statistic / (n * (k - 1) - ref.statistic))
    # Demšar (2006) Table 5(a): q_0.05 = 2.569 for k = 4
    assert test.q_alpha == pytest.approx(2.569, abs=1e-3)
    assert test.cd == pytest.approx(2.569 * np.sqrt(4 * 5 / (6 * 10)), abs=1e-3)


def test_friedman_with_ties_matches_scipy():
    values = np.array([[1, 1, 2], [2, 3, 1], [1, 2, 2], [3, 2, 1], [1, 2, 3]], dtype=float)
    ranks = pd.DataFrame(np.apply_along_axis(stats.rankdata, 1, values), columns=list("abc"))
    ref = stats.friedmanchisquare(*values.T)
    assert friedman_nemenyi(ranks).chi2 == pytest.approx(ref.statistic)


def test_cliques_join_ranks_closer_than_cd():
    ranks = pd.Series([1.0, 1.5, 2.6, 3.0], index=list("abcd"))
    assert cliques(ranks, cd=1.0) == [(0, 1), (2, 3)]
    assert cliques(ranks, cd=1.7) == [(0, 2), (1, 3)]
    assert cliques(ranks, cd=0.1) == []


def test_generator_missing_in_a_block_is_excluded_or_block_dropped():
    records = make_records()  # gan has no context_fid on sines
    (result,) = rank_results(records)
    assert result.excluded == () and len(result.ranks) == 7  # the incomplete block is dropped
    assert rank_matrix(pd.DataFrame(columns=["dataset", "metric", "generator", "mean", "higher_is_better"])).empty


def test_cd_diagram_renders(tmp_path):
    (result,) = rank_results(_hand_records())
    data = png_bytes(cd_diagram(result.test, "ranks"))
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
