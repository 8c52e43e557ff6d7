"""Re-measure the cases behind the `tsbench` protocol choices quoted in docs/protocols.md and in the
`measured` attributes of the discriminative and predictive scores (needs ../shared/data for Energy).

    python scripts/measure_protocol_cases.py ds   # Sines, real vs the Gaussian null, 2 vs 16 GRU units
    python scripts/measure_protocol_cases.py ps   # Energy, trained on real vs on the Gaussian null
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_fidelity import timegan_windows  # noqa: E402  (the reference loader)
from tsbench.metrics.discriminative import DiscriminativeScore  # noqa: E402
from tsbench.metrics.predictive import PredictiveScore  # noqa: E402
from tsbench.registry import generators  # noqa: E402


def gaussian(fit_on: np.ndarray, n: int) -> np.ndarray:
    """The `gaussian` calibration row: independent Gaussian per (step, feature), clipped to [0, 1]."""
    return generators.get("gaussian")().fit(fit_on, seed=0).sample(n, seed=0).astype(np.float32)


def discriminative_cases() -> None:
    real = timegan_windows("sines")[:3000]
    for protocol, (train, test) in (("timegan2019", (real, real)), ("tsbench", (real[:2400], real[2400:]))):
        values = DiscriminativeScore(protocol=protocol, repeats=5, iterations=2000).compute(
            train, test, gaussian(train, 3000), seed=0)["value"]
        print(f"DS sines, real vs gaussian, {protocol}: {np.mean(values):.3f} ± {np.std(values):.3f} "
              f"({' '.join(f'{v:.3f}' for v in values)})")


def predictive_cases() -> None:
    real = timegan_windows("energy")[:5000]
    null = gaussian(real, 5000)
    for protocol in ("timegan2019", "tsbench"):
        scores = [np.mean(PredictiveScore(protocol=protocol, repeats=3, iterations=1000).compute(
            real, real, synthetic, seed=0)["value"]) for synthetic in (real, null)]
        print(f"PS energy, {protocol}: trained on real {scores[0]:.4f}, on gaussian {scores[1]:.4f}")


if __name__ == "__main__":
    {"ds": discriminative_cases, "ps": predictive_cases}[sys.argv[1] if len(sys.argv) > 1 else "ds"]()
