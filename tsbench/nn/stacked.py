"""Several copies of one network trained as one: their parameters stacked on a leading "model" axis and the
forward vectorised over it (issue 16, item 2: the seeds of a small generator at about the cost of one wherever a
step is bound by per-operation overhead rather than arithmetic). A ``Sequential`` of ``Linear`` layers and
elementwise activations runs as batched matrix products (``baddbmm``) directly; any other network through
:func:`torch.func.vmap` (which costs more per call).

>>> import torch
>>> nets = [torch.nn.Linear(3, 2) for _ in range(4)]
>>> stacked = StackedModules(nets)
>>> stacked(torch.ones(4, 5, 3)).shape  # (models, batch, features)
torch.Size([4, 5, 2])
>>> stacked.write_back(nets)  # each network gets its slice of the (trained) stacked parameters

Copy ``m`` of the stacked forward computes what network ``m`` computes on its own input slice; the
arithmetic is the same up to float rounding (batched matrix products instead of one product per network), so
results equal separate computation to tolerance, not bit for bit. Optimisers whose update is elementwise (SGD,
Adam) applied to the stacked parameters update every copy exactly as its own optimiser would; the losses of the
copies are summed, so each copy's gradient is its own loss's gradient.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn


class StackedModules:
    """``len(modules)`` networks of the same architecture as one: :attr:`params` (name → stacked leaf tensor
    ``(M, *shape)``, what the optimiser updates) and buffers, and a call that maps ``(M, ...)`` inputs to
    ``(M, ...)`` outputs."""

    def __init__(self, modules: Sequence[nn.Module]):
        if not modules:
            raise ValueError("StackedModules needs at least one module")
        self.params, self.buffers = torch.func.stack_module_state(list(modules))
        self.base = copy.deepcopy(modules[0]).to("meta")  # the architecture only: no memory, no values
        self._layers = _mlp_layers(self.base)

    def __len__(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def _call_one(self, params, buffers, *inputs):
        return torch.func.functional_call(self.base, (params, buffers), inputs)

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Every input has the model axis first: ``(M, ...)``; returns ``(M, ...)``."""
        if self._layers is not None and len(inputs) == 1 and inputs[0].dim() == 3:
            return self._mlp(inputs[0])
        return torch.func.vmap(self._call_one, randomness="error")(self.params, self.buffers, *inputs)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        """The ``Sequential`` MLP on ``x`` (M, B, in): ``Linear`` as ``baddbmm`` with the stacked weights."""
        for name, layer in self._layers:
            if isinstance(layer, nn.Linear):
                weight = self.params[f"{name}.weight"].transpose(1, 2)
                bias = self.params.get(f"{name}.bias")
                x = torch.bmm(x, weight) if bias is None else torch.baddbmm(bias.unsqueeze(1), x, weight)
            else:
                x = layer(x)  # elementwise: the same on the stacked tensor
        return x

    def write_back(self, modules: Sequence[nn.Module]) -> None:
        """Copy slice ``m`` of the stacked parameters and buffers into ``modules[m]``."""
        if len(modules) != len(self):
            raise ValueError(f"{len(self)} stacked models, got {len(modules)} modules to write back to")
        with torch.no_grad():
            for m, module in enumerate(modules):
                for name, tensor in module.named_parameters():
                    tensor.copy_(self.params[name][m])
                for name, tensor in module.named_buffers():
                    tensor.copy_(self.buffers[name][m])


#: parameter-free modules that act elementwise, so they apply to the stacked tensor unchanged
ELEMENTWISE = (nn.LeakyReLU, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.Identity)


def _mlp_layers(module: nn.Module) -> list[tuple[str, nn.Module]] | None:
    """``[(name, layer)]`` when ``module`` is a ``Sequential`` of ``Linear`` layers and :data:`ELEMENTWISE`
    activations (no buffers), else ``None``."""
    if not isinstance(module, nn.Sequential) or any(True for _ in module.buffers()):
        return None
    layers = list(module.named_children())
    if not all(isinstance(layer, (nn.Linear, *ELEMENTWISE)) for _, layer in layers):
        return None
    return layers


__all__ = ["ELEMENTWISE", "StackedModules"]
