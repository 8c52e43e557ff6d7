"""TensorFlow 1's Adam, for the generators and the metrics.

* :class:`MaskedAdam` — TF1 ``AdamOptimizer``'s update with an optional on-device mask (TimeGAN's and
  C-RNN-GAN's data-dependent updates without a host sync);
* :func:`adam` — ``torch.optim.Adam`` (fused) with TF's defaults (the post-hoc metrics' ensembles).

Both use TF's defaults :data:`TF_LR`, :data:`TF_BETAS`, :data:`TF_EPS`.
"""
from __future__ import annotations

import torch

#: ``tf.train.AdamOptimizer``'s defaults (learning rate, β₁ and β₂, ε)
TF_LR = 1e-3
TF_BETAS = (0.9, 0.999)
TF_EPS = 1e-8


def adam(params, lr: float = TF_LR):
    """Adam with TensorFlow's defaults (β = 0.9, 0.999; ε = 1e-8). Element-wise, so the repeats of an ensemble
    (:mod:`tsbench.nn.ensemble`) stay independent. The fused kernel: one call per step instead of a dozen small
    ones."""
    return torch.optim.Adam(params, lr=lr, betas=TF_BETAS, eps=TF_EPS, fused=True)


class MaskedAdam:
    """Adam with TF1 ``AdamOptimizer``'s update and an optional on-device ``mask`` (no host sync).

    ``p -= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)`` (TF1 folds the bias correction into the step size;
    ``torch.optim.Adam`` divides ``√v`` by ``√(1−β₂ᵗ)`` before adding ε — equal up to where ε sits).
    ``step(grads, mask=m)`` with a 0-dim bool tensor ``m`` leaves parameters, moments and the step
    count unchanged where ``m`` is false: a data-dependent update without ``.item()``.
    """

    def __init__(self, params, lr: float = TF_LR, betas: tuple[float, float] = TF_BETAS, eps: float = TF_EPS):
        self.params = list(params)
        self.lr, (self.beta1, self.beta2), self.eps = float(lr), betas, float(eps)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = torch.zeros((), device=self.params[0].device)

    @torch.no_grad()
    def step(self, grads, mask: torch.Tensor | None = None) -> None:
        grads = list(grads)
        w = 1.0 if mask is None else mask.to(self.t.dtype)
        self.t += w
        t = self.t.clamp(min=1.0)
        lr_t = self.lr * torch.sqrt(1 - torch.pow(self.beta2, t)) / (1 - torch.pow(self.beta1, t)) * w
        torch._foreach_add_(self.m, torch._foreach_mul(torch._foreach_sub(grads, self.m), (1 - self.beta1) * w))
        sq = torch._foreach_mul(grads, grads)
        torch._foreach_sub_(sq, self.v)  # in-place foreach ops return None on older torch: no chaining
        torch._foreach_mul_(sq, (1 - self.beta2) * w)
        torch._foreach_add_(self.v, sq)
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_add_(denom, self.eps)
        update = torch._foreach_div(self.m, denom)
        torch._foreach_mul_(update, lr_t)
        torch._foreach_sub_(self.params, update)

__all__ = ["TF_BETAS", "TF_EPS", "TF_LR", "MaskedAdam", "adam"]
