"""Subscriptions, reruns, the process cache and resync, with the listener fed real and hand-made events."""

from __future__ import annotations

import threading

import fakeredis
import pytest

from streamlit_redis_state import no_rerun, server_state
from streamlit_redis_state.base import codec
from streamlit_redis_state.engine.hub import Hub

from .conftest import FakeStreamlit, deliver, notification, reconnect, unheard_change


def read_as(st_fake: FakeStreamlit, sid: str, key: str, fragment: str | None = None) -> object:
    return st_fake.run_as(sid, lambda: server_state.get(key), fragment)


def write_from(h: Hub, key: str, value: object) -> None:
    h.set(key, codec.encode(value))


def test_write_in_one_process_reruns_readers_in_another(
    state: Hub, st_fake: FakeStreamlit, other: Hub
) -> None:
    read_as(st_fake, "s1", "x")
    read_as(st_fake, "s2", "x")
    read_as(st_fake, "s3", "unrelated")
    write_from(other, "x", 1)
    deliver(state)
    assert sorted(st_fake.rerun_sessions()) == ["s1", "s2"]
    assert read_as(st_fake, "s1", "x") == 1


def test_background_thread_writes_rerun_everyone(state: Hub, st_fake: FakeStreamlit) -> None:
    read_as(st_fake, "a", "job")
    t = threading.Thread(target=lambda: server_state.__setitem__("job", "done"))
    t.start()
    t.join()
    deliver(state)
    assert st_fake.rerun_sessions() == ["a"]


def test_no_change_and_no_rerun_writes_rerun_nobody(state: Hub, st_fake: FakeStreamlit) -> None:
    server_state.v = 1
    deliver(state)
    read_as(st_fake, "a", "v")
    server_state.v = 1  # same bytes
    with no_rerun:
        server_state.v = 2
    deliver(state)
    assert st_fake.rerun_sessions() == []
    assert read_as(st_fake, "a", "v") == 2  # the quiet write still invalidated the cache


def test_delete_reruns_subscribers_who_see_it_missing(state: Hub, st_fake: FakeStreamlit) -> None:
    server_state.d = 1
    deliver(state)
    read_as(st_fake, "a", "d")
    del server_state.d
    deliver(state)
    assert st_fake.rerun_sessions() == ["a"]
    assert st_fake.run_as("a", lambda: "d" in server_state) is False


def test_fragment_reads_rerun_only_the_fragment(state: Hub, st_fake: FakeStreamlit) -> None:
    read_as(st_fake, "a", "pane", fragment="frag1")
    read_as(st_fake, "b", "pane")
    read_as(st_fake, "c", "pane", fragment="frag1")
    read_as(st_fake, "c", "pane")  # read at top level too: whole app wins
    server_state.pane = 1
    deliver(state)
    got = dict(st_fake.reruns)
    assert got == {"a": frozenset({"frag1"}), "b": None, "c": None}


def test_disconnected_sessions_are_dropped(state: Hub, st_fake: FakeStreamlit) -> None:
    read_as(st_fake, "gone", "x")
    read_as(st_fake, "here", "x")
    st_fake.disconnect("gone")  # the tab closes: the release hook fires
    server_state.x = 1
    deliver(state)
    assert st_fake.rerun_sessions() == ["here"]
    assert "gone" not in state.subscribers("x")


def test_sessions_found_gone_at_rerun_time_are_dropped(state: Hub, st_fake: FakeStreamlit) -> None:
    read_as(st_fake, "ghost", "x")
    st_fake.alive.discard("ghost")
    server_state.x = 1
    deliver(state)
    assert "ghost" not in state.subscribers("x")


def test_cache_serves_many_readers_with_one_redis_read(state: Hub, st_fake: FakeStreamlit) -> None:
    server_state.hot = "v1"
    before = state.stats.redis_reads
    for i in range(20):
        assert read_as(st_fake, f"s{i}", "hot") == "v1"
    assert state.stats.redis_reads - before == 0  # the write itself filled the cache


def test_cache_is_invalidated_by_another_process(
    state: Hub, st_fake: FakeStreamlit, other: Hub
) -> None:
    server_state.k = 1
    deliver(state)
    read_as(st_fake, "a", "k")
    write_from(other, "k", 2)
    deliver(state)
    assert st_fake.rerun_sessions() == ["a"]
    before = state.stats.redis_reads
    assert [read_as(st_fake, f"r{i}", "k") for i in range(10)] == [2] * 10
    assert state.stats.redis_reads - before == 1


def test_concurrent_misses_share_one_fetch(state: Hub, other: Hub) -> None:
    write_from(other, "shared", list(range(1000)))
    deliver(state)
    before = state.stats.redis_reads
    barrier = threading.Barrier(16)

    def reader() -> None:
        barrier.wait()
        server_state.get("shared")

    threads = [threading.Thread(target=reader) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.stats.redis_reads - before == 1


def test_reconnect_resyncs_and_reruns_what_changed_meanwhile(
    state: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    server_state.a = 1
    server_state.b = 1
    deliver(state)
    read_as(st_fake, "sa", "a")
    read_as(st_fake, "sb", "b")
    # A change nobody hears about: written with the script but published
    # where this listener is not subscribed.
    unheard_change(server, state, "a", 2)
    resyncs = state.stats.resyncs
    state.listener.kick()
    reconnect(state)
    assert state.stats.resyncs == resyncs + 1
    assert st_fake.rerun_sessions() == ["sa"]
    assert read_as(st_fake, "sa", "a") == 2


def test_sequence_gap_triggers_resync(
    state: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    server_state.g = 1
    deliver(state)
    read_as(st_fake, "s", "g")
    # A missed change...
    seq = unheard_change(server, state, "g", 5)
    # ...then a later notification for another key reveals the gap.
    resyncs = state.stats.resyncs
    raw = fakeredis.FakeRedis(server=server)
    raw.publish(
        state.store.keyspace.channel,
        notification("other", 1, seq + 1, state.cache.epoch or ""),
    )
    deliver(state)
    assert state.stats.resyncs == resyncs + 1
    assert st_fake.rerun_sessions() == ["s"]
    assert read_as(st_fake, "s", "g") == 5


def test_epoch_change_reruns_everyone_and_drops_the_cache(
    state: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    server_state.e = 1
    deliver(state)
    read_as(st_fake, "s1", "e")
    read_as(st_fake, "s2", "other")
    raw = fakeredis.FakeRedis(server=server)
    raw.flushall()  # Redis restarted without persistence
    state.listener.kick()
    reconnect(state)
    assert sorted(st_fake.rerun_sessions()) == ["s1", "s2"]
    assert read_as(st_fake, "s1", "e") is None


GARBAGE = {
    "not ours": b"not a notification",
    "old json": b'{"k": "x", "v": 1, "s": 9, "o": "", "q": 0, "e": "ab"}',
    "bytes": b"\xff\xfe",
    "lone surrogate key": b"SRS1 c 9 1 1 0 - - abcd : bad\xed\xa0\x80key",  # r05b
    "lone surrogate unlock": b"SRS1 u \xed\xa0\x80",
    "exponent number": b"SRS1 c 1e+14 1 1 0 - - abcd : x",  # r17 as cjson wrote it
    "huge number": b"SRS1 c 99999999999999999999 1 1 0 - - abcd : x",
    "too many digits": b"SRS1 c " + b"9" * 400 + b" 1 1 0 - - abcd : x",
    "deep json": b"[" * 100_000,  # r16
    "too large": b"SRS1 c 9 1 1 0 - - abcd : " + b"k" * 20_000,
    "bad origin": b"SRS1 c 9 1 1 0 - - abcd no-colon x",
    "bad quiet": b"SRS1 c 9 1 1 2 - - abcd : x",
    "bad counts": b"SRS1 c 9 1 1 0 x 3 abcd : x",
    "empty key": b"SRS1 c 9 1 1 0 - - abcd : ",
    "NUL key": b"SRS1 c 9 1 1 0 - - abcd : a\x00b",
    "empty group": b"SRS1 c 9 1 1 0 - - abcd : \x00presence:",
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_notifications_are_ignored(
    state: Hub,
    st_fake: FakeStreamlit,
    server: fakeredis.FakeServer,
    garbage: bytes,
) -> None:
    from streamlit_redis_state.edges.notification import rejections

    read_as(st_fake, "s", "x")
    before = rejections()
    raw = fakeredis.FakeRedis(server=server)
    raw.publish(state.store.keyspace.channel, garbage)
    server_state.x = 1
    deliver(state)
    assert st_fake.rerun_sessions() == ["s"]
    assert state.listener.synced
    assert rejections() == before + 1  # rejected (and logged, at a bounded rate)


def test_corrupt_value_names_the_key_and_other_keys_work(
    state: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    from streamlit_redis_state import CorruptValue

    raw = fakeredis.FakeRedis(server=server)
    raw.set(state.store.keyspace.value("bad"), b"\x80\x04\x95pickled")
    with pytest.raises(CorruptValue, match="key 'bad'"):
        server_state["bad"]
    server_state.good = 1
    assert server_state.good == 1
    assert state.listener.synced


def test_a_forged_epoch_costs_one_resync_and_reruns_nobody(
    state: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    """r16: a forged epoch reran every session twice (reset, then reset back)."""
    server_state.e = 1
    deliver(state)
    read_as(st_fake, "s", "e")
    resyncs = state.stats.resyncs
    seq = state.store.sync_state([])[0]
    raw = fakeredis.FakeRedis(server=server)
    raw.publish(state.store.keyspace.channel, notification("e", 99, seq + 1, "f0f0f0f0"))
    deliver(state)
    assert state.stats.resyncs == resyncs + 1
    assert st_fake.rerun_sessions() == []
    server_state.e = 2  # and the next real change is handled as usual
    deliver(state)
    assert st_fake.rerun_sessions() == ["s"]


def test_a_forged_sequence_cannot_turn_off_gap_detection(
    state: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    """r16: after a forged huge sequence, every real gap went unnoticed."""
    server_state.g = 1
    deliver(state)
    read_as(st_fake, "s", "g")
    raw = fakeredis.FakeRedis(server=server)
    epoch = state.cache.epoch or ""
    raw.publish(state.store.keyspace.channel, notification("other", 1, 10**15, epoch))
    deliver(state)
    assert state.listener.last_seq == state.store.sync_state([])[0]  # Redis's, not the forgery's
    unheard_change(server, state, "g", 5)  # then a real change is missed...
    server_state.other = 1  # ...and the next notification shows the gap
    deliver(state)
    assert "s" in st_fake.rerun_sessions()
    assert read_as(st_fake, "s", "g") == 5


def test_sequences_past_ten_to_the_fourteen_keep_working(
    state: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    """r17: Redis's cjson wrote 1e+14, and every notification was rejected from then on."""
    raw = fakeredis.FakeRedis(server=server)
    raw.hset(state.store.keyspace.meta, "\x00seq", 10**14 + 5)
    state.listener.kick()
    reconnect(state)
    read_as(st_fake, "s", "big")
    server_state.big = 1
    deliver(state)
    assert st_fake.rerun_sessions() == ["s"]
    assert state.listener.last_seq == 10**14 + 6


def test_a_process_that_writes_and_deletes_keys_keeps_nothing_of_them(state: Hub) -> None:
    for i in range(100):
        server_state[f"k{i}"] = {"i": i}
        assert server_state[f"k{i}"] == {"i": i}
        del server_state[f"k{i}"]
    assert len(state.cache) == 0 and state.cache.known_keys() == []
    assert "k3" not in server_state  # and reads still find them gone


def test_a_deleted_key_a_session_shows_stays_known(state: Hub, st_fake: FakeStreamlit) -> None:
    server_state.shown = 1
    read_as(st_fake, "s", "shown")
    del server_state.shown
    before = state.stats.redis_reads
    assert read_as(st_fake, "s", "shown") is None  # the rerun: served by the cache
    assert state.stats.redis_reads == before
    assert "shown" in state.cache.known_keys()


def test_changes_of_keys_this_process_never_used_are_not_remembered(state: Hub, other: Hub) -> None:
    for i in range(100):
        write_from(other, f"theirs{i}", i)
    deliver(state)
    assert state.cache.known_keys() == []
    read_as_worker = server_state.get("theirs7")
    assert read_as_worker == 7 and state.cache.known_keys() == ["theirs7"]


def test_a_fetch_that_raced_with_a_change_of_an_unknown_key_caches_nothing_old(
    state: Hub, other: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_from(other, "raced", 1)
    deliver(state)
    real = state.store.read

    def read_then_change(key: str):  # type: ignore[no-untyped-def]
        snap = real(key)  # reads version 1...
        write_from(other, key, 2)  # ...then another process changes it,
        deliver(state)  # and the notification arrives before the fetch caches
        return snap

    monkeypatch.setattr(state.store, "read", read_then_change)
    assert server_state.get("raced") == 1  # what the racing read saw
    monkeypatch.setattr(state.store, "read", real)
    assert server_state.get("raced") == 2  # never the older value from the cache


def test_concurrent_tail_readers_share_one_fetch(state: Hub, other: Hub) -> None:
    for i in range(300):
        other.append("pane", [codec.encode(i)], 0)
    deliver(state)
    before = state.stats.redis_reads
    barrier = threading.Barrier(16)
    got: list[object] = []

    def reader() -> None:
        barrier.wait()
        got.append(server_state.tail("pane", 100))

    threads = [threading.Thread(target=reader) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [list(range(200, 300))] * 16
    assert state.stats.redis_reads - before == 1
