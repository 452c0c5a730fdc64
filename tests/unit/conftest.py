"""Unit tier: every test gets its own embedded fakeredis and a fake Streamlit bridge."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import fakeredis
import pytest

from streamlit_redis_state import bridge, hub
from streamlit_redis_state.bridge import ScriptPlace

_place: contextvars.ContextVar[ScriptPlace | None] = contextvars.ContextVar("place", default=None)


@dataclass
class FakeStreamlit:
    """Stands in for the Streamlit runtime: who is running, and which reruns were asked."""

    alive: set[str] = field(default_factory=set)
    reruns: list[tuple[str, frozenset[str] | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

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


@pytest.fixture
def st_fake(monkeypatch: pytest.MonkeyPatch) -> FakeStreamlit:
    fake = FakeStreamlit()

    def request_rerun(sid: str, frags: set[str] | None) -> bool:
        if sid not in fake.alive:
            return False
        with fake.lock:
            fake.reruns.append((sid, None if frags is None else frozenset(frags)))
        return True

    monkeypatch.setattr(bridge, "current_place", lambda: _place.get())
    monkeypatch.setattr(bridge, "request_rerun", request_rerun)
    monkeypatch.setattr(bridge, "runtime_exists", lambda: True)
    monkeypatch.setattr(bridge, "watch_disconnect", lambda sid: None)
    return fake


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def state(server: fakeredis.FakeServer, st_fake: FakeStreamlit) -> Iterator[hub.Hub]:
    """A fresh hub on a fresh fake Redis; yields the hub once its listener is synced."""
    hub.reconfigure(
        {"namespace": "t", "lock_lease": 1.5, "lock_timeout": 2.0},
        client=fakeredis.FakeRedis(server=server),
    )
    h = hub.get_hub()
    assert h.listener.wait_synced(5)
    yield h
    hub.reconfigure({}, client=None)


def other_process(server: fakeredis.FakeServer, **overrides: object) -> hub.Hub:
    """A second hub on the same fake Redis: another replica, as far as the library can tell."""
    from streamlit_redis_state.config import resolve

    settings = resolve({"namespace": "t", "lock_lease": 1.5, "lock_timeout": 2.0, **overrides})
    h = hub.Hub(settings, fakeredis.FakeRedis(server=server))
    assert h.listener.wait_synced(5)
    return h


def wait_until(cond: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def settle(h: hub.Hub) -> None:
    """Wait until the hub's listener has handled every notification published so far."""
    seq = h.store.sync_state([])[0]
    wait_until(lambda: (h.listener.last_seq or 0) >= seq, what=f"notification {seq}")
