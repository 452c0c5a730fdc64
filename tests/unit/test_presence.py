"""Presence: join, look, leave, heartbeats and expiry, across two hubs on one fake Redis."""

from __future__ import annotations

from collections.abc import Iterator

import fakeredis
import pytest

from streamlit_redis_state import ServerStateError, join_presence, presence
from streamlit_redis_state.engine import process
from streamlit_redis_state.engine.hub import Hub

from .conftest import FakeStreamlit, make_hub, other_process, settle, wait_until


@pytest.fixture
def fast(server: fakeredis.FakeServer, st_fake: FakeStreamlit) -> Iterator[Hub]:
    h = make_hub(server, st_fake, presence_ttl=0.6)
    process.install(h)
    yield h
    process.install(None)
    h.close()


def test_join_look_and_leave(fast: Hub, st_fake: FakeStreamlit) -> None:
    assert st_fake.run_as("a", lambda: presence("room", name="alice")) == ["alice"]
    assert st_fake.run_as("b", lambda: presence("room", name="bob")) == ["alice", "bob"]
    assert st_fake.run_as("c", lambda: presence("room")) == ["alice", "bob"]  # looking only
    fast.drop_session("b")  # bob's tab closed
    wait_until(lambda: st_fake.run_as("c", lambda: presence("room")) == ["alice"], 3, "bob gone")


def test_membership_changes_rerun_the_viewers(fast: Hub, st_fake: FakeStreamlit) -> None:
    st_fake.run_as("viewer", lambda: presence("room", name="vera"))
    settle(fast)
    st_fake.clear()
    st_fake.run_as("b", lambda: presence("room", name="bob"))
    st_fake.wait_reruns({"viewer"})
    assert "b" not in st_fake.rerun_sessions()
    st_fake.clear()
    fast.drop_session("b")
    st_fake.wait_reruns({"viewer"})


def test_one_person_in_two_tabs_is_listed_once(fast: Hub, st_fake: FakeStreamlit) -> None:
    st_fake.run_as("t1", lambda: presence("r", name="alice"))
    assert st_fake.run_as("t2", lambda: presence("r", name="alice")) == ["alice"]


def test_heartbeats_keep_members_past_the_ttl(fast: Hub, st_fake: FakeStreamlit) -> None:
    import time

    st_fake.run_as("a", lambda: presence("hb", name="alice"))
    time.sleep(fast.settings.presence_ttl * 2.5)
    assert st_fake.run_as("x", lambda: presence("hb")) == ["alice"]


def test_a_dead_replicas_members_expire_and_viewers_rerun(
    fast: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    other = other_process(server, presence_ttl=0.6)
    # "dead" joins through the other hub, which then stops renewing (it died).
    other.store.presence_join("room", f"{other.process_id}:dead", "ghost", 600)
    other.close()
    assert "ghost" in st_fake.run_as("v", lambda: presence("room", name="vera"))
    settle(fast)
    st_fake.clear()
    st_fake.wait_reruns({"v"}, timeout=5)
    assert st_fake.run_as("v", lambda: presence("room")) == ["vera"]


def test_bad_arguments(fast: Hub, st_fake: FakeStreamlit) -> None:
    with pytest.raises(ValueError):
        presence("")
    with pytest.raises(ValueError):
        st_fake.run_as("a", lambda: presence("room", name="  "))
    with pytest.raises(ServerStateError, match="script run"):
        presence("room", name="nobody")  # no session here


def test_join_without_watching_is_not_rerun_by_others(fast: Hub, st_fake: FakeStreamlit) -> None:
    st_fake.run_as("quiet", lambda: join_presence("room", "quinn"))
    settle(fast)
    st_fake.clear()
    assert st_fake.run_as("b", lambda: presence("room", name="bob")) == ["bob", "quinn"]
    settle(fast)
    assert "quiet" not in st_fake.rerun_sessions()
