"""Discriminative score: arithmetic against brute force, protocol rules, sanity on easy cases."""
from __future__ import annotations

import numpy as np
import pytest

from tests._references import gru_states, params_of, sigmoid
from tsbench.errors import InputError
from tsbench.metrics._posthoc import repeat_rngs, repeat_seeds
from tsbench.metrics.discriminative import (DiscriminativeScore, accuracy_score, discriminator_hidden,
                                            discriminative_scores, split_indices)
from tsbench.nn.ensemble import EnsembleGRU


def _sines(n, T=12, D=3, seed=0):
    rng = np.random.default_rng(seed)
    freq, phase = rng.uniform(0, 0.1, (n, 1, D)), rng.uniform(0, 0.1, (n, 1, D))
    return ((np.sin(freq * np.arange(T)[None, :, None] + phase) + 1) / 2).astype(np.float32)


def test_accuracy_score_bruteforce():
    rng = np.random.default_rng(0)
    real, syn = rng.random((3, 7)) < 0.6, rng.random((3, 4)) < 0.3
    for r in range(3):
        hits = list(real[r]) + list(syn[r])
        assert accuracy_score(real, syn, balanced=False)[r] == pytest.approx(abs(sum(hits) / len(hits) - 0.5))
        balanced = (sum(real[r]) / 7 + sum(syn[r]) / 4) / 2
        assert accuracy_score(real, syn, balanced=True)[r] == pytest.approx(abs(balanced - 0.5))


def test_split_like_reference():
    train, test = split_indices(10, np.random.default_rng(0))
    assert len(train) == 8 and len(test) == 2 and sorted(np.r_[train, test]) == list(range(10))


def test_hidden_rule():
    assert [discriminator_hidden(d, "timegan2019") for d in (1, 5, 6, 28)] == [1, 2, 3, 14]
    assert [discriminator_hidden(d, "tsbench") for d in (1, 5, 28)] == [16, 16, 28]


@pytest.mark.parametrize("protocol", ["timegan2019", "tsbench"])
def test_untrained_pipeline_matches_bruteforce(protocol):
    """With 0 iterations the score is the initial classifier's: recompute splits, logits and accuracy by hand."""
    real, test, syn = _sines(30), _sines(20, seed=1), np.random.default_rng(2).random((25, 12, 3), dtype=np.float32)
    if protocol == "timegan2019":
        test = real
    got = discriminative_scores(real, test, syn, seed=4, repeats=3, protocol=protocol, iterations=0,
                                batch_size=8, hidden=2)
    net = EnsembleGRU.init(repeat_seeds(4, "ds-init", 3), 3, 2, 1, cell="tf1")
    for r, g in enumerate(repeat_rngs(4, "ds-split", 3)):
        if protocol == "timegan2019":
            perm = g.permutation(30)
            real_te = real[perm[24:]]
        else:
            real_te = test
        perm = g.permutation(25)
        syn_te = syn[perm[20:]]
        w_ih, b_ih, w_hh, b_hh, w_out, b_out = params_of(net, r)

        def says_real(w):
            return sigmoid(gru_states(w, w_ih, b_ih, w_hh, b_hh, "tf1")[-1] @ w_out + b_out)[0] > 0.5

        real_ok = [says_real(w) for w in real_te]
        syn_ok = [not says_real(w) for w in syn_te]
        if protocol == "timegan2019":
            acc = (sum(real_ok) + sum(syn_ok)) / (len(real_ok) + len(syn_ok))
        else:
            acc = (np.mean(real_ok) + np.mean(syn_ok)) / 2
        assert got[r] == pytest.approx(abs(acc - 0.5), abs=1e-12)


@pytest.mark.parametrize("protocol", ["timegan2019", "tsbench"])
def test_sanity_real_vs_real_small_and_real_vs_noise_large(protocol):
    real, other = _sines(400), _sines(400, seed=1)
    noise = np.random.default_rng(3).random(real.shape, dtype=np.float32)
    metric = DiscriminativeScore(protocol=protocol, repeats=2, iterations=400, hidden=4)
    same = metric.compute(real, other, other, seed=0)["value"]
    far = metric.compute(real, other, noise, seed=0)["value"]
    assert len(same) == 2 and max(same) < 0.15, same
    assert min(far) > 0.3, far


def test_deterministic_and_seed_sensitive():
    real, syn = _sines(64), _sines(64, seed=5)
    metric = DiscriminativeScore(protocol="timegan2019", repeats=2, iterations=5)
    a, b = metric.compute(real, real, syn, seed=1), metric.compute(real, real, syn, seed=1)
    assert a == b
    assert a != metric.compute(real, real, syn, seed=2)


def test_default_repeats_and_errors():
    assert DiscriminativeScore(protocol="timegan2019").n_repeats() == 10
    assert DiscriminativeScore(protocol="timegan2019", repeats=3).n_repeats() == 3
    with pytest.raises(InputError):
        DiscriminativeScore(protocol="nope").compute(_sines(8), _sines(8), _sines(8), seed=0)
