"""In-process hubs for integration tests: the library in the test process, as a replica.

A :class:`Recorder` is a bridge with one session, 'viewer', that is always
alive and counts the reruns asked for it; :func:`hub_at` starts a hub on a
real Redis with short timeouts and waits until its listener is synced.
"""

from __future__ import annotations

import threading

from streamlit_redis_state.base import codec
from streamlit_redis_state.base.config import resolve
from streamlit_redis_state.edges.bridge import NoSession, ScriptPlace
from streamlit_redis_state.engine.hub import Hub
from support.processes import wait_until

FAST = {"ping_interval": 0.3, "ping_deadline": 1.0, "socket_timeout": 1.0, "connect_timeout": 1.0}


class Recorder(NoSession):
    """A bridge whose one session, 'viewer', is always alive; records reruns."""

    def __init__(self) -> None:
        self.reruns = 0
        self.viewing = threading.local()

    def current_place(self) -> ScriptPlace | None:
        return ScriptPlace("viewer") if getattr(self.viewing, "on", False) else None

    def request_rerun(
        self, session_id: str, fragment_ids: set[str] | None, chain: int | None = 0
    ) -> bool:
        self.reruns += 1
        return True

    def runtime_exists(self) -> bool:
        return True

    def session_active(self, session_id: str) -> bool:
        return True

    def view(self, hub: Hub, key: str) -> object:
        """What the viewer's page shows of ``key`` (reading subscribes it)."""
        self.viewing.on = True
        try:
            snap = hub.read(key)
        finally:
            self.viewing.on = False
        return None if snap.blob is None else codec.decode(snap.blob)


def hub_at(url: str, namespace: str, bridge: Recorder | None = None, **options: object) -> Hub:
    hub = Hub(resolve({"url": url, "namespace": namespace, **FAST, **options}), bridge=bridge)
    hub.start()
    wait_until(lambda: hub.listener.synced, 10, "the listener")
    return hub
