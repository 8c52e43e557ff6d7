"""scripts/scaling.py (issue 17, long windows): a tiny run writes the JSON, the figure and the generated README."""
from __future__ import annotations

import json
import os

from tests._helpers import load_script


def test_a_tiny_scaling_run_measures_every_component_at_every_length(tmp_path, monkeypatch):
    monkeypatch.setenv("TSBENCH_CACHE", str(tmp_path / "cache"))
    scaling = load_script("scaling")
    report = scaling.run(tmp_path, ["sines"], [8, 16], steps=2, windows=32, repeats=1,
                         generators=["gan", "timevae"], metrics=["mmd", "acd"])
    assert json.loads((tmp_path / "scaling.json").read_text())["schema"] == scaling.SCHEMA
    rows = {(r["kind"], r["name"], r["seq_len"]) for r in report["rows"]}
    assert rows == {(kind, name, L) for kind, names in (("generator", ["gan", "timevae"]), ("metric", ["mmd", "acd"]))
                    for name in names for L in (8, 16)}
    assert all(r["seconds_per_update"] > 0 and r["n_parameters"] > 0 for r in report["rows"] if r["kind"] == "generator")
    assert (tmp_path / "scaling.svg").read_text().startswith("<?xml")
    assert (tmp_path / "README.md").read_text() == scaling.render_readme(report)
    assert set(scaling.STEPS) >= {"gan", "crnngan", "nrgan", "timegan", "timevae"}
    assert os.environ["TSBENCH_CACHE"] == str(tmp_path / "cache")  # the metric calls' private caches are gone


def test_each_generator_makes_exactly_the_updates_it_is_timed_for():
    """A preset parameter that sets a phase's length (TimeGAN's joint_iterations) must be overridden too."""
    scaling = load_script("scaling")
    cls, params = scaling._params("timegan", 3)
    assert cls(**params).phase_lengths() == (3, 3, 3)
    for name in ("gan", "nrgan"):
        assert scaling._params(name, 3)[1]["iterations"] == 3
    assert scaling._params("crnngan", 3)[1]["pretrain_epochs"] == 0
    assert scaling._params("timevae", 3)[1]["max_steps"] == 3


def test_the_committed_scaling_readme_is_generated_from_its_json():
    from tests._helpers import ROOT

    folder = ROOT / "results" / "scaling"
    report = json.loads((folder / "scaling.json").read_text())
    assert (folder / "README.md").read_text() == load_script("scaling").render_readme(report)
    assert report["settings"]["seq_lens"] == [24, 64, 128, 256] and report["settings"]["datasets"] == ["sines",
                                                                                                        "energy"]
    from tsbench.registry import generators

    # every built-in model generator is in the committed figure
    assert {r["name"] for r in report["rows"] if r["kind"] == "generator"} == set(generators.names(role="model"))
