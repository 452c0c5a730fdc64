"""Values as JSON, with a type tag wherever JSON has no type: what the command line shows and reads.

JSON has ``null``, booleans, numbers, strings, arrays and objects with string
keys. Those stand for ``None``, ``bool``, ``int``/``float``, ``str``, ``list``
and ``dict``. Every other type is written as an object with exactly one key,
the tag, which starts with ``$``::

    {"$tuple": [1, 2]}                  {"$set": [1, 2]}    {"$frozenset": [1, 2]}
    {"$bytes": "aGk="}                  {"$bytearray": "aGk="}        (base64)
    {"$int": "123456789012345678901"}   beyond JSON's exact range, +-(2**53 - 1)
    {"$float": "nan"}                   also "inf" and "-inf"
    {"$decimal": "1.10"}                {"$uuid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}
    {"$datetime": "2024-03-31T02:30:00+02:00[Europe/Paris]"}    (RFC 9557: the zone's name
    {"$datetime": "2024-03-31T00:30:00+00:00"}                   in brackets when it has one)
    {"$datetime": "2024-03-31T00:30:00[_fold=1]"}   (a fold no offset shows; rare)
    {"$date": "2024-03-31"}             {"$time": "10:15:00"}
    {"$timedelta": {"days": 1, "seconds": 30, "microseconds": 0}}   (or a number of seconds)
    {"$dict": [[1, "one"], [[2, 3], "pair"]]}
    {"$ndarray": {"dtype": "<f8", "shape": [2], "values": [0.5, 1.5]}}
    {"$npscalar": {"dtype": "<i8", "values": 7}}

``$dict`` holds a dict whose keys are not all strings, or one with a key that
starts with ``$`` (so a plain object is never mistaken for a tag). A numpy
array's ``values`` are nested lists for booleans, integers and floats up to 64
bits; other dtypes (complex, datetime64, ...) carry ``data``, the base64 of the
array's bytes in C order, instead. pandas objects have no JSON form here.

Why tags rather than a best guess: ``get`` shows what is stored, and ``set``
with what ``get`` printed stores the same value, of the same types, again.
Reading refuses an object whose key starts with ``$`` unless it is exactly one
known tag, so a typo is an error, never a silently different value. Nothing
here looks a type up by a name found in the input: the tags are a closed set,
as the codec's types are.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
import uuid
import zoneinfo
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

#: The largest integer every JSON reader (JavaScript's doubles) holds exactly.
MAX_SAFE_INT = 2**53 - 1

_ZONED = re.compile(
    r"^(?P<text>[^\[\]]+)(?:\[(?P<zone>[A-Za-z0-9_+\-/]{1,64})\])?(?P<fold>\[_fold=1\])?$"
)
#: numpy dtypes a tag may name: plain numbers, complex, datetime64 and timedelta64.
_DTYPE = re.compile(
    r"^[<>|=]?(?:\?|b1|[iu][1248]|f(?:2|4|8|10|12|16)|c(?:8|16|20|24|32)|[mM]8(?:\[\d{0,3}[a-zA-Z]{1,2}\])?)$"
)


class TaggedJSONError(ValueError):
    """Input that is not tagged JSON this module reads, or a value it cannot write."""


# -- values to JSON ------------------------------------------------------------


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """The tagged JSON text of ``value`` (one line with ``indent=None``)."""
    separators = (",", ": ") if indent is not None else (",", ":")
    return json.dumps(
        to_json(value), indent=indent, ensure_ascii=False, allow_nan=False, separators=separators
    )


def to_json(value: Any, path: str = "value") -> Any:
    """``value`` as plain JSON data (dicts, lists, str, numbers, bools, None), tagged."""
    try:
        return _to(value, path)
    except RecursionError:
        raise TaggedJSONError(f"{path} is nested too deeply to show as JSON") from None


def _to(value: Any, path: str) -> Any:
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else {"$int": str(value)}
    if t is float:
        if math.isnan(value):
            return {"$float": "nan"}
        if math.isinf(value):
            return {"$float": "inf" if value > 0 else "-inf"}
        return value
    if t is list:
        return [_to(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: _to(v, f"{path}[{k!r}]") for k, v in value.items()}
        return {
            "$dict": [
                [_to(k, f"{path} key {k!r}"), _to(v, f"{path}[{k!r}]")] for k, v in value.items()
            ]
        }
    if t is tuple:
        return {"$tuple": [_to(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if t is set or t is frozenset:
        members = [_to(v, f"{path}{{{v!r}}}") for v in value]
        members.sort(key=lambda m: json.dumps(m, sort_keys=True, ensure_ascii=False))
        return {"$set" if t is set else "$frozenset": members}
    if t is bytes:
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if t is bytearray:
        return {"$bytearray": base64.b64encode(bytes(value)).decode("ascii")}
    if t is Decimal:
        return {"$decimal": str(value)}
    if t is uuid.UUID:
        return {"$uuid": str(value)}
    if t is dt.datetime:
        return {"$datetime": _time_text(value, _read_datetime, path)}
    if t is dt.date:
        return {"$date": value.isoformat()}
    if t is dt.time:
        return {"$time": _time_text(value, _read_time, path)}
    if t is dt.timedelta:
        parts = {"days": value.days, "seconds": value.seconds, "microseconds": value.microseconds}
        return {"$timedelta": parts}
    module = t.__module__.split(".")[0]
    if module == "numpy":
        return _numpy_to(value, path)
    if module == "pandas":
        raise TaggedJSONError(
            f"{path}: a pandas {t.__name__} has no JSON form here; `dump` copies it exactly"
        )
    raise TaggedJSONError(f"{path}: {t.__qualname__} has no JSON form")


def _time_text(value: dt.datetime | dt.time, read: Callable[[Any, str], Any], path: str) -> str:
    """ISO 8601, the zone's name in brackets, and ``[_fold=1]`` when nothing else shows the fold."""
    text = value.isoformat()
    if isinstance(value.tzinfo, zoneinfo.ZoneInfo):
        text += f"[{value.tzinfo.key}]"
    if value.fold and not read(text, path).fold:
        # A fold the offset does not reveal (a naive time, or outside a
        # repeated hour): the codec keeps it, so the text must too.
        text += "[_fold=1]"
    return text


def _numpy_to(value: Any, path: str) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        tag, shape = "$ndarray", list(value.shape)
    elif isinstance(value, np.generic):
        tag, shape = "$npscalar", None
    else:
        raise TaggedJSONError(f"{path}: numpy {type(value).__name__} has no JSON form")
    dtype = value.dtype
    if not _DTYPE.match(dtype.str):
        raise TaggedJSONError(f"{path}: numpy dtype {dtype.str} has no JSON form")
    body: dict[str, Any] = {"dtype": dtype.str}
    if shape is not None:
        body["shape"] = shape
    if dtype.kind in "biuf" and dtype.itemsize <= 8:
        body["values"] = _to(value.tolist(), path)
    else:
        data = np.ascontiguousarray(value).tobytes()
        body["data"] = base64.b64encode(data).decode("ascii")
    return {tag: body}


# -- JSON to values ------------------------------------------------------------


def loads(text: str) -> Any:
    """The value a tagged JSON text stands for; :class:`TaggedJSONError` says what is wrong."""

    def no_constants(name: str) -> Any:
        raise TaggedJSONError(f'{name} is not JSON; write {{"$float": "{name.lower()}"}}')

    try:
        data = json.loads(text, parse_constant=no_constants)
    except TaggedJSONError:
        raise
    except ValueError as exc:  # JSONDecodeError, or an int too long for Python
        raise TaggedJSONError(f"not valid JSON: {exc}") from None
    return from_json(data)


def from_json(data: Any, path: str = "value") -> Any:
    """The value that plain JSON data (as ``json.loads`` returns it) stands for."""
    try:
        return _from(data, path)
    except RecursionError:
        raise TaggedJSONError(f"{path} is nested too deeply") from None


def _from(data: Any, path: str) -> Any:
    if isinstance(data, list):
        return [_from(v, f"{path}[{i}]") for i, v in enumerate(data)]
    if not isinstance(data, dict):
        return data  # None, bool, int, float, str
    tags = [k for k in data if k.startswith("$")]
    if not tags:
        return {k: _from(v, f"{path}[{k!r}]") for k, v in data.items()}
    tag = tags[0]
    reader = _READERS.get(tag)
    if len(data) != 1 or reader is None:
        raise TaggedJSONError(
            f"{path}: {tag!r} is not a type tag here; a tag is an object with one key, one of "
            f"{', '.join(sorted(_READERS))} (a dict with keys starting with $ is written "
            '{"$dict": [[key, value], ...]})'
        )
    where = f"{path}[{tag!r}]"
    try:
        return reader(data[tag], where)
    except TaggedJSONError:
        raise
    except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        raise TaggedJSONError(f"{where}: {exc}") from None


def _text(body: Any, path: str) -> str:
    if not isinstance(body, str):
        raise TaggedJSONError(f"{path}: expected a string, got {type(body).__name__}")
    return body


def _items(body: Any, path: str) -> list[Any]:
    if not isinstance(body, list):
        raise TaggedJSONError(f"{path}: expected an array, got {type(body).__name__}")
    return [_from(v, f"{path}[{i}]") for i, v in enumerate(body)]


def _b64(body: Any, path: str) -> bytes:
    try:
        return base64.b64decode(_text(body, path), validate=True)
    except binascii.Error as exc:
        raise TaggedJSONError(f"{path}: not base64: {exc}") from None


def _hashable(items: list[Any], path: str) -> list[Any]:
    for item in items:
        try:
            hash(item)
        except TypeError:
            raise TaggedJSONError(
                f"{path}: {type(item).__name__} cannot be a set member or dict key "
                '(use {"$tuple": [...]} for a list)'
            ) from None
    return items


def _read_int(body: Any, path: str) -> int:
    text = _text(body, path)
    if not re.fullmatch(r"[+-]?\d{1,4300}", text):
        raise TaggedJSONError(f"{path}: expected decimal digits, got {text[:40]!r}")
    return int(text)


def _read_float(body: Any, path: str) -> float:
    text = _text(body, path)
    if text not in ("nan", "inf", "-inf"):
        raise TaggedJSONError(f'{path}: expected "nan", "inf" or "-inf", got {text!r}')
    return float(text)


def _read_decimal(body: Any, path: str) -> Decimal:
    text = _text(body, path)
    if len(text) > 4400:
        raise TaggedJSONError(f"{path}: a decimal of {len(text)} characters is too long")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise TaggedJSONError(f"{path}: not a decimal number: {text[:40]!r}") from None


def _split_zone(body: Any, path: str) -> tuple[str, zoneinfo.ZoneInfo | None, int]:
    """ISO 8601 text, the zone named in brackets (if any), and the fold ``[_fold=1]`` gives."""
    match = _ZONED.match(_text(body, path))
    if match is None:
        raise TaggedJSONError(f"{path}: expected ISO 8601 text, optionally [Zone/Name]")
    fold = 1 if match["fold"] else 0
    zone = match["zone"]
    if zone is None:
        return match["text"], None, fold
    try:
        return match["text"], zoneinfo.ZoneInfo(zone), fold
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise TaggedJSONError(f"{path}: unknown time zone {zone!r}") from None


def _read_datetime(body: Any, path: str) -> dt.datetime:
    text, zone, fold = _split_zone(body, path)
    value = dt.datetime.fromisoformat(text)
    if zone is not None:
        value = _in_zone(value, zone, text, path)
    return value.replace(fold=1) if fold else value


def _in_zone(value: dt.datetime, zone: zoneinfo.ZoneInfo, text: str, path: str) -> dt.datetime:
    wall = value.replace(tzinfo=None)
    if value.tzinfo is None:
        return wall.replace(tzinfo=zone)
    # The offset written says which of a repeated hour's two times it is (fold).
    for fold in (0, 1):
        candidate = wall.replace(tzinfo=zone, fold=fold)
        if candidate.utcoffset() == value.utcoffset():
            return candidate
    raise TaggedJSONError(f"{path}: the offset of {text!r} is not one {zone.key} has then")


def _read_time(body: Any, path: str) -> dt.time:
    text, zone, fold = _split_zone(body, path)
    value = dt.time.fromisoformat(text)
    if zone is not None:
        value = value.replace(tzinfo=zone)
    return value.replace(fold=1) if fold else value


def _read_timedelta(body: Any, path: str) -> dt.timedelta:
    if isinstance(body, (int, float)) and not isinstance(body, bool):
        return dt.timedelta(seconds=body)
    if not isinstance(body, dict) or not set(body) <= {"days", "seconds", "microseconds"}:
        raise TaggedJSONError(
            f'{path}: expected {{"days": d, "seconds": s, "microseconds": us}} or seconds'
        )
    parts = {k: v for k, v in body.items()}
    for name, part in parts.items():
        if type(part) is not int:
            raise TaggedJSONError(f"{path}: {name} must be an integer, got {part!r}")
    return dt.timedelta(**parts)


def _read_dict(body: Any, path: str) -> dict[Any, Any]:
    if not isinstance(body, list):
        raise TaggedJSONError(f"{path}: expected an array of [key, value] pairs")
    out: dict[Any, Any] = {}
    for i, pair in enumerate(body):
        if not isinstance(pair, list) or len(pair) != 2:
            raise TaggedJSONError(f"{path}[{i}]: expected a [key, value] pair")
        key = _hashable([_from(pair[0], f"{path}[{i}][0]")], f"{path}[{i}][0]")[0]
        out[key] = _from(pair[1], f"{path}[{i}][1]")
    return out


def _read_numpy(body: Any, path: str, scalar: bool) -> Any:
    import numpy as np

    if not isinstance(body, dict):
        raise TaggedJSONError(f"{path}: expected an object with dtype and values or data")
    allowed = {"dtype", "values", "data"} | (set() if scalar else {"shape"})
    if not set(body) <= allowed or ("values" in body) == ("data" in body):
        raise TaggedJSONError(f"{path}: expected {sorted(allowed)}, with values or data")
    text = _text(body.get("dtype"), f"{path}['dtype']")
    if not _DTYPE.match(text):
        raise TaggedJSONError(f"{path}: numpy dtype {text!r} is not one of the supported")
    dtype = np.dtype(text)
    shape: tuple[int, ...] = ()
    if not scalar:
        raw = body.get("shape")
        if not isinstance(raw, list) or not all(type(n) is int and n >= 0 for n in raw):
            raise TaggedJSONError(f"{path}['shape']: expected an array of sizes")
        shape = tuple(raw)
    if "values" in body:
        array = np.array(_from(body["values"], f"{path}['values']"), dtype=dtype)
    else:
        array = np.frombuffer(_b64(body["data"], f"{path}['data']"), dtype=dtype).copy()
    array = array.reshape(shape)
    return array[()] if scalar else array


_READERS: dict[str, Callable[[Any, str], Any]] = {
    "$tuple": lambda b, p: tuple(_items(b, p)),
    "$set": lambda b, p: set(_hashable(_items(b, p), p)),
    "$frozenset": lambda b, p: frozenset(_hashable(_items(b, p), p)),
    "$bytes": _b64,
    "$bytearray": lambda b, p: bytearray(_b64(b, p)),
    "$int": _read_int,
    "$float": _read_float,
    "$decimal": _read_decimal,
    "$uuid": lambda b, p: uuid.UUID(_text(b, p)),
    "$datetime": _read_datetime,
    "$date": lambda b, p: dt.date.fromisoformat(_text(b, p)),
    "$time": _read_time,
    "$timedelta": _read_timedelta,
    "$dict": _read_dict,
    "$ndarray": lambda b, p: _read_numpy(b, p, scalar=False),
    "$npscalar": lambda b, p: _read_numpy(b, p, scalar=True),
}

TAGS = tuple(sorted(_READERS))

__all__ = ["MAX_SAFE_INT", "TAGS", "TaggedJSONError", "dumps", "from_json", "loads", "to_json"]
