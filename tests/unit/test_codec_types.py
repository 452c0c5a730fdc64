"""Codec: numpy and pandas values (exact round trips, refusals, hostile descriptions).

Also checks that the codec imports neither library until a value needs it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zoneinfo
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pandas as pd
import pytest

from streamlit_redis_state.base import codec
from streamlit_redis_state.base.errors import CorruptValue, UnsupportedValue

ROOT = Path(__file__).resolve().parents[2]
M = codec.MAGIC


def round_trip(value: Any) -> Any:
    blob = codec.encode(value)
    back = codec.decode(blob)
    assert codec.encode(back) == blob  # what comes back encodes to the same bytes
    return back


# -- numpy --------------------------------------------------------------------

SCALARS = [
    np.bool_(True),
    np.bool_(False),
    np.int8(-5),
    np.int16(300),
    np.int32(-(2**31)),
    np.int64(2**63 - 1),
    np.uint8(255),
    np.uint16(65535),
    np.uint32(2**32 - 1),
    np.uint64(2**64 - 1),
    np.float16(1.5),
    np.float32(-0.0),
    np.float64(np.inf),
    np.complex64(1 - 2j),
    np.complex128(complex(3, np.nan)),
    np.datetime64("2024-02-29"),
    np.datetime64("2024-02-29T12:34:56.789", "ns"),
    np.datetime64("NaT"),
    np.datetime64(7, "2h"),
    np.timedelta64(5, "ms"),
    np.timedelta64("NaT", "s"),
    np.timedelta64(3, "Y"),
]


@pytest.mark.parametrize("value", SCALARS, ids=lambda v: f"{type(v).__name__}({v})")
def test_numpy_scalars_round_trip_exactly(value: Any) -> None:
    back = round_trip(value)
    assert type(back) is type(value)
    assert back.dtype == value.dtype
    assert back.tobytes() == value.tobytes()


ARRAYS = {
    "int 2-d": np.arange(12, dtype=np.int64).reshape(3, 4),
    "transposed (not contiguous)": np.arange(12).reshape(3, 4).T,
    "strided": np.arange(20, dtype=np.int16)[::3],
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "0-d": np.array(5),
    "0-d float": np.array(2.5, dtype=">f8"),
    "empty": np.zeros((0, 3)),
    "empty 3-d": np.zeros((2, 0, 4), dtype=np.uint8),
    "big-endian int": np.array([1, -2, 3], dtype=">i4"),
    "little-endian float": np.array([1.5, np.nan, -np.inf], dtype="<f4"),
    "float16": np.array([0.5, 65504], dtype=np.float16),
    "bool": np.array([[True, False], [False, True]]),
    "uint64": np.array([0, 2**64 - 1], dtype=np.uint64),
    "complex big-endian": np.array([1 + 1j, np.nan], dtype=">c8"),
    "complex128": np.array([1e300 - 1j]),
    "datetime64[D]": np.array(["2024-01-01", "NaT"], dtype="M8[D]"),
    "datetime64[ns] big-endian": np.array(["2024-01-01T00:00:00.000000001"], dtype=">M8[ns]"),
    "datetime64 generic": np.array(["NaT"], dtype="M8"),
    "timedelta64[2s]": np.array([1, 2], dtype="m8[2s]"),
    "timedelta64[us]": np.array([-5], dtype="m8[us]"),
    "32 dims": np.zeros((1,) * 32, dtype=np.int8),
}


@pytest.mark.parametrize("name", ARRAYS)
def test_numpy_arrays_round_trip_exactly(name: str) -> None:
    value = ARRAYS[name]
    back = round_trip(value)
    assert type(back) is np.ndarray
    assert back.dtype == value.dtype and back.dtype.str == value.dtype.str
    assert back.shape == value.shape
    assert back.tobytes() == value.tobytes()  # same values, bit for bit (NaN, -0.0)
    assert back.flags.writeable and back.flags.c_contiguous and back.flags.owndata


def test_equal_arrays_encode_to_equal_bytes_whatever_their_layout() -> None:
    a = np.arange(12).reshape(3, 4)
    views = [a, a.copy(order="F"), np.ascontiguousarray(a.T).T, a[:, :], a[::-1][::-1]]
    assert len({codec.encode(v) for v in views}) == 1
    assert codec.encode(a.astype(">i8")) != codec.encode(a)  # byte order is kept, so it differs


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array([object()]), "value: numpy array of dtype object is not supported"),
        ({"a": np.array(["x"])}, "value['a']: numpy array of dtype <U1 is not supported"),
        ([np.array([b"x"])], "value[0]: numpy array of dtype |S1 is not supported"),
        (np.zeros(2, dtype="i4,f8"), "numpy array of dtype [('f0', '<i4'), ('f1', '<f8')]"),
        (np.zeros(2, dtype=np.longdouble), "numpy array of dtype float128 is not supported"),
        (np.zeros(2, dtype="V4"), "numpy array of dtype |V4 is not supported"),
        ({"s": np.longdouble(1)}, "value['s']: numpy scalar of dtype float128 is not supported"),
        ([np.longlong(1)], "value[0]: numpy.longlong is not supported (use numpy.int64)"),
        ([np.str_("x")], "value[0]: numpy scalar of dtype <U1 is not supported"),
        ([np.ma.masked_array([1, 2])], "value[0]: MaskedArray is not supported"),
        ([np.zeros((1, 1)).view(np.matrix)], "value[0]: matrix is not supported"),
        (np.zeros((1,) * 33), "numpy array with more than 32 dimensions"),
    ],
)
def test_unsupported_numpy_values_are_refused_with_a_path(value: Any, message: str) -> None:
    with pytest.raises(UnsupportedValue) as err:
        codec.encode(value)
    assert message in str(err.value)


def _tagged(code: int, *fields: Any) -> bytes:
    packed: bytes = msgpack.packb(
        [msgpack.ExtType(code, b""), *fields], use_bin_type=True, strict_types=False
    )
    return M + packed


ND = 16
NPS = 17
HOSTILE_NUMPY = {
    "object dtype": _tagged(ND, "|O", [1], b"\x00" * 8),
    "unicode dtype": _tagged(ND, "<U1", [1], b"a\x00\x00\x00"),
    "structured dtype": _tagged(ND, "[('a','<i4')]", [1], b"\x00" * 4),
    "dtype with a class name": _tagged(ND, "numpy.core.multiarray._reconstruct", [1], b""),
    "non-canonical dtype": _tagged(ND, "=i8", [1], b"\x00" * 8),
    "wrong byte-order mark": _tagged(ND, "|i8", [1], b"\x00" * 8),
    "dtype not a str": _tagged(ND, 8, [1], b"\x00" * 8),
    "longdouble": _tagged(ND, "<f16", [1], b"\x00" * 16),
    "short data": _tagged(ND, "<i8", [2], b"\x00" * 8),
    "long data": _tagged(ND, "<i8", [1], b"\x00" * 9),
    "claimed huge shape": _tagged(ND, "<i8", [2**31, 2**31], b"\x00" * 8),
    "negative dim": _tagged(ND, "<i8", [-1], b""),
    "float dim": _tagged(ND, "<i8", [1.0], b"\x00" * 8),
    "33 dims": _tagged(ND, "|u1", [1] * 33, b"\x00"),
    "shape not a list": _tagged(ND, "<i8", 1, b"\x00" * 8),
    "data not bytes": _tagged(ND, "<i8", [1], "abcdefgh"),
    "bool byte 2": _tagged(ND, "|b1", [2], b"\x01\x02"),
    "wrong field count": _tagged(ND, "<i8", [1]),
    "scalar wrong size": _tagged(NPS, "<i8", b"\x00" * 4),
    "scalar object": _tagged(NPS, "|O", b"\x00" * 8),
    "scalar bool 7": _tagged(NPS, "|b1", b"\x07"),
    "datetime unit junk": _tagged(ND, "<M8[fortnight]", [1], b"\x00" * 8),
    "datetime huge multiplier": _tagged(ND, "<M8[999999999999s]", [1], b"\x00" * 8),
}


@pytest.mark.parametrize("name", HOSTILE_NUMPY)
def test_hostile_numpy_descriptions_raise_corrupt_value(name: str) -> None:
    with pytest.raises(CorruptValue, match="key 'k'"):
        codec.decode(HOSTILE_NUMPY[name], key="k")


# -- pandas -------------------------------------------------------------------


def assert_frames_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert type(a) is type(b)
    pd.testing.assert_frame_equal(
        a,
        b,
        check_exact=True,
        check_index_type=True,
        check_column_type=True,
        check_frame_type=True,
        check_names=True,
        check_freq=True,
        check_flags=True,
    )
    assert list(a.dtypes) == list(b.dtypes)
    assert type(a.index) is type(b.index) and type(a.columns) is type(b.columns)


def full_frame() -> pd.DataFrame:
    n = 4
    return pd.DataFrame(
        {
            "int": np.array([1, -2, 3, 4], dtype=np.int64),
            "int8": np.array([1, 2, 3, 4], dtype=np.int8),
            "uint": np.array([1, 2, 3, 2**64 - 1], dtype=np.uint64),
            "float": [1.5, np.nan, -0.0, np.inf],
            "float32": np.array([1, 2, 3, 4], dtype=np.float32),
            "complex": np.array([1j, 2, 3, 4], dtype=np.complex128),
            "bool": [True, False, True, False],
            "str": ["a", None, "ç", ""],  # pandas 3: the "str" dtype; pandas 2: object
            "string": pd.array(["a", None, "b", pd.NA], dtype="string"),
            "string_python": pd.array(["x", None, "y", "z"], dtype=pd.StringDtype("python")),
            "object": pd.Series([{"k": [1]}, (1, 2), None, dt.date(2024, 1, 1)], dtype=object),
            "datetime": pd.date_range("2024-01-01", periods=n, freq="h"),
            "datetime_ns": pd.to_datetime(["2024-01-01", None, "2024-01-03", "2024-01-04"]).as_unit(
                "ns"
            ),
            "berlin": pd.date_range("2024-03-31", periods=n, freq="h", tz="Europe/Berlin"),
            "utc": pd.date_range("2024-01-01", periods=n, tz="UTC"),
            "fixed": pd.date_range("2024-01-01", periods=n, tz=dt.timezone(dt.timedelta(hours=-3))),
            "timedelta": pd.to_timedelta([1, 2, None, 4], unit="s"),
            "category": pd.Categorical(["u", "v", None, "u"]),
            "ordered": pd.Categorical([3, 1, 2, 1], categories=[3, 2, 1], ordered=True),
            "Int64": pd.array([1, None, 3, 4], dtype="Int64"),
            "UInt8": pd.array([1, None, 3, 255], dtype="UInt8"),
            "Float64": pd.array([1.5, None, np.nan, 4], dtype="Float64"),
            "boolean": pd.array([True, None, False, True], dtype="boolean"),
        },
        index=pd.Index([10, 20, 30, 40], name="id"),
    )


def test_dataframe_with_every_supported_column_kind_round_trips() -> None:
    df = full_frame()
    assert_frames_identical(round_trip(df), df)


FRAMES = {
    "empty": pd.DataFrame(),
    "no rows": pd.DataFrame({"a": pd.Series([], dtype=np.int32)}),
    "no columns": pd.DataFrame(index=pd.RangeIndex(5, name="r")),
    "range index with step": pd.DataFrame({"a": [1, 2]}, index=pd.RangeIndex(10, 0, -5)),
    "duplicate columns": pd.DataFrame([[1, "x"]], columns=["a", "a"]),
    "duplicate index": pd.DataFrame({"x": [1, 2]}, index=[7, 7]),
    "int column labels": pd.DataFrame(np.arange(6).reshape(2, 3)),
    "tuple and None labels": pd.DataFrame({("a", 1): [1], None: [2]}),
    "datetime index with freq": pd.DataFrame(
        {"v": [1.0, 2.0, 3.0]}, index=pd.date_range("2024-01-01", periods=3, freq="2D", name="d")
    ),
    "tz index": pd.DataFrame(
        {"v": [1, 2]}, index=pd.DatetimeIndex(["2024-01-01", "2024-06-01"], tz="America/New_York")
    ),
    "timedelta index with freq": pd.DataFrame(
        {"v": [1, 2]}, index=pd.timedelta_range("1s", periods=2, freq="s")
    ),
    "categorical index": pd.DataFrame({"v": [1, 2]}, index=pd.CategoricalIndex(["b", "a"])),
    "multiindex rows": pd.DataFrame(
        {"v": range(4)},
        index=pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["letter", "number"]),
    ),
    "multiindex columns": pd.DataFrame(
        [[1, 2, 3]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y"), ("b", "x")])
    ),
    "object index of tuples": pd.DataFrame(
        {"v": [1, 2]}, index=pd.Index([(1, 2), (3, 4)], tupleize_cols=False)
    ),
    "nullable index": pd.DataFrame({"v": [1, 2]}, index=pd.Index([1, None], dtype="Int64")),
    "float index": pd.DataFrame({"v": [1, 2]}, index=pd.Index([0.5, np.nan])),
    "bool index": pd.DataFrame({"v": [1, 2]}, index=pd.Index([True, False])),
}


@pytest.mark.parametrize("name", FRAMES)
def test_dataframes_round_trip_exactly(name: str) -> None:
    df = FRAMES[name]
    assert_frames_identical(round_trip(df), df)


def test_series_and_indexes_round_trip_exactly() -> None:
    series = [
        pd.Series([1, 2, 3], name="n"),
        pd.Series(["a", None], name=("t", 1), index=pd.Index(["x", "y"], name="k")),
        pd.Series(pd.Categorical(["a", "b"], ordered=True)),
        pd.Series([1.5], index=pd.date_range("2024", periods=1, freq="D", tz="Asia/Tokyo")),
        pd.Series([], dtype="Int16"),
        pd.Series([{"nested": (1, 2)}, None], dtype=object),
    ]
    for s in series:
        back = round_trip(s)
        assert type(back) is pd.Series
        pd.testing.assert_series_equal(back, s, check_exact=True, check_freq=True)
        assert back.dtype == s.dtype and back.name == s.name
    indexes = [
        pd.RangeIndex(3, 10, 2, name="r"),
        pd.RangeIndex(0),
        pd.Index(["a", "b"]),
        pd.Index([1.5]),
        pd.Index([1, 2], dtype=np.uint16),
        pd.CategoricalIndex(["a", "b", "a"], ordered=True, name="c"),
        pd.DatetimeIndex(["2024-01-01"], tz="Asia/Tokyo", name="when"),
        pd.date_range("2024-01-01", periods=3, freq="W-SUN"),
        pd.TimedeltaIndex(["1s", "2s"]),
        pd.Index([1, None], dtype="Int64"),
        pd.Index([True, None], dtype="boolean"),
        pd.Index([(1, 2), (3, 4)], tupleize_cols=False),
        pd.MultiIndex.from_arrays([["a", "b"], [1, 2]], names=["x", None]),
    ]
    for idx in indexes:
        back = round_trip(idx)
        assert type(back) is type(idx)
        pd.testing.assert_index_equal(back, idx, exact=True, check_exact=True)
        assert back.names == idx.names
        if isinstance(idx, pd.DatetimeIndex):
            assert back.freq == idx.freq


def test_equal_frames_encode_to_equal_bytes() -> None:
    df = full_frame()
    copies = [
        df.copy(),
        df.copy(deep=True),
        pd.concat([df.iloc[:2], df.iloc[2:]]),
        df[list(df.columns)],
        pd.DataFrame({c: df[c] for c in df.columns}, index=df.index),
    ]
    blob = codec.encode(df)
    for other in copies:
        assert codec.encode(other) == blob
    changed = df.copy()
    changed.iloc[0, 0] = 99
    assert codec.encode(changed) != blob


def test_decoded_frames_are_independent_and_writable() -> None:
    df = pd.DataFrame({"a": [1, 2]})
    back = codec.decode(codec.encode(df))
    back.loc[0, "a"] = 5
    assert df.loc[0, "a"] == 1
    arr = codec.decode(codec.encode(np.arange(3)))
    arr[0] = 7


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"df": pd.DataFrame({"p": pd.period_range("2024", periods=2)})},
            "value['df']['p']: dtype period[D] is not supported",
        ),
        (
            {"df": pd.DataFrame({"i": pd.arrays.IntervalArray.from_breaks([0, 1, 2])})},
            "value['df']['i']: dtype interval[int64, right] is not supported",
        ),
        (
            pd.DataFrame({"s": pd.arrays.SparseArray([0, 1])}),
            "value['s']: dtype Sparse[int64, 0] is not supported",
        ),
        (
            [pd.DataFrame({"c": [1, object()]}, dtype=object)],
            "value[0]['c'].iloc[1]: object is not supported",
        ),
        (
            pd.Series([1], name=object()),
            "value.name: object is not supported",
        ),
        (
            pd.DataFrame({"a": [1]}, index=pd.Index([object()], dtype=object)),
            "value.index.iloc[0]: object is not supported",
        ),
        (
            pd.DataFrame({"t": pd.date_range("2024", periods=1, tz="dateutil/Europe/Paris")}),
            "value['t']: time zone",
        ),
        (pd.Series([1]).set_flags(allows_duplicate_labels=False), "value.flags: flags."),
        (pd.DataFrame({"a": [1]}).pipe(lambda d: d.attrs.update(x=1) or d), "value.attrs: pandas"),
        ([pd.Timestamp("2024-01-01")], "value[0]: Timestamp is not supported"),
        ([pd.NA], "value[0]: NAType is not supported"),
        (pd.PeriodIndex(["2024-01"], freq="M"), "value: PeriodIndex is not supported"),
        (pd.RangeIndex(2**33), "value: RangeIndex longer than 4,294,967,296 is not supported"),
        (
            pd.DataFrame({"c": pd.Categorical([pd.Period("2024", "Y")])}),
            "value['c'].cat.categories: PeriodIndex is not supported",
        ),
    ],
)
def test_unsupported_pandas_values_name_the_column(value: Any, message: str) -> None:
    with pytest.raises(UnsupportedValue) as err:
        codec.encode(value)
    assert message in str(err.value)


def test_arrow_backed_columns_are_refused() -> None:
    df = pd.DataFrame({"a": pd.array([1, 2], dtype="int64[pyarrow]")})
    with pytest.raises(UnsupportedValue, match=r"value\['a'\]: dtype int64\[pyarrow\]"):
        codec.encode(df)


DF = 18
SER = 19
IDX = 20


def _frame_blob(columns: Any, cols: Any, index: Any) -> bytes:
    return _tagged(DF, columns, cols, index)


def _arr(values: np.ndarray) -> list[Any]:
    return [msgpack.ExtType(ND, b""), values.dtype.str, list(values.shape), values.tobytes()]


RANGE2 = ["range", 0, 2, 1, None]
RANGE1 = ["range", 0, 1, 1, None]
I64 = _arr(np.array([1, 2]))
HOSTILE_PANDAS = {
    "column count differs": _frame_blob(RANGE2, [["np", I64]], RANGE2),
    "column length differs": _frame_blob(RANGE1, [["np", _arr(np.array([1]))]], RANGE2),
    "unknown column kind": _frame_blob(RANGE1, [["pickle", b"x"]], RANGE2),
    "unknown index kind": _frame_blob(["class", "os.system"], [], RANGE2),
    "range step 0": _frame_blob(RANGE1, [["np", I64]], ["range", 0, 2, 0, None]),
    "range huge": _frame_blob(["range", 0, 2**63, 1, None], [], RANGE2),
    "range of 2**62 rows, no columns": _frame_blob(
        ["range", 0, 0, 1, None], [], ["range", 0, 2**62, 1, None]
    ),
    "standalone range of 2**64": _tagged(IDX, ["range", -(2**63), 2**63 - 1, 1, None]),
    "np column is 2-d": _frame_blob(RANGE1, [["np", _arr(np.zeros((2, 1)))]], RANGE2),
    "np column is not an array": _frame_blob(RANGE1, [["np", [1, 2]]], RANGE2),
    "string column holds an int": _frame_blob(RANGE1, [["str", "python", "NA", ["a", 1]]], RANGE2),
    "string storage unknown": _frame_blob(RANGE1, [["str", "os", "NA", ["a", "b"]]], RANGE2),
    "masked dtype unknown": _frame_blob(
        RANGE1, [["masked", "Int128", I64, _arr(np.zeros(2, bool))]], RANGE2
    ),
    "masked values wrong dtype": _frame_blob(
        RANGE1, [["masked", "Int8", I64, _arr(np.zeros(2, bool))]], RANGE2
    ),
    "masked mask length": _frame_blob(
        RANGE1, [["masked", "Int64", I64, _arr(np.zeros(3, bool))]], RANGE2
    ),
    "category code out of range": _frame_blob(
        RANGE1,
        [["cat", _arr(np.array([0, 5], np.int8)), ["index", ["obj", ["a"]], None, None], False]],
        RANGE2,
    ),
    "category in category": _frame_blob(
        RANGE1,
        [
            [
                "cat",
                _arr(np.array([0, 0], np.int8)),
                ["index", ["cat", _arr(np.array([0], np.int8)), RANGE1, False], None, None],
                False,
            ]
        ],
        RANGE2,
    ),
    "tz path": _frame_blob(
        RANGE1, [["dttz", _arr(np.zeros(2, "M8[ns]")), ["zone", "../../etc/passwd"]]], RANGE2
    ),
    "tz kind unknown": _frame_blob(
        RANGE1, [["dttz", _arr(np.zeros(2, "M8[ns]")), ["pytz", "UTC"]]], RANGE2
    ),
    "tz fixed too big": _frame_blob(
        RANGE1, [["dttz", _arr(np.zeros(2, "M8[ns]")), ["fixed", 10**12]]], RANGE2
    ),
    "freq junk": _frame_blob(
        RANGE1, [["np", I64]], ["index", ["np", _arr(np.zeros(2, "M8[ns]"))], None, "../x"]
    ),
    "freq does not fit": _frame_blob(
        RANGE1,
        [["np", I64]],
        ["index", ["np", _arr(np.array([0, 5], "M8[D]").astype("M8[ns]"))], None, "D"],
    ),
    "unhashable name": _frame_blob(["range", 0, 1, 1, [1]], [["np", I64]], RANGE2),
    "multi codes out of range": _frame_blob(
        RANGE1,
        [["np", I64]],
        [
            "multi",
            [["index", ["obj", ["a"]], None, None]],
            [_arr(np.array([0, 3], np.int8))],
            [None],
        ],
    ),
    "multi in multi": _frame_blob(
        RANGE1,
        [["np", I64]],
        ["multi", [["multi", [], [], []]], [_arr(np.array([0, 0], np.int8))], [None]],
    ),
    "series length differs": _tagged(SER, ["np", I64], RANGE1, None),
    "index wrong fields": _tagged(IDX, RANGE1, RANGE1),
    "frame wrong fields": _tagged(DF, RANGE1),
}


@pytest.mark.parametrize("name", HOSTILE_PANDAS)
def test_hostile_pandas_descriptions_raise_corrupt_value(name: str) -> None:
    with pytest.raises(CorruptValue, match="key 'k'"):
        codec.decode(HOSTILE_PANDAS[name], key="k")


# -- lazy imports -------------------------------------------------------------

_LAZY_SCRIPT = """
import sys, types
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numpy", "pandas", "pyarrow"):
            raise ImportError("blocked: " + name)
        return None
sys.meta_path.insert(0, Blocker())
pkg = types.ModuleType("streamlit_redis_state")  # the codec alone, not the package's Streamlit
pkg.__path__ = [sys.argv[1] + "/streamlit_redis_state"]
sys.modules["streamlit_redis_state"] = pkg
from streamlit_redis_state.base import codec
value = {"a": [1, 2.5, "x", (1, {2})], "b": None}
assert codec.decode(codec.encode(value)) == value
try:
    codec.decode(bytes.fromhex(sys.argv[2]))
except codec.CorruptValue as exc:
    print("array needs numpy:", exc)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "pandas", "pyarrow")))
"""


def test_codec_imports_neither_numpy_nor_pandas_for_plain_values() -> None:
    array_blob = codec.encode(np.arange(3)).hex()
    out = subprocess.run(
        [sys.executable, "-c", _LAZY_SCRIPT, str(ROOT), array_blob],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.endswith("[]\n")
    assert "array needs numpy: the value holds damaged data: ImportError: blocked: numpy" in out


def test_times_with_zones_inside_frames_and_values() -> None:
    value = {
        "t": dt.time(9, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata")),
        "df": pd.DataFrame({"when": [dt.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))]}),
    }
    back = round_trip(value)
    assert back["t"].tzinfo is zoneinfo.ZoneInfo("Asia/Kolkata")
    assert_frames_identical(back["df"], value["df"])
