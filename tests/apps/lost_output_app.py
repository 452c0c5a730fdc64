"""Apps for tests/integration/test_lost_output.py; ?mode= picks one.

mode=race        K at top level, M in a fragment. The run that first sees K == "2"
                 recreates the timing a busy event loop produces under load: a
                 fragment rerun for this session waits on the busy loop while
                 this run finishes.
mode=superseded  the run that sees J == "1" works slowly (no st.* call), then
                 writes K; a change of J meanwhile makes Streamlit replace it.
mode=derived     a fragment computes K from M; the page shows K at top level.
"""

import threading
import time

import streamlit as st
from streamlit.runtime import Runtime

from streamlit_redis_state import server_state
from streamlit_redis_state.engine.process import get_hub

mode = st.query_params.get("mode", "")
k = server_state.get("K", "-")

if mode == "race" and k == "2" and not st.session_state.get("raced"):
    st.session_state.raced = True
    bridge = get_hub().bridge
    sid = bridge.current_place().session_id
    Runtime.instance().get_app_session(sid)._event_loop.call_soon_threadsafe(time.sleep, 1.0)
    threading.Thread(target=lambda: server_state.__setitem__("M", "m2")).start()
    deadline = time.time() + 3
    while sid not in bridge._pending and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)

st.text(f"K={k}")

if mode == "superseded":
    j = server_state.get("J", "0")
    st.text(f"J={j}")
    if j == "1":
        time.sleep(1.0)
        server_state["K"] = "bumped"


@st.fragment
def pane() -> None:
    m = server_state.get("M", "-")
    st.text(f"M={m}")
    if mode == "derived":
        server_state["K"] = f"k{m}"


pane()
