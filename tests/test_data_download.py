"""The Stocks/Energy/ETTh1 downloader against a loopback HTTP server (never the internet)."""
from __future__ import annotations

import hashlib
import http.server
import socket
import threading

import numpy as np
import pytest

from tsbench.data import files, prepare_all, resolve_dataset
from tsbench.data.files import ChecksumError, DataUnavailableError, Source, fetch

from tests._helpers import stock_csv


def _energy_csv(rows=40, seed=1) -> bytes:
    values = np.random.default_rng(seed).random((rows, 28))
    header = ["date"] + [f"c{k}" for k in range(28)]
    lines = [",".join(f'"{h}"' for h in header)]
    lines += [f'"2016-01-11 {i // 6:02d}:{i % 6}0:00",' + ",".join(repr(float(v)) for v in row)
              for i, row in enumerate(values)]
    return ("\n".join(lines) + "\n").encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server():
    """A loopback server: ``state.files[path] = bytes``; ``state.requests`` counts GETs."""

    class State:
        files: dict[str, bytes] = {}
        requests = 0

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            State.requests += 1
            body = State.files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    State.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield State
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path / "cache"))
    for var in ("TSBENCH_DATA_DIR", "TSBENCH_DATA_URL_STOCKS", "TSBENCH_DATA_URL_ENERGY", "TSBENCH_DATA_URL_ETTH1"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _pin(monkeypatch, name, data: bytes, url: str, filename="stock_data.csv"):
    monkeypatch.setitem(files.SOURCES, name, Source(filename, _sha(data), (url,), ((filename, _sha(data)),)))


def test_download_once_then_cached(server, isolated, monkeypatch):
    data = stock_csv()
    server.files["/stock_data.csv"] = data
    _pin(monkeypatch, "stocks", data, server.base + "/stock_data.csv")
    path = fetch("stocks")
    assert path.parent == isolated / "cache" / "data" and path.read_bytes() == data
    assert server.requests == 1
    split = resolve_dataset("stocks[seq_len=5]").load(seed=0, protocol="timegan2019")
    assert split.train.shape == (55, 5, 6) and split.feature_names[0] == "Open"
    assert fetch("stocks") == path and server.requests == 1  # second call: no request
    assert prepare_all(["stocks"]) == [path] and server.requests == 1


def test_checksum_mismatch_is_an_error_and_file_not_kept(server, isolated, monkeypatch):
    server.files["/stock_data.csv"] = stock_csv(seed=1)
    _pin(monkeypatch, "stocks", stock_csv(seed=0), server.base + "/stock_data.csv")
    with pytest.raises(ChecksumError, match="sha256") as info:
        fetch("stocks")
    assert "\n" not in str(info.value)
    assert not (isolated / "cache" / "data" / "stock_data.csv").exists()


def test_corrupt_cached_file_is_replaced(server, isolated, monkeypatch):
    data = stock_csv()
    server.files["/stock_data.csv"] = data
    _pin(monkeypatch, "stocks", data, server.base + "/stock_data.csv")
    cached = isolated / "cache" / "data" / "stock_data.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"garbage")
    assert fetch("stocks").read_bytes() == data and server.requests == 1


def test_offline_without_copy_gives_one_clear_error(isolated, monkeypatch):
    with socket.socket() as sock:  # a port on which nothing listens
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/stock_data.csv"
    _pin(monkeypatch, "stocks", b"x", url)
    with pytest.raises(DataUnavailableError) as info:
        resolve_dataset("stocks").load(seed=0)
    message = str(info.value)
    assert "stock_data.csv" in message and url in message and "TSBENCH_DATA_DIR" in message
    assert "\n" not in message and info.value.exit_code == 2


def test_url_override_from_environment(server, isolated, monkeypatch):
    data = stock_csv()
    server.files["/mirror/s.csv"] = data
    _pin(monkeypatch, "stocks", data, "http://127.0.0.1:9/never-used")
    monkeypatch.setenv("TSBENCH_DATA_URL_STOCKS", server.base + "/mirror/s.csv")
    assert fetch("stocks").read_bytes() == data


def test_local_copy_is_used_and_verified(server, isolated, monkeypatch):
    data = stock_csv()
    _pin(monkeypatch, "stocks", data, server.base + "/stock_data.csv")
    local = isolated / "local"
    local.mkdir()
    (local / "stock_data.csv").write_bytes(data)
    monkeypatch.setenv("TSBENCH_DATA_DIR", str(local))
    assert fetch("stocks") == local / "stock_data.csv" and server.requests == 0
    (local / "stock_data.csv").write_bytes(stock_csv(seed=5))
    with pytest.raises(ChecksumError, match="stock_data.csv"):
        fetch("stocks")
    other = isolated / "other"  # the data_dir parameter wins over the environment
    other.mkdir()
    (other / "stock_data.csv").write_bytes(data)
    dataset = resolve_dataset("stocks", data_dir=str(other))
    assert dataset.prepare() == other / "stock_data.csv" and server.requests == 0


def test_energy_download_drops_date(server, isolated, monkeypatch):
    data = _energy_csv()
    server.files["/energydata_complete.csv"] = data
    _pin(monkeypatch, "energy", data, server.base + "/energydata_complete.csv", "energydata_complete.csv")
    dataset = resolve_dataset("energy[seq_len=4]")
    assert dataset.series().shape == (40, 28) and dataset.feature_names()[0] == "c0"
    assert dataset.load(seed=0, protocol="timegan2019").train.shape == (36, 4, 28)


ETT_COLUMNS = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


def _etth1_csv(rows=200, seed=2) -> bytes:
    values = np.random.default_rng(seed).normal(size=(rows, 7)) * 5
    lines = [",".join(["date", *ETT_COLUMNS])]
    lines += [f"2016-07-{1 + i // 24:02d} {i % 24:02d}:00:00," + ",".join(repr(float(v)) for v in row)
              for i, row in enumerate(values)]
    return ("\n".join(lines) + "\n").encode()


def test_etth1_from_a_cold_cache_through_the_downloader(server, isolated, monkeypatch):
    """ETTh1 is fetched into an empty cache, verified, read with ``date`` dropped (7 columns in file order), runs
    end to end under both protocols, and is not requested again."""
    data = _etth1_csv()
    server.files["/ETTh1.csv"] = data
    _pin(monkeypatch, "etth1", data, server.base + "/ETTh1.csv", "ETTh1.csv")
    dataset = resolve_dataset("etth1[seq_len=6]")
    assert dataset.series().shape == (200, 7) and dataset.feature_names() == ETT_COLUMNS
    assert dataset.load(seed=0, protocol="timegan2019").train.shape == (194, 6, 7)
    split = dataset.load(seed=0, protocol="tsbench")
    assert split.train.shape[1:] == (6, 7) and len(split.test) > 0
    assert server.requests == 1 and prepare_all(["etth1"]) and server.requests == 1


def test_etth1_pins_the_etdataset_file():
    source = files.SOURCES["etth1"]
    assert source.sha256 == "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"
    assert all(url.endswith("ETT-small/ETTh1.csv") for url in source.urls)
