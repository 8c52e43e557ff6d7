"""Presets: ``smoke`` (seconds per cell: tests and CI), ``quick`` (minutes per cell on a CPU) and
``paper`` (the papers' settings; a GPU is recommended).

Each generator and metric declares ``presets = {"smoke": {...}, "quick": {...}, "paper": {...}}``;
explicit parameters from the display name override the preset.
"""
from __future__ import annotations

from typing import Any

from .errors import InputError

PRESETS = ("smoke", "quick", "paper")
DEFAULT_PRESET = "quick"


def check_preset(preset: str) -> str:
    if preset not in PRESETS:
        raise InputError("unknown preset", expected=" | ".join(PRESETS), got=repr(preset),
                         fix="pass --preset smoke, quick or paper")
    return preset


def resolve_params(cls: type, preset: str, params: dict[str, Any], *, display: str) -> dict[str, Any]:
    """Preset settings of ``cls`` overridden by explicit ``params``; unknown keys are an error."""
    check_preset(preset)
    valid = set(cls._get_param_names()) if hasattr(cls, "_get_param_names") else set()
    unknown = sorted(set(params) - valid)
    if unknown:
        raise InputError(f"unknown parameter(s) for {display}", expected=f"one of: {', '.join(sorted(valid))}",
                         got=", ".join(map(repr, unknown)), fix=f"see `tsbench list` or {cls.__name__}'s docstring")
    return {**getattr(cls, "presets", {}).get(preset, {}), **params}
