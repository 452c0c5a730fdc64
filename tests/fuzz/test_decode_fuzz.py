"""decode() on hostile bytes: CorruptValue or a value of the closed set of types, and nothing else.

Never a crash (the crash cases proper run in subprocesses, test_crash_cases.py),
never a hang (time_limit), never an allocation far beyond the input's size.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from streamlit_redis_state.base import codec
from streamlit_redis_state.base.errors import CorruptValue, UnsupportedValue, ValueTooLarge
from tests.fuzz.common import FUZZ, closed_types, fewer, time_limit, values

HEADERS = st.sampled_from([codec.MAGIC, codec.MAGIC_V1])
VALUES = values()


def decode_or_corrupt(blob: bytes) -> Any:
    """Decode; the only failure allowed is CorruptValue, and what decodes must re-encode."""
    with time_limit(10):
        try:
            value = codec.decode(blob, key="fuzz")
        except CorruptValue as exc:
            assert "key 'fuzz'" in str(exc)
            return None
        assert closed_types(value), f"decoded a type outside the closed set: {value!r:.200}"
        try:
            codec.encode(value)
        except (UnsupportedValue, ValueTooLarge):
            pass  # e.g. format-1 nesting deeper than format 2 accepts
    return value


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    decode_or_corrupt(data)


@FUZZ
@given(HEADERS, st.binary(max_size=400))
def test_header_then_arbitrary_bytes(header: bytes, data: bytes) -> None:
    decode_or_corrupt(header + data)


# -- msgpack documents that look like ours ------------------------------------------

MARKER_CODES = [9, 10, 11, 16, 17, 18, 19, 20]
EXT_CODES = [0, *range(1, 21), 21, 99, 127]  # ExtType takes 0..127; ext -1 below
DTYPES = ["|b1", "|i1", "<i8", ">f4", "<c16", "<M8[ns]", ">m8[s]", "|O", "<U2", "=i8", "<f16", "V8"]
KINDS = [
    "np",
    "obj",
    "str",
    "masked",
    "dttz",
    "cat",
    "range",
    "index",
    "multi",
    "zone",
    "utc",
    "fixed",
]
NAMES = [
    "python",
    "pyarrow",
    "NA",
    "nan",
    "Int64",
    "Float32",
    "boolean",
    "Europe/Berlin",
    "../x",
    "D",
    "2h",
]


def _payloads() -> st.SearchStrategy[bytes]:
    packed_fields = st.lists(
        st.one_of(
            st.none(),
            st.integers(-3, 3),
            st.booleans(),
            st.sampled_from(["2024-01-01T00:00:00", "12:00", "2024-02-30", "UTC", "../etc/passwd"]),
            st.text(max_size=6),
        ),
        max_size=4,
    ).map(lambda v: msgpack.packb(v, use_bin_type=True))
    return st.one_of(
        st.binary(max_size=20),
        packed_fields,
        st.sampled_from([b"", b"1.5", b"-12", b"NaN", b"2024-01-01", b"\x00" * 12, b"\x00" * 16]),
    )


def _leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),
        st.floats(),
        st.text(max_size=6),
        st.binary(max_size=24),
        st.builds(msgpack.ExtType, st.sampled_from(EXT_CODES), _payloads()),
        st.sampled_from(MARKER_CODES).map(lambda c: msgpack.ExtType(c, b"")),
        st.builds(msgpack.Timestamp, st.integers(-(2**40), 2**40), st.integers(0, 999_999_999)),
        st.sampled_from(DTYPES + KINDS + NAMES),
        st.lists(st.integers(-2, 5), max_size=3),  # shapes
    )


def _documents() -> st.SearchStrategy[Any]:
    keys = st.one_of(st.none(), st.integers(-3, 300), st.text(max_size=4))
    return st.recursive(
        _leaves(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(keys, inner, max_size=4),
            # a tagged array: a marker at the head, anything after it
            st.tuples(st.sampled_from(MARKER_CODES), st.lists(inner, max_size=5)).map(
                lambda t: [msgpack.ExtType(t[0], b""), *t[1]]
            ),
            # a description of a pandas part: a kind, then anything
            st.tuples(st.sampled_from(KINDS), st.lists(inner, max_size=4)).map(
                lambda t: [t[0], *t[1]]
            ),
        ),
        max_leaves=25,
    )


DOCUMENTS = _documents()


@FUZZ
@given(HEADERS, DOCUMENTS)
def test_documents_built_from_our_pieces(header: bytes, document: Any) -> None:
    decode_or_corrupt(header + msgpack.packb(document, use_bin_type=True))


def _mutate(blob: bytes, data: st.DataObject) -> bytes:
    out = bytearray(blob)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "set", "cut", "insert", "delete", "dup"]))
        if len(out) <= 2:
            break
        at = data.draw(st.integers(2, len(out) - 1))
        if op == "flip":
            out[at] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set":
            out[at] = data.draw(st.sampled_from([0x00, 0x7F, 0xC1, 0xC7, 0xD6, 0xDC, 0xDD, 0xFF]))
        elif op == "cut":
            del out[at:]
        elif op == "insert":
            out[at:at] = data.draw(st.binary(min_size=1, max_size=5))
        elif op == "delete":
            del out[at : at + data.draw(st.integers(1, 8))]
        else:
            end = data.draw(st.integers(at, len(out)))
            out[end:end] = out[at:end]
    return bytes(out)


@FUZZ
@given(VALUES, st.data())
def test_damaged_encodings_of_real_values(value: Any, data: st.DataObject) -> None:
    decode_or_corrupt(_mutate(codec.encode(value), data))


def _allocation_bound(size: int) -> int:
    # msgpack preallocates each array it is told about, bounded by the input
    # length, at each of up to 1024 levels: 8 bytes x size x levels, plus the
    # fixed cost of building pandas objects.
    return 16 * size * min(size, 1024) + 8 * 2**20


@fewer(4)
@given(
    st.one_of(
        st.binary(max_size=400).map(lambda b: codec.MAGIC + b),
        st.tuples(HEADERS, DOCUMENTS).map(lambda t: t[0] + msgpack.packb(t[1], use_bin_type=True)),
    )
)
def test_allocations_stay_near_the_input_size(blob: bytes) -> None:
    tracemalloc.start()
    try:
        decode_or_corrupt(blob)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= _allocation_bound(len(blob)), f"{peak:,} bytes for {len(blob)} input bytes"
