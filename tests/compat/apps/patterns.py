"""Patterns that anchor users write, one per `?p=`.

?p=votes      (e) the value is drawn ABOVE the button that changes it
?p=fragment   (g) a button inside an st.fragment writes a key the top level shows
?p=thread     (h) a thread with the session's script run context writes a key 6 times
?p=cache      (j) st.cache_resource.clear() from a button, then live updates
?p=visits     (k) the script counts its own runs in server_state at the top level
?p=watch-visits   shows the visits counter without writing it
?p=fight&me=x (l) the script writes its own value to a shared key at the top level
"""

import threading
import time

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx

from streamlit_redis_state import server_state, server_state_lock

pattern = st.query_params.get("p", "")

if pattern == "votes":
    if "votes" not in server_state:
        server_state.votes = 0
    st.metric("Votes", server_state.votes)
    if st.button("Vote"):
        server_state.votes += 1

elif pattern == "fragment":
    st.text(f"fragment_clicks={server_state.get('fragment_clicks', 0)}")

    @st.fragment
    def panel() -> None:
        if st.button("Click in fragment"):
            with server_state_lock["fragment_clicks"]:
                server_state.fragment_clicks = server_state.get("fragment_clicks", 0) + 1
        st.text("the fragment ran")

    panel()

elif pattern == "thread":
    if "ticks" not in server_state:
        server_state.ticks = 0

    def tick() -> None:
        for _ in range(6):
            time.sleep(0.1)
            with server_state_lock["ticks"]:
                server_state.ticks += 1

    if st.button("Start"):
        worker = threading.Thread(target=tick)
        add_script_run_ctx(worker)
        worker.start()
    st.text(f"ticks={server_state.ticks}")

elif pattern == "cache":
    if st.button("Clear cache"):
        st.cache_resource.clear()
    if st.button("Bump"):
        with server_state_lock["bumps"]:
            server_state.bumps = server_state.get("bumps", 0) + 1
    st.text(f"bumps={server_state.get('bumps', 0)}")

elif pattern == "visits":
    server_state.visits = server_state.get("visits", 0) + 1
    st.text(f"visits={server_state.visits}")

elif pattern == "watch-visits":
    st.text(f"visits={server_state.get('visits', 0)}")

elif pattern == "fight":
    server_state.fight = st.query_params.get("me", "?")
    st.text(f"fight={server_state.fight}")
