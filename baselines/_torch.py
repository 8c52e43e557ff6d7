"""Shared machinery of the PyTorch generators: devices, seeding, batches, checkpoints, loss logging.

A :class:`TorchGenerator` subclass implements

* ``_build(seq_len, n_features) -> dict[str, torch.nn.Module]`` — the networks, on CPU;
* ``_train(X, rng, callback)`` — the training loop on ``X`` (a float32 tensor on ``self.device_``),
  drawing all randomness from ``rng`` (a seeded ``torch.Generator`` on that device) and calling
  ``self.log(step, **losses)`` every ``log_every`` steps (that is where non-finite losses are caught,
  so the inner loop never syncs with the host); written as ``for step in self.training_steps(total, rng,
  **stateful)`` it resumes from mid-fit checkpoints (:class:`tsbench.generator.TrainingCheckpoint`);
* ``_generate(n, rng) -> Tensor`` — ``n`` windows in [0, 1], shape ``(n, seq_len, n_features)``.

Checkpoints hold ``state_dict`` s only and are loaded with ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tsbench.errors import InputError
from tsbench.generator import Generator


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda"`` without a GPU is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device", expected="an available device", got="'cuda' but no CUDA GPU is visible",
                         fix="use --device auto or --device cpu")
    return resolved


def seeded_generator(seed: int, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


def random_batch(X: torch.Tensor, batch_size: int, rng: torch.Generator) -> torch.Tensor:
    """A random mini-batch of rows of ``X`` (without replacement within the batch)."""
    n = X.shape[0]
    if batch_size >= n:
        return X[torch.randperm(n, generator=rng, device=X.device)]
    return X[torch.randperm(n, generator=rng, device=X.device)[:batch_size]]


class TorchGenerator(Generator):
    """Base of the PyTorch generators (see the module docstring)."""

    log_every = 10

    def _fit(self, X, *, seed, callback, **kwargs):
        rng = self._start_fit(X.shape[1], X.shape[2], seed)
        self._train(torch.as_tensor(X, device=self.device_), rng, callback)
        self.nets_.eval()

    def _start_fit(self, seq_len: int, n_features: int, seed: int) -> torch.Generator:
        """Resolve ``device_``, build ``nets_`` (in training mode) with weights drawn from ``seed``, and return the
        training generator (seeded ``seed + 1`` on the device): what every fit does before training."""
        self.device_ = resolve_device(getattr(self, "device", "cpu"))
        with _fork_rng_from(torch.Generator().manual_seed(int(seed))):
            self.nets_ = nn.ModuleDict(self._build(seq_len, n_features)).to(self.device_)
        self.nets_.train()
        return seeded_generator(int(seed) + 1, self.device_)

    def _sample(self, n, *, seed):
        rng = seeded_generator(seed, self.device_)
        was_training = self.nets_.training
        self.nets_.eval()
        try:
            with torch.no_grad():
                out = self._generate(n, rng)
        finally:
            self.nets_.train(was_training)
        return out.float().clamp_(0.0, 1.0).cpu().numpy()

    def n_parameters(self) -> int:
        """Trainable parameters of the networks (``nets_``)."""
        self._check_fitted()
        return int(sum(p.numel() for p in self.nets_.parameters() if p.requires_grad))

    def autocast(self):
        """Mixed precision on CUDA when ``amp=True``; a no-op on CPU."""
        if getattr(self, "amp", False) and self.device_.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # resumable training loops ---------------------------------------------------------------------
    def training_steps(self, total: int, rng: torch.Generator, **stateful):
        """Steps ``1..total`` of a resumable loop: ``for step in self.training_steps(total, rng, opt=opt): …``.

        Resumes after the last step a mid-fit checkpoint saved and, after each completed step but the last,
        saves one when due. Saved: the networks, ``rng`` and ``stateful`` — every other object the rest of the
        loop depends on (optimizers, schedulers, tensors updated in place); the loop derives all else from ``step``.
        """
        self._loop = (rng, stateful)
        try:
            for step in range(self.resume_fit() + 1, total + 1):
                yield step
                if step < total:
                    self.checkpoint_fit(step)
        finally:
            self._loop = None

    def _training_state(self) -> dict:
        rng, stateful = self._loop
        return {"nets": self.nets_.state_dict(), "rng": rng.get_state(),
                "loop": {key: _state_of(obj) for key, obj in stateful.items()}}

    def _restore_training_state(self, state: dict) -> None:
        rng, stateful = self._loop
        if set(state["loop"]) != set(stateful):
            raise KeyError(f"saved loop state {sorted(state['loop'])}, expected {sorted(stateful)}")
        self.nets_.load_state_dict(state["nets"])
        rng.set_state(state["rng"])
        for key, obj in stateful.items():
            _load_state(obj, state["loop"][key])

    # checkpoints ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        self._check_fitted()
        # through a file object the archive inside is named "archive", not after the (temporary) path: equal
        # models give equal bytes
        with open(path, "wb") as fh:
            torch.save({"seq_len": self.seq_len_, "n_features": self.n_features_in_,
                        "nets": {k: v.state_dict() for k, v in self.nets_.items()}}, fh)

    def load(self, path: str | Path) -> "TorchGenerator":
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.device_ = resolve_device(getattr(self, "device", "cpu"))
        self.seq_len_, self.n_features_in_ = int(state["seq_len"]), int(state["n_features"])
        self.nets_ = nn.ModuleDict(self._build(self.seq_len_, self.n_features_in_))
        for key, module in self.nets_.items():
            module.load_state_dict(state["nets"][key])
        self.nets_.to(self.device_).eval()
        self.history_ = []
        self.is_fitted_ = True
        return self

    # to implement ---------------------------------------------------------------------------------
    def _build(self, seq_len: int, n_features: int) -> dict[str, nn.Module]:
        raise NotImplementedError

    def _train(self, X: torch.Tensor, rng: torch.Generator, callback) -> None:
        raise NotImplementedError

    def _generate(self, n: int, rng: torch.Generator) -> torch.Tensor:
        raise NotImplementedError


@contextlib.contextmanager
def _fork_rng_from(generator: torch.Generator):
    """Run module construction (whose initialisers use torch's default RNG) under a seed drawn from
    ``generator``, restoring the global RNG state afterwards: weights are seeded, global state untouched."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _state_of(obj):
    """A loop object's state: a tensor itself, an optimizer's or scheduler's ``state_dict()``, or — for a plain
    optimizer without one — its tensor attributes other than the parameters (e.g. moments and step count)."""
    if isinstance(obj, torch.Tensor):
        return obj
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    return {key: value for key, value in vars(obj).items() if _tensors(value)
            and not (isinstance(value, list) and any(isinstance(v, nn.Parameter) for v in value))}


def _tensors(value) -> bool:
    return isinstance(value, torch.Tensor) or (isinstance(value, list) and bool(value)
                                               and all(isinstance(v, torch.Tensor) for v in value))


@torch.no_grad()
def _load_state(obj, state) -> None:
    """Put :func:`_state_of`'s ``state`` back into ``obj`` (tensors copied in place: references stay valid)."""
    if isinstance(obj, torch.Tensor):
        obj.copy_(state)
    elif hasattr(obj, "load_state_dict"):
        obj.load_state_dict(state)
    else:
        if set(state) != set(_state_of(obj)):
            raise KeyError(f"saved state of {type(obj).__name__} has {sorted(state)}, expected {sorted(_state_of(obj))}")
        for key, value in state.items():
            current = getattr(obj, key)
            for target, saved in zip(*((current, value) if isinstance(current, list) else ([current], [value])),
                                     strict=True):
                target.copy_(saved)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()
