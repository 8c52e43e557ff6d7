"""validate-metrics: the experiment on a tiny fake dataset, the detection rule, outputs and the CLI command."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tsbench.dataset import Dataset
from tsbench.errors import InputError
from tsbench.protocols import get_protocol
from tsbench.sensitivity import (CORRUPTIONS, PROVENANCE_COLUMNS, differs, run_validation, summarise, to_markdown,
                              write_outputs)


class TinyWaves(Dataset):
    """Independent windows: two correlated sine channels with random phase (cheap, structured)."""

    name = "tiny_waves"

    def __init__(self, n=160, seq_len=8):
        self.n = n
        self.seq_len = seq_len

    def windows(self, seed):
        rng = np.random.default_rng(seed)
        t = np.arange(self.seq_len) / self.seq_len
        phase = rng.random((self.n, 1))
        base = np.sin(2 * np.pi * (t[None] + phase))
        return np.stack([0.5 + 0.4 * base, 0.5 + 0.3 * base + 0.05 * rng.random(base.shape)], -1).astype(np.float32)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path / "cache"))


def test_differs_rule():
    assert differs([1.0, 1.1, 0.9], [5.0, 5.1, 4.9])[1]
    assert not differs([1.0, 1.2, 0.8], [1.1, 0.9, 1.0])[1]
    assert differs([0.0, 0.0], [1.0, 1.0]) == (0.0, True)  # no spread: any difference counts
    assert differs([2.0, 2.0], [2.0, 2.0]) == (1.0, False)


def test_experiment_flags_expected_responses(tmp_path):
    # 3 repeats: with 2, Welch's test has one degree of freedom and misses even σ = 0.3 noise at p < 0.05
    raw = run_validation([TinyWaves()], ["memorisation", "context_fid"], preset="smoke", repeats=3, seed=0)
    assert set(raw.corruption) == {c.label for c in CORRUPTIONS}
    assert set(raw.repeat) == {0, 1, 2} and np.isfinite(raw.value).all()
    # every row names the settings and the code, machine and torch version it ran with, like the records
    assert set(PROVENANCE_COLUMNS) | {"preset", "protocol", "seed"} <= set(raw.columns)
    assert set(raw.preset) == {"smoke"} and set(raw.seed) == {0}
    assert set(raw.protocol) == {get_protocol("tsbench").tag}
    assert set(raw.torch_version) == {torch.__version__} and raw.host.notna().all()
    assert raw.device.str.startswith("cpu (").all()
    assert raw.git_sha.str.fullmatch(r"[0-9a-f]{40}").all()  # the tests run in a git checkout
    summary = summarise(raw)
    get = summary.set_index(["metric", "output", "corruption"]).response
    assert get["memorisation", "ratio", "copy_train"] == "differs"  # copies are at distance 0
    assert get["memorisation", "value", "real"] == "floor"
    assert get["context_fid", "value", "noise σ=0.3"] == "worse"
    # reproducible
    again = run_validation([TinyWaves()], ["memorisation"], preset="smoke", repeats=3, seed=0)
    mine = raw[raw.metric == "memorisation"].reset_index(drop=True)
    assert np.array_equal(mine.value.to_numpy(), again.value.to_numpy())

    text = to_markdown(summary, header="# t")
    assert "| context_fid ↓ |" in text and "Blind spots" in text and "memorisation.ratio" in text
    paths = write_outputs(raw, summary, tmp_path / "out")
    assert paths["raw"].exists() and paths["report"].exists()
    assert (tmp_path / "out" / "figures" / "context_fid.png").stat().st_size > 1000


def test_needs_two_repeats():
    with pytest.raises(InputError, match="repeats"):
        run_validation([TinyWaves()], ["memorisation"], preset="smoke", repeats=1)


def test_command_runs_end_to_end(tmp_path, capsys):
    from tsbench.cli import _Parser
    from tsbench.commands import validate_metrics

    parser = _Parser(prog="tsbench")
    validate_metrics.register(parser.add_subparsers(dest="command", parser_class=_Parser))
    args = parser.parse_args(["validate-metrics", "-d", "sines[n_samples=120,seq_len=8]", "-m", "memorisation",
                              "--preset", "smoke", "--repeats", "2", "--out", str(tmp_path), "--quiet"])
    assert args.func(args) == 0
    report = (tmp_path / "report.md").read_text()
    assert "memorisation" in report and "copy_train" in report and "wall time" in report
    raw = pd.read_csv(tmp_path / "raw.csv")
    assert raw.git_sha.nunique() == 1 and f"Run: git {raw.git_sha[0]}, " in report
    assert f"torch {torch.__version__}" in report and f"host {raw.host[0]}" in report
    assert "wrote" in capsys.readouterr().out

