"""(i) Two pages (st.navigation): page one changes a key, page two shows it."""

import streamlit as st

from streamlit_redis_state import server_state, server_state_lock


def one() -> None:
    st.text("page one")
    if st.button("Raise"):
        with server_state_lock["level"]:
            server_state.level = server_state.get("level", 0) + 1
    st.text(f"level={server_state.get('level', 0)}")


def two() -> None:
    st.text("page two")
    st.text(f"level={server_state.get('level', 0)}")
    st.text(f"query={st.query_params.to_dict()}")


st.navigation(
    [
        st.Page(one, title="One", url_path="one", default=True),
        st.Page(two, title="Two", url_path="two"),
    ]
).run()
