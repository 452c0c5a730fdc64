"""The four classic server-state demos in one multipage app: `streamlit run examples/app.py`."""

import streamlit as st

pages = [
    st.Page("global_counter.py", title="Global counter", icon="🔢"),
    st.Page("chat.py", title="Chat", icon="💬"),
    st.Page("chat_rooms.py", title="Chat rooms", icon="🚪"),
    st.Page("shared_slider.py", title="Shared slider", icon="🎚️"),
]
st.navigation(pages).run()
