"""The ``Metric`` interface.

``compute(real_train, real_test, synthetic, *, seed, artefact_dir=None)`` scores synthetic windows against
real ones and returns ``{output: [value per repeat]}``. All arrays are float32 ``(n, seq_len, n_features)``
with identical ``seq_len``/``n_features``. Which real windows a metric trains on and scores against is
set by its ``protocol`` parameter (``timegan2019`` or ``tsbench``, see :mod:`tsbench.protocols`); under
``timegan2019`` ``real_train`` and ``real_test`` are the same windows.

Metadata: ``outputs`` maps each output name to its direction (``True`` = higher is better,
``False`` = lower is better, ``None`` = no direction); the main output is named ``"value"`` and appears
in records under the metric's display name, others as ``display.output``. ``version`` is bumped when a
change alters values. Plots and other artefacts go into ``artefact_dir`` (the cell's folder) when given.

Metric repeats (``repeats``; default: the protocol's) are independent re-evaluations with their own
seeds, separate from generator training seeds; every repeat is kept in the records.

Subclasses implement ``_compute`` (or override ``compute``); one lacking it fails when instantiated, naming it.

**Devices.** A metric that can compute on an accelerator takes a runtime-only ``device`` parameter (default
``"auto"``; like a generator's, it is not part of the metric's identity, cache key or seed). The runner and
:func:`tsbench.evaluation.timed_compute` replace ``"auto"`` by the cell's device; ``"auto"`` left as it is means
CUDA when visible, else the CPU (:func:`resolve_device`). Random draws stay on CPU generators, so every device
sees the same initial weights and batches and the values agree to float tolerance.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .card import Card
from .contract import check_complete
from .params import Interval
from .protocols import get_protocol
from .validation import check_same_layout, check_windows

MetricResult = dict[str, list[float]]

_HOOKS = (("compute", "_compute"),)


def resolve_device(device):
    """A metric's ``device`` parameter as a ``torch.device``: ``"auto"`` → CUDA when visible, else the CPU;
    ``"cuda"`` without a visible GPU is an :class:`~tsbench.errors.InputError`."""
    import torch

    from .errors import InputError

    if str(device).strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError("metric device", expected="auto, cpu, cuda or cuda:N", got=repr(device),
                         fix="pass device=auto (the cell's device; CUDA when visible) or device=cpu") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError("metric device", expected="an available device", got=f"{device!r} but no CUDA GPU is visible",
                         fix="pass device=auto or device=cpu")
    return resolved


@contextlib.contextmanager
def float32_exact(device):
    """On CUDA, TF32 off for matrix products and cuDNN convolutions while a metric computes (restored
    afterwards), so its values stay within float32 round-off of the CPU's; elsewhere nothing changes."""
    import torch

    if torch.device(device).type != "cuda":
        yield
        return
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


class Metric(BaseEstimator):
    name: ClassVar[str] = ""
    card: ClassVar[Card] = Card(title="")
    version: ClassVar[str] = "1"
    outputs: ClassVar[dict[str, bool | None]] = {"value": False}
    presets: ClassVar[dict[str, dict]] = {}
    known_failures: ClassVar[dict[str, str]] = {}
    #: declared parameter ranges beyond the constructor's annotations (see :mod:`tsbench.params`)
    parameter_constraints: ClassVar[dict] = {"repeats": Interval(1, None)}
    #: protocols under which the metric is defined (e.g. one that needs a held-out split excludes timegan2019)
    protocols: ClassVar[tuple[str, ...]] = ("timegan2019", "tsbench")

    def __new__(cls, *args, **kwargs):
        cls.check_contract()  # fails here, naming _compute, rather than at the first compute
        return super().__new__(cls)

    @classmethod
    def check_contract(cls) -> None:
        """Raise :class:`~tsbench.contract.IncompleteComponentError` when ``_compute`` is missing."""
        check_complete(cls, Metric, _HOOKS)

    @property
    def higher_is_better(self) -> bool | None:
        return self.outputs.get("value")

    def n_repeats(self) -> int:
        repeats = getattr(self, "repeats", None)
        protocol = getattr(self, "protocol", "tsbench")
        return int(repeats) if repeats else get_protocol(protocol).default_repeats

    def compute(self, real_train, real_test, synthetic, *, seed: int, artefact_dir: str | Path | None = None,
                reference=None) -> MetricResult:
        """Validate the parameters and the inputs, then :meth:`_compute`; returns ``{output: [float per repeat]}``.

        ``reference`` (default: ``real_train``) is the real data that anything data-dependent but not part of
        the comparison is fitted on — a kernel bandwidth, a feature encoder, histogram edges. The runner passes
        the dataset's training windows for every row, so that state is the same for every row of a table; a
        metric that fits such state reads it from ``self.reference_`` and never from ``synthetic``.
        """
        self._check_params()
        real_train = check_windows(real_train, what="real_train")
        real_test = check_windows(real_test, what="real_test")
        synthetic = check_windows(synthetic, what="synthetic")
        check_same_layout(real_train, real_test)
        check_same_layout(real_test, synthetic)
        if reference is None:
            self.reference_ = real_train
        else:
            self.reference_ = check_windows(reference, what="reference")
            check_same_layout(real_train, self.reference_)
        if artefact_dir is not None:
            Path(artefact_dir).mkdir(parents=True, exist_ok=True)
        result = self._compute(real_train, real_test, synthetic, seed=int(seed),
                               artefact_dir=Path(artefact_dir) if artefact_dir else None)
        return {key: [float(v) for v in np.atleast_1d(values)] for key, values in result.items()}

    def _check_params(self) -> None:
        """Raise :class:`~tsbench.errors.InputError` for a bad parameter (called first by :meth:`compute`)."""

    def _compute(self, real_train: np.ndarray, real_test: np.ndarray, synthetic: np.ndarray, *, seed: int,
                 artefact_dir: Path | None) -> MetricResult:
        raise NotImplementedError(f"{type(self).__name__} does not implement _compute")
