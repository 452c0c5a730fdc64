"""What the scripts publish and return, as types: notifications and outcomes.

The scripts (``scripts/_prelude.lua``) are the only writers of notifications
and this module is the only reader, so the wire format has one definition on
each side; docs/internals.md ("Wire format") describes it.

A notification is a hint, never data: it names the key that changed and its
new version, never the value, so a slow subscriber is never cut off by
Redis's output buffer limit for carrying values.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import IntEnum

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class Notification:
    """One change of one key (or presence group), as published by a script."""

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
    #: For an append to an existing list: how many items were added and the
    #: list's new length, so a cached copy can be extended in place.
    appended: int | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class Unlocked:
    """The lock on ``key`` was released: waiters anywhere may try again."""

    key: str


def parse(data: bytes | str) -> Notification | Unlocked | None:
    """Decode one message from the channel; anything malformed gives ``None`` (logged)."""
    try:
        event = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        event = None
    if isinstance(event, dict):
        if "u" in event:
            if isinstance(event["u"], str):
                return Unlocked(event["u"])
        elif (
            isinstance(event.get("k"), str)
            and isinstance(event.get("v"), int)
            and isinstance(event.get("s"), int)
            and isinstance(event.get("o", ""), str)
            and isinstance(event.get("e", ""), str)
        ):
            appended, length = event.get("a"), event.get("n")
            counted = isinstance(appended, int) and isinstance(length, int)
            return Notification(
                key=event["k"],
                version=event["v"],
                sequence=event["s"],
                epoch=event.get("e", ""),
                origin=event.get("o", ""),
                quiet=bool(event.get("q")),
                appended=appended if counted else None,
                length=length if counted else None,
            )
    logger.warning("ignored a malformed notification: %.80r", data)
    return None


__all__ = ["Notification", "Outcome", "Unlocked", "parse"]
