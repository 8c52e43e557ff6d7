"""``tsbench run --batch-seeds``: a row's seeds train together in one ``fit_seeds`` call, then each cell computes
its metrics as usual; the numbers equal separate fits' to float tolerance, the seeds are the same, the cell ids
are their own; resume, ``--force`` and a failing group fit behave as for separate cells."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import tsbench
from tsbench.cli import main
from tsbench.registry import generators
from tsbench.runner import load_records
from tsbench.runner.grid import plan_cells

GAN = generators.get("gan")
GRID = ["run", "-g", "gan", "-g", "gaussian", "-d", "sines", "--preset", "smoke", "-m", "mmd", "--seeds", "3",
        "--no-progress"]
#: batched and separate fits agree to float tolerance (rounding of batched matrix products), not bit for bit
TOLERANCE = dict(rtol=1e-3, atol=1e-4)


class Spy:
    """Counts ``GAN.fit_seeds`` calls (and their seeds) and separate ``GAN.fit`` calls; ``fail`` makes the group
    fit raise it, ``nan_seed`` makes that copy's samples non-finite."""

    def __init__(self, monkeypatch):
        self.groups, self.fits, self.fail, self.nan_seed = [], 0, None, None
        fit_seeds, fit = GAN.fit_seeds, GAN.fit

        def spy_fit_seeds(model, X, seeds, **kwargs):
            self.groups.append(list(seeds))
            if self.fail is not None:
                raise self.fail
            models = fit_seeds(model, X, seeds, **kwargs)
            if self.nan_seed is not None:
                bad = models[self.nan_seed]
                bad.sample = lambda n, seed: np.full((n, bad.seq_len_, bad.n_features_in_), np.nan, np.float32)
            return models

        def spy_fit(model, *args, **kwargs):
            self.fits += 1
            return fit(model, *args, **kwargs)

        monkeypatch.setattr(GAN, "fit_seeds", spy_fit_seeds)
        monkeypatch.setattr(GAN, "fit", spy_fit)


@pytest.fixture
def spy(monkeypatch):
    return Spy(monkeypatch)


def run(out, *extra) -> int:
    return main([*GRID, "--out", str(out), *extra])


def by_cell(records: pd.DataFrame) -> pd.DataFrame:
    return records.sort_values(["generator", "seed", "metric", "repeat"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The grid run with --batch-seeds and without, each into its own folder; the spy's counts of the first."""
    with pytest.MonkeyPatch.context() as patch:
        spy = Spy(patch)
        batched = tmp_path_factory.mktemp("batched")
        assert run(batched, "--batch-seeds") == 0
        counts = (list(spy.groups), spy.fits)
    plain = tmp_path_factory.mktemp("plain")
    assert run(plain) == 0
    return batched, by_cell(load_records(batched)), by_cell(load_records(plain)), counts


def test_the_gan_seeds_train_in_one_call_and_score_as_separate_fits(runs):
    _, batched, plain, (groups, fits) = runs
    assert len(groups) == 1 and len(groups[0]) == 3 and fits == 0  # one fit_seeds call, no separate fit
    gan = batched["generator"] == "gan"
    assert (batched["status"] == "done").all() and batched.loc[gan, "batched_seeds"].eq(3).all()
    assert batched.loc[~gan, "batched_seeds"].isna().all() and plain["batched_seeds"].isna().all()
    np.testing.assert_allclose(batched["value"], plain["value"], **TOLERANCE)
    assert batched.loc[gan, "fit_s"].nunique() == 1  # the group's fit time, shared out


def test_only_the_batched_cells_change_ids(runs):
    _, batched, plain, _ = runs
    gan = batched["generator"] == "gan"
    assert not set(batched.loc[gan, "cell_id"]) & set(plain.loc[gan, "cell_id"])
    assert list(batched.loc[~gan, "cell_id"]) == list(plain.loc[~gan, "cell_id"])  # gaussian has no fit_seeds


def test_batching_changes_the_cell_ids_not_the_seeds():
    args = (["sines"], ["gan", "gaussian"], ["mmd"])
    plan = dict(seeds=3, preset="smoke", protocol="tsbench")
    plain, batched = plan_cells(*args, **plan), plan_cells(*args, **plan, batch_seeds=True)
    for old, new in zip(plain, batched):
        assert (old.seed_id, old.fit_seed, old.sample_seed, old.data_seed) == \
               (new.seed_id, new.fit_seed, new.sample_seed, new.data_seed), new.label
        assert new.batch_seeds == (new.generator == "gan") and not old.batch_seeds
        assert (old.cell_id != new.cell_id) == new.batch_seeds, new.label


def test_trained_json_records_the_group(runs):
    folder = runs[0]
    markers = [json.loads(p.read_text()) for p in folder.glob("cells/*/trained.json")]
    batched = [m for m in markers if "batched_seeds" in m]
    assert len(batched) == 3 and {m["batched_seeds"] for m in batched} == {3}
    assert all(m["resumed_after_step"] == 0 and m["n_parameters"] > 0 for m in batched)


def test_rerun_resumes_without_fitting(tmp_path, spy, capsys):
    assert run(tmp_path, "--batch-seeds") == 0
    assert "6 trained" in capsys.readouterr().out and len(spy.groups) == 1
    first = by_cell(load_records(tmp_path))
    assert run(tmp_path, "--batch-seeds") == 0
    assert "6 already done, 0 trained" in capsys.readouterr().out
    assert len(spy.groups) == 1 and spy.fits == 0
    again = by_cell(load_records(tmp_path))
    pd.testing.assert_frame_equal(first.drop(columns="timestamp"), again.drop(columns="timestamp"))


def test_force_retrains_the_group_once(tmp_path, spy, capsys):
    assert run(tmp_path, "--batch-seeds") == 0
    first = by_cell(load_records(tmp_path))
    capsys.readouterr()
    assert run(tmp_path, "--batch-seeds", "--force", "gan") == 0
    assert "3 already done, 3 trained" in capsys.readouterr().out  # the three gan cells, not gaussian
    assert len(spy.groups) == 2 and spy.fits == 0  # the group again, never a cell alone
    again = by_cell(load_records(tmp_path))
    assert again["batched_seeds"].eq(3).sum() == first["batched_seeds"].eq(3).sum()
    np.testing.assert_allclose(again["value"], first["value"], **TOLERANCE)


def test_a_failing_group_fit_falls_back_to_one_fit_per_cell(tmp_path, spy, capsys):
    spy.fail = RuntimeError("boom")
    assert run(tmp_path, "--batch-seeds") == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "--batch-seeds" in line]
    assert len(err) == 1 and "RuntimeError: boom" in err[0] and "one by one" in err[0]
    assert len(spy.groups) == 1 and spy.fits == 3
    records = load_records(tmp_path)
    assert (records["status"] == "done").all() and records["batched_seeds"].isna().all()


def test_an_interrupted_group_fit_leaves_no_trained_marker(tmp_path, spy, capsys):
    assert run(tmp_path, "--batch-seeds") == 0
    spy.fail = KeyboardInterrupt()
    assert run(tmp_path, "--batch-seeds", "--force", "gan") == 130
    gan_ids = {c.cell_id for c in plan_cells(["sines"], ["gan"], ["mmd"], seeds=3, preset="smoke",
                                             protocol="tsbench", batch_seeds=True)}
    assert not any((tmp_path / "cells" / i / "trained.json").exists() for i in gan_ids)
    spy.fail = None
    capsys.readouterr()
    assert run(tmp_path, "--batch-seeds") == 0  # no --force: the group is fitted again, together
    assert "3 already done, 3 trained" in capsys.readouterr().out and len(spy.groups) == 3 and spy.fits == 0


def test_non_finite_samples_fail_only_that_cell(tmp_path, spy, capsys):
    spy.nan_seed = 1
    assert run(tmp_path, "--batch-seeds") == 1
    out = capsys.readouterr().out
    assert "failed: sines / gan / seed 1: TsbenchError: gan produced non-finite samples" in out
    assert spy.fits == 0  # not retrained alone in the same run
    records = load_records(tmp_path)
    failed = records[records["status"] != "done"]
    assert list(failed["seed"]) == [1] and list(failed["generator"]) == ["gan"]
    spy.nan_seed = None
    assert run(tmp_path, "--batch-seeds") == 0  # the next run retries it (alone: its seeds 0 and 2 are trained)
    assert spy.fits == 1 and (load_records(tmp_path)["status"] == "done").all()


def test_bad_input_with_the_flag_is_one_line(tmp_path, capsys):
    assert main(["run", "-g", "gan", "-d", "sinez", "--batch-seeds", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Did you mean: sines" in err
    assert not (tmp_path / "runs").exists()


def test_python_api_batch_seeds(tmp_path, spy):
    records = tsbench.run("gan", "sines", "mmd", seeds=2, preset="smoke", out=tmp_path, batch_seeds=True,
                          progress=False)
    assert spy.groups and len(spy.groups[0]) == 2 and spy.fits == 0
    assert records["batched_seeds"].eq(2).all() and (records["status"] == "done").all()


def test_adding_a_metric_to_a_batched_grid_never_refits(tmp_path, spy, capsys):
    assert run(tmp_path, "--batch-seeds") == 0
    capsys.readouterr()
    assert run(tmp_path, "--batch-seeds", "-m", "mmd_multi") == 0
    assert "0 trained" in capsys.readouterr().out and len(spy.groups) == 1 and spy.fits == 0
    assert {"mmd", "mmd_multi"} <= set(load_records(tmp_path)["metric"])


def test_worker_processes_compute_the_metrics_of_a_group_trained_here(runs, tmp_path, spy, capsys):
    assert run(tmp_path, "--batch-seeds", "--jobs", "2") == 0
    assert "6 trained" in capsys.readouterr().out and len(spy.groups) == 1
    records = by_cell(load_records(tmp_path))
    assert list(records["cell_id"]) == list(runs[1]["cell_id"])
    assert records.loc[records["generator"] == "gan", "batched_seeds"].eq(3).all()
    np.testing.assert_allclose(records["value"], runs[1]["value"], **TOLERANCE)
