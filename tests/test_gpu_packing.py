"""GPU packing (issue 16): cells packed on GPUs run as processes, each pinned to one GPU — tested on a CPU with a
fake device list (``CUDA_VISIBLE_DEVICES``, which GPU discovery reads and torch without CUDA ignores). A test
generator records what each cell's process saw: its ``CUDA_VISIBLE_DEVICES``, process id and running time."""
from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from tsbench.cli import main
from tsbench.registry import generators, include_class
from tsbench.runner.executors import ProcessExecutor
from tsbench.runner.grid import plan_cells, run_grid

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="fakes a GPU list; a real GPU would be used")

FAKE_GPUS = "3,5"

PLUGIN = '''
import json
import os
import signal
import time
from pathlib import Path

import numpy as np

from tsbench.generator import Generator


class SeenDevice(Generator):
    """Records the GPU its process sees, its pid and when it ran (``seen/<seed>.json`` next to this file)."""

    name = "seen_device"

    def __init__(self, *, wait_s: float = 1.0, die: bool = False):
        self.wait_s = wait_s
        self.die = die

    def _fit(self, X, *, seed, callback):
        seen = {"gpu": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid(), "ppid": os.getppid(),
                "start": time.time(), "die": self.die}
        folder = Path(__file__).parent / "seen"
        folder.mkdir(exist_ok=True)
        path = folder / f"{seed}-{os.getpid()}.json"
        path.write_text(json.dumps(seen))
        if self.die:  # a worker that crashes (or is killed) mid-cell
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.wait_s)
        path.write_text(json.dumps({**seen, "end": time.time()}))

    def _sample(self, n, *, seed):
        return np.full((n, self.seq_len_, self.n_features_in_), 0.5, dtype=np.float32)
'''


@pytest.fixture
def seen_device(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", FAKE_GPUS)
    path = tmp_path / "plugin" / "seen_device.py"
    path.parent.mkdir()
    path.write_text(PLUGIN)
    name = include_class(f"{path}:SeenDevice", generators)
    yield path.parent / "seen"
    generators.unregister(name)


def _cells(generator="seen_device", seeds=3, device="auto"):
    return plan_cells(["sines"], [generator], ["mmd"], seeds=seeds, preset="smoke", protocol="tsbench", device=device)


def _seen(folder) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _check_packing(seen: list[dict], *, per_gpu: int) -> None:
    """No two cells running at once share a process; at most ``per_gpu`` run at once on one GPU; each process
    saw exactly one GPU."""
    finished = [s for s in seen if "end" in s]
    for a in finished:
        running = [b for b in finished if b["start"] < a["end"] and a["start"] < b["end"]]  # a included
        assert Counter(b["pid"] for b in running)[a["pid"]] == 1, running
        assert Counter(b["gpu"] for b in running)[a["gpu"]] <= per_gpu, running
    gpus_of = defaultdict(set)
    for s in seen:
        gpus_of[s["pid"]].add(s["gpu"])
    assert all(len(g) == 1 and next(iter(g)) in FAKE_GPUS.split(",") for g in gpus_of.values()), gpus_of


def test_process_workers_are_pinned_round_robin_at_most_k_per_gpu(tmp_path, seen_device):
    summary = run_grid(_cells(seeds=3), tmp_path / "runs", executor=ProcessExecutor(3, cells_per_gpu=2),
                       progress=False)
    assert {o.status for o in summary.outcomes} == {"done"}
    seen = _seen(seen_device)
    assert len(seen) == 3
    _check_packing(seen, per_gpu=2)
    gpu_of = {s["pid"]: s["gpu"] for s in seen}
    assert len(gpu_of) == 3 and sorted(gpu_of.values()) == ["3", "3", "5"]  # workers 0, 1, 2 → 3, 5, 3


def test_a_replaced_worker_keeps_the_gpu_of_the_one_it_replaces(tmp_path, seen_device):
    dying = _cells("seen_device[die=True]", seeds=1)
    cells = dying + _cells("seen_device[wait_s=0.3]", seeds=3)
    summary = run_grid(cells, tmp_path / "runs", executor=ProcessExecutor(2, cells_per_gpu=1), progress=False)
    status = Counter(o.status for o in summary.outcomes)
    assert status == {"done": 3, "failed": 1}
    seen = _seen(seen_device)
    died = [s for s in seen if s["die"]]
    assert len(died) == 1 and died[0]["gpu"] == "3"  # the first worker: GPU 3
    _check_packing(seen, per_gpu=1)
    pids_on = defaultdict(set)
    for s in seen:
        pids_on[s["gpu"]].add(s["pid"])
    # GPU 3: the worker that died and its replacement; GPU 5: one worker throughout
    assert len(pids_on["3"]) == 2 and len(pids_on["5"]) == 1, pids_on


def test_explicit_gpu_list_overrides_discovery_cpu_cells_stay_unpinned_too_many_jobs_is_an_error(
        tmp_path, seen_device):
    from tsbench.errors import InputError

    run_grid(_cells(seeds=2, device="auto"), tmp_path / "runs",
             executor=ProcessExecutor(2, gpus=["7", "8"]), progress=False)
    assert sorted(s["gpu"] for s in _seen(seen_device)) == ["7", "8"]
    run_grid(_cells(seeds=1, device="cpu"), tmp_path / "cpu", executor=ProcessExecutor(2, cells_per_gpu=1),
             progress=False)
    assert sorted(s["gpu"] for s in _seen(seen_device)) == ["3,5", "7", "8"]  # a CPU cell is never pinned
    with pytest.raises(InputError, match=r"--jobs: expected at most 4 worker processes .*, got 5\. pass --jobs 4"):
        list(ProcessExecutor(5, cells_per_gpu=2).run(_cells(seeds=5), str(tmp_path / "x"), set()))


def test_cli_cells_per_gpu_defaults_jobs_to_gpus_times_k(tmp_path, seen_device, capsys):
    out = tmp_path / "runs"
    code = main(["run", "-g", "seen_device", "-d", "sines", "-m", "mmd", "--seeds", "4", "--preset", "smoke",
                 "--device", "auto", "--cells-per-gpu", "2", "--no-progress", "--out", str(out)])
    assert code == 0, capsys.readouterr()
    seen = _seen(seen_device)
    _check_packing(seen, per_gpu=2)
    assert sorted(Counter(s["gpu"] for s in {s["pid"]: s for s in seen}.values()).values()) == [2, 2]  # 4 workers


@pytest.mark.parametrize("args, fragment", [
    (["--cells-per-gpu", "1", "--jobs", "3"], "--jobs: expected at most 2 worker processes"),
    (["--cells-per-gpu", "2", "--device", "cuda:1"], "--cells-per-gpu: expected --device cuda or auto"),
    (["--cells-per-gpu", "2", "--executor", "inprocess"], "--cells-per-gpu: expected --executor process or dask"),
    (["--cells-per-gpu", "0"], "--cells-per-gpu: expected a positive integer"),
])
def test_bad_gpu_packing_options_are_one_line_errors(tmp_path, seen_device, capsys, args, fragment):
    code = main(["run", "-g", "seen_device", "-m", "mmd", "--seeds", "1", "--preset", "smoke",
                 "--out", str(tmp_path / "runs"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert fragment in err and ", got " in err and err.count(". ") >= 1, err  # expected …, got …. fix
    assert not (tmp_path / "runs").exists() and not seen_device.exists()


def test_cuda_without_a_visible_gpu_cannot_be_packed(tmp_path, seen_device, monkeypatch, capsys):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    code = main(["run", "-g", "seen_device", "-m", "mmd", "--seeds", "1", "--preset", "smoke", "--device", "cuda",
                 "--cells-per-gpu", "2", "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "expected at least one visible GPU" in err and len(err.splitlines()) == 1, err


def test_help_documents_cells_per_gpu(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping inside "round-robin"
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--cells-per-gpu K" in text and "each in its own process" in text and "round-robin" in text


@pytest.mark.parametrize("visible, device, expected", [
    ("3", "cuda", "cuda:0 (Fake H200, GPU 3)"),          # a pinned process: cuda:0 is physical GPU 3
    ("2,6", "cuda:1", "cuda:1 (Fake H200, GPU 6)"),
    (None, "cuda:1", "cuda:1 (Fake H200, GPU 1)"),
    ("GPU-1a2b", "auto", "cuda:0 (Fake H200, GPU-1a2b)"),
])
def test_device_label_names_the_physical_gpu(monkeypatch, visible, device, expected):
    from tsbench.runner.execute import _device_label

    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: "Fake H200" if index is not None else "?")
    assert _device_label(device) == expected


def test_dask_cells_packed_on_a_gpu_run_as_separate_processes(tmp_path, seen_device):
    pytest.importorskip("distributed")
    from tsbench.runner.dask_executor import DaskExecutor

    cells = _cells("seen_device[wait_s=2.0]", seeds=4)
    summary = run_grid(cells, tmp_path / "runs", executor=DaskExecutor(n_workers=2, cells_per_gpu=2, retries=0),
                       progress=False)
    assert {o.status for o in summary.outcomes} == {"done"}, summary.outcomes
    seen = _seen(seen_device)
    assert len(seen) == 4 and len({s["pid"] for s in seen}) == 4  # every cell its own process
    _check_packing(seen, per_gpu=2)
    workers = {s["ppid"]: s["gpu"] for s in seen}  # a cell's process is a child of its worker: one GPU each
    assert sorted(workers.values()) == ["3", "5"], seen
    assert all(s["ppid"] in workers and s["pid"] not in workers for s in seen)


def test_dask_local_cluster_has_one_worker_per_gpu(tmp_path, seen_device):
    pytest.importorskip("distributed")
    from tsbench.errors import InputError
    from tsbench.runner.dask_executor import DaskExecutor

    with pytest.raises(InputError, match="--jobs: expected at most 2 Dask workers"):
        list(DaskExecutor(n_workers=3, cells_per_gpu=2).run(_cells(seeds=1), str(tmp_path / "runs"), set()))
