"""Codec: exact round trips, canonical bytes, and errors that name the path."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlit_redis_state.base import codec
from streamlit_redis_state.base.errors import CorruptValue, UnsupportedValue, ValueTooLarge

VALUES = [
    None,
    True,
    False,
    0,
    -1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    2**64,
    -(2**200),
    1.5,
    float("inf"),
    "",
    "héllo",
    b"",
    b"\x00\xff",
    [],
    [1, [2, [3]]],
    {},
    {"a": {"b": [1, 2]}},
    (),
    (1, "a", (2,)),
    {1, 2, "x"},
    set(),
    frozenset({"a", (1, 2)}),
    dt.datetime(2024, 5, 1, 12, 30, 5, 123456),
    dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc),
    dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
    dt.datetime(2024, 10, 27, 2, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"), fold=1),
    dt.date(1999, 12, 31),
    Decimal("1.10"),
    Decimal("-0"),
    Decimal("NaN"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    {1: "int key", (1, 2): "tuple key", None: "none key", "s": {frozenset({1})}},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_round_trip_is_exact(value: object) -> None:
    back = codec.decode(codec.encode(value))
    if isinstance(value, Decimal) and value.is_nan():
        assert back.is_nan()
        return
    assert back == value
    assert type(back) is type(value)
    if isinstance(value, dt.datetime):
        assert back.tzinfo == value.tzinfo or back.utcoffset() == value.utcoffset()
        assert back.fold == value.fold


def test_nested_types_survive() -> None:
    value = {"t": [(1, {2}), frozenset({(3, 4)})]}
    back = codec.decode(codec.encode(value))
    assert back == value
    assert type(back["t"][0]) is tuple and type(back["t"][0][1]) is set


def test_zoneinfo_is_kept_by_name() -> None:
    value = dt.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    back = codec.decode(codec.encode(value))
    assert back.tzinfo == zoneinfo.ZoneInfo("America/New_York")


def test_equal_sets_encode_to_equal_bytes() -> None:
    a = {"x" + str(i) for i in range(50)}
    b = set(sorted(a, reverse=True))
    assert codec.encode(a) == codec.encode(b)


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    pass


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"user": {"prefs": [1, Color.RED]}}, "value['user']['prefs'][1]: Color is not supported"),
        ([Name("x")], "value[0]: Name is not supported"),
        ({"a": object()}, "value['a']: object is not supported"),
        ((1, (2, dt.time(1))), "value[1][1]: time is not supported"),
        ({Color.RED: 1}, "value key <Color.RED: 1>: Color is not supported"),
    ],
)
def test_unsupported_values_name_the_path(value: object, message: str) -> None:
    with pytest.raises(UnsupportedValue) as err:
        codec.encode(value)
    assert message in str(err.value)
    assert isinstance(err.value, TypeError)


def test_size_limit() -> None:
    with pytest.raises(ValueTooLarge, match=r"key 'big' encodes to .* over the limit of 1,000"):
        codec.encode("x" * 2000, max_bytes=1000, key="big")
    codec.encode("x" * 900, max_bytes=1000)


@pytest.mark.parametrize(
    "blob",
    [b"", b"hello", b"\x80\x04pickle", codec.MAGIC + b"\xc1", codec.MAGIC + b"\xc7\x01\x63x"],
)
def test_foreign_or_damaged_bytes_raise_corrupt_value(blob: bytes) -> None:
    with pytest.raises(CorruptValue, match="key 'k'"):
        codec.decode(blob, key="k")


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.dates(),
    st.uuids(),
    st.decimals(allow_nan=False),
)
hashable = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.binary())
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=5), children, max_size=4),
        st.sets(hashable, max_size=4),
        st.frozensets(hashable, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_fuzz_round_trip(value: object) -> None:
    assert codec.decode(codec.encode(value)) == value


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_garbage_never_escapes_as_other_errors(data: bytes) -> None:
    try:
        codec.decode(codec.MAGIC + data)
    except CorruptValue:
        pass
