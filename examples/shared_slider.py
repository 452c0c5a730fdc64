"""One slider, shared: move it here and it moves for everyone."""

import streamlit as st

from streamlit_redis_state import server_state

st.title("Shared slider")


def publish() -> None:
    server_state.slider = st.session_state.slider


# Before the widget is drawn, take the shared value (which subscribes).
st.session_state.slider = server_state.setdefault("slider", 50)
st.slider("Everyone sees this value", 0, 100, key="slider", on_change=publish)
