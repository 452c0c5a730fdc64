"""Whom a change reruns: stale pages only, the writer's own page included, and no endless chains."""

from __future__ import annotations

import threading

import pytest

from streamlit_redis_state import (
    force_rerun_bound_sessions,
    no_rerun,
    server_state,
)
from streamlit_redis_state.base.errors import RerunSuppressed
from streamlit_redis_state.engine.hub import MAX_CHAIN, Hub

from .conftest import FakeStreamlit, deliver

pytestmark = pytest.mark.usefixtures("state")


def reruns(st_fake: FakeStreamlit, state: Hub) -> list[tuple[str, frozenset[str] | None]]:
    """The reruns asked for once every notification so far has been handled; then forget them."""
    deliver(state)
    with st_fake.lock:
        out = list(st_fake.reruns)
        st_fake.reruns.clear()
    return out


def test_a_write_after_the_run_drew_the_key_reruns_the_writer(
    st_fake: FakeStreamlit, state: Hub
) -> None:
    """st.metric(server_state.votes) above `if st.button(): server_state.votes += 1`."""
    server_state.votes = 0
    deliver(state)

    def vote() -> None:
        shown = server_state.votes  # drawn above the button
        server_state.votes = shown + 1  # the click

    st_fake.run_as("writer", vote)
    st_fake.run_as("other", lambda: server_state.votes)
    assert reruns(st_fake, state) == [("writer", None)]  # other already shows 1


def test_a_write_before_the_run_draws_the_key_reruns_nobody_of_its_own(
    st_fake: FakeStreamlit, state: Hub
) -> None:
    """A callback (on_click) writes first; the run then draws the new value itself."""
    server_state.count = 0
    st_fake.run_as("reader", lambda: server_state.count)
    deliver(state)
    st_fake.run_as("writer", lambda: server_state.count)  # an earlier run drew it
    deliver(state)

    run = object()
    # on_click runs before the script body: what it reads is not drawn.
    st_fake.run_as(
        "writer",
        lambda: server_state.__setitem__("count", server_state.get("count", 0) + 1),
        run=run,
        drawing=False,
    )
    assert st_fake.run_as("writer", lambda: server_state.count, run=run) == 1  # the body
    assert reruns(st_fake, state) == [("reader", None)]


def test_a_fragment_write_reruns_the_writers_top_level(st_fake: FakeStreamlit, state: Hub) -> None:
    run = object()
    st_fake.run_as("s", lambda: server_state.get("total"), run=run)  # the top level shows it
    st_fake.run_as("s", lambda: server_state.get("pane"), fragment="f", run=run)
    deliver(state)
    # Later, a fragment-only run: its button changes what the top level shows.
    st_fake.run_as(
        "s",
        lambda: server_state.__setitem__("total", 1),
        fragment="f",
        fragment_run=frozenset({"f"}),
    )
    assert reruns(st_fake, state) == [("s", None)]


def test_a_fragment_write_of_its_own_key_reruns_nothing_more(
    st_fake: FakeStreamlit, state: Hub
) -> None:
    st_fake.run_as("s", lambda: server_state.get("pane"), fragment="f")
    deliver(state)
    st_fake.run_as(
        "s",
        lambda: server_state.__setitem__("pane", 1),
        fragment="f",
        fragment_run=frozenset({"f"}),
    )
    assert reruns(st_fake, state) == []


def test_a_worker_thread_with_the_sessions_context_reruns_it(
    st_fake: FakeStreamlit, state: Hub
) -> None:
    run = object()
    st_fake.run_as("s", lambda: server_state.get("progress"), run=run)
    deliver(state)

    def worker() -> None:  # add_script_run_ctx(thread): the session's place, another thread
        for i in range(3):
            st_fake.run_as(
                "s",
                lambda i=i: server_state.__setitem__("progress", i),
                run=run,
                script_thread=False,
            )

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert {sid for sid, _ in reruns(st_fake, state)} == {"s"}


def test_readers_already_showing_the_new_version_are_not_rerun(
    st_fake: FakeStreamlit, state: Hub, other: Hub
) -> None:
    from streamlit_redis_state.base import codec

    other.set("k", codec.encode(1))
    # The reader reads before its process heard of the change: it shows it already.
    st_fake.run_as("late", lambda: server_state.get("k"))
    assert st_fake.run_as("late", lambda: server_state.get("k")) == 1
    assert reruns(st_fake, state) == []


def test_a_top_level_self_increment_stops_after_a_bounded_chain(
    st_fake: FakeStreamlit, state: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    """`server_state.visits = server_state.get("visits", 0) + 1` at the top of a script."""

    def script() -> None:
        server_state.visits = server_state.get("visits", 0) + 1

    st_fake.run_as("watcher", lambda: server_state.get("visits"))
    runs = 0
    st_fake.run_as("s", script)  # the person opens the page
    runs += 1
    while pending := [sid for sid, _ in reruns(st_fake, state)]:
        if "watcher" in pending:  # a reader: rerun by every change, the last one included
            shown = st_fake.run_as("watcher", lambda: server_state.get("visits"))
        if "s" not in pending:
            break
        st_fake.run_as("s", script, chain=st_fake.chains["s"])  # a run a change started
        runs += 1
        assert runs < 10, "the chain never stopped"
    assert shown == MAX_CHAIN + 1  # the reader shows the last value
    assert runs == MAX_CHAIN + 1
    assert server_state.visits == MAX_CHAIN + 1
    assert "server_state['visits']: stopped a chain" in caplog.text
    # A new action by the person starts a new chain.
    st_fake.run_as("s", script)
    assert sorted(sid for sid, _ in reruns(st_fake, state)) == ["s", "watcher"]


def test_two_scripts_writing_one_key_at_their_top_level_stop_rerunning_each_other(
    st_fake: FakeStreamlit, state: Hub
) -> None:
    """Anchor issues 168 and 228: each session's script writes its own value to one key."""

    def script(value: str) -> None:
        server_state.owner = value
        server_state.owner

    st_fake.run_as("a", lambda: script("a"))
    st_fake.run_as("b", lambda: script("b"))
    total = 2
    while pending := reruns(st_fake, state):
        for sid, _ in pending:
            st_fake.run_as(sid, lambda sid=sid: script(sid), chain=st_fake.chains[sid])
            total += 1
        assert total < 20, "the sessions kept rerunning each other"
    assert total <= 2 * (MAX_CHAIN + 1)


def test_force_rerun_reruns_every_bound_session_the_caller_included(
    st_fake: FakeStreamlit, state: Hub
) -> None:
    server_state.f = 1
    deliver(state)
    st_fake.run_as("b", lambda: server_state.f)
    run = object()
    st_fake.run_as("a", lambda: server_state.f, run=run)
    st_fake.run_as("a", lambda: force_rerun_bound_sessions("f"), run=run)
    assert sorted(sid for sid, _ in reruns(st_fake, state)) == ["a", "b"]


def test_force_rerun_inside_no_rerun_raises(state: Hub) -> None:
    with no_rerun, pytest.raises(RerunSuppressed):
        force_rerun_bound_sessions("f")


def test_quiet_writes_rerun_nobody_not_even_a_stale_writer(
    st_fake: FakeStreamlit, state: Hub
) -> None:
    st_fake.run_as("b", lambda: server_state.get("q"))

    def quietly() -> None:
        server_state.get("q")
        with no_rerun:
            server_state.q = 1

    st_fake.run_as("a", quietly)
    assert reruns(st_fake, state) == []


def test_a_write_by_a_run_streamlit_replaced_reruns_the_page(
    st_fake: FakeStreamlit, state: Hub
) -> None:
    """fastReruns: the new run drew the key, then the replaced run wrote it."""
    server_state.k = 0
    deliver(state)
    st_fake.run_as("s", lambda: server_state.k)  # the new run has drawn k = 0
    st_fake.run_as("s", lambda: server_state.__setitem__("k", 1), superseded=True)  # the old
    assert reruns(st_fake, state) == [("s", None)]


def test_a_persons_click_starts_a_new_chain_whatever_reruns_came_before(
    st_fake: FakeStreamlit, state: Hub
) -> None:
    """Quick clicks on `if st.button(): server_state.count += 1` with the count drawn above."""
    server_state.count = 0
    deliver(state)
    st_fake.run_as("b", lambda: server_state.count)

    def click() -> None:
        server_state.count += 1  # reads, then writes: the writer reruns

    for expected in range(1, 6):
        st_fake.run_as("a", click)  # a person's click: chain 0, whatever is pending
        assert ("b", None) in reruns(st_fake, state), f"click {expected} did not reach b"
    assert server_state.count == 5
