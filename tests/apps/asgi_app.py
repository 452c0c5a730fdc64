"""The same test app, served as an ASGI app by uvicorn (st.App mode: a Runtime but no Server)."""

import streamlit as st

app = st.App("state_app.py")
