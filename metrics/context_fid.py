"""Context-FID (Jeha et al., ICLR 2022; the variant used by Diffusion-TS, Yuan & Qiao, ICLR 2024).

Windows are embedded by a TS2Vec encoder (:mod:`tsbench.metrics._ts2vec`) fit on the real *training*
windows (output max-pooled over time), then the Fréchet distance between Gaussians fit to the real
(held-out) and synthetic embeddings is

    FID = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}).

The trace of the matrix square root is computed as ``Σ √λ_i`` over the eigenvalues of the symmetric
positive semi-definite matrix ``Σ_r^{1/2} Σ_g Σ_r^{1/2}`` (similar to ``Σ_r Σ_g``), clipping tiny negative
round-off — no complex arithmetic, stable for singular covariances.

>>> import numpy as np
>>> a = np.random.default_rng(0).normal(size=(500, 3))
>>> round(frechet_distance(a, a), 6)
0.0
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.metric import Metric, float32_exact, resolve_device
from tsbench.params import POSITIVE, STRICTLY_POSITIVE, Interval
from tsbench.protocols import get_protocol
from tsbench.seeding import derive_seed

__all__ = ["ContextFID", "frechet_distance", "gaussian_frechet", "trace_sqrt_product"]


def _sym_sqrt(S: np.ndarray) -> np.ndarray:
    """Square root of a symmetric PSD matrix (negative round-off eigenvalues clipped to 0)."""
    values, vectors = np.linalg.eigh((S + S.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(S1: np.ndarray, S2: np.ndarray) -> float:
    """``Tr((S1 S2)^{1/2})`` for symmetric PSD ``S1``, ``S2`` via the eigenvalues of ``S1^{1/2} S2 S1^{1/2}``."""
    root = _sym_sqrt(S1)
    middle = root @ S2 @ root
    values = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())


def gaussian_frechet(mu1, S1, mu2, S2) -> float:
    """Fréchet (2-Wasserstein²) distance between N(mu1, S1) and N(mu2, S2); clipped at 0."""
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    S1, S2 = np.atleast_2d(np.asarray(S1, dtype=np.float64)), np.atleast_2d(np.asarray(S2, dtype=np.float64))
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(S1) + np.trace(S2) - 2 * trace_sqrt_product(S1, S2))
    return max(value, 0.0)


def frechet_distance(A: np.ndarray, B: np.ndarray) -> float:
    """FID between two sets of embeddings ``(n, d)`` and ``(m, d)`` (sample covariances, ``ddof=1``)."""
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    if len(A) < 2 or len(B) < 2:
        raise InputError("Context-FID", expected="at least 2 real and 2 synthetic windows",
                         got=f"{len(A)} real and {len(B)} synthetic", fix="pass more windows")
    return gaussian_frechet(A.mean(0), np.cov(A, rowvar=False), B.mean(0), np.cov(B, rowvar=False))


class ContextFID(Metric):
    """Context-FID: FID of TS2Vec embeddings; lower is better.

    Parameters
    ----------
    hidden_dim, output_dim, depth, lr, batch_size, iterations
        TS2Vec settings (paper preset = TS2Vec defaults; ``iterations=None`` → 200, or 600 when the
        training windows hold more than 100 000 values, as in the reference code).
    max_train_windows : int or None
        Fit the encoder on at most this many (randomly chosen) training windows.
    max_windows : int or None
        Score on at most this many real and synthetic windows (random subsets drawn per repeat).
    encoder_seed : int
        Base seed of the encoders; repeat ``r`` uses the encoder fit with ``derive_seed(encoder_seed, r)``,
        independent of the call's ``seed``, so every generator of a dataset is scored by the same (cached)
        encoders.
    protocol, repeats
        As for every metric; one encoder is fit per repeat (Diffusion-TS refits TS2Vec in each of its runs).
    device : str
        Where the encoder trains and embeds (runtime only: not part of the identity, the seed or the encoder
        cache key); ``"auto"`` (default): the cell's device, CUDA when visible. Every random draw is made on the
        CPU, so the values agree across devices to float tolerance.
    """

    name = "context_fid"
    version = "2"
    outputs = {"value": False}
    card = Card(
        title="Context-FID", authors="Jeha, Bohlke-Schneider, Mercado, Kapoor, Nirwan, Flunkert, Gasthaus, "
        "Januschowski", year=2022, venue="ICLR", citation_key="jeha2022psa",
        url="https://openreview.net/forum?id=ReFYzCnEmH",
        faithful=("TS2Vec encoder (Yue et al. 2022): input projection, binomial timestamp masking, dilated "
                  "residual convolutions, hierarchical instance + temporal contrastive loss on overlapping random "
                  "crops, AdamW, SWA-averaged weights; full-series representation max-pooled over time",
                  "paper preset: hidden 64, depth 10, output 320, lr 1e-3, batch 8, 200/600 iterations "
                  "(Diffusion-TS's Context-FID call of the TS2Vec reference code)",
                  "FID = ‖μ_r−μ_g‖² + Tr(Σ_r + Σ_g − 2(Σ_rΣ_g)^{1/2}) on the embeddings"),
        adapted=("the encoder is fit on the real reference (training) windows, the same for every row of a table "
                 "(calibration rows included), and scored against held-out windows (tsbench protocol); under "
                 "timegan2019 both are all windows, as in Diffusion-TS",
                 "encoders are cached per (data, seed, settings) and shared by all generators; Diffusion-TS refits "
                 "one per evaluation",
                 "trace of the matrix square root via a symmetric eigen-decomposition instead of scipy sqrtm "
                 "(no complex parts, same value)",
                 "smoke/quick presets use a smaller encoder and fewer iterations (recorded in the display name)"),
    )
    parameter_constraints = {"hidden_dim": POSITIVE, "output_dim": POSITIVE, "depth": POSITIVE,
                             "lr": STRICTLY_POSITIVE, "batch_size": POSITIVE, "iterations": POSITIVE,
                             "max_train_windows": Interval(2, None), "max_windows": Interval(2, None)}
    presets = {
        "smoke": {"hidden_dim": 8, "output_dim": 16, "depth": 2, "iterations": 10, "max_windows": 500},
        "quick": {"hidden_dim": 32, "output_dim": 128, "depth": 6, "iterations": 150, "max_train_windows": 4000,
                  "max_windows": 2000, "repeats": 3},
        "paper": {},
    }

    def __init__(self, *, hidden_dim=64, output_dim=320, depth=10, lr=1e-3, batch_size=8, iterations=None,
                 max_train_windows=None, max_windows=None, encoder_seed=0, protocol="tsbench", repeats=None,
                 device: str = "auto"):
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        self.depth = depth
        self.lr = lr
        self.batch_size = batch_size
        self.iterations = iterations
        self.max_train_windows = max_train_windows
        self.max_windows = max_windows
        self.encoder_seed = encoder_seed
        self.protocol = protocol
        self.repeats = repeats
        self.device = device

    def settings(self):
        from ._ts2vec import EncoderSettings

        return EncoderSettings(hidden_dim=int(self.hidden_dim), output_dim=int(self.output_dim),
                               depth=int(self.depth), lr=float(self.lr), batch_size=int(self.batch_size),
                               iterations=None if self.iterations is None else int(self.iterations),
                               max_train_windows=self.max_train_windows)

    def describe_protocol(self, real_train: np.ndarray) -> dict:
        """What the encoder was fit on and what is scored (for cards and records)."""
        settings = self.settings()
        return {"encoder": f"TS2Vec hidden={settings.hidden_dim} depth={settings.depth} "
                           f"output={settings.output_dim}",
                "iterations": settings.n_iterations(real_train), "fit_on": "real reference (training) windows",
                "scored_against": "real_test windows", "protocol": get_protocol(self.protocol).tag}

    def _compute(self, real_train, real_test, synthetic, *, seed, artefact_dir: Path | None):
        from ._ts2vec import encode, fit_encoder

        settings = self.settings()
        device = resolve_device(self.device)
        values = []
        with float32_exact(device):
            for r in range(self.n_repeats()):
                encoder = fit_encoder(self.reference_, settings, derive_seed(self.encoder_seed, r), device=device)
                rng = np.random.default_rng(derive_seed(seed, "context_fid", r))
                real = _subset(real_test, self.max_windows, rng)
                fake = _subset(synthetic, self.max_windows, rng)
                values.append(frechet_distance(encode(encoder, real), encode(encoder, fake)))
        return {"value": values}


def _subset(X: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or len(X) <= limit:
        return X
    return X[np.sort(rng.choice(len(X), size=int(limit), replace=False))]
