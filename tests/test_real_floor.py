"""The `real` row is an independent noise floor, never an identity; held-out data reach only the built-in
calibration and corruption rows that need them (by declared role), never a plugin; the device type and
precision are part of a cell's identity."""
from __future__ import annotations

import numpy as np
import pytest

from tsbench.baselines.calibration import Real
from tsbench.generator import Generator
from tsbench.registry import PluginUnavailableError, generators
from tsbench.runner import load_records
from tsbench.runner.cells import MetricSpec, build_cell
from tsbench.runner.execute import dataset_identity, instantiate_dataset, load_split, run_cell, uses_floor
from tsbench.runner.grid import plan_cells, run_grid
from tsbench.runner.store import RunStore
from tsbench.testing import check_generator


def _rows(windows: np.ndarray) -> set[bytes]:
    return {w.tobytes() for w in np.ascontiguousarray(windows, dtype=np.float32)}


@pytest.mark.parametrize("protocol", ["tsbench", "timegan2019"])
def test_real_row_never_returns_a_window_it_is_scored_against(tmp_path, protocol):
    """Defect: `real` resampled the held-out windows and was then scored against those same windows."""
    out = tmp_path / "runs"
    cells = plan_cells(["sines"], ["real", "noise"], ["mmd"], seeds=1, preset="smoke", protocol=protocol)
    assert run_grid(cells, out, progress=False).failures == []
    store = RunStore(out)
    for cell in cells:
        samples = np.load(store.cell_dir(cell.cell_id) / "samples.npy")
        split = load_split(cell.dataset, cell.preset, cell.data_seed, cell.protocol)
        real_train, real_test = split.scoring_windows(calibration=True)
        assert not _rows(samples) & _rows(real_test) and not _rows(samples) & _rows(real_train)
        if cell.generator == "real":
            assert _rows(samples) <= _rows(split.floor) and len(samples) == len(split.floor)
    records = load_records(out)
    real = records[(records["generator"] == "real") & (records["metric"] == "mmd")]
    assert (real["value"] > -0.05).all() and (real["n_test"] == len(real_test)).all()


def test_every_row_shares_one_mmd_kernel(tmp_path):
    """Defect: MMD picked a new bandwidth per row; every row of one dataset and seed must share one."""
    cells = plan_cells(["sines"], ["real", "gaussian", "mode_collapse"], ["mmd"], seeds=1, preset="smoke",
                       protocol="tsbench")
    assert run_grid(cells, tmp_path / "runs", progress=False).failures == []
    records = load_records(tmp_path / "runs")
    bandwidths = records.loc[records["metric"] == "mmd.bandwidth", "value"]
    assert len(bandwidths) >= 3 and bandwidths.nunique() == 1


class Snooping(Generator):
    """A plugin that claims to need held-out windows."""

    name = "snooping"
    needs_held_out = True
    seen: list = []

    def _fit(self, X, *, seed, callback, X_test=None):
        Snooping.seen.append(X_test)
        self.mean_ = X.mean(axis=0)
        callback(1, 1, {})

    def _sample(self, n, *, seed):
        return np.repeat(self.mean_[None], n, axis=0)


@pytest.fixture
def snooping():
    generators.register("snooping", Snooping, origin="plugin tests (entry point tsbench.generators)")
    Snooping.seen.clear()
    yield
    generators.unregister("snooping")


def test_a_plugin_never_gets_held_out_windows(tmp_path, snooping):
    cells = plan_cells(["sines"], ["snooping"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench")
    assert run_grid(cells, tmp_path / "runs", progress=False).failures == []
    assert Snooping.seen == [None]
    (metadata,) = [r for r in check_generator(Snooping) if r.check == "check_metadata"]
    assert metadata.status == "FAIL" and "needs_held_out = True on a model" in metadata.message


class PosingAsReal(Snooping):
    """A plugin that declares itself a calibration row to get the held-out windows."""

    name = "posing"
    role = "calibration"


class CopiedReal(Real):
    """A plugin subclassing the built-in `real` row (and so inheriting its role)."""

    name = "copied_real"


@pytest.mark.parametrize("cls", [PosingAsReal, CopiedReal])
def test_a_plugin_declaring_a_non_model_role_is_refused(tmp_path, cls):
    """Defect: any class could pass as a calibration row; only built-ins may declare a role but "model"."""
    generators.register(cls.name, cls, origin="plugin tests (entry point tsbench.generators)")
    try:
        entry = generators.entry(cls.name)
        assert not entry.available and "declares role 'calibration', which only tsbench's built-in rows may" in entry.error
        with pytest.raises(PluginUnavailableError, match=f"{cls.name} .* is unavailable: declares role"):
            plan_cells(["sines"], [cls.name], ["mmd"], seeds=1, preset="smoke", protocol="tsbench")
        assert cls.name not in generators.names(role="calibration")
    finally:
        generators.unregister(cls.name)
    (metadata,) = [r for r in check_generator(cls) if r.check == "check_metadata"]
    assert metadata.status == "FAIL" and "reserved for tsbench's built-in rows" in metadata.message


def test_held_out_windows_go_to_the_built_in_rows_that_need_them():
    held_out = {name for name in generators.names() if uses_floor(name)}
    assert held_out == {"real", "noise", "shuffle_time", "shuffle_channels", "mode_collapse"}
    assert all(generators.get(name).role in ("calibration", "corruption") for name in held_out)


def test_role_is_a_closed_set():
    with pytest.raises(TypeError, match="role is 'baseline'; expected one of model, calibration, corruption"):
        type("Baseline", (Generator,), {"role": "baseline"})
    with pytest.raises(TypeError, match="needs_held_out must be a bool"):
        type("Vague", (Generator,), {"needs_held_out": "yes"})


def _cell(device: str, generator: str = "gan"):
    dataset = dataset_identity(instantiate_dataset("sines", "smoke"))
    metrics = (MetricSpec.build("mmd", preset="smoke", protocol="tsbench", repeats=None),)
    return build_cell("sines", dataset, generator, 0, preset="smoke", protocol="tsbench", metric_specs=metrics,
                      device=device, n_samples=None)


def test_device_type_and_precision_are_part_of_the_cell_identity():
    """Defect: a CPU cell and a CUDA/AMP cell shared a cache key, so a resumed run could mix them."""
    cpu, cuda, cuda1 = _cell("cpu"), _cell("cuda"), _cell("cuda:1")
    amp = _cell("cpu", "gan[amp=true]")
    assert (cpu.device_type, cpu.precision) == ("cpu", "float32")
    assert cuda.device_type == "cuda" and cuda.cell_id != cpu.cell_id
    assert cuda1.cell_id == cuda.cell_id  # the index is where, not what
    assert amp.precision == "amp" and amp.cell_id != cpu.cell_id


def test_records_carry_device_type_and_precision(tmp_path):
    cells = plan_cells(["sines"], ["gaussian"], ["mmd"], seeds=1, preset="smoke", protocol="tsbench")
    for cell in cells:
        run_cell(cell, str(tmp_path))
    records = load_records(tmp_path)
    assert set(records["device_type"]) == {"cpu"} and set(records["precision"]) == {"float32"}
