"""A counter every visitor shares, on every replica."""

import streamlit as st

from streamlit_redis_state import server_state, server_state_lock

st.title("Global counter")
st.caption("Open this page in two tabs (or on two replicas) and click.")


def add(delta: int) -> None:
    # The lock makes read-add-write exact even when many people click at once.
    with server_state_lock["count"]:
        server_state.count = server_state.get("count", 0) + delta


left, right = st.columns(2)
left.button("Increment", on_click=add, args=(1,), use_container_width=True)
right.button("Decrement", on_click=add, args=(-1,), use_container_width=True)
st.metric("Count", server_state.get("count", 0))
