"""(b) One chat room: a nickname, a message box that posts on Enter, the messages.

The message is posted from the text input's callback, which then empties the
box, and the list is replaced (never mutated in place) under its lock.
"""

import streamlit as st

from streamlit_redis_state import server_state, server_state_lock

with server_state_lock["chat_messages"]:
    if "chat_messages" not in server_state:
        server_state["chat_messages"] = []

nickname = st.text_input("Nickname", value="anonymous")


def post() -> None:
    text = st.session_state["message"]
    if not text:
        return
    with server_state_lock["chat_messages"]:
        server_state["chat_messages"] = server_state["chat_messages"] + [
            {"nickname": nickname, "text": text}
        ]
    st.session_state["message"] = ""


st.text_input("Message", key="message", on_change=post)

for message in server_state["chat_messages"]:
    st.text(f"{message['nickname']}: {message['text']}")
