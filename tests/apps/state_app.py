"""The app the integration tests drive; each session's behaviour comes from its query string.

    ?op=set&key=x&val=5   write x (a string) on every run
    &ttl=2                ...with a lifetime of 2 s
    ?op=del&key=x         delete x
    ?op=incr&key=n&tag=t  add 1 to n once per tag, under server_state_lock
    &tag=name             append "name" to $SRS_TEST_RUN_LOG on every run
    &frag=1               read the key inside an st.fragment instead of at top level
    ?op=hold&key=L&secs=9 hold server_state_lock[L] for 9 seconds, then show the key

Library errors are shown with st.error, as an app should: "error: <type>: ...".

Every run ends by showing `key=value` (which subscribes) and the replica.
"""

import os
import time

import streamlit as st

from streamlit_redis_state import ServerStateError, server_state, server_state_lock

params = st.query_params
op = params.get("op", "")
key = params.get("key", "x")
tag = params.get("tag", "")

log = os.environ.get("SRS_TEST_RUN_LOG")
if log and tag:
    with open(log, "a") as f:
        f.write(f"{tag}\n")

st.text(f"replica={os.environ.get('SRS_REPLICA', '?')}")


def show() -> None:
    value = server_state.get(key, "<missing>")
    st.text(f"{key}={value['count'] if isinstance(value, dict) else value}")


try:
    if op == "set" and params.get("ttl"):
        server_state.set(key, params.get("val", ""), ttl=float(params["ttl"]))
    elif op == "set":
        server_state[key] = params.get("val", "")
    elif op == "del":
        server_state.pop(key, None)
    elif op == "hold":
        with server_state_lock[key]:
            server_state[key] = "held"
            time.sleep(float(params.get("secs", "5")))
            server_state[key] = "released"
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

    if params.get("frag"):
        st.fragment(show)()
    else:
        show()
except ServerStateError as exc:
    st.error(f"error: {type(exc).__name__}: {exc}")
