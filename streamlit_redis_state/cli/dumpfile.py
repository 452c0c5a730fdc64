"""The dump file: every key of a namespace, as stored, in one portable JSON document.

::

    {
      "format": "streamlit-redis-state-dump",
      "version": 1,
      "namespace": "myapp",
      "created": "2026-11-25T10:00:00Z",
      "library": "0.9.0",
      "keys": [
        {"key": "count", "kind": "value", "ttl_ms": null, "value": "wQHNAQ=="},
        {"key": "chat", "kind": "list", "ttl_ms": 59000, "items": ["wQGjaGk=", "wQGjeW8="]}
      ]
    }

Why the stored bytes and not the values: a restore then writes exactly what
was stored (the codec's blobs, base64), whatever types they hold, including
types the command line cannot show as JSON. Why ``kind``: a list grown with
``append`` is stored item by item, and stays so, so appends after a restore
still cost only the new items. ``ttl_ms`` is the lifetime left when the key
was dumped (``null``: none); a restore gives the key that lifetime from the
moment it is restored, so no clock has to agree with another.

One JSON document, not one line per key, so a truncated file is invalid JSON
and is refused whole. :func:`parse` checks everything (the header, every key
name, every blob against the codec) before the caller writes anything.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from ..base import codec
from ..base.errors import CorruptValue
from ..base.keys import check_key
from ..base.version import __version__

FORMAT = "streamlit-redis-state-dump"
VERSION = 1


class DumpError(ValueError):
    """A dump file that cannot be restored; says where and why."""


@dataclass(frozen=True)
class DumpedKey:
    """One key as stored: a plain value's blob, or a list's item blobs."""

    key: str
    kind: str  # "value" or "list"
    blobs: tuple[bytes, ...]  # one blob for a value; the items, in order, for a list
    #: Lifetime left when dumped, in ms; ``None``: the key lasts.
    ttl_ms: int | None = None


@dataclass(frozen=True)
class Dump:
    namespace: str
    created: str
    keys: tuple[DumpedKey, ...]


def _b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode("ascii")


def render(namespace: str, keys: list[DumpedKey], now: dt.datetime | None = None) -> str:
    """The text of a dump file."""
    created = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries: list[dict[str, Any]] = []
    for k in keys:
        entry: dict[str, Any] = {"key": k.key, "kind": k.kind, "ttl_ms": k.ttl_ms}
        if k.kind == "value":
            entry["value"] = _b64(k.blobs[0])
        else:
            entry["items"] = [_b64(b) for b in k.blobs]
        entries.append(entry)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "namespace": namespace,
        "created": created,
        "library": __version__,
        "keys": entries,
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def parse(text: str, max_value_bytes: int | None = None) -> Dump:
    """Read and check a whole dump file; raises :class:`DumpError` naming the first problem.

    Every blob must decode with this library's codec, so a file from a newer
    format, or damaged, is refused before anything is written.
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise DumpError(f"not a dump file (not valid JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DumpError(f'not a dump file (no "format": "{FORMAT}")')
    version = document.get("version")
    if version != VERSION:
        raise DumpError(
            f"dump format version {version!r} is not one this version reads ({VERSION})"
        )
    namespace, created, entries = (document.get(n) for n in ("namespace", "created", "keys"))
    if not isinstance(namespace, str) or not isinstance(entries, list):
        raise DumpError('the header needs "namespace" (a string) and "keys" (an array)')
    seen: set[str] = set()
    keys = []
    for i, entry in enumerate(entries):
        k = _entry(entry, f"keys[{i}]", max_value_bytes)
        if k.key in seen:
            raise DumpError(f"keys[{i}]: {k.key!r} appears twice")
        seen.add(k.key)
        keys.append(k)
    return Dump(namespace, created if isinstance(created, str) else "", tuple(keys))


def _entry(entry: Any, where: str, max_value_bytes: int | None) -> DumpedKey:
    if not isinstance(entry, dict):
        raise DumpError(f"{where}: expected an object")
    key = entry.get("key")
    try:
        key = check_key(key)
    except (TypeError, ValueError) as exc:
        raise DumpError(f"{where}: {exc}") from None
    where = f"{where} ({key!r})"
    kind, ttl = entry.get("kind"), entry.get("ttl_ms")
    if ttl is not None and (type(ttl) is not int or ttl <= 0):
        raise DumpError(f"{where}: ttl_ms must be a positive integer or null, got {ttl!r}")
    blobs: tuple[bytes, ...]
    if kind == "value":
        blobs = (_blob(entry.get("value"), f"{where} value", key),)
        size = len(blobs[0])
    elif kind == "list":
        items = entry.get("items")
        if not isinstance(items, list) or not items:
            raise DumpError(f"{where}: a list needs a non-empty array of items")
        blobs = tuple(_blob(b, f"{where} items[{j}]", key) for j, b in enumerate(items))
        size = len(codec.list_blob(*codec.join_items(list(blobs))))
    else:
        raise DumpError(f'{where}: kind must be "value" or "list", got {kind!r}')
    if max_value_bytes is not None and size > max_value_bytes:
        raise DumpError(
            f"{where}: {size:,} bytes, over max_value_bytes ({max_value_bytes:,}) of this "
            "configuration"
        )
    return DumpedKey(key, kind, blobs, ttl)


def _blob(text: Any, where: str, key: str) -> bytes:
    if not isinstance(text, str):
        raise DumpError(f"{where}: expected base64 text")
    try:
        blob = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise DumpError(f"{where}: not base64: {exc}") from None
    try:
        codec.decode(blob, key=key)
    except CorruptValue:
        raise DumpError(
            f"{where}: not a value this version of streamlit_redis_state reads "
            "(damaged, of a newer format, or not written by it)"
        ) from None
    return blob


__all__ = ["FORMAT", "VERSION", "Dump", "DumpError", "DumpedKey", "parse", "render"]
