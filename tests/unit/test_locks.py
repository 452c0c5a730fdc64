"""server_state_lock: exclusion, re-entrancy, bounded waits, leases and fencing."""

from __future__ import annotations

import threading
import time

import fakeredis
import pytest

from streamlit_redis_state import LockLost, LockTimeout, server_state, server_state_lock
from streamlit_redis_state.base import codec
from streamlit_redis_state.engine.hub import Hub
from support.processes import wait_until

from .conftest import Clock, FakeStreamlit, deliver, other_process, unheard_change


def test_lock_excludes_threads_and_counts_exactly(state: Hub) -> None:
    server_state.n = 0

    def work() -> None:
        for _ in range(25):
            with server_state_lock["n"]:
                server_state.n = server_state.n + 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server_state.n == 100


def test_lock_excludes_other_processes(state: Hub, other: Hub) -> None:
    with server_state_lock["k"]:
        theirs = other.locks.get("k")
        assert theirs.acquire(0.1) is False
    assert theirs.acquire(1.0) is True
    theirs.release()


def test_waiter_wakes_on_release_not_on_a_spin(state: Hub, server: fakeredis.FakeServer) -> None:
    other = other_process(server, lock_lease=30)
    try:
        theirs = other.locks.get("w")
        assert theirs.acquire(1)
        woke: list[float] = []

        def wait() -> None:
            with server_state_lock["w"]:
                woke.append(time.monotonic())

        t = threading.Thread(target=wait)
        t.start()
        wait_until(lambda: state.locks.waiting("w") == 1, 5, "the waiter queued")
        released_at = time.monotonic()
        theirs.release()
        deliver(state)  # the release notification wakes the waiter
        t.join(5)
        assert woke and woke[0] - released_at < 0.4
    finally:
        other.close()


def test_reentrant_in_one_thread_and_before_the_key_exists(state: Hub) -> None:
    assert "fresh" not in server_state
    with server_state_lock["fresh"], server_state_lock["fresh"]:
        server_state.fresh = 1
    assert server_state.fresh == 1
    assert server_state_lock["fresh"].acquire(timeout=0.1)
    server_state_lock["fresh"].release()


def test_wait_is_bounded_and_raises_lock_timeout(state: Hub) -> None:
    held = threading.Event()
    done = threading.Event()

    def holder() -> None:
        with server_state_lock["t"]:
            held.set()
            done.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    try:
        t0 = time.monotonic()
        with pytest.raises(LockTimeout, match="server_state_lock\\['t'\\]"):
            with server_state_lock.get("t", timeout=0.3):
                pytest.fail("body ran without the lock")
        assert 0.25 < time.monotonic() - t0 < 2
    finally:
        done.set()
        t.join()


def test_release_from_another_thread(state: Hub) -> None:
    lock = server_state_lock["x"]
    assert lock.acquire()
    t = threading.Thread(target=lock.release)
    t.start()
    t.join()
    assert lock.acquire(timeout=0.5)
    lock.release()


def test_lease_is_renewed_while_held(state: Hub, clock: Clock) -> None:
    lease = state.settings.lock_lease
    with server_state_lock["long"]:
        for _ in range(5):  # 1.6 leases pass, renewed every third of one
            clock.advance(lease / 3)
            state.locks.renew_all()
        server_state_lock["long"].ensure_held()
        server_state.long = 1  # fenced write still accepted
    assert server_state.long == 1


def test_a_holder_paused_past_its_lease_is_told(state: Hub, clock: Clock) -> None:
    with pytest.raises(LockLost):
        with server_state_lock["p"]:
            clock.advance(state.settings.lock_lease * 1.1)  # no renewal ran meanwhile
            server_state_lock["p"].ensure_held()


def test_lost_lease_is_reported_and_fenced(state: Hub, server: fakeredis.FakeServer) -> None:
    server_state.f = "before"
    other = other_process(server)
    try:
        with pytest.raises(LockLost):
            with server_state_lock["f"]:
                # Simulate the lease expiring during a long pause: the key is
                # gone and someone else takes the lock and writes.
                fakeredis.FakeRedis(server=server).delete(state.store.keyspace.lock("f"))
                theirs = other.locks.get("f")
                assert theirs.acquire(1)
                other.set("f", codec.encode("theirs"))
                with pytest.raises(LockLost, match="write was refused"):
                    server_state.f = "stale"
                theirs.release()
        deliver(state)
        assert server_state.f == "theirs"
    finally:
        other.close()


def test_body_exception_wins_over_lock_lost(state: Hub, server: fakeredis.FakeServer) -> None:
    with pytest.raises(ZeroDivisionError):
        with server_state_lock["b"]:
            fakeredis.FakeRedis(server=server).delete(state.store.keyspace.lock("b"))
            1 / 0


def test_ensure_held_raises_once_renewal_fails(state: Hub, server: fakeredis.FakeServer) -> None:
    lock = server_state_lock["e"]
    with pytest.raises(LockLost):
        with lock:
            fakeredis.FakeRedis(server=server).set(state.store.keyspace.lock("e"), "someone-else")
            lock.ensure_held()  # nothing noticed yet
            state.locks.renew_all()  # the renewal finds the lease gone
            with pytest.raises(LockLost):
                lock.ensure_held()


def test_releasing_an_unheld_lock_is_an_error(state: Hub) -> None:
    with pytest.raises(RuntimeError, match="not held"):
        server_state_lock["never"].release()


def test_reads_under_the_lock_never_use_a_stale_cache(
    state: Hub, server: fakeredis.FakeServer
) -> None:
    """The previous holder's write may not have reached our listener when we get the lock."""

    server_state.n = 1
    assert server_state.n == 1  # cached
    # Another replica's write whose notification has not arrived yet.
    unheard_change(server, state, "n", 2)
    with server_state_lock["n"]:
        assert server_state.n == 2


def test_a_waiter_whose_run_streamlit_stops_leaves_the_queue(
    state: Hub, st_fake: FakeStreamlit
) -> None:
    """Streamlit interrupts runs only at its own calls; lock waits offer it that point."""

    class Stopped(BaseException):  # stands in for Streamlit's StopException
        pass

    stop_requested = threading.Event()

    def yield_point() -> None:
        if stop_requested.is_set() and threading.current_thread().name == "waiter":
            raise Stopped

    st_fake.on_yield = yield_point
    holder_has_it, done = threading.Event(), threading.Event()

    def holder() -> None:
        with server_state_lock["q"]:
            holder_has_it.set()
            done.wait(5)

    outcome: list[str] = []

    def waiter() -> None:
        try:
            with server_state_lock["q"]:
                outcome.append("ran")
        except Stopped:
            outcome.append("stopped")

    h = threading.Thread(target=holder)
    h.start()
    holder_has_it.wait(5)
    w = threading.Thread(target=waiter, name="waiter")
    w.start()
    wait_until(lambda: state.locks.waiting("q") == 1, 5, "the waiter queued")
    stop_requested.set()
    w.join(2)
    assert outcome == ["stopped"]
    done.set()
    h.join()
    with server_state_lock.get("q", timeout=1):  # nothing leaked
        pass


def test_configure_while_a_lock_is_held_releases_it_where_it_was_taken(
    server: fakeredis.FakeServer,
) -> None:
    """r22: release() went to the new hub (RuntimeError) and the lease was orphaned."""
    from streamlit_redis_state.engine import process

    raw = fakeredis.FakeRedis(server=server)
    process.install(None)
    process.reconfigure({"namespace": "rc"}, client=fakeredis.FakeRedis(server=server))
    try:
        lock = server_state_lock["k"]
        assert lock.acquire()
        process.reconfigure(
            {"namespace": "rc", "lock_timeout": 3}, client=fakeredis.FakeRedis(server=server)
        )
        server_state_lock["k"].release()  # anchor style: another StateLock object
        assert raw.exists("srs:{rc}:lock:k") == 0
        with server_state_lock.get("k", timeout=0.5):  # free at once
            pass
    finally:
        process.reconfigure({}, client=None)


def test_idle_lock_objects_are_forgotten(state: Hub, other: Hub) -> None:
    """r14: one lock object stayed for every key ever locked (10,000 after 100,000 keys)."""
    for i in range(300):
        with server_state_lock[f"user:{i}"]:
            server_state[f"user:{i}"] = i
    theirs = other.locks.get("busy")
    assert theirs.acquire(1)
    assert not server_state_lock.get("busy", timeout=0.05).acquire()  # a failed wait
    theirs.release()
    assert state.locks.objects() == 0
    assert "user:7" in server_state_lock  # still known, by name


def test_forgetting_idle_locks_never_splits_one_key_in_two(state: Hub) -> None:
    """Threads that take and drop one key's lock while others wait still exclude each other."""
    server_state.n = 0
    inside = 0
    overlaps = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, overlaps
        for _ in range(40):
            with server_state_lock["n"]:
                with guard:
                    inside += 1
                    overlaps += inside > 1
                server_state.n = server_state.n + 1
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (server_state.n, overlaps) == (160, 0)
    assert state.locks.objects() == 0


def test_a_waiter_streamlit_stops_leaves_no_lock_object(
    state: Hub, st_fake: FakeStreamlit, other: Hub
) -> None:
    """A run stopped while it waits (a rerun burst) must not leave its lock object behind."""

    class Stopped(Exception):  # what Streamlit's StopException is to us
        pass

    def stop() -> None:
        raise Stopped

    theirs = other.locks.get("k")
    assert theirs.acquire(1)
    st_fake.on_yield = stop
    try:
        with pytest.raises(Stopped):
            server_state_lock.get("k", timeout=5).acquire()
    finally:
        st_fake.on_yield = lambda: None
        theirs.release()
    assert state.locks.objects() == 0
    with pytest.raises(LockLost, match="not held"):
        server_state_lock["never"].ensure_held()
    with pytest.raises(RuntimeError, match="not held"):
        server_state_lock["never"].release()
    assert state.locks.objects() == 0
