"""A chat room's message pane, to measure what drawing it costs as the room grows.

    ?room=R&n=100              an st.fragment that draws the newest n messages of room R,
                               read with server_state.tail (only those n are read)
    ?room=R&n=100&mode=whole   the same pane reading the whole room, then slicing it

Messages are appended with ``server_state.append`` (by the benchmark, from
outside); each append reruns the pane in every session showing the room.
The pane ends with ``last=<i of the newest message>`` so a session can tell
which post it shows.
"""

import streamlit as st

from streamlit_redis_state import server_state

params = st.query_params
room = params.get("room", "room")
n = int(params.get("n", "100"))
whole = params.get("mode", "tail") == "whole"

st.title("Room")


@st.fragment
def pane() -> None:
    if whole:
        messages = server_state.get(room, [])[-n:]
    else:
        messages = server_state.tail(room, n)
    for m in messages:
        st.text(f"{m['who']}: {m['text']}")
    st.text(f"last={messages[-1]['i'] if messages else None}")


pane()
