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
* Mid-fit checkpoints (optional): ``fit(..., checkpoint=TrainingCheckpoint(path))`` saves the training state
  when due and, when the file holds the state of an interrupted fit of the same model, data and seed, resumes
  from it; the final model and ``history_`` are identical to an uninterrupted fit's on CPU. A generator
  supports this (:meth:`Generator.resumable`) when it implements ``_training_state()`` (everything the rest of
  the fit depends on: parameters, optimizer and scheduler states, every RNG it draws from, loop state) and
  ``_restore_training_state(state)``, and its ``_fit`` calls ``self.resume_fit()`` once its training objects
  exist (→ the last completed step, 0 for a fresh start) and ``self.checkpoint_fit(step)`` after each
  completed step. Any other generator ignores ``checkpoint``: an interrupted fit restarts.

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

import hashlib
import io
import json
import time
import warnings
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .atomic import write_atomically
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

#: by default a resumable fit saves its training state at least once a minute of training
CHECKPOINT_SECONDS = 60.0
#: version of the saved training-state layout (a mismatch restarts the fit)
_CHECKPOINT_FORMAT = 1


class TrainingCheckpoint:
    """Where a fit saves its training state, and when: a runtime setting, never part of a cell's identity.

    A save is due after every ``every``-th step and once ``seconds`` of training have passed since the last
    save (``None`` turns a trigger off). ``save_file(path, writer)`` writes atomically (``writer(tmp)``, fsync,
    rename; default :func:`tsbench.atomic.write_atomically`). The file is ``torch.save`` output read back weights-only (NumPy arrays
    in a state travel as ``.npy`` bytes). After a fit, ``resumed_step`` is the step it resumed after (0: none)
    and ``saves`` the number of saves it made.
    """

    def __init__(self, path: str | Path, *, every: int | None = None, seconds: float | None = CHECKPOINT_SECONDS,
                 save_file: Callable[[Path, Callable[[str], Any]], None] | None = None):
        self.path = Path(path)
        self.every, self.seconds = every, seconds
        self.save_file = save_file or write_atomically
        self.resumed_step = 0
        self.saves = 0
        self._last = time.monotonic()

    def __repr__(self) -> str:
        return f"TrainingCheckpoint({str(self.path)!r}, every={self.every}, seconds={self.seconds})"

    def start(self) -> None:
        """Start the clock of the ``seconds`` trigger (called when a fit starts)."""
        self._last = time.monotonic()

    def due(self, step: int) -> bool:
        if self.every and step % int(self.every) == 0:
            return True
        return self.seconds is not None and time.monotonic() - self._last >= float(self.seconds)

    def write(self, state: dict) -> None:
        import torch

        payload = _encode(state)

        def writer(tmp: str) -> None:
            with open(tmp, "wb") as fh:  # a file object: the archive is not named after the temporary path
                torch.save(payload, fh)

        self.save_file(self.path, writer)
        self._last = time.monotonic()
        self.saves += 1

    def read(self) -> dict | None:
        """The saved state; ``None`` when there is no file or it cannot be read (warned: the fit starts over)."""
        if not self.path.exists():
            return None
        import torch

        try:
            return _decode(torch.load(self.path, map_location="cpu", weights_only=True))
        except Exception as exc:  # an unreadable checkpoint only costs the training it saved
            warnings.warn(f"unreadable training checkpoint {self.path} ({type(exc).__name__}: {exc}); the fit "
                          "starts over", RuntimeWarning, stacklevel=2)
            return None

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class _StaleCheckpoint(Exception):
    """The saved state could not be restored: the fit starts over from a fresh instance state."""


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
    def fit(self, X, *, seed: int, callback: ProgressCallback | None = None, X_test=None,
            checkpoint: TrainingCheckpoint | None = None) -> "Generator":
        """Fit on windows ``X`` (n, seq_len, n_features) in [0, 1] with an explicit ``seed``.

        ``X_test`` (the split's floor windows) is passed on only to generators with ``needs_held_out``; the
        runner gives it to built-in calibration and corruption rows only (``real``, ``noise``, …).
        ``checkpoint``: save the training state there when due and resume from it (used only when
        :meth:`resumable`; the file is left in place: the caller removes it once the model is saved).
        """
        X = check_windows(X, what=f"{type(self).__name__}.fit X")
        extra = {}
        if self.needs_held_out:
            extra["X_test"] = None if X_test is None else check_windows(X_test, what=f"{type(self).__name__}.fit X_test")
        self.n_features_in_ = int(X.shape[2])
        self.seq_len_ = int(X.shape[1])
        session = None
        if checkpoint is not None:
            checkpoint.resumed_step, checkpoint.saves = 0, 0
            if self.resumable():
                arrays = [X] + [a for a in extra.values() if a is not None]
                session = {"checkpoint": checkpoint, "fingerprint": _fit_fingerprint(self, int(seed), arrays),
                           "resume": True}
        for _ in range(2):  # a second time only when a saved state could not be restored
            self.history_: list[dict] = []
            self._fit_session = session
            if checkpoint is not None:
                checkpoint.start()
            try:
                self._fit(X.copy(), seed=int(seed), callback=callback or _no_progress, **extra)
                break
            except _StaleCheckpoint as exc:
                warnings.warn(f"training checkpoint {checkpoint.path} could not be restored ({exc}); the fit "
                              "starts over", RuntimeWarning, stacklevel=2)
                session = {**session, "resume": False}
                checkpoint.resumed_step = 0
            finally:
                self._fit_session = None
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

    # mid-fit checkpoints (see the module docstring) -----------------------------------------------
    @classmethod
    def resumable(cls) -> bool:
        """Whether ``fit`` saves and resumes mid-fit checkpoints: the class implements both training-state hooks."""
        return (cls._training_state is not Generator._training_state
                and cls._restore_training_state is not Generator._restore_training_state)

    def resume_fit(self) -> int:
        """Called by ``_fit`` once its training objects exist: restores the state an interrupted fit of the same
        model, data and seed saved (``_restore_training_state``, ``history_``) and returns its last completed
        step; 0 (nothing restored) without a checkpoint or a matching saved state."""
        session = getattr(self, "_fit_session", None)
        if session is None or not session["resume"]:
            return 0
        checkpoint = session["checkpoint"]
        saved = checkpoint.read()
        if saved is None:
            return 0
        if saved.get("format") != _CHECKPOINT_FORMAT or saved.get("fingerprint") != session["fingerprint"]:
            warnings.warn(f"training checkpoint {checkpoint.path} belongs to another fit (model, data, seed or "
                          "format differ); the fit starts over", RuntimeWarning, stacklevel=2)
            return 0
        try:
            self._restore_training_state(saved["state"])
        except Exception as exc:  # partly restored: only a fresh start is safe
            raise _StaleCheckpoint(f"{type(exc).__name__}: {exc}") from exc
        self.history_ = list(saved["history"])
        checkpoint.resumed_step = int(saved["step"])
        return int(saved["step"])

    def checkpoint_fit(self, step: int) -> None:
        """Called by ``_fit`` after training step ``step`` is complete: saves the training state when due."""
        session = getattr(self, "_fit_session", None)
        if session is not None and session["checkpoint"].due(step):
            session["checkpoint"].write({"format": _CHECKPOINT_FORMAT, "fingerprint": session["fingerprint"],
                                         "step": int(step), "history": self.history_,
                                         "state": self._training_state()})

    def _training_state(self) -> dict:
        """Everything the rest of the fit depends on, after a completed step (tensors, arrays, numbers, strings,
        lists, tuples and dicts of them); only while ``_fit`` runs. Implement with :meth:`_restore_training_state`."""
        raise NotImplementedError(f"{type(self).__name__} does not save its training state")

    def _restore_training_state(self, state: dict) -> None:
        """Put ``state`` (from :meth:`_training_state`) back into the training objects ``_fit`` just built."""
        raise NotImplementedError(f"{type(self).__name__} does not restore a training state")

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

    def n_parameters(self) -> int | None:
        """How many learned numbers the fitted generator holds (the records' ``n_parameters``): here the elements
        of the array-valued fitted state (:meth:`_state`; ``real`` thus counts the windows it keeps); the PyTorch
        generators count their networks' trainable parameters. ``None`` when it cannot be told."""
        self._check_fitted()
        try:
            sizes = [np.asarray(v).size for v in self._state().values() if np.ndim(v) >= 1]
        except (TypeError, ValueError):
            return None
        return int(sum(sizes))

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


def _fit_fingerprint(generator: "Generator", seed: int, arrays: list[np.ndarray]) -> str:
    """What a saved training state belongs to: class, version, identity parameters, seed and the data."""
    cls = type(generator)
    params = {k: repr(v) for k, v in identity_params(generator.get_params(deep=False)).items()}
    digest = hashlib.sha256(json.dumps({"class": f"{cls.__module__}:{cls.__qualname__}", "version": cls.version,
                                        "params": params, "seed": seed}, sort_keys=True).encode())
    for array in arrays:
        digest.update(repr((array.shape, array.dtype.str)).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _encode(obj):
    """A state made loadable weights-only: NumPy arrays → ``{"__ndarray__": .npy bytes}``, scalars → Python."""
    if isinstance(obj, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, obj, allow_pickle=False)
        return {"__ndarray__": buffer.getvalue()}
    if isinstance(obj, np.generic):
        return obj.item()
    if type(obj) is dict:
        return {k: _encode(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(_encode(v) for v in obj)
    return obj


def _decode(obj):
    if type(obj) is dict:
        if set(obj) == {"__ndarray__"}:
            return np.load(io.BytesIO(obj["__ndarray__"]), allow_pickle=False)
        return {k: _decode(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(_decode(v) for v in obj)
    return obj


def identity_params(params: dict) -> dict:
    """Parameters that define what a generator or metric computes (runtime-only ones dropped)."""
    return {k: v for k, v in params.items() if k not in RUNTIME_PARAMS}


__all__ = ["Generator", "NotFittedError", "InputError", "ProgressCallback", "ROLES", "TrainingCheckpoint",
           "CHECKPOINT_SECONDS", "identity_params"]
