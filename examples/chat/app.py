"""The multi-replica chat: rooms, nicknames, who is online, and a message pane that is a fragment.

Run it behind nginx with several replicas (`make demo`, or docker compose);
the badge in the sidebar shows which replica served you.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

import streamlit as st

from streamlit_redis_state import leave_presence, presence, server_state

REPLICA = os.environ.get("SRS_REPLICA") or socket.gethostname()
SHOWN = 100  # messages drawn; older ones stay stored
KEPT = 5000  # messages stored per room
ROOMS = "chat:rooms"

st.set_page_config(page_title="Redis chat", page_icon="💬")


def messages_key(room: str) -> str:
    return f"chat:room:{room}"


rooms: list[str] = server_state.setdefault(ROOMS, ["general"])


def create_room() -> None:
    name = (st.session_state.get("new_room") or "").strip()[:40]
    if name:
        with server_state.edit(ROOMS, default=["general"]) as room_list:
            if name not in room_list:
                room_list.append(name)
        st.session_state.room = name
    st.session_state.new_room = ""


with st.sidebar:
    st.badge(f"served by {REPLICA}", icon=":material/dns:")
    nickname = st.text_input("Nickname", key="nickname", max_chars=32).strip()
    room = st.radio("Rooms", rooms, key="room") or rooms[0]
    st.text_input(
        "New room",
        key="new_room",
        on_change=create_room,
        max_chars=40,
        placeholder="name, then Enter",
    )

group = f"room:{room}"
joined = st.session_state.get("joined")
if joined and joined != (group if nickname else None):
    leave_presence(joined)  # switched rooms or cleared the nickname
st.session_state.joined = group if nickname else None

st.header(f"# {room}", anchor=False)


@st.fragment
def online_now() -> None:
    names = presence(group, name=nickname or None)
    st.text("Online now: " + (", ".join(names) if names else "nobody"))


@st.fragment
def message_pane() -> None:
    # Only this fragment reads the messages, so a new message reruns only it:
    # what someone is typing elsewhere on the page is left alone.
    messages = server_state.get(messages_key(room), [])
    if len(messages) > SHOWN:
        st.text(f"… {len(messages) - SHOWN} earlier messages")
    for message in messages[-SHOWN:]:
        mine = bool(nickname) and message["who"] == nickname
        with st.chat_message("user" if mine else "assistant"):
            # st.text never interprets markdown or HTML: user text stays text.
            st.text(f"{message['who']} · {message['at']:%H:%M:%S} UTC")
            st.text(message["text"])


def send() -> None:
    text = (st.session_state.get("draft") or "").strip()
    if not text or not nickname:
        return
    message = {"who": nickname, "text": text[:2000], "at": dt.datetime.now(dt.timezone.utc)}
    # append() sends, publishes and fetches only the new message, however long
    # the room is; every replica's cached copy is extended in place.
    server_state.append(messages_key(room), message, max_len=KEPT)


online_now()
message_pane()
st.chat_input(
    "Message" if nickname else "Set a nickname in the sidebar to chat",
    key="draft",
    on_submit=send,
    disabled=not nickname,
)
