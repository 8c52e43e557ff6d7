"""The ``Generator`` interface (scikit-learn style).

Contract (checked by :mod:`tsbench.testing` for every built-in and third-party generator):

* ``__init__`` stores keyword parameters only (no work, no validation); ``get_params``/``set_params``
  come from scikit-learn's ``BaseEstimator``.
* ``fit(X, *, seed, callback=None)``: ``X`` float32 ``(n, seq_len, n_features)`` in [0, 1]; returns
  ``self``; never mutates ``X``. Learned state ends in ``_``. ``callback(step, total, losses)`` reports
  progress (``losses`` a dict of floats); ``history_`` holds the logged loss rows (for ``losses.csv``).
* ``sample(n, *, seed)`` → float32 ``(n, seq_len, n_features)``, finite; the same seed gives the same
  samples on CPU; sampling does not change the model's state. ``NotFittedError`` before ``fit``.
* ``save(path)`` / ``load(path)``: a checkpoint from which ``sample`` gives identical output.

Subclasses implement ``_fit(X, seed, callback)`` and ``_sample(n, seed)`` (or override ``fit``/``sample``);
one lacking either fails when instantiated, naming it. ``_state``/``_set_state`` or ``save``/``load`` are
overridden when the fitted state is not plain NumPy arrays.

``role`` says what a row is: ``"model"`` (every plugin) or, for tsbench's built-in rows only,
``"calibration"`` (``real``, ``gaussian``) or ``"corruption"`` (real data with one controlled defect).

>>> from tsbench.baselines.calibration import Gaussian
>>> import numpy as np
>>> X = np.random.default_rng(0).random((50, 24, 2), dtype=np.float32)
>>> Gaussian().fit(X, seed=0).sample(3, seed=1).shape
(3, 24, 2)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .card import Card
from .contract import check_complete
from .errors import InputError, NotFittedError
from .validation import check_positive_int, check_windows

ProgressCallback = Callable[[int, int, dict], None]

#: parameters that change how, not what, a component computes: excluded from cache identities
RUNTIME_PARAMS = frozenset({"device", "amp", "num_threads", "threads", "block_size"})

#: the closed set of generator roles; only built-in rows may declare one other than "model"
ROLES = ("model", "calibration", "corruption")

_HOOKS = (("fit", "_fit"), ("sample", "_sample"))


class Generator(BaseEstimator):
    """Base class of all generators. See the module docstring for the contract."""

    #: registry key (set by subclasses)
    name: ClassVar[str] = ""
    #: citation and fidelity statement
    card: ClassVar[Card] = Card(title="")
    #: per-preset parameter overrides: {"smoke": {...}, "quick": {...}, "paper": {...}}
    presets: ClassVar[dict[str, dict]] = {}
    #: bump when a change alters results (the cache also keys on the module's source hash)
    version: ClassVar[str] = "1"
    #: declared known conformance failures: {check_name: reason}
    known_failures: ClassVar[dict[str, str]] = {}
    #: what the row is, one of :data:`ROLES`; a non-model role is refused for anything but a built-in
    role: ClassVar[str] = "model"
    #: whether fit takes the split's held-out floor windows as ``X_test``. The runner hands them only to built-in
    #: calibration and corruption rows (:func:`tsbench.runner.execute.uses_floor`), never to a model.
    needs_held_out: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.role not in ROLES:
            raise TypeError(f"{cls.__qualname__}.role is {cls.role!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(cls.needs_held_out, bool):
            raise TypeError(f"{cls.__qualname__}.needs_held_out must be a bool, got {cls.needs_held_out!r}")

    def __new__(cls, *args, **kwargs):
        cls.check_contract()
        return super().__new__(cls)

    @classmethod
    def check_contract(cls) -> None:
        """Raise :class:`~tsbench.contract.IncompleteComponentError` naming a missing ``_fit``/``_sample``."""
        check_complete(cls, Generator, _HOOKS)

    # public API -----------------------------------------------------------------------------------
    def fit(self, X, *, seed: int, callback: ProgressCallback | None = None, X_test=None) -> "Generator":
        """Fit on windows ``X`` (n, seq_len, n_features) in [0, 1] with an explicit ``seed``.

        ``X_test`` (the split's floor windows) is passed on only to generators with ``needs_held_out``; the
        runner gives it to built-in calibration and corruption rows only (``real``, ``noise``, …).
        """
        X = check_windows(X, what=f"{type(self).__name__}.fit X")
        extra = {}
        if self.needs_held_out:
            extra["X_test"] = None if X_test is None else check_windows(X_test, what=f"{type(self).__name__}.fit X_test")
        self.n_features_in_ = int(X.shape[2])
        self.seq_len_ = int(X.shape[1])
        self.history_: list[dict] = []
        self._fit(X.copy(), seed=int(seed), callback=callback or _no_progress, **extra)
        self.is_fitted_ = True
        return self

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        """``n`` windows as float32 ``(n, seq_len, n_features)``."""
        self._check_fitted()
        n = check_positive_int(n, what="n_samples")
        out = np.asarray(self._sample(n, seed=int(seed)), dtype=np.float32)
        expected = (n, self.seq_len_, self.n_features_in_)
        if out.shape != expected:
            raise RuntimeError(f"{type(self).__name__}._sample returned shape {out.shape}, expected {expected}")
        return out

    def log(self, step: int, **losses: float) -> None:
        """Append a loss row to ``history_``; raises on a non-finite loss (the cell then fails)."""
        for key, value in losses.items():
            if not np.isfinite(value):
                from .errors import CellFailure

                raise CellFailure(f"{self.name or type(self).__name__}: non-finite loss {key}={value} at step "
                                  f"{step}; lower the learning rate or check the input scaling")
        self.history_.append({"step": step, **{k: float(v) for k, v in losses.items()}})

    # checkpoints ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted state to ``path`` (NumPy ``.npz`` by default)."""
        self._check_fitted()
        state = {k: np.asarray(v) for k, v in self._state().items()}
        with open(path, "wb") as fh:
            np.savez(fh, **state)

    def load(self, path: str | Path) -> "Generator":
        """Restore the fitted state written by :meth:`save` into this (identically parametrised) instance."""
        with np.load(path, allow_pickle=False) as data:
            self._set_state({k: data[k] for k in data.files})
        self.is_fitted_ = True
        return self

    def _state(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")
                and k != "history_"}

    def _set_state(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value.item() if value.ndim == 0 else value)

    # to implement (a subclass lacking one fails when instantiated) ------------------------------------
    def _fit(self, X: np.ndarray, *, seed: int, callback: ProgressCallback, **kwargs) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _fit")

    def _sample(self, n: int, *, seed: int) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement _sample")

    # helpers --------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not getattr(self, "is_fitted_", False):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using 'sample'.")

    def __sklearn_is_fitted__(self) -> bool:
        return bool(getattr(self, "is_fitted_", False))


def _no_progress(step: int, total: int, losses: dict) -> None:
    return None


def identity_params(params: dict) -> dict:
    """Parameters that define what a generator or metric computes (runtime-only ones dropped)."""
    return {k: v for k, v in params.items() if k not in RUNTIME_PARAMS}


__all__ = ["Generator", "NotFittedError", "InputError", "ProgressCallback", "ROLES", "identity_params"]
