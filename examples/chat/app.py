"""The multi-replica chat: rooms, nicknames, who is here, who is typing, and moodbot's emoji.

Run it behind nginx with several replicas (``make demo``, or docker compose);
the badge in the sidebar shows which replica served you. ``bot.py`` is the
worker that adds an emoji to each message; chat_core.py says which keys hold
what.

What each part reads decides what a change reruns: the room list and who is
in the room are read at the top level (a change reruns the page), the
messages inside the pane's fragment, and who is typing inside a fragment of
its own. Nothing that others do reruns the chat input, so typing is never
disturbed.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chat_core as core
import ui

from streamlit_redis_state import (
    configure,
    join_presence,
    leave_presence,
    presence,
    server_state,
)

REPLICA = os.environ.get("SRS_REPLICA") or socket.gethostname()

# Presence members whose replica dies are gone after presence_ttl: 5 s
# rather than 15, so a crashed replica's people (and their "is typing…")
# do not linger. Where Redis is comes from the environment, as before.
configure(presence_ttl=5)

st.set_page_config(page_title="Redis chat", page_icon="💬")
st.html(ui.CSS)

# -- who is here ----------------------------------------------------------------

if "uid" not in st.session_state:
    cookie = st.context.cookies.get("srs_route")  # nginx's sticky-session cookie: one per browser
    st.session_state.uid = core.browser_id(cookie, uuid.uuid4().hex)
uid: str = st.session_state.uid
tz_name: str | None = st.context.timezone
nickname = core.one_line(st.session_state.get("nickname") or "", core.MAX_NICK)

# -- rooms (read here: creating or archiving one reruns every page) --------------

records = core.room_records(server_state.get(core.ROOMS, []))
rooms = core.active_rooms(records)
by_id = {r["id"]: r for r in rooms}
current: str = st.session_state.get("room", core.GENERAL_ID)
if current not in by_id:
    if any(r["id"] == current for r in records):
        st.toast("The room you were in was archived by its creator. You are back in general.")
    current = st.session_state.room = core.GENERAL_ID
room = by_id[current]
group, typing_group = f"room:{current}", f"typing:{current}"

previous = st.session_state.get("groups")
if previous and previous != [group, typing_group]:
    for old in previous:
        leave_presence(old)  # switched rooms
st.session_state.groups = [group, typing_group]

# -- nickname: one person per nickname in a room ----------------------------------

names = presence(group)  # look first; reading subscribes: joins and leaves rerun this page
can_post = False
if nickname and core.nickname_free(names, uid, nickname):
    names = presence(group, name=core.member(uid, nickname))  # join (or stay), and list
    can_post = True
else:
    leave_presence(group)  # no nickname, or someone online here already has it
    leave_presence(typing_group)
st.session_state.can_post = can_post
st.session_state.me = nickname

# -- callbacks ---------------------------------------------------------------------


def pick_room() -> None:
    picked = st.session_state.rooms.picked
    if picked:
        st.session_state.room = picked


def create_room() -> None:
    name = core.one_line(st.session_state.get("new_room") or "", core.MAX_ROOM)
    st.session_state.room_note = None
    if not name:
        st.session_state.room_note = "Type a name for the new room first."
        return
    with server_state.edit(core.ROOMS, default=[]) as stored:
        existing = core.room_records(stored)
        same = [r for r in core.active_rooms(existing) if core.fold(r["name"]) == core.fold(name)]
        if same:
            target = same[0]["id"]
            st.session_state.room_note = "That room exists already: here it is."
        else:
            made = core.new_room(name, uid, nickname, dt.datetime.now(dt.timezone.utc))
            stored.append(made)
            target = made["id"]
    st.session_state.room = target


def archive_room(room_id: str) -> None:
    with server_state.edit(core.ROOMS, default=[]) as stored:
        for r in stored:
            if isinstance(r, dict) and r.get("id") == room_id and r.get("by") == uid:
                r["archived"] = True
    st.session_state.room = core.GENERAL_ID


def show_earlier(room_id: str) -> None:
    shown: dict[str, int] = st.session_state.setdefault("shown", {})
    shown[room_id] = shown.get(room_id, core.PAGE) + core.PAGE


def on_typing(room_id: str) -> None:
    state = st.session_state.get(f"typing-{room_id}")
    typing = bool(state is not None and state.get("typing"))
    me = st.session_state.get("me")
    if typing and me and st.session_state.get("can_post"):
        join_presence(f"typing:{room_id}", core.member(uid, me))
    else:
        leave_presence(f"typing:{room_id}")


def send() -> None:
    text = (st.session_state.get("draft") or "").strip()
    me = st.session_state.get("me")
    if not text or not me or not st.session_state.get("can_post"):
        return
    room_id = st.session_state.get("room", core.GENERAL_ID)
    message: core.Message = {
        "id": core.new_id(),
        "uid": uid,
        "who": me,
        "text": text[: core.MAX_TEXT],
        "at": dt.datetime.now(dt.timezone.utc),
    }
    # append() sends, publishes and fetches only the new message, however long
    # the room is; every replica's cached copy is extended in place.
    server_state.append(core.messages_key(room_id), message, max_len=core.KEPT)
    leave_presence(f"typing:{room_id}")


# -- fragments ----------------------------------------------------------------------


@lru_cache(maxsize=512)
def avatar(nickname: str) -> str:
    return core.avatar_svg(nickname)


@st.fragment
def bot_status() -> None:
    # The bot renews chat:bot while it runs; when it stops, the key expires
    # and this fragment reruns on every replica.
    st.html(ui.bot(bool(server_state.get(core.BOT))))


@st.fragment
def message_pane(room_id: str, tz_name: str | None) -> None:
    # Only this fragment reads the messages and the moods, so a new message or
    # emoji reruns only it: what someone is typing is left alone.
    key = core.messages_key(room_id)
    wanted = st.session_state.get("shown", {}).get(room_id, core.PAGE)
    # tail() reads only the messages drawn, however long the room is.
    messages: list[Any] = [m for m in server_state.tail(key, wanted) if core.is_message(m)]
    earlier = server_state.length(key) - len(messages)
    # The bot appends one note per message, in order: the last len(messages)
    # notes are those of the messages drawn (fewer while it catches up).
    moods = core.mood_notes(server_state.tail(core.moods_key(room_id), len(messages)))
    tz = core.zone(tz_name)
    now = dt.datetime.now(dt.timezone.utc)
    with st.container(height=480, key="pane", border=False):
        if earlier > 0:
            st.button(
                f"Show earlier messages ({earlier} more)",
                key="earlier",
                icon=":material/history:",
                type="tertiary",
                on_click=show_earlier,
                args=(room_id,),
            )
        if not messages:
            st.html('<div class="chat-empty">No messages yet. Say hello!</div>')
        for m in messages:
            with st.chat_message(m["who"], avatar=avatar(m["who"])):
                when = core.local_time(m["at"], tz, now)
                st.html(ui.meta(m, when, m["at"].isoformat(), moods.get(m["id"])))
                st.text(m["text"])  # never Markdown or HTML


@st.fragment
def typing_area(room_id: str, can_post: bool) -> None:
    names = presence(f"typing:{room_id}")  # look only: a fragment of its own reruns
    others = [nick for who, nick in core.online_nicknames(names) if who != uid]
    st.html(ui.typing(core.typing_line(others)))
    if can_post:
        ui.typing_reporter(
            key=f"typing-{room_id}",
            data={"room": room_id},
            on_typing_change=lambda: on_typing(room_id),
        )


# -- the page ------------------------------------------------------------------------

with st.sidebar:
    st.markdown("### 💬 Redis chat")
    st.badge(f"served by {REPLICA}", icon=":material/dns:")
    st.text_input(
        "Nickname", key="nickname", max_chars=core.MAX_NICK, placeholder="What should we call you?"
    )
    if nickname and not can_post:
        st.warning(
            "Someone in this room already goes by that nickname. Pick another one to post here.",
            icon=":material/person_off:",
        )
    st.markdown("**Rooms**")
    ui.room_list(
        key="rooms",
        data={"rooms": [{"id": r["id"], "name": r["name"]} for r in rooms], "current": current},
        on_picked_change=pick_room,
    )
    with st.form("new_room_form", clear_on_submit=True, border=False, enter_to_submit=True):
        st.text_input(
            "New room",
            key="new_room",
            max_chars=core.MAX_ROOM,
            placeholder="Name a new room",
            label_visibility="collapsed",
        )
        st.form_submit_button("Create room", icon=":material/add:", on_click=create_room)
    note = st.session_state.get("room_note")
    if note:
        st.caption(note)
        st.session_state.room_note = None
    st.divider()
    bot_status()

head, actions = st.columns([5, 1], vertical_alignment="center")
with head:
    st.html(ui.title(room))
if room.get("by") == uid:
    with actions, st.popover("Archive", icon=":material/archive:", use_container_width=True):
        st.text("Archive this room for everyone? It leaves the list; its messages are kept.")
        st.button("Archive room", type="primary", on_click=archive_room, args=(current,))
st.html(ui.people(core.online_nicknames(names), uid))

message_pane(current, tz_name)
typing_area(current, can_post)

if not nickname:
    placeholder = "Choose a nickname in the sidebar to chat"
elif not can_post:
    placeholder = "Your nickname is taken in this room: pick another one"
else:
    placeholder = f"Message #{room['name']}"
st.chat_input(
    placeholder, key="draft", on_submit=send, disabled=not can_post, max_chars=core.MAX_TEXT
)
