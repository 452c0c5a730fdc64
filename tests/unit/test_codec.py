"""Codec: exact round trips, canonical bytes, errors that name the path, hostile bytes.

numpy and pandas values are in test_codec_types.py; Hypothesis fuzzing and
the crash cases (run in subprocesses) are in tests/fuzz.
"""

from __future__ import annotations

import datetime as dt
import enum
import subprocess
import sys
import time
import uuid
import zoneinfo
from decimal import Decimal
from pathlib import Path

import msgpack
import pytest

from streamlit_redis_state.base import codec
from streamlit_redis_state.base.errors import CorruptValue, UnsupportedValue, ValueTooLarge

ROOT = Path(__file__).resolve().parents[2]
M = codec.MAGIC
M1 = codec.MAGIC_V1

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
    -(2**63) - 1,
    -(2**200),
    10**5000,  # beyond Python's 4300-digit int/str limit
    -(10**5000) + 7,
    1.5,
    float("inf"),
    -0.0,
    "",
    "héllo",
    b"",
    b"\x00\xff",
    bytearray(b"ab\x00"),
    bytearray(),
    [],
    [1, [2, [3]]],
    {},
    {"a": {"b": [1, 2]}},
    (),
    (1, "a", (2,)),
    ((),),
    {1, 2, "x"},
    set(),
    frozenset(),
    frozenset({"a", (1, 2)}),
    dt.datetime(2024, 5, 1, 12, 30, 5, 123456),
    dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc),
    dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
    dt.datetime(2024, 10, 27, 2, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"), fold=1),
    dt.date(1999, 12, 31),
    dt.time(0),
    dt.time(23, 59, 59, 999999),
    dt.time(1, 2, 3, tzinfo=dt.timezone.utc),
    dt.time(1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45))),
    dt.time(2, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"), fold=1),
    dt.time(0, tzinfo=dt.timezone(dt.timedelta(microseconds=1))),  # fromisoformat reads UTC
    dt.datetime(2024, 1, 1, tzinfo=dt.timezone(-dt.timedelta(microseconds=7))),
    dt.timedelta(0),
    dt.timedelta(days=-1, microseconds=1),
    dt.timedelta(days=3, seconds=7, microseconds=11),
    dt.timedelta.max,
    dt.timedelta.min,
    Decimal("1.10"),
    Decimal("-0"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    Decimal("1e4300"),
    Decimal("1e-4300"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    {1: "int key", (1, 2): "tuple key", None: "none key", "s": {frozenset({1})}},
]


def _same(a: object, b: object) -> bool:
    """Equal value and the same type, all the way down (NaN Decimal equals itself)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal) and a.is_nan():
        return b.is_nan() and str(a) == str(b)  # type: ignore[attr-defined]
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=False))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[call-overload,index]
    if isinstance(a, float):
        return repr(a) == repr(b)  # keeps -0.0 apart from 0.0
    if isinstance(a, (dt.datetime, dt.time)):
        return a == b and a.tzinfo == b.tzinfo and a.fold == b.fold  # type: ignore[attr-defined]
    return a == b


def _id(value: object) -> str:
    if type(value) is int and value.bit_length() > 64:
        return f"int of {value.bit_length()} bits"
    return repr(value)[:40]


@pytest.mark.parametrize("value", VALUES, ids=_id)
def test_round_trip_is_exact(value: object) -> None:
    blob = codec.encode(value)
    back = codec.decode(blob)
    assert _same(back, value)
    assert codec.encode(back) == blob


def test_nested_types_survive() -> None:
    value = {"t": [(1, {2}), frozenset({(3, frozenset({4}))})], "d": {(1, (2,)): [set()]}}
    back = codec.decode(codec.encode(value))
    assert back == value
    assert type(back["t"][0]) is tuple and type(back["t"][0][1]) is set
    assert type(back["t"][1]) is frozenset


def test_zoneinfo_is_kept_by_name() -> None:
    value = dt.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    back = codec.decode(codec.encode(value))
    assert back.tzinfo == zoneinfo.ZoneInfo("America/New_York")
    back_time = codec.decode(codec.encode(value.timetz()))
    assert back_time.tzinfo is zoneinfo.ZoneInfo("America/New_York")


def test_equal_sets_encode_to_equal_bytes() -> None:
    a = {"x" + str(i) for i in range(50)}
    b = set(sorted(a, reverse=True))
    assert codec.encode(a) == codec.encode(b)
    nested_a = frozenset({frozenset(a), ("t", frozenset(b)), 1})
    nested_b = frozenset({1, ("t", frozenset(a)), frozenset(b)})
    assert codec.encode(nested_a) == codec.encode(nested_b)


_HASHSEED_SCRIPT = """
import sys, types
pkg = types.ModuleType("streamlit_redis_state")
pkg.__path__ = [sys.argv[1] + "/streamlit_redis_state"]
sys.modules["streamlit_redis_state"] = pkg
from streamlit_redis_state.base import codec
value = {"s": {"a%d" % i for i in range(40)}, "f": frozenset({("x", frozenset({"p", "q", "r"}))})}
sys.stdout.write(codec.encode(value).hex())
"""


def test_set_bytes_do_not_depend_on_hash_randomisation() -> None:
    outs = {
        subprocess.run(
            [sys.executable, "-c", _HASHSEED_SCRIPT, str(ROOT)],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1


# Format pins: what encode writes must not change by accident (stored blobs
# and byte-equality change detection depend on it).
FORMAT_2 = {
    "tuple": ((1, "a", (2,)), "c10294c7000901a16192c7000902"),
    "set": ({1, 2, "x"}, "c10294c7000a0102a178"),
    "frozenset": ({"s": frozenset({"a", (1, 2)})}, "c10281a17393c7000b93c700090102a161"),
    "bigint": (-(2**200), "c102c71a0cff" + "00" * 25),
    "datetime": (
        dt.datetime(2024, 10, 27, 2, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"), fold=1),
        "c102c72a0493b9323032342d31302d32375430323a33303a30302b30313a3030ad4575726f70652f4265726c696e01",
    ),
    "time": (dt.time(1, 2, 3, 4), "c102c7130d93af30313a30323a30332e303030303034c000"),
    "timedelta": (
        dt.timedelta(days=-1, seconds=2, microseconds=3),
        "c102c70c0effffffff0000000200000003",
    ),
    "bytearray": (bytearray(b"ab"), "c102d50f6162"),
}


@pytest.mark.parametrize("name", FORMAT_2)
def test_format_2_bytes_are_pinned(name: str) -> None:
    value, hex_blob = FORMAT_2[name]
    assert codec.encode(value).hex() == hex_blob
    assert _same(codec.decode(bytes.fromhex(hex_blob)), value)


# Blobs written by format 1 (the previous codec), byte for byte.
FORMAT_1 = {
    "tuple": ("c101d7019301a161d5019102", (1, "a", (2,))),
    "set": ("c101d6020102a178", {1, 2, "x"}),
    "frozenset": ("c10181a173d703a161c70301920102", {"s": frozenset({"a", (1, 2)})}),
    "bigint": (
        "c101c73e082d31363036393338303434323538393930323735353431393632303932333431313632363032"
        "353232323032393933373832373932383335333031333736",
        -(2**200),
    ),
    "datetime": (
        "c101c72a0493b9323032342d31302d32375430323a33303a30302b30313a3030ad4575726f70652f4265726c696e01",
        dt.datetime(2024, 10, 27, 2, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"), fold=1),
    ),
    "mixed": (
        "c1018301a7696e74206b6579c70301920102a97475706c65206b6579c093c70a05313939392d31322d3331"
        "d606312e3130d80712345678123456781234567812345678",
        {
            1: "int key",
            (1, 2): "tuple key",
            None: [
                dt.date(1999, 12, 31),
                Decimal("1.10"),
                uuid.UUID("12345678-1234-5678-1234-567812345678"),
            ],
        },
    ),
}


@pytest.mark.parametrize("name", FORMAT_1)
def test_format_1_blobs_still_decode(name: str) -> None:
    hex_blob, value = FORMAT_1[name]
    assert _same(codec.decode(bytes.fromhex(hex_blob)), value)


def _v1(obj: object) -> bytes:
    """A format-1 body, as the previous codec wrote it (tuples and sets nest msgpack)."""

    def default(o: object) -> msgpack.ExtType:
        if type(o) is tuple:
            return msgpack.ExtType(1, _v1(list(o)))
        if type(o) in (set, frozenset):
            members = sorted(_v1(m) for m in o)  # type: ignore[attr-defined]
            return msgpack.ExtType(2 if type(o) is set else 3, b"".join(members))
        raise TypeError(o)

    packed: bytes = msgpack.packb(obj, default=default, strict_types=True, use_bin_type=True)
    return packed


def test_format_1_nesting_decodes_up_to_its_bound() -> None:
    value: object = "leaf"
    for i in range(codec.LEGACY_MAX_DEPTH):
        value = (value,) if i % 2 else frozenset({value})
    assert codec.decode(M1 + _v1(value)) == value
    with pytest.raises(CorruptValue, match=r"key 'k'.*nested too deep"):
        codec.decode(M1 + _v1((value,)), key="k")


def test_list_items_of_both_formats_join_into_one_list() -> None:
    old_items = [M1 + _v1((1, 2)), M1 + _v1({3})]
    new_items = [codec.encode((1, 2)), codec.encode([4, {5}])]
    bodies, count = codec.join_items(old_items + new_items)
    assert count == 4
    for header in (M, M1):  # the Lua scripts may still write the format-1 header
        blob = header + codec.list_blob(bodies, count)[len(M) :]
        assert codec.decode(blob) == [(1, 2), {3}, (1, 2), [4, {5}]]


def test_join_items_names_the_key() -> None:
    with pytest.raises(CorruptValue, match=r"key 'room': list item 1 was not written"):
        codec.join_items([codec.encode(1), b"junk"], key="room")
    with pytest.raises(CorruptValue, match=r"the value: list item 0"):
        codec.join_items([b""])


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
        ((1, (2, 3j)), "value[1][1]: complex is not supported"),
        ({Color.RED: 1}, "value key <Color.RED: 1>: Color is not supported"),
        ({"s": {2, Color.RED}}, "value['s']{<Color.RED: 1>}: Color is not supported"),
        ([{"k": "a\ud800b"}], "value[0]['k']: str with a lone surrogate is not supported"),
        ({"a\udfff": 1}, "value key 'a\\udfff': str with a lone surrogate"),
        ({"d": Decimal("1e999999999")}, "value['d']: Decimal with an exponent beyond"),
        ([Decimal("1" * 4301)], "value[0]: Decimal with more than 4300 digits"),
        ([[1], dt.tzinfo()], "value[1]: tzinfo is not supported"),
    ],
)
def test_unsupported_values_name_the_path(value: object, message: str) -> None:
    with pytest.raises(UnsupportedValue) as err:
        codec.encode(value)
    assert message in str(err.value)
    assert isinstance(err.value, TypeError)


def _nest(kind: str, depth: int) -> object:
    value: object = "leaf" if kind not in ("set", "frozenset") else 0
    for _ in range(depth):
        if kind == "list":
            value = [value]
        elif kind == "tuple":
            value = (value,)
        elif kind == "dict":
            value = {"k": value}
        elif kind == "frozenset":
            value = frozenset({value})
        else:  # alternate, so hashable all the way
            value = (value,) if isinstance(value, frozenset) else frozenset({value})
    return value


@pytest.mark.parametrize("kind", ["list", "tuple", "dict", "frozenset", "set"])
def test_nesting_is_bounded_on_encode_with_a_path(kind: str) -> None:
    ok = _nest(kind, codec.MAX_DEPTH)
    blob = codec.encode(ok)
    depth, value = 0, codec.decode(blob)
    while isinstance(value, (list, tuple, dict, frozenset)):
        value = value["k"] if isinstance(value, dict) else next(iter(value))
        depth += 1
    assert depth == codec.MAX_DEPTH
    for too_deep in (codec.MAX_DEPTH + 1, codec.MAX_DEPTH + 50):  # 100,000 deep: tests/fuzz
        with pytest.raises(UnsupportedValue) as err:
            codec.encode(_nest(kind, too_deep))
        message = str(err.value)
        assert message.startswith("value") and " ... " in message  # the path, clipped
        assert message.endswith(": nested deeper than 1024 levels, which is not supported")


def test_cycles_are_refused_not_recursed() -> None:
    a: list[object] = []
    a.append(a)
    d: dict[str, object] = {}
    d["self"] = [d]
    for value in (a, d):
        with pytest.raises(UnsupportedValue, match="nested deeper than 1024"):
            codec.encode(value)


def test_size_limit() -> None:
    with pytest.raises(ValueTooLarge, match=r"key 'big' encodes to .* over the limit of 1,000"):
        codec.encode("x" * 2000, max_bytes=1000, key="big")
    codec.encode("x" * 900, max_bytes=1000)


def _ext(code: int, data: bytes) -> bytes:
    packed: bytes = msgpack.packb(msgpack.ExtType(code, data))
    return packed


def _pk(obj: object) -> bytes:
    packed: bytes = msgpack.packb(obj, use_bin_type=True)
    return packed


def _nested_ext(code: int, depth: int, leaf: bytes) -> bytes:
    body = leaf
    for _ in range(depth):
        body = _ext(code, body)
    return body


# Each of these must raise CorruptValue naming the key, fast, whatever it holds.
HOSTILE = {
    "empty": b"",
    "not ours": b"hello",
    "pickle": b"\x80\x04pickle",
    "magic only": M,
    "format 9": b"\xc1\x09\x90",
    "never-used byte": M + b"\xc1",
    "truncated ext": M + b"\xc7\x01\x63x",
    "truncated str": M + b"\xdb\xff\xff\xff\xff",
    "claimed 4G array": M + b"\xdd\xff\xff\xff\xff",
    "claimed 4G map": M + b"\xdf\xff\xff\xff\xff",
    "claimed 4G bin": M + b"\xc6\xff\xff\xff\xff",
    "claimed 4G ext": M + b"\xc9\xff\xff\xff\xff\x09",
    "trailing bytes": M + b"\x01\x02",
    "unknown ext 99": M + _ext(99, b"x"),
    "msgpack timestamp 32": M + b"\xd6\xff" + b"\x00" * 4,
    "msgpack timestamp 64": M + b"\xd7\xff" + b"\x00" * 8,
    "msgpack timestamp 96": M + b"\xc7\x0c\xff" + b"\x00" * 12,
    "timestamp in a list": M + b"\x92\x01\xd6\xff" + b"\x00" * 4,
    "timestamp as a map value": M + b"\x81\x01\xd6\xff" + b"\x00" * 4,
    "timestamp as a map key": M + b"\x81\xd6\xff" + b"\x00" * 4 + b"\x01",
    "timestamp in a v1 set": M1 + _ext(2, b"\xd6\xff" + b"\x00" * 4),
    "timestamp in a v1 tuple": M1 + _ext(1, b"\x91\xd6\xff" + b"\x00" * 4),
    "timestamp in a tuple": M + b"\x92\xc7\x00\x09\xd6\xff" + b"\x00" * 4,
    "timestamp in a set": M + b"\x92\xc7\x00\x0a\xd6\xff" + b"\x00" * 4,
    "v1 set with claimed 100M-item array": M1 + _ext(2, b"\xdd\x05\xf5\xe0\xff"),
    "v1 set of a list (unhashable)": M1 + _ext(2, _pk([1])),
    "v1 set, truncated member": M1 + _ext(2, _pk(1) + b"\xa5ab"),
    "v1 tuple, trailing bytes": M1 + _ext(1, _pk([1]) + b"\x01"),
    "v1 tuple of a str": M1 + _ext(1, _pk("abc")),
    "v1 tuple-ext 3000 deep": M1 + _nested_ext(1, 3000, _pk(None)),
    "v1 set-ext 3000 deep": M1 + _nested_ext(3, 3000, _pk(1)),
    "v2 marker inside a v1 tuple": M1 + _ext(1, b"\x91\xc7\x00\x09"),
    "map with list key": M + b"\x81\x91\x01\x01",
    "set of a list": M + b"\x92\xc7\x00\x0a\x91\x01",
    "v1 bigint 10^5000": M1 + _ext(8, b"9" * 5000),
    "v1 bigint with spaces": M1 + _ext(8, b" 12"),
    "bigint empty": M + _ext(12, b""),
    "decimal 1e999999999": M + _ext(6, b"1e999999999"),
    "decimal 10^6 digits": M + _ext(6, b"1" * 1_000_000),
    "decimal junk": M + _ext(6, b"12abc"),
    "uuid 15 bytes": M + _ext(7, b"x" * 15),
    "date junk": M + _ext(5, b"2024-13-45"),
    "date very long": M + _ext(5, b"2" * 5000),
    "datetime not a list": M + _ext(4, _pk("2020-01-01")),
    "datetime iso not str": M + _ext(4, _pk([1, None, 0])),
    "datetime iso long": M + _ext(4, _pk(["2" * 5000, None, 0])),
    "datetime fold=7": M + _ext(4, _pk(["2020-01-01T00:00:00", None, 7])),
    "datetime fold True": M + _ext(4, _pk(["2020-01-01T00:00:00", None, True])),
    "datetime ext inside": M + _ext(4, _pk([msgpack.ExtType(4, b""), None, 0])),
    "zone ../../etc/passwd": M + _ext(4, _pk(["2020-01-01T00:00:00", "../../../../etc/passwd", 0])),
    "zone /etc/passwd": M + _ext(4, _pk(["2020-01-01T00:00:00", "/etc/passwd", 0])),
    "zone Europe/../../x": M + _ext(4, _pk(["2020-01-01T00:00:00", "Europe/../../x", 0])),
    "zone NUL": M + _ext(4, _pk(["2020-01-01T00:00:00", "UTC\x00", 0])),
    "zone unknown": M + _ext(4, _pk(["2020-01-01T00:00:00", "Mars/Olympus", 0])),
    "zone directory": M + _ext(4, _pk(["2020-01-01T00:00:00", "America", 0])),
    "zone not a tzfile": M + _ext(4, _pk(["2020-01-01T00:00:00", "leapseconds", 0])),
    "zone int": M + _ext(13, _pk(["01:00", 5, 0])),
    "time junk": M + _ext(13, _pk(["25:99", None, 0])),
    "timedelta short": M + _ext(14, b"\x00" * 11),
    "timedelta seconds out of range": M
    + _ext(14, b"\x00" * 4 + (86400).to_bytes(4, "big") + b"\x00" * 4),
    "timedelta days out of range": M + _ext(14, (2**31 - 1).to_bytes(4, "big") + b"\x00" * 8),
    "marker with payload": M + b"\x91\xd4\x09\x00",
    "marker alone": M + b"\xc7\x00\x09",
    "marker as map key": M + b"\x81\xc7\x00\x09\x01",
    "marker as map value": M + b"\x81\x01\xc7\x00\x09",
    "marker mid-array": M + b"\x92\x01\xc7\x00\x09",
    "two markers": M + b"\x92\xc7\x00\x09\xc7\x00\x0a",
    "marker with payload as fixext 1": M + b"\x92\xd4\x09\x00\x01",
    "nested arrays 100000 deep": M + b"\x91" * 100_000 + b"\xc0",
    "nested maps 100000 deep": M + b"\x81\x00" * 100_000 + b"\xc0",
    "nested tuples 100000 deep": M + b"\x92\xc7\x00\x09" * 100_000 + b"\xc0",
    "nested claims": M + (b"\xdd\x00\x01\x00\x00") * 1000,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_bytes_raise_corrupt_value_naming_the_key(name: str) -> None:
    start = time.monotonic()
    with pytest.raises(CorruptValue) as err:
        codec.decode(HOSTILE[name], key="k")
    assert "key 'k'" in str(err.value)
    assert len(str(err.value)) < 400
    assert time.monotonic() - start < 1.0


def test_nan_and_odd_but_valid_values_decode() -> None:
    assert repr(codec.decode(M + _pk(float("nan")))) == "nan"
    # a marker is any empty extension: ext 16 and ext 32 are read like ext 8
    assert codec.decode(M + b"\x92\xc8\x00\x00\x09\x01") == (1,)
    assert codec.decode(M + b"\x92\xc9\x00\x00\x00\x00\x0a\x01") == {1}
    assert codec.decode(M + _ext(12, b"\x00\x01")) == 1  # non-minimal, still an int
    assert codec.decode(M + _ext(6, b"1e4300")) == Decimal("1e4300")


def test_decode_error_message_hides_internals() -> None:
    with pytest.raises(CorruptValue) as err:
        codec.decode(HOSTILE["zone ../../etc/passwd"], key="k")
    assert "_Corrupt" not in str(err.value)
    assert "bad zone name" in str(err.value)
