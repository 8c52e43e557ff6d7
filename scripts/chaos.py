"""Chaos test of the resumable runner (issue 15, item 5): SIGKILL `tsbench run` at seeded random moments, resume
it each time, and compare the end result with an uninterrupted run.

    python scripts/chaos.py results/chaos --seed 1           # the committed run: 5 kills, --jobs 2 (with seed 0
                                                             # two kills came after the grid ended on an idle
                                                             # machine; seed 1's all land)
    python scripts/chaos.py OUT --kills 2 --work DIR         # fewer kills (tests/test_chaos.py)

1. The grid (:data:`GRID`: gan, timegan, gaussian, real × sines × 2 seeds; mmd + discriminative; ``smoke`` preset;
   one torch thread per job; a mid-fit checkpoint every ``--checkpoint-steps`` steps) runs uninterrupted into
   ``WORK/reference``.
2. It runs into ``WORK/chaos`` and is SIGKILLed ``--kills`` times, each kill in a fresh run, at moments drawn from
   ``--seed``. Kinds (:func:`plan_kills`): ``fit`` — a random delay after a fit is seen under way (a cell has
   ``fit.ckpt``); ``write`` — as soon as an atomic write is seen in flight (a temporary file); ``any`` — a random
   time after the start; ``worker`` (``--jobs`` > 1) — one worker process only, mid-fit: the runner records its
   cell as failed and finishes the others. Other kinds kill the runner with its workers (its process group).
   Where each kill landed is read from the folder right after it. Then the run is resumed until it completes.
3. The records of both folders are compared on every column but timings, timestamps and provenance
   (:data:`VOLATILE`), each cell's data files byte for byte, and the chaos folder is scanned for orphaned
   (temporary, leftover ``fit.ckpt``, unknown) and unverifiable files.
4. ``OUT/chaos.json``, ``OUT/README.md`` (generated from it) and ``OUT/chaos.svg`` (a timeline of the runs and
   kills) are written. Exit status 0 when the result is identical, 1 when not.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tsbench.records import VOLATILE_COLUMNS

SCHEMA = "tsbench-chaos/1"
ROOT = Path(__file__).resolve().parents[1]
#: the grid: smoke preset, with longer gan and timegan fits (seconds, not tenths) so that kills land inside them
GRID = {"generators": ["gan[iterations=1500]", "timegan[iterations=60]", "gaussian", "real"], "datasets": ["sines"],
        "metrics": ["mmd", "discriminative"], "seeds": 2, "preset": "smoke"}
#: record columns that may differ between two runs of the same cells: timings, memory, timestamps, provenance
VOLATILE = VOLATILE_COLUMNS
#: top-level keys of chaos.json (tests/test_chaos.py checks them)
TOP_KEYS = ("schema", "created", "git_sha", "git_dirty", "machine", "python", "torch_version", "settings",
            "reference", "kills", "resume_runs", "cells", "records", "files", "identical", "elapsed_s")
RUN_TIMEOUT_S = 900.0


# running tsbench ------------------------------------------------------------------------------------------------
def run_command(out: Path, jobs: int, grid: dict = GRID) -> list[str]:
    """The ``tsbench run`` command of ``grid`` into ``out`` (CPU, one torch thread per job)."""
    cmd = [sys.executable, "-m", "tsbench.cli", "run", "--seeds", str(grid["seeds"]), "--preset", grid["preset"],
           "--device", "cpu", "--jobs", str(jobs), "--threads", "1", "--no-progress", "--out", str(out)]
    for flag, key in (("-d", "datasets"), ("-g", "generators"), ("-m", "metrics")):
        for name in grid[key]:
            cmd += [flag, name]
    return cmd


def run_env(checkpoint_steps: int) -> dict:
    return {**os.environ, "TSBENCH_CHECKPOINT_STEPS": str(checkpoint_steps), "TSBENCH_PROGRESS": "0",
            "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (so the runner and its workers can be killed together)."""
    with open(log, "ab") as fh:
        return subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=ROOT)


def wait_until(predicate, proc: subprocess.Popen, timeout: float, poll: float = 0.002) -> bool:
    """Poll ``predicate`` while ``proc`` runs; True once it holds, False when ``proc`` ends or time runs out."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(poll)
    return False


def worker_pids(pid: int) -> list[int]:
    """The multiprocessing worker processes (``spawn_main``, not the resource tracker) whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


# the folder -------------------------------------------------------------------------------------------------
def _modified_since(path: Path, since: float | None) -> bool:
    try:
        return since is None or path.stat().st_mtime >= since
    except FileNotFoundError:
        return False


def temp_files(out: Path, since: float | None = None) -> list[str]:
    """Temporary files of atomic writes (created at or after ``since``: in flight in this run), relative to
    ``out``."""
    return sorted(p.relative_to(out).as_posix() for p in Path(out).rglob(".*.tmp") if _modified_since(p, since))


def fits_under_way(out: Path, since: float | None = None) -> list[str]:
    """Cells (relative folders) with a mid-fit checkpoint (saved at or after ``since``) and no training marker."""
    cells = Path(out) / "cells"
    return sorted(p.parent.relative_to(out).as_posix() for p in cells.glob("*/fit.ckpt")
                  if not (p.parent / "trained.json").exists() and _modified_since(p, since)) if cells.is_dir() else []


def checkpoint_step(path: Path) -> int | None:
    """The last completed step saved in a ``fit.ckpt`` (None when it cannot be read)."""
    from tsbench.generator import TrainingCheckpoint

    saved = TrainingCheckpoint(path).read()
    return None if saved is None else int(saved["step"])


def cell_label(cell_dir: Path) -> str:
    try:
        spec = json.loads((cell_dir / "cell.json").read_text())
        return f"{spec['generator']} seed {spec['seed']}"
    except (OSError, ValueError, KeyError):
        return cell_dir.name


def landing(out: Path, since: float | None = None) -> dict:
    """Where a kill landed, read from the folder right after it (a run started at ``since``, a ``time.time()``):
    a write in flight (a temporary file it created), a fit under way (a checkpoint it saved; with the step), else
    start-up, training, metrics or the records file, from the cells trained and metric results so far."""
    out = Path(out)
    specs = sorted((out / "cells").glob("*/cell.json")) if (out / "cells").is_dir() else []
    trained = sum((c.parent / "trained.json").exists() for c in specs)
    results = sum(1 for c in specs for p in (c.parent / "metrics").glob("*.json") if not p.name.endswith(".failed.json"))
    expected = 0
    for spec in specs:
        try:
            expected += len(json.loads(spec.read_text()).get("metric_keys", {}))
        except (OSError, ValueError):
            pass
    writes = temp_files(out, since)
    fits = [{"cell": cell_label(out / rel), "step": checkpoint_step(out / rel / "fit.ckpt")}
            for rel in fits_under_way(out, since)]
    wrote = any(_modified_since(p, since) for p in out.rglob("*") if p.is_file() and p.name != ".tsbench.lock")
    if writes:
        where = "during a write (" + ", ".join(Path(w).name for w in writes) + ")"
    elif fits:
        where = "mid-fit (" + ", ".join(f"{f['cell']} after step {f['step']}" for f in fits) + ")"
    elif not wrote:
        where = "start-up (nothing written by this run yet)"
    elif trained < len(specs):
        where = f"training, between checkpoints ({trained} of {len(specs)} cells trained)"
    elif results < expected:
        where = f"metrics ({results} of {expected} results)"
    else:
        where = "after the last cell (records.csv)"
    return {"where": where, "temp_files": writes, "fits": fits, "cells_started": len(specs),
            "cells_trained": trained, "metric_results": results}


def failed_cells(out: Path) -> list[str]:
    """Labels of the cells whose last run failed (``failed.json``; e.g. their worker was killed)."""
    return sorted(cell_label(p.parent) for p in Path(out).glob("cells/*/failed.json"))


def scan_folder(out: Path) -> dict:
    """Verify every file of a finished run folder through :class:`CellFolder`: ``verified`` files (spec,
    training marker and the data files it records, metric results), ``orphans`` (temporary files, a leftover
    ``fit.ckpt`` or failure marker, anything the layout does not name) and ``unverifiable`` files."""
    from tsbench.runner.store import RunStore

    store, out = RunStore(out), Path(out)
    verified, orphans, unverifiable = 0, [], []
    for path in sorted(out.iterdir()):
        if path.name not in (".tsbench.lock", "records.csv", "cells"):
            orphans.append(path.name)
    for cell_dir in sorted(store.cells_dir.iterdir()):
        folder, rel = store.cell(cell_dir.name), f"cells/{cell_dir.name}"
        spec = folder.read_spec()
        trained = folder.read_trained()
        if spec is None or trained is None:
            unverifiable.append(f"{rel}/{folder.SPEC if spec is None else folder.TRAINED}")
            continue
        expected = {folder.SPEC, folder.TRAINED, *trained.get("files", {})}
        verified += len(expected)
        for key in spec.get("metric_keys", {}).values():
            expected.add(folder.metric_file(key))
            if folder.read_metric(key) is None:
                unverifiable.append(f"{rel}/{folder.metric_file(key)}")
            else:
                verified += 1
        for path in sorted(cell_dir.rglob("*")):
            name = path.relative_to(cell_dir).as_posix()
            if path.is_file() and name not in expected and not name.startswith(folder.ARTEFACTS + "/"):
                orphans.append(f"{rel}/{name}")
    return {"verified": verified, "orphans": orphans, "unverifiable": unverifiable}


# comparisons ------------------------------------------------------------------------------------------------
def stable_records(records):
    """Records without :data:`VOLATILE` columns, in a canonical row order."""
    keep = records.drop(columns=[c for c in VOLATILE if c in records.columns])
    order = [c for c in ("cell_id", "metric", "repeat") if c in keep.columns]
    return keep.sort_values(order, kind="stable", na_position="last").reset_index(drop=True)


def compare_records(reference, chaos) -> dict:
    """``{"rows", "identical", "differing_columns"}``: equal on every column but :data:`VOLATILE`, value for
    value (NaN equals NaN)."""
    a, b = stable_records(reference), stable_records(chaos)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return {"rows": [len(a), len(b)], "identical": False,
                "differing_columns": sorted(set(a.columns) ^ set(b.columns)) or ["(row count)"]}
    differing = [c for c in a.columns if not a[c].equals(b[c])]
    return {"rows": len(a), "identical": not differing, "differing_columns": differing}


def compare_files(reference: Path, chaos: Path) -> dict:
    """Byte comparison of every data file each cell's ``trained.json`` records (``model.ckpt``, ``samples.npy``,
    ``losses.csv``): ``{"compared", "differing"}``."""
    from tsbench.runner.store import RunStore

    ref, new = RunStore(reference), RunStore(chaos)
    compared, differing = 0, []
    for cell_id in sorted(set(ref.cell_ids()) | set(new.cell_ids())):
        marker = ref.cell(cell_id).read_trained() or {}
        for name in sorted(marker.get("files", {})):
            compared += 1
            a, b = ref.cell_dir(cell_id) / name, new.cell_dir(cell_id) / name
            if not b.exists() or a.read_bytes() != b.read_bytes():
                differing.append(f"cells/{cell_id}/{name}")
    return {"compared": compared, "differing": differing}


def resumed_cells(out: Path) -> list[dict]:
    """Cells whose final fit resumed from a mid-fit checkpoint (``trained.json``'s ``resumed_after_step``)."""
    from tsbench.runner.store import RunStore

    store, found = RunStore(out), []
    for cell_id in store.cell_ids():
        marker = store.cell(cell_id).read_trained() or {}
        if marker.get("resumed_after_step"):
            found.append({"cell": cell_label(store.cell_dir(cell_id)), "after_step": marker["resumed_after_step"]})
    return found


# the kills --------------------------------------------------------------------------------------------------
def plan_kills(n: int, seed: int, jobs: int) -> list[dict]:
    """``n`` kills drawn from ``seed``: one ``fit`` and one ``write`` first among the kinds, a ``worker`` kill
    with ``jobs`` > 1, then ``any`` and ``fit`` alternately; shuffled; each with a uniform draw ``u`` in [0, 1)
    that sets its delay."""
    rng = random.Random(seed)
    kinds = ["fit", "write"] + (["worker"] if jobs > 1 else [])
    while len(kinds) < n:
        kinds.append("any" if len(kinds) % 2 else "fit")
    kinds = kinds[:n]
    rng.shuffle(kinds)
    return [{"kind": kind, "u": rng.random()} for kind in kinds]


def kill_once(kill: dict, cmd: list[str], env: dict, out: Path, log: Path, reference_s: float) -> dict:
    """One run of ``cmd`` killed as ``kill`` says; returns what happened (``landed`` read from the folder,
    ``interrupted``: the fits the kill cut short)."""
    since = time.time() - 0.01
    proc = start(cmd, env, log)
    t0 = time.monotonic()
    kind, event = kill["kind"], {"kind": kill["kind"]}
    if kind == "write":
        ready = wait_until(lambda: bool(temp_files(out, since)), proc, RUN_TIMEOUT_S, poll=0.0005)
        delay = 0.0
    elif kind == "any":
        ready, delay = proc.poll() is None, kill["u"] * reference_s / 2
    else:  # fit, worker: once a fit of this run has saved a checkpoint
        ready = wait_until(lambda: bool(fits_under_way(out, since)), proc, RUN_TIMEOUT_S)
        delay = kill["u"] * 1.0
    if ready and delay:
        wait_until(lambda: False, proc, delay)  # sleep, unless the run ends first
        ready = proc.poll() is None
    if not ready:
        proc.wait(timeout=RUN_TIMEOUT_S)
        return {**event, "t_s": round(time.monotonic() - t0, 3), "landed": "missed: the run ended first",
                "interrupted": [], "exit_code": proc.returncode, "run_s": round(time.monotonic() - t0, 3),
                "failed_cells": failed_cells(out)}
    if kind == "worker":
        pids = worker_pids(proc.pid)
        target = pids[int(kill["u"] * len(pids))] if pids else proc.pid
        os.kill(target, signal.SIGKILL)
        event["target"] = "worker" if pids else "runner (no worker found)"
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        event["target"] = "runner and workers"
    t_kill = time.monotonic() - t0
    landed = landing(out, since)
    proc.wait(timeout=RUN_TIMEOUT_S)
    failed = failed_cells(out)
    under_way = [f["cell"] for f in landed["fits"]]
    where = landed["where"]
    if event["target"] == "worker":  # the other worker went on: only the killed one's cell is cut short
        under_way = [c for c in under_way if c in failed]
        steps = {f["cell"]: f["step"] for f in landed["fits"]}
        where = ("mid-fit in the killed worker (" + ", ".join(f"{c} after step {steps[c]}" for c in under_way) + ")"
                 if under_way else f"the killed worker's cell ({', '.join(failed) or 'none recorded'}), not mid-fit")
    return {**event, "t_s": round(t_kill, 3), "landed": where, "interrupted": under_way,
            "state": landed, "exit_code": proc.returncode, "run_s": round(time.monotonic() - t0, 3),
            "failed_cells": failed}


def run_to_end(cmd: list[str], env: dict, log: Path) -> dict:
    t0 = time.monotonic()
    proc = start(cmd, env, log)
    proc.wait(timeout=RUN_TIMEOUT_S)
    return {"exit_code": proc.returncode, "run_s": round(time.monotonic() - t0, 3)}


def chaos(work: Path, *, kills: int, seed: int, jobs: int, checkpoint_steps: int, grid: dict = GRID) -> dict:
    """The whole experiment in ``work`` (see the module docstring); returns the summary (not yet written)."""
    from tsbench.runner import load_records

    started = time.monotonic()
    env = run_env(checkpoint_steps)
    reference, folder = work / "reference", work / "chaos"
    for path in (reference, folder):
        shutil.rmtree(path, ignore_errors=True)
    log = work / "runs.log"
    ref_run = run_to_end(run_command(reference, jobs, grid), env, log)
    if ref_run["exit_code"] != 0:
        raise SystemExit(f"the reference run failed (exit {ref_run['exit_code']}); see {log}")
    cmd = run_command(folder, jobs, grid)
    events = [kill_once(k, cmd, env, folder, log, ref_run["run_s"]) for k in plan_kills(kills, seed, jobs)]
    resume_runs = []
    for _ in range(3):  # resume until a run finds nothing failed (a worker kill leaves a failed cell to retry)
        resume_runs.append(run_to_end(cmd, env, log))
        if resume_runs[-1]["exit_code"] == 0:
            break
    records = compare_records(load_records(reference), load_records(folder))
    files = {**compare_files(reference, folder), **scan_folder(folder)}
    identical = (records["identical"] and not files["differing"] and not files["orphans"]
                 and not files["unverifiable"] and resume_runs[-1]["exit_code"] == 0)
    from tsbench.runner.store import RunStore

    return {
        "settings": {"grid": grid, "kills": kills, "seed": seed, "jobs": jobs, "threads_per_job": 1,
                     "checkpoint_steps": checkpoint_steps},
        "reference": ref_run,
        "kills": events,
        "resume_runs": resume_runs,
        "cells": {"total": len(RunStore(folder).cell_ids()),
                  "fits_interrupted": sorted({cell for e in events for cell in e["interrupted"]}),
                  "resumed_from_checkpoint": resumed_cells(folder)},
        "records": records,
        "files": files,
        "identical": bool(identical),
        "elapsed_s": round(time.monotonic() - started, 1),
    }


# the report -------------------------------------------------------------------------------------------------
def provenance() -> dict:
    import torch

    from tsbench.provenance import git_sha, uncommitted_sources

    return {"git_sha": git_sha(ROOT), "git_dirty": bool(uncommitted_sources(ROOT)),
            "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count()},
            "python": platform.python_version(), "torch_version": torch.__version__}


def write_report(summary: dict, out: Path) -> None:
    """``chaos.json``, ``README.md`` (generated from it) and ``chaos.svg`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "chaos.json").write_text(json.dumps(summary, indent=1) + "\n")
    figure(summary, out / "chaos.svg")
    (out / "README.md").write_text(readme(summary))


def readme(summary: dict) -> str:
    s, files, records = summary["settings"], summary["files"], summary["records"]
    grid = s["grid"]
    lines = [
        "# Chaos test: SIGKILL and resume",
        "",
        "Generated by `scripts/chaos.py` from [chaos.json](chaos.json) — do not edit. "
        f"Commit `{(summary['git_sha'] or 'unknown')[:10]}`, torch {summary['torch_version']}, "
        f"{summary['machine']['cpus']} CPUs, {summary['elapsed_s']:.0f} s in all.",
        "",
        f"Grid: {', '.join(grid['generators'])} × {', '.join(grid['datasets'])} × {grid['seeds']} seeds, metrics "
        f"{', '.join(grid['metrics'])}, `{grid['preset']}` preset, `--jobs {s['jobs']}` (one torch thread each), a "
        f"mid-fit checkpoint every {s['checkpoint_steps']} steps. One uninterrupted run "
        f"({summary['reference']['run_s']:.0f} s), then a second folder SIGKILLed {len(summary['kills'])} times "
        f"(seed {s['seed']}) and resumed after each kill:",
        "",
        "| # | kind | killed | at (s) | landed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for i, kill in enumerate(summary["kills"], 1):
        lines.append(f"| {i} | {kill['kind']} | {kill.get('target', '—')} | {kill['t_s']:.2f} | {kill['landed']} |")
    resumed = summary["cells"]["resumed_from_checkpoint"]
    lines += [
        "",
        "![runs and kills](chaos.svg)",
        "",
        f"* **identical: {str(summary['identical']).lower()}**",
        f"* records: {records['rows']} rows, "
        + ("identical on every column but timings, timestamps and provenance"
           if records["identical"] else f"differing columns {records['differing_columns']}"),
        f"* data files (model, samples, losses): {files['compared']} compared byte for byte, "
        f"{len(files['differing'])} differ",
        f"* folder: {files['verified']} files verified, {len(files['orphans'])} orphaned, "
        f"{len(files['unverifiable'])} unverifiable",
        f"* fits interrupted: {len(summary['cells']['fits_interrupted'])}; cells resumed from their mid-fit "
        "checkpoint: " + (", ".join(f"{c['cell']} (after step {c['after_step']})" for c in resumed) or "none"),
        f"* resume runs after the kills: {len(summary['resume_runs'])}",
        "",
    ]
    return "\n".join(lines)


def figure(summary: dict, path: Path) -> None:
    """One lane per run (reference, each killed run, the resume runs): its duration, and an × at each kill."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text as text: a small, diffable file

    lanes = [("reference", summary["reference"]["run_s"], None, None)]
    lanes += [(f"kill {i} ({k['kind']})", k["run_s"], k["t_s"], k["landed"]) for i, k in enumerate(summary["kills"], 1)]
    lanes += [(f"resume {i}", r["run_s"], None, None) for i, r in enumerate(summary["resume_runs"], 1)]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(lanes) + 1.2))
    for y, (name, length, t_kill, landed) in enumerate(reversed(lanes)):
        ax.barh(y, length, color="#9ecae1" if t_kill is None else "#fdae6b", height=0.6)
        if t_kill is not None and not landed.startswith("missed"):
            ax.plot([t_kill], [y], marker="x", color="#b30000", markersize=9, mew=2)
            ax.annotate(landed if len(landed) < 60 else landed[:57] + "…", (t_kill, y), xytext=(6, -3),
                        textcoords="offset points", fontsize=7)
    ax.set_yticks(range(len(lanes)), [lane[0] for lane in reversed(lanes)], fontsize=8)
    ax.set_xlabel("seconds since the run started")
    ax.set_title(f"SIGKILL and resume: identical = {str(summary['identical']).lower()}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for chaos.json, README.md and chaos.svg")
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--checkpoint-steps", type=int, default=20)
    parser.add_argument("--work", type=Path, default=None, help="folder for the two run folders (default: a temporary one)")
    args = parser.parse_args(argv)
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="tsbench-chaos-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = chaos(work, kills=args.kills, seed=args.seed, jobs=args.jobs, checkpoint_steps=args.checkpoint_steps)
    summary = {"schema": SCHEMA, "created": created, **provenance(), **result}
    summary = {key: summary[key] for key in TOP_KEYS}
    write_report(summary, args.out)
    print(f"wrote {args.out / 'chaos.json'}: identical={str(summary['identical']).lower()}, "
          f"{len(summary['kills'])} kills, {summary['elapsed_s']:.0f} s")
    return 0 if summary["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
