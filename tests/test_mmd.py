"""MMD: blockwise implementation vs an explicit double-loop NumPy reference, plus statistical properties."""
from __future__ import annotations

import numpy as np
import pytest

from tsbench.errors import InputError
from tsbench.metrics.mmd import MMD, MultiBandwidthMMD, median_sq_distance, mmd2_unbiased, permutation_p_value


def brute_force_mmd2(X, Y, sigma2, scales=(1.0,)):
    """Independent reference: explicit loops over pairs, straight from the formula."""
    X = X.reshape(len(X), -1).astype(np.float64)
    Y = Y.reshape(len(Y), -1).astype(np.float64)

    def k(a, b):
        d2 = float(np.sum((a - b) ** 2))
        return sum(np.exp(-d2 / (2 * sigma2 * s * s)) for s in scales)

    m, n = len(X), len(Y)
    xx = sum(k(X[i], X[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(Y[i], Y[j]) for i in range(n) for j in range(n) if i != j)
    xy = sum(k(X[i], Y[j]) for i in range(m) for j in range(n))
    return xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2 * xy / (m * n)


def brute_force_median(Z):
    Z = Z.reshape(len(Z), -1).astype(np.float64)
    return float(np.median([np.sum((Z[i] - Z[j]) ** 2) for i in range(len(Z)) for j in range(i + 1, len(Z))]))


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    return rng.random((23, 6, 3)), rng.random((17, 6, 3)) * 0.8 + 0.1


@pytest.mark.parametrize("scales", [(1.0,), (0.25, 0.5, 1.0, 2.0, 4.0)])
@pytest.mark.parametrize("block_size", [4, 7, 2048])
def test_matches_brute_force(data, scales, block_size):
    X, Y = data
    sigma2 = brute_force_median(np.concatenate([X, Y]))
    assert median_sq_distance(np.concatenate([X, Y]).reshape(40, -1), rng=np.random.default_rng(0)) == \
        pytest.approx(sigma2, rel=1e-12)
    got, _ = mmd2_unbiased(X.reshape(23, -1), Y.reshape(17, -1), sigma2=sigma2, scales=scales, block_size=block_size)
    assert got == pytest.approx(brute_force_mmd2(X, Y, sigma2, scales), rel=1e-10, abs=1e-13)


def test_permutation_null_matches_brute_force(data):
    X, Y = data
    X, Y = X.reshape(len(X), -1), Y.reshape(len(Y), -1)
    observed, null = mmd2_unbiased(X, Y, sigma2=1.3, permutations=5, rng=np.random.default_rng(3), block_size=8)
    Z = np.concatenate([X, Y])
    rng = np.random.default_rng(3)
    for b in range(5):  # the same relabellings, recomputed from scratch
        in_x = np.zeros(len(Z), bool)
        in_x[rng.permutation(len(Z))[:len(X)]] = True
        assert null[b] == pytest.approx(brute_force_mmd2(Z[in_x], Z[~in_x], 1.3), rel=1e-10, abs=1e-13)
    assert permutation_p_value(observed, null) == (1 + np.sum(null >= observed)) / 6


def test_median_subsamples_large_pools():
    Z = np.random.default_rng(0).random((1500, 4))
    a = median_sq_distance(Z, rng=np.random.default_rng(5))
    assert a == median_sq_distance(Z, rng=np.random.default_rng(5))
    assert a == pytest.approx(brute_force_median(Z[:300]), rel=0.1)  # a subsample's median is close
    assert median_sq_distance(np.ones((5, 3)), rng=np.random.default_rng(0)) == 1.0  # no zero bandwidth


def windows(seed, n=150, shift=0.0):
    rng = np.random.default_rng(seed)
    t = np.arange(12)[None, :, None]
    return (np.sin(0.3 * t + rng.uniform(0, 3, (n, 1, 2))) + 1) / 2 * 0.8 + shift + 0.02 * rng.standard_normal((n, 12, 2))


@pytest.mark.parametrize("cls", [MMD, MultiBandwidthMMD])
def test_properties(cls):
    real, same, shifted = windows(0), windows(1), windows(2, shift=0.15)
    metric = cls(subset_size=100, repeats=3)
    v_same = metric.compute(real, real, same, seed=0)["value"]
    v_shift = metric.compute(real, real, shifted, seed=0)["value"]
    assert len(v_same) == 3 and len(v_shift) == 3
    assert abs(np.mean(v_same)) < 0.02 and np.mean(v_shift) > 10 * abs(np.mean(v_same)) + 0.02
    # symmetric in its two arguments for one kernel (the full sets: one evaluation)
    full = cls(subset_size=None)
    assert full.compute(real, real, shifted, seed=0)["value"][0] == \
        pytest.approx(full.compute(shifted, shifted, real, seed=0, reference=real)["value"][0], rel=1e-9)


@pytest.mark.parametrize("cls", [MMD, MultiBandwidthMMD])
def test_one_kernel_for_every_row_fitted_on_real_data_only(cls):
    """Defect: the bandwidth was the median over each row's pooled sample, so a collapsed model got a
    narrower kernel than the others. It must come from the real reference alone, identical for every row."""
    real, good = windows(0), windows(1)
    collapsed = np.repeat(windows(2, n=3), 50, axis=0)
    metric = cls(subset_size=100, repeats=2)
    bandwidths = {tuple(metric.compute(real, real, fake, seed=s)["bandwidth"]) for fake in (good, collapsed)
                  for s in (0, 1)}
    assert len({b for pair in bandwidths for b in pair}) == 1
    sigma = next(iter(bandwidths))[0]
    flat = real.reshape(len(real), -1)
    assert sigma ** 2 == pytest.approx(brute_force_median(flat.astype(np.float32)), rel=1e-6)
    # the reference, not real_train, sets the kernel when given
    other = cls(subset_size=100, repeats=2).compute(real, real, good, seed=0, reference=real * 0.5)["bandwidth"]
    assert other[0] == pytest.approx(sigma / 2, rel=1e-6)


def test_deterministic_and_uses_real_test():
    real_train, real_test, fake = windows(0), windows(1, shift=0.1), windows(2, shift=0.1)
    metric = MMD(subset_size=80, repeats=2, permutations=20)
    a = metric.compute(real_train, real_test, fake, seed=4)
    assert a == metric.compute(real_train, real_test, fake, seed=4)
    assert a != metric.compute(real_train, real_test, fake, seed=5)
    assert set(a) == {"value", "bandwidth", "p_value"} and len(a["p_value"]) == 2
    # real_train is not used: scoring against real_test (same distribution as fake) gives a large p-value
    assert min(a["p_value"]) > 0.05
    shifted = MMD(subset_size=80, repeats=2, permutations=20).compute(real_train, real_train, fake, seed=4)
    assert max(shifted["p_value"]) == pytest.approx(1 / 21)


def test_full_sets_give_one_repeat_and_protocol_default_repeats():
    real, fake = windows(0, n=40), windows(1, n=40)
    assert len(MMD(subset_size=None).compute(real, real, fake, seed=0)["value"]) == 1
    assert len(MMD(subset_size=40).compute(real, real, fake, seed=0)["value"]) == 1
    assert len(MMD(subset_size=20, protocol="timegan2019").compute(real, real, fake, seed=0)["value"]) == 10


def test_bad_params_and_tiny_inputs():
    real = windows(0, n=10)
    with pytest.raises(InputError, match="subset_size"):
        MMD(subset_size=1).compute(real, real, real, seed=0)
    with pytest.raises(InputError, match="permutations"):
        MMD(permutations=-1).compute(real, real, real, seed=0)
    with pytest.raises(InputError, match="at least 2 windows"):
        MMD().compute(real, real, real[:1], seed=0)


def test_cards_and_metadata():
    assert MMD().higher_is_better is False and MultiBandwidthMMD.scales == (0.25, 0.5, 1.0, 2.0, 4.0)
    assert MMD.card.problems() == [] and MultiBandwidthMMD.card.problems() == []
    assert set(MMD.presets) == {"smoke", "quick", "paper"}
