"""The table statistics come from scipy (one module, tsbench.report.stats) and keep the old numbers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tsbench.report import stats as table_stats
from tsbench.report.stats import differs, friedman_nemenyi, versus_null, welch_p

# 12 blocks × 5 generators with many ties (rng 3); numbers from the hand-written Friedman code it replaced
TIED = [[3, 0, 0, 0, 0], [3, 3, 2, 0, 0], [1, 1, 2, 1, 1], [0, 2, 2, 0, 0], [1, 1, 3, 2, 1], [1, 2, 2, 0, 2],
        [3, 3, 3, 1, 1], [2, 2, 2, 3, 1], [3, 0, 0, 3, 3], [1, 0, 1, 0, 3], [2, 2, 0, 1, 0], [3, 1, 0, 1, 2]]


def _ranks(values) -> pd.DataFrame:
    values = np.asarray(values, float)
    return pd.DataFrame(np.apply_along_axis(stats.rankdata, 1, values), columns=list("abcde")[:values.shape[1]])


def test_friedman_numbers_are_those_of_the_old_code():
    test = friedman_nemenyi(_ranks(TIED))
    assert test.chi2 == pytest.approx(3.8064516129032255, rel=1e-12)
    assert test.p_value == pytest.approx(0.43283298530991443, rel=1e-12)
    assert test.iman_davenport == pytest.approx(0.9474452554744525, rel=1e-12)
    assert test.p_value_id == pytest.approx(0.4457288993948648, rel=1e-12)
    assert test.cd == pytest.approx(1.7607707850987302, rel=1e-12)
    assert test.avg_ranks.to_dict() == pytest.approx({"d": 2.5833333333333335, "e": 2.625, "b": 3.0833333333333335,
                                                      "c": 3.2083333333333335, "a": 3.5})


def test_friedman_and_welch_are_scipy_calls(monkeypatch):
    calls = []

    def spy(name):
        real = getattr(stats, name)

        def wrapped(*args, **kwargs):
            calls.append((name, kwargs))
            return real(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(stats, "friedmanchisquare", spy("friedmanchisquare"))
    monkeypatch.setattr(stats, "ttest_ind", spy("ttest_ind"))
    friedman_nemenyi(_ranks(TIED))
    welch_p([0.1, 0.2, 0.15], [0.3, 0.4, 0.5], "less")
    assert [c[0] for c in calls] == ["friedmanchisquare", "ttest_ind"]
    assert calls[1][1] == {"equal_var": False, "alternative": "less"}
    assert not hasattr(table_stats, "_tie_term")  # the hand-written tie correction is gone


def test_friedman_needs_three_generators():
    # scipy's Friedman test is defined for k ≥ 3; with 2 generators there is no rank test (was a hand formula)
    assert friedman_nemenyi(_ranks([[1, 2], [2, 1], [1, 2]])) is None


def test_welch_tests_one_and_two_sided():
    a, b = np.array([0.10, 0.12, 0.11]), np.array([0.30, 0.33, 0.31])
    two = stats.ttest_ind(a, b, equal_var=False).pvalue
    assert welch_p(a, b) == pytest.approx(two)
    assert welch_p(a, b, "less") == pytest.approx(two / 2) and welch_p(b, a, "greater") == pytest.approx(two / 2)
    assert differs(a, b) and not differs(a, a + 1e-3 * np.array([1, -1, 0]))
    # constant samples: ordered means are separated, equal means are not; fewer than 2 values: no test
    assert welch_p([1.0, 1.0], [2.0, 2.0], "less") == 0.0 and welch_p([1.0, 1.0], [2.0, 2.0], "greater") == 1.0
    assert welch_p([1.0, 1.0], [1.0, 1.0]) == 1.0 and np.isnan(welch_p([1.0], [2.0, 2.1]))


def test_versus_null_is_direction_aware():
    low, high = [0.10, 0.12, 0.11], [0.30, 0.33, 0.31]
    assert versus_null(low, high, higher_is_better=False) == "better"
    assert versus_null(low, high, higher_is_better=True) == "worse"
    assert versus_null(low, [0.05, 0.2, 0.1], higher_is_better=False) == "not_separated"
    assert versus_null(low, high, higher_is_better=None) is None
    assert versus_null(low, [0.3], higher_is_better=False) is None
