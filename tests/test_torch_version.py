"""The torch requirement: pyproject.toml's minimum covers the newest torch API the code uses, the installed torch
satisfies it, and so does the version the README's set-up commands pin."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("tsbench", "baselines", "metrics")

#: torch APIs the code uses that are newer than torch 2.0, with the first release that has them (from the
#: release notes / docs). The minimum in pyproject.toml must be at least the newest of those found.
NEWER_APIS = {
    # torch.amp.custom_fwd / custom_bwd with device_type= replaced torch.cuda.amp.custom_fwd in 2.4
    r"torch\.amp\.custom_(fwd|bwd)\(": ("2.4", "torch.amp.custom_fwd/custom_bwd(device_type=...)"),
    # torch.optim.Adam(fused=True) on CPU tensors: the CPU fused Adam/AdamW kernels came with 2.4
    # (pytorch/pytorch#123074); on 2.3 fused=True raises for CPU parameters
    r"Adam(W)?\([^)]*fused=True": ("2.4", "torch.optim.Adam(fused=True) on the CPU"),
    r"weights_only=True": ("1.13", "torch.load(weights_only=True)"),
    r"correction=": ("2.0", "torch.var_mean(correction=)"),
    r"TorchFunctionMode|_device_constructors": ("2.0", "torch.overrides.TorchFunctionMode, torch.utils._device"),
}


def torch_requirement() -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (line,) = [dep for dep in project["dependencies"] if Requirement(dep).name == "torch"]
    return Requirement(line)


def minimum() -> Version:
    (spec,) = [s for s in torch_requirement().specifier if s.operator == ">="]
    return Version(spec.version)


def _used_apis() -> dict[str, tuple[str, str, list[str]]]:
    found: dict[str, tuple[str, str, list[str]]] = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for pattern, (version, what) in NEWER_APIS.items():
                if re.search(pattern, text):
                    found.setdefault(pattern, (version, what, []))[2].append(str(path.relative_to(ROOT)))
    return found


def test_minimum_covers_the_newest_api_used():
    used = _used_apis()
    assert used, "none of the listed APIs is used any more: update NEWER_APIS"
    too_new = {what: (version, files) for version, what, files in used.values() if Version(version) > minimum()}
    assert not too_new, f"pyproject.toml requires torch>={minimum()} but the code uses {too_new}"


def test_installed_torch_satisfies_the_minimum():
    installed = Version(Version(torch.__version__).base_version)  # "2.13.0+cpu" → 2.13.0
    assert torch_requirement().specifier.contains(installed, prereleases=True), (torch.__version__, str(
        torch_requirement()))


def test_readme_pin_satisfies_the_minimum():
    pins = re.findall(r"torch==([0-9][0-9A-Za-z.+]*)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert pins, "the README's set-up commands pin no torch version"
    for pin in pins:
        assert torch_requirement().specifier.contains(Version(pin.rstrip(".")), prereleases=True), pin


@pytest.mark.parametrize("pattern", sorted(NEWER_APIS))
def test_api_table_patterns_are_valid(pattern):
    re.compile(pattern)
    assert Version(NEWER_APIS[pattern][0])
