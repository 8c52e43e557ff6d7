"""Fuzzed inputs (issue 15, item 4): users' files, display names and presets either work or raise
:class:`~tsbench.errors.InputError` — never another exception.

Property-based (hypothesis) with small example counts so the file runs in well under a minute; every failing
example the fuzzer found is kept as an explicit ``@example`` / parametrized case.
"""
from __future__ import annotations

import io
import itertools
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tsbench.data import resolve_dataset
from tsbench.data.io import INDEX_COLUMNS, load_windows_file, read_array, read_series_csv
from tsbench.data.user import UserFile
from tsbench.errors import InputError
from tsbench.naming import expand_sweeps, format_display_name, parse_display_name
from tsbench.presets import PRESETS, check_preset, resolve_params

#: examples per property (raise it for a longer hunt: TSBENCH_FUZZ_EXAMPLES=2000 python -m pytest this file)
EXAMPLES = int(os.environ.get("TSBENCH_FUZZ_EXAMPLES", "60"))
#: under CI=true the same examples every run (a CI job never fails on a newly drawn input); elsewhere new ones
ON_CI = os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=ON_CI, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
_serial = itertools.count()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-inputs")


def _fresh(folder, suffix: str):
    """A new file name per example (the readers cache by path, mtime and size)."""
    return folder / f"x{next(_serial)}{suffix}"


def _input_error_or(call, *args, **kwargs):
    """``call(...)``'s result, or None when it raised InputError with a one-line message; anything else fails."""
    try:
        return call(*args, **kwargs)
    except InputError as exc:
        message = str(exc)
        assert message and len(message.splitlines()) == 1, message
        return None


# ---------------------------------------------------------------------------------------------- CSV text
_CELLS = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400",
                     "9" * 30, "-" + "9" * 400, "0x10", "1_000", "1,5", '"1"', '"a,b"', '"', '""', "'", "True",
                     "false", "NA", "null", "None", "#", "1e", "--1", "+", ".", "é", "数据", "\u00a0", "2016-01-11",
                     "2016-01-11 17:00:00", "\x00", "\\", "1;2", "\t1", " 1 ", "１"]),
    st.text(max_size=6),
)
_NAMES = st.one_of(st.sampled_from(["a", "b", "date", "Time", "TIMESTAMP", "datetime", "window", "step", "1", "2.5",
                                    "", " ", '"q"', "é", "a.1", "Unnamed: 0", "\ufeffa", "nan"]),
                   st.text(max_size=5))


@st.composite
def csv_texts(draw):
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t", "|", " "]))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    n_cols = draw(st.integers(1, 4))
    header = [draw(_NAMES) for _ in range(n_cols)]
    ragged = draw(st.booleans())
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        width = draw(st.integers(0, n_cols + 2)) if ragged else n_cols
        rows.append([draw(_CELLS) for _ in range(width)])
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    if draw(st.booleans()):  # sometimes the header is left out
        lines = lines[1:]
    text = newline.join(lines) + draw(st.sampled_from(["", newline, newline * 3]))
    bom = draw(st.sampled_from(["", "", "\ufeff"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "latin-1"]))
    return (bom + text).encode(encoding, errors="replace")


@st.composite
def numeric_csv(draw):
    """Mostly well-formed numeric series (so the windowing and split code runs too)."""
    n_cols = draw(st.integers(1, 3))
    n_rows = draw(st.integers(0, 60))
    values = draw(hnp.arrays(np.float64, (n_rows, n_cols),
                             elements=st.floats(-1e308, 1e308, allow_nan=False, allow_infinity=False)
                             | st.sampled_from([0.0, 1.0, -1.0, 1e-300])))
    names = [f"c{k}" for k in range(n_cols)]
    if draw(st.booleans()):
        names[0] = "date"
    text = ",".join(names) + "\n" + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in values)
    return text.encode()


def _check_series(result) -> None:
    values, names = result
    assert values.ndim == 2 and values.dtype == np.float64 and values.shape[0] >= 1
    assert values.shape[1] == len(names) >= 1
    assert np.isfinite(values).all()
    assert not {n.strip().lower() for n in names} & INDEX_COLUMNS


@FUZZ
@given(data=st.binary(max_size=300) | csv_texts())
@example(data=b"a,b\n1,2\n3,4,5\n")                      # ragged
@example(data=b"\xef\xbb\xbfa,b\n1,2\n")                 # BOM
@example(data=b"a;b\n1;2\n")                              # another delimiter: one text column
@example(data=b'a,b\n"1,2\n')                             # an unterminated quote
@example(data="a,b\n1,é\n".encode("latin-1"))             # not UTF-8
@example(data=b"a,b\n1e400,2\n")                          # overflows to inf
@example(data=b"a,b\n1e308,-1e308\n-1e308,1e308\n")       # finite, but max - min overflows
@example(data=b"a\n\x00\n")
@example(data=b"a\n-" + b"9" * 400 + b"\n1\n")          # pandas.to_numeric: OverflowError
def test_read_series_csv_never_crashes(folder, data):
    path = _fresh(folder, ".csv")
    path.write_bytes(data)
    result = _input_error_or(read_series_csv, path)
    if result is not None:
        _check_series(result)


@FUZZ
@given(data=csv_texts() | numeric_csv(), seq_len=st.integers(1, 6),
       protocol=st.sampled_from(["tsbench", "timegan2019", "tsbench-chrono"]), scale=st.booleans())
@example(data=b"a,b\n1e308,-1e308\n-1e308,1e308\n" * 20, seq_len=2, protocol="timegan2019", scale=True)
def test_user_csv_dataset_loads_or_input_error(folder, data, seq_len, protocol, scale):
    path = _fresh(folder, ".csv")
    path.write_bytes(data)
    dataset = _input_error_or(resolve_dataset, f"{path}[seq_len={seq_len},scale={str(scale).lower()}]")
    if dataset is None:
        return
    split = _input_error_or(dataset.load, seed=0, protocol=protocol)
    if split is not None:
        for part in (split.train, split.test):
            assert part.ndim == 3 and part.shape[1] == seq_len and np.isfinite(part).all()


# ---------------------------------------------------------------------------------------------- arrays
_DTYPES = st.one_of(hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(), hnp.floating_dtypes(),
                    hnp.complex_number_dtypes(), hnp.boolean_dtypes(), hnp.datetime64_dtypes(),
                    hnp.timedelta64_dtypes(), hnp.byte_string_dtypes(max_len=3), hnp.unicode_string_dtypes(max_len=3))
_ARRAYS = hnp.arrays(_DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))


@st.composite
def array_files(draw):
    """``(bytes, suffix)``: an array saved as .npy or .npz (random keys), or a broken / foreign file."""
    kind = draw(st.sampled_from(["npy", "npz", "npz", "pickle", "bytes", "truncated", "zip"]))
    buffer = io.BytesIO()
    if kind == "npy":
        np.save(buffer, draw(_ARRAYS))
        return buffer.getvalue(), ".npy"
    if kind == "npz":
        keys = draw(st.lists(st.sampled_from(["samples", "windows", "series", "x", "arr_0"]), max_size=3, unique=True))
        np.savez(buffer, **{key: draw(_ARRAYS) for key in keys})
        return buffer.getvalue(), ".npz"
    if kind == "pickle":
        np.save(buffer, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
        return buffer.getvalue(), draw(st.sampled_from([".npy", ".npz"]))
    if kind == "truncated":
        np.save(buffer, np.zeros((4, 3, 2)))
        data = buffer.getvalue()
        return data[:draw(st.integers(0, len(data) - 1))], draw(st.sampled_from([".npy", ".npz"]))
    if kind == "zip":  # a zip archive whose members are not arrays (or are broken ones)
        names = draw(st.lists(st.sampled_from(["m0", "m1.npy", "samples.npy", "windows.npy", "samples"]),
                              max_size=2, unique=True))
        with zipfile.ZipFile(buffer, "w") as archive:
            for member in names:
                archive.writestr(member, draw(st.binary(max_size=40)))
        return buffer.getvalue(), draw(st.sampled_from([".npy", ".npz"]))
    prefix = draw(st.sampled_from([b"", b"\x93NUMPY", b"\x93NUMPY\x01\x00", b"PK\x03\x04", b"PK\x05\x06"]))
    return prefix + draw(st.binary(max_size=200)), draw(st.sampled_from([".npy", ".npz"]))


def _npz_with_pickled_member() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, samples=np.array([{"a": 1}], dtype=object))
    return buffer.getvalue()


def _zip_with(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


# the crashes the fuzzer found (each raised something other than InputError before), kept as explicit cases
FOUND_ARRAY_FILES = [
    pytest.param(b"PK\x03\x04", ".npz", id="zip-magic-then-garbage"),       # zipfile.BadZipFile
    pytest.param(b"", ".npy", id="empty-file"),                                # EOFError
    pytest.param(_zip_with("samples", b"not an array"), ".npz", id="npz-member-not-npy"),  # AttributeError
    pytest.param(_npz_with_pickled_member(), ".npz", id="npz-pickled-member"),  # ValueError outside the guard
    pytest.param(_zip_with("samples.npy", b"\x93NUMPY\x01\x00"), ".npz", id="npz-member-truncated"),
    pytest.param(_npy(np.zeros((0, 0), dtype=np.int8)), ".npy", id="empty-2-d"),  # ValueError in min()
]

#: arrays that were accepted silently or refused with a misleading message; now one clear InputError each
REFUSED_ARRAYS = [
    pytest.param(np.zeros((2, 3, 1), dtype=np.complex64) + 1j, "real numeric array", id="complex"),
    pytest.param(np.ones((2, 3, 1), dtype="m8[s]"), "real numeric array", id="timedelta"),
    pytest.param(np.full((2, 3, 1), 1e300), "float32's range", id="float32-overflow"),
    pytest.param(np.array([[0.0, 1e308], [-1e308, 0.0], [1e308, -1e308]] * 10), "range", id="range-overflow"),
    pytest.param(np.array(1.5), "3-D array", id="0-d"),
]


def _check_array_file(path) -> None:
    array = _input_error_or(read_array, path)
    if array is not None:
        assert array.dtype != object and (np.issubdtype(array.dtype, np.number) or array.dtype == bool)
    windows = _input_error_or(load_windows_file, path)
    if windows is not None:
        assert windows.ndim == 3 and windows.dtype == np.float32 and np.isfinite(windows).all()
        assert min(windows.shape) >= 1
    for seq_len in (1, 3):
        dataset = _input_error_or(UserFile, path=str(path), seq_len=seq_len)
        split = _input_error_or(dataset.load, seed=0, protocol="timegan2019") if dataset else None
        if split is not None:
            assert np.isfinite(split.train).all() and np.isfinite(split.test).all()


@FUZZ
@given(file=array_files())
def test_array_files_never_crash(folder, file):
    data, suffix = file
    path = _fresh(folder, suffix)
    path.write_bytes(data)
    _check_array_file(path)


@pytest.mark.parametrize("data, suffix", FOUND_ARRAY_FILES)
def test_array_files_found_by_the_fuzzer(tmp_path, data, suffix):
    path = tmp_path / f"found{suffix}"
    path.write_bytes(data)
    _check_array_file(path)


@pytest.mark.parametrize("array, fragment", REFUSED_ARRAYS)
def test_arrays_that_cannot_be_windows_are_refused(tmp_path, array, fragment):
    path = tmp_path / "x.npy"
    np.save(path, array)
    with pytest.raises(InputError, match=fragment if array.ndim != 2 else None) as info:
        if array.ndim == 2:  # a series: read as a dataset, min-max scaled
            UserFile(path=str(path), seq_len=2).load(seed=0, protocol="timegan2019")
        else:
            load_windows_file(path)
    assert fragment in str(info.value) and len(str(info.value).splitlines()) == 1


# ---------------------------------------------------------------------------------------------- window CSV
@st.composite
def tidy_csv(draw):
    n_windows, seq_len, n_features = draw(st.integers(0, 3)), draw(st.integers(0, 4)), draw(st.integers(0, 2))
    columns = ["window", "step"] + [f"f{k}" for k in range(n_features)]
    columns = draw(st.permutations(columns)) if draw(st.booleans()) else columns
    rows = []
    for w in range(n_windows):
        for s in range(seq_len):
            row = {"window": w, "step": s, **{f"f{k}": draw(_CELLS) for k in range(n_features)}}
            if draw(st.integers(0, 9)) == 0:  # sometimes a wrong step / window
                row[draw(st.sampled_from(["window", "step"]))] = draw(_CELLS)
            rows.append(",".join(str(row[c]) for c in columns))
    if rows and draw(st.booleans()):
        rows = draw(st.permutations(rows))
    return (",".join(columns) + "\n" + "\n".join(rows) + "\n").encode()


@FUZZ
@given(data=tidy_csv() | csv_texts())
@example(data=b"window,step,f0\n0,0,1\n0,1,2\n1,1,3\n1,0,4\n")
def test_window_csv_never_crashes(folder, data):
    path = _fresh(folder, ".csv")
    path.write_bytes(data)
    windows = _input_error_or(load_windows_file, path)
    if windows is not None:
        assert windows.ndim == 3 and np.isfinite(windows).all() and min(windows.shape) >= 1


# ---------------------------------------------------------------------------------------------- names
_NAME_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="ab_=[](),'\" .*?-1e{}:\\\n", max_size=30),
    st.builds(lambda name, body: f"{name}[{body}]", st.sampled_from(["gan", "timegan", "x", "a.b-c", "t*", ""]),
              st.text(alphabet="ab_=[](),'\" 1.e-{}", max_size=25)),
)


def _parse_or_error(text: str):
    return _input_error_or(parse_display_name, text)


@FUZZ
@given(text=_NAME_TEXT)
@example(text="gan[lr=" + "[" * 200 + "]" * 200 + "]")    # deep nesting
@example(text="gan[a=" + "(" * 300 + ")" * 300 + "]")
@example(text="gan[=1]")
@example(text="gan[a=1,=2]")
@example(text="gan[a='[']")
@example(text="gan[a='x]")
@example(text="gan[a=1]]")
@example(text="gan[a=[1,[2,3]]]")
@example(text="gan[a=b'x']")
@example(text="gan[a={1:2}]")
@example(text="gan[a=" + "9" * 5000 + "]")
@example(text="gan[a=1\n]")
@example(text="gan[a=" + "-" * 3000 + "1]")                # MemoryError inside ast.literal_eval
@example(text="gan[a=1][b=2]")
@example(text="gan[a='\\'',b=1]")
def test_parse_display_name_never_crashes(text):
    parsed = _parse_or_error(text)
    if parsed is not None:
        name, params = parsed
        assert isinstance(name, str) and isinstance(params, dict)
        sweeps = _input_error_or(expand_sweeps, text)
        for display in sweeps or ():
            again = _parse_or_error(display)
            assert again is not None, display          # an expanded name parses again...
            assert not any(isinstance(v, list) for v in again[1].values()), display  # ...without a sweep


_SCALARS = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                     st.none(), st.text(max_size=8))
_VALUES = st.one_of(_SCALARS, st.tuples(_SCALARS, _SCALARS))


@FUZZ
@given(name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,8}", fullmatch=True),
       params=st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True), _VALUES, max_size=4))
@example(name="gan", params={"a": "true"})
@example(name="gan", params={"a": "none"})
@example(name="gan", params={"a": "["})
@example(name="gan", params={"a": "'"})
@example(name="gan", params={"a": "1"})
@example(name="gan", params={"a": " x"})
@example(name="gan", params={"a": "\n"})
def test_format_then_parse_round_trips(name, params):
    """Every name a component can be given formats to a display name that parses back to the same value."""
    text = format_display_name(name, params)
    assert parse_display_name(text) == (name, params), text
    assert format_display_name(*parse_display_name(text)) == text


@pytest.mark.parametrize("text, expected", [
    ("gan[a=" + "-" * 3000 + "1]", ("gan", {"a": "-" * 3000 + "1"})),   # was MemoryError
    ("gan[a=']']", ("gan", {"a": "]"})),                                # was 'malformed' (quoted bracket)
    ("gan[a='[',b=2]", ("gan", {"a": "[", "b": 2})),
    ("gan[a='x\\',y',b=2]", ("gan", {"a": "x',y", "b": 2})),           # an escaped quote does not end it
    ("gan[a=[1,[2,3]]]", ("gan", {"a": [1, (2, 3)]})),                  # a list in a sweep is one value
    ("gan[a=(1,[2])]", ("gan", {"a": (1, (2,))})),
])
def test_names_found_by_the_fuzzer(text, expected):
    assert parse_display_name(text) == expected


@pytest.mark.parametrize("text", ["gan[a=1][b=2]", "gan[a=1]]",  # (gan[a=1]] was refused before too)
                                  "gan[a=(1]", "gan[a='x]", "gan[a={1:2}]",
                                  "gan[a={1,2}]", "gan[a=b'x']", "gan[a=1j]", "gan[a=...]", "gan[a=[{1:2}]]"])
def test_malformed_names_found_by_the_fuzzer(text):
    """Each was accepted (a garbage string, or a value no component takes and no record can hold)."""
    with pytest.raises(InputError) as info:
        parse_display_name(text)
    assert len(str(info.value).splitlines()) == 1


def test_sweep_items_that_are_lists_expand_to_tuples():
    assert expand_sweeps("gan[a=[1,[2,3]]]") == ["gan[a=1]", "gan[a=(2, 3)]"]  # was gan[a=[2, 3]]: a sweep again


@pytest.mark.parametrize("value", ["true", "false", "none", "null", "True", "None", "[", "]", "'", "a,b", "1"])
def test_string_values_round_trip(value):
    text = format_display_name("gan", {"a": value})
    assert parse_display_name(text) == ("gan", {"a": value}), text


# ---------------------------------------------------------------------------------------------- presets
class _Toy:
    presets = {"smoke": {"a": 1}, "quick": {"a": 2}, "paper": {"a": 3}}

    @classmethod
    def _get_param_names(cls):
        return ["a", "b"]


@FUZZ
@given(preset=st.one_of(st.sampled_from(PRESETS), st.text(max_size=8), st.none(), st.integers()),
       params=st.dictionaries(st.text(max_size=4), _SCALARS, max_size=3))
def test_presets_resolve_or_input_error(preset, params):
    assert (_input_error_or(check_preset, preset) is not None) == (preset in PRESETS)
    resolved = _input_error_or(resolve_params, _Toy, preset, params, display="toy")
    if resolved is not None:
        assert resolved == {**_Toy.presets[preset], **params} and set(params) <= {"a", "b"}


# ---------------------------------------------------------------------------------------------- registry names
def _user_error_or(call, *args, **kwargs):
    """Like :func:`_input_error_or`, for calls that may also raise UnknownNameError (exit 2, one line)."""
    from tsbench.errors import TsbenchError

    try:
        return call(*args, **kwargs)
    except TsbenchError as exc:
        assert exc.exit_code == 2 and len(str(exc).splitlines()) == 1, (type(exc), str(exc))
        return None


_SPECS = st.one_of(_NAME_TEXT, st.sampled_from(["sines", "sines[seq_len=3]", "stocks[seq_len=abc]", "sines[x=1]",
                                                  "gan", "gan[lr=[1,2]]", "mmd[subset_size=-3]", "mmd",
                                                  "tsbench", "tsbench@1", "tsbench@2", "timegan2019@9", "@", "file",
                                                  "data.csv", "a/b", "x.npy[seq_len=2]", "m*", "*", "?", "[a]"]))


@FUZZ
@given(spec=_SPECS)
@example(spec="tsbench@")
@example(spec="sines[seq_len=" + "9" * 30 + "]")
def test_protocols_datasets_and_registry_names_resolve_or_refuse(spec):
    from tsbench.evaluation import MetricSpec
    from tsbench.protocols import get_protocol
    from tsbench.registry import generators, metrics

    _user_error_or(get_protocol, spec)
    _user_error_or(resolve_dataset, spec, preset="smoke")
    _user_error_or(generators.expand, [spec])
    names = _user_error_or(metrics.expand, [spec]) or []
    for display in names[:3]:
        _user_error_or(MetricSpec.build, display, preset="smoke", protocol="tsbench", repeats=None)
