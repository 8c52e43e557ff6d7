"""Memorisation (distance to closest record) against a brute-force reference and the copy_train / real rows."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from tsbench.baselines.calibration import Real
from tsbench.baselines.corruptions import CopyTrain
from tsbench.errors import InputError
from tsbench.metrics.memorisation import Memorisation, nearest_distances


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
    train, test, fake = rng.random((50, 4, 2)), rng.random((50, 4, 2)), rng.random((30, 4, 2))
    out = Memorisation().compute(train, test, fake, seed=0)
    d_tr = np.array([min(np.linalg.norm(f - t) for t in train) for f in fake])
    d_te = np.array([min(np.linalg.norm(f - t) for t in test) for f in fake])
    h_tr = np.array([min(np.linalg.norm(h - t) for t in train) for h in test])
    assert out["value"] == [pytest.approx(np.mean(d_tr < d_te))]
    assert out["ratio"] == [pytest.approx(np.median(d_tr) / np.median(h_tr))]


def test_copy_train_scores_clearly_worse_than_real():
    train, test = _sines(800, 0), _sines(200, 1)
    metric = Memorisation(repeats=3)
    copies = CopyTrain().fit(train, seed=0).sample(200, seed=0)
    held_out = Real().fit(train, seed=0, X_test=test).sample(200, seed=0)
    fresh = _sines(200, 2)  # new draws from the same distribution: no copying
    c, r, f = (metric.compute(train, test, s, seed=0) for s in (copies, held_out, fresh))
    assert c["ratio"] == [0.0, 0.0, 0.0] and min(c["value"]) > 0.55  # 1/4 of copies are in the equal-size subset
    assert r["ratio"] == [pytest.approx(1.0)] * 3 and max(r["value"]) == 0.0
    assert 0.35 < np.mean(f["value"]) < 0.65 and 0.7 < np.mean(f["ratio"]) < 1.3
    assert len(set(c["value"])) > 1  # repeats redraw the equal-size training subset


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
