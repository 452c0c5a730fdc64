"""The chat's data model and rules, shared by the page (app.py) and the bot (bot.py).

Nothing here imports Streamlit, so the bot and the unit tier use it as is.

Keys in ``server_state`` (namespace ``demo`` under ``make demo`` and compose):

==========================  ==================================================
``chat:rooms``              the room records; rare writes, through ``edit()``
``chat:messages:<room>``    the room's messages, grown with ``append()``
``chat:moods:<room>``       the bot's annotations, one per message, in message
                            order, grown with ``append()`` by the bot alone
``chat:bot``                the bot's heartbeat, set with a ``ttl``: missing
                            when the bot is not running
==========================  ==================================================

People and the bot never write the same key, so the bot never races anyone
posting. The last annotation names the last message the bot handled: it is
the bot's place in each room, written in the same atomic append as the
annotations themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import secrets
import unicodedata
from collections.abc import Iterable
from typing import Any, TypedDict, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOMS = "chat:rooms"
BOT = "chat:bot"
MESSAGES_PREFIX = "chat:messages:"
MOODS_PREFIX = "chat:moods:"
GENERAL_ID = "general"

KEPT = 5000  # messages (and annotations) stored per room
PAGE = 40  # messages drawn at first, and added by each "earlier messages"
MAX_TEXT = 2000
MAX_NICK = 32
MAX_ROOM = 40


class Room(TypedDict):
    id: str
    name: str
    by: str | None  # the creator's browser id; None for general
    by_name: str | None  # the creator's nickname then
    at: dt.datetime | None
    archived: bool


class Message(TypedDict):
    id: str
    uid: str  # the sender's browser id
    who: str  # the sender's nickname
    text: str
    at: dt.datetime


class Mood(TypedDict):
    id: str  # the message's id
    emoji: str
    score: float


GENERAL: Room = {
    "id": GENERAL_ID,
    "name": "general",
    "by": None,
    "by_name": None,
    "at": None,
    "archived": False,
}


def messages_key(room_id: str) -> str:
    return MESSAGES_PREFIX + room_id


def moods_key(room_id: str) -> str:
    return MOODS_PREFIX + room_id


def room_of_messages_key(key: str) -> str | None:
    """The room id of a messages key, else ``None``."""
    if not key.startswith(MESSAGES_PREFIX):
        return None
    return key[len(MESSAGES_PREFIX) :] or None


def new_id() -> str:
    """A message's or room's stable id: 64 random bits, as hex."""
    return secrets.token_hex(8)


def one_line(text: str, limit: int) -> str:
    """A name as typed, on one line: control characters dropped, spaces collapsed."""
    spaced = re.sub(r"\s", " ", text)  # newlines and tabs are spaces
    kept = "".join(c for c in spaced if unicodedata.category(c)[0] != "C")
    return " ".join(kept.split())[:limit]


# -- rooms -------------------------------------------------------------------


def active_rooms(records: Iterable[Room]) -> list[Room]:
    """The rooms not archived, general first, then by creation."""
    rooms = [r for r in records if not r.get("archived")]
    if not any(r["id"] == GENERAL_ID for r in rooms):
        rooms.insert(0, GENERAL)
    return rooms


def name_taken(records: Iterable[Room], name: str) -> bool:
    """Whether an active room already has this name (case and width folded)."""
    folded = fold(name)
    return any(fold(r["name"]) == folded for r in active_rooms(records))


def new_room(name: str, uid: str, nickname: str | None, now: dt.datetime) -> Room:
    return {
        "id": new_id(),
        "name": name,
        "by": uid,
        "by_name": nickname or None,
        "at": now,
        "archived": False,
    }


def fold(text: str) -> str:
    """How names are compared: ``Alice``, ``alice`` and fullwidth ``alice`` are one name."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


# -- people -----------------------------------------------------------------


def browser_id(route_cookie: str | None, fallback: str) -> str:
    """Who a person is: their browser (nginx's route cookie), else their session.

    The cookie is hashed so the shared state never holds it. Two tabs of one
    browser are one person; two browsers are two people.
    """
    seed = f"browser:{route_cookie}" if route_cookie else f"session:{fallback}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


def member(uid: str, nickname: str) -> str:
    """A presence name: the browser id and the nickname, so equal nicknames stay apart."""
    return f"{uid}|{nickname}"


def parse_member(name: str) -> tuple[str, str]:
    uid, sep, nickname = name.partition("|")
    return (uid, nickname) if sep else ("", name)


def nickname_free(names: Iterable[str], uid: str, nickname: str) -> bool:
    """Whether ``uid`` may use ``nickname`` in a room whose presence lists ``names``.

    Someone else online under the same (folded) nickname keeps it: a
    newcomer is refused. Two people who joined at the same moment on two
    replicas both see each other; the smaller browser id keeps the name, so
    both pages agree without talking to each other.
    """
    folded = fold(nickname)
    holders = {u for u, n in map(parse_member, names) if fold(n) == folded}
    others = holders - {uid}
    if not others:
        return True
    if uid not in holders:
        return False  # it is taken: do not join
    return uid < min(others)  # a tie between two joins: one rule everyone applies


def online_nicknames(names: Iterable[str]) -> list[tuple[str, str]]:
    """(browser id, nickname) of each person online, by nickname."""
    return sorted(map(parse_member, names), key=lambda p: (fold(p[1]), p[0]))


def typing_line(nicknames: list[str]) -> str:
    if not nicknames:
        return ""
    if len(nicknames) == 1:
        return f"{nicknames[0]} is typing…"
    if len(nicknames) == 2:
        return f"{nicknames[0]} and {nicknames[1]} are typing…"
    return f"{len(nicknames)} people are typing…"


# -- avatars ----------------------------------------------------------------

# Twelve colours that keep white initials readable.
PALETTE = (
    "#d1495b",
    "#e07a1f",
    "#b8860b",
    "#5b8c2a",
    "#2a9d8f",
    "#1d7fb8",
    "#3d5a98",
    "#7b4fb0",
    "#b0417a",
    "#8d6e63",
    "#4f6d7a",
    "#c2185b",
)


def colour(nickname: str) -> str:
    """A colour of the palette, the same for a nickname on every replica."""
    digest = hashlib.sha256(fold(nickname).encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def initials(nickname: str) -> str:
    """``alice`` -> ``AL``, ``Mary Jane`` -> ``MJ``, ``ö`` -> ``Ö``."""
    words = [w for w in re.split(r"[\s._\-]+", nickname.strip()) if w]
    if not words:
        return "?"
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    return words[0][:2].upper()


def avatar_svg(nickname: str) -> str:
    """A round avatar with the nickname's initials on its colour, as SVG text."""
    text = html.escape(initials(nickname), quote=True)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="32" fill="{colour(nickname)}"/>'
        '<text x="32" y="33" dominant-baseline="central" text-anchor="middle" '
        "font-family=\"Helvetica, Arial, 'DejaVu Sans', sans-serif\" "
        f'font-size="26" font-weight="600" fill="#ffffff">{text}</text></svg>'
    )


# -- time ---------------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo:
    """The viewer's time zone by its IANA name, UTC when unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def local_time(at: dt.datetime, tz: ZoneInfo, now: dt.datetime) -> str:
    """``14:03`` today, ``Yesterday 14:03``, ``Tue 14:03`` this week, else ``3 Mar 14:03``."""
    local = at.astimezone(tz)
    today = now.astimezone(tz).date()
    clock = local.strftime("%H:%M")
    days = (today - local.date()).days
    if days == 0:
        return clock
    if days == 1:
        return f"Yesterday {clock}"
    if 1 < days < 7:
        return f"{local:%a} {clock}"
    year = f" {local.year}" if local.year != today.year else ""
    return f"{local.day} {local:%b}{year} {clock}"


# -- moods --------------------------------------------------------------------

MOOD_WORDS = {
    "😄": "very positive",
    "🙂": "positive",
    "😐": "neutral",
    "🤔": "a question",
    "🙁": "negative",
    "😢": "very negative",
}


def mood(compound: float, text: str) -> str:
    """The emoji for a VADER compound score (-1 to 1) of ``text``."""
    if compound >= 0.6:
        return "😄"
    if compound >= 0.2:
        return "🙂"
    if compound <= -0.6:
        return "😢"
    if compound <= -0.2:
        return "🙁"
    return "🤔" if re.search(r"\?\W*$", text) else "😐"  # a question, maybe with an emoji after


def is_message(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str)


def room_records(value: Any) -> list[Room]:
    """The room records in what ``chat:rooms`` holds (anything else is ignored)."""
    if not isinstance(value, list):
        return []
    return [cast(Room, r) for r in value if isinstance(r, dict) and isinstance(r.get("id"), str)]


def mood_notes(value: Any) -> dict[str, Mood]:
    """The bot's annotations by message id."""
    if not isinstance(value, list):
        return {}
    return {n["id"]: cast(Mood, n) for n in value if isinstance(n, dict) and "id" in n}
