"""Highly available Redis on loopback: a Redis Cluster of masters, and a Sentinel group.

Every process is a :class:`support.processes.RedisServer` (or a sentinel
started the same way) on a free loopback port, stopped by its pid. The
cluster is built with plain commands (CLUSTER ADDSLOTSRANGE, CLUSTER MEET),
so it needs no redis-cli; a slot is moved the way redis-cli's resharding
does it (SETSLOT IMPORTING / MIGRATING, MIGRATE, SETSLOT NODE).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.crc import key_slot

from support.processes import RedisServer, free_port, require_binary, stop_process, wait_until

SLOTS = 16384


def slot_of(name: str) -> int:
    """The hash slot of a key or channel name (its ``{tag}`` when it has one)."""
    return int(key_slot(name.encode()))


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with openssl, valid for a day."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    args += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    args += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [require_binary("openssl"), *args],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def namespace_slot(namespace: str) -> int:
    """The slot every name of a namespace lives in (they share the ``{ns}`` tag)."""
    return slot_of("{" + namespace + "}")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def command(server: RedisServer, *args: Any) -> Any:
    """One command to one server (redis-py leaves ``execute_command`` untyped)."""
    client: Any = server.client()
    return client.execute_command(*args)


class ClusterNodes:
    """``masters`` redis-server processes joined into one Redis Cluster, no replicas."""

    def __init__(
        self,
        masters: int = 3,
        binary: str = "redis-server",
        node_timeout_ms: int = 2000,
        tls: tuple[Path, Path] | None = None,
    ):
        """``tls`` (a certificate and its key): every node also serves TLS on a
        port of its own (``tls_ports``), and the nodes talk TLS to each other;
        the plain port stays, for the test's own commands."""
        self.binary = binary
        self.tls = tls
        #: Each node's TLS port (with ``tls``).
        self.tls_ports: dict[int, int] = {}
        self.node_timeout_ms = node_timeout_ms
        self.nodes: list[RedisServer] = []
        #: Each node's cluster bus port.
        self.bus: dict[int, int] = {}
        try:
            for _ in range(masters):
                bus = free_port()
                tls_args = self._tls_args()
                self.nodes.append(
                    RedisServer(
                        *tls_args,
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        str(node_timeout_ms),
                        # The bus defaults to port + 10000, which a free port
                        # above 55535 cannot have: give it a free port of its own.
                        "--cluster-port",
                        str(bus),
                        "--repl-diskless-sync-delay",
                        "0",
                        binary=binary,
                    )
                )
                self.bus[self.nodes[-1].port] = bus
                if tls_args:
                    self.tls_ports[self.nodes[-1].port] = int(tls_args[1])
            self._create()
        except BaseException:
            self.close()
            raise

    def _tls_args(self) -> list[str]:
        if self.tls is None:
            return []
        cert, key = self.tls
        return [
            "--tls-port",
            str(free_port()),
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(cert),
            "--tls-auth-clients",
            "no",
            "--tls-cluster",
            "yes",
            "--tls-replication",
            "yes",
        ]

    def _create(self) -> None:
        n = len(self.nodes)
        for i, node in enumerate(self.nodes):
            first, last = i * SLOTS // n, (i + 1) * SLOTS // n - 1
            command(node, "CLUSTER", "SET-CONFIG-EPOCH", i + 1)
            command(node, "CLUSTER", "ADDSLOTSRANGE", first, last)
        for node in self.nodes[1:]:
            command(self.nodes[0], "CLUSTER", "MEET", "127.0.0.1", node.port, self.bus[node.port])
        wait_until(self._agreed, 20, "the cluster to agree on every slot", interval=0.05)

    def _agreed(self) -> bool:
        for node in self.nodes:
            info = command(node, "CLUSTER", "INFO")
            text = _text(info)
            if (
                "cluster_state:ok" not in text
                or f"cluster_known_nodes:{len(self.nodes)}" not in text
            ):
                return False
        owners = [self.owner_of_slot(s, node) for s in (0, SLOTS - 1) for node in self.nodes]
        return None not in owners

    def ids(self) -> dict[str, RedisServer]:
        return {_text(command(n, "CLUSTER", "MYID")): n for n in self.nodes}

    def owner_of_slot(self, slot: int, ask: RedisServer | None = None) -> RedisServer | None:
        """The node that owns ``slot`` as ``ask`` (default: the first node) sees it."""
        rows = command(ask or self.nodes[0], "CLUSTER", "SLOTS")
        for row in rows:
            first, last, master = int(row[0]), int(row[1]), row[2]
            if first <= slot <= last:
                port = int(master[1])
                return next((n for n in self.nodes if n.port == port), None)
        return None

    def owner(self, namespace: str) -> RedisServer:
        node = self.owner_of_slot(namespace_slot(namespace))
        assert node is not None
        return node

    def not_owner(self, namespace: str) -> RedisServer:
        owner = self.owner(namespace)
        return next(n for n in self.nodes if n is not owner)

    def url(self, *nodes: RedisServer, scheme: str = "redis+cluster") -> str:
        """A cluster URL naming ``nodes``; with ``rediss+cluster``, their TLS ports."""
        tls = scheme.startswith("rediss")
        ports = [self.tls_ports[n.port] if tls else n.port for n in nodes]
        return f"{scheme}://" + ",".join(f"127.0.0.1:{p}" for p in ports)

    def migrate_slot(
        self,
        slot: int,
        target: RedisServer,
        batch: int = 5,
        between_batches: Callable[[], None] = lambda: None,
    ) -> int:
        """Move ``slot`` to ``target`` as a resharding does; returns how many keys moved.

        The slot is IMPORTING on the target and MIGRATING on the source while
        its keys move in batches (``between_batches`` runs after each, so a
        test can stretch the window); then every node is told the new owner.
        """
        source = self.owner_of_slot(slot)
        assert source is not None and source is not target, "the slot is already there"
        ids = {n.port: nid for nid, n in self.ids().items()}
        src: Any = source.client()
        dst: Any = target.client()
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source.port])
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target.port])
        moved = 0
        while True:
            keys = src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch)
            if not keys:
                break
            src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
            moved += len(keys)
            between_batches()
        # The target first, then the source, then the rest (as redis-cli does).
        for node in [target, source, *(n for n in self.nodes if n not in (target, source))]:
            client: Any = node.client()
            client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[target.port])
        wait_until(
            lambda: all(self.owner_of_slot(slot, n) is target for n in self.nodes),
            10,
            f"every node to see slot {slot} on its new owner",
        )
        return moved

    def add_replica(self, master: RedisServer) -> RedisServer:
        """A new node that replicates ``master`` (so a failure of it can fail over)."""
        bus = free_port()
        node = RedisServer(
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(self.node_timeout_ms),
            "--cluster-port",
            str(bus),
            "--repl-diskless-sync-delay",
            "0",
            binary=self.binary,
        )
        self.nodes.append(node)
        self.bus[node.port] = bus
        command(self.nodes[0], "CLUSTER", "MEET", "127.0.0.1", node.port, bus)
        master_id = next(nid for nid, n in self.ids().items() if n is master)

        def replicating() -> bool:
            try:
                command(node, "CLUSTER", "REPLICATE", master_id)
            except redis.ResponseError:
                return False  # it does not know the master yet
            info = node.client().info("replication")
            return bool(info.get("master_link_status") == "up")

        wait_until(replicating, 20, "the new node to replicate its master", interval=0.1)
        node_id = next(nid for nid, n in self.ids().items() if n is node)

        def known_everywhere() -> bool:
            for other in self.nodes:
                lines = _text(command(other, "CLUSTER", "NODES")).splitlines()
                row = next((line.split() for line in lines if line.startswith(node_id)), None)
                if row is None or "slave" not in row[2] or row[3] != master_id:
                    return False
            return True

        # Only masters that know the replica vote for it when its master fails.
        wait_until(known_everywhere, 20, "every node to know the new replica", interval=0.1)
        return node

    def keys_in_slot(self, slot: int) -> int:
        owner = self.owner_of_slot(slot)
        assert owner is not None
        client: Any = owner.client()
        return int(client.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot))

    def client(self) -> redis.RedisCluster:
        node = self.nodes[0]
        return redis.RedisCluster(host="127.0.0.1", port=node.port, socket_timeout=5)

    def close(self) -> None:
        for node in self.nodes:
            node.close()
        self.nodes = []


class SentinelServer:
    """One redis-server in sentinel mode, watching ``service`` on a primary."""

    def __init__(
        self,
        service: str,
        primary_port: int,
        quorum: int,
        password: str | None = None,
        primary_password: str | None = None,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 4000,
        binary: str = "redis-server",
    ) -> None:
        self.binary = require_binary(binary)
        self.port = free_port()
        self.password = password
        self.dir = Path(tempfile.mkdtemp(prefix="srs-sentinel-"))
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            "protected-mode no",
            f'dir "{self.dir}"',
            f"sentinel monitor {service} 127.0.0.1 {primary_port} {quorum}",
            f"sentinel down-after-milliseconds {service} {down_after_ms}",
            f"sentinel failover-timeout {service} {failover_timeout_ms}",
            f"sentinel parallel-syncs {service} 1",
        ]
        if primary_password:
            lines.append(f"sentinel auth-pass {service} {primary_password}")
        if password:
            lines.append(f"requirepass {password}")
        self.conf = self.dir / "sentinel.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [self.binary, str(self.conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(self._pings, 10, f"sentinel on port {self.port}")
        except BaseException:
            self.close()
            raise

    def client(self) -> Any:
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_timeout=5
        )

    def _pings(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


class SentinelGroup:
    """A primary, one replica and ``sentinels`` sentinels (quorum: a majority of them)."""

    def __init__(
        self,
        service: str = "srs",
        sentinels: int = 3,
        password: str | None = None,
        sentinel_password: str | None = None,
    ) -> None:
        self.service = service
        self.password = password
        self.sentinel_password = sentinel_password
        auth = ["--requirepass", password, "--masterauth", password] if password else []
        # A replica's first sync waits repl-diskless-sync-delay (5 s) by default.
        auth += ["--repl-diskless-sync-delay", "0"]
        self.servers: list[RedisServer] = []
        self.sentinels: list[SentinelServer] = []
        try:
            self.servers.append(RedisServer(*auth))
            primary = self.servers[0]
            self.servers.append(RedisServer(*auth, "--replicaof", "127.0.0.1", str(primary.port)))
            wait_until(lambda: self.link_up(self.servers[1]), 10, "the replica to sync")
            for _ in range(sentinels):
                self.sentinels.append(
                    SentinelServer(
                        service,
                        primary.port,
                        sentinels // 2 + 1,
                        password=sentinel_password,
                        primary_password=password,
                    )
                )
            wait_until(self._ready, 20, "every sentinel to know the replica and its peers")
        except BaseException:
            self.close()
            raise

    def server_client(self, server: RedisServer) -> Any:
        return redis.Redis(
            host="127.0.0.1", port=server.port, password=self.password, socket_timeout=5
        )

    def link_up(self, replica: RedisServer) -> bool:
        info = self.server_client(replica).info("replication")
        return bool(info.get("role") == "slave" and info.get("master_link_status") == "up")

    def _ready(self) -> bool:
        for sentinel in self.sentinels:
            state = sentinel.client().sentinel_master(self.service)
            if int(state.get("num-slaves", 0)) < 1:
                return False
            if int(state.get("num-other-sentinels", 0)) < len(self.sentinels) - 1:
                return False
        return True

    def primary_port(self) -> int:
        _host, port = self.sentinels[0].client().sentinel_get_master_addr_by_name(self.service)
        return int(port)

    def primary(self) -> RedisServer:
        port = self.primary_port()
        return next(s for s in self.servers if s.port == port)

    def url(self, scheme: str = "redis+sentinel", userinfo: str = "", query: str = "") -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}{hosts}/{self.service}/0" + (f"?{query}" if query else "")

    def failover(self) -> RedisServer:
        """SENTINEL FAILOVER; returns the server that was primary before."""
        old = self.primary()
        self.sentinels[0].client().execute_command("SENTINEL", "FAILOVER", self.service)
        return old

    def wait_settled(self, old: RedisServer, timeout: float = 30) -> RedisServer:
        """Until every sentinel names a new primary and the old one replicates from it."""

        def settled() -> bool:
            ports = {
                int(s.client().sentinel_get_master_addr_by_name(self.service)[1])
                for s in self.sentinels
            }
            return len(ports) == 1 and old.port not in ports and self.link_up(old)

        wait_until(settled, timeout, "the failover to settle", interval=0.1)
        return self.primary()

    def close(self) -> None:
        for sentinel in self.sentinels:
            sentinel.close()
        for server in self.servers:
            server.close()
        self.sentinels, self.servers = [], []


def elapsed(since: float) -> float:
    return time.monotonic() - since
