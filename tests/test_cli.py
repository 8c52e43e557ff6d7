"""CLI behaviour: one-line errors with exit 2, evaluate on files, list."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tsbench.cli import main


def one_line_error(capsys, *args, code=2) -> str:
    assert main(list(args)) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("args, fragment", [
    (["run", "-g", "timgan", "--out", "{tmp}"], "Did you mean: timegan"),
    (["run", "-g", "gaussian", "-d", "sinez", "--out", "{tmp}"], "Did you mean: sines"),
    (["run", "-g", "gaussian", "-m", "mdd_x", "--out", "{tmp}"], "unknown metric 'mdd_x'"),
    (["run", "-g", "timegan[hidden_dim]", "--out", "{tmp}"], "expected key=value"),
    (["run", "-g", "gaussian", "--seeds", "0", "--out", "{tmp}"], "--seeds: expected a positive integer"),
    (["run", "-g", "gaussian", "--seeds", "-2", "--out", "{tmp}"], "--seeds: expected a positive integer"),
    (["run", "-g", "gaussian", "--n-samples", "0", "--out", "{tmp}"], "--n-samples: expected a positive integer"),
    (["run", "-g", "gaussian[bogus=1]", "--out", "{tmp}"], "unknown parameter(s) for gaussian[bogus=1]"),
    (["run", "-g", "nothing*", "--out", "{tmp}"], "matches nothing"),
    (["run", "--out", "{tmp}"], "expected --all or at least one -g NAME"),
])
def test_bad_run_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args, fragment):
    out = tmp_path / "runs"
    err = one_line_error(capsys, *[a.replace("{tmp}", str(out)) for a in args])
    assert fragment in err
    assert not out.exists()


@pytest.fixture
def windows(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(24)[None, :, None]
    real = (np.sin(0.3 * t + rng.uniform(0, 6, (200, 1, 3))) + 1) / 2
    paths = {"real": tmp_path / "real.npy", "synthetic": tmp_path / "synthetic.npy",
             "short": tmp_path / "short.npy", "nan": tmp_path / "nan.npy"}
    np.save(paths["real"], real.astype(np.float32))
    np.save(paths["synthetic"], rng.random((150, 24, 3), dtype=np.float32))
    np.save(paths["short"], rng.random((150, 12, 3), dtype=np.float32))
    bad = rng.random((150, 24, 3), dtype=np.float32)
    bad[3, 4, 1] = np.nan
    np.save(paths["nan"], bad)
    return paths


def test_evaluate_two_npy_files_json(windows, capsys):
    assert main(["evaluate", "--real", str(windows["real"]), "--synthetic", str(windows["synthetic"]),
                 "-m", "mmd[subset_size=100]", "--preset", "smoke", "--repeats", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    row = next(r for r in result["results"] if r["metric"] == "mmd[subset_size=100]")
    assert row["n"] == 3 and row["mean"] > 0 and len(row["values"]) == 3


def test_evaluate_real_against_itself_scores_lower_than_noise(windows, capsys):
    scores = {}
    for name in ("real", "synthetic"):
        main(["evaluate", "--real", str(windows["real"]), "--synthetic", str(windows[name]), "-m", "mmd",
              "--preset", "smoke", "--json"])
        scores[name] = json.loads(capsys.readouterr().out)["results"][0]["mean"]
    assert scores["real"] < scores["synthetic"] / 10


def test_evaluate_in_two_worker_processes_gives_the_same_values(windows, capsys):
    """Metrics computed in spawned workers (--jobs 2) give exactly the values of one after another."""
    args = ["evaluate", "--real", str(windows["real"]), "--synthetic", str(windows["synthetic"]),
            "-m", "discriminative", "-m", "predictive", "-m", "mmd", "--preset", "smoke", "--json"]
    results = []
    for jobs in ("1", "2"):
        assert main([*args, "--jobs", jobs]) == 0
        results.append(json.loads(capsys.readouterr().out)["results"])
    assert [r["metric"] for r in results[0]][:3] == ["discriminative", "predictive", "mmd"]
    assert results[0] == results[1]


def test_evaluate_bad_jobs(windows, capsys):
    err = one_line_error(capsys, "evaluate", "--real", str(windows["real"]), "--synthetic",
                         str(windows["synthetic"]), "--jobs", "0")
    assert "--jobs: expected a positive integer" in err


def test_evaluate_mismatched_seq_len(windows, capsys):
    err = one_line_error(capsys, "evaluate", "--real", str(windows["real"]), "--synthetic", str(windows["short"]))
    assert "(n, 24, 3)" in err and "(n, 12, 3)" in err


def test_evaluate_synthetic_with_nan(windows, capsys):
    err = one_line_error(capsys, "evaluate", "--real", str(windows["real"]), "--synthetic", str(windows["nan"]))
    assert "NaN" in err


def test_list_imports_no_torch():
    code = ("import sys; from tsbench.cli import main; main(['list']); "
            "assert 'torch' not in sys.modules, 'tsbench list imported torch'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "timegan" in result.stdout and "sines" in result.stdout and "mmd" in result.stdout


def _csv(path, text):
    path.write_text(text)
    return str(path)


def _series_csv(tmp_path, n=60):
    t = np.arange(n)
    rows = "\n".join(f"{np.sin(0.2 * i):.4f},{np.cos(0.1 * i):.4f},{i % 7}" for i in t)
    return _csv(tmp_path / "good.csv", "a,b,c\n" + rows + "\n")


def test_run_on_a_user_csv(tmp_path, capsys):
    out = tmp_path / "runs"
    spec = _series_csv(tmp_path, n=120) + "[seq_len=8]"
    assert main(["run", "-g", "gaussian", "-d", spec, "-m", "mmd", "--preset", "smoke", "--seeds", "1",
                 "--out", str(out), "--no-progress"]) == 0
    from tsbench.runner import load_records

    records = load_records(out)
    assert set(records["seq_len"]) == {8} and set(records["n_features"]) == {3}
    assert set(records["split"]) == {"blocked-0.7/0.15/0.15"}


@pytest.mark.parametrize("content, fragment", [
    ("a,b\n1,2\n3,nan\n" + "1,2\n" * 40, "NaN"),
    ("a,b\n1,2\n3,inf\n" + "1,2\n" * 40, "inf"),
    ("a,b\n" + "1,x\n" * 40, "'b'"),
    ("a,b\n", "header"),
    ("a,b\n1,2\n2,3\n", "rows"),
    ("a,b\n" + "".join(f"{i},5\n" for i in range(40)), "'b'"),
])
def test_bad_csv_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, content, fragment):
    path = _csv(tmp_path / "bad.csv", content)
    out = tmp_path / "runs"
    err = one_line_error(capsys, "run", "-g", "gaussian", "-d", path, "-m", "mmd", "--preset", "smoke",
                         "--seeds", "1", "--out", str(out))
    assert fragment.lower() in err.lower() and "expected" in err
    assert not out.exists()


@pytest.mark.parametrize("shape", [(50,), (2, 3, 24, 2)])
def test_npy_of_wrong_rank(tmp_path, capsys, shape):
    path = tmp_path / "bad.npy"
    np.save(path, np.zeros(shape, dtype=np.float32))
    err = one_line_error(capsys, "run", "-g", "gaussian", "-d", str(path), "-m", "mmd", "--preset", "smoke",
                         "--out", str(tmp_path / "runs"))
    assert "expected" in err and f"{len(shape)}" in err


def test_metrics_undefined_under_a_protocol(tmp_path, capsys):
    """memorisation needs a held-out split: named explicitly under timegan2019 it is an error; matched by a
    wildcard (or the default 'every metric') it is skipped with a note."""
    out = tmp_path / "runs"
    base = ["run", "-g", "gaussian", "--preset", "smoke", "--seeds", "1", "--protocol", "timegan2019",
            "--out", str(out), "--no-progress"]
    err = one_line_error(capsys, *base, "-m", "memorisation")
    assert "expected a protocol it is defined under (tsbench)" in err
    assert main([*base, "-m", "m*"]) == 0
    assert "skipped memorisation: not defined under --protocol timegan2019" in capsys.readouterr().out


def test_user_errors_survive_pickling():
    """Errors raised in worker processes (evaluate --jobs, parallel metrics) reach the parent intact."""
    import pickle

    from tsbench.errors import CellFailure, InputError, UnknownNameError

    for error in (InputError("--jobs", expected="a positive number", got="0", fix="use 1"),
                  UnknownNameError("metric", "mdd_x", ["mdd"], ["mdd", "mmd"]), CellFailure("diverged")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and vars(copy) == vars(error)


@pytest.mark.parametrize("command", ["run", "evaluate"])
def test_ragged_csv_is_one_line_exit_2(tmp_path, capsys, command):
    """Rows with different numbers of fields escaped as `internal error: ParserError` (evaluate, exit 1) or as
    a two-line message (run)."""
    path = _csv(tmp_path / "ragged.csv", "a,b\n1,2\n3,4,5\n" + "6,7\n" * 40)
    out = tmp_path / "runs"
    args = (["run", "-g", "gaussian", "-d", path, "-m", "mmd", "--preset", "smoke", "--out", str(out)]
            if command == "run" else ["evaluate", "--real", path, "--synthetic", path, "-m", "mmd"])
    err = one_line_error(capsys, *args)
    assert "same number of fields" in err and "line 3" in err
    assert not out.exists()
