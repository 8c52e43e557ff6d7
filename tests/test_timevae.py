"""TimeVAE (Desai et al. 2021): the reference code's layer arithmetic, decoder parts, loss and Keras callbacks."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tsbench.baselines.timevae import EARLY_STOPPING, LR_PLATEAU, KerasCallbacks, TimeVAE, parse_seasons
from tsbench.errors import InputError


@pytest.mark.parametrize("seq_len, lengths", [(24, [24, 12, 6, 3]), (25, [25, 13, 7, 4]), (8, [8, 4, 2, 1])])
def test_encoder_halves_the_length_with_keras_same_padding(seq_len, lengths):
    nets = TimeVAE()._build(seq_len, 5)
    assert nets["encoder"].lengths == lengths and nets["encoder"].flat == lengths[-1] * 200
    z = torch.zeros(3, 8)
    assert nets["decoder"](z).shape == (3, seq_len, 5)
    assert nets["encoder"](torch.zeros(3, seq_len, 5))[0].shape == (3, 8)


def test_reference_channels_are_50_100_200():
    nets = TimeVAE()._build(24, 5)
    assert [conv.out_channels for conv in nets["encoder"].convs] == [50, 100, 200]
    assert [d.out_channels for d in nets["decoder"].deconvs] == [100, 50, 5]


def test_seasons_repeat_over_time_and_trend_is_polynomial():
    assert parse_seasons("2x3+4x1") == [(2, 3), (4, 1)] and parse_seasons(None) == []
    with pytest.raises(InputError, match="seasons"):
        parse_seasons("2by3")
    decoder = TimeVAE(trend_poly=2, seasons="2x3", use_residual_conn=False)._build(12, 1)["decoder"]
    assert decoder.season_index_0.tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]
    t = torch.arange(12) / 12
    assert torch.allclose(decoder.poly, torch.stack([t, t ** 2]))
    out = decoder(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)))
    season = out - out[:, :3].mean(1, keepdim=True)  # level is constant over time; trend and seasons vary
    assert out.shape == (4, 12, 1) and season.abs().max() > 0


def test_loss_is_the_reference_sum():
    model = TimeVAE(**TimeVAE.presets["smoke"], max_steps=1)
    X = np.random.default_rng(0).random((8, 8, 3), dtype=np.float32)
    model.fit(X, seed=0)
    rng = torch.Generator().manual_seed(5)
    x = torch.as_tensor(X)
    with torch.no_grad():
        mean, log_var = model.nets_["encoder"](x)
        eps = torch.randn(mean.shape, generator=torch.Generator().manual_seed(5))
        x_hat = model.nets_["decoder"](mean + torch.exp(0.5 * log_var) * eps)
        expected_rec = ((x - x_hat) ** 2).sum() + ((x.mean(2) - x_hat.mean(2)) ** 2).sum()
        expected_kl = (-0.5 * (1 + log_var - mean ** 2 - log_var.exp())).sum()
    optimizer = torch.optim.SGD(model.nets_.parameters(), lr=0.0)
    loss, rec, kl = model.train_step(x, rng, optimizer)
    assert rec == pytest.approx(float(expected_rec), rel=1e-5) and kl == pytest.approx(float(expected_kl), rel=1e-5)
    assert loss == pytest.approx(3.0 * float(expected_rec) + float(expected_kl), rel=1e-5)


def test_keras_callbacks_halve_the_rate_and_stop_on_a_plateau():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=1e-3)
    callbacks = KerasCallbacks(optimizer, early_stopping=True)
    assert not callbacks.epoch_end(10.0)  # the first epoch sets the best value
    assert not callbacks.epoch_end(9.5)  # an improvement by more than both min_deltas resets both waits
    lrs, stopped_after = [], None
    for epoch in range(1, 200):
        stop = callbacks.epoch_end(9.5 - 1e-3)  # better by less than 0.01 (early stopping's min_delta)
        lrs.append(optimizer.param_groups[0]["lr"])
        if stop:
            stopped_after = epoch
            break
    assert stopped_after == EARLY_STOPPING["patience"]
    # the plateau callback took the first 1e-3 step as an improvement (> 1e-4), then waited 30 epochs
    assert lrs.index(5e-4) == LR_PLATEAU["patience"] and lrs[-1] == pytest.approx(5e-4)
    never = KerasCallbacks(optimizer, early_stopping=False)
    assert not any(never.epoch_end(5.0) for _ in range(200))


def test_early_stopping_ends_the_fit_at_an_epoch_boundary():
    X = np.full((32, 8, 2), 0.5, dtype=np.float32)  # nothing to learn: the loss plateaus at once
    model = TimeVAE(**{**TimeVAE.presets["smoke"], "epochs": 1000}).fit(X, seed=0)
    epochs = [row for row in model.history_ if "epoch_loss" in row]
    assert len(epochs) < 1000 and not math.isnan(epochs[-1]["epoch_loss"])


def test_windows_are_scaled_per_step_and_feature_and_samples_mapped_back():
    """The reference pipeline's MinMaxScaler: min and range over the windows axis (one per step and feature); the
    decoder works in that space and prior samples are mapped back (version 1 trained on the unscaled windows)."""
    rng = np.random.default_rng(0)
    X = (0.5 + 0.05 * rng.random((40, 8, 2)) * np.arange(1, 9)[None, :, None] / 8).astype(np.float32)
    model = TimeVAE(**TimeVAE.presets["smoke"], max_steps=3).fit(X, seed=0)
    scaler = model.nets_["scaler"]
    assert torch.allclose(scaler.low, torch.as_tensor(X.min(0)))
    assert torch.allclose(scaler.range, torch.as_tensor(X.max(0) - X.min(0)))
    scaled = scaler.transform(torch.as_tensor(X))
    assert torch.allclose(scaled.amin(0), torch.zeros(8, 2), atol=1e-5)
    assert torch.allclose(scaled.amax(0), torch.ones(8, 2), atol=1e-4)
    with torch.no_grad():
        z = torch.randn(5, 4, generator=torch.Generator().manual_seed(3))
        expected = scaler.inverse(model.nets_["decoder"](z)).clamp(0, 1).numpy()
    np.testing.assert_allclose(model.sample(5, seed=3), expected, rtol=1e-6)
    assert set(model.nets_) == {"encoder", "decoder", "scaler"} and not list(scaler.parameters())
