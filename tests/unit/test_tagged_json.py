"""Tagged JSON: what `get` prints, `set` reads back to the same value, of the same types."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlit_redis_state.base import codec
from streamlit_redis_state.cli.tagged_json import (
    MAX_SAFE_INT,
    TaggedJSONError,
    dumps,
    loads,
    to_json,
)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def same_stored_bytes(value: Any) -> None:
    """Through JSON text and back, the value encodes to the very bytes it did."""
    again = loads(dumps(value))
    assert codec.encode(again) == codec.encode(value), (value, again)


def test_every_codec_type_round_trips_exactly() -> None:
    value = {
        "none": None,
        "flags": [True, False],
        "ints": [0, -1, MAX_SAFE_INT, MAX_SAFE_INT + 1, -(2**70), 2**64],
        "floats": [0.1, -0.0, 1e300, float("inf"), float("-inf")],
        "text": "héllo\n\u2603",
        "bytes": b"\x00\xff",
        "tuple": (1, (2, "x"), []),
        "set": {3, 1, 2},
        "frozenset": frozenset({"b", "a"}),
        "nested": {"a": [{"b": ({1, 2},)}]},
        "int keys": {1: "one", (2, 3): "pair", None: 0},
        "dollar": {"$tuple": "not a tag"},
        "when": dt.datetime(2024, 3, 31, 1, 59, tzinfo=PARIS),
        "ambiguous": dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS),
        "utc": dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone.utc),
        "offset": dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        "naive": dt.datetime(2024, 1, 1, 12, 0, 0, 123456),
        "day": dt.date(2024, 2, 29),
        "money": Decimal("1.10"),
        "tiny": Decimal("-1E-30"),
        "id": uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
    }
    same_stored_bytes(value)


def test_the_tags_are_plain_and_documented() -> None:
    assert to_json((1, 2)) == {"$tuple": [1, 2]}
    assert to_json({3, 1, 2}) == {"$set": [1, 2, 3]}  # sorted, so the output is stable
    assert to_json(b"hi") == {"$bytes": "aGk="}
    assert to_json(2**53 - 1) == 2**53 - 1
    assert to_json(2**53) == {"$int": str(2**53)}
    assert to_json(float("nan")) == {"$float": "nan"}
    assert to_json(Decimal("1.10")) == {"$decimal": "1.10"}
    assert to_json(dt.date(2024, 1, 2)) == {"$date": "2024-01-02"}
    assert to_json(dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS)) == {
        "$datetime": "2024-10-27T02:30:00+01:00[Europe/Paris]"
    }
    assert to_json({1: "a"}) == {"$dict": [[1, "a"]]}
    assert to_json({"$x": 1}) == {"$dict": [["$x", 1]]}
    assert to_json({"a": (1,)}) == {"a": {"$tuple": [1]}}


def test_a_fold_no_offset_shows_is_kept() -> None:
    naive = dt.datetime(2000, 1, 1, fold=1)
    assert to_json(naive) == {"$datetime": "2000-01-01T00:00:00[_fold=1]"}
    outside_repeat = dt.datetime(2024, 6, 1, 12, fold=1, tzinfo=PARIS)
    assert to_json(outside_repeat) == {
        "$datetime": "2024-06-01T12:00:00+02:00[Europe/Paris][_fold=1]"
    }
    for value in (naive, outside_repeat):
        same_stored_bytes(value)


def test_types_the_codec_may_add_have_tags_too() -> None:
    for value in (
        dt.time(10, 15, 30, 5),
        dt.time(10, 15, tzinfo=PARIS),
        dt.timedelta(days=-1, seconds=5, microseconds=7),
        bytearray(b"xy"),
    ):
        back = loads(dumps(value))
        assert back == value and type(back) is type(value)
    assert loads('{"$timedelta": 90.5}') == dt.timedelta(seconds=90.5)


def test_the_output_is_strict_json() -> None:
    text = dumps([float("nan"), float("inf"), 2**80])
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard constant {c}"))


def test_numpy_arrays_and_scalars_keep_dtype_and_shape() -> None:
    arrays = [
        np.arange(6, dtype="<i8").reshape(2, 3),
        np.array([0.1, np.nan, -np.inf], dtype="<f4"),
        np.array([[True], [False]]),
        np.array([1 + 2j, 3j], dtype="<c16"),
        np.array(["2024-01-01T00:00"], dtype="M8[s]"),
        np.zeros((0, 3), dtype="<u2"),
        np.array(5, dtype=">i4"),
    ]
    for array in arrays:
        back = loads(dumps(array))
        assert isinstance(back, np.ndarray)
        assert back.dtype == array.dtype and back.shape == array.shape
        assert back.tobytes() == array.tobytes()
    scalar = np.float32(1.5)
    back = loads(dumps(scalar))
    assert type(back) is np.float32 and back == scalar
    assert to_json(np.int16(3)) == {"$npscalar": {"dtype": "<i2", "values": 3}}


def test_numpy_tags_name_only_plain_dtypes() -> None:
    for dtype in ("O", "|O", "V8", "<U3", "numpy.float64", "f8,i4"):
        with pytest.raises(TaggedJSONError, match="dtype"):
            loads(json.dumps({"$ndarray": {"dtype": dtype, "shape": [1], "values": [1]}}))


def test_values_without_a_json_form_say_so() -> None:
    import pandas as pd

    with pytest.raises(TaggedJSONError, match=r"value\['df'\]: a pandas DataFrame"):
        to_json({"df": pd.DataFrame({"a": [1]})})

    class Color:
        pass

    with pytest.raises(TaggedJSONError, match=r"value\[0\]: .*Color has no JSON form"):
        to_json([Color()])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("NaN", "NaN is not JSON"),
        ('{"$tupel": [1]}', "'\\$tupel' is not a type tag"),
        ('{"$tuple": [1], "x": 2}', "is not a type tag here"),
        ('{"$bytes": "***"}', "not base64"),
        ('{"$set": [[1, 2]]}', "cannot be a set member"),
        ('{"$dict": [[[1], 2]]}', "cannot be a set member or dict key"),
        ('{"$dict": [[1]]}', "a \\[key, value\\] pair"),
        ('{"$int": "12x"}', "decimal digits"),
        ('{"$float": "1.5"}', '"nan", "inf" or "-inf"'),
        ('{"$decimal": "abc"}', "not a decimal"),
        ('{"$uuid": "nope"}', "badly formed"),
        ('{"$datetime": "2024-01-01T00:00[Mars/Base]"}', "unknown time zone"),
        ('{"$datetime": "2024-01-01T00:00+05:00[Europe/Paris]"}', "not one Europe/Paris has"),
        ('{"$datetime": "yesterday"}', "Invalid isoformat"),
        ('{"$timedelta": {"hours": 1}}', "days"),
        ('[1, {"a": {"$tuple": 3}}]', r"value\[1\]\['a'\]\['\$tuple'\]: expected an array"),
    ],
)
def test_bad_input_is_refused_naming_where(text: str, message: str) -> None:
    with pytest.raises(TaggedJSONError, match=message):
        loads(text)


_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.uuids()
    | st.dates()
    | st.datetimes(timezones=st.none() | st.just(dt.timezone.utc) | st.just(PARIS))
)
_hashable = _leaf.filter(lambda v: not isinstance(v, float) or v == v)
_values = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.sets(_hashable, max_size=4)
        | st.frozensets(_hashable, max_size=4)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(st.integers() | st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(_values)
def test_fuzzed_values_round_trip_to_the_same_bytes(value: Any) -> None:
    same_stored_bytes(value)
