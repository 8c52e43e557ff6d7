"""Tests of the C-RNN-GAN generator: shapes, determinism, checkpoints, non-finite losses, parameters."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsbench.baselines.crnngan import CRNNGAN
from tsbench.errors import CellFailure, InputError, NotFittedError

SMOKE = {**CRNNGAN.presets["smoke"], "iterations": 12}


def sines(n, seq_len=24, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    freq, phase = rng.uniform(0, 0.1, (2, n, 1, n_features))
    return ((np.sin(freq * np.arange(seq_len)[None, :, None] + phase) + 1) / 2).astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    return CRNNGAN(**SMOKE).fit(sines(64), seed=0)


def test_presets_and_card():
    assert set(CRNNGAN.presets) == {"smoke", "quick", "paper"}
    for preset in CRNNGAN.presets.values():
        assert set(preset) <= set(CRNNGAN._get_param_names())
    assert CRNNGAN.card.problems() == [] and CRNNGAN.card.adapted and CRNNGAN.card.faithful
    params = CRNNGAN().get_params()
    assert params["device"] == "cpu" and params["amp"] is False


def test_sample_shape_range_and_seed(fitted):
    a, b = fitted.sample(7, seed=3), fitted.sample(7, seed=3)
    assert a.shape == (7, 24, 3) and a.dtype == np.float32
    assert np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fitted.sample(7, seed=4))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        CRNNGAN(**SMOKE).sample(2, seed=0)


def test_same_seed_same_fit_and_history():
    X = sines(48, n_features=2)
    a = CRNNGAN(**SMOKE).fit(X, seed=5)
    b = CRNNGAN(**SMOKE).fit(X, seed=5)
    np.testing.assert_array_equal(a.sample(5, seed=1), b.sample(5, seed=1))
    assert a.history_ == b.history_ and a.history_
    c = CRNNGAN(**SMOKE).fit(X, seed=6)
    assert not np.array_equal(a.sample(5, seed=1), c.sample(5, seed=1))


def test_no_global_rng_use():
    state = torch.random.get_rng_state()
    CRNNGAN(**SMOKE).fit(sines(32), seed=0).sample(3, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())


def test_checkpoint_round_trip(fitted, tmp_path):
    path = tmp_path / "model.pt"
    fitted.save(path)
    loaded = CRNNGAN(**SMOKE).load(path)
    np.testing.assert_array_equal(fitted.sample(9, seed=2), loaded.sample(9, seed=2))


def test_progress_callback_and_log():
    calls = []
    model = CRNNGAN(**SMOKE).fit(sines(32), seed=0, callback=lambda s, t, l: calls.append((s, t, l)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert all(np.isfinite(v) for _, _, losses in calls for v in losses.values())
    assert model.history_[-1]["step"] == calls[-1][0]


def test_non_finite_loss_fails_the_cell():
    class Broken(CRNNGAN):
        def _build(self, seq_len, n_features):
            nets = super()._build(seq_len, n_features)
            with torch.no_grad():
                for p in nets["generator"].parameters():
                    p.fill_(float("nan"))
            return nets

    with pytest.raises(CellFailure, match="non-finite"):
        Broken(**SMOKE).fit(sines(32), seed=0)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="3-D"):
        CRNNGAN(**SMOKE).fit(np.zeros((10, 24), np.float32), seed=0)
