"""Two real Streamlit replicas on one real redis-server, driven by headless sessions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.processes import RedisServer, StreamlitServer, wait_until, without_ticks
from tests.integration import SERVERS, write_in_a_reruns_a_reader_in_b

# Every test here runs against redis-server, then against valkey-server.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("server_binary", SERVERS, indirect=True, scope="module"),
]


def test_write_in_replica_a_reruns_a_reader_in_replica_b(
    replicas: tuple[StreamlitServer, StreamlitServer],
) -> None:
    write_in_a_reruns_a_reader_in_b(*replicas)


def test_delete_propagates(replicas: tuple[StreamlitServer, StreamlitServer]) -> None:
    a, b = replicas
    setter = a.session("op=set&key=gone&val=1")
    setter.wait_text("gone=1")
    setter.close()
    reader = b.session("key=gone")
    reader.wait_text("gone=1")
    deleter = a.session("op=del&key=gone")
    try:
        reader.wait_text("gone=<missing>")
    finally:
        deleter.close()
        reader.close()


def test_locked_counter_from_sixteen_sessions_on_two_replicas_is_exact(
    replicas: tuple[StreamlitServer, StreamlitServer], redis_server: RedisServer
) -> None:
    a, b = replicas
    sessions = [(a if i % 2 else b).session(f"op=incr&key=counter&tag=s{i}") for i in range(16)]
    watcher = a.session("key=counter")
    try:
        try:
            watcher.wait_text("counter=16", timeout=30)
        except AssertionError:
            from streamlit_redis_state.base import codec

            stored = codec.decode(redis_server.client().get("srs:{it}:v:counter"))["count"]
            shown = [(s.run_count(), s.last.texts) for s in sessions]
            raise AssertionError(f"stored={stored}; sessions={shown}") from None
        time.sleep(0.5)  # nothing may push it past 16 (no session increments twice)
        watcher.wait_text("counter=16", timeout=1)
    finally:
        for s in [*sessions, watcher]:
            s.close()


def test_a_closed_session_is_never_rerun(
    replicas: tuple[StreamlitServer, StreamlitServer], run_log: Path
) -> None:
    a, b = replicas
    closed = b.session("key=z&tag=closed-tab")
    closed.wait_text("z=<missing>")
    open_ = b.session("key=z&tag=open-tab")
    open_.wait_text("z=<missing>")
    closed.close()
    # The disconnect hook runs on the server's event loop; give it the time a
    # person takes to do anything else, then write, twice.
    wait_until(lambda: "closed-tab" in run_log.read_text(), 5, "the closed tab's run logged")
    time.sleep(0.5)
    before = run_log.read_text().count("closed-tab")
    for value in ("1", "2"):
        w = a.session(f"op=set&key=z&val={value}")
        open_.wait_text(f"z={value}")
        w.close()
    assert run_log.read_text().count("closed-tab") == before
    open_.close()


_write_cost: dict[int, dict[str, int]] = {}


@pytest.mark.parametrize("readers", [4, 32])
def test_redis_cost_of_a_write_does_not_grow_with_readers(
    replicas: tuple[StreamlitServer, StreamlitServer],
    redis_server: RedisServer,
    readers: int,
) -> None:
    a, b = replicas
    key = "hot"
    sessions = [b.session(f"key={key}") for _ in range(readers)]
    # Writers close once done: two open writers of different values would
    # rerun each other forever (each rewrites its value on every run).
    writer = a.session(f"op=set&key={key}&val=warm{readers}")
    try:
        for s in sessions:
            s.wait_text(f"{key}=warm{readers}", timeout=30)
        writer.close()
        time.sleep(0.3)
        redis_server.client().config_resetstat()
        w2 = a.session(f"op=set&key={key}&val=measured{readers}")
        for s in sessions:
            s.wait_text(f"{key}=measured{readers}", timeout=30)
        time.sleep(0.3)
        calls = without_ticks(redis_server.command_calls())
        w2.close()
    finally:
        writer.close()
        for s in sessions:
            s.close()
    _write_cost[readers] = calls
    # The write script plus one read script by replica B for all its readers
    # (each EVALSHA, with the commands they run): no term grows with readers.
    assert calls.get("evalsha", 0) == 2, calls
    other = _write_cost.get(4 if readers == 32 else 32)
    if other is not None:
        assert calls == other


def test_st_app_under_uvicorn_is_a_replica_too(
    replicas: tuple[StreamlitServer, StreamlitServer], redis_server: RedisServer
) -> None:
    from tests.integration import APPS

    a, _ = replicas
    env = {"STREAMLIT_REDIS_STATE_URL": redis_server.url, "STREAMLIT_REDIS_STATE_NAMESPACE": "it"}
    asgi = StreamlitServer(APPS / "asgi_app.py", env, name="U", asgi=True)
    try:
        reader = asgi.session("key=asgi")
        reader.wait_text("asgi=<missing>")
        writer = a.session("op=set&key=asgi&val=from-A")
        reader.wait_text("asgi=from-A")
        # A writer session rewrites its value on every run: left open, it and
        # the next writer would rerun each other (until the chain bound stops
        # them, with either value last). One writer at a time.
        writer.close()
        back = asgi.session("op=set&key=asgi&val=from-U")
        watcher = a.session("key=asgi")
        watcher.wait_text("asgi=from-U")
        for s in (reader, back, watcher):
            s.close()
    finally:
        asgi.stop()


def test_a_key_read_in_a_fragment_reruns_only_the_fragment(
    replicas: tuple[StreamlitServer, StreamlitServer],
) -> None:
    a, b = replicas
    pane = b.session("key=fragkey&frag=1")
    pane.wait_text("fragkey=<missing>")
    assert not pane.last.fragment
    writer = a.session("op=set&key=fragkey&val=1")
    try:
        run = pane.wait_text("fragkey=1")
        assert run.fragment, "a full app run was pushed; only the fragment should rerun"
        assert "replica=B" not in run.texts  # the top level did not run again
    finally:
        writer.close()
        pane.close()


def test_an_expiring_key_reruns_its_readers_on_every_replica(
    replicas: tuple[StreamlitServer, StreamlitServer],
) -> None:
    a, b = replicas
    writer = a.session("op=set&key=otp&val=1234&ttl=1.5")
    writer.wait_text("otp=1234")
    writer.close()
    readers = [a.session("key=otp"), b.session("key=otp")]
    try:
        for reader in readers:
            reader.wait_text("otp=1234")
        # Gone within its lifetime plus a ping, on both replicas, nobody clicking.
        for reader in readers:
            reader.wait_text("otp=<missing>", timeout=10)
    finally:
        for reader in readers:
            reader.close()


def test_the_librarys_log_shows_under_streamlit_run(
    replicas: tuple[StreamlitServer, StreamlitServer],
) -> None:
    a, _ = replicas
    s = a.session("key=anything")
    s.wait_text("anything=<missing>")
    s.close()
    out = a.output()
    assert "streamlit_redis_state" in out and "namespace 'it'" in out, out[-2000:]


def test_a_corrupt_value_shows_an_error_in_its_session_only(
    replicas: tuple[StreamlitServer, StreamlitServer], redis_server: RedisServer
) -> None:
    """Hostile bytes under one key: the replica stays up, other sessions and keys work."""
    from streamlit_redis_state.base import codec

    a, _ = replicas
    raw = redis_server.client()
    nested = codec.MAGIC + b"\x91" * 200_000 + b"\xc0"  # an absurdly deep list
    for name, blob in {"bad": b"\x80\x04\x95pickled", "deep": nested}.items():
        raw.set(f"srs:{{it}}:v:{name}", blob)
        raw.sadd("srs:{it}:keys", name)
    victims = [a.session("key=bad"), a.session("key=deep")]
    bystander = a.session("key=fine")
    try:
        for victim in victims:
            victim.wait_for(
                lambda r: any(t.startswith("error: CorruptValue") for t in r.texts),
                what="the error, in this session",
            )
        bystander.wait_text("fine=<missing>")
        writer = a.session("op=set&key=fine&val=still")
        bystander.wait_text("fine=still")  # reruns still reach the replica's sessions
        writer.close()
        assert a.proc.poll() is None
    finally:
        for s in [*victims, bystander]:
            s.close()
