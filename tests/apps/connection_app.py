"""An app that reaches the state through st.connection, configured by its folder's secrets.toml.

Run it from a folder whose .streamlit/secrets.toml has a [connections.redis_state]
section with `type = "streamlit_redis_state.RedisStateConnection"` (so
`st.connection("redis_state")` needs no type=), a url and a namespace.

    ?key=x              show x, read through the connection and through server_state
    ?op=set&key=x&val=v first write x through the connection

Every run shows whether the connection and the module-level server_state share
one hub, then the key as read by each, and as read by a second connection
whose namespace comes from its keyword arguments.
"""

import os

import streamlit as st

from streamlit_redis_state import RedisStateConnection, server_state
from streamlit_redis_state.engine.process import get_hub

conn = st.connection("redis_state")
other = st.connection("other", type=RedisStateConnection, namespace="conn-other")

params = st.query_params
key = params.get("key", "x")
if params.get("op") == "set":
    conn.server_state[key] = params.get("val", "")

st.text(f"replica={os.environ.get('SRS_REPLICA', '?')}")
st.text(f"same_hub={conn._instance is get_hub()}")
st.text(f"conn:{key}={conn.server_state.get(key, '<missing>')}")
st.text(f"module:{key}={server_state.get(key, '<missing>')}")
st.text(f"other:{key}={other.server_state.get(key, '<missing>')}")
