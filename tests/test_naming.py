import pytest

from tsbench.errors import InputError
from tsbench.naming import format_display_name, parse_display_name


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
