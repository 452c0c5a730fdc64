"""Encoding of values to bytes and back: msgpack with a few extension types.

Why msgpack and not pickle: whoever can write to the Redis must never be able
to run code in our processes (pickle is remote code execution by design; see
CVE-2025-61765 in python-socketio). Decoding here only ever builds plain data
from a closed set of types: no class, function or module is ever looked up by
a name found in the bytes, and every name the bytes do carry (a time zone, a
numpy dtype, a pandas dtype) is checked against a whitelist before use.

Why extension types: users keep tuples, sets, datetimes, decimals, numpy
arrays and pandas frames in shared state, and msgpack alone silently turns
tuples into lists and fails on the rest without saying where. Every supported
type round-trips exactly, and anything else raises :class:`UnsupportedValue`
naming the path inside the value.

Why the encoding is canonical where it can be: a write whose bytes equal the
stored bytes is "no change" and reruns nobody, so equal values must encode to
equal bytes in every process (set iteration order depends on string hash
randomisation). Set members are therefore sorted by their encoded bytes.

Why containers are "tagged arrays" since format 2: format 1 stored a tuple as
an extension whose payload was another msgpack document, so decoding recursed
through Python once per level with ~40 KB of C stack each (msgpack's unpack
context lives on the C stack), and a 1.4 KB value nested 300 deep killed the
reading process with SIGSEGV. Format 2 writes a tuple, set, frozenset, numpy
array or pandas object as an ordinary msgpack array whose first element is an
empty marker extension; ``list_hook`` turns it into the real object as the C
unpacker closes the array. The unpacker keeps its own fixed stack of 1024
levels, so no input, however nested, recurses in C or in Python; deeper input
is refused by msgpack itself. The packer has the same 1024-level bound, so
encode refuses exactly what decode would refuse.

Format 1 blobs (tuples, sets and big ints written by older versions) still
decode: their nested payloads are read with heap-allocated unpackers and at
most :data:`LEGACY_MAX_DEPTH` levels of nesting. Both formats share one
grammar, because Redis lists grown with append hold item bodies written by
either version behind a single header (see :func:`list_blob`).

Layouts (ext code: payload), for docs/internals.md:

====  ======================  ===============================================
code  type                    layout
====  ======================  ===============================================
 1    tuple (format 1)        msgpack array (decode only)
 2/3  set/frozenset (fmt 1)   concatenated msgpack members (decode only)
 4    datetime.datetime       msgpack [isoformat, zone key or nil, fold]
 5    datetime.date           ASCII isoformat
 6    decimal.Decimal         ASCII str(value)
 7    uuid.UUID               16 raw bytes
 8    int beyond 64 bits (1)  ASCII decimal (decode only, <= 4300 digits)
 9    tuple                   marker: array [ext9, *items]
10    set                     marker: array [ext10, *members sorted by bytes]
11    frozenset               marker: array [ext11, *members sorted by bytes]
12    int beyond 64 bits      big-endian two's complement, bit_length//8+1 bytes
13    datetime.time           msgpack [isoformat, zone key or nil, fold]
14    datetime.timedelta      struct ">iII": days, seconds, microseconds
15    bytearray (top level)   raw bytes (nested ones are packed as bytes by msgpack)
16    numpy.ndarray           marker: array [ext16, dtype.str, shape, C bytes]
17    numpy scalar            marker: array [ext17, dtype.str, bytes]
18    pandas.DataFrame        marker: array [ext18, columns, [column...], index]
19    pandas.Series           marker: array [ext19, column, index, name]
20    pandas.Index            marker: array [ext20, index]
====  ======================  ===============================================

Markers have an empty payload and are valid only as the first element of an
array. ``column`` and ``index`` are the small descriptions documented at
:func:`_column` and :func:`_index`.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import struct
import sys
import uuid
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from itertools import islice
from typing import Any

import msgpack

from .errors import CorruptValue, UnsupportedValue, ValueTooLarge

# 0xc1 is the one byte msgpack never uses, so no msgpack document (and no
# text a person would SET by hand) can start with it. The second byte is the
# format version: 2 since tuples and sets became tagged arrays.
MAGIC = b"\xc1\x02"
MAGIC_V1 = b"\xc1\x01"
_HEADER_LEN = 2

#: Deepest nesting accepted, in msgpack containers, on encode and on decode.
#: It is msgpack's own bound (the C packer's recursion limit and the C
#: unpacker's fixed stack), so it costs nothing to enforce: a smaller one
#: would need a walk of every value on the write path. A list, tuple, dict,
#: set or frozenset is one level; a numpy array two; a pandas object up to
#: nine. Decoding never recurses; encoding at the limit recurses in msgpack's
#: C packer with about 0.5 MB of C stack (thread stacks are 8 MB by default).
MAX_DEPTH = 1024
#: Deepest nesting of format-1 tuple/set payloads inside each other. Each
#: level is a nested unpack costing about 4 KB of C stack, so 32 levels stay
#: within 128 KB, even in a thread with a small stack.
LEGACY_MAX_DEPTH = 32
#: Python's own bound for int <-> str conversions; Decimals obey it too, so a
#: stored Decimal can neither carry 10**9 digits nor turn ``int(d)`` or
#: ``f"{d:f}"`` into minutes of CPU.
MAX_DECIMAL_DIGITS = 4300
#: Largest |adjusted exponent| of a Decimal (see MAX_DECIMAL_DIGITS).
MAX_DECIMAL_EXPONENT = 4300
#: Most dimensions of a numpy array (numpy 1.x's own limit).
MAX_NDIM = 32
#: Longest pandas RangeIndex: it is lazy, so a few bytes could otherwise claim
#: 2**64 rows for a frame without columns.
MAX_RANGE_LEN = 2**32

_EXT_TUPLE_V1 = 1
_EXT_SET_V1 = 2
_EXT_FROZENSET_V1 = 3
_EXT_DATETIME = 4
_EXT_DATE = 5
_EXT_DECIMAL = 6
_EXT_UUID = 7
_EXT_BIGINT_V1 = 8
_EXT_TUPLE = 9
_EXT_SET = 10
_EXT_FROZENSET = 11
_EXT_BIGINT = 12
_EXT_TIME = 13
_EXT_TIMEDELTA = 14
_EXT_BYTEARRAY = 15
_EXT_NDARRAY = 16
_EXT_NPSCALAR = 17
_EXT_DATAFRAME = 18
_EXT_SERIES = 19
_EXT_INDEX = 20

SUPPORTED_TYPES = (
    "None, bool, int, float, str, bytes, bytearray, list, dict, tuple, set, frozenset, "
    "datetime.datetime, datetime.date, datetime.time, datetime.timedelta, "
    "decimal.Decimal, uuid.UUID, numpy arrays and scalars (bool, int, uint, float, "
    "complex, datetime64, timedelta64), pandas DataFrame, Series and Index"
)
_NUMPY_KINDS = "bool, int, uint, float, complex, datetime64 and timedelta64"

_TIMEDELTA = struct.Struct(">iII")


class _Unsupported(Exception):
    """Internal: raised while encoding; becomes UnsupportedValue with a path.

    ``reason`` replaces the generic "X is not supported" text and ``where``
    is appended to the path of the object (e.g. ``['col']`` inside a frame).
    """

    def __init__(self, obj: Any, reason: str | None = None, where: str = "") -> None:
        super().__init__(reason or type(obj).__qualname__)
        self.obj = obj
        self.reason = reason
        self.where = where


class _TooDeep(Exception):
    """Internal: the value nests deeper than MAX_DEPTH (found while sorting a set)."""


class _Tag:
    """The decoded form of a marker extension: the first element of a tagged array."""

    __slots__ = ("code",)

    def __init__(self, code: int) -> None:
        self.code = code


def _marker(code: int) -> msgpack.ExtType:
    """An empty extension of ``code``: the head of a tagged array (never a value on its own)."""
    return msgpack.ExtType(code, b"")


_TUPLE_MARK = _marker(_EXT_TUPLE)
_SET_MARK = _marker(_EXT_SET)
_FROZENSET_MARK = _marker(_EXT_FROZENSET)
_NDARRAY_MARK = _marker(_EXT_NDARRAY)
_NPSCALAR_MARK = _marker(_EXT_NPSCALAR)
_DATAFRAME_MARK = _marker(_EXT_DATAFRAME)
_SERIES_MARK = _marker(_EXT_SERIES)
_INDEX_MARK = _marker(_EXT_INDEX)


def _pack_plain(obj: Any) -> bytes:
    """Pack a small structure of plain msgpack types (ext payloads); no hooks."""
    packed: bytes = msgpack.packb(obj, strict_types=True, use_bin_type=True)
    return packed


def _unpack_plain(data: bytes) -> Any:
    """Unpack an ext payload written by :func:`_pack_plain`: no hooks, so no recursion.

    An extension inside comes back as an ``ExtType`` (or msgpack ``Timestamp``)
    object, which the callers' type checks then refuse.
    """
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


# --------------------------------------------------------------------------
# Scalars: encode
# --------------------------------------------------------------------------


def _zone_key(tz: Any) -> str | None:
    """The IANA key of a ZoneInfo (kept by name), else None (the offset is in the text)."""
    if isinstance(tz, zoneinfo.ZoneInfo):
        key = tz.key
        return key if isinstance(key, str) else None
    return None


def _enc_datetime(obj: _dt.datetime) -> msgpack.ExtType:
    """Format 1's layout, unchanged: ISO text keeps the offset, the zone key keeps DST rules."""
    payload = _pack_plain([obj.isoformat(), _zone_key(obj.tzinfo), obj.fold])
    return msgpack.ExtType(_EXT_DATETIME, payload)


def _enc_time(obj: _dt.time) -> msgpack.ExtType:
    """As a datetime: ISO text (with its offset), the ZoneInfo key when there is one, and fold."""
    payload = _pack_plain([obj.isoformat(), _zone_key(obj.tzinfo), obj.fold])
    return msgpack.ExtType(_EXT_TIME, payload)


def _enc_date(obj: _dt.date) -> msgpack.ExtType:
    """ISO text: readable in redis-cli and exact."""
    return msgpack.ExtType(_EXT_DATE, obj.isoformat().encode())


def _enc_timedelta(obj: _dt.timedelta) -> msgpack.ExtType:
    """The three normalised fields timedelta stores, fixed width."""
    return msgpack.ExtType(_EXT_TIMEDELTA, _TIMEDELTA.pack(obj.days, obj.seconds, obj.microseconds))


def _decimal_problem(value: Decimal) -> str | None:
    """Why ``value`` is outside the Decimals we store, or None (same rule on both sides)."""
    if value.is_finite():
        sign_digits_exp = value.as_tuple()
        if len(sign_digits_exp.digits) > MAX_DECIMAL_DIGITS:
            return f"Decimal with more than {MAX_DECIMAL_DIGITS} digits is not supported"
        if abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
            return f"Decimal with an exponent beyond +-{MAX_DECIMAL_EXPONENT} is not supported"
    elif len(value.as_tuple().digits) > MAX_DECIMAL_DIGITS:
        return f"Decimal NaN payload longer than {MAX_DECIMAL_DIGITS} digits is not supported"
    return None


def _enc_decimal(obj: Decimal) -> msgpack.ExtType:
    """``str(d)`` is exact (digits, exponent, sign, NaN payload); refused beyond the limits."""
    problem = _decimal_problem(obj)
    if problem is not None:
        raise _Unsupported(obj, problem)
    return msgpack.ExtType(_EXT_DECIMAL, str(obj).encode())


def _enc_uuid(obj: uuid.UUID) -> msgpack.ExtType:
    """The 16 raw bytes."""
    return msgpack.ExtType(_EXT_UUID, obj.bytes)


def _enc_bigint(obj: int) -> msgpack.ExtType:
    # Only reached for ints msgpack cannot hold natively. Bytes, not decimal
    # text: text stops at Python's 4300-digit int/str limit and is quadratic.
    """Two's complement bytes: linear both ways, and no 4300-digit limit."""
    return msgpack.ExtType(_EXT_BIGINT, obj.to_bytes(obj.bit_length() // 8 + 1, "big", signed=True))


def _enc_bytearray(obj: bytearray) -> msgpack.ExtType:
    """A bytearray is not bytes: it comes back mutable."""
    return msgpack.ExtType(_EXT_BYTEARRAY, bytes(obj))


_LEAF_ENCODERS: dict[type, Callable[[Any], Any]] = {
    _dt.datetime: _enc_datetime,
    _dt.date: _enc_date,
    _dt.time: _enc_time,
    _dt.timedelta: _enc_timedelta,
    Decimal: _enc_decimal,
    uuid.UUID: _enc_uuid,
    int: _enc_bigint,
    bytearray: _enc_bytearray,
}


# --------------------------------------------------------------------------
# numpy: encode (numpy is only ever imported by whoever made the value)
# --------------------------------------------------------------------------

# The dtypes that round-trip: fixed-size numbers and datetimes, either byte
# order. Not object (arbitrary Python objects), not strings or void/structured
# (their layout is a program), not longdouble (platform padding bytes).
_DTYPE_RE = re.compile(
    r"\|b1|\|[iu]1|[<>](?:[iu][248]|f[248]|c(?:8|16)"
    r"|[mM]8(?:\[(?:[1-9][0-9]{0,8})?(?:Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\])?)"
)


def _np_dtype_ok(descr: str) -> bool:
    """Whether a dtype string is in the whitelist (the one check for encode and decode)."""
    return _DTYPE_RE.fullmatch(descr) is not None


def _ndarray_to_list(np: Any, arr: Any) -> list[Any]:
    """The tagged array for an ndarray: dtype string (with byte order), shape, C-order bytes."""
    dtype = arr.dtype
    if not _np_dtype_ok(dtype.str):
        raise _Unsupported(
            arr, f"numpy array of dtype {dtype} is not supported (supported: {_NUMPY_KINDS})"
        )
    if arr.ndim > MAX_NDIM:
        raise _Unsupported(
            arr, f"numpy array with more than {MAX_NDIM} dimensions is not supported"
        )
    data = arr.tobytes()  # C order, contiguous, whatever the input's strides
    if len(data) >= 2**32:
        raise _Unsupported(arr, "numpy array of 4 GiB or more is not supported")
    return [_NDARRAY_MARK, dtype.str, list(arr.shape), data]


def _npscalar_to_list(np: Any, obj: Any) -> list[Any]:
    """The tagged array for a numpy scalar: it must come back as the same scalar type."""
    dtype = obj.dtype
    if not _np_dtype_ok(dtype.str):
        raise _Unsupported(
            obj, f"numpy scalar of dtype {dtype} is not supported (supported: {_NUMPY_KINDS})"
        )
    if np.dtype(dtype.str).type is not type(obj):
        # e.g. numpy.longlong, whose dtype string is the same as int64's
        canonical = np.dtype(dtype.str).type.__name__
        raise _Unsupported(
            obj, f"numpy.{type(obj).__name__} is not supported (use numpy.{canonical})"
        )
    return [_NPSCALAR_MARK, dtype.str, obj.tobytes()]


# --------------------------------------------------------------------------
# pandas: encode
# --------------------------------------------------------------------------
#
# A pandas object is written as a small description built from plain values
# and numpy arrays, never through pickle or Arrow IPC with pandas metadata
# (whose ``to_pandas`` can name extension dtypes to import). The decoder
# rebuilds it with a fixed set of constructors and checks every field.
#
# column (one 1-D array and its dtype):
#   ["np", ndarray]                      bool/int/uint/float/complex/M8/m8
#   ["obj", [value...]]                  object dtype: any codec values
#   ["str", storage, "nan"|"NA", [str or nil...]]    pandas StringDtype
#   ["masked", name, values ndarray, mask ndarray]   Int8..UInt64, Float32/64, boolean
#   ["dttz", M8 ndarray of UTC wall times, tz]       datetime64[unit, tz]
#   ["cat", codes ndarray, categories index, ordered]
# tz: ["zone", key] (zoneinfo) | ["utc"] | ["fixed", microseconds]
# index:
#   ["range", start, stop, step, name]
#   ["index", column, name, freq or nil]
#   ["multi", [index...], [codes ndarray...], [name...]]

_MASKED_NP = {
    "Int8": "int8",
    "Int16": "int16",
    "Int32": "int32",
    "Int64": "int64",
    "UInt8": "uint8",
    "UInt16": "uint16",
    "UInt32": "uint32",
    "UInt64": "uint64",
    "Float32": "float32",
    "Float64": "float64",
    "boolean": "bool",
}
_FREQ_RE = re.compile(r"[A-Za-z0-9\-]{1,24}")
_PANDAS_NOTE = (
    "supported: numpy bool/int/uint/float/complex, datetime64 (naive or with a zoneinfo/"
    "UTC/fixed-offset tz), timedelta64, str/string, object, category, and the nullable "
    "Int*/UInt*/Float*/boolean dtypes"
)

# (obj, path suffix) pairs collected while describing a pandas object, so the
# error path can name a bad cell or name: value['df']['col'].iloc[3]
_Free = list[tuple[Any, str]]


def _tz_to_list(tz: Any) -> list[Any]:
    """A time zone as data: a ZoneInfo key, UTC or a fixed offset; anything else is refused."""
    key = _zone_key(tz)
    if key is not None:
        return ["zone", key]
    if tz is _dt.timezone.utc:
        return ["utc"]
    if type(tz) is _dt.timezone:
        offset = tz.utcoffset(None)
        if tz == _dt.timezone(offset) and tz.tzname(None) == _dt.timezone(offset).tzname(None):
            return ["fixed", offset // _dt.timedelta(microseconds=1)]
    raise _Unsupported(
        tz,
        f"time zone {tz!r} ({type(tz).__qualname__}) is not supported "
        "(use a zoneinfo.ZoneInfo, UTC or a fixed offset)",
    )


def _column(pd: Any, np: Any, obj: Any, free: _Free | None, where: str) -> list[Any]:
    """Describe the values of a Series or Index (see the table above)."""
    dtype = obj.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind == "O":
            values = obj.to_numpy().tolist()
            if free is not None:
                free.extend((v, f"{where}.iloc[{i}]") for i, v in enumerate(values))
            return ["obj", values]
        arr = obj.to_numpy()
        if dtype.kind not in "biufcmM" or not _np_dtype_ok(arr.dtype.str):
            raise _Unsupported(obj, f"dtype {dtype} is not supported ({_PANDAS_NOTE})", where)
        return ["np", arr]
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = pd.DatetimeIndex(obj).tz_convert(None).to_numpy()
        try:
            tz = _tz_to_list(dtype.tz)
        except _Unsupported as exc:
            raise _Unsupported(obj, exc.reason, where) from None
        return ["dttz", utc, tz]
    if isinstance(dtype, pd.CategoricalDtype):
        cat = obj.array
        cats = cat.categories
        if isinstance(cats.dtype, pd.CategoricalDtype):
            raise _Unsupported(obj, "categories that are themselves categorical", where)
        return [
            "cat",
            np.asarray(cat.codes),
            _index(pd, np, cats, free, f"{where}.cat.categories"),
            bool(cat.ordered),
        ]
    if isinstance(dtype, pd.StringDtype):
        storage = dtype.storage
        na = dtype.na_value
        if na is pd.NA:
            na_kind = "NA"
        elif isinstance(na, float) and math.isnan(na):
            na_kind = "nan"
        else:
            raise _Unsupported(obj, f"dtype {dtype!r} is not supported ({_PANDAS_NOTE})", where)
        if storage not in ("python", "pyarrow"):
            raise _Unsupported(obj, f"dtype {dtype!r} is not supported ({_PANDAS_NOTE})", where)
        missing = np.asarray(obj.isna()).tolist()
        values = obj.to_numpy(dtype=object).tolist()
        return [
            "str",
            storage,
            na_kind,
            [None if m else v for v, m in zip(values, missing, strict=True)],
        ]
    name = getattr(dtype, "name", None)
    if name in _MASKED_NP and isinstance(dtype, pd.api.extensions.ExtensionDtype):
        array = obj.array
        np_name = _MASKED_NP[name]
        values = array.to_numpy(dtype=np_name, na_value=False if np_name == "bool" else 0)
        return ["masked", name, values, np.asarray(array.isna())]
    raise _Unsupported(obj, f"dtype {dtype} is not supported ({_PANDAS_NOTE})", where)


def _freq_str(pd: Any, idx: Any) -> str | None:
    """A Datetime/TimedeltaIndex freq as its alias, if the alias reads back as the same offset."""
    freq = idx.freq
    if freq is None:
        return None
    text: str = idx.freqstr
    ok = isinstance(text, str) and _FREQ_RE.fullmatch(text) is not None
    if not ok or pd.tseries.frequencies.to_offset(text) != freq:
        raise _Unsupported(idx, f"freq {freq!r} cannot be stored (set .freq = None first)", ".freq")
    return text


def _index(pd: Any, np: Any, idx: Any, free: _Free | None, where: str) -> list[Any]:
    """Describe an Index (see the table above)."""
    t = type(idx)
    if t is pd.RangeIndex:
        if len(idx) > MAX_RANGE_LEN:
            raise _Unsupported(
                idx, f"RangeIndex longer than {MAX_RANGE_LEN:,} is not supported", where
            )
        if free is not None:
            free.append((idx.name, f"{where}.name"))
        return ["range", idx.start, idx.stop, idx.step, idx.name]
    if t is pd.MultiIndex:
        levels = []
        for i, level in enumerate(idx.levels):
            if type(level) is pd.MultiIndex:  # pragma: no cover - pandas forbids it
                raise _Unsupported(idx, "nested MultiIndex", where)
            levels.append(_index(pd, np, level.rename(None), free, f"{where}.levels[{i}]"))
        names = list(idx.names)
        if free is not None:
            free.extend((n, f"{where}.names[{i}]") for i, n in enumerate(names))
        return ["multi", levels, [np.asarray(c) for c in idx.codes], names]
    if t in (pd.Index, pd.DatetimeIndex, pd.TimedeltaIndex, pd.CategoricalIndex):
        freq = _freq_str(pd, idx) if t in (pd.DatetimeIndex, pd.TimedeltaIndex) else None
        if free is not None:
            free.append((idx.name, f"{where}.name"))
        return ["index", _column(pd, np, idx, free, where), idx.name, freq]
    raise _Unsupported(idx, f"{t.__qualname__} is not supported", where)


def _check_flags(obj: Any) -> None:
    """Refuse what we would silently drop: ``attrs`` and the duplicate-labels flag."""
    if obj.attrs:
        raise _Unsupported(obj, "pandas .attrs are not stored (clear them first)", ".attrs")
    if not obj.flags.allows_duplicate_labels:
        raise _Unsupported(obj, "flags.allows_duplicate_labels=False is not stored", ".flags")


def _pandas_to_list(pd: Any, np: Any, obj: Any, free: _Free | None) -> list[Any] | None:
    """The tagged array for a pandas DataFrame/Series/Index, or None if ``obj`` is none."""
    t = type(obj)
    if t is pd.DataFrame:
        _check_flags(obj)
        columns = []
        for i, label in enumerate(obj.columns):
            where = f"[{_short(label)}]"
            columns.append(_column(pd, np, obj.iloc[:, i], free, where))
        return [
            _DATAFRAME_MARK,
            _index(pd, np, obj.columns, free, ".columns"),
            columns,
            _index(pd, np, obj.index, free, ".index"),
        ]
    if t is pd.Series:
        _check_flags(obj)
        if free is not None:
            free.append((obj.name, ".name"))
        return [
            _SERIES_MARK,
            _column(pd, np, obj, free, ""),
            _index(pd, np, obj.index, free, ".index"),
            obj.name,
        ]
    if t in (pd.Index, pd.RangeIndex, pd.DatetimeIndex, pd.TimedeltaIndex) or t in (
        pd.CategoricalIndex,
        pd.MultiIndex,
    ):
        return [_INDEX_MARK, _index(pd, np, obj, free, "")]
    return None


def _foreign_to_list(obj: Any, free: _Free | None = None) -> list[Any]:
    """numpy and pandas values, recognised without importing either.

    Only types whose module is already loaded can be met (someone made the
    value), so ``sys.modules`` is consulted instead of importing.
    """
    t = type(obj)
    module = t.__module__
    if module == "numpy" or module.startswith("numpy."):
        np = sys.modules.get("numpy")
        if np is not None:
            if t is np.ndarray:
                return _ndarray_to_list(np, obj)
            if isinstance(obj, np.generic):
                return _npscalar_to_list(np, obj)
    elif module == "pandas" or module.startswith("pandas."):
        pd = sys.modules.get("pandas")
        np = sys.modules.get("numpy")
        if pd is not None and np is not None:
            described = _pandas_to_list(pd, np, obj, free)
            if described is not None:
                return described
    raise _Unsupported(obj)


# --------------------------------------------------------------------------
# The encoder
# --------------------------------------------------------------------------


class _NeedsSets(Exception):
    """Internal: the value holds a set; encode again with an _Encoder, which sorts sets."""


def _default(obj: Any) -> Any:
    """msgpack's ``default`` hook for values without sets (no per-call state: the hot path)."""
    t = type(obj)
    if t is tuple:
        return [_TUPLE_MARK, *obj]
    if t is set or t is frozenset:
        raise _NeedsSets
    encoder = _LEAF_ENCODERS.get(t)
    if encoder is not None:
        return encoder(obj)
    return _foreign_to_list(obj)


class _Encoder:
    """msgpack's ``default`` hook, with the per-call memory that sets need.

    A set's members are sorted by their encoded bytes; a frozenset inside a
    set would be sorted again each time an enclosing set computed its sort
    keys (exponential in the nesting, and recursive). Each set is sorted once
    per encode, innermost first, without recursion, and remembered by id.
    """

    __slots__ = ("sets",)

    def __init__(self) -> None:
        self.sets: dict[int, tuple[Any, list[Any]]] = {}

    def pack(self, obj: Any) -> bytes:
        """Pack ``obj`` with this encoder's memory of sorted sets."""
        packed: bytes = msgpack.packb(
            obj, default=self.default, strict_types=True, use_bin_type=True
        )
        return packed

    def default(self, obj: Any) -> Any:
        """As :func:`_default`, sets included."""
        t = type(obj)
        if t is tuple:
            return [_TUPLE_MARK, *obj]
        if t is set or t is frozenset:
            return self._sorted_set(obj)
        encoder = _LEAF_ENCODERS.get(t)
        if encoder is not None:
            return encoder(obj)
        return _foreign_to_list(obj)

    def _sorted_set(self, obj: Any) -> list[Any]:
        """The tagged array of a set, members in the order of their encoded bytes."""
        done = self.sets.get(id(obj))
        if done is not None:
            return done[1]
        # Post-order over the tuples and frozensets reachable from obj, so
        # every inner set is sorted (and remembered) before its container:
        # sorting then packs members whose inner sets are memo hits, and no
        # call ever recurses.
        post: list[Any] = []
        seen: set[int] = set()
        pending: list[tuple[Any, int, bool]] = [(obj, 1, False)]
        while pending:
            node, depth, expanded = pending.pop()
            if expanded:
                post.append(node)
                continue
            if depth > MAX_DEPTH:
                raise _TooDeep
            if id(node) in seen or id(node) in self.sets:
                continue
            seen.add(id(node))
            pending.append((node, depth, True))
            for child in node:
                if type(child) is tuple or type(child) is frozenset:
                    pending.append((child, depth + 1, False))
        for node in post:
            t = type(node)
            if t is tuple:
                continue
            mark = _SET_MARK if t is set else _FROZENSET_MARK
            self.sets[id(node)] = (node, [mark, *sorted(node, key=self.pack)])
        return self.sets[id(obj)][1]


def encode(value: Any, *, max_bytes: int | None = None, key: str | None = None) -> bytes:
    """Encode ``value`` to bytes, or raise a typed error and encode nothing.

    Raises :class:`UnsupportedValue` naming the offending path (an
    unsupported type, a dtype outside the whitelist, nesting deeper than
    :data:`MAX_DEPTH`), and :class:`ValueTooLarge` when the result exceeds
    ``max_bytes``.
    """
    if type(value) is bytearray:
        # msgpack packs a bytearray natively, as bytes, without asking ``default``;
        # only the value itself can be caught without walking every value.
        value = _enc_bytearray(value)
    try:
        try:
            body: bytes = msgpack.packb(
                value, default=_default, strict_types=True, use_bin_type=True
            )
        except _NeedsSets:
            body = _Encoder().pack(value)
    except Exception as exc:  # _Unsupported, msgpack's depth ValueError, numpy/pandas errors
        raise UnsupportedValue(_explain(value, exc)) from None
    blob = MAGIC + body
    if max_bytes is not None and len(blob) > max_bytes:
        where = f" for key {key!r}" if key is not None else ""
        raise ValueTooLarge(
            f"the value{where} encodes to {len(blob):,} bytes, over the limit of "
            f"{max_bytes:,} (configure(max_value_bytes=...) to raise it)"
        )
    return blob


# --------------------------------------------------------------------------
# Finding what could not be encoded (error path only)
# --------------------------------------------------------------------------

_PLAIN = (type(None), bool, float, bytes, int)
#: Levels a numpy/pandas value takes below its own (for the depth message).
_LEAF_HEIGHT = {_EXT_NDARRAY: 1, _EXT_NPSCALAR: 0}
_PANDAS_HEIGHT = 8
_PANDAS_CELL_DEPTH = 4


def _short(obj: Any) -> str:
    """A bounded description of a key or member for a path: never a deep repr."""
    t = type(obj)
    if t is int and obj.bit_length() > 64:
        return f"<int of {obj.bit_length()} bits>"
    if t in (list, tuple, dict, set, frozenset, bytearray):
        return f"<{t.__qualname__} of {len(obj)}>"
    try:
        text = repr(obj)
    except Exception:
        return f"<{t.__qualname__}>"
    return text if len(text) <= 60 else text[:45] + "..." + text[-10:]


def _clip(path: str) -> str:
    """Keep a path readable when the value is very deep."""
    return path if len(path) <= 200 else path[:120] + " ... " + path[-60:]


def _explain(value: Any, exc: BaseException) -> str:
    """The message for a refused value: where, and why."""
    try:
        found = _locate(value)
    except Exception:  # pragma: no cover - belt and braces: never mask the refusal
        found = None
    if found is not None:
        path, reason = found
        return f"{_clip(path)}: {reason}"
    if isinstance(exc, _Unsupported):
        return f"value: {exc.reason or _generic(exc.obj)}"
    if isinstance(exc, _TooDeep) or "recursion limit" in str(exc):
        return f"value: nested deeper than {MAX_DEPTH} levels, which is not supported"
    return f"value cannot be encoded: {type(exc).__name__}: {str(exc)[:200]}"


def _generic(obj: Any) -> str:
    """The message for a type the codec does not know."""
    return (
        f"{type(obj).__qualname__} is not supported (supported: {SUPPORTED_TYPES}; "
        "convert it, e.g. a dataclass with dataclasses.asdict)"
    )


def _locate(value: Any) -> tuple[str, str] | None:
    """Walk ``value`` the way the encoder does and return (path, reason) of the first problem.

    Iterative with an explicit stack, so neither a deep value nor a cycle can
    make it raise RecursionError. Only called on the error path, so the fast
    path pays nothing for good messages.
    """
    # (object, path, depth): depth is the level the object occupies if it is a container
    stack: list[tuple[Any, str, int]] = [(value, "value", 1)]
    while stack:
        obj, path, depth = stack.pop()
        t = type(obj)
        if t is list or t is tuple:
            if depth > MAX_DEPTH:
                return path, f"nested deeper than {MAX_DEPTH} levels, which is not supported"
            stack.extend(
                (item, f"{path}[{i}]", depth + 1) for i, item in reversed(list(enumerate(obj)))
            )
        elif t is dict:
            if depth > MAX_DEPTH:
                return path, f"nested deeper than {MAX_DEPTH} levels, which is not supported"
            for k, v in reversed(list(obj.items())):
                stack.append((v, f"{path}[{_short(k)}]", depth + 1))
                stack.append((k, f"{path} key {_short(k)}", depth + 1))
        elif t is set or t is frozenset:
            if depth > MAX_DEPTH:
                return path, f"nested deeper than {MAX_DEPTH} levels, which is not supported"
            stack.extend((item, f"{path}{{{_short(item)}}}", depth + 1) for item in obj)
        elif t is str:
            try:
                obj.encode("utf-8")
            except UnicodeEncodeError:
                return path, "str with a lone surrogate is not supported (not valid UTF-8)"
        elif t in _PLAIN:
            continue
        else:
            found = _locate_leaf(obj, path, depth, stack)
            if found is not None:
                return found
    return None


def _locate_leaf(
    obj: Any, path: str, depth: int, stack: list[tuple[Any, str, int]]
) -> tuple[str, str] | None:
    """Check one non-container leaf; queue what a pandas object embeds (cells, names)."""
    encoder = _LEAF_ENCODERS.get(type(obj))
    free: _Free = []
    try:
        out = encoder(obj) if encoder is not None else _foreign_to_list(obj, free)
    except _Unsupported as exc:
        where = path + exc.where
        if exc.reason is not None:
            return where, exc.reason
        return where, _generic(exc.obj)
    except Exception as exc:
        return path, f"{type(obj).__qualname__} cannot be encoded: {type(exc).__name__}: {exc}"
    if isinstance(out, list):
        head = out[0]
        height = _LEAF_HEIGHT.get(head.code, _PANDAS_HEIGHT)
        if depth + height > MAX_DEPTH:
            return path, f"nested deeper than {MAX_DEPTH} levels, which is not supported"
        stack.extend((v, path + where, depth + _PANDAS_CELL_DEPTH) for v, where in reversed(free))
    return None


# --------------------------------------------------------------------------
# Decode
# --------------------------------------------------------------------------


class _Corrupt(ValueError):
    """Internal: a field of a known structure has the wrong shape or value."""


def _expect(condition: bool, what: str) -> None:
    """Raise _Corrupt (a ValueError, hence CorruptValue) when a field is malformed."""
    if not condition:
        raise _Corrupt(what)


# IANA zone keys: letters, digits, '_', '-', '+', separated by single '/'; no
# '.', so no '..' component, and no leading '/': zoneinfo can only open files
# inside the time zone database. zoneinfo checks this too; we do not rely on it.
_ZONE_RE = re.compile(r"[A-Za-z0-9_+\-]{1,40}(?:/[A-Za-z0-9_+\-]{1,40}){0,3}")


def _zone(key: Any) -> zoneinfo.ZoneInfo:
    """A ZoneInfo from a key found in the data, after checking the key's shape."""
    _expect(type(key) is str and _ZONE_RE.fullmatch(key) is not None, f"bad zone name {key!r:.80}")
    return zoneinfo.ZoneInfo(key)


def _iso_fields(data: bytes) -> tuple[str, zoneinfo.ZoneInfo | None, int]:
    """The [isoformat, zone, fold] payload of datetime/time, checked field by field."""
    fields = _unpack_plain(data)
    _expect(type(fields) is list and len(fields) == 3, "bad date/time payload")
    iso, zone, fold = fields
    _expect(type(iso) is str and len(iso) <= 64, "bad isoformat text")
    _expect(type(fold) is int and fold in (0, 1), "fold must be 0 or 1")
    return iso, (None if zone is None else _zone(zone)), fold


# CPython's fromisoformat reads "+00:00:00.000001" as UTC (the microseconds of
# an offset are dropped when its h:m:s are zero); such offsets are read here.
_TINY_OFFSET_RE = re.compile(r"([+-])00:00:00\.([0-9]{6})\Z")


def _tz_from_text(iso: str, zone: zoneinfo.ZoneInfo | None) -> _dt.tzinfo | None:
    """The tzinfo to put on a parsed value, when fromisoformat's own is not right."""
    if zone is not None:
        return zone
    tiny = _TINY_OFFSET_RE.search(iso)
    if tiny is not None and int(tiny.group(2)):
        micros = int(tiny.group(2)) * (-1 if tiny.group(1) == "-" else 1)
        return _dt.timezone(_dt.timedelta(microseconds=micros))
    return None


def _dec_datetime(data: bytes) -> _dt.datetime:
    """Inverse of _enc_datetime (also reads format 1)."""
    iso, zone, fold = _iso_fields(data)
    value = _dt.datetime.fromisoformat(iso)
    tz = _tz_from_text(iso, zone)
    if tz is not None:
        value = value.replace(tzinfo=tz)
    return value.replace(fold=fold)


def _dec_time(data: bytes) -> _dt.time:
    """Inverse of _enc_time."""
    iso, zone, fold = _iso_fields(data)
    value = _dt.time.fromisoformat(iso)
    tz = _tz_from_text(iso, zone)
    if tz is not None:
        value = value.replace(tzinfo=tz)
    return value.replace(fold=fold)


def _dec_date(data: bytes) -> _dt.date:
    """Inverse of _enc_date."""
    _expect(len(data) <= 16, "date text too long")
    return _dt.date.fromisoformat(data.decode("ascii"))


def _dec_decimal(data: bytes) -> Decimal:
    # the longest str() of an allowed Decimal: digits, sign, point, exponent
    """Inverse of _enc_decimal; the length is checked before parsing."""
    _expect(len(data) <= MAX_DECIMAL_DIGITS + 32, "Decimal text too long")
    value = Decimal(data.decode("ascii"))
    problem = _decimal_problem(value)
    _expect(problem is None, problem or "")
    return value


def _dec_uuid(data: bytes) -> uuid.UUID:
    """Inverse of _enc_uuid."""
    _expect(len(data) == 16, "UUID must be 16 bytes")
    return uuid.UUID(bytes=data)


_BIGINT_V1_RE = re.compile(rb"-?[0-9]{1,4300}")


def _dec_bigint_v1(data: bytes) -> int:
    # int() on long text is quadratic: Python's own 4300-digit limit, checked first
    """Format 1's decimal text, read only: int() on long text is quadratic, so check first."""
    _expect(_BIGINT_V1_RE.fullmatch(data) is not None, "bad integer text")
    return int(data)


def _dec_bigint(data: bytes) -> int:
    """Inverse of _enc_bigint."""
    _expect(len(data) > 0, "empty integer")
    return int.from_bytes(data, "big", signed=True)


def _dec_timedelta(data: bytes) -> _dt.timedelta:
    """Inverse of _enc_timedelta; fields outside timedelta's normal form are damage."""
    _expect(len(data) == _TIMEDELTA.size, "bad timedelta payload")
    days, seconds, micros = _TIMEDELTA.unpack(data)
    _expect(seconds < 86400 and micros < 1_000_000, "timedelta fields out of range")
    return _dt.timedelta(days=days, seconds=seconds, microseconds=micros)


def _dec_bytearray(data: bytes) -> bytearray:
    """Inverse of _enc_bytearray."""
    return bytearray(data)


_LEAF_DECODERS: dict[int, Callable[[bytes], Any]] = {
    _EXT_DATETIME: _dec_datetime,
    _EXT_DATE: _dec_date,
    _EXT_DECIMAL: _dec_decimal,
    _EXT_UUID: _dec_uuid,
    _EXT_BIGINT_V1: _dec_bigint_v1,
    _EXT_BIGINT: _dec_bigint,
    _EXT_TIME: _dec_time,
    _EXT_TIMEDELTA: _dec_timedelta,
    _EXT_BYTEARRAY: _dec_bytearray,
}
_TAGS = {
    code: _Tag(code)
    for code in (
        _EXT_TUPLE,
        _EXT_SET,
        _EXT_FROZENSET,
        _EXT_NDARRAY,
        _EXT_NPSCALAR,
        _EXT_DATAFRAME,
        _EXT_SERIES,
        _EXT_INDEX,
    )
}

# A msgpack Timestamp (ext -1) is decoded inside msgpack's C code and never
# reaches ext_hook (no unpacker option turns it into an error). Its header is
# fixext 4/8 (d6 ff, d7 ff) or ext 8/16/32 of length 12 (.. 0c ff); bytes
# without such a pair cannot hold one, and the decode skips the slow check.


def _may_hold_timestamp(blob: bytes) -> bool:
    """Whether ``blob`` holds bytes that could be the header of a msgpack Timestamp.

    Costs one memchr for most values (no 0xff byte at all). Otherwise it looks
    at the first few occurrences of each header's first byte (memchr again),
    and falls back to a substring search (about 1 ns a byte, stopping at the
    first hit) only when that byte is frequent. A false "maybe" costs a
    slower decode, never a wrong one.
    """
    if blob.find(b"\xff") < 0:
        return False
    for header in _TIMESTAMP_HEADERS:
        lead = header[:1]
        at = blob.find(lead)
        seen = 0
        while at != -1:
            if blob.startswith(header, at):
                return True
            seen += 1
            if seen > 64:
                if header in blob:
                    return True
                break
            at = blob.find(lead, at + 1)
    return False


_TIMESTAMP_HEADERS = (
    b"\xd6\xff",  # fixext 4
    b"\xd7\xff",  # fixext 8
    b"\xc7\x0c\xff",  # ext 8, length 12
    b"\xc8\x00\x0c\xff",  # ext 16, length 12
    b"\xc9\x00\x00\x00\x0c\xff",  # ext 32, length 12
)


class _Decoder:
    """The hooks of one decode: marker bookkeeping and format-1 nesting depth.

    ``marks`` counts markers produced minus markers consumed as the head of an
    array: anything left over is a marker somewhere else (a map key, the
    middle of an array), which is damage. ``careful`` is set when the bytes
    may hold a msgpack Timestamp: every container is then checked for one.
    """

    __slots__ = ("careful", "legacy_depth", "marks")

    def __init__(self, careful: bool) -> None:
        self.marks = 0
        self.legacy_depth = 0
        self.careful = careful

    def unpack(self, body: Any) -> Any:
        value = msgpack.unpackb(
            body,
            raw=False,
            strict_map_key=False,
            ext_hook=self.ext_hook,
            list_hook=self.list_hook,
            object_hook=self.check_map if self.careful else None,
        )
        if self.marks:
            raise _Corrupt("a type marker outside the head of an array")
        if self.careful and type(value) is msgpack.Timestamp:
            raise _Corrupt("a msgpack Timestamp, which this codec never writes")
        return value

    def ext_hook(self, code: int, data: bytes) -> Any:
        tag = _TAGS.get(code)
        if tag is not None:
            _expect(not data, "marker with a payload")
            _expect(self.legacy_depth == 0, "format-2 marker inside a format-1 payload")
            self.marks += 1
            return tag
        decoder = _LEAF_DECODERS.get(code)
        if decoder is not None:
            return decoder(data)
        if code in (_EXT_TUPLE_V1, _EXT_SET_V1, _EXT_FROZENSET_V1):
            return self._legacy(code, data)
        raise _Corrupt(f"unknown extension type {code}")

    def list_hook(self, items: list[Any]) -> Any:
        if self.careful:
            for item in items:
                _expect(type(item) is not msgpack.Timestamp, "a msgpack Timestamp")
        if items and type(items[0]) is _Tag:
            self.marks -= 1
            return _BUILDERS[items[0].code](items)
        return items

    def check_map(self, mapping: dict[Any, Any]) -> dict[Any, Any]:
        for k, v in mapping.items():
            _expect(
                type(k) is not msgpack.Timestamp and type(v) is not msgpack.Timestamp,
                "a msgpack Timestamp",
            )
        return mapping

    def _legacy(self, code: int, data: bytes) -> Any:
        """Format 1 tuple/set payloads: nested msgpack, read with bounded depth.

        An ``Unpacker`` keeps its parse stack on the heap (``unpackb`` keeps
        ~40 KB of it on the C stack), and the depth is capped, so hostile
        nesting costs neither a crash nor a RecursionError. Its length limits
        are the payload's size, so a claimed 4G-item array fails at once.
        """
        _expect(self.legacy_depth < LEGACY_MAX_DEPTH, "format-1 tuples/sets nested too deep")
        self.legacy_depth += 1
        try:
            unpacker = msgpack.Unpacker(
                raw=False,
                strict_map_key=False,
                ext_hook=self.ext_hook,
                list_hook=self.list_hook,
                object_hook=self.check_map if self.careful else None,
                max_buffer_size=max(len(data), 1),
            )
            unpacker.feed(data)
            if code == _EXT_TUPLE_V1:
                items = unpacker.unpack()
                _expect(type(items) is list, "format-1 tuple payload is not an array")
                members: Any = tuple(items)
            else:
                found = list(unpacker)
                if self.careful:
                    for member in found:
                        _expect(type(member) is not msgpack.Timestamp, "a msgpack Timestamp")
                members = set(found) if code == _EXT_SET_V1 else frozenset(found)
            # iteration stops quietly at a truncated member: every byte must be used
            _expect(unpacker.tell() == len(data), "format-1 payload truncated or padded")
            return members
        finally:
            self.legacy_depth -= 1


def _untagged_ext_hook(code: int, data: bytes) -> Any:
    """ext_hook for bytes that hold no marker (see decode): no per-call state to set up."""
    decoder = _LEAF_DECODERS.get(code)
    if decoder is not None:
        return decoder(data)
    if code in (_EXT_TUPLE_V1, _EXT_SET_V1, _EXT_FROZENSET_V1):
        return _Decoder(careful=False).ext_hook(code, data)
    _expect(code not in _TAGS, "marker with a payload")
    raise _Corrupt(f"unknown extension type {code}")


def _build_tuple(items: list[Any]) -> tuple[Any, ...]:
    """[marker, *items] -> tuple."""
    return tuple(islice(items, 1, None))


def _build_set(items: list[Any]) -> set[Any]:
    """[marker, *members] -> set (an unhashable member raises: damage)."""
    return set(islice(items, 1, None))


def _build_frozenset(items: list[Any]) -> frozenset[Any]:
    """[marker, *members] -> frozenset."""
    return frozenset(islice(items, 1, None))


def _numpy() -> Any:
    """numpy, imported when the first array or numpy scalar is decoded."""
    import numpy  # lazily: only values that hold arrays pay for it

    return numpy


def _pandas() -> Any:
    """pandas, imported when the first DataFrame/Series/Index is decoded."""
    import pandas  # type: ignore[import-untyped]  # lazily, as numpy

    return pandas


def _np_dtype(np: Any, descr: Any) -> Any:
    """The numpy dtype for a description from the data, checked against the whitelist first."""
    _expect(type(descr) is str and _np_dtype_ok(descr), f"dtype {descr!r:.40} not allowed")
    dtype = np.dtype(descr)
    _expect(dtype.str == descr, f"dtype {descr!r} is not in canonical form")
    return dtype


def _check_bools(dtype: Any, data: bytes) -> None:
    """Bool bytes other than 0/1 would make arrays that compare oddly: damage."""
    if dtype.kind == "b":
        _expect(not data.translate(None, b"\x00\x01"), "bool bytes other than 0 and 1")


def _build_ndarray(items: list[Any]) -> Any:
    """[marker, dtype, shape, data] -> ndarray, validated before numpy sees anything."""
    _expect(len(items) == 4, "ndarray: wrong field count")
    _, descr, shape, data = items
    np = _numpy()
    dtype = _np_dtype(np, descr)
    _expect(type(shape) is list and len(shape) <= MAX_NDIM, "ndarray: bad shape")
    count = 1
    for n in shape:
        _expect(type(n) is int and 0 <= n < 2**62, "ndarray: bad dimension")
        count *= n
    _expect(type(data) is bytes, "ndarray: data is not bytes")
    _expect(count * dtype.itemsize == len(data), "ndarray: data length != shape x itemsize")
    _check_bools(dtype, data)
    # a writable copy that owns its memory, as the array that was stored
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _build_npscalar(items: list[Any]) -> Any:
    """[marker, dtype, data] -> numpy scalar, validated like an array."""
    _expect(len(items) == 3, "numpy scalar: wrong field count")
    _, descr, data = items
    np = _numpy()
    dtype = _np_dtype(np, descr)
    _expect(type(data) is bytes and len(data) == dtype.itemsize, "numpy scalar: bad data")
    _check_bools(dtype, data)
    return np.frombuffer(data, dtype=dtype)[0]


# ----- pandas: decode ------------------------------------------------------


def _label(value: Any) -> Any:
    """A name or label from the data: any decoded value pandas can hash."""
    try:
        hash(value)
    except TypeError:
        raise _Corrupt("a pandas name is not hashable") from None
    return value


def _ndarray_field(np: Any, value: Any, kinds: str) -> Any:
    """A field that must be a 1-D array (already built and checked) of one of ``kinds``."""
    _expect(
        type(value) is np.ndarray and value.ndim == 1 and value.dtype.kind in kinds,
        f"expected a 1-D numpy array of kind {kinds!r}",
    )
    return value


def _tz(value: Any) -> _dt.tzinfo:
    """Inverse of _tz_to_list."""
    _expect(type(value) is list and len(value) >= 1, "bad tz")
    kind = value[0]
    if kind == "zone" and len(value) == 2:
        return _zone(value[1])
    if kind == "utc" and len(value) == 1:
        return _dt.timezone.utc
    if kind == "fixed" and len(value) == 2:
        micros = value[1]
        _expect(type(micros) is int and abs(micros) < 86_400_000_000, "bad fixed offset")
        return _dt.timezone(_dt.timedelta(microseconds=micros))
    raise _Corrupt("bad tz")


def _build_column(pd: Any, np: Any, desc: Any, level: int = 0) -> tuple[str, Any]:
    """(kind, array) from a column description; ``level`` bounds categories-in-categories."""
    _expect(type(desc) is list and len(desc) >= 2 and type(desc[0]) is str, "bad column")
    kind = desc[0]
    if kind == "np" and len(desc) == 2:
        return kind, _ndarray_field(np, desc[1], "biufcmM")
    if kind == "obj" and len(desc) == 2:
        values = desc[1]
        _expect(type(values) is list, "bad object column")
        # fromiter stores each value as one element (np.array would unpack sequences)
        return kind, np.fromiter(values, dtype=object, count=len(values))
    if kind == "str" and len(desc) == 4:
        _, storage, na_kind, values = desc
        _expect(storage in ("python", "pyarrow") and na_kind in ("NA", "nan"), "bad string dtype")
        _expect(type(values) is list, "bad string column")
        for v in values:
            _expect(v is None or type(v) is str, "string column holds a non-string")
        dtype = pd.StringDtype(storage) if na_kind == "NA" else pd.StringDtype(storage, np.nan)
        return kind, pd.array(values, dtype=dtype)
    if kind == "masked" and len(desc) == 4:
        _, name, values, mask = desc
        _expect(type(name) is str and name in _MASKED_NP, "bad nullable dtype")
        values = _ndarray_field(np, values, "biuf")
        mask = _ndarray_field(np, mask, "b")
        _expect(values.dtype == np.dtype(_MASKED_NP[name]) and values.dtype.isnative, "bad values")
        _expect(len(values) == len(mask), "mask length differs")
        if name == "boolean":
            return kind, pd.arrays.BooleanArray(values, mask)
        if name.startswith("Float"):
            return kind, pd.arrays.FloatingArray(values, mask)
        return kind, pd.arrays.IntegerArray(values, mask)
    if kind == "dttz" and len(desc) == 3:
        values = _ndarray_field(np, desc[1], "M")
        tz = _tz(desc[2])
        return kind, pd.DatetimeIndex(values).tz_localize("UTC").tz_convert(tz).array
    if kind == "cat" and len(desc) == 4 and level == 0:
        _, codes, categories, ordered = desc
        codes = _ndarray_field(np, codes, "i")
        _expect(type(ordered) is bool, "bad ordered flag")
        cats = _build_index(pd, np, categories, level + 1)
        dtype = pd.CategoricalDtype(cats, ordered=ordered)
        return kind, pd.Categorical.from_codes(codes, dtype=dtype)
    raise _Corrupt(f"bad column kind {kind!r:.20}")


def _build_index(pd: Any, np: Any, desc: Any, level: int = 0) -> Any:
    """An Index from its description; ``level`` bounds nesting (levels, categories)."""
    _expect(type(desc) is list and len(desc) >= 1, "bad index")
    kind = desc[0]
    if kind == "range" and len(desc) == 5:
        _, start, stop, step, name = desc
        for n in (start, stop, step):
            _expect(type(n) is int and -(2**63) <= n < 2**63, "bad range")
        _expect(step != 0, "range step 0")
        # lazy, so a few bytes could claim 2**64 rows: as many as anything can hold
        _expect(len(range(start, stop, step)) <= MAX_RANGE_LEN, "range too long")
        return pd.RangeIndex(start, stop, step, name=_label(name))
    if kind == "index" and len(desc) == 4:
        _, column, name, freq = desc
        col_kind, values = _build_column(pd, np, column, level)
        name = _label(name)
        if freq is not None:
            _expect(type(freq) is str and _FREQ_RE.fullmatch(freq) is not None, "bad freq")
            offset = pd.tseries.frequencies.to_offset(freq)
            if col_kind == "np" and values.dtype.kind == "m":
                return pd.TimedeltaIndex(values, freq=offset, name=name)
            _expect(col_kind in ("np", "dttz"), "freq on a non-datetime index")
            return pd.DatetimeIndex(values, freq=offset, name=name)
        if col_kind == "obj":
            return pd.Index(values, dtype=object, name=name, tupleize_cols=False)
        return pd.Index(values, name=name, copy=False)
    if kind == "multi" and len(desc) == 4 and level == 0:
        _, levels, codes, names = desc
        _expect(type(levels) is list and type(codes) is list and type(names) is list, "bad multi")
        _expect(len(levels) == len(codes) == len(names) >= 1, "bad multi")
        return pd.MultiIndex(
            levels=[_build_index(pd, np, lv, level + 1) for lv in levels],
            codes=[_ndarray_field(np, c, "i") for c in codes],
            names=[_label(n) for n in names],
            verify_integrity=True,
        )
    raise _Corrupt(f"bad index kind {kind!r:.20}")


def _series_of(pd: Any, kind: str, values: Any, index: Any, name: Any) -> Any:
    """A Series that keeps the object dtype when the column was object."""
    if kind == "obj":  # pandas would infer a str dtype from an object array of strings
        return pd.Series(values, index=index, name=name, dtype=object, copy=False)
    return pd.Series(values, index=index, name=name, copy=False)


def _build_dataframe(items: list[Any]) -> Any:
    """[marker, columns, [column...], index] -> DataFrame, every length checked first."""
    _expect(len(items) == 4, "DataFrame: wrong field count")
    _, columns_desc, column_descs, index_desc = items
    pd, np = _pandas(), _numpy()
    columns = _build_index(pd, np, columns_desc)
    index = _build_index(pd, np, index_desc)
    _expect(type(column_descs) is list and len(column_descs) == len(columns), "column count")
    data = {}
    for i, desc in enumerate(column_descs):
        kind, values = _build_column(pd, np, desc)
        _expect(len(values) == len(index), "column length differs from the index")
        data[i] = _series_of(pd, kind, values, index, None)
    frame = pd.DataFrame(data, index=index, copy=False)
    frame.columns = columns
    return frame


def _build_series(items: list[Any]) -> Any:
    """[marker, column, index, name] -> Series."""
    _expect(len(items) == 4, "Series: wrong field count")
    _, column, index_desc, name = items
    pd, np = _pandas(), _numpy()
    kind, values = _build_column(pd, np, column)
    index = _build_index(pd, np, index_desc)
    _expect(len(values) == len(index), "Series length differs from its index")
    return _series_of(pd, kind, values, index, _label(name))


def _build_pd_index(items: list[Any]) -> Any:
    """[marker, index] -> Index."""
    _expect(len(items) == 2, "Index: wrong field count")
    return _build_index(_pandas(), _numpy(), items[1])


_BUILDERS: dict[int, Callable[[list[Any]], Any]] = {
    _EXT_TUPLE: _build_tuple,
    _EXT_SET: _build_set,
    _EXT_FROZENSET: _build_frozenset,
    _EXT_NDARRAY: _build_ndarray,
    _EXT_NPSCALAR: _build_npscalar,
    _EXT_DATAFRAME: _build_dataframe,
    _EXT_SERIES: _build_series,
    _EXT_INDEX: _build_pd_index,
}


def _where(key: str | None) -> str:
    """How a message names what was read."""
    return f"key {key!r}" if key is not None else "the value"


def decode(blob: bytes, *, key: str | None = None) -> Any:
    """Decode bytes written by :func:`encode` (format 2 or 1).

    Foreign or damaged bytes raise CorruptValue naming ``key``, whatever they
    hold: no input crashes the process, recurses, or allocates much more than
    its own size.
    """
    header = blob[:_HEADER_LEN]
    if header != MAGIC and header != MAGIC_V1:
        if header[:1] == MAGIC[:1] and len(header) == _HEADER_LEN:
            raise CorruptValue(
                f"{_where(key)} holds format {header[1]} of streamlit_redis_state, which this "
                "version cannot read (written by a newer version?)"
            )
        raise CorruptValue(
            f"{_where(key)} holds {len(blob)} bytes that were not written by "
            "streamlit_redis_state (wrong header); delete or overwrite the key"
        )
    # bytes.find is a memchr: the common case pays four scans and no hooks
    careful = blob.find(b"\xff") >= 0 and _may_hold_timestamp(blob)
    body = memoryview(blob)[_HEADER_LEN:]
    try:
        if careful or blob.find(b"\xc7") >= 0 or blob.find(b"\xc8") >= 0 or blob.find(b"\xc9") >= 0:
            return _Decoder(careful).unpack(body)
        # A marker is an empty extension, which only ext 8/16/32 (c7/c8/c9)
        # can hold: without those bytes there is no tagged array to build, so
        # no list_hook to call for every list.
        return msgpack.unpackb(body, raw=False, strict_map_key=False, ext_hook=_untagged_ext_hook)
    except Exception as exc:  # msgpack, numpy and pandas raise many types on garbage
        raise CorruptValue(f"{_where(key)} holds damaged data: {_why(exc)}") from None


def _why(exc: Exception) -> str:
    """A short reason for a CorruptValue message, without internal class names."""
    if isinstance(exc, _Corrupt):
        return str(exc)[:200]
    if isinstance(exc, msgpack.StackError):
        return f"nested deeper than {MAX_DEPTH} levels"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def join_items(item_blobs: list[bytes], key: str | None = None) -> tuple[bytes, int]:
    """The bodies of encoded items, concatenated, and their count (for list values).

    Items of either format may share one list (appended before and after an
    upgrade): both decode with the same grammar.
    """
    for i, blob in enumerate(item_blobs):
        head = blob[:_HEADER_LEN]
        if head != MAGIC and head != MAGIC_V1:
            raise CorruptValue(
                f"{_where(key)}: list item {i} was not written by streamlit_redis_state"
            )
    return b"".join(b[_HEADER_LEN:] for b in item_blobs), len(item_blobs)


def list_blob(bodies: bytes, count: int) -> bytes:
    """A blob that decodes to the list of ``count`` items whose bodies are ``bodies``.

    Lets an appended list be stored item by item, yet read, cached and
    decoded as one value, and extended without re-encoding what is there.
    The Lua scripts build the same bytes (``list_blob`` in _prelude.lua) and
    must use the same MAGIC.
    """
    header: bytes = msgpack.Packer().pack_array_header(count)
    return MAGIC + header + bodies


__all__ = [
    "LEGACY_MAX_DEPTH",
    "MAGIC",
    "MAGIC_V1",
    "MAX_DEPTH",
    "SUPPORTED_TYPES",
    "decode",
    "encode",
    "join_items",
    "list_blob",
]
