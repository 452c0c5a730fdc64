"""What the scripts publish and return, as types: notifications and outcomes.

The scripts (``scripts/_prelude.lua``) are the only writers of notifications
and this module is the only reader, so the wire format has one definition on
each side; docs/internals.md ("Wire format") describes it.

A notification is a hint, never data: it names the key that changed and its
new version, never the value, so a slow subscriber is never cut off by
Redis's output buffer limit for carrying values. Anyone who can publish on
the channel can forge one, so parsing is strict (size, shape, every field)
and whatever it rejects is logged and ignored; the listener treats any
surprise in an accepted one (a sequence gap, another epoch) as a reason to
ask Redis itself, never as a fact.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import IntEnum

from ..base.keys import MAX_GROUP_LENGTH, MAX_KEY_LENGTH, PRESENCE_PREFIX

logger = logging.getLogger(__name__)

#: The format's tag, first on every message.
TAG = b"SRS1"
#: No real notification is larger (a key is at most 1024 characters, 4 bytes each).
MAX_SIZE = 64 + 4 * (MAX_KEY_LENGTH + len(PRESENCE_PREFIX) + MAX_GROUP_LENGTH)
#: Larger numbers are not counters a real namespace reaches (2**53, where
#: Lua's numbers stop being exact): a notification carrying one is rejected.
MAX_COUNTER = 2**53

#: A change: "SRS1 c seq version depth quiet appended length epoch origin key"
#: (the key last, and it may hold spaces).
_CHANGE = re.compile(
    rb"SRS1 c ([0-9]{1,16}) ([0-9]{1,16}) ([0-9]{1,16}) ([01]) (-|[0-9]{1,16}) (-|[0-9]{1,16}) "
    rb"([0-9a-f]{1,32}) ((?:[0-9a-f]{0,32}:[A-Za-z0-9_-]{0,64})?) (.*)\Z",
    re.DOTALL,
)


class Outcome(IntEnum):
    """What a change script did (its first return value)."""

    #: Refused: the write was fenced by a lock that is no longer held.
    FENCED = -1
    #: Nothing to do: the same bytes, an absent key deleted, a present key defaulted.
    UNCHANGED = 0
    #: Changed, versioned and published.
    CHANGED = 1
    #: An append met a plain value: convert it to a list first.
    NOT_A_LIST = 2
    #: A convert met a value changed since it was read: read it again.
    CONVERT_RACED = 3
    #: An append met another holder's lock: wait for its release, then again.
    LOCKED = 4


@dataclass(slots=True)
class Notification:
    """One change of one key (or presence group), as published by a script.

    A value, never changed once parsed; not declared frozen only because a
    frozen dataclass takes microseconds to build, in every process, for
    every change.
    """

    key: str
    version: int
    #: The namespace's sequence number: consecutive across every change, so a
    #: gap means a notification was missed.
    sequence: int
    epoch: str
    #: ``process:session`` of the writer (either part may be empty).
    origin: str = ""
    #: Written inside ``no_rerun``: caches drop the key, nobody reruns.
    quiet: bool = False
    #: How many changes led to the run that made this one (0: a person, a
    #: worker); a chain of change -> rerun -> change stops at a bound.
    depth: int = 0
    #: For an append to an existing list: how many items were added and the
    #: list's new length, so a cached copy can be extended in place.
    appended: int | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class Unlocked:
    """The lock on ``key`` was released: waiters anywhere may try again."""

    key: str


class _Rejected(Exception):
    """Internal: why a message is not a notification."""


def parse(data: bytes) -> Notification | Unlocked | None:
    """Decode one message from the channel; anything malformed gives ``None`` (logged)."""
    try:
        return _parse(data)
    except _Rejected as exc:
        _rejected(data, str(exc))
        return None


def _parse(data: bytes) -> Notification | Unlocked:
    if not isinstance(data, bytes) or len(data) > MAX_SIZE:
        raise _Rejected("too large" if isinstance(data, bytes) else "not bytes")
    if data.startswith(TAG + b" u "):
        return Unlocked(_key(data[len(TAG) + 3 :]))
    # One pattern checks the shape and every field but the key (this runs for
    # every change, in every process).
    match = _CHANGE.match(data)
    if match is None:
        raise _Rejected("not a well-formed notification")
    seq, ver, depth, quiet, appended, length, epoch, origin, key = match.groups()
    if (appended == b"-") != (length == b"-"):
        raise _Rejected("malformed counts")
    return Notification(
        key=_key(key),
        version=_counter(ver),
        sequence=_counter(seq),
        epoch=epoch.decode("ascii"),
        origin=origin.decode("ascii"),
        quiet=quiet == b"1",
        depth=_counter(depth),
        appended=None if appended == b"-" else int(appended),
        length=None if length == b"-" else int(length),
    )


def _counter(raw: bytes) -> int:
    value = int(raw)
    if value >= MAX_COUNTER:
        raise _Rejected("implausible number")
    return value


def _key(raw: bytes) -> str:
    """A state key or a presence pseudo key, as the scripts could have published it."""
    try:
        key = raw.decode("utf-8")  # strict: lone surrogates are not UTF-8
    except UnicodeDecodeError:
        raise _Rejected("key is not UTF-8") from None
    if key.startswith(PRESENCE_PREFIX):
        group = key[len(PRESENCE_PREFIX) :]
        if not group or len(group) > MAX_GROUP_LENGTH or "\x00" in group:
            raise _Rejected("bad presence group")
    elif not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise _Rejected("bad key")
    return key


_rejections = 0


def rejections() -> int:
    """How many messages this process rejected so far (for tests and status)."""
    return _rejections


def _rejected(data: object, why: str) -> None:
    """Log a rejected message: the first ten, then one in a thousand (no flood in the logs)."""
    global _rejections
    _rejections += 1
    if _rejections <= 10 or _rejections % 1000 == 0:
        logger.warning(
            "ignored a malformed notification (%s; %d so far): %.80r", why, _rejections, data
        )


__all__ = ["MAX_SIZE", "Notification", "Outcome", "Unlocked", "parse", "rejections"]
