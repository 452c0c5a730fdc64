"""The write and notification paths' shortcuts keep their meaning (edges/store.py, pubsub.py)."""

from __future__ import annotations

import os

import pytest

from streamlit_redis_state import server_state
from streamlit_redis_state.base import codec
from streamlit_redis_state.edges import store
from streamlit_redis_state.edges.pubsub import Kind, Message, Unsubscribed, _message
from streamlit_redis_state.engine.hub import Hub

from .conftest import deliver


def test_request_names_are_unique_and_a_forked_child_draws_its_own() -> None:
    names = {store._unique() for _ in range(10_000)}
    assert len(names) == 10_000
    assert all(len(n) <= 32 and set(n) <= set("0123456789abcdef") for n in names)  # an epoch
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what would its next name be?
        os.write(write, store._unique().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child[:16] != store._unique()[:16]  # not the parent's prefix


def test_raw_pubsub_replies_become_messages() -> None:
    assert _message([b"message", b"srs:{t}:events", b"SRS1 u k"]) == Message(
        Kind.MESSAGE, b"SRS1 u k"
    )
    assert _message(["message", "srs:{t}:events", "text"]) == Message(Kind.MESSAGE, b"text")
    assert _message([b"subscribe", b"srs:{t}:events", 1]) == Message(Kind.SUBSCRIBED)
    assert _message([b"pong", b"srs"]) == Message(Kind.PONG)
    assert _message(b"PONG") == Message(Kind.PONG)
    assert _message([b"smessage", b"c", b"x"]) == Message(Kind.MESSAGE, b"x")
    assert _message([b"ssubscribe", b"c", 1]) == Message(Kind.SUBSCRIBED)
    assert _message([b"psubscribe", b"c", 1]) is None  # not one the listener uses
    for kind in (b"unsubscribe", b"sunsubscribe"):  # never asked for: the slot moved
        with pytest.raises(Unsubscribed, match=r"srs:\{t\}:events"):
            _message([kind, b"srs:{t}:events", 0], "srs:{t}:events")


def test_every_script_outcome_is_known() -> None:
    for outcome in store.Outcome:
        assert store.OUTCOMES[int(outcome)] is outcome


def test_a_write_after_redis_lost_its_scripts_loads_them_again(state: Hub, other: Hub) -> None:
    """Writes call EVALSHA themselves: a Redis that restarted (SCRIPT FLUSH here) answers
    NOSCRIPT, and the write loads the script and goes through, once."""
    server_state["k"] = 1
    state.store.client.script_flush()
    server_state["k"] = 2  # NOSCRIPT, load, EVALSHA again
    server_state["k"] = 3  # loaded: straight through
    deliver(other)
    assert codec.decode(other.read("k").blob) == 3
