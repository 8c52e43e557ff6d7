"""Context-FID: the Fréchet distance against closed forms and a brute-force reference; TS2Vec pieces; cache."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from tsbench.metrics import _ts2vec
from tsbench.metrics.context_fid import ContextFID, frechet_distance, gaussian_frechet, trace_sqrt_product

SMOKE = ContextFID.presets["smoke"]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path))
    _ts2vec.clear_memory_cache()
    yield
    _ts2vec.clear_memory_cache()


def _reference_fid(mu1, S1, mu2, S2):
    """Brute force as in the Diffusion-TS / pytorch-fid code: scipy sqrtm of the product, real part."""
    covmean = scipy.linalg.sqrtm(S1 @ S2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(S1 + S2 - 2 * covmean))


def test_closed_form_isotropic_and_diagonal():
    # isotropic: FID = ‖Δμ‖² + d (σ1 − σ2)²
    d, mu1, mu2 = 4, np.zeros(4), np.full(4, 0.5)
    assert gaussian_frechet(mu1, 4 * np.eye(d), mu2, np.eye(d)) == pytest.approx(d * 0.25 + d * (2 - 1) ** 2)
    # commuting diagonal covariances: Σ (√a − √b)²
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.0])
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert gaussian_frechet(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)) == pytest.approx(expected)
    # 1-D: W2² = Δμ² + (σ1 − σ2)²
    assert gaussian_frechet([1.0], [[4.0]], [0.0], [[1.0]]) == pytest.approx(1 + 1)


def test_matches_brute_force_on_random_gaussians():
    rng = np.random.default_rng(0)
    for d in (2, 5, 12):
        A, B = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        S1, S2 = A @ A.T + 0.1 * np.eye(d), B @ B.T + 0.1 * np.eye(d)
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        assert gaussian_frechet(mu1, S1, mu2, S2) == pytest.approx(_reference_fid(mu1, S1, mu2, S2), rel=1e-8)


def test_singular_covariance_is_stable_and_real():
    rng = np.random.default_rng(1)
    low_rank = rng.normal(size=(6, 2))
    S = low_rank @ low_rank.T  # rank 2 of 6
    assert trace_sqrt_product(S, S) == pytest.approx(np.trace(S), rel=1e-7)  # eigh of a singular matrix
    assert gaussian_frechet(np.zeros(6), S, np.zeros(6), S) == pytest.approx(0.0, abs=1e-8)
    # fewer samples than dimensions (rank-deficient sample covariances) still gives a finite value ≥ 0
    value = frechet_distance(rng.normal(size=(5, 20)), rng.normal(size=(5, 20)) + 1)
    assert np.isfinite(value) and value > 0


def test_sample_fid_converges_to_closed_form():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(20000, 3))
    B = rng.normal(size=(20000, 3)) * 2 + 1
    assert frechet_distance(A, B) == pytest.approx(3 * 1 + 3 * 1, rel=0.05)


def test_hierarchical_loss_prefers_aligned_views():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(8, 16, 4, generator=gen)
    aligned = _ts2vec.hierarchical_contrastive_loss(z, z + 0.01 * torch.randn(z.shape, generator=gen))
    unrelated = _ts2vec.hierarchical_contrastive_loss(z, torch.randn(z.shape, generator=gen))
    assert aligned < unrelated
    # batch of one and length one: the instance/temporal terms vanish instead of dividing by zero
    assert torch.isfinite(_ts2vec.hierarchical_contrastive_loss(z[:1], z[:1]))


def test_encoder_shapes_and_same_padding():
    net = _ts2vec.TSEncoder(3, hidden_dim=8, output_dim=10, depth=3)
    x = torch.zeros(2, 7, 3)
    assert net(x).shape == (2, 7, 10)
    conv = _ts2vec.SamePadConv(4, 4, kernel_size=2, dilation=1)  # even receptive field → trimmed
    assert conv(torch.zeros(1, 4, 9)).shape == (1, 4, 9)


def test_training_is_deterministic_and_leaves_global_rng_alone():
    X = np.random.default_rng(0).random((40, 12, 2), dtype=np.float32)
    settings = _ts2vec.EncoderSettings(hidden_dim=8, output_dim=8, depth=2, iterations=4)
    state = torch.random.get_rng_state()
    a = _ts2vec.encode(_ts2vec.train_encoder(X, settings, 3), X)
    b = _ts2vec.encode(_ts2vec.train_encoder(X, settings, 3), X)
    assert torch.equal(state, torch.random.get_rng_state())
    assert np.array_equal(a, b) and a.shape == (40, 8)
    assert not np.array_equal(a, _ts2vec.encode(_ts2vec.train_encoder(X, settings, 4), X))


def test_encoder_cache_memory_and_disk(tmp_path, monkeypatch):
    X = np.random.default_rng(0).random((30, 10, 2), dtype=np.float32)
    settings = _ts2vec.EncoderSettings(hidden_dim=8, output_dim=8, depth=2, iterations=3)
    calls = []
    real_train = _ts2vec.train_encoder
    monkeypatch.setattr(_ts2vec, "train_encoder", lambda *a: calls.append(1) or real_train(*a))
    first = _ts2vec.fit_encoder(X, settings, 0)
    assert _ts2vec.fit_encoder(X, settings, 0) is first and len(calls) == 1
    files = list((tmp_path / "encoders").glob("*.pt"))
    assert len(files) == 1
    _ts2vec.clear_memory_cache()
    reloaded = _ts2vec.fit_encoder(X, settings, 0)
    assert len(calls) == 1  # from disk
    assert np.allclose(_ts2vec.encode(first, X), _ts2vec.encode(reloaded, X))
    _ts2vec.fit_encoder(X, settings, 1)
    _ts2vec.fit_encoder(X + 0.5, settings, 0)
    assert len(calls) == 3  # other seed, other data → other encoders


def test_metric_ranks_corruptions_and_is_reproducible():
    rng = np.random.default_rng(0)
    t = np.arange(16) / 16
    phase = rng.random((300, 1, 2))
    X = (0.5 + 0.4 * np.sin(2 * np.pi * (t[None, :, None] + phase))).astype(np.float32)
    train, test = X[:200], X[200:]
    metric = ContextFID(**SMOKE, repeats=2)
    same = metric.compute(train, test, test[::-1].copy(), seed=0)["value"]
    noisy = np.clip(test + rng.normal(0, 0.3, test.shape), 0, 1).astype(np.float32)
    worse = metric.compute(train, test, noisy, seed=0)["value"]
    assert len(same) == 2 and np.allclose(same, 0, atol=1e-6)
    assert min(worse) > 10 * max(max(same), 1e-6)
    assert metric.compute(train, test, noisy, seed=0)["value"] == worse
    info = metric.describe_protocol(train)
    assert info["fit_on"] == "real reference (training) windows" and info["iterations"] == SMOKE["iterations"]


def test_presets_are_valid_parameters():
    names = set(ContextFID._get_param_names())
    for preset in ContextFID.presets.values():
        assert set(preset) <= names
