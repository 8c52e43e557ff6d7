"""The built wheel is complete: installed from the wheel alone (not the editable checkout), every tsbench
subpackage imports and the command line lists components and runs a smoke cell.

The wheel is built from a copy of the files pyproject.toml names (``package-dir`` folders, the readme) with
``pip wheel --no-build-isolation`` (offline), unpacked into a temporary folder and run with ``python -S``
and that folder first on ``PYTHONPATH``: ``-S`` skips the ``.pth`` files, so the editable install's import
hook cannot fill in a package the wheel lacks; site-packages is added back after it, for the dependencies.
"""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: runs in the subprocess: import every tsbench package that exists in the source tree, run the CLI, then
#: report where each loaded tsbench module came from
PROBE = r"""
import importlib, json, sys
from tsbench.cli import main
packages = json.loads(sys.argv[1])
for name in packages:
    importlib.import_module(name)
codes = [main(argv) for argv in json.loads(sys.argv[2])]
files = {n: getattr(m, "__file__", None) for n, m in sys.modules.items() if n.split(".")[0] == "tsbench"}
print("PROBE" + json.dumps({"codes": codes, "files": files}))
"""


def _source_packages() -> list[str]:
    """Every importable package of the checkout, named as installed (``baselines/x`` → ``tsbench.baselines.x``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    names = []
    for prefix, folder in config["package-dir"].items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            parts = init.parent.relative_to(ROOT / folder).parts
            names.append(".".join((prefix, *parts)))
    return names


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory) -> Path:
    """The wheel built from the checkout's pyproject.toml, unpacked into a fresh folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shutil.copy2(ROOT / "pyproject.toml", src)
    shutil.copy2(ROOT / pyproject["project"]["readme"], src)
    for folder in set(pyproject["tool"]["setuptools"]["package-dir"].values()):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(out), str(src)], capture_output=True, text=True, cwd=tmp, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = out.glob("tsbench-*.whl")
    site_dir = tmp / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site_dir)
    return site_dir


def _run_from_wheel(site_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    paths = [str(site_dir), *site.getsitepackages()]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "TSBENCH_PROGRESS": "0", "OMP_NUM_THREADS": "1",
           "TSBENCH_CACHE": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-S", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def test_wheel_ships_every_package(wheel_site):
    """Each package of the source tree (tsbench.commands, tsbench.runner, ...) has its __init__ in the wheel."""
    missing = [name for name in _source_packages()
               if not (wheel_site / Path(*name.split(".")) / "__init__.py").is_file()]
    assert not missing, f"packages missing from the wheel: {missing}"


def test_wheel_console_script_points_at_cli(wheel_site):
    (entry_points,) = wheel_site.glob("tsbench-*.dist-info/entry_points.txt")
    assert "tsbench = tsbench.cli:main" in entry_points.read_text()


def test_cli_runs_from_the_wheel_alone(wheel_site, tmp_path):
    """`tsbench list` and a smoke `tsbench run` (gaussian × sines × mmd, one seed) exit 0 with every tsbench
    module — including the lazily imported commands, runner and metrics — loaded from the wheel."""
    runs = tmp_path / "runs"
    argvs = [["list"], ["run", "-g", "gaussian", "-d", "sines", "-m", "mmd", "--seeds", "1", "--preset", "smoke",
                        "--device", "cpu", "--out", str(runs), "--no-progress"]]
    result = _run_from_wheel(wheel_site, tmp_path, "-c", PROBE, json.dumps(_source_packages()), json.dumps(argvs))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    probe = json.loads(result.stdout.rsplit("PROBE", 1)[1])
    assert probe["codes"] == [0, 0], result.stdout[-3000:] + result.stderr[-3000:]
    outside = {name: f for name, f in probe["files"].items() if f and not Path(f).is_relative_to(wheel_site)}
    assert not outside, f"modules imported from outside the wheel: {outside}"
    assert {"tsbench.commands.run", "tsbench.runner", "tsbench.metrics.mmd",
            "tsbench.baselines.calibration"} <= set(probe["files"])
    assert list(runs.rglob("samples.npy")), "the smoke run wrote no cell"
