"""Concurrency (issue 15, item 6): two runs on one results folder, and runs sharing one download cache.

* two ``tsbench run`` on one ``--out``: the second refuses at once with one line (exit 2) naming the lock, and
  the first finishes unharmed; the same command afterwards reuses the finished cell;
* dataset downloads into ``$TSBENCH_CACHE`` (a loopback HTTP server, never the internet): an interrupted
  download never leaves a file that later passes as complete; two processes fetching the same file download it
  once, and both get the complete, verified file; a stale partial or temporary file in the cache is ignored
  and replaced.

Every wait is bounded; servers bind to 127.0.0.1 only.
"""
from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tsbench.data import files
from tsbench.data.files import ChecksumError, DataUnavailableError, Source, fetch
from tsbench.errors import InputError

from tests._helpers import stock_csv

ROOT = Path(__file__).resolve().parents[1]
WAIT = 60.0  # upper bound of every wait in this file (seconds)


DATA = stock_csv(rows=400)
SHA = hashlib.sha256(DATA).hexdigest()


def _wait_for(condition, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def server():
    """A loopback server. ``state.mode`` decides how ``/stock_data.csv`` is served:

    * ``full`` — the whole file with its Content-Length;
    * ``half`` — Content-Length of the whole file, half the bytes, then the connection closes;
    * ``half-unsized`` — half the bytes without a Content-Length, then the connection closes;
    * ``slow`` — half the bytes, then a pause until ``state.release`` is set (bounded), then the rest.

    ``state.requests`` counts GETs (``state.started`` is set at the first)."""

    class State:
        mode = "full"
        requests = 0
        started = threading.Event()
        release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            State.requests += 1
            State.started.set()
            mode, half = State.mode, len(DATA) // 2
            if self.path != "/stock_data.csv":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            if mode != "half-unsized":
                self.send_header("Content-Length", str(len(DATA)))
            self.end_headers()
            self.wfile.write(DATA[:half])
            self.wfile.flush()
            if mode == "slow":
                State.release.wait(WAIT)
            if mode in ("full", "slow"):
                self.wfile.write(DATA[half:])
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    State.url = f"http://127.0.0.1:{httpd.server_address[1]}/stock_data.csv"
    yield State
    State.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(WAIT)


@pytest.fixture
def cache(tmp_path, monkeypatch, server):
    """``$TSBENCH_CACHE`` in a temporary folder, Stocks pinned to :data:`DATA` served by ``server``."""
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path / "cache"))
    for var in ("TSBENCH_DATA_DIR", "TSBENCH_DATA_URL_STOCKS", "TSBENCH_DATA_URL_ENERGY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setitem(files.SOURCES, "stocks", Source("stock_data.csv", SHA, (server.url,),
                                                        (("stock_data.csv", SHA),)))
    return tmp_path / "cache" / "data"


def _leftovers(folder: Path) -> list[str]:
    """Files in the cache folder other than lock files."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


# ---------------------------------------------------------------------------------------------- (a)
@pytest.mark.parametrize("mode", ["half", "half-unsized"])
def test_interrupted_download_leaves_nothing_and_the_next_call_completes(server, cache, mode):
    server.mode = mode
    with pytest.raises(InputError) as info:
        fetch("stocks")
    message = str(info.value)
    assert "\n" not in message and "stock_data.csv" in message and info.value.exit_code == 2
    if mode == "half":  # the server announced the size: the error says the download was cut short
        assert isinstance(info.value, DataUnavailableError) and server.url in message
        assert "interrupted" in message and f"of {len(DATA)} bytes" in message
    else:  # nothing tells the short body apart from a complete one but its sha256
        assert isinstance(info.value, ChecksumError)
    assert _leftovers(cache) == []  # no partial file, under any name
    server.mode = "full"
    path = fetch("stocks")
    assert path == cache / "stock_data.csv" and path.read_bytes() == DATA
    assert _leftovers(cache) == ["stock_data.csv"] and server.requests == 2


# ---------------------------------------------------------------------------------------------- (c)
@pytest.mark.parametrize("stale", ["stock_data.csv", ".stock_data.csv.x1y2z3.part", "tmpab12cd34"])
def test_a_stale_partial_file_in_the_cache_is_ignored_and_replaced(server, cache, stale):
    """A half file under the final name (an old crash), our own temporary name or pooch's: never used."""
    cache.mkdir(parents=True)
    (cache / stale).write_bytes(DATA[: len(DATA) // 2])
    path = fetch("stocks")
    assert path.read_bytes() == DATA and server.requests == 1
    ours = stale == "stock_data.csv" or stale.startswith(".stock_data.csv.")
    # a stale temporary of ours is removed under the download lock; a foreign one is left alone
    assert _leftovers(cache) == (["stock_data.csv"] if ours else sorted(["stock_data.csv", stale]))
    assert fetch("stocks") == path and server.requests == 1  # verified and reused


# ---------------------------------------------------------------------------------------------- (b)
_FETCH_SCRIPT = textwrap.dedent("""
    import hashlib, sys
    from pathlib import Path
    from tsbench.data import files
    from tsbench.data.files import Source
    url, sha, marker = sys.argv[1:4]
    files.SOURCES["stocks"] = Source("stock_data.csv", sha, (url,), (("stock_data.csv", sha),))
    Path(marker).write_text("calling fetch")
    path = files.fetch("stocks")
    print(path, hashlib.sha256(Path(path).read_bytes()).hexdigest())
""")


def _spawn_fetch(server, tmp_path: Path, tag: str) -> tuple[subprocess.Popen, Path]:
    marker = tmp_path / f"{tag}.started"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _FETCH_SCRIPT, server.url, SHA, str(marker)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    return proc, marker


def test_two_processes_fetching_one_file_download_it_once(server, cache, tmp_path):
    """The first process is held mid-download; the second starts fetching meanwhile and waits for the
    first's lock (no second request); both end with the complete, verified file."""
    server.mode = "slow"
    first, first_marker = _spawn_fetch(server, tmp_path, "first")
    second = None
    try:
        _wait_for(server.started.is_set, "the first download to start")
        second, second_marker = _spawn_fetch(server, tmp_path, "second")
        _wait_for(second_marker.exists, "the second process to call fetch")
        time.sleep(1.0)  # the second process is now waiting for the lock (or, without one, downloading too)
        assert server.requests == 1
        server.release.set()
        results = [proc.communicate(timeout=WAIT) for proc in (first, second)]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(WAIT)
    for proc, (out, err) in zip((first, second), results):
        assert proc.returncode == 0, err
        path, sha = out.split()
        assert Path(path) == cache / "stock_data.csv" and sha == SHA
    assert server.requests == 1
    assert (cache / "stock_data.csv").read_bytes() == DATA and _leftovers(cache) == ["stock_data.csv"]


def test_a_download_held_by_another_process_for_too_long_is_a_clear_error(server, cache, monkeypatch):
    """The lock wait is bounded: past TSBENCH_DOWNLOAD_WAIT seconds the caller gets one line, not a hang."""
    from filelock import FileLock

    monkeypatch.setenv("TSBENCH_DOWNLOAD_WAIT", "0.5")
    cache.mkdir(parents=True)
    with FileLock(str(cache / ".stock_data.csv.lock")):  # another process's download, in effect
        thread_error: list[BaseException] = []

        def call():
            try:
                fetch("stocks")
            except BaseException as exc:  # noqa: BLE001
                thread_error.append(exc)

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        thread.join(WAIT)
        assert not thread.is_alive()
    assert len(thread_error) == 1 and isinstance(thread_error[0], DataUnavailableError)
    assert "another process" in str(thread_error[0]) and "\n" not in str(thread_error[0])
    assert server.requests == 0
    assert fetch("stocks").read_bytes() == DATA  # once the lock is free


# ---------------------------------------------------------------------------------------------- run lock
_SLOW_PLUGIN = textwrap.dedent('''
    """A generator whose fit waits for a release file (bounded), so a test can hold a run open."""
    import os, time
    from pathlib import Path

    import numpy as np

    from tsbench.card import Card
    from tsbench.generator import Generator


    class HeldGaussian(Generator):
        name = "held_gaussian"
        card = Card(title="Gaussian that waits for a release file")

        def __init__(self, scale: float = 1.0):
            self.scale = scale

        def _fit(self, X, *, seed, callback):
            folder = Path(os.environ["HELD_FOLDER"])
            (folder / "started").write_text("fit")
            deadline = time.monotonic() + 60
            while not (folder / "release").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.mean_, self.std_ = X.mean(axis=0), X.std(axis=0)
            callback(1, 1, {})

        def _sample(self, n, *, seed):
            noise = np.random.default_rng(seed).standard_normal((n, *self.mean_.shape))
            return np.clip(self.mean_ + self.scale * self.std_ * noise, 0.0, 1.0)
''')


def test_a_second_run_on_the_same_folder_refuses_with_one_line(tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "held.py").write_text(_SLOW_PLUGIN)
    out = tmp_path / "runs"
    argv = ["run", "--include", str(tmp_path / "plugins"), "-g", "held_gaussian", "-d", "sines[n_samples=60,seq_len=6]",
            "-m", "mdd", "--preset", "smoke", "--seeds", "1", "--no-progress", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HELD_FOLDER": str(tmp_path), "TSBENCH_PROGRESS": "0"}
    command = [sys.executable, "-c", "import sys; from tsbench.cli import main; sys.exit(main(sys.argv[1:]))"]
    first = subprocess.Popen(command + argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=tmp_path)
    try:
        _wait_for(lambda: (tmp_path / "started").exists() or first.poll() is not None,
                  "the first run to start training", timeout=3 * WAIT)
        assert first.poll() is None, first.communicate()
        second = subprocess.run(command + argv, env=env, capture_output=True, text=True, cwd=tmp_path,
                                timeout=3 * WAIT)
        (tmp_path / "release").write_text("go")
        out_first, err_first = first.communicate(timeout=3 * WAIT)
    finally:
        (tmp_path / "release").write_text("go")
        if first.poll() is None:
            first.kill()
            first.wait(WAIT)
    lines = second.stderr.strip().splitlines()
    assert second.returncode == 2 and len(lines) == 1, second.stderr
    assert "another tsbench run is using" in lines[0] and ".tsbench.lock" in lines[0]
    assert first.returncode == 0, err_first
    assert "1 cells: 0 already done, 1 trained, 1 finished, 0 failed" in out_first
    # the refused run changed nothing: the same command now finds the finished cell
    again = subprocess.run(command + argv, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=3 * WAIT)
    assert again.returncode == 0 and "1 already done, 0 trained" in again.stdout, again.stderr
