"""Chat rooms: create one or join one; the room list is shared too."""

import datetime as dt

import streamlit as st

from streamlit_redis_state import server_state

st.title("Chat rooms")

rooms = server_state.get("rooms:list", [])


def create_room() -> None:
    name = (st.session_state.get("new_room") or "").strip()
    if name:
        with server_state.edit("rooms:list", default=[]) as room_list:
            if name not in room_list:
                room_list.append(name)
        st.session_state.room = name
    st.session_state.new_room = ""


with st.sidebar:
    room = st.radio("Rooms", rooms, key="room") if rooms else None
    st.text_input("New room", key="new_room", on_change=create_room, max_chars=40)

if not room:
    st.info("Create a room in the sidebar.")
    st.stop()

st.header(room)
nickname = st.text_input("Nickname", key="nickname", max_chars=32)
key = f"rooms:{room}:messages"


def send() -> None:
    text = st.session_state.get("draft")
    if text and nickname:
        message = {"who": nickname, "text": text, "at": dt.datetime.now(dt.timezone.utc)}
        with server_state.edit(key, default=[]) as messages:
            messages.append(message)
            del messages[:-500]


st.chat_input("Message", key="draft", on_submit=send, disabled=not nickname)
for message in server_state.get(key, []):
    with st.chat_message("user" if message["who"] == nickname else "assistant"):
        st.text(f"{message['who']} · {message['at']:%H:%M:%S}")
        st.text(message["text"])
