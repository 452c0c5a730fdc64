"""(d, f) A shared slider: its default is the shared value, and its value is written back."""

import streamlit as st

from streamlit_redis_state import server_state

if "slider_value" not in server_state:
    server_state.slider_value = 50

v = st.slider("Shared", 0, 100, value=server_state.slider_value)
server_state.slider_value = v
st.text(f"slider_value={v}")
