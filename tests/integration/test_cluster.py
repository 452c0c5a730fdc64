"""Redis Cluster, real: three masters on loopback, a URL that names a node that does
not own the namespace's slot, the slot migrated while writers write, and an owner
that dies and fails over to its replica.

The library runs in this process (hubs with a recording bridge, as in
test_redis_events.py), and once as real `streamlit run` replicas.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamlit_redis_state import (
    NotReplicated,
    ServerStateError,
    StateUnavailable,
    server_state,
    server_state_lock,
)
from streamlit_redis_state.base import codec
from streamlit_redis_state.engine import process
from streamlit_redis_state.engine.hub import Hub
from support.ha import ClusterNodes, command, namespace_slot, self_signed_cert
from support.processes import RedisServer, StreamlitServer, wait_until
from tests.integration import APPS, SERVERS, write_in_a_reruns_a_reader_in_b
from tests.integration.hubs import Recorder, hub_at

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("server_binary", SERVERS, indirect=True, scope="module"),
]


@pytest.fixture(scope="module")
def cluster(server_binary: str) -> Iterator[ClusterNodes]:
    nodes = ClusterNodes(masters=3, binary=server_binary)
    yield nodes
    nodes.close()


def calls(node: RedisServer, command_name: str) -> int:
    stats = node.client().info("commandstats")
    return int(stats.get(f"cmdstat_{command_name}", {}).get("calls", 0))


def shard_subscribers(node: RedisServer, channel: str) -> int:
    reply = command(node, "PUBSUB", "SHARDNUMSUB", channel)
    return int(reply[1])


def stored_list(cluster: ClusterNodes, name: str) -> list[Any]:
    return [codec.decode(b) for b in cluster.client().lrange(name, 0, -1)]


def test_a_url_naming_a_node_that_does_not_own_the_slot_serves_every_api(
    cluster: ClusterNodes,
) -> None:
    """The issue: a URL naming another node failed every call with MovedError."""
    owner, elsewhere = cluster.owner("api"), cluster.not_owner("api")
    url = cluster.url(elsewhere)
    recorder = Recorder()
    writer = hub_at(url, "api")
    viewer = hub_at(url, "api", recorder)
    process.install(writer)
    try:
        assert writer.store.sharded
        server_state.x = 1
        server_state.update({"y": [1, 2]}, z="zed")
        assert server_state.setdefault("x", 5) == 1
        assert server_state.append("log", "a", "b") == 2
        with server_state.edit("y") as y:
            y.append(3)
        with server_state_lock["x"]:
            server_state.x += 1
        # The multi-key reads that RedisCluster refused (pipelined EVALSHA).
        expected = {"log": ["a", "b"], "x": 2, "y": [1, 2, 3], "z": "zed"}
        assert server_state.to_dict() == expected
        assert sorted(server_state.values(), key=repr) == sorted(expected.values(), key=repr)
        assert dict(server_state.items()) == expected
        assert sorted(server_state) == sorted(expected) and len(server_state) == 4
        assert server_state.pop("z") == "zed" and "z" not in server_state
        # The other hub is rerun by each change, through sharded pub/sub.
        wait_until(lambda: recorder.view(viewer, "x") == 2, 5, "the viewer to see x")
        reruns = recorder.reruns
        server_state.x = 3
        wait_until(lambda: recorder.reruns > reruns, 5, "the viewer rerun by the next change")
        assert recorder.view(viewer, "x") == 3
        # Notifications stay on the owner's shard: SPUBLISH, both listeners there.
        channel = writer.store.keyspace.channel
        assert shard_subscribers(owner, channel) == 2
        assert all(shard_subscribers(n, channel) == 0 for n in cluster.nodes if n is not owner)
        assert calls(owner, "spublish") > 0
        assert all(calls(n, "publish") == 0 for n in cluster.nodes)
    finally:
        process.install(None)
        viewer.close()
        writer.close()


def test_wait_replicas_on_a_cluster_counts_the_shards_replicas(cluster: ClusterNodes) -> None:
    """WAIT runs on the script's own connection, to the node that owns the slot."""
    hub = hub_at(cluster.url(cluster.not_owner("w")), "w", wait_replicas=1, wait_timeout=0.2)
    process.install(hub)
    try:
        with pytest.raises(NotReplicated, match="0 of 1 replicas"):
            server_state.x = 1  # these masters have no replicas
        assert server_state.x == 1  # stored all the same
    finally:
        process.install(None)
        hub.close()


def test_no_acknowledged_write_is_lost_while_the_slot_migrates(
    cluster: ClusterNodes, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue: after a slot moved, every write failed and the listener still said synced.

    Two hubs append to one list and rerun each other while the namespace's
    slot moves to another master (IMPORTING/MIGRATING, MIGRATE in batches,
    SETSLOT NODE). Every append a writer was told succeeded is in Redis at
    the end, once; both hubs converge on Redis's list; writes after the move
    succeed; both listeners follow the slot.
    """
    caplog.set_level("INFO", logger="streamlit_redis_state")
    ns = "mig"
    source = cluster.owner(ns)
    entry = cluster.not_owner(ns)
    target = next(n for n in cluster.nodes if n not in (source, entry))
    url = cluster.url(entry)
    # socket_timeout bounds how long a write waits for a moving slot.
    options = {"socket_timeout": 2.0}
    a_view, b_view = Recorder(), Recorder()
    a = hub_at(url, ns, a_view, **options)
    b = hub_at(url, ns, b_view, **options)
    for i in range(40):  # keys to move, besides the bookkeeping
        a.set(f"k{i}", codec.encode(i))
    acked: list[tuple[str, int]] = []
    failed: list[str] = []
    stop = threading.Event()
    moving = threading.Event()
    during: list[tuple[str, int]] = []

    def write(hub: Hub, name: str) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                hub.append("log", [codec.encode([name, i])], 0)
            except StateUnavailable as exc:
                failed.append(f"{name}{i}: {exc}")
            else:
                acked.append((name, i))
                if moving.is_set():
                    during.append((name, i))
            time.sleep(0.005)

    locked: list[bool] = []  # lock cycles completed while the slot moved

    def lock() -> None:
        # One-key scripts follow ASK to the importing node while the slot moves.
        n = 0
        while not stop.is_set():
            n += 1
            token = f"t{n}"
            try:
                assert a.store.lock_acquire("guard", token, 5000)
                assert a.store.lock_release("guard", token)
            except StateUnavailable:
                continue
            if moving.is_set():
                locked.append(True)
            time.sleep(0.002)

    threads = [threading.Thread(target=write, args=(h, n)) for h, n in ((a, "a"), (b, "b"))]
    threads.append(threading.Thread(target=lock))
    try:
        for t in threads:
            t.start()
        wait_until(lambda: len(acked) > 20, 10, "writes before the move")
        moving.set()
        moved = cluster.migrate_slot(
            namespace_slot(ns), target, batch=10, between_batches=lambda: time.sleep(0.05)
        )
        moving.clear()
        after = len(acked)
        wait_until(lambda: len(acked) > after + 20, 10, "writes after the move to succeed")
        stop.set()
        for t in threads:
            t.join(10)
        assert moved > 40
        assert cluster.owner(ns) is target
        assert locked, "no lock was taken while the slot moved (ASK not followed?)"
        assert not cluster.client().exists(f"srs:{{{ns}}}:lock:guard")
        final = [tuple(item) for item in stored_list(cluster, f"srs:{{{ns}}}:l:log")]
        missing = set(acked) - set(final)
        assert not missing, f"acknowledged and lost: {sorted(missing)[:10]}"
        assert len(final) == len(set(final)), "an append was applied twice"
        # Both hubs converge on what Redis holds, and hear the next change.
        for hub, view in ((a, a_view), (b, b_view)):
            wait_until(
                lambda hub=hub, view=view: [tuple(x) for x in view.view(hub, "log")] == final,  # type: ignore[misc]
                5,
                "a hub to show Redis's list",
            )
        a.set("done", codec.encode(True))
        wait_until(lambda: b_view.view(b, "done") is True, 5, "b to hear a's write after the move")
        b.set("done", codec.encode(False))
        wait_until(lambda: a_view.view(a, "done") is False, 5, "a to hear b's write after the move")
        assert shard_subscribers(target, a.store.keyspace.channel) == 2
        assert a.listener.synced and b.listener.synced
        # A move loses nothing, and is not taken for a failover that might have.
        assert "slot moved to another cluster node" in caplog.text
        assert "replication id changed" not in caplog.text
        print(
            f"moved {moved} keys; {len(acked)} appends acknowledged "
            f"({len(during)} while the slot moved), {len(failed)} refused; "
            f"{len(locked)} lock cycles while it moved"
        )
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        a.close()
        b.close()


def test_streamlit_replicas_on_a_cluster_rerun_each_other(
    cluster: ClusterNodes, run_log: Any
) -> None:
    """The URL from the environment, as an operator sets it; any node will do."""
    env = {
        "STREAMLIT_REDIS_STATE_URL": cluster.url(cluster.not_owner("st"), cluster.owner("st")),
        "STREAMLIT_REDIS_STATE_NAMESPACE": "st",
        "SRS_TEST_RUN_LOG": str(run_log),
    }
    a = StreamlitServer(APPS / "state_app.py", env, name="A")
    try:
        b = StreamlitServer(APPS / "state_app.py", env, name="B")
        try:
            write_in_a_reruns_a_reader_in_b(a, b)
        finally:
            b.stop()
    finally:
        a.stop()


def test_the_owner_dies_and_its_replica_takes_over(
    server_binary: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A node failure: writes fail with StateUnavailable, then succeed on the promoted
    replica; the listeners find the new owner, and the hubs see a possible loss."""
    caplog.set_level("WARNING", logger="streamlit_redis_state")
    ns = "fail"
    cluster = ClusterNodes(masters=3, node_timeout_ms=1000, binary=server_binary)
    try:
        owner = cluster.owner(ns)
        replica = cluster.add_replica(owner)
        alive = next(n for n in cluster.nodes if n not in (owner, replica))
        url = cluster.url(alive, owner)
        recorder = Recorder()
        writer = hub_at(url, ns)
        viewer = hub_at(url, ns, recorder)
        try:
            writer.set("v", codec.encode(1))
            wait_until(lambda: recorder.view(viewer, "v") == 1, 5, "the viewer to see v")
            offset = owner.client().info("replication")["master_repl_offset"]
            wait_until(
                lambda: replica.client().info("replication")["slave_repl_offset"] >= offset,
                5,
                "the replica to have it",
            )
            owner.kill()
            started = time.monotonic()
            refused = 0
            value = 1
            while True:
                try:
                    writer.set("v", codec.encode(value + 1))
                except StateUnavailable as exc:
                    refused += 1
                    if time.monotonic() - started > 30:
                        seen = cluster.owner_of_slot(namespace_slot(ns), alive)
                        raise AssertionError(
                            f"no write for 30s; the slot's owner is "
                            f"{seen.port if seen else None} (replica {replica.port}): {exc}"
                        ) from exc
                    time.sleep(0.1)
                    continue
                value += 1
                break
            took = time.monotonic() - started
            wait_until(lambda: recorder.view(viewer, "v") == value, 10, "the viewer to follow")
            assert cluster.owner_of_slot(namespace_slot(ns), alive) is replica
            channel = writer.store.keyspace.channel
            wait_until(
                lambda: shard_subscribers(replica, channel) == 2 and viewer.listener.synced,
                10,
                "both listeners to subscribe on the promoted replica",
            )
            reruns = recorder.reruns
            writer.set("v", codec.encode(value + 1))
            wait_until(lambda: recorder.reruns > reruns, 5, "the viewer rerun by the next write")
            assert recorder.view(viewer, "v") == value + 1
            assert refused > 0
            # A promoted replica may lack changes: taken for a possible loss.
            assert "replication id changed" in caplog.text
            print(f"writes refused for {took:.1f}s ({refused} tries), then served by the replica")
        finally:
            viewer.close()
            writer.close()
    finally:
        cluster.close()


def test_a_tls_cluster_through_rediss_cluster(server_binary: str, tmp_path: Path) -> None:
    """rediss+cluster://: TLS to every node (and between them), the CA from the URL."""
    cert, key = self_signed_cert(tmp_path)
    cluster = ClusterNodes(masters=3, binary=server_binary, tls=(cert, key))
    try:
        url = cluster.url(cluster.not_owner("tls"), scheme="rediss+cluster")
        recorder = Recorder()
        writer = hub_at(f"{url}?ssl_ca_certs={cert}", "tls")
        viewer = hub_at(f"{url}?ssl_ca_certs={cert}&ssl_cert_reqs=required", "tls", recorder)
        try:
            writer.set("x", codec.encode("over tls"))
            wait_until(lambda: recorder.view(viewer, "x") == "over tls", 5, "the viewer")
            assert writer.store.sharded
        finally:
            viewer.close()
            writer.close()
        # Without the CA, the certificate is not trusted: a typed error, at once.
        with pytest.raises(ServerStateError):
            hub_at(url, "tls")
    finally:
        cluster.close()


def test_an_acl_user_confined_to_its_namespace_works_on_a_cluster(cluster: ClusterNodes) -> None:
    """The README's ACL line, on every node: no INFO, no CONFIG, one key pattern, one channel."""
    for node in cluster.nodes:
        command(node, "ACL", "SETUSER", "app", "on", ">app-pw", "resetkeys", "~srs:{acl}:*")
        command(node, "ACL", "SETUSER", "app", "resetchannels", "&srs:{acl}:events")
        command(node, "ACL", "SETUSER", "app", "+@all", "-@admin", "-@dangerous")
    url = cluster.url(cluster.not_owner("acl")).replace("://", "://app:app-pw@")
    recorder = Recorder()
    writer = hub_at(url, "acl")
    viewer = hub_at(url, "acl", recorder)
    try:
        assert writer.store.sharded  # INFO refused: Redis 7 assumed
        writer.set("x", codec.encode(1))
        writer.append("log", [codec.encode("a")], 0)
        assert set(writer.store.read_many(["x", "log"])) == {"x", "log"}
        wait_until(lambda: recorder.view(viewer, "x") == 1, 5, "the viewer")
        reruns = recorder.reruns
        writer.set("x", codec.encode(2))
        wait_until(lambda: recorder.reruns > reruns, 5, "the viewer rerun")
    finally:
        viewer.close()
        writer.close()
