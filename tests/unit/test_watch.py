"""server_state.watch: changes for code outside a page, with the listener's resync guarantee."""

from __future__ import annotations

import threading

import fakeredis
import pytest

from streamlit_redis_state import Changed, Resynced, server_state
from streamlit_redis_state.base import codec
from streamlit_redis_state.engine.hub import Hub

from .conftest import deliver, reconnect, unheard_change

pytestmark = pytest.mark.usefixtures("state")


def test_changes_of_watched_keys_arrive_merged_per_key(state: Hub, other: Hub) -> None:
    with server_state.watch("a", "b") as watch:
        for i in range(3):
            other.set("a", codec.encode(i))
        other.set("ignored", codec.encode(1))
        other.delete("b")  # nothing to delete: no change
        other.set("b", codec.encode("x"))
        deliver(state)
        events = [watch.get(0), watch.get(0), watch.get(0)]
    assert [(e.key, type(e)) for e in events[:2] if e] == [("a", Changed), ("b", Changed)]
    assert events[0] == Changed("a", 3)  # three changes, one event: the latest
    assert events[2] is None


def test_a_reconnect_reports_a_resync_and_what_changed_meanwhile(
    state: Hub, server: fakeredis.FakeServer
) -> None:
    server_state.k = 1
    deliver(state)
    watch = server_state.watch("k", "other")
    unheard_change(server, state, "k", 2)  # missed: the notification is lost
    state.listener.kick()
    reconnect(state)
    assert watch.get(0) == Resynced(("k",))
    assert watch.get(0) == Changed("k", 2)
    watch.close()


def test_watching_every_key_and_iterating_until_quiet(state: Hub, other: Hub) -> None:
    watch = server_state.watch(timeout=0.05)
    other.set("x", codec.encode(1))
    other.set("y", codec.encode(2))
    deliver(state)
    assert [e.key for e in watch if isinstance(e, Changed)] == ["x", "y"]  # then 0.05 s quiet
    watch.close()
    assert watch.closed


def test_the_callback_form_runs_on_its_own_thread(state: Hub, other: Hub) -> None:
    got: list[object] = []
    arrived = threading.Event()

    def on_event(event: object) -> None:
        got.append((event, threading.current_thread().name))
        arrived.set()

    watch = server_state.watch("c", callback=on_event)
    other.set("c", codec.encode(1))
    deliver(state)
    assert arrived.wait(5)
    watch.close()
    assert got == [(Changed("c", 1), "streamlit-redis-state-watch")]


CTRL_C_ELSEWHERE = """
import signal, sys, threading
from streamlit_redis_state.engine.watches import Watch

watch = Watch(None, lambda w: None)
other = threading.Thread(target=threading.Event().wait, daemon=True)  # a library thread, say
other.start()

def ctrl_c_to_the_other_thread():
    while not watch._cond._waiters:  # the main thread waits for an event
        threading.Event().wait(0.01)
    signal.pthread_kill(other.ident, signal.SIGINT)  # where the kernel may deliver it

threading.Thread(target=ctrl_c_to_the_other_thread, daemon=True).start()
try:
    watch.get()
except KeyboardInterrupt:
    sys.exit(0)
sys.exit(1)
"""


def test_ctrl_c_delivered_to_another_thread_ends_a_wait_for_ever() -> None:
    """CI once saw `streamlit-redis-state watch` ignore Ctrl-C for 15 s and more.

    The kernel hands a process's SIGINT to any of its threads. Delivered to
    another one, it interrupts no wait of the main thread, and Python runs
    its handler only when the main thread next wakes: a wait with no
    timeout never did.
    """
    import signal
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_ELSEWHERE],
        timeout=30,
        capture_output=True,
        text=True,
        # A test run started in the background hands its children SIGINT
        # ignored; Python then installs no KeyboardInterrupt handler at all.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert done.returncode == 0, done.stderr
