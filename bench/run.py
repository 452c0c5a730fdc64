"""`make bench`: measure streamlit_redis_state against raw Redis and streamlit-server-state.

Everything runs here, side by side in one run: a real redis-server, real
`streamlit run` replicas, and headless websocket sessions as users. Absolute
times on a shared 2-core machine are noisy, so the figures quoted are ratios
between systems measured in the same run. Writes docs/benchmarks.md and PNG
plots next to it.

    python -m bench.run [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from support.processes import RedisServer, StreamlitServer, wait_until, without_ticks
from support.sessions import HeadlessSession

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "bench" / "apps" / "bench_app.py"
ROOM_APP = ROOT / "bench" / "apps" / "room_app.py"
DOCS = ROOT / "docs"
#: Where quick and partial runs write their report (not docs/).
OUT = ROOT / "bench" / "out"
ANCHOR_PY = ROOT / "bench" / ".venv-anchor" / "bin" / "python"


@dataclass
class Results:
    quick: bool
    sections: dict[str, dict[str, object]] = field(default_factory=dict)

    def put(self, section: str, **values: object) -> None:
        self.sections.setdefault(section, {}).update(values)
        shown = {k: v for k, v in values.items() if not isinstance(v, list)}
        print(f"[{section}] " + ", ".join(f"{k}={_fmt(v)}" for k, v in shown.items()), flush=True)


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ---------------------------------------------------------------------------


def replica(
    redis_server: RedisServer | None,
    name: str,
    anchor: bool = False,
    extra_env: dict[str, str] | None = None,
    namespace: str = "bench",
    app: Path = APP,
) -> StreamlitServer:
    """A `streamlit run` replica of ``app`` with Streamlit's defaults (plus ``extra_env``)."""
    env = {"SRS_BENCH_IMPL": "anchor" if anchor else "ours", **(extra_env or {})}
    if redis_server is not None:
        env["STREAMLIT_REDIS_STATE_URL"] = redis_server.url
        env["STREAMLIT_REDIS_STATE_NAMESPACE"] = namespace
    python = str(ANCHOR_PY) if anchor else sys.executable
    return StreamlitServer(app, env, name=name, python=python)


@contextmanager
def sessions(server: StreamlitServer, n: int, query: str = "") -> Iterator[list[HeadlessSession]]:
    opened: list[HeadlessSession] = []
    try:
        for _ in range(n):
            opened.append(server.session(query))
        for s in opened:
            s.wait_for(lambda r: bool(r.texts), 60, "first run")
        yield opened
    finally:
        for s in opened:
            s.close()


def configure_driver(redis_server: RedisServer) -> None:
    from streamlit_redis_state import configure

    configure(url=redis_server.url, namespace="bench")


# ---------------------------------------------------------------------------
# 1. Notify latency


def notify_latency(res: Results, redis_server: RedisServer, samples: int) -> None:
    """Samples of ours and of the raw floor alternate, so machine drift hits both alike."""
    from streamlit_redis_state import server_state

    configure_driver(redis_server)
    stamp_log = Path(tempfile.mkstemp(prefix="srs-stamps-")[1])
    recv_log = Path(tempfile.mkstemp(prefix="srs-recv-")[1])
    b = replica(redis_server, "B", extra_env={"SRS_BENCH_RERUN_LOG": str(stamp_log)})
    sub = subprocess.Popen([sys.executable, "-c", _SUBSCRIBER, redis_server.url, str(recv_log)])
    client = redis.Redis.from_url(redis_server.url)
    ours: list[float] = []
    raw: list[float] = []

    def timed(log: Path, act: Callable[[], object]) -> float:
        before = len(log.read_text().splitlines())
        t0 = time.time()
        act()
        wait_until(lambda: len(log.read_text().splitlines()) > before, 10, f"a stamp in {log}")
        return (float(log.read_text().splitlines()[before]) - t0) * 1000

    try:
        reader = b.session("key=lat")
        reader.wait_for(lambda r: any(t.startswith("lat=") for t in r.texts), 30, "reader")
        wait_until(lambda: client.pubsub_numsub("bench:raw")[0][1] > 0, 10, "raw subscriber")
        for i in range(samples + 5):
            o = timed(stamp_log, lambda i=i: server_state.__setitem__("lat", i))
            reader.wait_text(f"lat={i}", 10)
            r = timed(recv_log, lambda i=i: client.publish("bench:raw", str(i)))
            if i >= 5:  # warm-up
                ours.append(o)
                raw.append(r)
        reader.close()
    finally:
        b.stop()
        sub.kill()
        sub.wait()
        stamp_log.unlink(missing_ok=True)
        recv_log.unlink(missing_ok=True)
    res.put(
        "latency",
        ours_p50=pct(ours, 0.5),
        ours_p99=pct(ours, 0.99),
        raw_p50=pct(raw, 0.5),
        raw_p99=pct(raw, 0.99),
        ratio_p50=pct(ours, 0.5) / pct(raw, 0.5),
        samples=len(ours),
        ours_all=ours,
        raw_all=raw,
    )


_SUBSCRIBER = """
import sys, time, redis
p = redis.Redis.from_url(sys.argv[1]).pubsub(ignore_subscribe_messages=True)
p.subscribe("bench:raw")
with open(sys.argv[2], "a") as f:
    for m in p.listen():
        f.write(f"{time.time():.6f}\\n"); f.flush()
"""


# ---------------------------------------------------------------------------
# 2. Fan-out


@dataclass
class System:
    """One side of a side-by-side fan-out: its replicas, N reader tabs and a poster tab."""

    name: str
    servers: list[StreamlitServer]
    readers: list[HeadlessSession] = field(default_factory=list)
    poster: HeadlessSession | None = None
    next_id: int = 0
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def open(self, n: int) -> None:
        """N readers spread evenly over the replicas (opened in batches), and the poster."""
        k = len(self.servers)
        for start in range(0, n, 50):
            batch = [self.servers[i % k].session("") for i in range(start, min(n, start + 50))]
            for s in batch:
                s.wait_for(lambda r: bool(r.texts), 120, "first run")
            self.readers += batch
        self.poster = self.servers[0].session("op=post&id=0")
        self.poster.wait_for(lambda r: any(t.startswith("last=") for t in r.texts), 60, "poster")
        self.next_id = int(time.time() * 1000) % 10**9

    def round(self, record: bool = True) -> None:
        """Post one message (the poster's button); done when every reader shows it."""
        assert self.poster is not None
        self.next_id += 1
        msg = self.next_id
        cpu0 = sum(cpu_ms(s.proc.pid) for s in self.servers)
        t0 = time.monotonic()
        self.poster.query = f"op=post&id={msg}"
        self.poster.click_button("post")
        for s in self.readers:
            s.wait_text(f"last={msg}", 300)
        wall = (time.monotonic() - t0) * 1000
        if record:
            self.wall_ms.append(wall)
            self.cpu_ms.append(sum(cpu_ms(s.proc.pid) for s in self.servers) - cpu0)

    def close(self) -> None:
        for s in [*self.readers, *([self.poster] if self.poster else [])]:
            s.close()
        for server in self.servers:
            server.stop()


def cpu_ms(pid: int) -> float:
    """CPU time the process has used (every thread, ended ones too), in ms.

    Linux's per-process CPU clock (clock_getcpuclockid: ``~pid << 3 | 2``)
    counts in nanoseconds; /proc's counters only in 10 ms ticks.
    """
    try:
        return time.clock_gettime((~pid << 3) | 2) * 1000
    except OSError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def side_by_side(
    systems: list[System],
    n: int,
    rounds: int,
    after: Callable[[list[System]], None] | None = None,
) -> None:
    """Every system holds N sessions at once; rounds alternate A B B A (A B C C B A ...),
    so load from anything else on the machine falls on all of them alike. ``after`` looks
    at the systems before they close."""
    try:
        for system in systems:
            system.open(n)
        for system in systems:
            system.round(record=False)  # warm-up
        order = systems + systems[::-1]
        for _ in range((rounds + 1) // 2):
            for system in order:
                system.round()
        if after is not None:
            after(systems)
    finally:
        for system in systems:
            system.close()


def gc_stats(server: StreamlitServer) -> dict[str, float]:
    """What bench_app's op=gcstats says about the replica (numbers by name)."""
    tab = server.session("op=gcstats")
    run = tab.wait_for(lambda r: any(t.startswith("gc ") for t in r.texts), 60, "gc stats")
    tab.close()
    out: dict[str, float] = {}
    for text in run.texts:
        for part in text.split():
            name, _, value = part.partition("=")
            if value:
                out[name] = float(value)
    return out


NO_GC = {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "false"}


def fan_out(
    res: Results,
    redis_server: RedisServer,
    sizes: list[int],
    two_at: int,
    rounds: int,
    baseline: Path | None = None,
) -> None:
    """Fan-out of one post to N sessions, ours beside the anchor, each on one process.

    Both configurations: Streamlit's defaults (the headline), and with its full garbage
    collection after every script run off (`runner.postScriptGC`). At N = ``two_at``,
    ours on two replicas runs in the same alternation. With ``baseline`` (a folder
    holding an older streamlit_redis_state), that version runs beside them too.
    """
    for label, env in (("", {}), ("nogc_", NO_GC)):
        for n in sizes:
            redis_server.client().flushall()
            systems = [
                System("ours", [replica(redis_server, "ours", extra_env=env, namespace="one")]),
                System("anchor", [replica(redis_server, "anchor", anchor=True, extra_env=env)]),
            ]
            if baseline is not None:
                old = {**env, "PYTHONPATH": str(baseline)}
                systems.append(
                    System("base", [replica(redis_server, "base", extra_env=old, namespace="b")])
                )
            if n == two_at:
                two = [
                    replica(redis_server, f"two-{i}", extra_env=env, namespace="two")
                    for i in (1, 2)
                ]
                systems.append(System("ours2", two))
            side_by_side(systems, n, rounds)
            for system in systems:
                res.put(
                    "fanout",
                    **{
                        f"{label}{system.name}_{n}_p50": pct(system.wall_ms, 0.5),
                        f"{label}{system.name}_{n}_p99": pct(system.wall_ms, 0.99),
                        f"{label}{system.name}_{n}_cpu": statistics.median(system.cpu_ms),
                        f"{label}{system.name}_{n}_all": system.wall_ms,
                    },
                )


def gc_profile(res: Results, redis_server: RedisServer, n: int, rounds: int) -> None:
    """Where fan-out time goes with Streamlit's defaults: full collections per post.

    A diagnostic pass (a gc callback counts every full collection and its CPU
    time, which costs a little): ours with the gc freeze (the default), ours
    with it off, and the anchor, side by side.
    """
    redis_server.client().flushall()
    probe = {"SRS_BENCH_GC_PROBE": "1"}
    off = {**probe, "STREAMLIT_REDIS_STATE_GC_FREEZE": "false"}
    systems = [
        System("ours", [replica(redis_server, "gc-ours", extra_env=probe, namespace="gc1")]),
        System("ours_nofreeze", [replica(redis_server, "gc-off", extra_env=off, namespace="gc2")]),
        System("anchor", [replica(redis_server, "gc-anchor", anchor=True, extra_env=probe)]),
    ]
    before: dict[str, dict[str, float]] = {}

    def look(systems: list[System]) -> None:
        for system in systems:
            stats = gc_stats(system.servers[0])
            start = before.get(system.name, {})
            # minus one: the run that read the first figures collected too
            count = stats["collections"] - start.get("collections", 0) - 1
            cpu = stats["cpu_ms"] - start.get("cpu_ms", 0)
            rounds_done = len(system.wall_ms)
            res.put(
                "gcprofile",
                **{
                    f"{system.name}_collections_per_post": count / rounds_done,
                    f"{system.name}_ms_per_collection": cpu / count if count else 0.0,
                    f"{system.name}_gc_ms_per_post": cpu / rounds_done,
                    f"{system.name}_cpu_ms_per_post": statistics.median(system.cpu_ms),
                    f"{system.name}_wall_ms_per_post": statistics.median(system.wall_ms),
                    f"{system.name}_objects": stats["objects"],
                    f"{system.name}_frozen": stats["frozen"],
                },
            )

    # Counted from the end of the warm-up round: open, warm up, then start counting.
    try:
        for system in systems:
            system.open(n)
        for system in systems:
            system.round(record=False)
        for system in systems:
            before[system.name] = gc_stats(system.servers[0])
        order = systems + systems[::-1]
        for _ in range((rounds + 1) // 2):
            for system in order:
                system.round()
        look(systems)
    finally:
        for system in systems:
            system.close()
    res.put("gcprofile", sessions=n)


# ---------------------------------------------------------------------------
# 3. Redis commands per write


def commands_per_write(res: Results, redis_server: RedisServer, readers: list[int]) -> None:
    from streamlit_redis_state import server_state

    configure_driver(redis_server)
    b = replica(redis_server, "B")
    per: dict[int, int] = {}
    try:
        for n in readers:
            with sessions(b, n, "key=cost") as opened:
                counted: list[int] = []
                for i in range(3):
                    value = f"{n}-{i}"
                    redis_server.client().config_resetstat()
                    server_state["cost"] = value
                    for s in opened:
                        s.wait_text(f"cost={value}", 60)
                    time.sleep(0.3)
                    # Minus the health checks (every process, every ping_interval) that
                    # landed in the window: not a cost of the write. The window grows
                    # with the readers waited for, and so did the checks caught in it.
                    counted.append(sum(without_ticks(redis_server.command_calls()).values()))
                per[n] = min(counted)
                res.put("commands", **{f"readers_{n}": per[n]})
    finally:
        b.stop()
    res.put("commands", flat=len(set(per.values())) == 1)


# ---------------------------------------------------------------------------
# 4. Throughput


_RAW_WRITE = """
redis.call('SET', KEYS[1], ARGV[1])
local v = redis.call('HINCRBY', KEYS[2], 'k', 1)
redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[2], v)
return v
"""


def rate(fn: Callable[[int], object], seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn(n)
        n += 1
    return n / (time.perf_counter() - t0)


def throughput(res: Results, redis_server: RedisServer, seconds: float, rounds: int) -> None:
    """Writes/s and cache-hit reads/s, in interleaved rounds (medians), because a shared
    machine drifts by tens of percent between runs of the same thing."""
    from streamlit_redis_state import server_state
    from streamlit_redis_state.base import codec
    from streamlit_redis_state.engine.process import get_hub

    configure_driver(redis_server)
    wait_until(lambda: get_hub().listener.synced, 10, "listener")
    client = redis.Redis.from_url(redis_server.url)
    script = client.register_script(_RAW_WRITE)
    payload = {"user": "alice", "score": 1, "tags": ["a", "b"]}
    stop = threading.Event()

    def drain() -> None:  # what every replica does: receive its own notifications too
        sub = redis.Redis.from_url(redis_server.url).pubsub(ignore_subscribe_messages=True)
        sub.subscribe("bench:raw:sub")
        while not stop.is_set():
            sub.get_message(timeout=0.2)
        sub.close()

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    wait_until(lambda: client.pubsub_numsub("bench:raw:sub")[0][1] > 0, 5, "raw subscriber")

    def ours(i: int) -> None:
        server_state["tp"] = {**payload, "score": i}

    def raw(channel: str) -> Callable[[int], None]:
        def write(i: int) -> None:
            blob = codec.encode({**payload, "score": i})
            script(keys=["raw:v", "raw:ver", "raw:seq"], args=[blob, channel])

        return write

    writers: dict[str, Callable[[int], None]] = {
        "ours": ours,
        "raw_sub": raw("bench:raw:sub"),
        "raw": raw("bench:raw:nobody"),
    }
    writes: dict[str, list[float]] = {name: [] for name in writers}
    order = list(writers) + list(writers)[::-1]  # A B C C B A
    for _ in range((rounds + 1) // 2):
        for name in order:
            writes[name].append(rate(writers[name], seconds))
    stop.set()
    server_state["hit"] = payload
    wait_until(lambda: server_state.get("hit") == payload, 5, "cached")
    client.set("raw:get", codec.encode(payload))
    reads: dict[str, list[float]] = {"ours": [], "raw": []}
    for _ in range(rounds):
        reads["ours"].append(rate(lambda i: server_state["hit"], seconds))
        reads["raw"].append(rate(lambda i: codec.decode(client.get("raw:get") or b""), seconds))
    w = {k: statistics.median(v) for k, v in writes.items()}
    r = {k: statistics.median(v) for k, v in reads.items()}
    res.put(
        "throughput",
        ours_writes=w["ours"],
        raw_sub_writes=w["raw_sub"],
        raw_writes=w["raw"],
        write_ratio=w["ours"] / w["raw_sub"],
        write_ratio_nosub=w["ours"] / w["raw"],
        ours_reads=r["ours"],
        raw_reads=r["raw"],
        read_ratio=r["ours"] / r["raw"],
    )


# ---------------------------------------------------------------------------
# 5. Memory


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory(res: Results, redis_server: RedisServer, cycles: int) -> None:
    """RSS at rest, per session, and after many sessions came and went.

    Two replicas side by side, the gc freeze on (the default) and off, so its
    memory cost shows; then what a renewal of the freeze frees in the first.
    """
    redis_server.client().flushall()
    ttl = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2"}
    servers = {
        "": replica(redis_server, "mem", extra_env=ttl),
        "nofreeze_": replica(
            redis_server, "mem-off", extra_env={**ttl, "STREAMLIT_REDIS_STATE_GC_FREEZE": "false"}
        ),
    }
    figures: dict[str, dict[str, float]] = {label: {} for label in servers}
    try:
        for server in servers.values():
            with sessions(server, 5, "op=presence&id=warm"):
                pass
        time.sleep(3)
        for label, server in servers.items():
            figures[label]["base"] = rss_kb(server.proc.pid)
            with sessions(server, 100, "op=presence&id=held"):
                figures[label]["held"] = rss_kb(server.proc.pid)
        done = 0
        while done < cycles:
            for label, server in servers.items():
                with sessions(server, 50, f"op=presence&id={label}{done}"):
                    pass
            done += 50
        time.sleep(4)  # past the disconnected-session TTL
        for label, server in servers.items():
            figures[label]["after"] = rss_kb(server.proc.pid)
            stats = server.session("op=stats")
            run = stats.wait_for(
                lambda r: any(t.startswith("sessions=") for t in r.texts), 30, "stats"
            )
            counts = next(t for t in run.texts if t.startswith("sessions="))
            stats.close()
            res.put("memory", **{f"{label}counts_after": counts})
        renew = servers[""].session("op=renew")
        run = renew.wait_for(lambda r: any(t.startswith("renewed") for t in r.texts), 60, "renew")
        renew.close()
        renewed = dict(p.split("=") for p in run.texts[0].split()[1:])
        members = redis_server.client().zcard("srs:{bench}:p:bench")
    finally:
        for server in servers.values():
            server.stop()
    for label, f in figures.items():
        res.put(
            "memory",
            **{
                f"{label}base_kb": f["base"],
                f"{label}per_session_kb": (f["held"] - f["base"]) / 100,
                f"{label}after_cycles_kb": f["after"],
                f"{label}growth_kb": f["after"] - f["held"],
            },
        )
    res.put(
        "memory",
        cycles=cycles,
        presence_left=members,
        renewal_freed_objects=int(renewed["freed"]),
        renewal_rss_drop_kb=int(renewed["rss_before_kb"]) - int(renewed["rss_after_kb"]),
    )


def keys_memory(res: Results, redis_server: RedisServer, count: int) -> None:
    """RSS while a worker writes, reads and deletes ``count`` distinct keys, and of a
    replica that hears every change (it shows one key of its own)."""
    redis_server.client().flushall()
    server = replica(redis_server, "keys")
    every = max(count // 10, 1)
    args = [str(count), str(every)]
    worker_rss: list[int] = []
    replica_rss: list[int] = []
    try:
        tab = server.session("key=watched")
        tab.wait_for(lambda r: bool(r.texts), 60, "first run")
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.workers.keys_worker", redis_server.url, "bench", *args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            _, _done, kib = line.split()
            worker_rss.append(int(kib))
            replica_rss.append(rss_kb(server.proc.pid))
        if proc.wait(60) != 0:
            raise RuntimeError("the keys worker failed")
        tab.close()
    finally:
        server.stop()
    res.put(
        "keys",
        count=count,
        worker_kb=worker_rss,
        replica_kb=replica_rss,
        worker_growth_kb=worker_rss[-1] - worker_rss[0],
        replica_growth_kb=replica_rss[-1] - replica_rss[0],
    )


# ---------------------------------------------------------------------------
# 6. Growing rooms


def growing_rooms(res: Results, redis_server: RedisServer, sizes: list[int], posts: int) -> None:
    from streamlit_redis_state import server_state

    configure_driver(redis_server)
    b = replica(redis_server, "B")
    client = redis_server.client()
    try:
        for size in sizes:
            for mode in ("append", "edit"):
                key = f"room_{mode}_{size}"
                msg = {"who": "alice", "text": "x" * 80, "at": 1700000000}
                server_state.append(key, *[{**msg, "i": i} for i in range(size)])
                if mode == "edit":  # the simple API stores the list as one value
                    server_state[key] = list(server_state[key])
                reader = b.session(f"key={key}")
                reader.wait_for(lambda r, k=key: any(t.startswith(f"{k}=") for t in r.texts), 60)
                times: list[float] = []
                moved: list[int] = []
                for p in range(posts):
                    item = {**msg, "i": size + p}
                    runs = reader.run_count()
                    stats0 = client.info("stats")
                    t0 = time.perf_counter()
                    if mode == "append":
                        server_state.append(key, item)
                    else:
                        with server_state.edit(key) as messages:
                            messages.append(item)
                    times.append((time.perf_counter() - t0) * 1000)
                    reader.wait_for(lambda r, n=runs, rd=reader: rd.run_count() > n, 30, "rerun")
                    stats1 = client.info("stats")
                    moved.append(
                        stats1["total_net_input_bytes"]
                        - stats0["total_net_input_bytes"]
                        + stats1["total_net_output_bytes"]
                        - stats0["total_net_output_bytes"]
                    )
                reader.close()
                # Two processes touched the room per write: this one and replica B.
                res.put(
                    "rooms",
                    **{
                        f"{mode}_{size}_ms": statistics.median(times),
                        f"{mode}_{size}_bytes_per_process": statistics.median(moved) / 2,
                    },
                )
    finally:
        b.stop()


def room_render(
    res: Results, redis_server: RedisServer, sizes: list[int], viewers: int, rounds: int
) -> None:
    """What one rerun of a chat's message pane costs the server, per session, by room size.

    One replica per pane (room_app.py: an st.fragment drawing the newest 100
    messages with server_state.tail), each with ``viewers`` sessions showing
    its room; a worker (this process) appends one message, which reruns every
    pane showing the room. Server time is the replica's CPU time for that
    post divided by the sessions it reran. Panes alternate A B B A. The last
    pane reads the largest room whole (server_state.get, then slices): the
    pane before the tail API.
    """
    from streamlit_redis_state import server_state

    configure_driver(redis_server)
    msg = {"who": "alice", "text": "x" * 80, "at": 1700000000}
    panes = [(size, "tail") for size in sizes] + [(sizes[-1], "whole")]
    rooms: list[tuple[str, str, StreamlitServer, list[HeadlessSession]]] = []
    cpu: dict[str, list[float]] = {}
    wall: dict[str, list[float]] = {}
    try:
        for size, mode in panes:
            room = f"render_{size}"
            if mode == "tail":
                for start in range(0, size, 1000):
                    items = [{**msg, "i": i} for i in range(start, min(size, start + 1000))]
                    server_state.append(room, *items)
            name = f"{mode}_{size}"
            server = replica(redis_server, f"room-{name}", app=ROOM_APP)
            tabs = [server.session(f"room={room}&n=100&mode={mode}") for _ in range(viewers)]
            for tab in tabs:
                tab.wait_for(lambda r: any(t.startswith("last=") for t in r.texts), 120, "pane")
            rooms.append((name, room, server, tabs))
            cpu[name], wall[name] = [], []
        next_i = {room: server_state.length(room) for _, room, _, _ in rooms}

        def post(
            name: str, room: str, server: StreamlitServer, tabs: list[HeadlessSession]
        ) -> None:
            i = next_i[room]
            next_i[room] += 1
            cpu0, t0 = cpu_ms(server.proc.pid), time.monotonic()
            server_state.append(room, {**msg, "i": i})
            for tab in tabs:
                tab.wait_for(lambda r, i=i: f"last={i}" in r.screen.texts, 120, f"message {i}")
            wall[name].append((time.monotonic() - t0) * 1000)
            cpu[name].append((cpu_ms(server.proc.pid) - cpu0) / len(tabs))

        for entry in rooms:  # warm-up
            post(*entry)
            cpu[entry[0]].clear()
            wall[entry[0]].clear()
        order = rooms + rooms[::-1]
        for _ in range((rounds + 1) // 2):
            for entry in order:
                post(*entry)
    finally:
        for _, _, server, tabs in rooms:
            for tab in tabs:
                tab.close()
            server.stop()
    for name in cpu:
        res.put(
            "render",
            **{
                f"{name}_cpu_ms": statistics.median(cpu[name]),
                f"{name}_cpu_p99_ms": pct(cpu[name], 0.99),
                f"{name}_wall_p50": pct(wall[name], 0.5),
                f"{name}_wall_p99": pct(wall[name], 0.99),
            },
        )
    res.put("render", viewers=viewers, sizes=sizes)


def scale(res: Results, redis_server: RedisServer, n: int, replicas: int, rounds: int) -> None:
    """N sessions over several replicas: fan-out, RSS per session, and errors.

    Errors: a tab that shows an exception or never catches up, a replica that
    logged a traceback, a replica that exited.
    """
    redis_server.client().flushall()
    servers = [replica(redis_server, f"scale-{i}", namespace="scale") for i in range(replicas)]
    system = System("scale", servers)
    errors: list[str] = []
    # One tab per replica first: what a replica holds once the app and the
    # library are imported, before the N sessions.
    first = [s.session("key=warm") for s in servers]
    for tab in first:
        tab.wait_for(lambda r: bool(r.texts), 60, "first run")
    time.sleep(1)
    rest = [rss_kb(s.proc.pid) for s in servers]
    held = rest
    try:
        try:
            system.open(n)
            held = [rss_kb(s.proc.pid) for s in servers]
            system.round(record=False)
            for _ in range(rounds):
                system.round()
        except AssertionError as exc:
            errors.append(f"timeout: {str(exc)[:200]}")
        for tab in system.readers:
            if tab.screen.exceptions:
                errors.append(f"exception shown: {tab.screen.exceptions[0][:200]}")
        for server in servers:
            if server.proc.poll() is not None:
                errors.append(f"{server.name} exited")
            elif "Traceback" in server.output():
                errors.append(f"{server.name} logged a traceback")
        after = [rss_kb(s.proc.pid) for s in servers]
    finally:
        for tab in first:
            tab.close()
        system.close()
    res.put(
        "scale",
        sessions=n,
        replicas=replicas,
        p50_ms=pct(system.wall_ms, 0.5) if system.wall_ms else 0.0,
        p99_ms=pct(system.wall_ms, 0.99) if system.wall_ms else 0.0,
        rounds=len(system.wall_ms),
        rss_rest_kb=sum(rest),
        rss_held_kb=sum(held),
        rss_after_kb=sum(after),
        per_session_kb=(sum(held) - sum(rest)) / n,
        errors=len(errors),
        error_list=errors[:10],
        all_ms=system.wall_ms,
    )


# ---------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    import streamlit

    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True
    ).stdout.split()[2]
    return {
        "cpu": f"{os.cpu_count()} cores, {cpu}",
        "memory": f"{int(mem) // 1024 // 1024} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "streamlit": streamlit.__version__,
        "redis-server": redis_version.removeprefix("v="),
        "redis-py": redis.__version__,
    }


def checkout(rev: str) -> Path:
    """The package as of git revision ``rev``, in a temporary folder (for PYTHONPATH)."""
    folder = Path(tempfile.mkdtemp(prefix="srs-baseline-"))
    archive = subprocess.run(
        ["git", "archive", rev, "streamlit_redis_state"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


SECTIONS = (
    "latency",
    "throughput",
    "commands",
    "rooms",
    "render",
    "memory",
    "keys",
    "fanout",
    "gcprofile",
    "scale",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--baseline",
        default=os.environ.get("BENCH_BASELINE", ""),
        metavar="REV",
        help="also run fan-out with the library as of this git revision (before/after)",
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated sections to run (of {', '.join(SECTIONS)}); "
        "the report then goes to bench/out/, not docs/",
    )
    args = parser.parse_args(argv)
    if not ANCHOR_PY.exists():
        raise SystemExit(f"{ANCHOR_PY} is missing: run `make bench`, which creates it")
    only = [x for x in args.only.split(",") if x]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown sections: {', '.join(sorted(unknown))}")
    q = args.quick
    res = Results(quick=q)
    baseline = checkout(args.baseline) if args.baseline else None
    if baseline is not None:
        res.put("fanout", baseline=args.baseline)
    redis_server = RedisServer()
    runs: dict[str, Callable[[], None]] = {
        "latency": lambda: notify_latency(res, redis_server, samples=40 if q else 300),
        "throughput": lambda: throughput(
            res, redis_server, seconds=0.3 if q else 0.5, rounds=4 if q else 20
        ),
        "commands": lambda: commands_per_write(
            res, redis_server, readers=[1, 10] if q else [1, 10, 50, 100]
        ),
        "rooms": lambda: growing_rooms(
            res, redis_server, sizes=[100, 1000] if q else [100, 1000, 10000], posts=5 if q else 15
        ),
        "render": lambda: room_render(
            res,
            redis_server,
            sizes=[100, 1000] if q else [100, 1000, 10000],
            viewers=10 if q else 30,
            rounds=4 if q else 12,
        ),
        "memory": lambda: memory(res, redis_server, cycles=100 if q else 1000),
        "keys": lambda: keys_memory(res, redis_server, count=1000 if q else 10000),
        "fanout": lambda: fan_out(
            res,
            redis_server,
            sizes=[10, 30] if q else [30, 50, 200],
            two_at=30 if q else 200,
            rounds=4 if q else 10,
            baseline=baseline,
        ),
        "gcprofile": lambda: gc_profile(res, redis_server, n=10 if q else 30, rounds=2 if q else 8),
        "scale": lambda: scale(
            res,
            redis_server,
            n=100 if q else 1000,
            replicas=2 if q else 4,
            rounds=3 if q else 8,
        ),
    }
    began = time.monotonic()
    try:
        for name in only or SECTIONS:
            t0 = time.monotonic()
            runs[name]()
            res.put("durations", **{f"{name}_s": round(time.monotonic() - t0, 1)})
    finally:
        from streamlit_redis_state.engine.process import reconfigure

        reconfigure({})
        redis_server.close()
    res.put("durations", total_s=round(time.monotonic() - began, 1))
    from bench.report import write_report

    partial = q or bool(only)
    folder = OUT if partial else DOCS
    stem = "benchmarks-quick" if q else "benchmarks-partial" if only else "benchmarks"
    write_report(res.sections, machine(), folder / f"{stem}.md", quick=partial)
    (folder / f"{stem}.json").write_text(json.dumps(res.sections, indent=1, default=str))
    print(f"wrote {folder / f'{stem}.md'}")


if __name__ == "__main__":
    threading.excepthook = lambda a: None  # reader threads of closed sessions
    main()
