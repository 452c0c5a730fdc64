"""(a) A global counter: anyone's click adds one for everyone.

Written as a streamlit-server-state user writes it; only the import line names
this library. The lock is taken by attribute (`server_state_lock.count`).
"""

import streamlit as st

from streamlit_redis_state import server_state, server_state_lock

if "count" not in server_state:
    server_state.count = 0

if st.button("Increment"):
    with server_state_lock.count:
        server_state.count += 1

st.text(f"count={server_state.count}")
