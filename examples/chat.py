"""One chat room for everyone."""

import datetime as dt

import streamlit as st

from streamlit_redis_state import server_state

MAX_MESSAGES = 500

st.title("Chat")
nickname = st.text_input("Nickname", key="nickname", max_chars=32)


def send() -> None:
    text = st.session_state.get("draft")
    if not text or not nickname:
        return
    message = {"who": nickname, "text": text, "at": dt.datetime.now(dt.timezone.utc)}
    # edit() locks, reads, lets us change the list, and writes it back: no
    # message is lost when two people send at the same moment.
    with server_state.edit("chat:messages", default=[]) as messages:
        messages.append(message)
        del messages[:-MAX_MESSAGES]


st.chat_input(
    "Say something" if nickname else "Set a nickname first",
    key="draft",
    on_submit=send,
    disabled=not nickname,
)

for message in server_state.get("chat:messages", []):
    with st.chat_message("user" if message["who"] == nickname else "assistant"):
        # st.text shows user input literally: no markdown, no HTML.
        st.text(f"{message['who']} · {message['at']:%H:%M:%S}")
        st.text(message["text"])
