"""One cell's folder: the names and formats of its files, their verified reads and their atomic writes.

Layout of ``cells/<cell_id>/`` (nothing else spells these names)::

    cell.json                  the cell's spec, identity and provenance (written first, rewritten each run)
    model.ckpt                 generator checkpoint (state_dict / npz)
    losses.csv                 loss curves logged during fit (when the generator logs any)
    samples.npy                synthetic windows, float32 (n, seq_len, n_features)
    fit.ckpt                   mid-fit training state of an unfinished fit (removed once the cell is trained)
    trained.json               marker: fit + sample finished (written last of the training step)
    failed.json                the last failure (removed when the cell later succeeds)
    metrics/<key>.json         one finished metric result (values per repeat, timing)
    metrics/<key>.failed.json  that metric's last failure
    artefacts/<metric>/        plots and coordinates written by metrics

Verification. ``trained.json`` records the size and sha256 of each data file the training step wrote
(``model.ckpt``, ``samples.npy``, ``losses.csv``); it and every metric result also carry a ``sha256`` of their
own content. A result file that is missing, truncated or altered is *corrupt*: reads warn
(:class:`CorruptCellFile`, naming the file and what happens next) and treat it as absent, so the cell is
trained again or just that metric computed again — a corrupt file is never used and never crashes a read.
Files written before checksums existed carry none; they are accepted when they parse.
"""
from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import Any, Callable, Collection, Iterable

import numpy as np

from .atomic import atomic_save, atomic_write_bytes, atomic_write_json, json_bytes, remove, storage_errors

#: key of the content checksum embedded in ``trained.json`` and metric results
SEAL = "sha256"
#: cell spec fields the records need
_SPEC_FIELDS = ("cell_id", "dataset", "generator", "seed", "preset", "protocol")
#: metric result fields the records need
_METRIC_FIELDS = ("metric_name", "version", "outputs", "values", "metric_s")


class CorruptCellFile(UserWarning):
    """A cell file failed verification; it is ignored and recomputed."""


class _Corrupt(Exception):
    def __init__(self, name: str, reason: str):
        super().__init__(name, reason)
        self.name, self.reason = name, reason


class CellFolder:
    """The on-disk cell ``path`` (``<out>/cells/<cell_id>``): layout, verified reads, atomic writes.

    Reads return ``None`` for a missing file and, for a corrupt one, warn (unless ``action`` is ``None``) and
    return ``None`` too. Writes are atomic; a storage failure raises :class:`.atomic.ResultsNotWritable`.
    """

    SPEC, TRAINED, FAILED = "cell.json", "trained.json", "failed.json"
    MODEL, LOSSES, SAMPLES = "model.ckpt", "losses.csv", "samples.npy"
    FIT_STATE = "fit.ckpt"
    METRICS, ARTEFACTS = "metrics", "artefacts"
    #: written by a run but never read back by one (a worker's copy of the folder may lack them)
    NOT_READ = (MODEL, LOSSES, ARTEFACTS + "/")

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"CellFolder({str(self.path)!r})"

    @property
    def cell_id(self) -> str:
        return self.path.name

    # layout -------------------------------------------------------------------------------------------
    @classmethod
    def metric_file(cls, key: str) -> str:
        return f"{cls.METRICS}/{key}.json"

    @classmethod
    def metric_failure_file(cls, key: str) -> str:
        return f"{cls.METRICS}/{key}.failed.json"

    def artefact_dir(self, metric_name: str) -> Path:
        return self.path / self.ARTEFACTS / metric_name

    def exists(self) -> bool:
        """Whether the cell was ever started (its spec was written)."""
        return (self.path / self.SPEC).exists()

    @classmethod
    def is_failure_marker(cls, rel: str) -> bool:
        return rel == cls.FAILED or rel.endswith(".failed.json")

    @classmethod
    def is_completion_marker(cls, rel: str) -> bool:
        return rel == cls.TRAINED or (rel.startswith(cls.METRICS + "/") and not cls.is_failure_marker(rel))

    @classmethod
    def write_rank(cls, rel: str) -> int:
        """Safe write order of the files of a cell: spec, failure markers, data, ``trained.json``, metrics."""
        if rel == cls.SPEC:
            return 0
        if cls.is_failure_marker(rel):
            return 1
        if rel == cls.TRAINED:
            return 3
        if rel.startswith(cls.METRICS + "/"):
            return 4
        return 2

    # reads ---------------------------------------------------------------------------------------------
    def read_spec(self, action: str | None = None) -> dict | None:
        """``cell.json``: parsed and holding the identity fields (no checksum: it is rewritten by every run)."""
        def read():
            spec = self._json(self.SPEC)
            missing = [f for f in _SPEC_FIELDS if f not in spec]
            if missing:
                raise _Corrupt(self.SPEC, f"fields {', '.join(missing)} missing")
            return spec
        return self._read(read, action)

    def read_failure(self, action: str | None = None) -> dict | None:
        """``failed.json``, the cell's last failure."""
        return self._read(lambda: self._json(self.FAILED), action)

    def read_metric_failure(self, key: str, action: str | None = None) -> dict | None:
        return self._read(lambda: self._json(self.metric_failure_file(key)), action)

    def read_metric(self, key: str, action: str | None = None) -> dict | None:
        """The verified result of metric ``key`` (checksum, and the fields the records need)."""
        def read():
            result = self._sealed(self.metric_file(key))
            missing = [f for f in _METRIC_FIELDS if f not in result]
            if missing or not isinstance(result["values"], dict):
                raise _Corrupt(self.metric_file(key), f"fields {', '.join(missing) or 'values'} missing or malformed")
            return result
        return self._read(read, action)

    def read_trained(self, action: str | None = None, *, verify_data: bool = True,
                     absent_ok: Collection[str] = ()) -> dict | None:
        """The training marker, verified; with ``verify_data`` also every data file it records (a recorded
        file may be missing only when named in ``absent_ok``)."""
        def read():
            marker = self._sealed(self.TRAINED)
            if verify_data:
                self._data(marker, absent_ok)
            return marker
        return self._read(read, action)

    def trained_samples(self, action: str | None = "the cell is trained again", *,
                        absent_ok: Collection[str] = ()) -> np.ndarray | None:
        """The samples of a verified trained cell, or ``None`` when it is not (validly) trained."""
        def read():
            marker = self._sealed(self.TRAINED)
            return self._data(marker, absent_ok)
        return self._read(read, action)

    def metric_keys_on_disk(self) -> dict[str, str]:
        """``{metric display name: key}`` of the verified metric results (the newest file per name): what
        ``cell.json`` lists, recovered when it is unreadable."""
        found = sorted((self.path / self.METRICS).glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        keys = {}
        for path in found:
            if not self.is_failure_marker(path.name):
                result = self.read_metric(path.stem)
                if result is not None and isinstance(result.get("metric"), str):
                    keys[result["metric"]] = path.stem
        return keys

    def is_complete(self, metric_keys: Iterable[str]) -> bool:
        """Readable spec, trained, not failed and every metric result present — all verified (no warning)."""
        return (not (self.path / self.FAILED).exists() and self.read_spec() is not None
                and self.read_trained() is not None and all(self.read_metric(k) is not None for k in metric_keys))

    # writes --------------------------------------------------------------------------------------------
    def create(self) -> None:
        with storage_errors(self.path):
            self.path.mkdir(parents=True, exist_ok=True)

    def write_spec(self, info: dict) -> None:
        atomic_write_json(self.path / self.SPEC, info)

    def save_model(self, writer: Callable[[str], Any]) -> str:
        """``writer(tmp_path)`` writes the checkpoint; returns its name for :meth:`mark_trained`."""
        atomic_save(self.path / self.MODEL, writer)
        return self.MODEL

    def fit_checkpoint(self, **when):
        """The mid-fit checkpoint ``fit.ckpt``: a :class:`tsbench.generator.TrainingCheckpoint` (``when``: its
        ``every`` / ``seconds``) written with the folder's atomic writer."""
        from ..generator import TrainingCheckpoint

        return TrainingCheckpoint(self.path / self.FIT_STATE, save_file=atomic_save, **when)

    def remove_temp_files(self) -> list[str]:
        """Remove the temporary files (``.name.xxx.tmp``) of atomic writes a killed run left behind; only safe
        while no write into this folder is in flight (the run that owns the cell calls it as it starts)."""
        removed = []
        for path in sorted(self.path.rglob(".*.tmp")):
            if path.is_file():
                remove(path)
                removed.append(path.relative_to(self.path).as_posix())
        return removed

    def clear_fit_checkpoint(self) -> None:
        """Remove ``fit.ckpt`` (once the cell is trained, or under ``--force``)."""
        remove(self.path / self.FIT_STATE)

    def write_losses(self, csv: bytes) -> str:
        atomic_write_bytes(self.path / self.LOSSES, csv)
        return self.LOSSES

    def write_samples(self, samples: np.ndarray) -> str:
        buffer = io.BytesIO()
        np.save(buffer, samples)
        atomic_write_bytes(self.path / self.SAMPLES, buffer.getvalue())
        return self.SAMPLES

    def mark_trained(self, timings: dict, files: Iterable[str] = (SAMPLES,)) -> None:
        """Write ``trained.json`` (last of the training step): ``timings`` plus size and sha256 of ``files``."""
        record = {}
        for name in files:
            data = (self.path / name).read_bytes()
            record[name] = {"bytes": len(data), SEAL: _sha256(data)}
        atomic_write_bytes(self.path / self.TRAINED, json_bytes(seal({**timings, "files": record})))

    def unmark(self) -> None:
        """Remove the training marker and every metric result (``--force``, or before training again: results
        computed from other samples are void). Data files are rewritten as they are recomputed."""
        remove(self.path / self.TRAINED)
        for result in (self.path / self.METRICS).glob("*.json"):
            if not self.is_failure_marker(result.name):
                remove(result)

    def write_failure(self, record: dict) -> None:
        atomic_write_json(self.path / self.FAILED, record)

    def clear_failure(self) -> None:
        remove(self.path / self.FAILED)

    def write_metric(self, key: str, result: dict) -> None:
        """Write metric ``key``'s result (sealed) and clear its failure marker."""
        atomic_write_bytes(self.path / self.metric_file(key), json_bytes(seal(result)))
        remove(self.path / self.metric_failure_file(key))

    def write_metric_failure(self, key: str, record: dict) -> None:
        atomic_write_json(self.path / self.metric_failure_file(key), record)

    def discard(self, rel: str) -> None:
        """Remove one file (e.g. a corrupt metric result before it is computed again)."""
        remove(self.path / rel)

    # helpers -------------------------------------------------------------------------------------------
    def _read(self, read: Callable[[], Any], action: str | None):
        try:
            return read()
        except FileNotFoundError:
            return None
        except _Corrupt as bad:
            if action is not None:
                warn_corrupt(self.path / bad.name, bad.reason, action)
            return None

    def _bytes(self, rel: str) -> bytes:
        try:
            return (self.path / rel).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(rel) from None
        except OSError as exc:
            raise _Corrupt(rel, f"unreadable ({exc.strerror or exc})") from None

    def _json(self, rel: str) -> dict:
        try:
            doc = json.loads(self._bytes(rel))
        except (ValueError, UnicodeDecodeError):
            raise _Corrupt(rel, "not valid JSON (truncated or overwritten)") from None
        if not isinstance(doc, dict):
            raise _Corrupt(rel, f"a JSON {type(doc).__name__}, not an object")
        return doc

    def _sealed(self, rel: str) -> dict:
        doc = self._json(rel)
        if SEAL in doc:
            payload = {k: v for k, v in doc.items() if k != SEAL}
            if doc[SEAL] != _digest(payload):
                raise _Corrupt(rel, "content does not match its checksum (altered after it was written)")
            return payload
        return doc  # written before checksums existed

    def _data(self, marker: dict, absent_ok: Collection[str]) -> np.ndarray | None:
        """Check every data file ``marker`` records; returns the samples (``None`` if absent and allowed)."""
        files = marker.get("files")
        if files is None:  # a marker from before checksums: only the samples can be checked (they must load)
            files = {self.SAMPLES: None}
        if not isinstance(files, dict):
            raise _Corrupt(self.TRAINED, "malformed 'files' record")
        samples = None
        for name, expected in sorted(files.items()):
            try:
                data = self._bytes(name)
            except FileNotFoundError:
                if name in absent_ok:
                    continue
                raise _Corrupt(name, "missing, though trained.json records it") from None
            if expected is not None:
                if len(data) != expected.get("bytes"):
                    raise _Corrupt(name, f"{len(data)} bytes, {expected.get('bytes')} recorded (truncated?)")
                if _sha256(data) != expected.get(SEAL):
                    raise _Corrupt(name, "sha256 does not match the recorded checksum (altered after it was written)")
            if name == self.SAMPLES:
                try:
                    samples = np.load(io.BytesIO(data), allow_pickle=False)
                except (ValueError, OSError, EOFError) as exc:
                    raise _Corrupt(name, f"not a readable .npy array ({exc})") from None
        return samples


def seal(payload: dict) -> dict:
    """``payload`` as it reads back from JSON, plus its checksum under :data:`SEAL`."""
    if SEAL in payload:
        raise ValueError(f"{SEAL!r} is reserved for the checksum")
    plain = json.loads(json_bytes(payload))
    return {**plain, SEAL: _digest(plain)}


def warn_corrupt(path: Path, reason: str, action: str) -> None:
    """One warning line naming the corrupt file, what is wrong and what happens next."""
    warnings.warn_explicit(f"corrupt cell file {path}: {reason}; {action}", CorruptCellFile,
                           filename="tsbench", lineno=0, module="tsbench")


def _digest(payload: dict) -> str:
    return _sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
