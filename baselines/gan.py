"""Vanilla GAN on flattened windows (Goodfellow et al., NeurIPS 2014).

Architecture of the classic fully connected PyTorch GAN: discriminator ``Linear(in→128) → LeakyReLU →
Linear(128→1)``, generator ``z(64) → Linear(→256) → LeakyReLU → Linear(→out)``; Adam (lr 3e-4),
binary cross-entropy with the non-saturating generator loss. A window ``(seq_len, n_features)`` is
flattened to a vector of ``seq_len·n_features``; time structure is not modelled explicitly.

Goodfellow, I., Pouget-Abadie, J., Mirza, M., Xu, B., Warde-Farley, D., Ozair, S., Courville, A.,
Bengio, Y. "Generative Adversarial Nets." NeurIPS 2014. https://arxiv.org/abs/1406.2661

>>> import numpy as np
>>> X = np.random.default_rng(0).random((64, 24, 2), dtype=np.float32)
>>> GAN(iterations=5).fit(X, seed=0).sample(3, seed=1).shape
(3, 24, 2)
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.nn.stacked import StackedModules
from tsbench.params import POSITIVE, STRICTLY_POSITIVE
from tsbench.validation import check_windows

from ._torch import TorchGenerator, random_batch


class GAN(TorchGenerator):
    """Fully connected GAN on flattened windows.

    Parameters
    ----------
    iterations : int
        Training steps (one discriminator and one generator update each).
    batch_size : int
        Windows per step.
    lr : float
        Adam learning rate of both networks (3e-4 in the reference).
    lr_decay : bool
        Decay both learning rates linearly to 0 over the iterations (not in the reference; damps the
        end-of-training oscillation of short runs).
    z_dim, hidden_g, hidden_d : int
        Noise size (64), generator hidden width (256), discriminator hidden width (128).
    output : {"tanh", "sigmoid"}
        Generator output activation: ``"tanh"`` (the reference; data rescaled to [-1, 1] inside and
        back out) or ``"sigmoid"`` (data used in [0, 1] directly).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    amp : bool
        bfloat16 autocast on CUDA (ignored on CPU).
    """

    name = "gan"
    version = "1"
    card = Card(
        title="Generative Adversarial Nets",
        authors="Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville, Bengio",
        year=2014, venue="NeurIPS", citation_key="goodfellow2014gan", url="https://arxiv.org/abs/1406.2661",
        faithful=("minimax GAN with the non-saturating generator loss (binary cross-entropy)",
                  "the classic PyTorch MNIST architecture: D Linear(in→128)→LeakyReLU(0.1)→Linear(128→1); "
                  "G z(64)→Linear(256)→LeakyReLU(0.1)→Linear(out); z ~ N(0, I)",
                  "Adam, lr 3e-4, default betas; one D step then one G step per iteration"),
        adapted=("windows are flattened to seq_len·n_features vectors (the model has no notion of time)",
                 "option output='sigmoid' models the [0, 1] data directly (not the default: it learned "
                 "Sines markedly slower in our runs)",
                 "the discriminator outputs a logit and the loss is BCE-with-logits (numerically stable, "
                 "identical objective to sigmoid + BCE)",
                 "batch 32 as the tutorial; the number of iterations is a preset (the tutorial trains MNIST for 50 "
                 "epochs)",
                 "quick preset: 25 000 iterations with both learning rates decayed linearly to 0 (lr_decay, not in "
                 "the tutorial) — a CPU budget. At 15 000 the samples still carried step-to-step jitter (the "
                 "flattened generator has no smoothness prior) that the discriminative score's classifier picked up "
                 "on some seeds; the jitter keeps shrinking with more steps, so the budget was raised rather than "
                 "the model changed (probes: results/tuning/gan-probes.md). Whether it beats the gaussian null at "
                 "this budget, per dataset and metric: results/summary.md (generated from the records)"),
    )
    parameter_constraints = {"iterations": POSITIVE, "batch_size": POSITIVE, "lr": STRICTLY_POSITIVE,
                             "z_dim": POSITIVE, "hidden_g": POSITIVE, "hidden_d": POSITIVE,
                             "output": ("tanh", "sigmoid")}
    presets = {
        "smoke": {"iterations": 60, "batch_size": 32},
        "quick": {"iterations": 25000, "batch_size": 32, "lr_decay": True},
        "paper": {"iterations": 50000, "batch_size": 32},
    }

    def __init__(self, *, iterations: int = 20000, batch_size: int = 32, lr: float = 3e-4, lr_decay: bool = False,
                 z_dim: int = 64, hidden_g: int = 256, hidden_d: int = 128, output: str = "tanh", device: str = "cpu",
                 amp: bool = False):
        self.iterations = iterations
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.z_dim = z_dim
        self.hidden_g = hidden_g
        self.hidden_d = hidden_d
        self.output = output
        self.device = device
        self.amp = amp

    def _build(self, seq_len, n_features):
        if self.output not in ("tanh", "sigmoid"):
            raise InputError("GAN output", expected="'tanh' or 'sigmoid'", got=repr(self.output),
                             fix="pass output='tanh' (default) or output='sigmoid'")
        out = seq_len * n_features
        return {
            "generator": nn.Sequential(nn.Linear(self.z_dim, self.hidden_g), nn.LeakyReLU(0.1),
                                       nn.Linear(self.hidden_g, out),
                                       nn.Tanh() if self.output == "tanh" else nn.Sigmoid()),
            "discriminator": nn.Sequential(nn.Linear(out, self.hidden_d), nn.LeakyReLU(0.1),
                                           nn.Linear(self.hidden_d, 1)),
        }

    def _train(self, X, rng, callback):
        G, D = self.nets_["generator"], self.nets_["discriminator"]
        flat = X.reshape(X.shape[0], -1)
        if self.output == "tanh":
            flat = flat * 2 - 1
        opt_g, opt_d, schedules = self._optimizers(G.parameters(), D.parameters())
        total = int(self.iterations)
        stateful = {"opt_g": opt_g, "opt_d": opt_d, **{f"schedule_{i}": s for i, s in enumerate(schedules)}}
        for step in self.training_steps(total, rng, **stateful):
            loss_d, loss_g = self.train_step(flat, rng, opt_g, opt_d)
            for schedule in schedules:
                schedule.step()
            if step % self.log_every == 0 or step == total:
                losses = {"d_loss": float(loss_d), "g_loss": float(loss_g)}
                self.log(step, **losses)
                callback(step, total, losses)

    def _optimizers(self, g_params, d_params):
        """``(opt_g, opt_d, schedules)``: Adam for each network; with ``lr_decay``, both rates decayed linearly to 0
        over the iterations (else no schedules)."""
        opt_g, opt_d = torch.optim.Adam(g_params, lr=self.lr), torch.optim.Adam(d_params, lr=self.lr)
        total = int(self.iterations)
        schedules = [torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / max(total, 1))
                     for opt in (opt_g, opt_d)] if self.lr_decay else []
        return opt_g, opt_d, schedules

    def train_step(self, flat, rng, opt_g, opt_d):
        """One discriminator and one generator update on a random batch; returns the two losses (tensors)."""
        G, D = self.nets_["generator"], self.nets_["discriminator"]
        real = random_batch(flat, int(self.batch_size), rng)
        z = torch.randn(real.shape[0], self.z_dim, generator=rng, device=flat.device)
        with self.autocast():
            fake = G(z)
            logits_real, logits_fake = D(real).float(), D(fake.detach()).float()
            loss_d = (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
                      + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        with self.autocast():
            logits = D(fake).float()
            loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))  # non-saturating
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return loss_d.detach(), loss_g.detach()

    # several seeds as one batched model -----------------------------------------------------------------------
    def fit_seeds(self, X, seeds: Sequence[int], *, callbacks: Sequence | None = None) -> list["GAN"]:
        """One fitted copy of this GAN per seed, trained together as one batched model (issue 16, item 2).

        Copy ``m`` equals ``clone(self).fit(X, seed=seeds[m])`` to float tolerance: the same initial weights, the
        same batches and noise (each seed's own generator, drawn in the same order), the same Adam updates; only
        the matrix products are batched (:class:`tsbench.nn.stacked.StackedModules`), which changes float
        rounding — and a GAN's training amplifies rounding differences over many steps, so long fits agree in
        distribution, not value by value. ``callbacks[m](step, total, losses)`` receives copy ``m``'s progress.
        Not resumable from a mid-fit checkpoint (a batched fit starts over), and a non-finite loss in any copy
        fails them all. ``X``: windows (n, seq_len, n_features) in [0, 1], or one such array per seed (the
        runner's splits differ by seed index; the window shape must be the same); ``seeds``: distinct integers.
        """
        from sklearn.base import clone

        seeds = [int(s) for s in seeds]
        if not seeds or len(set(seeds)) != len(seeds):
            raise InputError("GAN.fit_seeds seeds", expected="one or more distinct integers", got=repr(seeds),
                             fix="pass e.g. seeds=[0, 1, 2]")
        per_seed = isinstance(X, (list, tuple))
        Xs = [check_windows(x, what=f"GAN.fit_seeds X[{m}]") for m, x in enumerate(X)] if per_seed else \
            [check_windows(X, what="GAN.fit_seeds X")] * len(seeds)
        if len(Xs) != len(seeds) or len({x.shape[1:] for x in Xs}) != 1:
            raise InputError("GAN.fit_seeds X", expected=f"one window array, or {len(seeds)} (one per seed) of one "
                             "window shape", got=f"{len(Xs)} arrays of shapes {sorted({x.shape for x in Xs})}",
                             fix="pass the same windows for every seed, or one array per seed")
        X = Xs[0]
        callbacks = list(callbacks) if callbacks is not None else [None] * len(seeds)
        if len(callbacks) != len(seeds):
            raise InputError("GAN.fit_seeds callbacks", expected=f"{len(seeds)} (one per seed)",
                             got=str(len(callbacks)), fix="pass one callback per seed, or none")
        models, rngs = [clone(self) for _ in seeds], []
        for model, seed in zip(models, seeds):  # what fit does before training, per seed
            model.seq_len_, model.n_features_in_, model.history_ = int(X.shape[1]), int(X.shape[2]), []
            rngs.append(model._start_fit(X.shape[1], X.shape[2], seed))
        device = models[0].device_
        flats = [torch.as_tensor(x, device=device).reshape(x.shape[0], -1) for x in Xs]
        if self.output == "tanh":
            flats = [flat * 2 - 1 for flat in flats]
        G = StackedModules([m.nets_["generator"] for m in models])
        D = StackedModules([m.nets_["discriminator"] for m in models])
        opt_g, opt_d, schedules = self._optimizers(G.parameters(), D.parameters())
        total = int(self.iterations)
        for step in range(1, total + 1):
            loss_d, loss_g = models[0]._stacked_step(flats, rngs, G, D, opt_g, opt_d)
            for schedule in schedules:
                schedule.step()
            if step % self.log_every == 0 or step == total:
                for model, callback, d, g in zip(models, callbacks, loss_d.tolist(), loss_g.tolist()):
                    model.log(step, d_loss=d, g_loss=g)
                    if callback is not None:
                        callback(step, total, {"d_loss": d, "g_loss": g})
        G.write_back([m.nets_["generator"] for m in models])
        D.write_back([m.nets_["discriminator"] for m in models])
        for model in models:
            model.nets_.eval()
            model.is_fitted_ = True
        return models

    def _stacked_step(self, flats, rngs, G: StackedModules, D: StackedModules, opt_g, opt_d):
        """:meth:`train_step` of every copy at once (copy ``m`` on ``flats[m]``); returns the per-copy losses
        ``(M,)``, ``(M,)``."""
        reals, noises = [], []
        for flat, rng in zip(flats, rngs):  # each copy's draws from its own generator, in train_step's order
            reals.append(random_batch(flat, int(self.batch_size), rng))
            noises.append(torch.randn(reals[-1].shape[0], self.z_dim, generator=rng, device=flat.device))
        real, z = torch.stack(reals), torch.stack(noises)
        with self.autocast():
            fake = G(z)
            logits_real, logits_fake = D(real).float(), D(fake.detach()).float()
            loss_d = (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real), reduction="none")
                      .mean((1, 2))
                      + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake),
                                                           reduction="none").mean((1, 2)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.sum().backward()  # the copies' losses summed: each copy's gradient is its own loss's
        opt_d.step()
        with self.autocast():
            logits = D(fake).float()
            loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="none").mean((1, 2))
        opt_g.zero_grad(set_to_none=True)
        loss_g.sum().backward()
        opt_g.step()
        return loss_d.detach(), loss_g.detach()

    def _generate(self, n, rng):
        z = torch.randn(n, self.z_dim, generator=rng, device=self.device_)
        with self.autocast():
            out = self.nets_["generator"](z)
        out = out.float()
        if self.output == "tanh":
            out = (out + 1) / 2
        return out.reshape(n, self.seq_len_, self.n_features_in_)
