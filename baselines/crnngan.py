"""C-RNN-GAN: a recurrent GAN on continuous sequences (Mogren, 2016).

Generator: a unidirectional LSTM stack. The input of step ``t`` is uniform noise ``z_t ~ U[0, 1]^k``
concatenated with the generator's own output at step ``t − 1`` (a random vector at ``t = 0``), passed
through ``Linear → ReLU`` before the LSTM (as in the reference code); a linear layer maps each LSTM
output to the features. Discriminator: a bidirectional LSTM stack (separate forward and backward stacks,
as the reference code's bidirectional RNN) with one shared ``Linear → sigmoid`` per time step; the
per-step probabilities are averaged over time. Training follows the paper: standard GAN losses (or
feature matching on the discriminator's last LSTM layer for G), L2 weight regularisation, SGD with
gradient-norm clipping, maximum-likelihood pretraining of G with a growing sequence-length curriculum,
and the freezing rule "a network whose loss is below 70 % of the other's is not updated on that batch"
(D's loss is the sum of its real and fake cross-entropies, compared as it is).

Shapes: windows ``(n, seq_len, n_features)`` in [0, 1]; the generator output goes through a sigmoid.

Mogren, O. "C-RNN-GAN: Continuous recurrent neural networks with adversarial training."
Constructive Machine Learning Workshop (CML) at NIPS 2016. https://arxiv.org/abs/1611.09904

>>> import numpy as np
>>> X = np.random.default_rng(0).random((40, 12, 2), dtype=np.float32)
>>> CRNNGAN(**CRNNGAN.presets["smoke"]).fit(X, seed=0).sample(3, seed=1).shape
(3, 12, 2)
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.nn.optim import MaskedAdam
from tsbench.params import NON_NEGATIVE, POSITIVE, PROBABILITY_BELOW_ONE, STRICTLY_POSITIVE

from ._torch import TorchGenerator, random_batch


def _keep_mask(shape, p: float, rng: torch.Generator, device) -> torch.Tensor:
    """Inverted-dropout mask (values 0 or 1/(1−p)) drawn from ``rng``, never from torch's global RNG."""
    return (torch.rand(shape, generator=rng, device=device) >= p).float().div_(1.0 - p)


class _Generator(nn.Module):
    """Step-by-step LSTM generator; ``teacher`` replaces the fed-back output (pretraining)."""

    def __init__(self, n_features: int, noise_dim: int, hidden: int, layers: int, dense_init: str = "reference"):
        super().__init__()
        self.input = nn.Linear(noise_dim + n_features, hidden)
        self.cells = nn.ModuleList(nn.LSTMCell(hidden, hidden) for _ in range(layers))
        self.output = nn.Linear(hidden, n_features)
        # the reference code's initialisation: its ``linear`` layers draw weights from N(0, 1) with zero
        # biases (which makes the noise matter from the start), BasicLSTMCell adds 1 to the forget gate;
        # "torch" keeps PyTorch's default U(±1/√fan_in) for the two dense layers
        if dense_init == "reference":
            for layer in (self.input, self.output):
                nn.init.normal_(layer.weight, std=1.0)
                nn.init.zeros_(layer.bias)
        with torch.no_grad():
            for cell in self.cells:
                cell.bias_hh[hidden:2 * hidden] += 1.0

    def forward(self, z, first, *, dropout: float = 0.0, rng=None, teacher=None):
        """``z`` (B, T, k) noise, ``first`` (B, C) the random 'previous output' of step 0,
        ``teacher`` (B, T, C) real windows whose step t−1 is fed instead of the output → (B, T, C)."""
        batch, steps, _ = z.shape
        hidden = self.input.out_features
        state = [(z.new_zeros(batch, hidden), z.new_zeros(batch, hidden)) for _ in self.cells]
        masks = (_keep_mask((steps, len(self.cells), batch, hidden), dropout, rng, z.device)
                 if self.training and dropout > 0 else None)
        previous, outputs = first, []
        for t in range(steps):
            h = F.relu(self.input(torch.cat([z[:, t], previous], dim=1)))
            for i, cell in enumerate(self.cells):
                state[i] = cell(h, state[i])
                h = state[i][0] if masks is None else state[i][0] * masks[t, i]
            out = torch.sigmoid(self.output(h))
            outputs.append(out)
            previous = out if teacher is None else teacher[:, t]
        return torch.stack(outputs, dim=1)


class _Discriminator(nn.Module):
    """Forward and backward LSTM stacks; a shared per-step linear decision. Returns per-step logits
    (B, T) and the last layer's features (B, T, 2H)."""

    def __init__(self, n_features: int, hidden: int, layers: int):
        super().__init__()
        sizes = [n_features] + [hidden] * (layers - 1)
        self.forward_stack = nn.ModuleList(nn.LSTM(s, hidden, batch_first=True) for s in sizes)
        self.backward_stack = nn.ModuleList(nn.LSTM(s, hidden, batch_first=True) for s in sizes)
        self.decision = nn.Linear(2 * hidden, 1)

    def forward(self, x, *, dropout: float = 0.0, rng=None):
        drop = self.training and dropout > 0

        def run(stack, h):
            if drop:  # the reference applies dropout to the inputs and to every layer's output
                h = h * _keep_mask(h.shape, dropout, rng, h.device)
            for lstm in stack:
                h = lstm(h)[0]
                if drop:
                    h = h * _keep_mask(h.shape, dropout, rng, h.device)
            return h

        features = torch.cat([run(self.forward_stack, x), run(self.backward_stack, x.flip(1)).flip(1)], dim=2)
        return self.decision(features).squeeze(-1), features


def _log_mean_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """log(mean_t sigmoid(logits)) per sequence, computed stably: (B, T) → (B,)."""
    return torch.logsumexp(F.logsigmoid(logits), dim=1) - math.log(logits.shape[1])


class CRNNGAN(TorchGenerator):
    """C-RNN-GAN (Mogren 2016). See the module docstring.

    Parameters
    ----------
    iterations : int
        Adversarial training steps (each: one forward pass, then the D and G updates the freezing
        rule allows).
    pretrain_epochs : int
        Epochs of maximum-likelihood (teacher-forced next-step MSE) pretraining of G; the prefix
        length grows linearly from ``seq_len / pretrain_epochs`` to ``seq_len`` (the paper: 6).
    batch_size, lr : int, float
        SGD batch size and learning rate (paper: 20 and 0.1).
    hidden, layers : int
        LSTM width and depth of both networks (paper: 350 and 2).
    noise_dim : int or None
        Size of the per-step noise (``None``: the number of features, as the reference code).
    dropout : float
        Dropout on LSTM outputs during training (reference code: keep probability 0.5).
    feature_matching : bool
        Train G to match the mean of D's last-layer features on real data instead of fooling D.
    l2 : float
        Coefficient of the L2 penalty ``l2 · Σ w²`` added to each network's loss.
    grad_clip : float
        Global gradient-norm clipping per network (paper: 5).
    optimizer : {"sgd", "adam"}
        Plain SGD (the paper) or Adam (β = 0.5, 0.999; an adaptation for short CPU budgets).
    d_lr_factor : float
        D's learning rate is ``lr · d_lr_factor`` (the reference code's option; 1 = the paper's single rate).
    freeze_ratio : float
        A network is not updated on a batch when its loss is below ``freeze_ratio`` × the other's (0.7).
    dense_init : {"reference", "torch"}
        G's input and output dense layers: N(0, 1) weights and zero biases (the reference code) or
        PyTorch's default initialisation.
    device, amp : str, bool
        ``"cpu"``/``"cuda"``/``"auto"``; bfloat16 autocast on CUDA.
    """

    name = "crnngan"
    version = "1"
    card = Card(
        title="C-RNN-GAN: Continuous recurrent neural networks with adversarial training",
        authors="Olof Mogren", year=2016, venue="Constructive Machine Learning Workshop at NIPS",
        citation_key="mogren2016crnngan", url="https://arxiv.org/abs/1611.09904",
        faithful=(
            "G: LSTM stack; step input = uniform noise concatenated with the previous step's output (random "
            "at step 0), Linear→ReLU before the LSTM and a linear output layer (reference code)",
            "D: bidirectional LSTM (separate forward/backward stacks) with a shared per-step dense + "
            "sigmoid, averaged over time",
            "standard GAN losses; optional feature matching on D's last layer; L2 weight regularisation",
            "initialisation of the reference code: N(0, 1) weights and zero biases in G's input and output "
            "dense layers (this is what makes the noise matter from the first step), forget-gate bias +1",
            "SGD with global gradient-norm clipping; paper preset: lr 0.1, batch 20, clip 5, 2 × 350 units, "
            "dropout 0.5 (keep_prob of the reference code), 6 epochs of maximum-likelihood pretraining",
            "pretraining with a sequence-length curriculum (growing prefixes)",
            "freezing as the paper states: D is not updated on a batch when its loss < 70 % of G's, G not "
            "when its loss < 70 % of D's, with D's loss as it is (real + fake cross-entropy) — at chance it is "
            "twice G's, so G waits until D has learned something (the released code's rule, gated on losses < 2 "
            "and mis-indented so that G is paused too often, is not reproduced)",
        ),
        adapted=(
            "the generator output goes through a sigmoid to match the [0, 1] data range (the paper models "
            "unbounded MIDI features with a linear output)",
            "maximum likelihood = teacher-forced next-step MSE (a Gaussian likelihood with fixed variance), "
            "with the prefix length growing linearly over the pretraining epochs (the paper gives no schedule)",
            "the freezing decision uses the losses of the same batch, computed in one forward pass before "
            "either update (the reference code uses the previous batch's losses); it runs on the device, "
            "without a host sync",
            "the freezing rule compares D's loss with G's adversarial loss also under feature matching",
            "the L2 coefficient is a parameter (the paper gives none); the penalty is Σ w² over each "
            "network's own weights",
            "the reference code's metadata (song-level) inputs are not used; its LSTM weights use PyTorch's "
            "default initialisation instead of U(±init_scale)",
            "quick preset (a CPU budget): Adam (lr 3e-4, D's rate × 0.3) instead of SGD 0.1, feature matching on, "
            "the freezing rule off (freeze_ratio 0), noise_dim 2 instead of the number of features, 1 × 64 units, "
            "batch 64, 10 pretraining epochs, 250 adversarial steps. At this budget D stays near its initialisation "
            "(its loss stays at chance, ≈ 1.386), so G's feature matching matches the per-step means of D's "
            "near-random LSTM features: a moment-matching refinement of the pretrained G, not a converged "
            "adversarial game (every setting in which D learned made G collapse within a few hundred steps; "
            "probes: results/tuning/crnngan-probes.md). Whether it beats the gaussian null at this budget, per "
            "dataset and metric: results/summary.md (generated from the records)",
            "dense_init='torch' (not the default) replaces the reference's N(0, 1) dense initialisation by "
            "PyTorch's; with it the noise is ignored after pretraining (collapsed samples)",
            "smoke and quick presets use smaller networks, larger batches and fewer steps (CPU budgets)",
        ),
    )
    parameter_constraints = {"iterations": POSITIVE, "pretrain_epochs": NON_NEGATIVE, "batch_size": POSITIVE,
                             "lr": STRICTLY_POSITIVE, "hidden": POSITIVE, "layers": POSITIVE, "noise_dim": POSITIVE,
                             "dropout": PROBABILITY_BELOW_ONE, "l2": NON_NEGATIVE, "grad_clip": STRICTLY_POSITIVE,
                             "freeze_ratio": NON_NEGATIVE, "optimizer": ("sgd", "adam"),
                             "d_lr_factor": STRICTLY_POSITIVE, "dense_init": ("reference", "torch")}
    presets = {
        "smoke": {"iterations": 20, "pretrain_epochs": 1, "batch_size": 32, "hidden": 16, "layers": 1,
                  "lr": 0.1},
        "quick": {"iterations": 250, "pretrain_epochs": 10, "batch_size": 64, "hidden": 64, "layers": 1,
                  "optimizer": "adam", "lr": 3e-4, "d_lr_factor": 0.3, "feature_matching": True,
                  "freeze_ratio": 0.0, "noise_dim": 2},
        "paper": {"iterations": 20000, "pretrain_epochs": 6, "batch_size": 20, "hidden": 350, "layers": 2,
                  "lr": 0.1, "dropout": 0.5, "grad_clip": 5.0},
    }

    def __init__(self, *, iterations: int = 2000, pretrain_epochs: int = 6, batch_size: int = 20,
                 lr: float = 0.1, hidden: int = 350, layers: int = 2, noise_dim: int | None = None,
                 dropout: float = 0.0, feature_matching: bool = False, l2: float = 1e-5,
                 grad_clip: float = 5.0, freeze_ratio: float = 0.7, optimizer: str = "sgd",
                 d_lr_factor: float = 1.0, dense_init: str = "reference", device: str = "cpu",
                 amp: bool = False):
        self.iterations = iterations
        self.pretrain_epochs = pretrain_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.hidden = hidden
        self.layers = layers
        self.noise_dim = noise_dim
        self.dropout = dropout
        self.feature_matching = feature_matching
        self.l2 = l2
        self.grad_clip = grad_clip
        self.freeze_ratio = freeze_ratio
        self.optimizer = optimizer
        self.d_lr_factor = d_lr_factor
        self.dense_init = dense_init
        self.device = device
        self.amp = amp

    # networks -------------------------------------------------------------------------------------
    def _noise_dim(self, n_features: int) -> int:
        return int(self.noise_dim) if self.noise_dim is not None else n_features

    def _build(self, seq_len, n_features):
        if not 0.0 <= float(self.dropout) < 1.0:
            raise InputError("CRNNGAN dropout", expected="a probability in [0, 1)", got=repr(self.dropout),
                             fix="pass e.g. dropout=0.5 (the paper) or 0.0")
        if self.dense_init not in ("reference", "torch"):
            raise InputError("CRNNGAN dense_init", expected="'reference' or 'torch'", got=repr(self.dense_init),
                             fix="pass dense_init='reference' (N(0, 1), the reference code) or 'torch'")
        return {"generator": _Generator(n_features, self._noise_dim(n_features), int(self.hidden),
                                        int(self.layers), self.dense_init),
                "discriminator": _Discriminator(n_features, int(self.hidden), int(self.layers))}

    def _generate(self, n, rng):
        with self.autocast():
            return self._fake(n, self.seq_len_, rng).float()

    # training -------------------------------------------------------------------------------------
    def _optimizers(self):
        """(G's, D's) masked optimisers: SGD (the paper) or Adam (TF1 form), both with an on-device mask."""
        G, D = self.nets_["generator"], self.nets_["discriminator"]
        if self.optimizer == "sgd":
            return _MaskedSGD(G.parameters(), self.lr), _MaskedSGD(D.parameters(), self.lr * self.d_lr_factor)
        if self.optimizer == "adam":
            return (MaskedAdam(G.parameters(), self.lr, betas=(0.5, 0.999)),
                    MaskedAdam(D.parameters(), self.lr * self.d_lr_factor, betas=(0.5, 0.999)))
        raise InputError("CRNNGAN optimizer", expected="'sgd' or 'adam'", got=repr(self.optimizer),
                         fix="pass optimizer='sgd' (the paper) or 'adam'")

    def _train(self, X, rng, callback):
        opt_g, opt_d = self._optimizers()
        batch = int(self.batch_size)
        per_epoch = math.ceil(X.shape[0] / batch)
        epochs = int(self.pretrain_epochs)
        pretrain = epochs * per_epoch
        total = pretrain + int(self.iterations)
        frozen = torch.zeros(2, device=self.device_)  # freeze counts since the last log
        for step in self.training_steps(total, rng, opt_g=opt_g, opt_d=opt_d, frozen=frozen):
            if step <= pretrain:  # maximum-likelihood pretraining, growing prefixes
                length = max(1, math.ceil(self.seq_len_ * ((step - 1) // per_epoch + 1) / epochs))
                mse = self.pretrain_step(X[:, :length], rng, opt_g)
                if step % self.log_every == 0 or step == pretrain:
                    losses = {"pretrain_mse": float(mse), "prefix_len": float(length)}
                    self.log(step, **losses)
                    callback(step, total, losses)
                continue
            loss_d, loss_g, freeze = self.train_step(X, rng, opt_g, opt_d)
            frozen += freeze
            if step % self.log_every == 0 or step == total:
                since_log = step - max(pretrain, (step - 1) // self.log_every * self.log_every)
                fractions = (frozen / since_log).tolist()
                losses = {"d_loss": float(loss_d), "g_loss": float(loss_g),
                          "d_frozen": fractions[0], "g_frozen": fractions[1]}
                self.log(step, **losses)
                callback(step, total, losses)
                frozen.zero_()

    def _penalised_grads(self, module: nn.Module, loss: torch.Tensor, *, retain: bool) -> list[torch.Tensor]:
        """Gradients of ``loss + l2·Σw²`` w.r.t. ``module``'s parameters only, clipped to a global norm of
        ``grad_clip`` on the device (no host sync)."""
        params = list(module.parameters())
        grads = [g.detach() for g in torch.autograd.grad(loss, params, retain_graph=retain)]
        with torch.no_grad():
            self._regularise_and_clip(grads, params)
        return grads

    def _regularise_and_clip(self, grads, params) -> None:
        if self.l2:
            torch._foreach_add_(grads, params, alpha=2.0 * float(self.l2))
        if self.grad_clip:
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            torch._foreach_mul_(grads, (float(self.grad_clip) / (norm + 1e-6)).clamp(max=1.0))

    def _fake(self, n, length, rng, teacher=None):
        z = torch.rand(n, length, self._noise_dim(self.n_features_in_), generator=rng, device=self.device_)
        first = torch.rand(n, self.n_features_in_, generator=rng, device=self.device_)
        return self.nets_["generator"](z, first, dropout=self.dropout, rng=rng, teacher=teacher)

    def pretrain_step(self, X, rng, opt_g):
        """One teacher-forced next-step MSE update of G on a random batch of (prefix) windows."""
        G = self.nets_["generator"]
        real = random_batch(X, int(self.batch_size), rng)
        with self.autocast():
            pred = self._fake(real.shape[0], real.shape[1], rng, teacher=real)
        mse = F.mse_loss(pred.float(), real)
        opt_g.step(self._penalised_grads(G, mse, retain=False))
        return mse.detach()

    def train_step(self, X, rng, opt_g, opt_d):
        """One adversarial step; returns (d_loss, g_loss, [d_frozen, g_frozen]) as device tensors."""
        G, D = self.nets_["generator"], self.nets_["discriminator"]
        real = random_batch(X, int(self.batch_size), rng)
        n = real.shape[0]
        with self.autocast():
            fake = self._fake(n, real.shape[1], rng)
            logits, features = D(torch.cat([real, fake.to(real.dtype)]), dropout=self.dropout, rng=rng)
        logits_real, logits_fake = logits.float().split(n)
        loss_d = -(_log_mean_sigmoid(logits_real) + _log_mean_sigmoid(-logits_fake)).mean()
        adversarial_g = -_log_mean_sigmoid(logits_fake).mean()  # -log D(G(z)), D averaged over time
        if self.feature_matching:
            feat_real, feat_fake = features.float().split(n)
            loss_g = (feat_real.detach().mean(0) - feat_fake.mean(0)).pow(2).mean()
        else:
            loss_g = adversarial_g
        # the paper's freezing rule on the losses as they are: D's (real + fake cross-entropy) against G's
        # adversarial loss. At chance D's loss is twice G's, so G waits until D has learned something.
        ratio = float(self.freeze_ratio)
        d_cmp, g_cmp = loss_d.detach(), adversarial_g.detach()
        freeze = torch.stack([d_cmp < ratio * g_cmp, g_cmp < ratio * d_cmp])
        # both gradients from the same forward pass, before either update (D's only w.r.t. D's weights)
        grads_d = self._penalised_grads(D, loss_d, retain=True)
        grads_g = self._penalised_grads(G, loss_g, retain=False)
        opt_d.step(grads_d, mask=~freeze[0])
        opt_g.step(grads_g, mask=~freeze[1])
        return loss_d.detach(), loss_g.detach(), freeze.float()


class _MaskedSGD:
    """Plain SGD ``p -= lr·g`` whose update is skipped where the 0-dim bool ``mask`` is false (no host sync)."""

    def __init__(self, params, lr: float):
        self.params, self.lr = list(params), float(lr)

    @torch.no_grad()
    def step(self, grads, mask: torch.Tensor | None = None) -> None:
        scale = -self.lr if mask is None else mask.to(self.params[0].dtype) * -self.lr
        torch._foreach_add_(self.params, torch._foreach_mul(list(grads), scale))
