"""Seeds derive from names, not from code: editing a generator's or a metric's source invalidates its cached
results (the cell id and metric key change) but re-runs them with the same fit, sample and metric seeds."""
from __future__ import annotations

import pytest

import tsbench.evaluation as evaluation
import tsbench.runner.cells as cells
from tsbench.evaluation import MetricSpec, metric_seed
from tsbench.runner.grid import plan_cells

PLAN = dict(seeds=2, preset="smoke", protocol="tsbench")


def plan(metric: str = "mmd"):
    return plan_cells(["sines"], ["gaussian", "gan"], [metric], **PLAN)


def edited(monkeypatch, module_name: str | None = None):
    """``source_hash`` as if the source of the class named ``module_name`` (or every class) were edited."""
    original = evaluation.source_hash

    def fake(cls):
        if module_name is None or cls.__module__.endswith(module_name):
            return "edited-" + original(cls)
        return original(cls)

    monkeypatch.setattr(evaluation, "source_hash", fake)
    monkeypatch.setattr(cells, "source_hash", fake)


def seeds_of(cell):
    return cell.fit_seed, cell.sample_seed, [cell.metric_seed(m) for m in cell.metrics]


def test_editing_a_generator_changes_its_cell_ids_not_its_seeds(monkeypatch):
    before = plan()
    edited(monkeypatch, "gan")
    after = plan()
    for old, new in zip(before, after):
        assert seeds_of(old) == seeds_of(new), old.label
        assert (old.cell_id != new.cell_id) == (new.generator == "gan"), old.label


def test_editing_a_metric_changes_its_key_not_its_seed(monkeypatch):
    old = MetricSpec.build("mmd", preset="smoke", protocol="tsbench", repeats=None)
    old_cells = plan()
    edited(monkeypatch, "mmd")
    new = MetricSpec.build("mmd", preset="smoke", protocol="tsbench", repeats=None)
    assert old.key != new.key
    assert metric_seed(7, old) == metric_seed(7, new)
    assert [seeds_of(c) for c in old_cells] == [seeds_of(c) for c in plan()]


def test_seeds_still_differ_where_the_names_differ():
    cells_ = plan()
    fit_seeds = {c.fit_seed for c in cells_}
    assert len(fit_seeds) == len(cells_)  # every (generator, seed index) its own seed
    a = MetricSpec.build("mmd", preset="smoke", protocol="tsbench", repeats=None)
    b = MetricSpec.build("mmd[repeats=3]", preset="smoke", protocol="tsbench", repeats=None)
    assert metric_seed(0, a) != metric_seed(0, b)


@pytest.mark.parametrize("other", [dict(preset="quick"), dict(protocol="timegan2019")])
def test_preset_and_protocol_are_part_of_the_seed(other):
    base = plan_cells(["sines"], ["gan"], ["mmd"], **PLAN)[0]
    changed = plan_cells(["sines"], ["gan"], ["mmd"], **{**PLAN, **other})[0]
    assert base.fit_seed != changed.fit_seed
