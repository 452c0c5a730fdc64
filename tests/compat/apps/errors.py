"""Errors and forced reruns, as anchor users rely on them.

?part=missing  a missing key read by attribute, caught with `except KeyError`; hasattr
?part=force    force_rerun_bound_sessions, and the same inside `with no_rerun:`
"""

import streamlit as st

from streamlit_redis_state import force_rerun_bound_sessions, no_rerun, server_state

part = st.query_params.get("part", "")

if part == "missing":
    try:
        server_state.never_written
        st.text("missing: a value was read")
    except KeyError:
        st.text("missing: KeyError caught")
    st.text(f"hasattr={hasattr(server_state, 'never_written')}")

elif part == "force":
    st.text(f"bound={server_state.get('bound', 0)}")
    if st.button("Force"):
        force_rerun_bound_sessions("bound")
    if st.button("Force quietly"):
        try:
            with no_rerun:
                force_rerun_bound_sessions("bound")
            st.text("quiet force: no exception")
        except Exception as exc:
            st.text(f"quiet force raised {type(exc).__name__}")
