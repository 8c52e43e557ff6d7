"""Stocks and Energy (the TimeGAN paper's real datasets) and ETTh1, downloaded once and verified by sha256.

Where a file comes from, in order:

1. a local copy in ``data_dir`` (the dataset parameter / ``--data-dir``) or ``$TSBENCH_DATA_DIR``: a folder
   holding ``stock_data.csv``, ``energydata_complete.csv`` / ``energy_data.csv`` (the same UCI data with
   ``date`` dropped) or ``ETTh1.csv``; its sha256 is checked too;
2. the cache, ``$TSBENCH_CACHE/data`` (default: the user's cache folder, ``pooch.os_cache("tsbench")``);
3. a download from the public source into the cache (``$TSBENCH_DATA_URL_STOCKS``,
   ``$TSBENCH_DATA_URL_ENERGY``, ``$TSBENCH_DATA_URL_ETTH1`` replace the URLs, e.g. for a mirror).

A checksum mismatch is always an error (the file is never used). Offline without a copy gives one
:class:`DataUnavailableError` that names the file, the URL tried and where to put the file.

Several processes may share one cache (parallel workers, two runs on different ``--out`` folders): a
download holds a per-file lock (``.<file>.lock``; others wait up to ``$TSBENCH_DOWNLOAD_WAIT`` seconds,
default 900, then reuse the file), streams into a temporary ``.<file>.<random>.part`` beside it, and renames
it to the final name only once it has the announced length and the pinned sha256. An interrupted download
or a killed process never leaves a file under the final name; a file there that does not verify is replaced,
and temporaries left by a killed process are removed by the next download of that file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..card import Card
from ..dataset import Dataset
from ..errors import InputError
from .io import file_sha256, read_series_csv


class ChecksumError(InputError):
    """A data file whose sha256 differs from the pinned one (never used)."""


class DataUnavailableError(InputError):
    """A data file that is neither available locally nor downloadable."""


@dataclass(frozen=True)
class Source:
    """Where a dataset's file comes from: cached as ``filename``; ``local_names`` are accepted copies."""

    filename: str
    sha256: str
    urls: tuple[str, ...]
    local_names: tuple[tuple[str, str], ...]  # (file name, sha256) accepted in a local data folder


_STOCK_SHA = "134b8a00eb4eefa3242dd7ae85144082da80dedf75a1a656d5d08f97cd95277a"
_ENERGY_SHA = "2820bf712ad0275cb18b85a05250926100d8e65ebb9f4d2d016ca91ea152a25d"
_ENERGY_NODATE_SHA = "019593aa3e2d1a556a1e40025e198ae5fe6481d08bb1bd322f2b3b0115a906fd"
_ETTH1_SHA = "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"

#: the pinned files; tests (and mirrors) may replace entries
SOURCES: dict[str, Source] = {
    "stocks": Source(
        "stock_data.csv", _STOCK_SHA,
        ("https://raw.githubusercontent.com/jsyoon0823/TimeGAN/master/data/stock_data.csv",),
        (("stock_data.csv", _STOCK_SHA),)),
    "energy": Source(
        "energydata_complete.csv", _ENERGY_SHA,
        ("https://archive.ics.uci.edu/ml/machine-learning-databases/00374/energydata_complete.csv",
         # the dataset author's repository holds the byte-identical file (same git blob id)
         "https://raw.githubusercontent.com/LuisM78/Appliances-energy-prediction-data/master/"
         "energydata_complete.csv"),
        (("energydata_complete.csv", _ENERGY_SHA), ("energy_data.csv", _ENERGY_NODATE_SHA))),
    # the ETDataset repository's file at commit 1d16c8f (git blob a52c4925778c07c1ef1a2cf6fd01594919717d9e)
    "etth1": Source(
        "ETTh1.csv", _ETTH1_SHA,
        ("https://raw.githubusercontent.com/zhouhaoyi/ETDataset/1d16c8f4f943005d613b5bc962e9eeb06058cf07/"
         "ETT-small/ETTh1.csv",
         "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv"),
        (("ETTh1.csv", _ETTH1_SHA),)),
}


def cache_dir() -> Path:
    """``$TSBENCH_CACHE/data``, default ``pooch.os_cache("tsbench")/data``."""
    import pooch

    return Path(os.environ.get("TSBENCH_CACHE") or pooch.os_cache("tsbench")) / "data"


def source_urls(name: str) -> list[str]:
    override = os.environ.get(f"TSBENCH_DATA_URL_{name.upper()}")
    return [override] if override else list(SOURCES[name].urls)


def _local_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    folders = [data_dir, os.environ.get("TSBENCH_DATA_DIR")]
    return [_expand_user(Path(f)) for f in folders if f]


def _expand_user(path: Path) -> Path:
    """``~`` / ``~user`` expanded; a path naming no known user (``~0``) stays as it is (a relative folder)."""
    try:
        return path.expanduser()
    except RuntimeError:  # "Could not determine home directory"
        return path


def _verify(path: Path, sha256: str, name: str) -> Path:
    actual = file_sha256(path)
    if actual != sha256:
        raise ChecksumError(f"{name} data file {path}", expected=f"sha256 {sha256}", got=f"sha256 {actual}",
                            fix="the file is corrupt or a different version: delete it and run "
                                "`tsbench data prepare`, or put the original file there")
    return path


def fetch(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The verified local path of dataset ``name``'s file (downloading it into the cache if needed)."""
    source = SOURCES[name]
    for folder in _local_dirs(data_dir):
        for filename, sha256 in source.local_names:
            if (folder / filename).is_file():
                return _verify(folder / filename, sha256, name)
    folder = cache_dir()
    target = folder / source.filename
    if target.is_file() and file_sha256(target) == source.sha256:
        return target
    return _download(name, source, folder)


#: seconds a process waits for another one's download of the same file before giving up
#: (``$TSBENCH_DOWNLOAD_WAIT`` overrides it)
DOWNLOAD_WAIT = 900.0
#: seconds without any byte from the server before a download counts as failed
NETWORK_TIMEOUT = 60.0
_BLOCK = 1 << 16


class _Interrupted(Exception):
    """The server closed the connection before sending the announced number of bytes."""

    def __init__(self, received: int, total: int):
        super().__init__(f"download interrupted after {received} of {total} bytes")


class _Mismatch(Exception):
    """The downloaded bytes have another sha256 than the pinned one."""


def _download_wait() -> float:
    text = os.environ.get("TSBENCH_DOWNLOAD_WAIT")
    try:
        wait = float(text) if text else DOWNLOAD_WAIT
    except ValueError:
        raise InputError("TSBENCH_DOWNLOAD_WAIT", expected="a number of seconds", got=repr(text),
                         fix="unset it or set e.g. TSBENCH_DOWNLOAD_WAIT=900") from None
    return wait if wait > 0 else DOWNLOAD_WAIT


def _temporary_names(folder: Path, filename: str) -> list[Path]:
    """This file's download temporaries (``.<filename>.<random>.part``) in ``folder``."""
    return sorted(folder.glob(f".{filename}.*.part"))


def _download(name: str, source: Source, folder: Path) -> Path:
    """Download ``source`` into ``folder`` under a lock (one process downloads, the others wait and reuse it).

    Bytes go to a temporary file in the same folder, are hashed as they arrive, and are renamed to the final
    name only once complete (the announced length) and verified (sha256): an interrupted download, a killed
    process or a corrupt transfer never leaves a file under the final name, and a file there that does not
    verify is replaced. Temporaries left by a killed process are removed by the next download of that file.
    """
    from filelock import FileLock, Timeout

    where = (f"put {source.filename} (sha256 {source.sha256[:12]}…) in a folder and set TSBENCH_DATA_DIR to it "
             f"(or pass --data-dir), or run `tsbench data prepare` where the internet is reachable")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataUnavailableError(f"{name} data cache", expected="a writable cache folder",
                                   got=f"{folder} ({exc.strerror})", fix="set TSBENCH_CACHE to a writable folder")
    wait = _download_wait()
    lock = FileLock(str(folder / f".{source.filename}.lock"), timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise DataUnavailableError(f"{name} data file {source.filename}", expected="the download lock within "
                                   f"{wait:g} s", got=f"another process has been downloading it into {folder} "
                                   "longer than that", fix="wait for that download and run again (set "
                                   "TSBENCH_DOWNLOAD_WAIT to wait longer)") from None
    except OSError as exc:
        raise DataUnavailableError(f"{name} data cache", expected="a writable cache folder",
                                   got=f"{folder} ({exc.strerror})", fix="set TSBENCH_CACHE to a writable folder")
    errors = []
    try:
        target = folder / source.filename
        if target.is_file() and file_sha256(target) == source.sha256:  # another process just downloaded it
            return target
        for stale in _temporary_names(folder, source.filename):  # no one else downloads it: we hold the lock
            stale.unlink(missing_ok=True)
        for url in source_urls(name):
            try:
                return _download_url(url, target, source.sha256)
            except _Mismatch:
                raise ChecksumError(f"{name} data downloaded from {url}", expected=f"sha256 {source.sha256}",
                                    got="a file with a different sha256 (discarded, not used)",
                                    fix=f"the source changed or the download was corrupted; {where}") from None
            except Exception as exc:  # network errors of any kind: try the next URL
                text = str(exc).splitlines()[0][:160] if str(exc) else ""
                errors.append(f"{url}: {text}" if isinstance(exc, _Interrupted) else
                              f"{url}: {type(exc).__name__}: {text}")
    finally:
        lock.release()
    raise DataUnavailableError(f"{name} data file {source.filename}", expected="a local copy or a download",
                               got="download failed (" + "; ".join(errors) + ")", fix=where)


def _download_url(url: str, target: Path, sha256: str) -> Path:
    """``url`` into ``target`` through a temporary file, atomically, once complete and verified."""
    import hashlib
    import http.client
    import tempfile
    import urllib.request

    from .. import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"tsbench/{__version__}"})
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        digest, received = hashlib.sha256(), 0
        with os.fdopen(handle, "wb") as out, \
                urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT, context=_tls_context(url)) as response:
            length = (response.headers.get("Content-Length") or "").strip()
            total = int(length) if length.isdigit() else None
            while True:
                try:
                    block = response.read(_BLOCK)
                except http.client.IncompleteRead as exc:
                    raise _Interrupted(received + len(exc.partial), total or 0) from None
                if not block:
                    break
                out.write(block)
                digest.update(block)
                received += len(block)
            if total is not None and received != total:
                raise _Interrupted(received, total)
            if digest.hexdigest() != sha256:
                raise _Mismatch(digest.hexdigest())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        return target
    finally:
        Path(temporary).unlink(missing_ok=True)


def _tls_context(url: str):
    """Certificates from certifi when it is installed (as requests does), else the system's; None for http."""
    if not url.lower().startswith("https:"):
        return None
    import ssl

    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with requests (a pooch dependency)
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class _FileDataset(Dataset):
    """A dataset backed by one pinned CSV (a chronological series, oldest row first)."""

    n_columns: ClassVar[int] = 0

    def __init__(self, seq_len: int = 24, data_dir: str | None = None):
        self.seq_len = seq_len
        self.data_dir = data_dir

    def prepare(self) -> Path:
        """Fetch and verify the file; returns its path."""
        return fetch(self.name, self.data_dir)

    def _read(self) -> tuple[np.ndarray, list[str]]:
        values, names = read_series_csv(self.prepare())
        if values.shape[1] != self.n_columns:  # cannot happen for a verified file; guards a changed SOURCES
            raise InputError(f"{self.name} data", expected=f"{self.n_columns} numeric columns",
                             got=f"{values.shape[1]}", fix="check SOURCES / the local copy")
        return values, names

    def series(self) -> np.ndarray:
        return self._read()[0]

    def feature_names(self) -> list[str]:
        return self._read()[1]


#: what the tsbench protocols do differently from the TimeGAN loader (tsbench.protocols)
_TSBENCH_SPLIT = ("tsbench protocols: no row reversal; the series is split before windowing — tsbench@2 into "
                  "purged contiguous blocks (train / test / floor), tsbench-chrono@2 chronologically — and the "
                  "min-max scaler is fitted on the training rows only")


class Stocks(_FileDataset):
    """GOOG daily prices 2004-08-19 to ~2019: 3685 rows × 6 columns (Open, High, Low, Close, Adj_Close, Volume).

    The TimeGAN repository's ``data/stock_data.csv`` (Yoon et al. 2019). 3661 windows of 24 steps under
    the ``timegan2019`` protocol.
    """

    name = "stocks"
    version = "1"
    n_columns = 6
    card = Card(
        title="Stocks (GOOG daily, TimeGAN repository)", authors="Yoon, Jarrett, van der Schaar", year=2019,
        venue="NeurIPS", citation_key="yoon2019", url="https://github.com/jsyoon0823/TimeGAN",
        faithful=("byte-identical data/stock_data.csv (sha256 pinned)", "TimeGAN loader: rows reversed "
                  "(timegan2019 protocol), min-max scaled with the 1e-7 term, stride-1 windows (len - seq_len)"),
        adapted=("window shuffle seeded", _TSBENCH_SPLIT),
        licence="Yahoo Finance data (Yahoo terms of service, no open-data licence); redistributed by the "
                "TimeGAN repository; research use only")


class Energy(_FileDataset):
    """UCI "Appliances energy prediction": 19735 rows × 28 numeric columns (``date`` dropped).

    L. M. Candanedo, V. Feldheim, D. Deramaix, "Data driven prediction models of energy use of appliances
    in a low-energy house", Energy and Buildings 140 (2017) 81–97. ``rv1`` and ``rv2`` are random noise
    columns added on purpose by the dataset's authors (``rv1 == rv2``). 19711 windows of 24 steps under
    the ``timegan2019`` protocol.
    """

    name = "energy"
    version = "1"
    n_columns = 28
    card = Card(
        title="Energy (UCI Appliances energy prediction)", authors="Candanedo, Feldheim, Deramaix", year=2017,
        venue="Energy and Buildings 140:81-97", citation_key="candanedo2017",
        url="https://archive.ics.uci.edu/dataset/374/appliances+energy+prediction",
        faithful=("UCI energydata_complete.csv (sha256 pinned), date column dropped, all 28 numeric columns, "
                  "as in TimeGAN (Yoon et al. 2019)", "TimeGAN loader: rows reversed (timegan2019 protocol), "
                  "min-max scaled with the 1e-7 term, stride-1 windows (len - seq_len)"),
        adapted=("window shuffle seeded", _TSBENCH_SPLIT),
        licence="CC BY 4.0 (UCI Machine Learning Repository); cite Candanedo et al. 2017")


class ETTh1(_FileDataset):
    """Electricity Transformer Temperature, hourly, transformer 1: 17420 rows × 7 numeric columns (``HUFL``,
    ``HULL``, ``MUFL``, ``MULL``, ``LUFL``, ``LULL`` loads and ``OT`` oil temperature; ``date`` dropped),
    2016-07-01 to 2018-06-26, oldest first.

    H. Zhou et al., "Informer: Beyond Efficient Transformer for Long Sequence Time-Series Forecasting", AAAI 2021;
    used at window lengths 24 to 256 by Diffusion-TS (Yuan & Qiao, ICLR 2024). The file is downloaded unaltered
    (its licence forbids redistributing altered copies) and never shipped with tsbench.
    """

    name = "etth1"
    version = "1"
    n_columns = 7
    card = Card(
        title="ETTh1 (Electricity Transformer Temperature, hourly, transformer 1)",
        authors="Zhou, Zhang, Peng, Zhang, Li, Xiong, Zhang", year=2021, venue="AAAI",
        citation_key="zhou2021informer", url="https://github.com/zhouhaoyi/ETDataset",
        faithful=("ETDataset's ETT-small/ETTh1.csv, unaltered (sha256 pinned); date column dropped, the 7 numeric "
                  "columns kept in file order", "timegan2019 protocol: the TimeGAN loader as for Stocks and "
                  "Energy (rows reversed, min-max scaled with the 1e-7 term, stride-1 windows)"),
        adapted=("window shuffle seeded", _TSBENCH_SPLIT),
        licence="CC BY-ND 4.0: unaltered copies only, with attribution; cite Zhou et al. 2021")
