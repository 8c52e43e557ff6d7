"""Plugins as one file: `-g file.py:Class`, `-g module:Class` and `--include DIR` through the CLI, named by
their registry key everywhere, identified by their file's source hash; a broken file is one unavailable line;
an incomplete class fails before anything runs."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from tsbench import registry as registry_module
from tsbench.cli import main
from tsbench.contract import IncompleteComponentError
from tsbench.generator import Generator
from tsbench.metric import Metric
from tsbench.registry import INCLUDE_ENV, generators, include, include_class, metrics
from tsbench.runner import load_records
from tsbench.runner.grid import plan_cells
from tsbench.testing import GENERATOR_CHECKS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin-file" / "scaled_gaussian.py"
GRID = ["-d", "sines", "--preset", "smoke", "--seeds", "1", "--device", "cpu", "--no-progress"]

METRIC = '''
import numpy as np
from tsbench.card import Card
from tsbench.metric import Metric


class MeanGap(Metric):
    """Absolute difference of the overall means."""

    name = "mean_gap"
    card = Card(title="Mean gap")
    outputs = {"value": False}

    def __init__(self, *, protocol="tsbench", repeats=None):
        self.protocol, self.repeats = protocol, repeats

    def _compute(self, real_train, real_test, synthetic, *, seed, artefact_dir):
        return {"value": [abs(float(real_test.mean()) - float(synthetic.mean()))]}
'''


@pytest.fixture(autouse=True)
def clean_registries():
    """Plugin files register into the process-wide registries and environment: undo that after each test."""
    saved = {r: dict(r._entries) for r in (generators, metrics)}
    included, env = set(registry_module._included), os.environ.pop(INCLUDE_ENV, None)
    yield
    for r, entries in saved.items():
        r._entries = entries
    registry_module._included.clear()
    registry_module._included.update(included)
    os.environ.pop(INCLUDE_ENV, None)
    if env is not None:
        os.environ[INCLUDE_ENV] = env


@pytest.fixture
def plugins(tmp_path) -> Path:
    """A folder holding the documented plugin file, a metric, a helper module and a broken file."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "scaled_gaussian.py").write_text(EXAMPLE.read_text())
    (folder / "mean_gap.py").write_text(METRIC)
    (folder / "_helpers.py").write_text("raise RuntimeError('helpers are not plugin files')\n")
    (folder / "broken.py").write_text("raise ImportError(\"broken needs the 'unobtainium' package\")\n")
    return folder


def test_the_documented_plugin_file_is_the_example():
    """docs/plugins.md shows examples/plugin-file/scaled_gaussian.py verbatim (so the doc is tested here)."""
    doc = (ROOT / "docs" / "plugins.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert EXAMPLE.read_text() in blocks
    assert len(EXAMPLE.read_text().splitlines()) <= 30


def test_run_a_plugin_file_by_path(tmp_path, plugins, capsys):
    """Defect: a plugin had to be an installed package with an entry point; `-g file.py:Class` was malformed."""
    out = tmp_path / "runs"
    target = f"{plugins / 'scaled_gaussian.py'}:ScaledGaussian"
    assert main(["run", "-g", target, "-g", "gaussian", "-m", "mmd", *GRID, "--out", str(out)]) == 0
    records = load_records(out)
    assert set(records["generator"]) == {"scaled_gaussian", "gaussian"}  # the registry key, not the path
    assert set(records["generator_name"]) == {"scaled_gaussian", "gaussian"} and set(records["status"]) == {"done"}
    mmd = records.loc[(records["generator"] == "scaled_gaussian") & (records["metric"] == "mmd"), "value"]
    assert len(mmd) >= 1 and np.isfinite(mmd.astype(float)).all()
    capsys.readouterr()
    assert main(["table", "--out", str(out), "--format", "csv"]) == 0
    assert "scaled_gaussian" in capsys.readouterr().out


def test_run_a_class_by_module_path(tmp_path, plugins, monkeypatch):
    monkeypatch.syspath_prepend(str(plugins))
    out = tmp_path / "runs"
    assert main(["run", "-g", "scaled_gaussian:ScaledGaussian[scale=0.2]", "-m", "mmd", *GRID, "--out", str(out)]) == 0
    assert set(load_records(out)["generator"]) == {"scaled_gaussian[scale=0.2]"}
    assert generators.entry("scaled_gaussian").origin == "module scaled_gaussian"


def test_include_a_folder_lists_runs_and_checks_its_components(tmp_path, plugins, capsys):
    assert main(["list", "--include", str(plugins)]) == 0
    lines = capsys.readouterr().out.splitlines()
    (gen,) = [line for line in lines if "scaled_gaussian" in line]
    assert f"(file {plugins / 'scaled_gaussian.py'})" in gen and "unavailable" not in gen
    assert any(line.split()[:1] == ["mean_gap"] for line in lines)
    (broken,) = [line for line in lines if "broken" in line]  # one line, the listing goes on
    assert "[unavailable: ImportError: broken needs the 'unobtainium' package]" in broken
    assert not any("helpers" in line for line in lines)  # files starting with "_" are helpers
    out = tmp_path / "runs"
    assert main(["run", "--include", str(plugins), "-g", "scaled_gaussian", "-m", "mean_gap", "-m", "mmd", *GRID,
                 "--out", str(out)]) == 0
    records = load_records(out)
    assert set(records["generator"]) == {"scaled_gaussian"} and {"mean_gap", "mmd"} <= set(records["metric"])
    capsys.readouterr()
    assert main(["check", "--include", str(plugins), "scaled_gaussian"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("PASS  scaled_gaussian::") for line in lines) == len(GENERATOR_CHECKS)
    assert lines[-1].startswith(f"generator {plugins / 'scaled_gaussian.py'}:ScaledGaussian: "
                                f"{len(GENERATOR_CHECKS)} pass")
    assert main(["check", f"{plugins / 'scaled_gaussian.py'}:ScaledGaussian"]) == 0
    assert main(["check", "--include", str(plugins), "mean_gap"]) == 0


def test_selecting_a_broken_file_is_one_line(tmp_path, plugins, capsys):
    assert main(["run", "--include", str(plugins), "-g", "broken.py", "-m", "mmd", *GRID,
                 "--out", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.py (file " in err and "is unavailable: ImportError" in err
    assert main(["run", "-g", f"{plugins / 'broken.py'}:Model", "-m", "mmd", *GRID,
                 "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ImportError: broken needs the 'unobtainium' package" in err


def _copy(folder: Path, source: str) -> Path:
    folder.mkdir()
    (folder / "scaled_gaussian.py").write_text(source)
    return folder / "scaled_gaussian.py"


def _cell_id(path: Path) -> tuple[str, str]:
    name = include_class(f"{path}:ScaledGaussian", generators)
    (cell,) = plan_cells(["sines"], [name], ["mmd"], seeds=1, preset="smoke", protocol="tsbench", device="cpu")
    generators.unregister(name)
    return cell.cell_id, cell.generator_version


def test_the_cell_identity_includes_the_files_source_hash(tmp_path):
    source = EXAMPLE.read_text()
    same, also_same = _cell_id(_copy(tmp_path / "a", source)), _cell_id(_copy(tmp_path / "b", source))
    edited = _cell_id(_copy(tmp_path / "c", source + "# an edit\n"))
    assert same == also_same  # the content, not the path, is the identity
    assert same[1] == "1+" + hashlib.sha256(source.encode()).hexdigest()[:12]
    assert edited[0] != same[0]


def test_worker_processes_register_what_the_parent_included(plugins):
    """Spawned workers (--jobs, Dask) register the parent's plugin files from TSBENCH_INCLUDE."""
    include(str(plugins))
    code = ("from tsbench.registry import generators, metrics; "
            "print(generators.get('scaled_gaussian').__name__, metrics.get('mean_gap').__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ScaledGaussian", "MeanGap"]


def test_a_plugin_file_cannot_declare_a_calibration_role(tmp_path, capsys):
    path = tmp_path / "posing.py"
    path.write_text(EXAMPLE.read_text().replace('name = "scaled_gaussian"', 'name = "posing"\n    role = "calibration"'))
    assert main(["list", "generators", "--include", str(tmp_path)]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "posing" in line]
    assert "[unavailable: declares role 'calibration', which only tsbench's built-in rows may" in line
    assert main(["run", "-g", f"{path}:ScaledGaussian", "-m", "mmd", *GRID, "--out", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "declares role 'calibration'" in err


# the contract fails early ----------------------------------------------------------------------------
INCOMPLETE = '''
import numpy as np
from tsbench.card import Card
from tsbench.generator import Generator


class NoSample(Generator):
    name = "no_sample"
    card = Card(title="Forgot _sample")

    def _fit(self, X, *, seed, callback):
        self.mean_ = X.mean(axis=0)
        callback(1, 1, {})
'''


def test_an_incomplete_generator_fails_when_instantiated_or_checked(tmp_path, capsys):
    """Defect: a class without _sample was accepted and failed only when sample was first called."""
    path = tmp_path / "no_sample.py"
    path.write_text(INCOMPLETE)
    assert main(["check", f"{path}:NoSample"]) == 1
    failed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert failed and all("does not implement _sample()" in line for line in failed)
    out = tmp_path / "runs"
    assert main(["run", "-g", f"{path}:NoSample", "-m", "mmd", *GRID, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NoSample cannot be instantiated: it does not implement _sample()" in err
    assert not (out / "cells").exists()  # refused before anything ran


def test_the_contract_names_the_missing_methods_and_keeps_the_sklearn_api():
    class Nothing(Generator):
        pass

    class NoCompute(Metric):
        pass

    class WholeMethods(Generator):  # overriding fit / sample instead of the hooks is allowed
        def fit(self, X, *, seed, callback=None, X_test=None):
            self.is_fitted_ = True
            return self

        def sample(self, n, *, seed):
            return np.zeros((n, 2, 1), np.float32)

    with pytest.raises(IncompleteComponentError, match=r"does not implement _fit\(\) and _sample\(\)"):
        Nothing()
    with pytest.raises(IncompleteComponentError, match=r"NoCompute cannot be instantiated: .*_compute\(\)"):
        NoCompute()
    assert isinstance(IncompleteComponentError("x"), TypeError)
    assert WholeMethods().fit(np.zeros((3, 2, 1)), seed=0).sample(2, seed=0).shape == (2, 2, 1)
    from tsbench.baselines.calibration import AddNoise

    noise = AddNoise(sigma=0.3)
    assert clone(noise).get_params() == {"sigma": 0.3} and clone(noise) is not noise


def test_every_built_in_is_complete():
    for registry in (generators, metrics):
        for name in registry.names():
            registry.get(name).check_contract()


def test_a_relative_file_path_and_a_sweep(tmp_path, monkeypatch):
    """The documented command: a file in the current folder, one row per swept value."""
    (tmp_path / "scaled_gaussian.py").write_text(EXAMPLE.read_text())
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-g", "scaled_gaussian.py:ScaledGaussian[scale=[0.5,2]]", "-m", "mmd", *GRID,
                 "--out", "runs"]) == 0
    assert set(load_records(tmp_path / "runs")["generator"]) == {"scaled_gaussian[scale=0.5]",
                                                                 "scaled_gaussian[scale=2]"}
