"""Predictive score: slicing and per-window MAE against brute force, protocol rules, sanity."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tests._references import gru_states, params_of, sigmoid
from tsbench.metrics._posthoc import repeat_seeds
from tsbench.metrics.predictive import PredictiveScore, predictive_scores, predictor_hidden, task_features
from tsbench.nn.ensemble import EnsembleGRU


def _sines(n, T=10, D=3, seed=0):
    rng = np.random.default_rng(seed)
    freq, phase = rng.uniform(0, 0.5, (n, 1, D)), rng.uniform(0, 2, (n, 1, D))
    return ((np.sin(freq * np.arange(T)[None, :, None] + phase) + 1) / 2).astype(np.float32)


def test_rules():
    assert task_features(5, "timegan2019") == (slice(0, 4), slice(4, 5))
    assert task_features(1, "timegan2019") == (slice(0, 1), slice(0, 1))
    assert task_features(5, "tsbench") == (slice(0, 5), slice(0, 5))
    assert [predictor_hidden(d, "timegan2019") for d in (1, 5, 28)] == [1, 2, 14]
    assert predictor_hidden(5, "tsbench") == 16


@pytest.mark.parametrize("protocol", ["timegan2019", "tsbench"])
def test_untrained_pipeline_matches_bruteforce(protocol):
    """0 iterations: per window, inputs = steps 0..T−2 (of the input features), targets = steps 1..T−1 (of
    the target features); score = mean over windows of each window's MAE."""
    real = _sines(9, seed=1)
    got = predictive_scores(real, _sines(20), seed=3, repeats=2, protocol=protocol, iterations=0,
                            batch_size=4, hidden=2)
    D = 3
    n_in, n_out = (2, 1) if protocol == "timegan2019" else (3, 3)
    net = EnsembleGRU.init(repeat_seeds(3, "ps-init", 2), n_in, 2, n_out, cell="tf1")
    for r in range(2):
        w_ih, b_ih, w_hh, b_hh, w_out, b_out = params_of(net, r)
        maes = []
        for w in real.astype(np.float64):
            x = w[:-1, :n_in] if protocol == "timegan2019" else w[:-1]
            y = w[1:, D - 1:] if protocol == "timegan2019" else w[1:]
            pred = sigmoid(gru_states(x, w_ih, b_ih, w_hh, b_hh, "tf1") @ w_out + b_out)
            maes.append(np.abs(pred - y).mean())
        assert got[r] == pytest.approx(np.mean(maes), abs=1e-6)


def test_sanity_training_helps_and_noise_hurts():
    real = _sines(300)
    noise = np.random.default_rng(1).random(real.shape, dtype=np.float32)
    metric = PredictiveScore(protocol="tsbench", repeats=2, iterations=150)
    on_real = metric.compute(real, real, real, seed=0)["value"]
    on_noise = metric.compute(real, real, noise, seed=0)["value"]
    untrained = PredictiveScore(protocol="tsbench", repeats=2, iterations=1).compute(real, real, real, seed=0)
    assert max(on_real) < min(untrained["value"]), (on_real, untrained)
    assert max(on_real) < min(on_noise), (on_real, on_noise)


def test_deterministic():
    real = _sines(32)
    metric = PredictiveScore(protocol="timegan2019", repeats=2, iterations=5)
    assert metric.compute(real, real, real, seed=1) == metric.compute(real, real, real, seed=1)
    assert PredictiveScore(protocol="timegan2019").n_repeats() == 10


@pytest.mark.parametrize("params, fragment", [
    ({"batch_size": 0}, "predictive batch_size: expected a positive integer"),
    ({"iterations": 2.5}, "predictive iterations: expected a positive integer"),
    ({"cell": "lstm"}, "predictive cell: expected 'tf1' or 'torch', got 'lstm'"),
])
def test_bad_settings_are_one_line_input_errors(params, fragment):
    from tsbench.errors import InputError

    real = _sines(32)
    with pytest.raises(InputError, match=re.escape(fragment)):
        PredictiveScore(**{"repeats": 2, "iterations": 5, **params}).compute(real, real, real, seed=0)
