"""Defects the soak tier (tests/soak) found, each reduced to its smallest reproduction.

Each test names the soak round that found it; see the module docstring of
tests/soak/test_soak.py for how to replay one.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from streamlit.runtime.app_session import AppSession

from streamlit_redis_state import StateUnavailable, server_state
from streamlit_redis_state.base import codec
from streamlit_redis_state.edges import bridge
from streamlit_redis_state.engine import cache as cache_module
from streamlit_redis_state.engine.hub import Hub

from .conftest import FakeStreamlit, deliver
from .test_bridge import StubRunner, session  # noqa: F401  (a real AppSession, stub runners)


def test_a_reader_that_shared_a_failed_fetch_reruns_when_redis_is_back(
    state: Hub, st_fake: FakeStreamlit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Soak, seed 20261125 round 9 (replica C's link blackholed for 2.9 s).

    Tabs of one replica that read the same key while Redis is unreachable
    share one fetch (``ProcessCache.fetch_once``). Its failure reaches every
    one of them as StateUnavailable, and each shows the error, but only the
    tab whose thread made the fetch is remembered as failed
    (``RedisStore._errors`` -> ``Hub._note_failure``, for the calling thread
    only). When Redis answers again, ``on_healthy`` reruns the remembered
    tabs; the others keep showing the error for good (the resync that could
    have caught them ran while their read was still waiting). The README
    promises that "sessions that showed the error rerun without anyone
    clicking".
    """
    server_state.k = 1
    deliver(state)
    state.cache.clear()  # the next reads go to Redis

    entered, release, follower_waits = threading.Event(), threading.Event(), threading.Event()
    fetchers: list[str] = []

    def unreachable(key: str, start: int, client: object = None) -> object:
        fetchers.append(threading.current_thread().name)
        entered.set()
        release.wait(10)
        raise redis.TimeoutError("Timeout reading from socket")

    class Done(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            follower_waits.set()  # only a follower waits on a flight
            return super().wait(timeout)

    class Flight(cache_module._Flight):
        def __init__(self) -> None:
            super().__init__()
            self.done = Done()

    monkeypatch.setattr(state.store, "_read_call", unreachable)
    monkeypatch.setattr(cache_module, "_Flight", Flight)

    errors: dict[str, BaseException] = {}

    def tab(sid: str) -> None:
        try:
            st_fake.run_as(sid, lambda: server_state.get("k"))
        except BaseException as exc:
            errors[sid] = exc

    leader = threading.Thread(target=tab, args=("leader",), name="leader")
    follower = threading.Thread(target=tab, args=("follower",), name="follower")
    leader.start()
    assert entered.wait(10)
    follower.start()
    assert follower_waits.wait(10), "the second tab did not join the fetch under way"
    release.set()
    leader.join(10)
    follower.join(10)
    assert set(fetchers) == {"leader"}  # one fetch (and its one retry), shared
    assert isinstance(errors.get("leader"), StateUnavailable)
    assert isinstance(errors.get("follower"), StateUnavailable)  # both tabs show the error

    monkeypatch.undo()  # Redis is back
    st_fake.clear()
    state.on_healthy()  # its first answer to a ping
    assert set(st_fake.rerun_sessions()) == {"leader", "follower"}


def test_two_fragment_reruns_of_an_idle_session_keep_the_first_fragments_output(
    session: tuple[AppSession, list[StubRunner]],  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Soak, seed 20261125 rounds 2, 7, 10 and 28 (a tab keeps an old value for good).

    Keys shown in two fragments of one idle tab change at once (a presence
    group in one, a list in the other), so the bridge asks for both fragment
    reruns in one ``_rerun_now``. The first request starts a new runner; its
    thread runs that fragment and, finding nothing queued, stops, before the
    second request arrives. Streamlit refuses the second request on the
    stopped runner and starts another, and from then on ignores the first
    runner's events: the first fragment's new output never reaches the tab.
    The check added for the same race on a runner the session already had
    (``runner is not None and session._scriptrunner is not runner``) does not
    apply, because the session had no runner before.
    """
    s, runners = session
    real = s.request_rerun
    finished: list[StubRunner] = []

    def racing(client_state: Any) -> None:
        real(client_state)
        first = runners[0] if runners else None
        if first is not None and not finished:
            finished.append(first)
            first.finish_script()  # its thread ran the fragment at once, and stopped

    monkeypatch.setattr(s, "request_rerun", racing)
    bridge._rerun_now(s, {"frag_a", "frag_b"})  # both fragments' keys changed

    assert len(runners) >= 2, "the race did not happen: the second request found the runner"
    latest = runners[-1]
    work = [latest.initial]
    if latest._requests._state.name == "RERUN":
        work.append(latest._requests._rerun_data)
    full = any(not d.fragment_id and not d.fragment_id_queue for d in work)
    fragments = {f for d in work for f in (d.fragment_id, *d.fragment_id_queue) if f}
    assert full or "frag_a" in fragments, (
        "frag_a ran on a runner whose events Streamlit now ignores, and nothing "
        f"redraws it: the current runner only runs {sorted(fragments)}"
    )


@pytest.mark.xfail(
    strict=True,
    reason="Streamlit 1.67: AppSession.request_rerun starts a new runner for a tab's "
    "fragment rerun that a just-finished runner refuses, and drops that runner's "
    "unsent output; no library code is involved (see the docstring)",
)
def test_a_tabs_own_fragment_rerun_after_a_run_finished_keeps_that_runs_output(
    session: tuple[AppSession, list[StubRunner]],  # noqa: F811  (the fixture imported above)
) -> None:
    """Soak with SRS_SOAK_FRAGMENT_WIDGETS=1, seed 20261125 round 7: Streamlit's own race.

    The same race as above, started by the browser instead of the library: a
    run finishes, and before the server's event loop has handled that run's
    events (a busy loop: 24 tabs on two cores), the tab's click on a widget
    inside a fragment arrives. The finished runner refuses the fragment rerun,
    AppSession.request_rerun starts a new runner for it, and
    _handle_scriptrunner_event_on_event_loop ignores the finished runner's
    events from then on: its output (here a full run's) never reaches the tab,
    and nothing repaints it. Only this test's stub runner and Streamlit's own
    AppSession and ScriptRequests are involved. Fixed upstream, AppSession
    would run the refused fragment request as a full rerun (the fragment's
    widget states go with it); the soak keeps its widgets outside fragments
    until then (tests/soak/test_soak.py, FRAGMENT_WIDGETS).
    """
    from streamlit.proto.ClientState_pb2 import ClientState

    s, runners = session
    s.request_rerun(None)  # a full run (say, for a top-level key that changed)...
    runners[0].finish_script()  # ...has finished; its events still wait on the loop
    s.request_rerun(ClientState(fragment_id="frag"))  # the tab's click inside a fragment
    assert len(runners) == 2  # a new runner: the finished one's events are ignored now
    latest = runners[1]
    queued = latest._requests._rerun_data if latest._requests._state.name == "RERUN" else None
    full = [d for d in (latest.initial, queued) if d and not (d.fragment_id or d.fragment_id_queue)]
    assert full, "the finished full run's output is dropped and only the fragment reruns"


@pytest.mark.parametrize("change", ["setdefault", "pop"])
def test_a_change_by_a_replaced_run_reruns_its_own_session(
    state: Hub, st_fake: FakeStreamlit, change: str
) -> None:
    """Soak, seed 20261125 round 20 (with the two fixes above): a tab keeps showing b missing.

    A tab's run works slowly (no st.* call) before it changes b; meanwhile a
    change elsewhere makes Streamlit replace that run (fastReruns), and the
    replacing run draws b. Then the replaced run, which goes on until its
    next st.* call, makes its change. For ``server_state[k] = v`` the writer
    rule treats a superseded run as not drawing the page and reruns the tab
    (tests/integration/test_lost_output.py). But ``setdefault`` and ``pop``
    also record that the caller now shows the value they return
    (``Hub.set_default``: ``subscriptions.add(..., replace=True)``;
    ``Hub.delete(subscribe=True)``), and for a superseded run that record
    replaces the replacing run's: the tab's page is said to show the new
    version, ``stale_for_writer`` finds nothing stale, and nothing reruns it.
    """
    if change == "pop":
        server_state.b = "old"
        deliver(state)
    replacing = object()
    st_fake.run_as("tab", lambda: server_state.get("b"), run=replacing)  # draws b as it is
    st_fake.clear()
    if change == "setdefault":
        st_fake.run_as("tab", lambda: server_state.setdefault("b", "6"), superseded=True)
    else:
        st_fake.run_as("tab", lambda: server_state.pop("b"), superseded=True)
    deliver(state)
    assert "tab" in st_fake.rerun_sessions(), "the tab shows b as it was before, for good"


def test_a_read_by_a_replaced_run_does_not_hide_what_the_tab_shows(
    state: Hub, other: Hub, st_fake: FakeStreamlit
) -> None:
    """The same cause as above, found reading it: a plain read by a replaced run.

    The replacing run draws b at version 1. Another replica changes b, and
    before this process hears of it the replaced run (still going until its
    next st.* call) reads b from Redis at version 2. Recorded as what the
    tab shows, that read would overwrite the replacing run's version 1, and
    the notification of version 2 would then find nothing stale.
    """
    server_state.b = "one"
    deliver(state)
    state.cache.clear()
    replacing = object()
    st_fake.run_as("tab", lambda: server_state.get("b"), run=replacing)  # draws "one"
    other.set("b", codec.encode("two"))  # not heard here yet
    state.cache.clear()  # the replaced run's read goes to Redis
    st_fake.clear()
    assert st_fake.run_as("tab", lambda: server_state.get("b"), superseded=True) == "two"
    deliver(state)
    assert "tab" in st_fake.rerun_sessions(), "the tab shows b as 'one', for good"


def test_a_run_replaced_while_its_write_is_on_the_way_reruns_its_tab(
    state: Hub, st_fake: FakeStreamlit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Soak, seed 20261125 round 45: a tab kept showing a key its own run had deleted.

    The writing run was not yet told to stop when its write began, so the
    writer rule took it for the run that draws the page. During the write's
    round trip Streamlit stopped it and started a new run, which drew the key
    from the cache before the cache learned of the delete. Decided on the
    place taken before the write, the rule reran nothing.
    """
    from dataclasses import replace

    from . import conftest

    server_state.b = "old"
    deliver(state)
    st_fake.run_as("tab", lambda: server_state.get("b"))  # the page shows "old"
    real = state.store.delete

    def delete_while_replaced(key: str, writer: Any) -> Any:
        result = real(key, writer)
        writing = conftest._place.get()
        assert writing is not None
        replacing = object()  # Streamlit stops the writing run and starts this one
        st_fake.run_as("tab", lambda: server_state.get("b"), run=replacing)  # draws "old"
        conftest._place.set(replace(writing, superseded=True))  # the writer, told to stop
        return result

    monkeypatch.setattr(state.store, "delete", delete_while_replaced)
    st_fake.clear()
    st_fake.run_as("tab", lambda: server_state.__delitem__("b"))
    assert "tab" in st_fake.rerun_sessions(), "the tab shows b as 'old', for good"
