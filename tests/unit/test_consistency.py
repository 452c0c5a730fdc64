"""No lost update, no ghost, no silent divergence: races and Redis events on one fake Redis."""

from __future__ import annotations

import threading

import fakeredis
import pytest
import redis

from streamlit_redis_state import LockLost, server_state, server_state_lock
from streamlit_redis_state.base import codec
from streamlit_redis_state.engine.hub import Hub

from .conftest import Clock, FakeStreamlit, deliver, make_hub, other_process, reconnect

pytestmark = pytest.mark.usefixtures("state")


def test_setdefault_loser_gets_the_winners_value(state: Hub, other: Hub) -> None:
    """r10: the loser of a setdefault race raised KeyError (its cache said 'missing')."""
    assert server_state.get("rooms") is None  # cached as missing here
    other.set_default("rooms", codec.encode(["general"]))  # the winner, not heard yet
    assert server_state.setdefault("rooms", ["mine"]) == ["general"]


@pytest.mark.parametrize("stored_as", ["a plain value", "appended items"])
def test_edit_and_append_on_one_list_lose_nothing(state: Hub, stored_as: str) -> None:
    """r07: append ignored the key's lock, and edit wrote back the list it had read."""
    if stored_as == "a plain value":
        server_state.log = ["start"]
    else:
        server_state.append("log", "start")
    inside, appended = threading.Event(), threading.Event()

    def editor() -> None:
        with server_state.edit("log") as log:
            inside.set()
            appended.wait(0.5)  # an unlocked append must not land in here
            log.append("edited")

    def appender() -> None:
        inside.wait(5)
        server_state.append("log", "appended")
        appended.set()

    threads = [threading.Thread(target=editor), threading.Thread(target=appender)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(server_state.log) == ["appended", "edited", "start"]
    assert server_state.log[0] == "start"


def test_an_append_converting_a_list_that_edits_keep_changing_gets_through(
    state: Hub, other: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """r07, second half: edits in other processes made every append to the key fail.

    edit() writes a list back whole, so the next append converts it to items:
    it reads the value, then converts it if unchanged. Another process's edit
    landing between the two made the conversion fail, ten times over, and the
    append raised "kept racing". Here such an edit lands after every read,
    whenever the other process can take the key's lock.
    """
    server_state.log = ["start"]
    real_read = state.store.read
    edits: list[str] = []

    def read_then_an_edit_elsewhere(key: str) -> object:
        snap = real_read(key)
        lock = other.locks.get(key)
        if lock.acquire(0):  # an edit in the other process, between our read and conversion
            try:
                edits.append(f"e{len(edits)}")
                other.set(key, codec.encode(["start", *edits]))
            finally:
                lock.release()
        return snap

    monkeypatch.setattr(state.store, "read", read_then_an_edit_elsewhere)
    server_state.append("log", "appended")
    monkeypatch.undo()
    deliver(state)
    assert server_state.log == ["start", *edits, "appended"]


def test_an_append_waits_for_another_holder_no_longer_than_lock_timeout(
    server: fakeredis.FakeServer,
) -> None:
    from streamlit_redis_state import LockTimeout

    other = other_process(server, lock_lease=30)  # outlives our lock_timeout
    mine = other_process(server, lock_timeout=0.3)
    theirs = other.locks.get("held")
    assert theirs.acquire(1)
    try:
        with pytest.raises(LockTimeout, match="append"):
            mine.append("held", [codec.encode(1)], 0)
    finally:
        theirs.release()
        other.close()
    assert mine.append("held", [codec.encode(2)], 0).length == 1
    mine.close()


class _LostReply:
    """Runs the script, then loses its reply once, as a stall past socket_timeout does."""

    def __init__(self, store_run: object) -> None:
        self.run = store_run
        self.armed = True

    def __call__(self, *args: object, **kwargs: object) -> object:
        result = self.run(*args, **kwargs)  # type: ignore[operator]
        if self.armed:
            self.armed = False
            raise redis.TimeoutError("reply lost")
        return result


@pytest.fixture
def lossy(state: Hub, monkeypatch: pytest.MonkeyPatch) -> _LostReply:
    lost = _LostReply(state.store._run)
    monkeypatch.setattr(state.store, "_run", lost)
    return lost


def test_a_resent_append_is_stored_once(state: Hub, lossy: _LostReply) -> None:
    """r01: a retry after a lost reply ran the append script twice."""
    assert server_state.append("chat", "hello") == 1
    assert server_state.chat == ["hello"]


def test_a_resent_pop_returns_what_it_deleted(state: Hub, lossy: _LostReply) -> None:
    lossy.armed = False
    server_state.p = "value"
    lossy.armed = True
    assert server_state.pop("p") == "value"
    assert "p" not in server_state


def test_a_resent_set_never_overwrites_a_later_write(
    state: Hub, other: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt applied; someone wrote after it; the retry must not write again."""
    run = state.store._run
    calls = {"n": 0}

    def lose_then_race(*args: object, **kwargs: object) -> object:
        result = run(*args, **kwargs)  # type: ignore[arg-type]
        calls["n"] += 1
        if calls["n"] == 1:
            other.set("x", codec.encode("later"))
            raise redis.ConnectionError("connection reset")
        return result

    monkeypatch.setattr(state.store, "_run", lose_then_race)
    server_state.x = "first"
    assert codec.decode(other.store.read("x").blob or b"") == "later"


def test_a_resent_lock_acquire_and_release_keep_the_lock_straight(
    state: Hub, lossy: _LostReply
) -> None:
    """r01b: acquire waited out its own lease; release raised LockLost after the body."""
    with server_state_lock["k"]:  # the acquire's reply is lost once
        lossy.armed = True  # and then the release's
        server_state.k = 1
    assert server_state.k == 1
    with server_state_lock.get("k", timeout=0.5):
        pass


def test_data_lost_then_rewritten_by_the_same_process_is_noticed(
    state: Hub, other: Hub, server: fakeredis.FakeServer
) -> None:
    """r03: the epoch candidate was drawn once per process, so the old epoch came back."""
    for i in range(3):
        other.set("k", codec.encode(i))
    deliver(other)
    assert codec.decode(other.read("k").blob or b"") == 2  # cached at version 3
    fakeredis.FakeRedis(server=server).flushall()  # Redis restarts without persistence
    server_state.k = "after"  # this process writes first: version 1 again
    deliver(other)
    assert codec.decode(other.read("k").blob or b"") == "after"


def test_flushdb_is_noticed_within_a_ping(
    state: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer, clock: Clock
) -> None:
    """r02: FLUSHDB sends no notification; caches served deleted values forever."""
    server_state.gone = 1
    deliver(state)
    st_fake.run_as("s", lambda: server_state.gone)
    fakeredis.FakeRedis(server=server).flushdb()
    clock.advance(state.settings.ping_interval)
    deliver(state)  # the ping goes out
    deliver(state)  # its answer comes back: the namespace is looked at
    assert st_fake.rerun_sessions() == ["s"]
    assert server_state.get("gone") is None


def test_a_lost_meta_hash_is_a_new_epoch_not_a_silent_reset(
    state: Hub, other: Hub, server: fakeredis.FakeServer
) -> None:
    """r04b: an evicted version hash made readers ignore later writes."""
    for i in range(5):
        other.set("e", codec.encode(i))
    deliver(state)
    assert server_state.e == 4  # cached at version 5
    raw = fakeredis.FakeRedis(server=server)
    raw.delete(state.store.keyspace.meta)  # evicted: versions, sequence and epoch with it
    other.set("e", codec.encode("new"))  # version 1 of a new epoch
    deliver(state)
    assert server_state.e == "new"


def test_a_sequence_that_goes_back_is_a_loss(
    state: Hub, st_fake: FakeStreamlit, server: fakeredis.FakeServer
) -> None:
    """r09: a replica promoted after missing writes serves without them, same epoch."""
    server_state.f = "acknowledged"
    deliver(state)
    st_fake.run_as("s", lambda: server_state.f)
    raw = fakeredis.FakeRedis(server=server)
    ks = state.store.keyspace
    # The promoted replica never got the last change: value, version and sequence back.
    raw.delete(ks.value("f"))
    raw.hincrby(ks.meta, "f", -1)
    raw.hincrby(ks.meta, "\x00seq", -1)
    state.listener.kick()
    reconnect(state)
    assert st_fake.rerun_sessions() == ["s"]
    assert server_state.get("f") is None


def test_unlocked_writes_from_other_threads_are_not_fenced_by_a_holder(state: Hub) -> None:
    """r11: a thread's write failed with LockLost while another thread held the key's lock."""
    held, done = threading.Event(), threading.Event()

    def holder() -> None:
        with server_state_lock["shared"]:
            held.set()
            done.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    try:
        server_state.shared = "from another thread"  # not the holder: not fenced
    finally:
        done.set()
        t.join(5)
    assert server_state.shared == "from another thread"


def test_setdefault_under_a_lost_lock_is_fenced(state: Hub, server: fakeredis.FakeServer) -> None:
    """r12: every write under a lock is fenced, setdefault included."""
    with pytest.raises(LockLost):
        with server_state_lock["sd"]:
            fakeredis.FakeRedis(server=server).set(state.store.keyspace.lock("sd"), "thief")
            server_state.setdefault("sd", 1)
    assert "sd" not in server_state


def test_a_closed_tab_is_never_rerun_or_subscribed_again(
    state: Hub, st_fake: FakeStreamlit
) -> None:
    """Presence ghosts: leaving reran the closing session, whose rerun joined again."""
    from streamlit_redis_state import presence

    st_fake.run_as("closing", lambda: presence("room", name="ghost"))
    st_fake.run_as("staying", lambda: presence("room", name="alice"))
    deliver(state)
    st_fake.clear()
    st_fake.disconnect("closing")
    deliver(state)
    assert st_fake.rerun_sessions() == ["staying"]
    # A run of the closed tab that was already on its way joins nothing.
    st_fake.alive.add("closing")
    assert st_fake.run_as("closing", lambda: presence("room", name="ghost")) == ["alice"]
    state.members.beat()
    assert st_fake.run_as("staying", lambda: presence("room")) == ["alice"]
    assert "closing" not in state.subscribers("\x00presence:room")


def test_a_cache_clear_while_connected_keeps_the_session_subscribed(
    server: fakeredis.FakeServer,
) -> None:
    """st.cache_resource.clear() released the disconnect hook of connected sessions too."""
    st_fake = FakeStreamlit()
    h = make_hub(server, st_fake)
    try:
        # What the bridge decides: a release whose session is still active is a clear.
        st_fake.run_as("s", lambda: h.read("k"))
        h.sweep()  # still active: kept
        assert "s" in h.subscribers("k")
        st_fake.alive.discard("s")
        h.sweep()  # gone from the runtime: dropped
        assert "s" not in h.subscribers("k")
    finally:
        h.close()


def test_readers_of_one_key_share_one_outage(state: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """r18: readers queued behind one single-flight lock; the Nth waited N timeouts."""
    from streamlit_redis_state import StateUnavailable

    started, release = threading.Event(), threading.Event()
    calls = {"n": 0}

    def stalled_read(key: str) -> object:
        calls["n"] += 1
        started.set()
        release.wait(5)
        raise StateUnavailable("Redis at ... is unreachable")

    monkeypatch.setattr(state.store, "read", stalled_read)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            server_state.get("cold")
        except StateUnavailable as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    threads[0].start()
    started.wait(5)
    for t in threads[1:]:
        t.start()
    from support.processes import wait_until

    wait_until(lambda: state.cache._flights.get("cold") is not None, 5, "the flight")
    release.set()  # the one fetch fails: every waiting reader gets the error now
    for t in threads:
        t.join(5)
    assert len(errors) == 8
    assert calls["n"] <= 2  # one fetch (a reader that came after may start one more)


def test_the_cache_is_bounded_by_bytes(server: fakeredis.FakeServer) -> None:
    """r14: the process cache kept every value ever read."""
    h = make_hub(server, FakeStreamlit(), cache_bytes=16 * 1024)
    try:
        for i in range(40):
            h.set(f"k{i}", codec.encode("x" * 1000))
            h.read(f"k{i}")
        assert h.cache.size <= 16 * 1024
        assert 10 <= len(h.cache) <= 16
        assert codec.decode(h.read("k0").blob or b"") == "x" * 1000  # evicted: read again
    finally:
        h.close()


def test_a_value_redis_evicted_reads_as_deleted_for_everyone(
    state: Hub, st_fake: FakeStreamlit, other: Hub, server: fakeredis.FakeServer
) -> None:
    """r04: under allkeys-* eviction, caches kept serving values Redis no longer had."""
    server_state.ev = "here"
    deliver(other)
    other.bridge.run_as("o", lambda: other.read("ev"))  # type: ignore[attr-defined]
    fakeredis.FakeRedis(server=server).delete(state.store.keyspace.value("ev"))  # evicted
    state.cache.clear()  # not cached here: the next read goes to Redis
    assert server_state.get("ev") is None  # the read finds it gone, and says so to all
    deliver(other)
    assert other.bridge.rerun_sessions() == ["o"]  # type: ignore[attr-defined]
    assert other.read("ev").blob is None
    assert "ev" not in server_state


def test_a_new_replication_id_is_a_possible_loss(
    state: Hub, st_fake: FakeStreamlit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failover: the promoted server may lack acknowledged changes; everyone reruns."""
    server_state.r = 1
    deliver(state)
    st_fake.run_as("s", lambda: server_state.r)
    ids = iter(["old-primary", "old-primary", "promoted"])
    monkeypatch.setattr(state.store, "replication_id", lambda: next(ids))
    for _ in range(3):
        state.listener.kick()
        reconnect(state)
    assert st_fake.rerun_sessions() == ["s"]


def test_an_expired_key_reruns_its_readers_everywhere_and_reads_as_missing(
    state: Hub, st_fake: FakeStreamlit, other: Hub, server: fakeredis.FakeServer, clock: Clock
) -> None:
    """Per-key expiry without keyspace notifications: the tick deletes what is due."""
    server_state.set("otp", "1234", ttl=60)
    deliver(other)
    other.bridge.run_as("o", lambda: other.read("otp"))  # type: ignore[attr-defined]
    st_fake.run_as("s", lambda: server_state.otp)
    raw = fakeredis.FakeRedis(server=server)
    ks = state.store.keyspace
    # Its lifetime ends (Redis's clock): the value goes, the expiry is due.
    raw.delete(ks.value("otp"))
    raw.zadd(ks.expiries, {"otp": 0})
    clock.advance(state.settings.ping_interval)
    deliver(state)  # the ping goes out
    deliver(state)  # its answer: the tick deletes the key for everyone
    deliver(other)
    assert st_fake.rerun_sessions() == ["s"]
    assert other.bridge.rerun_sessions() == ["o"]  # type: ignore[attr-defined]
    assert server_state.get("otp") is None and "otp" not in list(server_state)


def test_a_lifetime_is_set_renewed_and_removed(state: Hub, server: fakeredis.FakeServer) -> None:
    raw = fakeredis.FakeRedis(server=server)
    ks = state.store.keyspace
    server_state.set("k", 1, ttl=30)
    assert 0 < raw.pttl(ks.value("k")) <= 30_000 and raw.zscore(ks.expiries, "k")
    server_state.set("k", 1, ttl=300)  # the same bytes: renewed, no change
    assert raw.pttl(ks.value("k")) > 30_000
    server_state.k = 1  # the same bytes assigned without a lifetime: lasts
    assert raw.pttl(ks.value("k")) == -1 and raw.zscore(ks.expiries, "k") is None
    server_state.set("k", 1, ttl=30)
    server_state.k = 2  # assigned without a lifetime: lasts
    assert raw.pttl(ks.value("k")) == -1 and raw.zscore(ks.expiries, "k") is None
    assert server_state.expire("k", 5) is True and 0 < raw.pttl(ks.value("k")) <= 5000
    assert server_state.expire("k", None) is True and raw.pttl(ks.value("k")) == -1
    assert server_state.expire("missing", 5) is False
    with pytest.raises(ValueError):
        server_state.set("k", 1, ttl=0)


def test_every_process_leaves_a_status_record(state: Hub, other: Hub, clock: Clock) -> None:
    import json

    clock.advance(state.settings.ping_interval)
    deliver(state)
    deliver(state)
    records = [json.loads(r) for r in state.store.processes()]
    assert state.process_id in {r["id"] for r in records}
    mine = next(r for r in records if r["id"] == state.process_id)
    assert mine["listener"]["synced"] is True and "cache_bytes" in mine
