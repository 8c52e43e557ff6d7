"""Embeddings: TimeGAN visualisation protocol, artefacts, and PCA arithmetic against an SVD reference."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsbench.errors import InputError
from tsbench.metrics.embeddings import TSNE_SETTINGS, Embeddings
from tsbench.seeding import derive_seed


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    t = np.arange(12)[None, :, None]
    real = ((np.sin(0.5 * t + rng.uniform(0, 6, (80, 1, 3))) + 1) / 2).astype(np.float32)
    fake = rng.random((50, 12, 3), dtype=np.float32)
    return real, fake


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    real, fake = data
    out = tmp_path_factory.mktemp("cell")
    metric = Embeddings(protocol="timegan2019", n_samples=60, max_iter=300)
    return metric.compute(real[::-1], real, fake, seed=3, artefact_dir=out), out


def test_artefacts(run):
    result, out = run
    assert {p.name for p in out.iterdir()} == {"embeddings.png", "embeddings_pca.csv", "embeddings_tsne.csv"}
    for name in ("embeddings_pca.csv", "embeddings_tsne.csv"):
        frame = pd.read_csv(out / name)
        assert list(frame.columns) == ["source", "x", "y"]
        assert (frame.source == "real").sum() == 60 and (frame.source == "synthetic").sum() == 50
        assert np.isfinite(frame[["x", "y"]].to_numpy()).all()
    from matplotlib.image import imread

    image = imread(out / "embeddings.png")
    assert image.shape[0] > 400 and image.shape[1] > 1000  # two readable panels
    assert set(result) == {"pca_explained_variance", "tsne_kl_divergence"}
    assert 0 < result["pca_explained_variance"][0] <= 1 and result["tsne_kl_divergence"][0] > 0


def test_pca_matches_svd_reference(data, run):
    real, fake = data
    _, out = run
    # independent route: draw the same windows, average over features, PCA by SVD of the centred real vectors
    pick = np.random.default_rng(derive_seed(3, "embeddings", "real")).permutation(80)[:60]
    r = real[pick].astype(np.float64).mean(axis=2)
    f = fake[np.random.default_rng(derive_seed(3, "embeddings", "synthetic")).permutation(50)].astype(np.float64)
    f = f.mean(axis=2)
    mu = r.mean(axis=0)
    _, _, vt = np.linalg.svd(r - mu, full_matrices=False)
    ref = np.concatenate([(r - mu) @ vt[:2].T, (f - mu) @ vt[:2].T])
    got = pd.read_csv(out / "embeddings_pca.csv")[["x", "y"]].to_numpy()
    signs = np.sign(np.sum(got * ref, axis=0))  # components are defined up to sign
    np.testing.assert_allclose(got, ref * signs, rtol=1e-4, atol=1e-5)


def test_deterministic_and_writes_nothing_without_a_folder(data, run, tmp_path):
    real, fake = data
    again = Embeddings(protocol="timegan2019", n_samples=60, max_iter=300)
    assert again.compute(real[::-1], real, fake, seed=3) == run[0]
    assert not list(tmp_path.iterdir())


def test_protocol_settings():
    from sklearn.manifold import TSNE

    assert Embeddings(protocol="timegan2019").tsne_settings() == {"perplexity": 40.0, "max_iter": 300,
                                                                  "learning_rate": 200.0, "init": "random"}
    defaults = TSNE().get_params()  # tsbench follows the installed scikit-learn's defaults
    assert {k: defaults[k] for k in TSNE_SETTINGS["tsbench"]} == TSNE_SETTINGS["tsbench"]
    assert Embeddings(perplexity=5, max_iter=400).tsne_settings()["perplexity"] == 5.0
    with pytest.raises(InputError, match="max_iter"):
        Embeddings(max_iter=100).tsne_settings()
    with pytest.raises(InputError, match="protocol"):
        Embeddings(protocol="nope").tsne_settings()


def test_tiny_and_bad_inputs(data):
    real, fake = data
    small = Embeddings(n_samples=4, max_iter=250).compute(real, real, fake, seed=0)  # perplexity capped
    assert "tsne_kl_divergence" not in small  # only exaggeration iterations ran: no KL reported
    with pytest.raises(InputError, match="n_samples"):
        Embeddings(n_samples=1).compute(real, real, fake, seed=0)
    with pytest.raises(InputError, match="seq_len"):
        Embeddings().compute(real[:, :1], real[:, :1], fake[:, :1], seed=0)


def test_card_and_presets():
    assert Embeddings.card.problems() == [] and set(Embeddings.presets) == {"smoke", "quick", "paper"}
    assert Embeddings().higher_is_better is None
