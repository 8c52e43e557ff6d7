"""scripts/scaling.py (issue 17, long windows): a tiny run writes the JSON, the figure and the generated README."""
from __future__ import annotations

import json

from tests._helpers import load_script


def test_a_tiny_scaling_run_measures_every_component_at_every_length(tmp_path):
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
