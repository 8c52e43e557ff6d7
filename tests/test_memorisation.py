"""Memorisation (distance to closest record) against a brute-force reference and the copy_train / real rows."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from tsbench.baselines.calibration import Real
from tsbench.baselines.calibration import CopyTrain
from tsbench.errors import InputError
from tsbench.metrics.memorisation import Memorisation, corrected_share, nearest_distances


def _sines(n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(12)
    freq, phase = rng.uniform(0, 0.5, (n, 1, 2)), rng.uniform(0, 3, (n, 1, 2))
    return ((np.sin(freq * t[None, :, None] + phase) + 1) / 2).astype(np.float32)


def test_nearest_distances_matches_sklearn():
    rng = np.random.default_rng(0)
    Q, R = rng.random((70, 5, 3)), rng.random((130, 5, 3))
    expected = NearestNeighbors(n_neighbors=1).fit(R.reshape(130, -1)).kneighbors(Q.reshape(70, -1))[0][:, 0]
    assert np.allclose(nearest_distances(Q, R, block=16), expected)


def test_reference_share_and_ratio():
    rng = np.random.default_rng(1)
    train, test, fake = rng.random((80, 4, 2)), rng.random((40, 4, 2)), rng.random((30, 4, 2))
    out = Memorisation().compute(train, test, fake, seed=0)
    d_tr = np.array([min(np.linalg.norm(f - t) for t in train) for f in fake])
    d_te = np.array([min(np.linalg.norm(f - t) for t in test) for f in fake])
    h_tr = np.array([min(np.linalg.norm(h - t) for t in train) for h in test])
    share = np.mean(d_tr < d_te)
    odds = share / (1 - share) / (80 / 40)
    assert out["value"] == [pytest.approx(odds / (1 + odds))]
    assert out["ratio"] == [pytest.approx(np.median(d_tr) / np.median(h_tr))]


def test_size_correction_centres_fresh_samples_at_one_half():
    # raw share of fresh i.i.d. draws is n_train / (n_train + n_test) = 0.8 here; corrected it is ≈ 0.5
    train, test, fresh = _sines(2000, 0), _sines(500, 1), _sines(1000, 2)
    d_tr, d_te = nearest_distances(fresh, train), nearest_distances(fresh, test)
    assert np.mean(d_tr < d_te) == pytest.approx(0.8, abs=0.05)
    assert Memorisation().compute(train, test, fresh, seed=0)["value"][0] == pytest.approx(0.5, abs=0.07)
    assert corrected_share(1.0, 4.0) == 1.0 and corrected_share(0.0, 4.0) == 0.0
    assert corrected_share(0.8, 4.0) == pytest.approx(0.5)


def test_copy_train_scores_clearly_worse_than_real():
    train, test = _sines(800, 0), _sines(200, 1)
    metric = Memorisation()
    copies = CopyTrain().fit(train, seed=0).sample(200, seed=0)
    held_out = Real().fit(train, seed=0, X_test=test).sample(200, seed=0)
    fresh = _sines(200, 2)  # new draws from the same distribution: no copying
    c, r, f = (metric.compute(train, test, s, seed=0) for s in (copies, held_out, fresh))
    assert c == {"value": [1.0], "ratio": [0.0]}
    assert r["value"] == [0.0] and r["ratio"] == [pytest.approx(1.0)]
    assert 0.35 < f["value"][0] < 0.65 and 0.7 < f["ratio"][0] < 1.3


def test_undefined_without_held_out_split():
    X = _sines(50, 0)
    with pytest.raises(InputError, match="timegan2019"):
        Memorisation().compute(X, X, X[:10], seed=0)
    with pytest.raises(InputError, match="duplicate"):
        Memorisation().compute(X, X[:20].copy(), X[:10], seed=0)


def test_max_windows_subsamples_synthetic():
    train, test = _sines(100, 0), _sines(100, 1)
    out = Memorisation(max_windows=20, repeats=2).compute(train, test, _sines(300, 2), seed=0)
    assert len(out["value"]) == 2 and all(0 <= v <= 1 for v in out["value"])
