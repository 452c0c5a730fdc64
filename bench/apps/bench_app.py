"""The app every benchmark drives, for both libraries (SRS_BENCH_IMPL=anchor selects the original).

    ?op=post&id=N         a "post" button whose callback adds message N to the room (lock,
                          read, write: the same logic for both), as a chat's send button does
    ?op=presence&id=N     join presence (ours only) and read the room, for the memory cycles
    ?op=stats             show this process's subscription and presence counts (ours only)
    ?op=gcstats           full collections so far and their CPU time (with SRS_BENCH_GC_PROBE),
                          objects the collector tracks, objects frozen
    ?op=renew             (ours) what a renewal of the gc freeze frees now: objects, RSS
    ?key=k                just read key k
Every run shows `last=<id of the newest message>` (reading subscribes).
"""

import gc
import os
import time
from pathlib import Path

import streamlit as st

if os.environ.get("SRS_BENCH_GC_PROBE"):
    import gc_probe  # noqa: F401  (this folder is on sys.path: the script's own)

if os.environ.get("SRS_BENCH_IMPL") == "anchor":
    from streamlit_server_state import server_state, server_state_lock
else:
    from streamlit_redis_state import server_state, server_state_lock

    log = os.environ.get("SRS_BENCH_RERUN_LOG")
    if log:
        # Notify latency ends when the listener asks Streamlit to rerun: stamp it.
        from streamlit_redis_state.edges.bridge import StreamlitBridge

        if not getattr(StreamlitBridge.request_rerun, "stamped", False):
            real = StreamlitBridge.request_rerun

            def stamped(self, *args, _real=real, _log=log, **kwargs):
                with open(_log, "a") as f:
                    f.write(f"{time.time():.6f}\n")
                return _real(self, *args, **kwargs)

            stamped.stamped = True
            StreamlitBridge.request_rerun = stamped

params = st.query_params
op = params.get("op", "")
key = params.get("key", "")

if key:
    st.text(f"{key}={server_state.get(key)}")
    st.stop()


def rss_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))


if op == "gcstats":
    import sys

    probe = sys.modules.get("gc_probe")
    count = getattr(probe, "full_collections", -1)
    cpu = getattr(probe, "full_cpu", 0.0) * 1000
    st.text(f"gc collections={count} cpu_ms={cpu:.1f} objects={len(gc.get_objects())}")
    st.text(f"frozen={gc.get_freeze_count()} rss_kb={rss_kb()}")
    st.stop()
if op == "renew":
    before = rss_kb()
    gc.unfreeze()
    freed = gc.collect()
    gc.freeze()
    st.text(f"renewed freed={freed} rss_before_kb={before} rss_after_kb={rss_kb()}")
    st.stop()

with server_state_lock["room"]:
    if "room" not in server_state:
        server_state["room"] = []


def post() -> None:
    # In a callback, like a chat's send button: the rerun that follows shows the post,
    # and a rerun pushed by someone else's change does not post again.
    with server_state_lock["room"]:
        server_state["room"] = server_state["room"] + [{"id": int(params["id"]), "text": "hello"}]


if op == "post":
    st.button("post", on_click=post)
elif op == "presence":
    from streamlit_redis_state import join_presence

    join_presence("bench", f"user{params.get('id', '0')}")
elif op == "stats":
    from streamlit_redis_state.engine.process import get_hub

    hub = get_hub()
    st.text(f"sessions={hub.session_count()} members={hub.members.member_count()}")

messages = server_state["room"]
st.text(f"last={messages[-1]['id'] if messages else None}")
