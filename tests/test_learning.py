"""Learning tests: trained generators against the ``gaussian`` null (an independent Gaussian per step and feature,
fit to the same training windows), scored by MMD² (tsbench.metrics.mmd) against held-out real windows.

The default suite trains each model briefly on small Sines data; ``-m slow`` runs the shipped ``quick`` preset on
the quick Sines split. A model that does not beat the null there (the leaderboard's results/summary.md, generated
from the records) is marked ``xfail(strict=True)``: the test fails as soon as it does beat the null, so the mark is
updated with it. TimeGAN's component tests (autoencoder error, MMD) are in test_timegan.py."""
from __future__ import annotations

import pytest

from tsbench.data.sines import sine_windows
from tsbench.metrics.mmd import MMD
from tsbench.registry import generators

NOT_BEATING_NULL = "does not beat the gaussian null's MMD² on Sines at this budget (results/summary.md)"

#: name → short-training parameters of the fast default-suite test
SHORT = {
    "gan": {"iterations": 5000, "batch_size": 32, "lr_decay": True},
    "crnngan": {"iterations": 30, "pretrain_epochs": 10, "batch_size": 32, "hidden": 16, "layers": 1,
                "optimizer": "adam", "lr": 1e-3, "feature_matching": True},
    "nrgan": {"iterations": 500, "batch_size": 64, "hidden": 16},
}


def mmd2(train, held_out, samples) -> float:
    return MMD(subset_size=None).compute(train, held_out, samples, seed=0)["value"][0]


def _xfail_crnngan(names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=NOT_BEATING_NULL)) if n == "crnngan" else n
            for n in names]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", _xfail_crnngan(sorted(SHORT)))
def test_short_training_beats_the_gaussian_null(name, seed):
    X, held_out = sine_windows(500, 24, 2, seed), sine_windows(300, 24, 2, seed + 1000)
    null = mmd2(X, held_out, generators.get("gaussian")().fit(X, seed=seed).sample(300, seed=seed))
    trained = mmd2(X, held_out, generators.get(name)(**SHORT[name]).fit(X, seed=seed).sample(300, seed=seed))
    assert trained < 0.5 * null, f"{name}: MMD² {trained:.4f}, gaussian null {null:.4f}"


QUICK = ["gan", "nrgan", "crnngan", "timevae", "diffusion_ts",
         pytest.param("timegan", marks=pytest.mark.xfail(strict=True, reason=NOT_BEATING_NULL))]


@pytest.mark.slow
@pytest.mark.parametrize("name", QUICK)
def test_quick_preset_beats_the_gaussian_null(name):
    """The shipped ``quick`` preset on the quick Sines split (seed 0): MMD² to the held-out windows below the
    gaussian null's. The 3-seed comparison on every metric and dataset is the leaderboard (results/summary.md)."""
    from tsbench.data import resolve_dataset

    split = resolve_dataset("sines", preset="quick").load(0, "tsbench")

    def score(model):
        samples = model.fit(split.train, seed=0).sample(1000, seed=1)
        values = MMD(subset_size=1000, repeats=3).compute(split.train, split.test, samples, seed=0)["value"]
        return sum(values) / len(values)

    cls = generators.get(name)
    null, trained = score(generators.get("gaussian")()), score(cls(**cls.presets["quick"]))
    assert trained < null, f"{name} MMD² {trained:.4f}, gaussian null {null:.4f}"
