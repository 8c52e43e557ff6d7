"""Contract details of the PyTorch generators beyond the conformance suite (which covers shapes, seeds,
checkpoints, bad input and global RNG for every registered generator): complete cards and presets, identical
loss histories for identical seeds, progress reports matching the logged history, and a non-finite loss
failing the cell instead of producing garbage."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsbench.data.sines import sine_windows
from tsbench.errors import CellFailure
from tsbench.registry import generators

MODELS = ["gan", "crnngan", "nrgan", "timegan", "timevae", "diffusion_ts"]


def smoke(name: str) -> dict:
    cls = generators.get(name)
    return dict(cls.presets["smoke"])


@pytest.mark.parametrize("name", MODELS)
def test_presets_and_card_are_complete(name):
    cls = generators.get(name)
    assert set(cls.presets) == {"smoke", "quick", "paper"}
    for preset in cls.presets.values():
        assert set(preset) <= set(cls._get_param_names())
    assert cls.card.problems() == [] and cls.card.faithful and cls.card.adapted and cls.card.year
    params = cls().get_params()
    assert params["device"] == "cpu" and params["amp"] is False


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_same_history_and_progress_matches_it(name):
    cls, X = generators.get(name), sine_windows(48, 24, 2, seed=0)
    calls = []
    a = cls(**smoke(name)).fit(X, seed=5, callback=lambda s, t, losses: calls.append((s, t, losses)))
    b = cls(**smoke(name)).fit(X, seed=5)
    assert a.history_ and a.history_ == b.history_
    assert calls and calls[-1][0] == calls[-1][1]
    assert all(np.isfinite(v) for _, _, losses in calls for v in losses.values())


@pytest.mark.parametrize("name", MODELS)
def test_non_finite_loss_fails_the_cell(name):
    cls = generators.get(name)

    class Poisoned(cls):
        def _build(self, seq_len, n_features):
            nets = super()._build(seq_len, n_features)
            with torch.no_grad():
                for net in nets.values():
                    for p in net.parameters():
                        p.fill_(float("nan"))
            return nets

    with pytest.raises(CellFailure, match="non-finite"):
        Poisoned(**smoke(name)).fit(sine_windows(32, 24, 2, seed=0), seed=0)
