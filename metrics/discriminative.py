"""Discriminative score (Yoon, Jarrett & van der Schaar, "Time-series Generative Adversarial Networks",
NeurIPS 2019; reference code ``metrics/discriminative_metrics.py``).

A post-hoc GRU classifier learns to tell real from synthetic windows; the score is ``|accuracy − 0.5|`` on
held-out windows (0 = indistinguishable, 0.5 = perfectly separable). All repeats are trained at once as a
batched ensemble (:mod:`tsbench.nn.ensemble`), each with its own initialisation, mini-batches and split.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> real, fake = rng.random((64, 8, 2), dtype=np.float32), rng.random((64, 8, 2), dtype=np.float32)
>>> out = DiscriminativeScore(protocol="timegan2019", repeats=2, iterations=5).compute(real, real, fake, seed=0)
>>> len(out["value"])
2
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tsbench.card import Card
from tsbench.nn.ensemble import BatchSampler, EnsembleGRU
from tsbench.protocols import get_protocol

from ._posthoc import PosthocScore, computing_on, evaluate, gather, repeat_rngs, repeat_seeds, to_device, train

TRAIN_FRACTION = 0.8


def discriminator_hidden(n_features: int, protocol: str) -> int:
    """``timegan2019``: ``int(dim/2)``, but at least 1 (the reference code would build a 0-unit GRU for
    dim 1). ``tsbench``: ``max(16, dim)`` so that low-dimensional data get a classifier with capacity."""
    return max(1, n_features // 2) if protocol == "timegan2019" else max(16, n_features)


def split_indices(n: int, rng: np.random.Generator, fraction: float = TRAIN_FRACTION):
    """The reference ``train_test_divide``: a random permutation, the first ``int(n·0.8)`` rows train."""
    perm = rng.permutation(n)
    cut = int(n * fraction)
    return perm[:cut], perm[cut:]


class DiscriminativeScore(PosthocScore):
    """``|accuracy − 0.5|`` of a post-hoc GRU classifier, real vs synthetic; lower is better.

    Parameters
    ----------
    protocol : ``"tsbench"`` (default) or ``"timegan2019"`` (see the card for the differences).
    repeats : int or None — independent classifiers (None: the protocol's default, 10 for timegan2019).
    iterations : int or None — Adam steps per classifier (None: 2000, as the reference code).
    hidden : int or None — GRU units (None: :func:`discriminator_hidden`).
    batch_size : int — real and synthetic windows per step each (128).
    threads : int or None — torch intra-op threads while computing (1: one core per worker,
        see :func:`._posthoc.torch_threads`; None: leave the process setting).
    cell : ``"tf1"`` (TensorFlow 1 ``GRUCell``, as the reference) or ``"torch"`` (``torch.nn.GRU`` math).
    device : str — where the classifiers train (runtime only: not part of the identity or the seed);
        ``"auto"`` (default): the cell's device, CUDA when visible. Same values on every device to float
        tolerance (initial weights, splits and batches are drawn on the CPU).
    """

    name = "discriminative"
    version = "1"
    outputs = {"value": False}
    #: quick: 500 iterations and 3 repeats (not the protocol's budget: the paper preset and iterations=None /
    #: repeats=None follow it); the leaderboard's spread comes from the training seeds
    presets = {"smoke": {"iterations": 20, "repeats": 2}, "quick": {"iterations": 500, "repeats": 3}, "paper": {}}
    card = Card(
        title="Discriminative score", authors="Yoon, Jarrett, van der Schaar", year=2019, venue="NeurIPS",
        citation_key="yoon2019timegan", url="https://github.com/jsyoon0823/TimeGAN",
        faithful=(
            "timegan2019: 1-layer GRU with int(dim/2) units, TF1 GRUCell math and initialisation (Glorot-uniform "
            "kernels, gate bias 1), linear logit on the last hidden state (Glorot weights, zero bias)",
            "timegan2019: loss = mean BCE(real) + mean BCE(synthetic), Adam lr 1e-3 (TF defaults), 2000 "
            "iterations, each 128 real + 128 synthetic windows drawn without replacement",
            "timegan2019: independent 80/20 splits of real and synthetic windows per repeat; score "
            "|accuracy − 0.5| at threshold 0.5 on the pooled test sets; 10 repeats",
        ),
        adapted=(
            "dim 1: 1 unit instead of int(1/2) = 0 (the reference cannot run)",
            "repeats are trained as one batched ensemble (own init, batches, split per repeat; verified against "
            "single runs), not one TF graph after another",
            "Adam's ε is added to the bias-corrected √v (PyTorch) rather than the uncorrected one (TF1); "
            "negligible at ε = 1e-8",
            "tsbench: the classifier trains on real_train vs 80 % of the synthetic windows and is tested on the "
            "held-out real_test vs the other 20 %, so it never scores windows the generator was fit to",
            "tsbench: balanced accuracy (mean of per-class accuracies), since the two test sets differ in size",
            "tsbench: max(16, dim) GRU units instead of int(dim/2): with 2 units (Sines) the classifier is too "
            "weak to see gross differences (measured case: docs/protocols.md, "
            "results/measurements/protocol_cases.json)",
        ),
    )

    def _compute(self, real_train, real_test, synthetic, *, seed, artefact_dir: Path | None):
        protocol = get_protocol(self.protocol).name
        with computing_on(self) as device:
            scores = discriminative_scores(
                real_train, real_test, synthetic, seed=seed, repeats=self.n_repeats(), protocol=protocol,
                iterations=int(self.iterations or 2000), batch_size=int(self.batch_size),
                hidden=int(self.hidden or discriminator_hidden(real_train.shape[2], protocol)), cell=self.cell,
                device=device)
        return {"value": scores}


def discriminative_scores(real_train, real_test, synthetic, *, seed, repeats, protocol, iterations, batch_size,
                          hidden, cell="tf1", device="cpu") -> np.ndarray:
    """One score per repeat (see :class:`DiscriminativeScore`); arrays are float32 ``(n, T, D)``."""
    return DiscriminativeTraining(real_train, real_test, synthetic, seed=seed, repeats=repeats, protocol=protocol,
                                  batch_size=batch_size, hidden=hidden, cell=cell, device=device).run(iterations)


class DiscriminativeTraining:
    """Everything :func:`discriminative_scores` trains with, on ``device``: ``X`` (all windows), ``net``, the splits
    and samplers; :meth:`step_loss` / :meth:`draw_steps` are what :func:`._posthoc.train` runs."""

    def __init__(self, real_train, real_test, synthetic, *, seed, repeats, protocol, batch_size, hidden, cell,
                 device):
        self.device, self.protocol = torch.device(device), protocol
        split_rngs = repeat_rngs(seed, "ds-split", repeats)
        n_tr, n_syn = len(real_train), len(synthetic)
        if protocol == "timegan2019":  # real_train == real_test: split the real windows like the synthetic ones
            self.real_splits = [split_indices(n_tr, g) for g in split_rngs]
            X = np.concatenate([real_train, synthetic])
            syn_offset = n_tr
        else:
            self.real_splits = [(np.arange(n_tr), n_tr + np.arange(len(real_test)))] * repeats
            X = np.concatenate([real_train, real_test, synthetic])
            syn_offset = n_tr + len(real_test)
        self.syn_splits = [tuple(syn_offset + part for part in split_indices(n_syn, g)) for g in split_rngs]
        self.X = to_device(torch.from_numpy(X), self.device)
        self.net = EnsembleGRU.init(repeat_seeds(seed, "ds-init", repeats), X.shape[2], hidden, 1, cell=cell,
                                    device=self.device)
        self.real_batches = BatchSampler([s[0] for s in self.real_splits], batch_size,
                                         repeat_rngs(seed, "ds-real", repeats))
        self.syn_batches = BatchSampler([s[0] for s in self.syn_splits], batch_size,
                                        repeat_rngs(seed, "ds-syn", repeats))

    def draw_steps(self, n: int) -> torch.Tensor:
        """``(n, R, 2B)``: each step's real rows, then its synthetic rows."""
        return torch.cat([self.real_batches.draw_steps(n), self.syn_batches.draw_steps(n)], dim=2)

    def step_loss(self, net, rows):
        logits = net.head(net.hidden_states(gather(self.X, rows), sequence=False))[:, 0]
        b = self.real_batches.size
        loss_real = F.binary_cross_entropy_with_logits(logits[:, :b], torch.ones_like(logits[:, :b]),
                                                       reduction="none").mean(1)
        loss_syn = F.binary_cross_entropy_with_logits(logits[:, b:], torch.zeros_like(logits[:, b:]),
                                                      reduction="none").mean(1)
        return loss_real + loss_syn

    def run(self, iterations: int) -> np.ndarray:
        net = train(self.net, self.step_loss, self.draw_steps, iterations)

        def says_real(cols):  # (R, n) booleans: probability of "real" above 0.5
            return torch.sigmoid(net.head(net.hidden_states(gather(self.X, cols), sequence=False))[:, 0]) > 0.5

        real_hits = evaluate(says_real, torch.from_numpy(np.stack([s[1] for s in self.real_splits])), self.device)
        syn_hits = ~evaluate(says_real, torch.from_numpy(np.stack([s[1] for s in self.syn_splits])), self.device)
        return accuracy_score(real_hits.numpy(), syn_hits.numpy(), balanced=self.protocol != "timegan2019")


def accuracy_score(real_correct: np.ndarray, syn_correct: np.ndarray, *, balanced: bool) -> np.ndarray:
    """``|accuracy − 0.5|`` per repeat from ``(R, n_real)`` / ``(R, n_syn)`` correctness masks: pooled
    accuracy (reference) or balanced accuracy (mean of the two per-class accuracies)."""
    if balanced:
        acc = 0.5 * (real_correct.mean(axis=1) + syn_correct.mean(axis=1))
    else:
        acc = (real_correct.sum(axis=1) + syn_correct.sum(axis=1)) / (real_correct.shape[1] + syn_correct.shape[1])
    return np.abs(acc - 0.5)
