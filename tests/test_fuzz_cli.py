"""Fuzzed command lines (issue 15, item 4): ``tsbench run``, ``evaluate``, ``table``, ``check``, ``list`` and
``data prepare`` with random flag values either work or fail with exit 2 and exactly one line on stderr —
never a traceback, never exit 1 — and a refused command writes or overwrites nothing.

Valid input is stopped where the work would begin (a stub raising :class:`Accepted` replaces the training
loop, the metric computation and the conformance checks), so each example takes milliseconds; everything
before that point — argument parsing, names, parameters, data files, output folders — runs for real.
Every example runs in a fresh temporary folder (also the working directory); downloads go to a dead
loopback port. Crashes the fuzzer found are kept as explicit cases at the end of the file.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tsbench import registry as registry_module
from tsbench.cli import main
from tsbench.registry import INCLUDE_ENV, generators, metrics

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = int(os.environ.get("TSBENCH_FUZZ_EXAMPLES", "60"))
#: under CI=true the same examples every run (a CI job never fails on a newly drawn input); elsewhere new ones
ON_CI = os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=ON_CI,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


class Accepted(BaseException):
    """Raised by the stubs when valid input reaches the expensive part (not an Exception: main lets it out)."""


def _dead_url() -> str:
    with socket.socket() as sock:  # a loopback port on which nothing listens
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/file.csv"


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


INPUTS = {
    "good.npy": None, "good2.npy": None, "short.npy": None, "series.csv": None, "windows.csv": None,
    "ragged.csv": b"a,b\n1,2\n3,4,5\n", "empty.csv": b"", "text.npy": b"hello", "zip.npz": b"PK\x03\x04",
    "nan.npy": None, "records.csv": None, "garbage-records.csv": b"a,b\n1,2\n", "noext": b"1,2\n",
}


def _write_inputs(folder: Path) -> None:
    from fixtures.records import make_records
    from tsbench.data import save_windows_csv

    folder.mkdir()
    rng = np.random.default_rng(0)
    np.save(folder / "good.npy", rng.random((40, 6, 2), dtype=np.float32))
    np.save(folder / "good2.npy", rng.random((30, 6, 2), dtype=np.float32))
    np.save(folder / "short.npy", rng.random((30, 4, 2), dtype=np.float32))
    bad = rng.random((30, 6, 2))
    bad[1, 2, 0] = np.nan
    np.save(folder / "nan.npy", bad)
    (folder / "series.csv").write_text("date,a,b\n" + "".join(f"2020-01-{i % 28 + 1:02d},{np.sin(i / 3):.6f},"
                                                              f"{np.cos(i / 5):.6f}\n" for i in range(80)))
    save_windows_csv(folder / "windows.csv", rng.random((10, 6, 2)))
    make_records(seeds=2, repeats=1, failures=False).to_csv(folder / "records.csv", index=False)
    for name, data in INPUTS.items():
        if data is not None:
            (folder / name).write_bytes(data)
    (folder / "dir.npy").mkdir()
    plugins = folder / "plugins"
    plugins.mkdir()
    (plugins / "syntax.py").write_text("def (:\n")
    (plugins / "raises.py").write_text("raise RuntimeError('boom')\n")
    (plugins / "plain.py").write_text("class NotAGenerator:\n    name = 'plain'\n")
    working = folder / "plugins-ok"
    working.mkdir()
    (working / "scaled_gaussian.py").write_text((EXAMPLES_DIR / "plugin-file" / "scaled_gaussian.py").read_text())
    (working / "plain.py").write_text("class NotAGenerator:\n    name = 'plain'\n")


@contextlib.contextmanager
def sandbox():
    """A fresh working folder with input files (``in/``), the download cache elsewhere, and stubs."""
    import threadpoolctl
    import torch

    import tsbench.evaluation
    import tsbench.runner.grid
    import tsbench.testing

    real_run_grid = tsbench.runner.grid.run_grid

    def run_grid(cells, out, *, jobs=1, executor=None, threads_per_job=None, force=(), progress=None):
        # everything run_grid checks (jobs, a writable --out, the lock) with no cell to run
        real_run_grid([], out, jobs=jobs, executor=executor, threads_per_job=threads_per_job, force=force,
                      progress=False)
        raise Accepted("run")

    def accept(*args, **kwargs):
        raise Accepted("work")

    saved = {r: dict(r._entries) for r in (generators, metrics)}
    included = set(registry_module._included)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache, \
            pytest.MonkeyPatch.context() as mp:
        root = Path(tmp)
        _write_inputs(root / "in")
        mp.chdir(root)
        mp.setenv("TSBENCH_CACHE", cache)
        mp.setenv("TSBENCH_DATA_URL_STOCKS", _dead_url())
        mp.setenv("TSBENCH_DATA_URL_ENERGY", _dead_url())
        mp.setenv("TSBENCH_PROGRESS", "0")
        mp.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
        for var in ("TSBENCH_DATA_DIR", INCLUDE_ENV):
            mp.delenv(var, raising=False)
        mp.setattr(tsbench.runner.grid, "run_grid", run_grid)
        mp.setattr(tsbench.evaluation, "compute_metrics", accept)
        mp.setattr(tsbench.testing, "check_generator", accept)
        mp.setattr(tsbench.testing, "check_metric", accept)
        try:
            yield root
        finally:
            for r, entries in saved.items():
                r._entries = entries
            registry_module._included.clear()
            registry_module._included.update(included)
            torch.set_num_threads(threads)
            threadpoolctl.threadpool_limits(limits=threads)


def invoke(argv: list[str]):
    """``(exit code or 'accepted', stdout, stderr)`` of ``tsbench argv``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # what `python -W default` would print, less what no user sees:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        try:
            code = main(argv)
        except Accepted:
            code = "accepted"
        except SystemExit as exc:  # argparse
            code = exc.code
    # a warning is printed on stderr by the command line: more lines than the one error line
    shown = "".join(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}\n" for w in caught)
    return code, out.getvalue(), shown + err.getvalue()


def check_command(argv: list[str], root: Path, *, must_fail: bool = False) -> str:
    """Run ``argv`` in ``root``; assert the contract; returns the one-line error ('' when it worked)."""
    before = _snapshot(root)
    code, out, err = invoke(argv)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    if code in ("accepted", 0):
        assert not must_fail, (argv, code, out, err)
        return ""
    assert code == 2, (argv, code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tsbench: error: "), (argv, err)
    assert _snapshot(root) == before, argv  # a refused command writes nothing
    return lines[0]


# ------------------------------------------------------------------------------------------- value pools
# Each option has good values and bad ones; an example uses good values everywhere but (usually) in one
# place, so that the checks after argument parsing are reached too.
def _not_huge(text: str) -> bool:
    """Whether ``text`` is not an integer above 1000 as argparse reads it (``--seeds 10**8`` hangs planning)."""
    try:
        return int(text) <= 1000
    except ValueError:
        return True


_GARBAGE = st.one_of(st.sampled_from(["", " ", "-", "--", "-1", "0", "abc", "1.5", "1e3", "nan", "inf", "-inf",
                                      "٣", "0x10", "none", "[", "]", "'", '"', "*",
                                      "a\nb", "\x1e", "é", "=", "-x", "--out"]),
                     st.text(max_size=8).filter(lambda s: ":" not in s and "\x00" not in s and _not_huge(s)))
_INT_GOOD = st.sampled_from(["1", "2", "3"])
# (no huge integers: `--seeds 10**22` plans 10**22 cells — it hangs (reported, not tested) — and
# `--threads 10**22` overflows in torch: test_huge_thread_count_is_an_input_error)
_INT_BAD = st.one_of(st.sampled_from(["0", "-1", "-2", "1.0", "2e0", " 2", "+1"]), _GARBAGE)
_FLOAT_GOOD = st.sampled_from(["0.5", "10", "3600", "1e-3"])
_FLOAT_BAD = st.one_of(st.sampled_from(["-1", "0", "1e-300", "1e300", "nan", "inf", "-inf"]), _GARBAGE)
_FILES_GOOD = st.sampled_from(["in/good.npy", "in/good2.npy", "in/windows.csv"])
_FILES_BAD = st.one_of(st.sampled_from([f"in/{name}" for name in [*INPUTS, "dir.npy", "missing.npy", "missing.csv",
                                                                 "plugins", "short.npy", "series.csv"]]), _GARBAGE)
_OUTS_GOOD = st.sampled_from(["runs", "new/nested/runs", "out.txt"])
_OUTS_BAD = st.one_of(st.sampled_from(["in/good.npy", "in/good.npy/sub", "in", "", "in/dir.npy"]), _GARBAGE)
_DIRS_GOOD = st.sampled_from(["in/plugins-ok", "in"])
# in/plugins holds broken plugin files: listed as unavailable; only a bad value, so that no wildcard of a -g
# drawn in the same example matches them (see test_a_wildcard_matching_a_broken_plugin)
_DIRS_BAD = st.one_of(st.sampled_from(["in/missing", "in/good.npy", "", "in/plugins"]), _GARBAGE)
_GENERATORS_GOOD = st.sampled_from(["gaussian", "gan", "gan[lr=1e-3]", "g*", "gan[lr=[1e-3,1e-4]]", "copy_train",
                                    "real", "noise", "gaussian[ ]", "gan[lr=0.001, iterations=2]",
                                    "in/plugins-ok/scaled_gaussian.py:ScaledGaussian",
                                    "in/plugins-ok/scaled_gaussian.py:ScaledGaussian[scale=0.5]"])
_GENERATORS_BAD = st.one_of(
    st.sampled_from(["gan[lr=-1]", "gan[lr=abc]", "gan[iterations=2.5]", "gaussian[bogus=1]", "gan[lr=[]]",
                     "gan[lr=[1,[2,3]]]", "gan[lr={1:2}]", "gan[lr=b'x']", "nothing*", "timgan", "gan[", "gan]",
                     "gan[lr=1][x=2]", "gan[lr=1,lr=2]", "gan[=1]", "gan[lr]", "gan[iterations=none]",
                     "gan[lr=1e999]", "gan[lr=" + "-" * 3000 + "1]", "in/plugins/raises.py:X",
                     "in/plugins/plain.py:NotAGenerator", "in/plugins/syntax.py:X", "in/missing.py:X", "os:path",
                     "json:JSONDecoder", "tsbench.naming:InputError", "no_such_module_q:X",
                     "tsbench.generator:Generator", "tsbench.generator:Generator[lr=1]", ":", "a:"]),
    _GARBAGE)
_METRICS_GOOD = st.sampled_from(["mmd", "mdd", "mmd[subset_size=10]", "m*", "acd", "kd", "sd", "mmd[repeats=2]"])
_METRICS_BAD = st.one_of(
    st.sampled_from(["mmd[subset_size=-1]", "mmd[subset_size=x]", "mdd_x", "discriminative[iterations=0]",
                     "mmd[repeats=[1,2]]", "mmd[repeats=[]]", "os:path", "in/plugins/syntax.py:M", "mmd[bandwidth=-1]",
                     "memorisation", "mmd[", "*x*"]),
    _GARBAGE)
_DATASETS_GOOD = st.sampled_from(["sines", "sines[seq_len=6]", "in/series.csv", "in/series.csv[seq_len=5]",
                                  "in/good.npy", "in/windows.csv", "file[path='in/good.npy']"])
_DATASETS_BAD = st.one_of(
    st.sampled_from(["sines[seq_len=0]", "sines[seq_len=abc]", "sines[n_samples=3]", "sinez", "stocks", "energy",
                     "in/series.csv[seq_len=500]", "in/ragged.csv", "in/empty.csv", "in/text.npy", "in/zip.npz",
                     "in/nan.npy", "in/dir.npy", "in/missing.csv", "in/noext", "file", "in/series.csv[scale=maybe]",
                     "in/series.csv[seq_len=-3]", "in/good.npy[scale=false]", "in/plugins/raises.py"]),
    _GARBAGE)
_NO = st.nothing()


def _choice(*values):
    return st.sampled_from(values)


@st.composite
def _argv(draw, fixed: list[str], options: list[tuple], flags: tuple[str, ...] = ()):
    """``fixed`` + options: ``(flag, good, bad, required)``; each optional one given with probability 1/3;
    then usually one value (given or added) replaced by a bad one. Repeated flags (``-g``) may appear twice."""
    chosen = [(flag, good, bad) for flag, good, bad, required in options
              if required or draw(st.integers(0, 2)) == 0]
    values = [[flag, draw(good)] for flag, good, bad in chosen]
    spoil = [i for i, (flag, good, bad) in enumerate(chosen) if not bad.is_empty]
    if spoil and draw(st.integers(0, 3)) > 0:
        i = draw(st.sampled_from(spoil))
        values[i][1] = draw(chosen[i][2])
    argv = list(fixed) + [item for pair in values for item in (pair if pair[0] else pair[1:])]
    return argv + [flag for flag in flags if draw(st.integers(0, 3)) == 0]


_PROTOCOLS = (_choice("tsbench", "timegan2019", "tsbench-chrono"), _choice("tsbench@1", "x", "", "TSBENCH"))
_PRESETS = (_choice("smoke", "quick", "paper"), _choice("fast", "", "Smoke"))

RUN = _argv(["run", "--no-progress", "--preset", "smoke", "--seeds", "1"], [
    ("-g", _GENERATORS_GOOD, _GENERATORS_BAD, True), ("-g", _GENERATORS_GOOD, _GENERATORS_BAD, False),
    ("-m", _METRICS_GOOD, _METRICS_BAD, True), ("-m", _METRICS_GOOD, _METRICS_BAD, False),
    ("-d", _DATASETS_GOOD, _DATASETS_BAD, False), ("-d", _DATASETS_GOOD, _DATASETS_BAD, False),
    ("--seeds", _INT_GOOD, _INT_BAD, False), ("--repeats", _INT_GOOD, _INT_BAD, False),
    ("--n-samples", _INT_GOOD, _INT_BAD, False), ("--jobs", _INT_GOOD, _INT_BAD, False),
    ("--threads", _INT_GOOD, _INT_BAD, False), ("--timeout", _FLOAT_GOOD, _FLOAT_BAD, False),
    ("--preset", *_PRESETS, False), ("--protocol", *_PROTOCOLS, False),
    ("--device", _choice("cpu", "auto", "CPU"), _choice("cuda:7", "tpu", "", "gpu", "cpu:x") | _GARBAGE, False),
    ("--executor", _choice("inprocess", "process", "dask"), _choice("slurm", ""), False),
    ("--force", _choice("gaussian", "*", "sines/*/0"), _GARBAGE, False),
    ("--data-dir", _DIRS_GOOD, _DIRS_BAD, False), ("--include", _DIRS_GOOD, _DIRS_BAD, False),
    ("--retries", _INT_GOOD, _INT_BAD, False), ("--cells-per-gpu", _INT_GOOD, _INT_BAD, False),
    ("--out", _OUTS_GOOD, _OUTS_BAD, True),
], flags=("--all",))

EVALUATE = _argv(["evaluate"], [
    ("--real", _FILES_GOOD, _FILES_BAD, True), ("--synthetic", _FILES_GOOD, _FILES_BAD, True),
    ("-m", _METRICS_GOOD, _METRICS_BAD, False), ("-m", _METRICS_GOOD, _METRICS_BAD, False),
    ("--real-test", _FILES_GOOD, _FILES_BAD, False), ("--repeats", _INT_GOOD, _INT_BAD, False),
    ("--seed", _choice("0", "7", "-1", "123456789012"), _GARBAGE, False), ("--jobs", _INT_GOOD, _INT_BAD, False),
    ("--preset", *_PRESETS, False), ("--protocol", *_PROTOCOLS, False),
    ("--artefacts", _OUTS_GOOD, _OUTS_BAD, False),
], flags=("--json",))

_RECORDS_GOOD = _choice("in/records.csv")
# (in/empty.csv and in/ragged.csv are left out: see test_unparseable_records_files below)
_RECORDS_BAD = _choice("in/garbage-records.csv", "in/good.npy", "in/missing.csv", "in/records.parquet", "in",
                       "in/dir.npy", "in/text.npy") | _GARBAGE
TABLE = _argv(["table", "--no-citations"], [
    ("--records", _RECORDS_GOOD, _RECORDS_BAD, True), ("--out", _OUTS_GOOD, _OUTS_BAD, False),
    ("--format", _choice("md", "latex", "csv", "summary", "records", "json"), _choice("pdf", "", "MD"), False),
    ("--output", _OUTS_GOOD, _OUTS_BAD, False), ("--results-dir", _OUTS_GOOD, _OUTS_BAD, False),
    ("--device-type", _choice("cpu", "unknown"), _GARBAGE, False),
    ("--precision", _choice("float32", "unknown"), _GARBAGE, False),
    ("--layout", _choice("per-dataset", "columns"), _choice("rows", ""), False),
], flags=("--published", "--cost", "--standalone", "--no-ranks", "--mix-devices"))

CHECK = _argv(["check"], [
    ("", _GENERATORS_GOOD | _METRICS_GOOD, _GENERATORS_BAD | _METRICS_BAD, True),
    ("--kind", _choice("generator", "metric"), _choice("dataset", ""), False),
    ("--preset", *_PRESETS, False), ("--include", _DIRS_GOOD, _DIRS_BAD, False),
])
LIST = _argv(["list"], [
    ("", _choice("generators", "metric", "datasets", "time*", "x*"), _GARBAGE, False),
    ("", _choice("time*", "*"), _GARBAGE, False), ("--include", _DIRS_GOOD, _DIRS_BAD, False),
], flags=("--check",))
DATA = _argv(["data", "prepare"], [
    ("", _choice("sines"), _DATASETS_BAD, False), ("--data-dir", _DIRS_GOOD, _DIRS_BAD, False),
])


def _cli_property(argv):
    with sandbox() as root:
        line = check_command(argv, root)
    event(f"{argv[0]}: {line.split(':')[2].strip()[:40] if line.count(':') > 2 else line or 'worked'}")


@FUZZ
@given(argv=RUN)
def test_fuzz_run(argv):
    _cli_property(argv)


@FUZZ
@given(argv=EVALUATE)
def test_fuzz_evaluate(argv):
    _cli_property(argv)


@FUZZ
@given(argv=TABLE)
def test_fuzz_table(argv):
    _cli_property(argv)


@FUZZ
@given(argv=st.one_of(CHECK, LIST, DATA))
def test_fuzz_check_list_data(argv):
    _cli_property(argv)


# ------------------------------------------------------------------------------------------- found by the fuzzer
RUN_BASE = ["run", "--no-progress", "--preset", "smoke", "--seeds", "1", "-m", "mmd", "--out", "runs"]
TABLE_BASE = ["table", "--no-citations", "--records", "in/records.csv"]


@pytest.mark.parametrize("argv", [
    # an output path through a file, or a folder where a file goes: was `internal error: FileExistsError` (exit 1)
    TABLE_BASE + ["--output", "in/good.npy/sub"],
    TABLE_BASE + ["--output", "in"],
    TABLE_BASE + ["--results-dir", "in/good.npy"],
    TABLE_BASE + ["--results-dir", "in/good.npy/sub"],
    # a download that fails printed pooch's "Downloading data from …" line before the error
    ["data", "prepare"],
    ["data", "prepare", "stocks"],
    ["data", "prepare", "--data-dir", "~0"],          # Path.expanduser: RuntimeError for an unknown user
    ["data", "prepare", "stocks", "--data-dir", "~no_such_user_q/data"],
    RUN_BASE + ["-g", "gaussian", "-d", "stocks"],
    # line breaks inside a name made a two-line message (str.splitlines counts \x1e, \x85, \u2028 too)
    RUN_BASE + ["-g", "gaussian", "-m", "md\x1ed"],
    RUN_BASE + ["-g", "gaus\u2028sian"],
    RUN_BASE + ["-g", "a\nb*"],
    ["run", "a\nb"],                                   # argparse's "unrecognized arguments"
    ["list", "generators", "x", "y\nz"],
    RUN_BASE + ["-g", "gaussian", "--include", "in/missing\n"],
    # a list inside a sweep came back as another sweep; dict / bytes values reached the components
    RUN_BASE + ["-g", "gan[lr=[1,[2,3]]]"],
    RUN_BASE + ["-g", "gan[lr={1:2}]"],
    RUN_BASE + ["-g", "gaussian[seed=b'x']"],
    # the display-name parser ran out of memory (MemoryError from ast.literal_eval)
    RUN_BASE + ["-g", "gan[lr=" + "-" * 3000 + "1]"],
    # a quoted bracket was taken for an unbalanced one; a second bracket group was read as a value
    RUN_BASE + ["-g", "gan[lr=1][x=2]"],
    # data files: a zip header, a 0-d array, complex values, an empty .npz
    ["evaluate", "--real", "in/zip.npz", "--synthetic", "in/good.npy"],
    ["evaluate", "--real", "in/good.npy", "--synthetic", "in/complex.npy"],
    ["evaluate", "--real", "in/good.npy", "--synthetic", "in/scalar.npy"],
    RUN_BASE + ["-g", "gaussian", "-d", "in/empty.npz"],
    RUN_BASE + ["-g", "gaussian", "-d", "in/huge.npy"],
])
def test_found_inputs_are_one_line_exit_2_and_write_nothing(argv):
    with sandbox() as root:
        rng = np.random.default_rng(1)
        np.save(root / "in" / "complex.npy", rng.random((30, 6, 2)) + 1j)
        np.save(root / "in" / "scalar.npy", np.array(2.0))
        np.savez(root / "in" / "empty.npz")
        np.save(root / "in" / "huge.npy", np.array([[1e308, 0.0], [-1e308, 1.0]] * 30))
        check_command(argv, root, must_fail=True)


@pytest.mark.parametrize("argv", [
    TABLE_BASE + ["--output", "new/nested/table.md"],
    RUN_BASE + ["-g", "gan[lr=[1e-3,1e-4]]", "-g", "in/plugins-ok/scaled_gaussian.py:ScaledGaussian[scale=0.5]"],
    ["list", "--include", "in/plugins"],              # broken plugin files are listed as unavailable
    ["run", "--no-progress", "--preset", "smoke", "--seeds", "1", "-m", "mmd", "--out", "runs", "--all",
     "--include", "in/plugins"],                      # ... and skipped by --all
])
def test_valid_neighbours_still_work(argv):
    with sandbox() as root:
        assert check_command(argv, root) == ""


def test_a_wildcard_skips_a_broken_plugin_as_all_does():
    """A wildcard -g that matches a plugin file failing to import used to stop the run (exit 1); like --all it
    now skips it with one line per skipped plugin and runs the rest."""
    with sandbox() as root:
        argv = RUN_BASE + ["-g", "*", "--include", "in/plugins"]
        assert check_command(argv, root) == ""
        code, out, err = invoke(argv)
        assert "skipped raises.py" in out + err and "skipped syntax.py" in out + err


@pytest.mark.parametrize("records", ["in/empty.csv", "in/ragged.csv"])
def test_unparseable_records_files_are_input_errors(records):
    with sandbox() as root:
        check_command(["table", "--records", records], root, must_fail=True)


def test_huge_thread_count_is_an_input_error():
    with sandbox() as root:
        check_command(RUN_BASE + ["-g", "gaussian", "--threads", "99999999999999999999999"], root, must_fail=True)
