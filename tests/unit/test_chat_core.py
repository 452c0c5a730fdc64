"""The chat demo's rules (examples/chat/chat_core.py) and its HTML escaping (ui.py)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "chat"))

import chat_core as core
import ui

UTC = dt.timezone.utc


def test_a_newcomer_cannot_take_a_nickname_online_in_the_room() -> None:
    names = [core.member("u-alice", "alice"), core.member("u-bob", "bob")]
    assert not core.nickname_free(names, "u-mallory", "alice")
    assert not core.nickname_free(names, "u-mallory", "ALICE")  # case is folded
    assert not core.nickname_free(names, "u-mallory", "ａｌｉｃｅ")  # noqa: RUF001 (width too)
    assert core.nickname_free(names, "u-mallory", "alice2")
    assert core.nickname_free(names, "u-alice", "alice")  # her own name, e.g. a second tab


def test_two_joins_at_the_same_moment_keep_one_holder() -> None:
    names = [core.member("u-1", "sam"), core.member("u-2", "sam")]
    assert core.nickname_free(names, "u-1", "sam")  # the smaller browser id keeps it
    assert not core.nickname_free(names, "u-2", "sam")
    assert not core.nickname_free(names[:1], "u-2", "sam")  # after u-2 left: still refused


def test_online_nicknames_are_sorted_and_parsed() -> None:
    names = [core.member("u2", "bob"), core.member("u1", "Alice"), "legacy"]
    assert core.online_nicknames(names) == [("u1", "Alice"), ("u2", "bob"), ("", "legacy")]


def test_browser_ids_hash_the_cookie_and_fall_back_to_the_session() -> None:
    a = core.browser_id("route-1", "s1")
    assert a == core.browser_id("route-1", "s2")  # one browser, two tabs
    assert a != core.browser_id("route-2", "s1")
    assert "route-1" not in a and len(a) == 12
    assert core.browser_id(None, "s1") != core.browser_id(None, "s2")


def test_avatars_are_stable_per_nickname_and_escape_their_initials() -> None:
    assert core.initials("alice") == "AL"
    assert core.initials("Mary Jane") == "MJ"
    assert core.initials("  ") == "?"
    assert core.colour("alice") == core.colour("Alice") in core.PALETTE
    assert core.avatar_svg("alice") != core.avatar_svg("bob")
    svg = core.avatar_svg("<script>")
    assert "<script" not in svg and "&lt;S" in svg


def test_names_are_one_line() -> None:
    assert core.one_line("  a\n\tb\x00  c ", 40) == "a b c"
    assert core.one_line("x" * 50, 40) == "x" * 40


def test_rooms_general_first_archived_hidden_names_folded() -> None:
    now = dt.datetime.now(UTC)
    kept = core.new_room("Lunch", "u1", "alice", now)
    gone = {**core.new_room("old", "u1", "alice", now), "archived": True}
    rooms = core.active_rooms([kept, gone])  # type: ignore[list-item]
    assert [r["name"] for r in rooms] == ["general", "Lunch"]
    assert core.name_taken([kept], "lunch")
    assert not core.name_taken([gone], "old")  # type: ignore[list-item]
    assert core.room_records(["legacy", {"id": "x"}, 3]) == [{"id": "x"}]
    assert core.room_records("not a list") == []


def test_keys() -> None:
    assert core.room_of_messages_key(core.messages_key("abc")) == "abc"
    assert core.room_of_messages_key(core.moods_key("abc")) is None
    assert core.room_of_messages_key(core.MESSAGES_PREFIX) is None


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (dt.datetime(2025, 3, 14, 23, 30, tzinfo=UTC), "08:30"),  # the next day in Tokyo: today
        (dt.datetime(2025, 3, 13, 23, 30, tzinfo=UTC), "Yesterday 08:30"),
        (dt.datetime(2025, 3, 10, 3, 0, tzinfo=UTC), "Mon 12:00"),
        (dt.datetime(2025, 1, 2, 3, 0, tzinfo=UTC), "2 Jan 12:00"),
        (dt.datetime(2024, 1, 2, 3, 0, tzinfo=UTC), "2 Jan 2024 12:00"),
    ],
)
def test_times_are_in_the_viewers_zone(at: dt.datetime, expected: str) -> None:
    now = dt.datetime(2025, 3, 15, 1, 0, tzinfo=UTC)  # 10:00 on the 15th in Tokyo
    assert core.local_time(at, ZoneInfo("Asia/Tokyo"), now) == expected


def test_unknown_zones_are_utc() -> None:
    assert core.zone(None) == ZoneInfo("UTC")
    assert core.zone("Not/AZone") == ZoneInfo("UTC")
    assert core.zone("../etc/passwd") == ZoneInfo("UTC")
    assert core.zone("America/New_York") == ZoneInfo("America/New_York")


def test_moods() -> None:
    assert core.mood(0.9, "great") == "😄"
    assert core.mood(0.3, "ok") == "🙂"
    assert core.mood(0.0, "the meeting is at 3") == "😐"
    assert core.mood(0.0, "where is it? 🤷") == "🤔"
    assert core.mood(-0.3, "meh") == "🙁"
    assert core.mood(-0.9, "awful") == "😢"
    assert set(core.MOOD_WORDS) >= {core.mood(s, "x") for s in (-1, -0.3, 0, 0.3, 1)}


def test_typing_line() -> None:
    assert core.typing_line([]) == ""
    assert core.typing_line(["bob"]) == "bob is typing…"
    assert core.typing_line(["a", "b"]) == "a and b are typing…"
    assert core.typing_line(["a", "b", "c"]) == "3 people are typing…"


def test_user_text_in_html_is_escaped() -> None:
    evil = '<img src=x onerror=alert(1)> "quoted" **bold**'
    message: core.Message = {
        "id": '"><script>',
        "uid": "u",
        "who": evil,
        "text": evil,
        "at": dt.datetime.now(UTC),
    }
    note: core.Mood = {"id": "x", "emoji": "<b>", "score": 0.5}
    for html in (
        ui.meta(message, "<now>", "<iso>", note),
        ui.people([("u", evil)], "u"),
        ui.typing(core.typing_line([evil])),
        ui.title(
            {"id": "r", "name": evil, "by": "u", "by_name": evil, "at": None, "archived": False}
        ),
    ):
        assert "<img" not in html and "<script" not in html and "<b>" not in html
        assert '"quoted"' not in html  # quotes too: nothing leaves an attribute
