"""GPU discovery and pinning: one CUDA context per process, each process on one GPU.

Cells are packed on GPUs as *processes*, never as threads of one process (threads would share the global RNG,
torch's thread settings and one CUDA context, and runs would not be reproducible):

* ``--jobs`` (:class:`~tsbench.runner.executors.ProcessExecutor`): worker ``k`` of ``N`` is pinned to GPU
  ``gpus[k mod G]`` — round-robin, so with ``--cells-per-gpu K`` (``N ≤ G × K``) at most ``K`` workers share a GPU.
  A worker that replaces one killed past its deadline or crashed gets the same GPU.
* Dask (:mod:`tsbench.runner.dask_executor`): one worker per GPU (resource ``GPU=1``, pinned by
  :class:`~tsbench.runner.dask_executor.PinGPU` on a ``LocalCluster``); with ``--cells-per-gpu`` each cell runs in
  a child process of its worker (:mod:`tsbench.runner.deadline`), which inherits the worker's GPU.

Pinning sets ``CUDA_VISIBLE_DEVICES`` to one id in the process before torch initialises CUDA, so the process sees
its GPU as ``cuda:0``; the records' ``device`` column names the GPU it really ran on (:func:`device_label`).

GPU discovery (:func:`visible_gpus`) reads ``CUDA_VISIBLE_DEVICES`` when it is set, else the GPUs the NVIDIA
driver lists in ``/proc/driver/nvidia/gpus``. The tests run on a CPU by setting ``CUDA_VISIBLE_DEVICES`` to a fake
list (torch without CUDA ignores it) and checking what each process saw.

>>> worker_gpus(3, ["3", "5"], cells_per_gpu=2)
['3', '5', '3']
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ..errors import InputError

VISIBLE_ENV = "CUDA_VISIBLE_DEVICES"
#: devices a cell may be pinned for: the run chose "a GPU", not a particular one (``cuda:N`` is never re-pinned)
PINNABLE_DEVICES = ("cuda", "auto")


def visible_gpus() -> list[str]:
    """The GPU ids this process may use: ``$CUDA_VISIBLE_DEVICES`` (ids or UUIDs) when set, else every GPU of
    ``/proc/driver/nvidia/gpus`` (``"0"``, ``"1"``, …); ``[]`` on a machine without NVIDIA GPUs."""
    listed = os.environ.get(VISIBLE_ENV)
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip()]
    gpus = Path("/proc/driver/nvidia/gpus")
    return [str(i) for i in range(len(list(gpus.iterdir())))] if gpus.is_dir() else []


def pinnable(device: str) -> bool:
    """Whether a cell on ``device`` is pinned to a GPU by the executors (``cuda`` or ``auto``, no index)."""
    return str(device).strip().lower() in PINNABLE_DEVICES


def gpus_for(cells: Iterable, *, cells_per_gpu: int | None = None, gpus: list[str] | None = None) -> list[str]:
    """The GPU ids to pin workers to for ``cells`` (``[]``: no pinning).

    ``gpus`` (default :func:`visible_gpus`) is used when some cell's device is ``cuda`` or ``auto``. With
    ``cells_per_gpu``, a cell on ``cuda:N`` or ``--device cuda`` without any GPU is an :class:`InputError`."""
    cells = list(cells)
    if cells_per_gpu:
        indexed = sorted({c.device for c in cells if str(c.device).strip().lower().startswith("cuda:")})
        if indexed:
            raise InputError("--cells-per-gpu", expected="--device cuda or auto (each worker gets one GPU)",
                             got=f"--device {indexed[0]}",
                             fix="pass --device cuda (workers are pinned round-robin to the visible GPUs; "
                                 "choose them with CUDA_VISIBLE_DEVICES) or drop --cells-per-gpu")
    if not any(pinnable(c.device) for c in cells):
        return []
    found = list(visible_gpus() if gpus is None else gpus)
    if cells_per_gpu and not found and any(str(c.device).strip().lower() == "cuda" for c in cells):
        raise InputError("--cells-per-gpu", expected="at least one visible GPU",
                         got=f"none (${VISIBLE_ENV} unset or empty and no /proc/driver/nvidia/gpus)",
                         fix="run on a machine with a GPU, set CUDA_VISIBLE_DEVICES, or drop --cells-per-gpu")
    return found


def worker_gpus(n_workers: int, gpus: list[str], *, cells_per_gpu: int | None = None,
                jobs: int | None = None) -> list[str | None]:
    """The GPU of each of ``n_workers`` workers: ``gpus[k mod G]`` for worker ``k`` (``None``: not pinned).

    With ``cells_per_gpu`` = K, ``jobs`` (default ``n_workers``: the workers the run was configured with) must
    be at most ``G × K``, else :class:`InputError`."""
    if not gpus:
        return [None] * n_workers
    jobs = n_workers if jobs is None else jobs
    if cells_per_gpu and jobs > len(gpus) * cells_per_gpu:
        raise InputError("--jobs", expected=f"at most {len(gpus) * cells_per_gpu} worker processes "
                                            f"({len(gpus)} visible GPU(s) × --cells-per-gpu {cells_per_gpu})",
                         got=str(jobs), fix=f"pass --jobs {len(gpus) * cells_per_gpu} (or leave --jobs out), raise "
                                            "--cells-per-gpu, or make more GPUs visible (CUDA_VISIBLE_DEVICES)")
    return [gpus[k % len(gpus)] for k in range(n_workers)]


def check_one_worker_per_gpu(n_workers: int, gpus: list[str], *, cells_per_gpu: int) -> None:
    """A Dask ``LocalCluster`` packing GPU cells has one worker per GPU: ``n_workers`` ≤ G, else
    :class:`InputError`."""
    if gpus and n_workers > len(gpus):
        raise InputError("--jobs", expected=f"at most {len(gpus)} Dask workers with --cells-per-gpu (one worker per "
                                            f"visible GPU, {cells_per_gpu} cells each)", got=str(n_workers),
                         fix=f"pass --jobs {len(gpus)} (or leave --jobs out) and raise --cells-per-gpu to run more "
                             "cells per GPU")


def pin_this_process(gpu: str | None) -> None:
    """Make ``gpu`` the only GPU this process sees (``cuda:0``). Call before torch initialises CUDA."""
    if gpu is None:
        return
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():  # too late: CUDA already chose its devices
        raise RuntimeError(f"cannot pin this process to GPU {gpu}: CUDA is already initialised in it")
    os.environ[VISIBLE_ENV] = gpu


def physical_gpu(index: int) -> str:
    """The id of the GPU this process calls ``cuda:index``: its entry in ``$CUDA_VISIBLE_DEVICES`` (a pinned
    process's ``cuda:0`` is the GPU it was pinned to), else ``index`` itself."""
    listed = [d.strip() for d in os.environ.get(VISIBLE_ENV, "").split(",") if d.strip()]
    return listed[index] if index < len(listed) else str(index)


def device_label(device: str) -> str:
    """The records' ``device`` column: ``"cuda:0 (NVIDIA H200, GPU 3)"`` — the index this process used, the
    device name and the physical GPU (:func:`physical_gpu`) — or ``"cpu (N cores, T threads)"``."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index
        index = torch.cuda.current_device() if index is None else index
        gpu = physical_gpu(index)
        gpu = gpu if gpu.upper().startswith(("GPU-", "MIG-")) else f"GPU {gpu}"  # a UUID names itself
        return f"cuda:{index} ({torch.cuda.get_device_name(index)}, {gpu})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"


__all__ = ["check_one_worker_per_gpu", "device_label", "gpus_for", "physical_gpu", "pin_this_process", "pinnable", "visible_gpus",
           "worker_gpus"]
