"""The app the integration tests drive; each session's behaviour comes from its query string.

    ?op=set&key=x&val=5   write x (a string) on every run
    ?op=del&key=x         delete x
    ?op=incr&key=n&tag=t  add 1 to n once per tag, under server_state_lock
    &tag=name             append "name" to $SRS_TEST_RUN_LOG on every run
    &frag=1               read the key inside an st.fragment instead of at top level

Every run ends by showing `key=value` (which subscribes) and the replica.
"""

import os

import streamlit as st

from streamlit_redis_state import server_state, server_state_lock

params = st.query_params
op = params.get("op", "")
key = params.get("key", "x")
tag = params.get("tag", "")

log = os.environ.get("SRS_TEST_RUN_LOG")
if log and tag:
    with open(log, "a") as f:
        f.write(f"{tag}\n")

if op == "set":
    server_state[key] = params.get("val", "")
elif op == "del":
    server_state.pop(key, None)
elif op == "incr":
    # "Once" is recorded inside the shared value, in the same write: a flag in
    # st.session_state set after the write is not enough, because Streamlit
    # may stop a run at any st.* call or st.session_state access (fastReruns).
    with server_state_lock[key]:
        counter = server_state.get(key, {"count": 0, "by": []})
        if tag not in counter["by"]:
            counter["count"] += 1
            counter["by"].append(tag)
            server_state[key] = counter

st.text(f"replica={os.environ.get('SRS_REPLICA', '?')}")


def show() -> None:
    value = server_state.get(key, "<missing>")
    st.text(f"{key}={value['count'] if isinstance(value, dict) else value}")


if params.get("frag"):
    st.fragment(show)()
else:
    show()
