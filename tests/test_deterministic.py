"""``--deterministic``: deterministic torch settings in every worker, recorded, part of the cell identity; on the CPU
it changes no number."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd

import tsbench.determinism as determinism
from tsbench.records import VOLATILE_COLUMNS
from tsbench.runner import load_records
from tsbench.runner.grid import plan_cells


def test_deterministic_cells_are_their_own_cache_entries(monkeypatch):
    calls = []
    monkeypatch.setattr(determinism, "enable_determinism", lambda: calls.append(1))
    plain = plan_cells(["sines"], ["gan"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench")[0]
    strict = plan_cells(["sines"], ["gan"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench",
                        deterministic=True)[0]
    assert calls == [1] and strict.deterministic and not plain.deterministic
    assert strict.cell_id != plain.cell_id and strict.fit_seed == plain.fit_seed


def test_enable_determinism_sets_the_torch_flags():
    code = ("import torch, os; from tsbench.determinism import enable_determinism; enable_determinism(); "
            "print(torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic, "
            "torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32, "
            "torch.get_float32_matmul_precision(), os.environ['CUBLAS_WORKSPACE_CONFIG'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "False", "False", "highest", determinism.CUBLAS_WORKSPACE]


def test_a_deterministic_run_is_recorded_and_on_the_cpu_equals_a_plain_one(tmp_path):
    args = ["-g", "gan", "-g", "timevae", "-d", "sines", "-m", "mmd", "--preset", "smoke", "--seeds", "1",
            "--no-progress", "--device", "cpu"]
    for name, extra in (("plain", []), ("strict", ["--deterministic"])):
        done = subprocess.run([sys.executable, "-m", "tsbench.cli", "run", *args, *extra, "--out",
                               str(tmp_path / name)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    plain, strict = load_records(tmp_path / "plain"), load_records(tmp_path / "strict")
    assert strict["deterministic"].eq(True).all() and not plain["deterministic"].eq(True).any()
    columns = [c for c in plain.columns if c not in (*VOLATILE_COLUMNS, "cell_id", "deterministic")]
    key = ["generator", "metric", "repeat"]
    pd.testing.assert_frame_equal(plain[columns].sort_values(key).reset_index(drop=True),
                                  strict[columns].sort_values(key).reset_index(drop=True))
