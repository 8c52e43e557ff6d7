"""Where and with what code something ran, in one place: the runner's records, the scripts' committed outputs
(measurements, chaos, tuning, GPU check) and the benchmark recorder all state the git commit, the machine and
the library versions through these functions. Nothing here imports torch."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

#: the source folders whose uncommitted edits make a recorded commit inexact
SOURCES = ("tsbench", "baselines", "metrics")


def git(*args: str, cwd: str | Path | None = None) -> str | None:
    """``git ARGS`` in ``cwd`` (default: the checkout this package lives in); its output, or ``None`` when git or
    the checkout is missing (an installed wheel has no commit)."""
    where = Path(cwd) if cwd else Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_sha(cwd: str | Path | None = None) -> str | None:
    """The full commit sha of the checkout, or ``None``."""
    return git("rev-parse", "HEAD", cwd=cwd) or None


def uncommitted_sources(cwd: str | Path | None = None, paths=SOURCES) -> list[str] | None:
    """Tracked source files with uncommitted changes (``None`` without git)."""
    status = git("status", "--porcelain", "--untracked-files=no", "--", *paths, cwd=cwd)
    return None if status is None else sorted(line[3:] for line in status.splitlines())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def machine() -> dict:
    """System, architecture, CPU model, cores, memory and the 1-minute load (how busy the machine was)."""
    out = {"system": platform.system(), "arch": platform.machine(), "cpu": cpu_model(), "cores": os.cpu_count(),
           "memory_gib": memory_gib()}
    if hasattr(os, "getloadavg"):
        out["load_1min"] = round(os.getloadavg()[0], 2)
    return out


def machine_text() -> str:
    """One line: ``"x86_64, 2 cores (CPU model), Linux"``."""
    return f"{platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), {platform.system()}"


__all__ = ["SOURCES", "git", "git_sha", "uncommitted_sources", "cpu_model", "memory_gib", "machine", "machine_text"]
