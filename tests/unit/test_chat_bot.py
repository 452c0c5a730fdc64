"""The chat's bot (examples/chat/bot.py) on fakeredis: annotations, its place, catching up."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "chat"))

import bot as moodbot
import chat_core as core

from streamlit_redis_state import server_state

pytestmark = pytest.mark.usefixtures("state")

ROOM = "general"


def post(*texts: str) -> list[str]:
    messages: list[Any] = [
        {
            "id": core.new_id(),
            "uid": "u",
            "who": "alice",
            "text": t,
            "at": dt.datetime.now(dt.timezone.utc),
        }
        for t in texts
    ]
    server_state.append(core.messages_key(ROOM), *messages, max_len=core.KEPT)
    return [m["id"] for m in messages]


def notes() -> list[dict[str, Any]]:
    return server_state.tail(core.moods_key(ROOM), 10_000)


def test_each_message_gets_one_emoji_in_order() -> None:
    bot = moodbot.MoodBot()
    ids = post("I love it!", "this is awful and sad", "the meeting is at 3", "where is it?")
    assert bot.catch_up(ROOM) == 4
    assert [n["id"] for n in notes()] == ids
    assert [n["emoji"] for n in notes()] == ["😄", "😢", "😐", "🤔"]
    assert bot.catch_up(ROOM) == 0  # nothing new: nothing written


def test_a_new_bot_starts_where_the_last_one_stopped() -> None:
    first = moodbot.MoodBot()
    ids = post("one", "two")
    first.catch_up(ROOM)
    del first  # killed: its place is in the shared state, not in it
    ids += post("three", "four", "five")
    assert moodbot.MoodBot().catch_up(ROOM) == 3
    assert [n["id"] for n in notes()] == ids


def test_catching_up_reads_back_only_as_far_as_needed() -> None:
    bot = moodbot.MoodBot()
    post(*[f"m{i}" for i in range(300)])
    bot.catch_up(ROOM)
    new = post("late one", "late two")
    assert [m["id"] for m in bot.unannotated(ROOM, notes()[-1]["id"])] == new
    assert bot.unannotated(ROOM, new[-1]) == []


def test_a_place_trimmed_away_means_every_kept_message_is_new() -> None:
    bot = moodbot.MoodBot()
    ids = post("a", "b")
    assert [m["id"] for m in bot.unannotated(ROOM, "gone-long-ago")] == ids


def test_the_rooms_it_looks_at() -> None:
    now = dt.datetime.now(dt.timezone.utc)
    room = core.new_room("lunch", "u", "alice", now)
    server_state[core.ROOMS] = [room, "legacy"]
    assert moodbot.MoodBot().room_ids() == ["general", room["id"]]
