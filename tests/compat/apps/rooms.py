"""(c) Chat rooms: a room list anyone extends, and one message list per room."""

import streamlit as st

from streamlit_redis_state import server_state, server_state_lock

with server_state_lock["rooms"]:
    if "rooms" not in server_state:
        server_state["rooms"] = []


def add_room() -> None:
    name = st.session_state["new_room"].strip()
    if name:
        with server_state_lock["rooms"]:
            if name not in server_state["rooms"]:
                server_state["rooms"] = server_state["rooms"] + [name]
    st.session_state["new_room"] = ""


st.text_input("New room", key="new_room", on_change=add_room)

rooms = server_state["rooms"]
st.text("rooms: " + ", ".join(rooms))
if not rooms:
    st.stop()

room = st.radio("Room", rooms, key="room")
nickname = st.text_input("Nickname", value="anonymous")
room_key = f"room_{room}"

message = st.chat_input("Message")
if message:
    with server_state_lock[room_key]:
        server_state[room_key] = server_state.get(room_key, []) + [f"{nickname}: {message}"]

st.text(f"in room {room}")
for line in server_state.get(room_key, []):
    st.text(line)
