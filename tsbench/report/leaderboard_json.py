"""The machine-readable leaderboard (``tsbench table --format json``, ``results/leaderboard.json``).

:func:`leaderboard` builds a versioned document from the records alone (a pure function of them, so the
committed file re-renders byte for byte); :data:`SCHEMA` is its JSON Schema (draft 2020-12 keywords, as a
Python dict) and :func:`validate` a small validator of the keywords it uses. ``docs/leaderboard-json.md``
describes every field.

Versioning (:data:`SCHEMA_VERSION`, ``"MAJOR.MINOR"``): a new optional field raises MINOR; removing or renaming a
field, or changing a field's meaning or type, raises MAJOR. Readers should check the MAJOR part.

The numbers are those of the other formats: ``results`` holds :func:`tsbench.report.export.cells` (mean, std
with ddof = 1 over training seeds of the per-seed means over metric repeats, n seeds, the gaussian-null
verdict) plus the mark each cell gets in :func:`tsbench.report.table.build_tables`; ``cost`` holds
:func:`tsbench.report.cost.cost_frame`. Missing numbers are ``null`` (never ``NaN``: the output is strict JSON).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from ..errors import InputError
from .aggregate import KEY, check_records, generator_roles
from .cost import cost_frame
from .export import cells
from .hardware import kinds
from .null import null_verdicts
from .published import matches, resolve
from .stats import ALPHA
from .table import build_tables, seq_len_of

SCHEMA_VERSION = "1.0"

_NUM = {"type": ["number", "null"]}
_STR = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": {"type": "string"}}


def _object(properties: dict, required=None) -> dict:
    return {"type": "object", "properties": properties, "required": list(required or properties),
            "additionalProperties": False}


#: the JSON Schema of :func:`leaderboard` documents (every field required; ``null`` where stated)
SCHEMA: dict = _object({
    "schema_version": {"type": "string", "const": SCHEMA_VERSION},
    "generated_from": _object({
        "n_records": {"type": "integer", "minimum": 0},
        "git_shas": _STRINGS, "tsbench_versions": _STRINGS, "torch_versions": _STRINGS,
        "numpy_versions": _STRINGS, "python_versions": _STRINGS,
        "protocols": _STRINGS, "presets": _STRINGS, "datasets": _STRINGS, "generators": _STRINGS,
        "device_types": _STRINGS, "precisions": _STRINGS, "devices": _STRINGS, "hosts": _STRINGS,
        "first_timestamp": _STR, "last_timestamp": _STR,
    }),
    "statistics": _object({
        "alpha": {"type": "number", "minimum": 0, "maximum": 1},
        "aggregate": {"type": "string"}, "null_test": {"type": "string"}, "marks": {"type": "string"},
    }),
    "groups": {"type": "array", "items": _object({
        "protocol": {"type": "string"}, "preset": {"type": "string"}, "null": _STR})},
    "results": {"type": "array", "items": _object({
        "protocol": {"type": "string"}, "preset": {"type": "string"}, "dataset": {"type": "string"},
        "metric": {"type": "string"}, "generator": {"type": "string"}, "generator_name": _STR,
        "calibration": {"type": "boolean"},
        "direction": {"type": ["string", "null"], "enum": ["higher", "lower", None]},
        "mean": _NUM, "std": _NUM, "n": {"type": "integer", "minimum": 0},
        "n_failed": {"type": "integer", "minimum": 0}, "note": _STR,
        "vs_null": {"type": ["string", "null"], "enum": ["better", "worse", "not_separated", None]},
        "mark": {"type": ["string", "null"], "enum": ["best", "second", None]},
    })},
    "cost": {"type": "array", "items": _object({
        "protocol": {"type": "string"}, "preset": {"type": "string"}, "dataset": {"type": "string"},
        "generator": {"type": "string"}, "generator_name": _STR, "calibration": {"type": "boolean"},
        "n_seeds": {"type": "integer", "minimum": 0}, "n_parameters": _NUM, "fit_s": _NUM,
        "sample_s_per_1000": _NUM, "peak_memory_mb": _NUM, "device": _STR,
    })},
    "published": {"type": "array", "items": _object({
        "model": {"type": "string"}, "dataset": {"type": "string"}, "metric": {"type": "string"},
        "protocol": {"type": "string"}, "seq_len": {"type": "integer"}, "value": {"type": "number"},
        "std": _NUM, "citation": {"type": "string"}, "reference": {"type": "string"},
        "table": {"type": "string"}, "page": {"type": "string"}, "source": {"type": "string"},
        "shown_in": {"type": "array", "items": _object({
            "protocol": {"type": "string"}, "preset": {"type": "string"}, "dataset": {"type": "string"}})},
    })},
})

_AGGREGATE = ("mean and sample standard deviation (ddof = 1) over training seeds of each seed's mean over its "
              "metric repeats; n = seeds with a value")
_NULL_TEST = ("vs_null: one-sided Welch t-tests over seeds of a model cell against the gaussian calibration row "
              "of the same column at alpha (better / worse / not_separated; null when untested)")
_MARKS = ("mark: best / second among the models significantly better than the null in the column, as in the "
          "tables (two-sided Welch t-tests at alpha separate the groups); calibration rows are never marked")


def _clean(value):
    """JSON-ready scalar: NaN/None → None, numpy scalars → Python."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _distinct(records: pd.DataFrame, column: str) -> list[str]:
    if column not in records.columns:
        return []
    return [str(v) for v in dict.fromkeys(records[column]) if _clean(v) is not None]


def _direction(hib) -> str | None:
    hib = _clean(hib)
    return None if hib is None else ("higher" if hib in (True, "True") else "lower")


def leaderboard(records: pd.DataFrame, *, alpha: float = ALPHA, mix_devices: bool = False,
                published=False) -> dict:
    """The leaderboard document of ``records`` (never modified); ``published`` as in
    :func:`tsbench.report.table.build_tables` fills ``published`` with the entries that match a column
    (``[]`` otherwise). Raises :class:`InputError` as the tables do (bad records, mixed hardware)."""
    check_records(records)
    table_cells = cells(records, alpha=alpha, mix_devices=mix_devices)
    tables = build_tables(records, alpha=alpha, mix_devices=mix_devices)
    mark = {}
    for t in tables:
        for row in t.rows:
            for col, cell in zip(t.columns, row.cells):
                mark[(t.protocol, t.preset, col.dataset, row.generator, col.metric)] = cell.mark
    roles = generator_roles(records)
    results = []
    for r in table_cells.to_dict("records"):
        key = tuple(r[k] for k in KEY)
        results.append({
            **{k: str(r[k]) for k in KEY[:3]}, "metric": str(r["metric"]), "generator": str(r["generator"]),
            "generator_name": _clean(r["generator_name"]),
            "calibration": roles.get(str(r["generator"]), "model") != "model",
            "direction": _direction(r["higher_is_better"]), "mean": _clean(r["mean"]), "std": _clean(r["std"]),
            "n": int(r["n"]), "n_failed": int(r["n_failed"]), "note": _clean(r["note"]),
            "vs_null": _clean(r["vs_null"]), "mark": mark.get(key)})
    cost = []
    for r in cost_frame(records).to_dict("records"):
        name = _clean(r["generator_name"])
        cost.append({"protocol": str(r["protocol"]), "preset": str(r["preset"]), "dataset": str(r["dataset"]),
                     "generator": str(r["generator"]), "generator_name": name,
                     "calibration": roles.get(str(r["generator"]), "model") != "model",
                     "n_seeds": int(r["n_seeds"]), "n_parameters": _clean(r["n_parameters"]),
                     "fit_s": _clean(r["fit_s"]), "sample_s_per_1000": _clean(r["sample_s_per_1000"]),
                     "peak_memory_mb": _clean(r["peak_memory_mb"]), "device": _clean(r["device"])})
    verdicts = null_verdicts(records, alpha=alpha, mix_devices=mix_devices)
    groups = [{"protocol": str(p), "preset": str(s), "null": _clean(n)}
              for p, s, n in dict.fromkeys(zip(verdicts["protocol"], verdicts["preset"], verdicts["null"]))]
    stamps = sorted(str(t) for t in _distinct(records, "timestamp"))
    hw = kinds(records)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_from": {
            "n_records": int(len(records)),
            "git_shas": _distinct(records, "git_sha"), "tsbench_versions": _distinct(records, "tsbench_version"),
            "torch_versions": _distinct(records, "torch_version"),
            "numpy_versions": _distinct(records, "numpy_version"),
            "python_versions": _distinct(records, "python_version"),
            "protocols": _distinct(records, "protocol"), "presets": _distinct(records, "preset"),
            "datasets": _distinct(records, "dataset"), "generators": _distinct(records, "generator"),
            "device_types": hw["device_type"], "precisions": hw["precision"],
            "devices": _distinct(records, "device"), "hosts": _distinct(records, "host"),
            "first_timestamp": stamps[0] if stamps else None, "last_timestamp": stamps[-1] if stamps else None,
        },
        "statistics": {"alpha": float(alpha), "aggregate": _AGGREGATE, "null_test": _NULL_TEST, "marks": _MARKS},
        "groups": groups,
        "results": results,
        "cost": cost,
        "published": _published(records, tables, resolve(published)),
    }


def _published(records: pd.DataFrame, tables, entries) -> list[dict]:
    out = []
    for e in entries:
        shown = []
        for t in tables:
            sub = records[(records["protocol"] == t.protocol) & (records["preset"] == t.preset)]
            for col in t.columns:
                if matches(e, protocol=t.protocol, dataset=col.dataset, metric=col.metric,
                           seq_len=seq_len_of(sub, col.dataset)):
                    shown.append({"protocol": t.protocol, "preset": t.preset, "dataset": col.dataset})
        if shown:
            out.append({"model": e.model, "dataset": e.dataset, "metric": e.metric, "protocol": e.protocol,
                        "seq_len": e.seq_len, "value": e.mean, "std": e.spread, "citation": e.citation,
                        "reference": e.reference, "table": e.table, "page": e.page, "source": e.source,
                        "shown_in": shown})
    return out


def to_json(records: pd.DataFrame, **options) -> str:
    """:func:`leaderboard` as strict JSON text (2-space indent, ``\\n`` line ends, final newline)."""
    return json.dumps(leaderboard(records, **options), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def validate(document, schema: dict = SCHEMA, path: str = "$") -> list[str]:
    """Errors of ``document`` against ``schema`` (``[]`` when valid), each ``'<path>: <what>'``. Supports the
    keywords :data:`SCHEMA` uses: type, const, enum, minimum, maximum, properties, required,
    additionalProperties (``False``) and items."""
    errors: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(document, k) for k in kinds):
            return [f"{path}: expected {' or '.join(kinds)}, got {type(document).__name__}"]
    if "const" in schema and document != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}, got {document!r}")
    if "enum" in schema and document not in schema["enum"]:
        errors.append(f"{path}: expected one of {schema['enum']!r}, got {document!r}")
    if _is(document, "number"):
        if "minimum" in schema and document < schema["minimum"]:
            errors.append(f"{path}: expected ≥ {schema['minimum']}, got {document}")
        if "maximum" in schema and document > schema["maximum"]:
            errors.append(f"{path}: expected ≤ {schema['maximum']}, got {document}")
    if isinstance(document, dict):
        properties = schema.get("properties", {})
        errors += [f"{path}: missing required field {name!r}" for name in schema.get("required", [])
                   if name not in document]
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: unexpected field {name!r}" for name in document if name not in properties]
        for name, sub in properties.items():
            if name in document:
                errors += validate(document[name], sub, f"{path}.{name}")
    if isinstance(document, list) and "items" in schema:
        for i, item in enumerate(document):
            errors += validate(item, schema["items"], f"{path}[{i}]")
    return errors


def check(document) -> None:
    """Raise :class:`InputError` unless ``document`` follows :data:`SCHEMA` (first errors in the message)."""
    errors = validate(document)
    if errors:
        shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
        raise InputError("leaderboard JSON", expected=f"a document following schema {SCHEMA_VERSION} "
                         "(tsbench.report.leaderboard_json.SCHEMA)", got=shown,
                         fix="regenerate it with `tsbench table --format json`")


__all__ = ["SCHEMA", "SCHEMA_VERSION", "check", "leaderboard", "to_json", "validate"]
