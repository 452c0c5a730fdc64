"""Capacity of one namespace on a Redis Cluster: Redis CPU per write and per re-read.

A namespace lives on one shard (all its names share the ``{ns}`` hash tag), so
its ceiling is what one Redis main thread can do. This measures, on a real
3-master cluster on loopback (redis-server, or valkey-server with --valkey):

* a write (``set``, one script that compares, stores, versions and SPUBLISHes)
  with S listening processes (hubs), S = 1, 4, 16;
* a re-read (``read``, what each process does once per change it hears of,
  whatever its number of sessions);
* the same writes spread over three namespaces that live on three shards.

Redis CPU is read two ways on the shard: INFO commandstats (the usec of the
scripts, their nested commands included: command execution only) and INFO cpu
(the whole process: also network reads, writes and event handling).
Prints markdown for docs/capacity.md.

    python -m bench.cluster_capacity [--writes 1000] [--valkey]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any

from streamlit_redis_state.base import codec
from streamlit_redis_state.base.config import resolve
from streamlit_redis_state.engine.hub import Hub
from support.ha import ClusterNodes, namespace_slot
from support.processes import RedisServer, wait_until

FAST = {"ping_interval": 1.0, "socket_timeout": 2.0, "connect_timeout": 1.0}


class Quiet:
    """A bridge with no sessions: the hub listens and caches, and reruns nobody."""

    def current_place(self) -> None:
        return None

    def yield_point(self) -> None:
        pass

    def watch_disconnect(self, session_id: str) -> None:
        pass

    def set_release_callback(self, callback: Any) -> None:
        pass

    def request_rerun(self, session_id: str, fragment_ids: Any) -> bool:
        return True

    def runtime_exists(self) -> bool:
        return False

    def session_active(self, session_id: str) -> bool:
        return True


def hub(url: str, ns: str) -> Hub:
    h = Hub(resolve({"url": url, "namespace": ns, **FAST}), bridge=Quiet())  # type: ignore[arg-type]
    h.start()
    wait_until(lambda: h.listener.synced, 10, "a listener")
    return h


def cpu_usec(node: RedisServer) -> float:
    info = node.client().info("cpu")
    return (float(info["used_cpu_user"]) + float(info["used_cpu_sys"])) * 1e6


def script_usec(node: RedisServer) -> tuple[int, float]:
    stats = node.client().info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), float(stats.get("usec", 0))


def measure(node: RedisServer, n: int, act: Any, rounds: int = 3) -> dict[str, float]:
    """Per call of ``act(i)``: script usec (commandstats) and process CPU usec (INFO cpu).

    ``rounds`` rounds of ``n`` calls; the least of each figure is kept: on a
    shared machine, other processes only ever add to what is measured.
    """
    best: dict[str, float] = {}
    for r in range(rounds):
        node.client().config_resetstat()
        cpu0 = cpu_usec(node)
        started = time.perf_counter()
        for i in range(n):
            act(r * n + i)
        elapsed = time.perf_counter() - started
        calls, usec = script_usec(node)
        cpu = cpu_usec(node) - cpu0
        got = {"script": usec / n, "cpu": cpu / n, "calls": calls / n, "rate": -n / elapsed}
        best = {k: min(v, best.get(k, v)) for k, v in got.items()}
    best["rate"] = -best["rate"]
    return best


def namespaces_per_shard(cluster: ClusterNodes) -> dict[int, str]:
    """A namespace name for each shard (by port), found by trying app:0, app:1, ..."""
    out: dict[int, str] = {}
    i = 0
    while len(out) < len(cluster.nodes):
        name = f"app:{i}"
        out.setdefault(cluster.owner(name).port, name)
        i += 1
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=1000, help="per round (3 rounds)")
    parser.add_argument("--valkey", action="store_true", help="valkey-server instead of redis")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every server started here is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = args.writes
    binary = "valkey-server" if args.valkey else "redis-server"
    cluster = ClusterNodes(masters=3, binary=binary)
    hubs: list[Hub] = []
    try:
        url = cluster.url(*cluster.nodes)
        version = cluster.nodes[0].client().info("server")
        print(f"# {binary} {version.get('valkey_version') or version['redis_version']}, 3 masters")
        ns = "cap"
        owner = cluster.owner(ns)
        rows: list[tuple[str, dict[str, float]]] = []
        value = "x" * 100
        for listeners in (1, 4, 16):
            while len(hubs) < listeners:
                hubs.append(hub(url, ns))
            writer = hubs[0]
            tag = f"s{listeners}:"
            rows.append(
                (
                    f"write, {listeners} listening process(es)",
                    measure(
                        owner,
                        n,
                        lambda i, w=writer, t=tag: w.set("k", codec.encode(t + str(i) + value)),
                    ),
                )
            )
        # Calibration: the smallest script, on this machine, now.
        noop = owner.client().register_script("return 1")
        rows.append(("*calibration:* the script `return 1`", measure(owner, n, lambda i: noop())))
        reader = hubs[0]
        rows.append(
            (
                "re-read (one per process per change)",
                measure(owner, n, lambda i: reader.store.read("k")),
            )
        )
        big = "y" * 1000
        rows.append(
            (
                "write of 1 KB, 16 listening processes",
                measure(owner, n, lambda i: reader.set("b", codec.encode(str(i) + big))),
            )
        )
        rows.append(("re-read of 1 KB", measure(owner, n, lambda i: reader.store.read("b"))))
        for h in hubs:
            h.close()
        hubs.clear()
        # The same on one plain server, in the same run: what the cluster adds.
        single = RedisServer(binary=binary)
        try:
            hubs.extend(hub(single.url, ns) for _ in range(4))
            first = hubs[0]
            rows.append(
                (
                    "*one plain server:* write, 4 listening processes",
                    measure(single, n, lambda i: first.set("k", codec.encode(str(i) + value))),
                )
            )
            rows.append(
                ("*one plain server:* re-read", measure(single, n, lambda i: first.store.read("k")))
            )
        finally:
            for h in hubs:
                h.close()
            hubs.clear()
            single.close()
        print(
            "\n| on the namespace's shard | script µs (commandstats) | Redis CPU µs (INFO cpu) | client calls/s |"
        )
        print("| --- | --- | --- | --- |")
        for what, m in rows:
            print(f"| {what} | {m['script']:.1f} | {m['cpu']:.1f} | {m['rate']:.0f} |")

        # Three namespaces, one per shard: each shard pays only for its own.
        names = namespaces_per_shard(cluster)
        print("\n| namespace | slot | shard (port) | share of slots |")
        print("| --- | --- | --- | --- |")
        for port, name in names.items():
            print(f"| `{name}` | {namespace_slot(name)} | {port} | 1/3 |")
        writers = {port: hub(url, name) for port, name in names.items()}
        hubs.extend(writers.values())
        for node in cluster.nodes:
            node.client().config_resetstat()
        before = {node.port: cpu_usec(node) for node in cluster.nodes}
        started = time.perf_counter()
        for i in range(n):
            for h in writers.values():
                h.set("k", codec.encode(str(i) + value))
        elapsed = time.perf_counter() - started
        print("\n| shard (port) | writes | script µs per write | Redis CPU µs per write |")
        print("| --- | --- | --- | --- |")
        for node in cluster.nodes:
            calls, usec = script_usec(node)
            cpu = cpu_usec(node) - before[node.port]
            print(f"| {node.port} | {calls} | {usec / max(calls, 1):.1f} | {cpu / n:.1f} |")
        print(f"\n{3 * n / elapsed:.0f} writes/s in all from one Python thread (client-bound)")
    finally:
        for h in hubs:
            h.close()
        cluster.close()


if __name__ == "__main__":
    main()
