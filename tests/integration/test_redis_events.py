"""Redis events a production Redis has, against real redis-server: stalls, FLUSHDB,
eviction, replicas that must confirm, and a failover to a replica that missed changes.

The library runs in this process: a writer hub and a reader hub (two
"replicas" as far as the library can tell), the reader with a bridge that
records the reruns it is asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from streamlit_redis_state import NotReplicated, server_state, server_state_lock
from streamlit_redis_state.base import codec
from streamlit_redis_state.engine import process
from streamlit_redis_state.engine.hub import Hub
from support.faultproxy import FaultProxy
from support.processes import RedisServer, wait_until
from tests.integration import SERVERS
from tests.integration.hubs import Recorder, hub_at

# Every test here runs against redis-server, then against valkey-server.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("server_binary", SERVERS, indirect=True, scope="module"),
]


@pytest.fixture
def redis_server(server_binary: str) -> Iterator[RedisServer]:
    server = RedisServer(binary=server_binary)
    yield server
    server.close()


@pytest.fixture
def writer(redis_server: RedisServer) -> Iterator[Hub]:
    hub = hub_at(redis_server.url, "ev")
    process.install(hub)
    yield hub
    process.install(None)
    hub.close()


@pytest.fixture
def viewer(redis_server: RedisServer) -> Iterator[tuple[Hub, Recorder]]:
    recorder = Recorder()
    hub = hub_at(redis_server.url, "ev", recorder)
    yield hub, recorder
    hub.close()


def test_a_stall_longer_than_socket_timeout_applies_each_change_once(
    writer: Hub, redis_server: RedisServer
) -> None:
    """r01/r01c: redis-py re-sent the append after a timeout; it was stored twice."""
    server_state.p = "to pop"
    raw = redis_server.client()
    raw.client_pause(1500, all=False)  # writes wait 1.5 s: longer than socket_timeout (1 s)
    assert server_state.append("log", "once") == 1
    raw.client_pause(1500, all=False)
    assert server_state.pop("p") == "to pop"
    raw.client_pause(1500, all=False)
    with server_state_lock["k"]:
        raw.client_pause(1500, all=False)
    assert raw.llen("srs:{ev}:l:log") == 1
    assert server_state.log == ["once"] and "p" not in server_state
    assert raw.exists("srs:{ev}:lock:k") == 0


def test_flushdb_is_noticed_and_the_page_shows_the_empty_state(
    writer: Hub, viewer: tuple[Hub, Recorder], redis_server: RedisServer
) -> None:
    """r02: FLUSHDB sends no notification; caches served deleted values indefinitely."""
    hub, recorder = viewer
    server_state.f = "before"
    wait_until(lambda: recorder.view(hub, "f") == "before", 5, "the viewer to show it")
    reruns = recorder.reruns
    redis_server.client().flushdb()
    wait_until(lambda: recorder.reruns > reruns, 5, "the viewer rerun by the check on ping")
    assert recorder.view(hub, "f") is None


def test_evicted_keys_read_as_deleted_and_the_policy_is_warned_about(
    caplog: pytest.LogCaptureFixture, server_binary: str
) -> None:
    """r04/r04b: under maxmemory allkeys-*, caches served 270 of 401 evicted keys."""
    server = RedisServer(
        "--maxmemory", "3mb", "--maxmemory-policy", "allkeys-random", binary=server_binary
    )
    try:
        with caplog.at_level(logging.WARNING, logger="streamlit_redis_state"):
            hub = hub_at(server.url, "evict")
        process.install(hub)
        assert "maxmemory-policy is allkeys-random" in caplog.text
        for i in range(400):
            try:
                server_state[f"k{i}"] = "x" * 20_000
            except Exception:
                pass  # OOM or eviction of our own bookkeeping mid-run: ignored here
            server_state.get(f"k{i}")  # cached right after the write
        raw = server.client()

        def wrong() -> list[int]:
            """Keys whose cached answer disagrees with what Redis holds."""
            return [
                i
                for i in range(400)
                if (server_state.get(f"k{i}") is None) != (raw.get(f"srs:{{evict}}:v:k{i}") is None)
            ]

        # Evictions are noticed at the next ping, which looks again at the cache.
        wait_until(lambda: not wrong(), 5, "every cached key to agree with Redis")
        assert raw.info("stats")["evicted_keys"] > 0, "nothing was evicted: a weak test"
    finally:
        process.install(None)
        server.close()


def test_wait_replicas_confirms_each_change_or_says_it_did_not(server_binary: str) -> None:
    # A replica's first sync waits repl-diskless-sync-delay (5 s) by default.
    primary = RedisServer("--repl-diskless-sync-delay", "0", binary=server_binary)
    try:
        hub = hub_at(primary.url, "w", wait_replicas=1, wait_timeout=0.3)
        process.install(hub)
        with pytest.raises(NotReplicated, match="0 of 1 replicas"):
            server_state.x = 1
        assert server_state.x == 1  # stored all the same
        replica = RedisServer("--replicaof", "127.0.0.1", str(primary.port), binary=server_binary)
        try:

            def caught_up() -> bool:
                """The replica confirms a write of the primary's (its link being up is
                not enough: the primary may still be sending it the data set)."""
                probe = primary.client()
                probe.set("probe", 1)
                return bool(probe.wait(1, 200) == 1)

            wait_until(caught_up, 10, "the replica to attach and sync")
            server_state.x = 2  # confirmed: no error
            assert replica.client().get("srs:{w}:v:x") is not None
        finally:
            replica.close()
    finally:
        process.install(None)
        hub.close()
        primary.close()


def test_a_failover_to_a_replica_that_missed_changes_is_noticed(server_binary: str) -> None:
    """r09: a promoted replica served without acknowledged changes; nothing was reported."""
    primary = RedisServer("--repl-diskless-sync-delay", "0", binary=server_binary)
    link = FaultProxy(primary.port)  # the replication link, to make the replica fall behind
    replica = RedisServer("--replicaof", "127.0.0.1", str(link.port), binary=server_binary)
    front = FaultProxy(primary.port)  # what clients reach: a VIP, DNS, a proxy
    url = f"redis://127.0.0.1:{front.port}/0"
    recorder = Recorder()
    writer = hub_at(url, "fo")
    viewer = hub_at(url, "fo", recorder)
    try:
        for i in range(1, 6):
            writer.set("balance", codec.encode(i * 100))
        wait_until(
            lambda: replica.client().get("srs:{fo}:v:balance") == codec.encode(500),
            10,
            "the replica to catch up",
        )
        link.set_mode("blackhole")  # the replica falls behind
        for i in range(6, 11):
            writer.set("balance", codec.encode(i * 100))  # acknowledged by the primary
        wait_until(lambda: recorder.view(viewer, "balance") == 1000, 5, "the viewer at 1000")
        primary.kill()
        replica.client().replicaof("NO", "ONE")
        front.upstream_port = replica.port
        front.set_mode("reset")
        front.set_mode("pass")
        reruns = recorder.reruns
        wait_until(lambda: recorder.reruns > reruns, 10, "the viewer rerun after the failover")
        assert recorder.view(viewer, "balance") == 500  # what Redis holds now, not a stale 1000
        writer.set("balance", codec.encode(1100))
        wait_until(lambda: recorder.view(viewer, "balance") == 1100, 5, "the next write seen")
    finally:
        viewer.close()
        writer.close()
        for proxy in (front, link):
            proxy.close()
        replica.close()
        primary.close()


WORKER = """
import sys
from streamlit_redis_state import Changed, Resynced, configure, server_state
configure(url=sys.argv[1], namespace="wk", ping_interval=0.3, ping_deadline=1.0)
watch = server_state.watch("job", timeout=20)
print("ready", flush=True)  # watching: every change from now on is reported
for event in watch:
    if isinstance(event, Changed):
        value = server_state.get(event.key)
        print("changed", event.key, value, flush=True)
        if value == "stop":
            break
    elif isinstance(event, Resynced):
        print("resynced", *event.keys, flush=True)
"""


def test_a_plain_worker_process_watches_changes_through_a_reconnect(
    redis_server: RedisServer,
) -> None:
    import subprocess
    import sys

    proxy = FaultProxy(redis_server.port)  # the worker's link, to cut it on purpose
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, f"redis://127.0.0.1:{proxy.port}/0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # its log (the lost connection) is not what is checked
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        hub = hub_at(redis_server.url, "wk")
        try:
            hub.set("job", codec.encode("one"))
            assert worker.stdout.readline().split() == ["changed", "job", "one"]
            proxy.set_mode("reset")  # cut, and no reconnect gets through for now
            hub.set("job", codec.encode("two"))  # published while the worker is away
            proxy.set_mode("pass")
            # Missed by pub/sub, found by the resync, and said so.
            assert worker.stdout.readline().split() == ["resynced", "job"]
            assert worker.stdout.readline().split() == ["changed", "job", "two"]
            hub.set("job", codec.encode("stop"))
            assert worker.stdout.readline().split() == ["changed", "job", "stop"]
            assert worker.wait(20) == 0
        finally:
            hub.close()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(5)
        proxy.close()
