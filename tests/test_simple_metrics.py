"""Correlational score (Diffusion-TS) and ACD / MDD / SD / KD (TSGBench) against small independent references."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tsbench.errors import InputError
from tsbench.metrics.correlational import CorrelationalScore, correlational_score
from tsbench.metrics.tsgbench import ACD, KD, MDD, SD, acd, kd, mdd, sd
from tsbench.seeding import derive_seed


@pytest.fixture
def pair():
    rng = np.random.default_rng(7)
    real = rng.random((31, 9, 3))
    real[..., 1] += 0.8 * real[..., 0]  # some cross-correlation
    fake = rng.gamma(2.0, 0.2, size=(27, 9, 3))
    return real, fake


# --- independent references (different routes to the same numbers) -----------------------------------
def ref_correlational(real, fake):
    def c(X):
        flat = X.reshape(-1, X.shape[2])
        M = len(flat)
        r = np.corrcoef(flat.T)  # Pearson r; the standardised lag-0 product mean is (M−1)/M · r
        return {(i, j): (M - 1) / M * r[i, j] for i in range(X.shape[2]) for j in range(i + 1)}
    cr, cf = c(real), c(fake)
    return sum(abs(cf[key] - cr[key]) for key in cr) / 10


def ref_acf(X, lag):
    n, T, D = X.shape
    out = []
    for f in range(D):
        mu = X[..., f].mean()
        var = ((X[..., f] - mu) ** 2).mean()
        total = sum(np.correlate(X[w, :, f] - mu, X[w, :, f] - mu, mode="full")[T - 1 + lag] for w in range(n))
        out.append(total / (n * (T - lag)) / var)
    return np.array(out)


def ref_acd(real, fake):
    L = min(64, real.shape[1])
    diffs = np.array([ref_acf(fake, lag) - ref_acf(real, lag) for lag in range(L)])
    return np.mean([math.sqrt(sum(d * d for d in diffs[:, f])) for f in range(real.shape[2])])


def ref_mdd(real, fake, bins=50):
    cells = []
    for t in range(1, real.shape[1]):
        for f in range(real.shape[2]):
            r, s = real[:, t, f], fake[:, t, f]
            lo, hi = float(r.min()), float(r.max())
            width = (hi - lo) / bins

            def density(values):
                counts = [0] * bins
                for v in values:
                    if lo <= v <= hi:
                        counts[min(int((v - lo) / width), bins - 1)] += 1
                return [c / width / len(values) for c in counts]
            cells.append(np.mean([abs(a - b) for a, b in zip(density(s), density(r))]))
    return float(np.mean(cells))


def ref_sd(real, fake):
    def skew(X, f):
        v = X[..., f].ravel()
        M = len(v)
        return stats.skew(v, bias=True) * ((M - 1) / M) ** 1.5  # TSGBench divides by the ddof=1 std cubed
    return np.mean([abs(skew(fake, f) - skew(real, f)) for f in range(real.shape[2])])


def ref_kd(real, fake):
    return np.mean([abs(stats.kurtosis(fake[..., f].ravel(), fisher=True, bias=True)
                        - stats.kurtosis(real[..., f].ravel(), fisher=True, bias=True)) for f in range(real.shape[2])])


@pytest.mark.parametrize("fn, ref", [(correlational_score, ref_correlational), (acd, ref_acd), (mdd, ref_mdd),
                                     (sd, ref_sd), (kd, ref_kd)])
def test_matches_reference(pair, fn, ref):
    real, fake = pair
    got = fn(real, fake)
    assert got > 0
    assert got == pytest.approx(ref(real, fake), rel=1e-9)
    assert fn(real, real) == pytest.approx(0.0, abs=1e-12)


def test_acd_caps_lags_at_64():
    rng = np.random.default_rng(0)
    real, fake = rng.random((3, 70, 1)), rng.random((3, 70, 1))
    assert acd(real, fake) == pytest.approx(ref_acd(real, fake), rel=1e-9)


def test_mdd_ignores_first_step_and_out_of_range_values():
    rng = np.random.default_rng(1)
    real = rng.random((40, 4, 1))
    fake = real.copy()
    fake[:, 0] = 5.0  # first step excluded
    assert mdd(real, fake) == 0.0
    fake[:, 2] = 5.0  # outside the real range: counted in no bin, density 0 there
    assert mdd(real, fake) == pytest.approx(ref_mdd(real, fake), rel=1e-12) and mdd(real, fake) > 0


def test_correlational_is_zero_for_univariate_data():
    rng = np.random.default_rng(2)
    real, fake = rng.random((60, 24, 1)), rng.gamma(1.0, 1.0, (60, 24, 1))
    metric = CorrelationalScore(repeats=3)
    assert max(metric.compute(real, real, fake, seed=0)["value"]) < 1e-12


def test_correlational_detects_broken_cross_correlation():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((200, 24, 1))
    real = np.concatenate([base, base + 0.3 * rng.standard_normal((200, 24, 1))], axis=2)
    shuffled = real.copy()
    shuffled[..., 1] = shuffled[rng.permutation(200), :, 1]  # channels from different windows
    metric = CorrelationalScore(repeats=4)
    same = metric.compute(real, real[::-1], real, seed=0)["value"]
    broken = metric.compute(real, real, shuffled, seed=0)["value"]
    assert len(broken) == 4 and np.mean(broken) > 5 * np.mean(same) and np.mean(broken) > 0.05


def test_correlational_subsets_follow_diffusion_ts():
    rng = np.random.default_rng(4)
    real, fake = rng.random((50, 6, 2)), rng.random((80, 6, 2))
    metric = CorrelationalScore(protocol="timegan2019")
    a = metric.compute(real, real, fake, seed=1)["value"]
    assert len(a) == 10 and a == metric.compute(real, real, fake, seed=1)["value"]
    draw = np.random.default_rng(derive_seed(1, "correlational", 0))
    r_idx, f_idx = draw.integers(0, 50, size=10), draw.integers(0, 80, size=10)  # N_real / 5, with replacement
    real32, fake32 = real.astype(np.float32), fake.astype(np.float32)  # compute() works on float32 windows
    assert a[0] == pytest.approx(ref_correlational(real32[r_idx], fake32[f_idx]), rel=1e-9)


@pytest.mark.parametrize("cls, fn", [(ACD, acd), (MDD, mdd), (SD, sd), (KD, kd)])
def test_feature_measures_as_metrics(cls, fn, pair):
    real, fake = pair
    train = np.zeros_like(real) + 0.5  # not scored against: real_test is the compared set
    result = cls().compute(train, real, fake, seed=0, reference=real)  # MDD's bins span the reference's range
    assert result == {"value": [pytest.approx(fn(real, fake), rel=1e-6)]}  # float32 inputs
    sub = cls(subset_size=10, repeats=3)
    values = sub.compute(train, real, fake, seed=0, reference=real)["value"]
    assert len(values) == 3 and values == sub.compute(train, real, fake, seed=0, reference=real)["value"]
    assert cls.card.problems() == [] and cls().higher_is_better is False and cls.name == cls.__name__.lower()
    with pytest.raises(InputError, match="subset_size"):
        cls(subset_size=1).compute(real, real, fake, seed=0)


def test_mdd_bins_come_from_the_reference_not_the_scored_subset():
    """Defect: MDD's bin range came from each row's own real subset; it must be shared by every row."""
    rng = np.random.default_rng(3)
    reference = rng.random((200, 6, 2)).astype(np.float32)
    real, fake = reference[:60] * 0.5, rng.random((60, 6, 2)).astype(np.float32)
    a = MDD().compute(reference, real, fake, seed=0)["value"][0]
    assert a == pytest.approx(mdd(real, fake, edges_from=reference), rel=1e-6)
    assert a != pytest.approx(mdd(real, fake), rel=1e-3)


def test_detects_the_defects_they_are_meant_for():
    rng = np.random.default_rng(5)
    t = np.arange(24)[None, :, None]
    real = (np.sin(0.4 * t + rng.uniform(0, 6, (2000, 1, 2))) + 1) / 2
    same = (np.sin(0.4 * t + rng.uniform(0, 6, (2000, 1, 2))) + 1) / 2
    time_shuffled = real[:, rng.permutation(24)]
    assert acd(real, time_shuffled) > 10 * acd(real, same)
    noisy = np.clip(real + 0.2 * rng.standard_normal(real.shape), 0, 1)
    assert mdd(real, noisy) > 2 * mdd(real, same)  # MDD's noise floor is high for small sets (~0.15 here)
    skewed = real ** 3
    assert sd(real, skewed) > 10 * sd(real, same) and kd(real, skewed) > 5 * kd(real, same)


def test_constant_synthetic_feature_is_finite():
    rng = np.random.default_rng(6)
    real, fake = rng.random((20, 5, 2)), np.full((20, 5, 2), 0.5)
    for fn in (correlational_score, acd, mdd, sd, kd):
        assert np.isfinite(fn(real, fake))
