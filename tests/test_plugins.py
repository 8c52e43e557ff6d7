"""A third-party generator package (examples/tsbench-plugin-example) installed through its entry point is
found by the registry and runs through `tsbench check` and `tsbench run`.

The package is built and installed offline with pip (``--no-build-isolation --no-index``) into a temporary
``--target`` folder that only the subprocesses see (via PYTHONPATH), so the test environment is untouched.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tsbench-plugin-example"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    # build from a copy: an in-tree build would leave build/ and *.egg-info in the repository
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = root / "site"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                             "--no-index", "--quiet", "--disable-pip-version-check", "--target", str(target),
                             str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "tsbench_plugin_example" / "ar.py").exists()
    return target


def _tsbench(plugin_path, *args, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TSBENCH_PROGRESS": "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_path), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "tsbench.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_installed_plugin_is_listed_with_its_origin(plugin_path):
    result = _tsbench(plugin_path, "list", "generators", "example*")
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "example_ar" in line]
    assert "plugin tsbench-plugin-example (entry point tsbench.generators)" in line
    assert "unavailable" not in line


def test_plugin_passes_tsbench_check(plugin_path):
    result = _tsbench(plugin_path, "check", "example_ar")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    from tsbench.testing import GENERATOR_CHECKS

    n = len(GENERATOR_CHECKS)
    assert sum(line.startswith("PASS  example_ar::") for line in lines) == n
    assert lines[-1].startswith(f"generator tsbench_plugin_example.ar:AutoRegressive: {n} pass")


def test_plugin_runs_through_tsbench_run(plugin_path, tmp_path):
    from tsbench.runner.collect import load_records

    out = tmp_path / "runs"
    result = _tsbench(plugin_path, "run", "-g", "example_ar", "-d", "sines", "--preset", "smoke", "--seeds", "1",
                      "-m", "mmd", "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stdout + result.stderr
    records = load_records(out)
    assert set(records["generator"]) == {"example_ar"}
    assert set(records["status"]) == {"done"}
    mmd = records[records["metric"] == "mmd"]["value"].to_numpy(dtype=float)
    assert len(mmd) >= 1 and np.isfinite(mmd).all()


def test_the_docs_list_every_generator_check_in_order():
    """docs/plugins.md lists each check of GENERATOR_CHECKS once, in running order, and states no count."""
    from tsbench.testing import GENERATOR_CHECKS

    doc = (EXAMPLE.parents[1] / "docs" / "plugins.md").read_text()
    assert re.findall(r"^\| `(check_\w+)` \|", doc, flags=re.M) == list(GENERATOR_CHECKS)
    assert not re.search(r"\b\d+ pass\b", doc)  # the count is len(GENERATOR_CHECKS), never written out
