"""Unit tier: every test gets its own embedded fakeredis and a fake Streamlit bridge.

The fake is handed to the hub (no monkeypatching): it says which session a
call runs in, records the reruns asked for, and can stand in for Streamlit's
stop checkpoint.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import fakeredis
import pytest

from streamlit_redis_state.base.config import resolve
from streamlit_redis_state.edges.bridge import ScriptPlace
from streamlit_redis_state.engine import process
from streamlit_redis_state.engine.hub import Hub

_place: contextvars.ContextVar[ScriptPlace | None] = contextvars.ContextVar("place", default=None)


@dataclass
class FakeStreamlit:
    """Stands in for the Streamlit runtime: who is running, and which reruns were asked."""

    alive: set[str] = field(default_factory=set)
    reruns: list[tuple[str, frozenset[str] | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Called at every yield point (lock waits); may raise like Streamlit's StopException.
    on_yield: Callable[[], None] = lambda: None
    release_callbacks: list[Callable[[str], None]] = field(default_factory=list)

    # -- the Bridge protocol -------------------------------------------------

    def current_place(self) -> ScriptPlace | None:
        return _place.get()

    def yield_point(self) -> None:
        self.on_yield()

    def watch_disconnect(self, session_id: str) -> None:
        pass

    def set_release_callback(self, callback: Callable[[str], None]) -> None:
        self.release_callbacks.append(callback)

    def request_rerun(self, session_id: str, fragment_ids: set[str] | None) -> bool:
        if session_id not in self.alive:
            return False
        with self.lock:
            self.reruns.append(
                (session_id, None if fragment_ids is None else frozenset(fragment_ids))
            )
        return True

    def runtime_exists(self) -> bool:
        return True

    # -- for tests -----------------------------------------------------------

    def session(
        self, sid: str, fragment: str | None = None
    ) -> contextvars.Token[ScriptPlace | None]:
        self.alive.add(sid)
        return _place.set(ScriptPlace(sid, fragment))

    def run_as(self, sid: str, fn: Callable[[], object], fragment: str | None = None) -> object:
        token = self.session(sid, fragment)
        try:
            return fn()
        finally:
            _place.reset(token)

    def disconnect(self, sid: str) -> None:
        """The tab closes: the runtime forgets it and the release hooks fire."""
        self.alive.discard(sid)
        for callback in self.release_callbacks:
            callback(sid)

    def rerun_sessions(self) -> list[str]:
        with self.lock:
            return [sid for sid, _ in self.reruns]

    def clear(self) -> None:
        with self.lock:
            self.reruns.clear()

    def wait_reruns(self, expected: set[str], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if expected <= set(self.rerun_sessions()):
                return
            time.sleep(0.01)
        raise AssertionError(f"expected reruns of {expected}, got {self.rerun_sessions()}")


SETTINGS = {"namespace": "t", "lock_lease": 1.5, "lock_timeout": 2.0}


@pytest.fixture
def st_fake() -> FakeStreamlit:
    return FakeStreamlit()


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


def make_hub(server: fakeredis.FakeServer, bridge: FakeStreamlit, **overrides: object) -> Hub:
    """A started hub on the shared fake Redis: one process, as far as the library can tell."""
    h = Hub(resolve({**SETTINGS, **overrides}), fakeredis.FakeRedis(server=server), bridge=bridge)
    h.start()
    assert h.listener.wait_synced(5)
    return h


@pytest.fixture
def state(server: fakeredis.FakeServer, st_fake: FakeStreamlit) -> Iterator[Hub]:
    """A fresh hub on a fresh fake Redis, installed as the process's hub, synced."""
    h = make_hub(server, st_fake)
    process.install(h)
    yield h
    process.install(None)
    h.close()


def other_process(server: fakeredis.FakeServer, **overrides: object) -> Hub:
    """A second hub on the same fake Redis: another replica (its sessions are not ours)."""
    return make_hub(server, FakeStreamlit(), **overrides)


def wait_until(cond: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def settle(h: Hub) -> None:
    """Wait until the hub's listener has handled every notification published so far."""
    seq = h.store.sync_state([])[0]
    wait_until(lambda: (h.listener.last_seq or 0) >= seq, what=f"notification {seq}")
