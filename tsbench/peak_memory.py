"""Peak memory of a block of work (the records' ``peak_memory_mb``, a cost column of the leaderboard).

* CUDA: the peak of PyTorch's allocated device memory over the block (``torch.cuda.max_memory_allocated``,
  reset at its start) — what the model's tensors needed, exactly.
* CPU: the peak resident set size of the whole process over the block, sampled every ``interval`` seconds from
  ``/proc/self/statm`` (Linux; ``None`` elsewhere). It includes the interpreter and the loaded libraries (a few
  hundred MB for torch) and memory the process kept from earlier cells, so compare rows measured the same way;
  a spike shorter than the interval can be missed.
"""
from __future__ import annotations

import os
import threading

MB = 1 << 20


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class PeakMemory:
    """Context manager: ``with PeakMemory(device_type) as peak: ...`` then ``peak.mb`` (float or ``None``)."""

    def __init__(self, device_type: str = "cpu", interval: float = 0.01):
        self.device_type, self.interval = device_type, interval
        self.mb: float | None = None
        self._peak, self._stop, self._thread = 0, threading.Event(), None

    def __enter__(self) -> "PeakMemory":
        if self.device_type == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
        elif (rss := _rss_bytes()) is not None:
            self._peak = rss
            self._thread = threading.Thread(target=self._sample, name="tsbench-peak-memory", daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, _rss_bytes() or 0)

    def __exit__(self, *exc) -> None:
        if self.device_type == "cuda":
            import torch

            self.mb = torch.cuda.max_memory_allocated() / MB
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.mb = max(self._peak, _rss_bytes() or 0) / MB
