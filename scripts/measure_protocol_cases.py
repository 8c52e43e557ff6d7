"""Re-measure the cases behind the `tsbench` protocol choices quoted in docs/protocols.md (needs
../shared/data, or TSBENCH_SHARED_DATA, for Energy). Imports only the installed tsbench (never the tests).

    python scripts/measure_protocol_cases.py ds   # Sines, real vs the Gaussian null, 2 vs 16 GRU units
    python scripts/measure_protocol_cases.py ps   # Energy, trained on real vs on the Gaussian null

Each case prints its figures and writes them, with the settings and the provenance of the run (git sha,
host, machine, torch / numpy / Python versions, torch threads), into one entry of
``results/measurements/protocol_cases.json`` (the other entries are kept). ``tests/test_quoted_numbers.py``
checks that the figures quoted in docs/protocols.md are the ones in that file.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import socket
import sys
from pathlib import Path

import numpy as np

from tsbench.metrics.discriminative import DiscriminativeScore, discriminator_hidden
from tsbench.metrics.predictive import PredictiveScore
from tsbench.provenance import git_sha, machine_text, uncommitted_sources
from tsbench.registry import generators

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "results" / "measurements" / "protocol_cases.json"
#: the code a case's figures depend on: a change there (uncommitted at run time) is listed in the output
SOURCES = ("metrics", "tsbench", "baselines", "scripts/measure_protocol_cases.py")
#: the reference CSVs of the real datasets, in :func:`shared_data`
FILES = {"stocks": "stock_data.csv", "energy": "energy_data.csv"}


def shared_data() -> Path:
    """The folder of the reference CSVs: ``$TSBENCH_SHARED_DATA``, else ``../shared/data`` next to the repository."""
    return Path(os.environ.get("TSBENCH_SHARED_DATA") or ROOT.parent / "shared" / "data")


def timegan_windows(name: str, data: Path | None = None, seq_len: int = 24) -> np.ndarray:
    """The reference loader (also used by tests/test_fidelity.py): Sines generated (10000 × 24 × 5); CSVs (in
    ``data``, default :func:`shared_data`) reversed, min–max (+1e-7), windows of 24 (``len − 24`` of them),
    shuffled."""
    rng = np.random.default_rng(0)
    if name == "sines":
        freq, phase = rng.uniform(0, 0.1, (10000, 1, 5)), rng.uniform(0, 0.1, (10000, 1, 5))
        return ((np.sin(freq * np.arange(seq_len)[None, :, None] + phase) + 1) / 2).astype(np.float32)
    raw = np.loadtxt(Path(data or shared_data()) / FILES[name], delimiter=",", skiprows=1)[::-1]
    raw = (raw - raw.min(0)) / (raw.max(0) - raw.min(0) + 1e-7)
    windows = np.stack([raw[i:i + seq_len] for i in range(len(raw) - seq_len)])
    return windows[rng.permutation(len(windows))].astype(np.float32)


def provenance() -> dict:
    """Where and with what code a case ran."""
    import torch

    import tsbench

    return {
        "git_sha": git_sha(ROOT),
        "git_uncommitted": uncommitted_sources(ROOT, SOURCES) or [],
        "host": socket.gethostname(),
        "machine": machine_text(),
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "tsbench_version": tsbench.__version__,
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def gaussian(fit_on: np.ndarray, n: int) -> np.ndarray:
    """The `gaussian` calibration row: independent Gaussian per (step, feature), clipped to [0, 1]."""
    return generators.get("gaussian")().fit(fit_on, seed=0).sample(n, seed=0).astype(np.float32)


def discriminative_cases() -> dict:
    settings = {"dataset": "sines", "n_windows": 3000, "tsbench_split": [2400, 600], "null": "gaussian",
                "iterations": 2000, "repeats": 5, "seed": 0}
    real = timegan_windows("sines")[:settings["n_windows"]]
    cut = settings["tsbench_split"][0]
    results = {}
    for protocol, (train, test) in (("timegan2019", (real, real)), ("tsbench", (real[:cut], real[cut:]))):
        values = DiscriminativeScore(protocol=protocol, repeats=settings["repeats"], threads=1,
                                     iterations=settings["iterations"]).compute(
            train, test, gaussian(train, settings["n_windows"]), seed=settings["seed"])["value"]
        values = [float(v) for v in values]
        results[protocol] = {"hidden": discriminator_hidden(real.shape[2], protocol), "values": values,
                             "mean": float(np.mean(values)), "std": float(np.std(values))}
        print(f"DS sines, real vs gaussian, {protocol} ({results[protocol]['hidden']} units): "
              f"{np.mean(values):.3f} ± {np.std(values):.3f} ({' '.join(f'{v:.3f}' for v in values)})")
    return {"settings": settings, "results": results}


def predictive_cases() -> dict:
    settings = {"dataset": "energy", "n_windows": 5000, "null": "gaussian", "iterations": 1000, "repeats": 3,
                "seed": 0, "scored_on": "the same real windows"}
    real = timegan_windows("energy")[:settings["n_windows"]]
    null = gaussian(real, settings["n_windows"])
    results = {}
    for protocol in ("timegan2019", "tsbench"):
        scores = {}
        for trained_on, synthetic in (("real", real), ("gaussian", null)):
            values = PredictiveScore(protocol=protocol, repeats=settings["repeats"], threads=1,
                                     iterations=settings["iterations"]).compute(
                real, real, synthetic, seed=settings["seed"])["value"]
            scores[trained_on] = {"values": [float(v) for v in values], "mean": float(np.mean(values))}
        results[protocol] = scores
        print(f"PS energy, {protocol}: trained on real {scores['real']['mean']:.4f}, "
              f"on gaussian {scores['gaussian']['mean']:.4f}")
    return {"settings": settings, "results": results}


CASES = {"ds": discriminative_cases, "ps": predictive_cases}


def main(argv: list[str]) -> None:
    name = argv[0] if argv else "ds"
    entry = {"command": f"python scripts/measure_protocol_cases.py {name}", "provenance": provenance()}
    entry.update(CASES[name]())
    data = json.loads(OUTPUT.read_text(encoding="utf-8")) if OUTPUT.exists() else {}
    data[name] = entry
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUTPUT.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(OUTPUT)
    print(f"wrote {OUTPUT.relative_to(ROOT)} [{name}]")


if __name__ == "__main__":
    main(sys.argv[1:])
