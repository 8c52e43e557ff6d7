"""Side-by-side timing for benchmarks that compare two ways of doing one step."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def alternating_cpu_medians(steps: dict[str, Callable[[], object]], rounds: int, warmup: int = 3) -> dict[str, float]:
    """``{name: median seconds}`` of each step's CPU time (``time.process_time``: robust to other load on the
    machine), the steps run one after the other in each of ``warmup + rounds`` rounds, the first ``warmup`` rounds
    not counted — so slow drifts of the machine touch every step alike."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(warmup + rounds):
        for name, step in steps.items():
            start = time.process_time()
            step()
            if round_ >= warmup:
                times[name].append(time.process_time() - start)
    return {name: statistics.median(t) for name, t in times.items()}
