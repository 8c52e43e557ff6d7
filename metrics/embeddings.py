"""PCA and t-SNE embeddings of real vs synthetic windows (the visualisation protocol of TimeGAN, Yoon et al. 2019).

Protocol: draw ``min(n_samples, N)`` seeded random windows of each set (``n_samples`` = 1000 as in the
reference code), average each window over the feature axis (a ``seq_len`` vector), then

* PCA with 2 components fit on the real vectors and applied to both;
* t-SNE with 2 components on the stacked real and synthetic vectors.

t-SNE settings per protocol:

* ``timegan2019`` — perplexity 40 and 300 iterations as in the reference code, with the scikit-learn
  defaults of that time: learning rate 200, random initialisation, early exaggeration 12.
* ``tsbench`` — current scikit-learn defaults: perplexity 30, 1000 iterations, ``learning_rate="auto"``,
  PCA initialisation (more stable layouts, Kobak & Berens 2019), early exaggeration 12.

Artefacts written into ``artefact_dir``: ``embeddings.png`` (two panels, real in red and synthetic in
blue), ``embeddings_pca.csv`` and ``embeddings_tsne.csv`` (columns ``source,x,y``; ``source`` is
``real`` or ``synthetic``) for re-plotting. The plot is an aid to the eye, not a score: the numeric
outputs only describe the embedding (the variance the PCA view shows, t-SNE's final KL divergence).
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.metric import Metric, MetricResult
from tsbench.protocols import get_protocol
from tsbench.params import STRICTLY_POSITIVE, Interval
from tsbench.seeding import derive_seed

#: t-SNE settings per protocol (``perplexity``, ``max_iter``, ``learning_rate``, ``init``)
TSNE_SETTINGS = {
    "timegan2019": {"perplexity": 40.0, "max_iter": 300, "learning_rate": 200.0, "init": "random"},
    "tsbench": {"perplexity": 30.0, "max_iter": 1000, "learning_rate": "auto", "init": "pca"},
}
#: scikit-learn's lower bound on t-SNE iterations
MIN_TSNE_ITER = 250


def feature_means(windows: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``min(n, N)`` random windows of ``(N, T, D)``, each averaged over features: ``(k, T)`` float64."""
    index = rng.permutation(len(windows))[:min(n, len(windows))]
    return windows[index].astype(np.float64).mean(axis=2)


def write_coordinates(path: Path, real: np.ndarray, synthetic: np.ndarray) -> None:
    """CSV with columns ``source,x,y``: real rows first, then synthetic rows."""
    import pandas as pd

    frame = pd.DataFrame({"source": ["real"] * len(real) + ["synthetic"] * len(synthetic),
                          "x": np.concatenate([real[:, 0], synthetic[:, 0]]),
                          "y": np.concatenate([real[:, 1], synthetic[:, 1]])})
    frame.to_csv(path, index=False, float_format="%.6g")


def plot_embeddings(path: Path, pca: tuple[np.ndarray, np.ndarray], tsne: tuple[np.ndarray, np.ndarray], *,
                    pca_title: str, tsne_title: str, caption: str) -> None:
    """Two scatter panels (PCA, t-SNE), real in red and synthetic in blue, saved as a PNG (Agg backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 5.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    for ax, (real, synthetic), title, axis in ((axes[0], pca, pca_title, "PC"), (axes[1], tsne, tsne_title, "t-SNE")):
        ax.scatter(real[:, 0], real[:, 1], s=12, c="tab:red", alpha=0.25, linewidths=0, label=f"Real (n={len(real)})")
        ax.scatter(synthetic[:, 0], synthetic[:, 1], s=12, c="tab:blue", alpha=0.25, linewidths=0,
                   label=f"Synthetic (n={len(synthetic)})")
        ax.set_title(title, fontsize=12)
        ax.set_xlabel(f"{axis} 1")
        ax.set_ylabel(f"{axis} 2")
        legend = ax.legend(loc="best", markerscale=1.6, frameon=True)
        for handle in legend.legend_handles:
            handle.set_alpha(1.0)
    fig.suptitle(caption, fontsize=10)
    fig.savefig(path, dpi=110)


class Embeddings(Metric):
    """PCA / t-SNE plots of real (``real_test``) vs synthetic windows, TimeGAN's visualisation protocol.

    Parameters
    ----------
    protocol : ``"tsbench"`` (current scikit-learn t-SNE defaults) or ``"timegan2019"`` (perplexity 40,
        300 iterations, learning rate 200, random init).
    repeats : accepted for a uniform interface and ignored: one embedding per cell.
    n_samples : windows drawn from each set (default 1000, as the reference).
    perplexity, max_iter : override the protocol's t-SNE settings (``max_iter`` ≥ 250, scikit-learn's
        minimum). The perplexity is capped at ``(n_real + n_synthetic − 1) / 3`` for tiny inputs.
        scikit-learn runs 250 early-exaggeration iterations first, so ``max_iter=300`` leaves 50 ordinary
        ones, as in the reference.

    Outputs (no direction): ``pca_explained_variance`` — share of the real vectors' variance shown by the
    PCA panel; ``tsne_kl_divergence`` — t-SNE's final KL divergence (how faithful the 2-D layout is;
    omitted when only exaggeration iterations ran).
    """

    name = "embeddings"
    version = "1"
    outputs: ClassVar[dict[str, bool | None]] = {"pca_explained_variance": None, "tsne_kl_divergence": None}
    parameter_constraints = {"n_samples": Interval(2, None), "perplexity": STRICTLY_POSITIVE,
                             "max_iter": Interval(MIN_TSNE_ITER, None)}
    presets: ClassVar[dict[str, dict]] = {"smoke": {"n_samples": 100, "max_iter": 300},
                                          "quick": {"n_samples": 250, "max_iter": 500}, "paper": {}}
    card = Card(
        title="PCA and t-SNE embeddings (TimeGAN visualisation)",
        authors="Yoon, Jarrett, van der Schaar", year=2019, venue="NeurIPS", citation_key="yoon2019timegan",
        url="https://github.com/jsyoon0823/TimeGAN",
        faithful=("min(1000, N) random windows per set, each averaged over features",
                  "PCA (2 components) fit on real and applied to both; t-SNE on the stacked vectors",
                  "timegan2019: t-SNE perplexity 40, 300 iterations, learning rate 200, random init",
                  "real in red, synthetic in blue"),
        adapted=("seeded draws; synthetic windows drawn with their own permutation (the reference reuses the real "
                 "indices, which needs as many synthetic windows; samples are exchangeable)",
                 "tsbench: current scikit-learn t-SNE defaults (perplexity 30, 1000 iterations, automatic "
                 "learning rate, PCA initialisation)",
                 "real windows are the held-out ones under the tsbench protocol",
                 "2-D coordinates saved as CSV; the smoke preset uses 100 windows and 300 iterations, quick 250 "
                 "windows and 500 iterations"))

    def __init__(self, *, protocol: str = "tsbench", repeats: int | None = None, n_samples: int = 1000,
                 perplexity: float | None = None, max_iter: int | None = None):
        self.protocol = protocol
        self.repeats = repeats
        self.n_samples = n_samples
        self.perplexity = perplexity
        self.max_iter = max_iter

    def tsne_settings(self) -> dict:
        """The t-SNE settings used: the protocol's, overridden by ``perplexity`` / ``max_iter``."""
        settings = dict(TSNE_SETTINGS[get_protocol(self.protocol).name])
        if self.perplexity is not None:
            settings["perplexity"] = float(self.perplexity)
        if self.max_iter is not None:
            if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) \
                    or self.max_iter < MIN_TSNE_ITER:
                raise InputError("embeddings parameter max_iter", expected=f"an integer ≥ {MIN_TSNE_ITER}",
                                 got=repr(self.max_iter), fix=f"pass max_iter={MIN_TSNE_ITER} or more")
            settings["max_iter"] = int(self.max_iter)
        return settings

    def _compute(self, real_train, real_test, synthetic, *, seed: int, artefact_dir: Path | None) -> MetricResult:
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE

        settings = self.tsne_settings()
        n = self.n_samples
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise InputError("embeddings parameter n_samples", expected="an integer ≥ 2", got=repr(n),
                             fix="pass n_samples=1000 (the reference) or another integer ≥ 2")
        if real_test.shape[1] < 2 or min(len(real_test), len(synthetic)) < 2:
            raise InputError("embeddings inputs", expected="≥ 2 windows per set and seq_len ≥ 2",
                             got=f"{len(real_test)} real and {len(synthetic)} synthetic windows of seq_len "
                                 f"{real_test.shape[1]}", fix="pass more (or longer) windows")
        real = feature_means(real_test, n, np.random.default_rng(derive_seed(seed, self.name, "real")))
        fake = feature_means(synthetic, n, np.random.default_rng(derive_seed(seed, self.name, "synthetic")))

        pca = PCA(n_components=2).fit(real)
        pca_real, pca_fake = pca.transform(real), pca.transform(fake)

        stacked = np.concatenate([real, fake])
        perplexity = min(settings["perplexity"], (len(stacked) - 1) / 3)
        tsne = TSNE(n_components=2, perplexity=perplexity, max_iter=settings["max_iter"],
                    learning_rate=settings["learning_rate"], init=settings["init"],
                    random_state=derive_seed(seed, self.name, "tsne"))
        coords = tsne.fit_transform(stacked)
        tsne_real, tsne_fake = coords[:len(real)], coords[len(real):]

        if artefact_dir is not None:
            write_coordinates(artefact_dir / "embeddings_pca.csv", pca_real, pca_fake)
            write_coordinates(artefact_dir / "embeddings_tsne.csv", tsne_real, tsne_fake)
            shown = pca.explained_variance_ratio_
            plot_embeddings(
                artefact_dir / "embeddings.png", (pca_real, pca_fake), (tsne_real, tsne_fake),
                pca_title=f"PCA (fit on real; {100 * shown.sum():.0f} % of variance shown)",
                tsne_title=f"t-SNE (perplexity {perplexity:g}, {settings['max_iter']} iterations)",
                caption=f"{self.protocol} protocol — each window averaged over its {real_test.shape[2]} feature(s) "
                        f"(seq_len {real_test.shape[1]}); seed {seed}")
        out = {"pca_explained_variance": [float(pca.explained_variance_ratio_.sum())]}
        if np.isfinite(tsne.kl_divergence_) and tsne.kl_divergence_ < np.finfo(np.float32).max:
            out["tsne_kl_divergence"] = [float(tsne.kl_divergence_)]  # not computed when only exaggeration ran
        return out
