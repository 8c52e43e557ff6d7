"""Corruption generators: each breaks exactly the structure it claims to, deterministically."""
from __future__ import annotations

import numpy as np
import pytest

from tsbench.baselines.calibration import AddNoise, CopyTrain, ModeCollapse, ShuffleChannels, ShuffleTime
from tsbench.errors import InputError
from tsbench.registry import generators


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    train = rng.random((60, 10, 3), dtype=np.float32)
    test = rng.random((40, 10, 3), dtype=np.float32)
    return train, test


def _fit(cls, data, **params):
    train, test = data
    return cls(**params).fit(train, seed=0, X_test=test)


@pytest.mark.parametrize("name", ["noise", "shuffle_time", "shuffle_channels", "mode_collapse", "copy_train"])
def test_registered_deterministic_and_in_range(name, data):
    gen = generators.get(name)().fit(data[0], seed=3, X_test=data[1])
    a, b = gen.sample(50, seed=1), gen.sample(50, seed=1)
    assert a.shape == (50, 10, 3) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, gen.sample(50, seed=2))
    assert a.min() >= 0 and a.max() <= 1
    assert gen.card.title


def test_shuffle_time_keeps_each_windows_values_per_step(data):
    _, test = data
    out = _fit(ShuffleTime, data).sample(40, seed=0)
    # each output window is a held-out window with its steps (rows) permuted, channels kept together
    for window in out:
        match = [t for t in test if np.array_equal(np.sort(t, axis=0), np.sort(window, axis=0))]
        assert len(match) == 1
        rows = {tuple(r) for r in match[0]}
        assert {tuple(r) for r in window} == rows
    assert not any(np.array_equal(o, t) for o in out for t in test)


def test_shuffle_channels_keeps_channels_intact_but_recombines(data):
    _, test = data
    out = _fit(ShuffleChannels, data).sample(40, seed=0)
    for c in range(3):
        channels = {test[i, :, c].tobytes() for i in range(len(test))}
        assert all(out[i, :, c].tobytes() in channels for i in range(len(out)))
    intact = sum(any(np.array_equal(o, t) for t in test) for o in out)
    assert intact < 5


def test_noise_level_and_zero_noise(data):
    _, test = data
    assert np.array_equal(np.sort(_fit(AddNoise, data, sigma=0.0).sample(40, seed=0), axis=0),
                          np.sort(test, axis=0))
    rng = np.random.default_rng(0)
    mid = np.full((2000, 4, 2), 0.5, dtype=np.float32)
    noisy = AddNoise(sigma=0.05).fit(mid, seed=0).sample(2000, seed=int(rng.integers(100)))
    assert np.std(noisy - 0.5) == pytest.approx(0.05, rel=0.05)
    with pytest.raises(InputError, match="sigma"):
        AddNoise(sigma=-1).fit(mid, seed=0)


def test_mode_collapse_draws_from_small_cluster(data):
    _, test = data
    gen = _fit(ModeCollapse, data, fraction=0.1)
    out = gen.sample(100, seed=0)
    distinct = {w.tobytes() for w in out}
    assert len(distinct) == 4  # 10 % of 40 held-out windows
    assert all(any(np.array_equal(np.frombuffer(d, np.float32).reshape(10, 3), t) for t in test) for d in distinct)
    with pytest.raises(InputError, match="fraction"):
        ModeCollapse(fraction=0).fit(test, seed=0)


def test_copy_train_returns_training_windows(data):
    train, test = data
    out = CopyTrain().fit(train, seed=0, X_test=test).sample(30, seed=0)
    assert all(any(np.array_equal(o, t) for t in train) for o in out)
    assert len({o.tobytes() for o in out}) == 30  # without replacement
