"""Encoding of values to bytes and back: msgpack with a few extension types.

Why msgpack and not pickle: whoever can write to the Redis must never be able
to run code in our processes (pickle is remote code execution by design; see
CVE-2025-61765 in python-socketio). Decoding here only ever builds plain data.

Why extension types: users keep tuples, sets, datetimes, decimals and UUIDs in
shared state, and msgpack alone silently turns tuples into lists and fails on
the rest without saying where. Every supported type round-trips exactly, and
anything else raises :class:`UnsupportedValue` naming the path inside the
value.

Why the encoding is canonical where it can be: a write whose bytes equal the
stored bytes is "no change" and reruns nobody, so equal sets must encode to
equal bytes in every process (set iteration order depends on string hash
randomisation). Set members are therefore sorted by their encoded bytes.
"""

from __future__ import annotations

import datetime as _dt
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any

import msgpack

from .errors import CorruptValue, UnsupportedValue, ValueTooLarge

# 0xc1 is the one byte msgpack never uses, so no msgpack document (and no
# text a person would SET by hand) can start with it. The second byte is the
# format version.
MAGIC = b"\xc1\x01"

_EXT_TUPLE = 1
_EXT_SET = 2
_EXT_FROZENSET = 3
_EXT_DATETIME = 4
_EXT_DATE = 5
_EXT_DECIMAL = 6
_EXT_UUID = 7
_EXT_BIGINT = 8

SUPPORTED_TYPES = (
    "None, bool, int, float, str, bytes, list, dict, tuple, set, frozenset, "
    "datetime.datetime, datetime.date, decimal.Decimal, uuid.UUID"
)


class _Unsupported(Exception):
    """Internal: raised from the msgpack hook; turned into UnsupportedValue with a path."""


def _pack(obj: Any) -> bytes:
    packed: bytes = msgpack.packb(obj, default=_default, strict_types=True, use_bin_type=True)
    return packed


def _default(obj: Any) -> msgpack.ExtType:
    t = type(obj)
    if t is tuple:
        return msgpack.ExtType(_EXT_TUPLE, _pack(list(obj)))
    if t is set or t is frozenset:
        members = sorted(_pack(m) for m in obj)
        code = _EXT_SET if t is set else _EXT_FROZENSET
        return msgpack.ExtType(code, b"".join(members))
    if t is _dt.datetime:
        zone = obj.tzinfo.key if isinstance(obj.tzinfo, zoneinfo.ZoneInfo) else None
        return msgpack.ExtType(_EXT_DATETIME, _pack([obj.isoformat(), zone, obj.fold]))
    if t is _dt.date:
        return msgpack.ExtType(_EXT_DATE, obj.isoformat().encode())
    if t is Decimal:
        return msgpack.ExtType(_EXT_DECIMAL, str(obj).encode())
    if t is uuid.UUID:
        return msgpack.ExtType(_EXT_UUID, obj.bytes)
    if t is int:  # only reached for ints msgpack cannot hold natively
        return msgpack.ExtType(_EXT_BIGINT, str(obj).encode())
    raise _Unsupported(obj)


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _EXT_TUPLE:
        return tuple(_unpack(data))
    if code in (_EXT_SET, _EXT_FROZENSET):
        unpacker = msgpack.Unpacker(
            raw=False, ext_hook=_ext_hook, strict_map_key=False, use_list=True
        )
        unpacker.feed(data)
        members = list(unpacker)
        return set(members) if code == _EXT_SET else frozenset(members)
    if code == _EXT_DATETIME:
        iso, zone, fold = _unpack(data)
        value = _dt.datetime.fromisoformat(iso)
        if zone is not None:
            value = value.replace(tzinfo=zoneinfo.ZoneInfo(zone))
        return value.replace(fold=fold)
    if code == _EXT_DATE:
        return _dt.date.fromisoformat(data.decode())
    if code == _EXT_DECIMAL:
        return Decimal(data.decode())
    if code == _EXT_UUID:
        return uuid.UUID(bytes=data)
    if code == _EXT_BIGINT:
        text = data.decode()
        if len(text) > 5000:  # int() on huge strings is quadratic; refuse, don't hang
            raise ValueError("integer too long")
        return int(text)
    raise ValueError(f"unknown extension type {code}")


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, ext_hook=_ext_hook, strict_map_key=False)


def encode(value: Any, *, max_bytes: int | None = None, key: str | None = None) -> bytes:
    """Encode ``value`` to bytes, or raise a typed error and encode nothing.

    Raises :class:`UnsupportedValue` naming the offending path, and
    :class:`ValueTooLarge` when the result exceeds ``max_bytes``.
    """
    try:
        body = _pack(value)
    except _Unsupported:
        path, bad = _find_unsupported(value, "value")
        raise UnsupportedValue(
            f"{path}: {type(bad).__qualname__} is not supported "
            f"(supported: {SUPPORTED_TYPES}; convert it, e.g. a dataclass with "
            f"dataclasses.asdict)"
        ) from None
    except (ValueError, OverflowError) as exc:  # e.g. recursion / nesting too deep
        raise UnsupportedValue(f"value cannot be encoded: {exc}") from None
    blob = MAGIC + body
    if max_bytes is not None and len(blob) > max_bytes:
        where = f" for key {key!r}" if key is not None else ""
        raise ValueTooLarge(
            f"the value{where} encodes to {len(blob):,} bytes, over the limit of "
            f"{max_bytes:,} (configure(max_value_bytes=...) to raise it)"
        )
    return blob


def decode(blob: bytes, *, key: str | None = None) -> Any:
    """Decode bytes written by :func:`encode`; foreign or damaged bytes raise CorruptValue."""
    where = f"key {key!r}" if key is not None else "the value"
    if not blob.startswith(MAGIC):
        raise CorruptValue(
            f"{where} holds {len(blob)} bytes that were not written by "
            "streamlit_redis_state (wrong header); delete or overwrite the key"
        )
    try:
        return _unpack(blob[len(MAGIC) :])
    except Exception as exc:  # msgpack raises many types on garbage
        raise CorruptValue(f"{where} holds damaged data: {type(exc).__name__}: {exc}") from None


_PLAIN = (type(None), bool, float, str, bytes)


def _find_unsupported(obj: Any, path: str) -> tuple[str, Any]:
    """Walk ``obj`` the way the encoder does and return the first unsupported leaf.

    Only called on the error path, so the fast path pays nothing for good messages.
    """
    t = type(obj)
    if t in _PLAIN or t in (_dt.datetime, _dt.date, Decimal, uuid.UUID, int):
        return ("", None)
    if t is list or t is tuple:
        for i, item in enumerate(obj):
            found = _find_unsupported(item, f"{path}[{i}]")
            if found[0]:
                return found
        return ("", None)
    if t is set or t is frozenset:
        for item in obj:
            found = _find_unsupported(item, f"{path}{{{item!r}}}")
            if found[0]:
                return found
        return ("", None)
    if t is dict:
        for k, v in obj.items():
            found = _find_unsupported(k, f"{path} key {k!r}")
            if found[0]:
                return found
            found = _find_unsupported(v, f"{path}[{k!r}]")
            if found[0]:
                return found
        return ("", None)
    return (path, obj)


def join_items(item_blobs: list[bytes]) -> tuple[bytes, int]:
    """The bodies of encoded items, concatenated, and their count (for list values)."""
    for blob in item_blobs:
        if not blob.startswith(MAGIC):
            raise CorruptValue("a list item was not written by streamlit_redis_state")
    return b"".join(b[len(MAGIC) :] for b in item_blobs), len(item_blobs)


def list_blob(bodies: bytes, count: int) -> bytes:
    """A blob that decodes to the list of ``count`` items whose bodies are ``bodies``.

    Lets an appended list be stored item by item, yet read, cached and
    decoded as one value, and extended without re-encoding what is there.
    """
    header: bytes = msgpack.Packer().pack_array_header(count)
    return MAGIC + header + bodies


__all__ = ["MAGIC", "SUPPORTED_TYPES", "decode", "encode", "join_items", "list_blob"]
