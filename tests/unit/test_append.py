"""server_state.append: atomic appends whose cost does not grow with the list."""

from __future__ import annotations

import threading

import fakeredis
import pytest

from streamlit_redis_state import LockLost, server_state, server_state_lock
from streamlit_redis_state.base import codec
from streamlit_redis_state.engine.hub import Hub

from .conftest import FakeStreamlit, deliver


def test_append_builds_a_list_that_reads_like_any_value(state: Hub) -> None:
    assert server_state.append("log", {"m": 1}) == 1
    assert server_state.append("log", {"m": 2}, (3, "t")) == 3
    assert server_state.log == [{"m": 1}, {"m": 2}, (3, "t")]
    assert server_state.to_dict() == {"log": [{"m": 1}, {"m": 2}, (3, "t")]}
    assert "log" in server_state and list(server_state) == ["log"]


def test_append_converts_a_plain_list_once_and_refuses_other_values(state: Hub) -> None:
    server_state.l = [1, 2]
    assert server_state.append("l", 3) == 3
    assert server_state.l == [1, 2, 3]
    server_state.d = {"a": 1}
    with pytest.raises(TypeError, match="holds a dict"):
        server_state.append("d", 1)
    assert server_state.d == {"a": 1}


def test_set_delete_pop_and_setdefault_on_an_appended_list(state: Hub) -> None:
    server_state.append("q", 1, 2)
    assert server_state.setdefault("q", []) == [1, 2]
    server_state.q = ["replaced"]
    assert server_state.q == ["replaced"]
    server_state.append("q", "more")
    assert server_state.pop("q") == ["replaced", "more"]
    assert "q" not in server_state
    server_state.append("q", "again")
    del server_state.q
    assert "q" not in server_state


def test_concurrent_appends_lose_nothing(state: Hub) -> None:
    def work(n: int) -> None:
        for i in range(50):
            server_state.append("c", (n, i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(server_state.c) == sorted((n, i) for n in range(4) for i in range(50))


def test_other_processes_fetch_only_the_new_items(
    state: Hub, st_fake: FakeStreamlit, other: Hub
) -> None:
    other.append("room", [codec.encode({"i": i}) for i in range(1000)], 0)
    deliver(state)
    st_fake.run_as("reader", lambda: server_state.room)  # full read, cached
    calls: list[int] = []
    real = state.store.read_tail

    def spy(key: str, start: int):  # type: ignore[no-untyped-def]
        calls.append(start)
        return real(key, start)

    state.store.read_tail = spy  # type: ignore[method-assign]
    full_reads = state.stats.redis_reads
    other.append("room", [codec.encode({"i": 1000})], 0)
    deliver(state)
    assert st_fake.rerun_sessions() == ["reader"]
    value = st_fake.run_as("reader", lambda: server_state.room)
    assert value[-1] == {"i": 1000} and len(value) == 1001
    assert calls == [1000]  # one tail read, from where our copy ended
    assert state.stats.redis_reads == full_reads + 1


def test_a_list_replaced_and_regrown_is_never_spliced(
    state: Hub, st_fake: FakeStreamlit, other: Hub
) -> None:
    other.append("r", [codec.encode(i) for i in range(3)], 0)
    deliver(state)
    assert st_fake.run_as("s", lambda: server_state.r) == [0, 1, 2]
    other.delete("r")
    other.append("r", [codec.encode(x) for x in "abcd"], 0)
    deliver(state)
    assert server_state.r == ["a", "b", "c", "d"]


def test_writer_extends_its_own_cache_without_reading(state: Hub) -> None:
    server_state.append("w", 0)
    deliver(state)
    assert server_state.w == [0]
    reads = state.stats.redis_reads
    for i in range(1, 20):
        server_state.append("w", i)
        assert server_state.w == list(range(i + 1))
        deliver(state)
    assert state.stats.redis_reads == reads


def test_append_under_a_lost_lock_is_fenced(state: Hub, server: fakeredis.FakeServer) -> None:
    server_state.append("f", 1)
    with pytest.raises(LockLost):
        with server_state_lock["f"]:
            fakeredis.FakeRedis(server=server).set(state.store.keyspace.lock("f"), "thief")
            server_state.append("f", 2)
    assert server_state.f == [1]


def test_max_len_keeps_the_newest_items(state: Hub) -> None:
    for i in range(25):
        server_state.append("capped", i, max_len=5)
    value = server_state.capped
    assert value == list(range(25))[-len(value) :]
    assert 5 <= len(value) <= 10
    with pytest.raises(ValueError):
        server_state.append("capped", 1, max_len=0)


def test_tail_reads_only_the_items_it_returns(
    state: Hub, st_fake: FakeStreamlit, other: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(50):
        other.append("room", [codec.encode(i)], 0)
    deliver(state)
    seen: list[int] = []
    real = state.store.read_last

    def spy(key: str, n: int):  # type: ignore[no-untyped-def]
        snap = real(key, n)
        seen.append(snap.count)
        return snap

    monkeypatch.setattr(state.store, "read_last", spy)
    assert st_fake.run_as("pane", lambda: server_state.tail("room", 3)) == [47, 48, 49]
    assert st_fake.run_as("pane", lambda: server_state.length("room")) == 50
    assert seen == [3]  # three items moved; the length came with them
    assert server_state.tail("room", 3) == [47, 48, 49]  # a second reader: from the cache
    assert seen == [3]
    other.append("room", [codec.encode(50)], 0)
    deliver(state)
    assert st_fake.rerun_sessions() == ["pane"]  # reading the tail subscribed it
    assert server_state.tail("room", 3) == [48, 49, 50]
    assert server_state.tail("room", 100)[:2] == [0, 1] and server_state.tail("room", 0) == []
    assert server_state.tail("missing", 5) == [] and server_state.length("missing") == 0
    server_state.plain = [1, 2, 3]
    assert server_state.tail("plain", 2) == [2, 3] and server_state.length("plain") == 3
