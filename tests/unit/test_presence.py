"""Presence: join, look, leave, heartbeats and expiry, across two hubs on one fake Redis."""

from __future__ import annotations

from collections.abc import Iterator

import fakeredis
import pytest

from streamlit_redis_state import ServerStateError, join_presence, presence
from streamlit_redis_state.engine import process
from streamlit_redis_state.engine.hub import Hub

from .conftest import FakeStreamlit, deliver, make_hub, other_process


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
    st_fake.disconnect("b")  # bob's tab closed
    deliver(fast)
    assert st_fake.run_as("c", lambda: presence("room")) == ["alice"]


def test_membership_changes_rerun_the_viewers(fast: Hub, st_fake: FakeStreamlit) -> None:
    st_fake.run_as("viewer", lambda: presence("room", name="vera"))
    deliver(fast)
    st_fake.clear()
    st_fake.run_as("b", lambda: presence("room", name="bob"))
    deliver(fast)
    assert st_fake.rerun_sessions() == ["viewer"]
    st_fake.clear()
    st_fake.disconnect("b")
    deliver(fast)
    assert st_fake.rerun_sessions() == ["viewer"]


def test_one_person_in_two_tabs_is_listed_once(fast: Hub, st_fake: FakeStreamlit) -> None:
    st_fake.run_as("t1", lambda: presence("r", name="alice"))
    assert st_fake.run_as("t2", lambda: presence("r", name="alice")) == ["alice"]


def expire_all(server: fakeredis.FakeServer, hub: Hub, group: str) -> None:
    """Every member's lease runs out, as it does when heartbeats stop (Redis's clock)."""
    raw = fakeredis.FakeRedis(server=server)
    seconds, micros = raw.time()
    past = seconds * 1000 + micros // 1000 - 1
    key = hub.store.keyspace.presence_members(group)
    raw.zadd(key, {m: past for m in raw.zrange(key, 0, -1)})


def test_heartbeats_keep_members_past_the_ttl(
    fast: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    st_fake.run_as("a", lambda: presence("hb", name="alice"))
    expire_all(server, fast, "hb")
    fast.members.beat()  # the heartbeat renews (re-adds) the process's own members
    assert st_fake.run_as("x", lambda: presence("hb")) == ["alice"]


def test_a_dead_replicas_members_expire_and_viewers_rerun(
    fast: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    other = other_process(server, presence_ttl=0.6)
    # "dead" joins through the other hub, which then stops renewing (it died).
    other.store.presence_join("room", f"{other.process_id}:dead", "ghost", 600)
    other.close()
    deliver(fast)
    assert "ghost" in st_fake.run_as("v", lambda: presence("room", name="vera"))
    deliver(fast)
    st_fake.clear()
    expire_all(server, fast, "room")
    fast.members.beat()  # renews vera, reaps the ghost of a group this process shows
    deliver(fast)
    assert st_fake.rerun_sessions() == ["v"]
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
    deliver(fast)
    st_fake.clear()
    assert st_fake.run_as("b", lambda: presence("room", name="bob")) == ["bob", "quinn"]
    deliver(fast)
    assert "quiet" not in st_fake.rerun_sessions()
