"""The device audit: does a generator's training stay on its device? Runs on any machine, GPU or not.

:func:`audit_fit` runs ``estimator.fit`` once under two interceptors and returns a :class:`DeviceAudit`;
the conformance check ``check_device_audit`` (:mod:`tsbench.testing.generator_checks`) fails a generator
whose audit has :meth:`~DeviceAudit.problems`. Three defects are detected, each without a GPU:

1. **Tensors created without the model's device in a training step** — a call of a torch *factory* (the
   functions :func:`torch.set_default_device` redirects: ``torch.zeros``, ``randn``, ``rand``, ``arange``,
   ``full``, ``tensor``, ``as_tensor`` of non-tensor data, …) made by the generator's own code with no ``device=`` argument (or ``device=None``). On a CPU-only
   machine such a tensor lands on the same device as the model, so it cannot be seen from where it lives;
   it is seen from how it was asked for, by a :class:`~torch.overrides.TorchFunctionMode` that reads the
   call's arguments. Only calls whose direct caller is outside torch count: torch's own code (module
   constructors, optimisers' CPU step counters) chooses its devices itself. ``torch.zeros_like``,
   ``x.new_zeros`` etc. inherit their input's device and are fine. Not detected on CPU: an explicit
   ``device="cpu"`` literal (indistinguishable from ``device=self.device_`` when that is the CPU) and
   ``torch.from_numpy``/``torch.frombuffer`` (they wrap host memory without calling into torch's dispatch, so no
   mode sees them) — on a GPU (``tsbench check 'name[device=cuda]'``, ``scripts/gpu_check.py``) those show as
   a device mismatch or a host→device copy.
2. **Host syncs in a training step** — the generator's code asks for a tensor's value on the host:
   ``.item()``, ``.tolist()``, ``.numpy()``, ``.cpu()``, ``float()``/``int()``/``bool()``/``complex()``/
   ``operator.index()`` of a tensor, ``np.asarray(tensor)``, formatting or printing a tensor, ``x in tensor``
   (seen by the TorchFunctionMode), or runs an operation that must read device data to size its output
   (``nonzero``, boolean-mask indexing and assignment, ``masked_select``, ``unique``, ``equal``,
   ``bincount``, ``repeat_interleave`` without ``output_size``, a copy to the CPU from another device; seen
   by a :class:`~torch.utils._python_dispatch.TorchDispatchMode` at the ATen level). Syncs made inside
   ``torch.optim`` are not counted: a non-capturable optimiser keeps its step counter on the host by design.
3. **Parameters left off the model's device** — after ``fit``, every parameter and buffer of every
   ``torch.nn.Module`` in the learned state (attributes ending in ``_``) must be on the model's device
   (``device_`` when the generator sets it, else its ``device`` parameter) and, when it was created by a
   factory without ``device=`` (as module constructors do), must have been moved there explicitly
   (``module.to(device)``, ``.cuda()``, ``tensor.to(device)``) — the audit tracks each such tensor's
   storage, so a module built on the CPU and never moved is caught on a CPU-only machine too.

**Training steps and logging steps.** The training steps start at the first gradient computation
(``loss.backward()``, ``torch.autograd.backward`` or ``torch.autograd.grad``); what runs before it is
set-up (building, moving, seeding), and what runs after the last ``log``/progress call that follows the last
gradient computation is wind-down; neither is audited for defects 1 and 2. A **logging step** is recognised
by the generator's own logging path: a call of ``self.log(...)`` (:meth:`tsbench.generator.Generator.log`)
or of the progress ``callback``. Syncs and factory calls made inside that call, or after the step's last
gradient computation and before that call (reading the losses out: ``float(loss)``,
``(frozen / n).tolist()``), belong to the logging step and are allowed — provided logging is periodic: a
generator that syncs to log on more than half of at least 4 training steps fails (log every ``k`` steps; the
steps are the step numbers the generator passes to its progress callback, so a generator reporting epochs
there should report optimisation steps instead).
Anything else is a sync *in a training step* (before a gradient computation, or between one and the next
without a log call in between) and fails the audit.

**Host syncs per training step** are the syncs in training steps divided by the number of steps (the
largest ``step`` the generator passed to the progress callback; the number of gradient computations when it
never calls it); the logging syncs are reported per logging step. Generators whose ``fit`` runs no torch
code (``gaussian``, ``real``) pass trivially; a torch generator without a ``device`` parameter is CPU-only:
its figures are reported, but it does not fail.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import sys
import warnings
from typing import Any, Callable

__all__ = ["DeviceAudit", "Event", "audit_fit", "HOST_SYNC_OPS", "CUDA_SYNC_WARNING"]

_HERE = os.path.abspath(__file__)
_WARNINGS = os.path.abspath(warnings.__file__)
#: the message of torch's CUDA sync-debug warning (``torch.cuda.set_sync_debug_mode("warn")``)
CUDA_SYNC_WARNING = "called a synchronizing CUDA operation"

#: ATen ops that read device memory on the host to finish (a device→host sync on an accelerator)
HOST_SYNC_OPS = ("_local_scalar_dense", "nonzero", "masked_select", "_unique", "_unique2", "unique_dim",
                 "unique_consecutive", "equal", "is_nonzero", "bincount")
#: Tensor methods that hand a tensor's value to Python / NumPy (a host transfer)
_HOST_METHODS = ("item", "tolist", "numpy", "cpu", "__float__", "__int__", "__bool__", "__index__", "__complex__",
                 "__array__", "__format__", "__repr__", "__str__", "__contains__")


@dataclasses.dataclass(frozen=True)
class Event:
    """One intercepted call: ``kind`` (``"sync"`` or ``"factory"``), what it was, where (``file:line in
    function`` of the generator's code) and the phase it fell in (setup / step / logging / after)."""

    kind: str
    what: str
    site: str
    phase: str


@dataclasses.dataclass
class DeviceAudit:
    """What :func:`audit_fit` saw during one ``fit``."""

    events: list[Event]
    steps: int
    logging_calls: int
    gradient_calls: int
    device: str | None
    has_device_param: bool
    torch_used: bool
    #: parameters/buffers (``attr.name``) not on the model's device, with where they are
    misplaced: list[str]
    #: parameters/buffers created without ``device=`` and never moved explicitly
    never_moved: list[str]
    n_tensors: int

    def count(self, kind: str, phase: str) -> int:
        return sum(e.kind == kind and e.phase == phase for e in self.events)

    @property
    def syncs_per_step(self) -> float:
        """Host syncs in training steps (logging steps' read-outs excluded) per training step."""
        return self.count("sync", "step") / max(self.steps, 1)

    @property
    def syncs_per_logging_step(self) -> float:
        return self.count("sync", "logging") / max(self.logging_calls, 1)

    def _sites(self, kind: str, phase: str) -> str:
        counts = collections.Counter((e.what, e.site) for e in self.events if e.kind == kind and e.phase == phase)
        return "; ".join(f"{what} at {site} ({n}×)" for (what, site), n in counts.most_common())

    def _logging_syncs_every_step(self) -> bool:
        return self.steps >= 4 and self.count("sync", "logging") > 0 and self.logging_calls > self.steps / 2

    def problems(self) -> list[str]:
        """The defects found (empty when the generator passes; always empty without a ``device`` parameter)."""
        if not self.has_device_param:
            return []
        problems = []
        if self.count("factory", "step"):
            problems.append(f"{self.count('factory', 'step')} tensor(s) created without device= in training steps "
                            f"(they land on the default device, not the model's): {self._sites('factory', 'step')}; "
                            "pass device=<the model's device> or use torch.*_like / x.new_*")
        if self.count("sync", "step"):
            problems.append(f"{self.syncs_per_step:.3g} host sync(s) per training step outside logging steps: "
                            f"{self._sites('sync', 'step')}; keep values on the device (masks, torch.where) and read "
                            "them only when logging (self.log / the progress callback)")
        if self._logging_syncs_every_step():
            problems.append(f"syncs to log on {self.logging_calls} of {self.steps} training steps "
                            f"({self._sites('sync', 'logging')}); log every k steps (e.g. log_every = 10) — steps are the "
                            "step numbers passed to the progress callback: count optimisation steps there, not epochs")
        if self.misplaced:
            problems.append(f"parameter(s)/buffer(s) not on the model's device {self.device}: "
                            + ", ".join(self.misplaced[:8]) + (" …" if len(self.misplaced) > 8 else ""))
        if self.never_moved:
            problems.append("parameter(s)/buffer(s) created without a device and never moved to the model's device "
                            "(call module.to(device) on every module of the learned state): "
                            + ", ".join(self.never_moved[:8]) + (" …" if len(self.never_moved) > 8 else ""))
        return problems

    def summary(self) -> str:
        """One line: host syncs per training step first (the figure the check reports)."""
        if not self.torch_used:
            return "fit ran no torch code: nothing to audit"
        text = (f"{self.syncs_per_step:.3g} host syncs per training step ({self.steps} steps; "
                f"{self.syncs_per_logging_step:.3g} per logging step, {self.logging_calls} logging steps; "
                f"{self.count('factory', 'step')} tensors created without device= in steps; "
                f"{self.n_tensors} parameters/buffers on {self.device})")
        if not self.gradient_calls:
            text += "; no gradient computation during fit, so no training steps to audit"
        if not self.has_device_param:
            text += "; no device parameter: a CPU-only generator, not failed"
        return text


class _State:
    """Shared by the two interceptors: the phase machine, the events and the storage provenance."""

    def __init__(self, torch):
        self.torch = torch
        self.torch_dir = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
        self.optim_dir = os.path.join(self.torch_dir, "optim") + os.sep
        self.plumbing = tuple(os.path.join(self.torch_dir, p) for p in (
            "overrides.py", "utils/_python_dispatch.py", "_dynamo/", "_compile.py", "_ops.py", "utils/_device.py"))
        self.events: list[Event] = []
        self.pending: list[Event] = []  # events since the last gradient computation, not yet classified
        self.started = False  # a gradient computation has run: training steps under way
        self.in_host_call = 0  # inside an intercepted host-transfer method: its ATen ops are the same sync
        self.in_logging = 0  # inside self.log / the callback
        self.gradient_calls = 0
        self.logging_calls = 0  # logging steps: log/callback calls with no gradient computation between them count once
        self.logged_since_gradient = False
        self.max_step = 0
        self.implicit: dict[int, Any] = {}  # storage ptr → tensor created without device= (kept alive)
        self.placed: dict[int, str] = {}  # storage ptr → device type it was explicitly moved to
        self.torch_seen = False
        self.on_gradient: Callable[[int], None] | None = None

    # where a call comes from ----------------------------------------------------------------------
    def _frames(self):
        frame = sys._getframe(1)
        while frame is not None:
            path = frame.f_code.co_filename
            if path not in (_HERE, _WARNINGS) and not path.startswith(self.plumbing):
                yield frame
            frame = frame.f_back

    def site(self, *, exempt_internal: bool, exempt_optim: bool = True) -> str | None:
        """``file:line in function`` of the generator's code behind the current call, or None when the call is
        torch's own business: made directly by torch code (``exempt_internal``) or from inside ``torch.optim``
        (``exempt_optim``)."""
        for frame in self._frames():
            path = frame.f_code.co_filename
            if path.startswith(self.torch_dir):
                if exempt_internal or (exempt_optim and path.startswith(self.optim_dir)):
                    return None
                continue
            return f"{os.path.basename(path)}:{frame.f_lineno} in {frame.f_code.co_name}"
        return None

    # the phase machine ----------------------------------------------------------------------------
    def record(self, kind: str, what: str, site: str) -> None:
        if self.in_logging:
            self.events.append(Event(kind, what, site, "logging"))
        else:
            self.pending.append(Event(kind, what, site, ""))

    def _flush(self, phase: str) -> None:
        self.events.extend(dataclasses.replace(e, phase=phase) for e in self.pending)
        self.pending.clear()

    def gradient(self) -> None:
        if self.on_gradient is not None:
            self.on_gradient(self.gradient_calls + 1)
        self.gradient_calls += 1
        self.logged_since_gradient = False
        self._flush("step" if self.started else "setup")
        self.started = True

    def enter_logging(self) -> None:
        if not self.in_logging:
            if not self.logged_since_gradient:
                self.logging_calls += 1
                self.logged_since_gradient = True
            self._flush("logging" if self.started else "setup")
        self.in_logging += 1

    def exit_logging(self) -> None:
        self.in_logging -= 1

    def finish(self) -> None:
        self._flush("after" if self.started else "setup")

    # storage provenance ---------------------------------------------------------------------------
    @staticmethod
    def _ptr(t) -> int | None:
        try:
            return t.untyped_storage().data_ptr() if t.numel() else None
        except Exception:  # sparse, meta, tensor subclasses without storage
            return None

    def implicit_tensor(self, t) -> None:
        ptr = self._ptr(t)
        if ptr:
            self.implicit[ptr] = t

    def placed_on(self, t, device) -> None:
        ptr = self._ptr(t)
        if ptr and device is not None:
            self.placed[ptr] = self.torch.device(device).type


def _factories(torch) -> set:
    """The functions that take the default device: the set :func:`torch.set_default_device` redirects."""
    try:
        from torch.utils._device import _device_constructors  # private; present in every torch >= 2.0

        return set(_device_constructors())
    except ImportError:
        names = ("empty", "empty_strided", "empty_permuted", "zeros", "ones", "full", "eye", "arange", "range",
                 "linspace", "logspace", "rand", "randn", "randint", "randperm", "tensor", "as_tensor", "asarray",
                 "scalar_tensor", "tril_indices", "triu_indices")
        return {getattr(torch, name) for name in names if hasattr(torch, name)}


def _interceptors(state: _State):
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode

    factories = _factories(torch)
    data_factories = {torch.tensor, torch.as_tensor, torch.asarray}  # keep a tensor argument's device
    host = {getattr(torch.Tensor, name): name for name in _HOST_METHODS}
    gradients = {torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad}
    moves = {torch.Tensor.to: "to", torch.Tensor.cuda: "cuda"}
    factory_names = {f: f"torch.{getattr(f, '__name__', f)}" for f in factories}
    sync_ops = set(HOST_SYNC_OPS)

    def _target_device(kind, args, kwargs):
        if kind == "cuda":
            return "cuda"
        if "device" in kwargs:
            return kwargs["device"]
        for arg in args[1:]:
            if isinstance(arg, (str, torch.device)):
                return arg
            if isinstance(arg, torch.Tensor):
                return arg.device
        return None

    class FunctionAudit(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            state.torch_seen = True
            if func in gradients:
                state.gradient()
                return func(*args, **kwargs)
            if func in host:
                site = state.site(exempt_internal=False)
                if site:
                    state.record("sync", f".{host[func]}()" if not host[func].startswith("__")
                                  else host[func].strip("_") + "(tensor)", site)
                state.in_host_call += 1
                try:
                    return func(*args, **kwargs)
                finally:
                    state.in_host_call -= 1
            if func in factories:
                out = func(*args, **kwargs)
                explicit = kwargs.get("device") is not None
                if func in data_factories and args and isinstance(args[0], torch.Tensor):
                    explicit = True  # as_tensor(t) / tensor(t) keep t's device
                if explicit:
                    if kwargs.get("device") is not None and isinstance(out, torch.Tensor):
                        state.placed_on(out, kwargs["device"])
                else:
                    if isinstance(out, torch.Tensor):
                        state.implicit_tensor(out)
                    site = state.site(exempt_internal=True)
                    if site:
                        state.record("factory", f"{factory_names[func]}(…) without device=", site)
                return out
            if func in moves and args and isinstance(args[0], torch.Tensor):
                out = func(*args, **kwargs)
                device = _target_device(moves[func], args, kwargs)
                if device is not None:
                    state.placed_on(args[0], device)
                    if isinstance(out, torch.Tensor):
                        state.placed_on(out, device)
                return out
            return func(*args, **kwargs)

    class DispatchAudit(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = func._schema.name.split("::")[-1]
            what = None
            if name in sync_ops:
                what = f"aten.{name}"
            elif name in ("index", "index_put", "index_put_", "_index_put_impl_"):
                indices = args[1] if len(args) > 1 else kwargs.get("indices", ())
                if any(isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in indices or ()):
                    what = f"aten.{name} with a boolean mask"
            elif name == "repeat_interleave" and func._overloadname == "Tensor" and kwargs.get("output_size") is None:
                what = "aten.repeat_interleave without output_size"
            elif name in ("_to_copy", "copy_", "copy"):
                src = args[1] if name != "_to_copy" else args[0]
                dst = kwargs.get("device") if name == "_to_copy" else args[0].device
                if (isinstance(src, torch.Tensor) and dst is not None and torch.device(dst).type == "cpu"
                        and src.device.type not in ("cpu", "meta")):
                    what = f"aten.{name} to the CPU"
            if what and not state.in_host_call:
                site = state.site(exempt_internal=False)
                if site:
                    state.record("sync", what, site)
            return func(*args, **kwargs)

    return FunctionAudit(), DispatchAudit()


@contextlib.contextmanager
def _sync_warnings(state: _State, enabled: bool):
    """Record CUDA sync-debug warnings as sync events (other warnings are shown as usual)."""
    if not enabled:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        show = warnings.showwarning

        def showwarning(message, category, filename, lineno, file=None, line=None):
            if CUDA_SYNC_WARNING in str(message):
                # a real synchronisation, wherever it comes from (torch.optim included)
                state.record("sync", "CUDA sync (sync debug)", state.site(exempt_internal=False, exempt_optim=False)
                             or f"{os.path.basename(filename)}:{lineno}")
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = showwarning
        yield


def _modules(estimator, torch) -> dict[str, Any]:
    return {key: value for key, value in vars(estimator).items()
            if key.endswith("_") and not key.startswith("_") and isinstance(value, torch.nn.Module)}


def audit_fit(estimator, X, *, seed: int = 0, callback: Callable | None = None,
              on_gradient: Callable[[int], None] | None = None, cuda_sync_warnings: bool = False,
              **fit_kwargs) -> DeviceAudit:
    """Fit ``estimator`` on ``X`` under the audit and return what it saw (see the module docstring).

    ``callback`` (optional) is called as the progress callback; ``fit_kwargs`` go to ``fit`` (``X_test``).
    ``on_gradient(k)`` (optional) is called just before the ``k``-th gradient computation (``k = 1``: the
    training steps start) — ``scripts/gpu_check.py`` switches ``torch.cuda.set_sync_debug_mode`` there.
    With ``cuda_sync_warnings``, every warning of torch's CUDA sync debug mode ("called a synchronizing CUDA
    operation") raised during ``fit`` is recorded as a sync event ``"CUDA sync (sync debug)"`` at the
    generator's line and classified like the others (the warning is not shown).
    Exceptions of ``fit`` propagate. Without torch in the process, nothing is intercepted.
    """
    names = set(estimator.get_params(deep=False)) if hasattr(estimator, "get_params") else set()
    has_device_param = "device" in names
    torch = sys.modules.get("torch")
    if torch is None:  # the generator never imported torch: it cannot run torch code
        estimator.fit(X, seed=seed, callback=callback, **fit_kwargs)
        return DeviceAudit([], 0, 0, 0, None, has_device_param, False, [], [], 0)
    state = _State(torch)

    def progress(step, total, losses):
        state.max_step = max(state.max_step, int(step))
        state.enter_logging()
        try:
            if callback is not None:
                callback(step, total, losses)
        finally:
            state.exit_logging()

    original_log = getattr(estimator, "log", None)
    if callable(original_log):
        def log(*args, **kwargs):
            state.enter_logging()
            try:
                return original_log(*args, **kwargs)
            finally:
                state.exit_logging()
        estimator.log = log  # an instance attribute shadows the method for this fit only
    state.on_gradient = on_gradient
    function_mode, dispatch_mode = _interceptors(state)
    try:
        with dispatch_mode, function_mode, _sync_warnings(state, cuda_sync_warnings):
            estimator.fit(X, seed=seed, callback=progress, **fit_kwargs)
    finally:
        if callable(original_log):
            del estimator.log
        state.finish()

    device = getattr(estimator, "device_", None)
    if device is None and has_device_param and str(estimator.get_params(deep=False)["device"]) != "auto":
        try:
            device = torch.device(estimator.get_params(deep=False)["device"])
        except (RuntimeError, TypeError):
            device = None
    device = torch.device(device) if device is not None else None
    misplaced, never_moved, n_tensors = [], [], 0
    for attr, module in _modules(estimator, torch).items():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            n_tensors += 1
            label = f"{attr}.{name}"
            if device is not None and (tensor.device.type != device.type or (
                    device.index is not None and tensor.device.index not in (None, device.index))):
                misplaced.append(f"{label} on {tensor.device}")
                continue
            ptr = state._ptr(tensor)
            if ptr in state.implicit and (device is None or state.placed.get(ptr) != device.type):
                never_moved.append(label)
    steps = state.max_step or state.gradient_calls
    return DeviceAudit(state.events, steps, state.logging_calls, state.gradient_calls,
                       None if device is None else str(device), has_device_param,
                       state.torch_seen or n_tensors > 0, misplaced, never_moved, n_tensors)
