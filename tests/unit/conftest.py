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

from streamlit_redis_state.base import codec
from streamlit_redis_state.base.config import resolve
from streamlit_redis_state.base.keys import SEQ_FIELD
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
    #: The chain depth of the last rerun asked for each session (the run it starts has it).
    chains: dict[str, int] = field(default_factory=dict)

    # -- the Bridge protocol -------------------------------------------------

    def current_place(self) -> ScriptPlace | None:
        return _place.get()

    def yield_point(self) -> None:
        self.on_yield()

    def watch_disconnect(self, session_id: str) -> None:
        pass

    def set_release_callback(self, callback: Callable[[str], None]) -> None:
        self.release_callbacks.append(callback)

    def request_rerun(
        self, session_id: str, fragment_ids: set[str] | None, chain: int | None = 0
    ) -> bool:
        if session_id not in self.alive:
            return False
        with self.lock:
            self.reruns.append(
                (session_id, None if fragment_ids is None else frozenset(fragment_ids))
            )
            self.chains[session_id] = chain or 0
        return True

    def runtime_exists(self) -> bool:
        return True

    def session_active(self, session_id: str) -> bool:
        return session_id in self.alive

    def attach_logging(self, logger_name: str) -> None:
        pass

    # -- for tests -----------------------------------------------------------

    def session(
        self,
        sid: str,
        fragment: str | None = None,
        *,
        run: object = None,
        fragment_run: frozenset[str] | None = None,
        script_thread: bool = True,
        drawing: bool = True,
        superseded: bool = False,
        chain: int = 0,
    ) -> contextvars.Token[ScriptPlace | None]:
        """Code from here on runs in session ``sid``: in a new run unless ``run`` is given.

        ``drawing=False`` is a widget callback: it runs before the script body.
        """
        self.alive.add(sid)
        place = ScriptPlace(
            sid, fragment, run or object(), fragment_run, script_thread, drawing, superseded, chain
        )
        return _place.set(place)

    def run_as(
        self,
        sid: str,
        fn: Callable[[], object],
        fragment: str | None = None,
        **how: object,
    ) -> object:
        """Call ``fn`` as session ``sid`` (a new run, unless ``run=`` continues one)."""
        token = self.session(sid, fragment, **how)  # type: ignore[arg-type]
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

    def assert_reruns(self, expected: set[str]) -> None:
        got = set(self.rerun_sessions())
        assert expected <= got, f"expected reruns of {expected}, got {sorted(got)}"


SETTINGS = {"namespace": "t", "lock_lease": 1.5, "lock_timeout": 2.0}


class Clock:
    """A monotonic clock that follows real time, and can be jumped ahead.

    Waits keep working in real time; a test that needs a long pause (a lease
    running out) jumps instead of sleeping.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def st_fake() -> FakeStreamlit:
    return FakeStreamlit()


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_hub(
    server: fakeredis.FakeServer,
    bridge: FakeStreamlit,
    clock: Callable[[], float] = time.monotonic,
    **overrides: object,
) -> Hub:
    """A hub on the shared fake Redis, subscribed and synced, with no thread running.

    Notifications wait in its subscription until :func:`deliver` hands them
    over, in the test's own thread.
    """
    h = Hub(
        resolve({**SETTINGS, **overrides}),
        fakeredis.FakeRedis(server=server),
        bridge=bridge,
        clock=clock,
    )
    reconnect(h)
    return h


def reconnect(h: Hub) -> None:
    """A new subscription, and the resync its confirmation starts."""
    h.listener.connect()
    h.listener.drain()
    assert h.listener.synced


def deliver(*hubs: Hub) -> None:
    """Hand every waiting notification to each hub's sink, now."""
    for h in hubs:
        h.listener.drain()


@pytest.fixture
def state(server: fakeredis.FakeServer, st_fake: FakeStreamlit, clock: Clock) -> Iterator[Hub]:
    """A fresh hub on a fresh fake Redis, installed as the process's hub."""
    h = make_hub(server, st_fake, clock)
    process.install(h)
    yield h
    process.install(None)
    h.close()


@pytest.fixture
def other(server: fakeredis.FakeServer) -> Iterator[Hub]:
    """A second hub on the same fake Redis: another replica, with sessions of its own."""
    h = make_hub(server, FakeStreamlit())
    yield h
    h.close()


def other_process(server: fakeredis.FakeServer, **overrides: object) -> Hub:
    """Like the ``other`` fixture, with settings of its own; the caller closes it."""
    return make_hub(server, FakeStreamlit(), **overrides)


def unheard_change(server: fakeredis.FakeServer, hub: Hub, key: str, value: object) -> int:
    """A change made the way the scripts make it, but published nowhere; its sequence.

    What a process sees after missing a notification (a dropped connection).
    """
    raw = fakeredis.FakeRedis(server=server)
    ks = hub.store.keyspace
    raw.set(ks.value(key), codec.encode(value))
    raw.sadd(ks.keys, key)
    raw.hincrby(ks.meta, key, 1)
    return int(raw.hincrby(ks.meta, SEQ_FIELD, 1))


def notification(
    key: str, version: int, seq: int, epoch: str, origin: str = "", depth: int = 1
) -> bytes:
    """A change notification as the scripts publish it (docs/internals.md, "Wire format")."""
    return f"SRS1 c {seq} {version} {depth} 0 - - {epoch} {origin} {key}".encode()
