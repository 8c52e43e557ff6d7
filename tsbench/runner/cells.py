"""Cells: the unit of work — one (dataset[params], generator[params], training seed) under a preset and a
protocol — and their identity.

The cell id is a hash of: dataset name, version and resolved parameters; generator name, resolved
parameters (runtime-only ones such as ``device`` excluded), class ``version`` and the source hash of its
module; the preset, the protocol tag, the seed, the device type (``cpu``/``cuda``/``mps``, not the index)
and the precision (``float32``, ``amp``, ``float32-tf32``), so a CPU cell and a CUDA or mixed-precision cell
never share a cache entry; a ``--deterministic`` cell is its own entry too, and so is a ``--batch-seeds`` cell (trained
together with its other seeds: equal to a separate fit to float tolerance only). Editing one generator's file
invalidates only its cells.

The seeds a cell trains, samples and scores with derive from *names* only (:attr:`CellSpec.seed_id`: dataset
identity, generator name and resolved parameters, preset, protocol, seed index; metric name and parameters), not
from the code hashes or versions in the cell id: editing a generator or metric re-runs its cells with the same
seeds, so a number moves only when the computation does. The spec written to a cell's
``cell.json`` also carries the generator class's declared ``role`` (model, calibration, corruption), which the
records and the report read; it is not part of the id.
Metric results inside a cell are keyed the same way (metric name, resolved parameters, version, source
hash, protocol), so adding a metric never retrains anything; :class:`MetricSpec` and the hashes live below
the runner, in :mod:`tsbench.evaluation`, and are re-exported here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import InputError
from ..evaluation import MetricSpec, source_hash
from ..evaluation import stable_hash as _hash
from ..generator import identity_params
from ..naming import format_display_name, parse_display_name
from ..params import check_params
from ..presets import resolve_params
from ..protocols import get_protocol
from ..registry import generators
from ..seeding import derive_seed


@dataclass(frozen=True)
class CellSpec:
    """Everything a worker needs to run one cell (picklable)."""

    dataset: str  # display name or file path
    generator: str  # display name
    seed: int  # training seed index (0, 1, 2, …)
    preset: str
    protocol: str  # the tag, e.g. "tsbench@2"
    metrics: tuple[MetricSpec, ...]
    generator_params: dict
    device: str
    n_samples: int | None
    cell_id: str
    dataset_id: dict = field(default_factory=dict)
    generator_version: str = ""
    timeout: float | None = None  # seconds; not part of the identity
    metric_jobs: int = 1  # metrics computed at once in worker processes; not part of the identity
    device_type: str = "cpu"  # "cpu", "cuda", "mps" (no index): part of the identity
    precision: str = "float32"  # "float32", "amp" (mixed precision), "float32-tf32" …: part of the identity
    role: str = "model"  # the generator class's declared role (tsbench.generator.ROLES); not part of the identity
    seed_id: str = ""  # hash of the names the seeds derive from (no code hash, no version, no device)
    checkpoint: dict | None = None  # {"every": steps, "seconds": s} of mid-fit checkpoints (None: the env/default)
    deterministic: bool = False  # --deterministic: part of the identity when set (cuDNN/cuBLAS algorithms differ)
    batch_seeds: bool = False  # --batch-seeds and the generator has fit_seeds: part of the identity when set

    @property
    def label(self) -> str:
        return f"{self.dataset} / {self.generator} / seed {self.seed}"

    @property
    def data_seed(self) -> int:
        """Same data (split, Sines draw) for every generator at a given seed index."""
        return derive_seed("data", self.dataset_id["name"], self.seed)

    @property
    def fit_seed(self) -> int:
        return derive_seed("fit", self.seed_id)

    @property
    def sample_seed(self) -> int:
        return derive_seed("sample", self.seed_id)

    def metric_seed(self, metric: MetricSpec) -> int:
        return derive_seed("metric", self.seed_id, metric.seed_key)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["metrics"] = [m.display for m in self.metrics]
        return out


DEVICE_TYPES = ("cpu", "cuda", "mps")


def device_type(device: str) -> str:
    """The device type a cell computes on: ``"auto"`` resolved (CUDA when visible), the index dropped.
    Anything but ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` is an :class:`InputError`."""
    text = str(device).strip().lower()
    if text == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    kind, _, index = text.partition(":")
    if kind not in DEVICE_TYPES or (index and (kind != "cuda" or not index.isdigit())):
        raise InputError("--device", expected="auto, cpu, cuda, cuda:N or mps", got=repr(device),
                         fix="pass --device auto (CUDA when visible, else CPU) or --device cpu")
    return kind


def precision_label(device_kind: str, params: dict) -> str:
    """``"amp"`` when the generator trains in mixed precision, else ``"float32"`` — with ``"-tf32"`` on CUDA
    when float32 matrix products may use TF32 (``torch.get_float32_matmul_precision() != "highest"``)."""
    if params.get("amp"):
        return "amp"
    if device_kind == "cuda":
        import torch

        if torch.get_float32_matmul_precision() != "highest":
            return "float32-tf32"
    return "float32"


def build_cell(dataset_display: str, dataset_id: dict, generator_display: str, seed: int, *, preset: str,
               protocol: str, metric_specs: tuple[MetricSpec, ...], device: str, n_samples: int | None,
               timeout: float | None = None, checkpoint: dict | None = None,
               deterministic: bool = False, batch_seeds: bool = False) -> CellSpec:
    """The cell of one (dataset, generator, seed index). ``batch_seeds``: the cell may train together with the
    grid's other seeds of its row — set only when the generator class has ``fit_seeds`` (:func:`can_batch_seeds`);
    it changes the cell id, never the seeds."""
    name, explicit = parse_display_name(generator_display)
    gen_cls = generators.get(name)
    params = resolve_params(gen_cls, preset, explicit, display=generator_display)
    check_params(gen_cls, params, what=f"generator {name}")
    kind = device_type(device)
    precision = precision_label(kind, params)
    identity = {
        "dataset": dataset_id,
        "generator": {"name": name, "params": identity_params(params), "version": gen_cls.version,
                      "code": source_hash(gen_cls)},
        "preset": preset, "protocol": get_protocol(protocol).tag, "seed": seed, "n_samples": n_samples,
        "device_type": kind, "precision": precision,
    }
    if deterministic:  # only when set: the ids of ordinary cells stay what they were
        identity["deterministic"] = True
    batch_seeds = bool(batch_seeds) and can_batch_seeds(gen_cls)
    if batch_seeds:  # likewise: trained together, its numbers equal a separate fit's to float tolerance only
        identity["batch_seeds"] = True
    seed_names = {"dataset": dataset_id, "generator": {"name": name, "params": identity_params(params)},
                  "preset": preset, "protocol": identity["protocol"], "seed": seed}
    if "device" in gen_cls._get_param_names():
        params["device"] = device
    return CellSpec(dataset=dataset_display, generator=format_display_name(name, explicit), seed=seed,
                    preset=preset, protocol=get_protocol(protocol).tag, metrics=metric_specs, generator_params=params,
                    device=device, n_samples=n_samples, cell_id=_hash(identity), dataset_id=dataset_id,
                    generator_version=f"{gen_cls.version}+{source_hash(gen_cls)}", timeout=timeout,
                    device_type=kind, precision=precision, role=getattr(gen_cls, "role", "model"),
                    seed_id=_hash(seed_names), checkpoint=checkpoint, deterministic=bool(deterministic),
                    batch_seeds=batch_seeds)


def can_batch_seeds(gen_cls) -> bool:
    """Whether a generator class trains several seeds as one batched model (has a ``fit_seeds`` method)."""
    return callable(getattr(gen_cls, "fit_seeds", None))


__all__ = ["CellSpec", "MetricSpec", "build_cell", "can_batch_seeds", "device_type", "precision_label", "source_hash"]
