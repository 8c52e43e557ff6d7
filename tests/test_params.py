"""Parameters are checked from one declaration (annotations + ``parameter_constraints``) before anything runs."""
from __future__ import annotations

import pytest

from tsbench.cli import main
from tsbench.errors import InputError
from tsbench.generator import Generator
from tsbench.params import Interval, check_params
from tsbench.registry import generators, metrics


@pytest.mark.parametrize("display, fragment", [
    # the 8 malformed parameters that used to be accepted and then failed inside a cell (or trained nothing)
    ("gan[iterations=abc]", "iterations: expected an integer, got 'abc'"),
    ("gan[lr=-1]", "lr: expected a number > 0"),
    ("nrgan[hidden=0]", "hidden: expected an integer ≥ 1"),
    ("gan[batch_size=0]", "batch_size: expected an integer ≥ 1"),
    ("timegan[num_layers=0]", "num_layers: expected an integer ≥ 2"),
    ("timegan[num_layers=1]", "num_layers: expected an integer ≥ 2"),  # the supervisor has num_layers − 1
    ("crnngan[dropout=1.5]", "dropout: expected a number ≥ 0 and < 1"),
    ("gan[iterations=0]", "iterations: expected an integer ≥ 1"),
    ("gan[output=relu]", "output: expected one of 'tanh', 'sigmoid'"),
    ("gan[lr_decay=1]", "lr_decay: expected true or false"),
])
def test_bad_generator_parameter_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, display, fragment):
    out = tmp_path / "runs"
    assert main(["run", "-g", display, "-d", "sines", "-m", "mmd", "--preset", "smoke", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("display, fragment", [
    ("mmd[subset_size=1]", "subset_size: expected an integer ≥ 2"),
    ("discriminative[iterations=0]", "iterations: expected an integer ≥ 1"),
    ("discriminative[cell=lstm]", "cell: expected one of 'tf1', 'torch'"),
    ("embeddings[max_iter=10]", "max_iter: expected an integer ≥ 250"),
    ("mmd[repeats=0]", "repeats: expected an integer ≥ 1"),
])
def test_bad_metric_parameter_is_one_line_exit_2(tmp_path, capsys, display, fragment):
    import numpy as np

    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(0).random((20, 6, 2)))
    for command in (["run", "-g", "gaussian", "-d", "sines", "--preset", "smoke", "--out", str(tmp_path / "r")],
                    ["evaluate", "--real", str(data), "--synthetic", str(data)]):
        assert main([*command, "-m", display]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and fragment in err, err


def test_every_builtin_declares_its_parameters_so_that_its_defaults_pass():
    """Each built-in's defaults and presets satisfy its own declaration (a wrong declaration would block it)."""
    for registry in (generators, metrics):
        for name in registry.names():
            cls = registry.get(name)
            defaults = cls().get_params()
            check_params(cls, defaults, what=name)
            for preset in getattr(cls, "presets", {}).values():
                check_params(cls, {**defaults, **preset}, what=f"{name} preset")


class Annotated(Generator):
    """A plugin declares its parameters the same way and gets the same check."""

    name = "annotated"
    parameter_constraints = {"width": Interval(1, 10)}

    def __init__(self, *, width: int = 3, rate: float | None = None, kind: str = "a"):
        self.width, self.rate, self.kind = width, rate, kind

    def _fit(self, X, *, seed, callback):
        callback(1, 1, {})

    def _sample(self, n, *, seed):
        raise NotImplementedError


@pytest.mark.parametrize("params, fragment", [
    ({"width": 11}, "an integer ≥ 1 and ≤ 10"), ({"width": 2.5}, "an integer"), ({"rate": "x"}, "a number"),
    ({"kind": 3}, "a string"), ({"width": None}, "expected an integer"), ({"rate": float("nan")}, "a number"),
])
def test_plugin_declaration_is_checked(params, fragment):
    with pytest.raises(InputError, match=fragment):
        check_params(Annotated, params, what="generator annotated")
    check_params(Annotated, {"width": 10, "rate": None, "kind": "b"}, what="generator annotated")


@pytest.mark.parametrize("flags, fragment", [
    (["--device", "tpu"], "--device: expected auto, cpu, cuda, cuda:N or mps"),
    (["--device", ""], "--device"),
    (["--device", "cpu:1"], "--device"),
    (["--seeds", "99999999999999999999999"], "--seeds: expected a positive integer ≤ 1000"),
])
def test_bad_grid_flags_are_refused_before_anything_runs(tmp_path, capsys, flags, fragment):
    """Found by the CLI fuzzer: --device tpu was accepted (then failed inside the cell, or recorded 'tpu'),
    and a huge --seeds hung planning."""
    out = tmp_path / "runs"
    assert main(["run", "-g", "gaussian", "-d", "sines", "-m", "mmd", "--preset", "smoke", "--out", str(out),
                 *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err and not out.exists()
