import pytest

from tsbench.cli import main
from tsbench.errors import InputError
from tsbench.naming import expand_sweeps, format_display_name, parse_display_name
from tsbench.registry import generators, metrics
from tsbench.runner import load_records
from tsbench.runner.grid import plan_cells


@pytest.mark.parametrize("text, expected", [
    ("timegan", ("timegan", {})),
    ("timegan[hidden_dim=48,iterations=2000]", ("timegan", {"hidden_dim": 48, "iterations": 2000})),
    ("gan[lr=1e-4, device=cpu, amp=true]", ("gan", {"lr": 1e-4, "device": "cpu", "amp": True})),
    ("x[name='a,b', sizes=(1, 2)]", ("x", {"name": "a,b", "sizes": (1, 2)})),
])
def test_parse(text, expected):
    assert parse_display_name(text) == expected


@pytest.mark.parametrize("params", [{}, {"hidden_dim": 48, "lr": 0.001}, {"mode": "denoise", "flag": False},
                                    {"name": "a b"}, {"x": None}])
def test_format_round_trip(params):
    text = format_display_name("model", params)
    assert parse_display_name(text) == ("model", params)


def test_format_is_canonical():
    assert format_display_name("t", {"b": 1, "a": 2}) == "t[a=2,b=1]"


@pytest.mark.parametrize("bad", ["timegan[hidden_dim]", "timegan[=3]", "timegan[hidden_dim=48", "", "a[x=1,x=2]",
                                 "timegan[1x=2]"])
def test_malformed(bad):
    with pytest.raises(InputError, match="expected"):
        parse_display_name(bad)


# sweeps: a list value gives one display name (one row) per value ----------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("gan[lr=[1e-3,1e-4]]", ["gan[lr=0.001]", "gan[lr=0.0001]"]),
    ("gan[iterations=5, lr=[1e-3, 1e-4]]", ["gan[iterations=5,lr=0.001]", "gan[iterations=5,lr=0.0001]"]),
    ("nrgan[mode=[generate,denoise],lr=[1,2]]", ["nrgan[lr=1,mode=generate]", "nrgan[lr=2,mode=generate]",
                                                 "nrgan[lr=1,mode=denoise]", "nrgan[lr=2,mode=denoise]"]),
    ("gan[lr=[0.1,0.1]]", ["gan[lr=0.1]"]),
    ("gan[lr=1e-3]", ["gan[lr=1e-3]"]),  # no sweep: unchanged
    ("x[sizes=(1, 2)]", ["x[sizes=(1, 2)]"]),  # a tuple is a value, not a sweep
])
def test_expand_sweeps(text, expected):
    assert expand_sweeps(text) == expected


def test_an_empty_sweep_is_a_clear_error():
    with pytest.raises(InputError, match=r"sweep lr=\[\] in 'gan\[lr=\[\]\]': expected at least one value"):
        expand_sweeps("gan[lr=[]]")


def test_registries_and_plan_cells_expand_sweeps():
    """Defect: a list value reached the class as one parameter value instead of one row per value."""
    assert generators.expand(["gan[lr=[1e-3,1e-4]]"]) == ["gan[lr=0.001]", "gan[lr=0.0001]"]
    assert metrics.expand(["mmd*[subset_size=[50,100]]"]) == [
        "mmd[subset_size=50]", "mmd[subset_size=100]", "mmd_multi[subset_size=50]", "mmd_multi[subset_size=100]"]
    cells = plan_cells(["sines"], ["noise[sigma=[0.05,0.2]]"], ["mmd[subset_size=[50,100]]"], seeds=1,
                       preset="smoke", protocol="tsbench", device="cpu")
    assert [c.generator for c in cells] == ["noise[sigma=0.05]", "noise[sigma=0.2]"]
    assert [c.generator_params["sigma"] for c in cells] == [0.05, 0.2]
    assert [m.display for m in cells[0].metrics] == ["mmd[subset_size=50]", "mmd[subset_size=100]"]
    assert len({c.cell_id for c in cells}) == 2


def test_a_sweep_through_the_cli_gives_one_row_per_value(tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["run", "-g", "noise[sigma=[0.05,0.2]]", "-m", "mmd", "-d", "sines", "--preset", "smoke", "--seeds",
                 "1", "--device", "cpu", "--out", str(out), "--no-progress"]) == 0
    records = load_records(out)
    assert set(records["generator"]) == {"noise[sigma=0.05]", "noise[sigma=0.2]"}
    mmd = records[records["metric"] == "mmd"].groupby("generator")["value"].mean()
    assert mmd["noise[sigma=0.2]"] > mmd["noise[sigma=0.05]"]
    capsys.readouterr()
    assert main(["run", "-g", "noise[sigma=[]]", "-m", "mmd", "--preset", "smoke", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sweep sigma=[]" in err and "expected at least one value" in err
    assert main(["check", "noise[sigma=[0.1,0.2]]"]) == 2
    assert "sweeps are for `tsbench run`" in capsys.readouterr().err
