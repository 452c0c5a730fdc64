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

from support.processes import RedisServer, StreamlitServer, wait_until
from support.sessions import HeadlessSession

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "bench" / "apps" / "bench_app.py"
DOCS = ROOT / "docs"
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
) -> StreamlitServer:
    env = {"SRS_BENCH_IMPL": "anchor" if anchor else "ours", **(extra_env or {})}
    if redis_server is not None:
        env["STREAMLIT_REDIS_STATE_URL"] = redis_server.url
        env["STREAMLIT_REDIS_STATE_NAMESPACE"] = "bench"
    python = str(ANCHOR_PY) if anchor else sys.executable
    return StreamlitServer(APP, env, name=name, python=python)


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


def fan_out_once(servers: list[StreamlitServer], n: int, rounds: int) -> list[float]:
    per = [n // len(servers) + (1 if i < n % len(servers) else 0) for i in range(len(servers))]
    times: list[float] = []
    with contextlib_exit() as stack:
        readers = [
            s
            for server, k in zip(servers, per, strict=True)
            for s in stack.enter(sessions(server, k))
        ]
        poster = servers[0].session("")
        poster.wait_for(lambda r: any(t.startswith("last=") for t in r.texts), 30, "poster")
        base = int(time.time() * 1000) % 10**9
        for r in range(rounds + 1):
            msg_id = base + r
            t0 = time.monotonic()
            poster.click(f"op=post&id={msg_id}")
            for s in readers:
                s.wait_text(f"last={msg_id}", 120)
            if r:  # the first round warms up
                times.append((time.monotonic() - t0) * 1000)
        poster.close()
    return times


class contextlib_exit:
    def __init__(self) -> None:
        self._cms: list[object] = []

    def __enter__(self) -> contextlib_exit:
        return self

    def enter(self, cm: object) -> list[HeadlessSession]:
        value = cm.__enter__()  # type: ignore[attr-defined]
        self._cms.append(cm)
        return value  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        for cm in reversed(self._cms):
            cm.__exit__(None, None, None)  # type: ignore[attr-defined]


NO_GC = {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "false"}


def fan_out(res: Results, redis_server: RedisServer, sizes: list[int], rounds: int) -> None:
    """Each configuration twice: Streamlit's defaults, and with its full garbage collection
    after every script run turned off (`runner.postScriptGC`), which dominates fan-out."""
    for label, env in (("", {}), ("nogc_", NO_GC)):
        for n in sizes:
            for impl in ("ours", "anchor"):
                redis_server.client().flushall()
                server = replica(redis_server, f"{impl}-1", anchor=impl == "anchor", extra_env=env)
                try:
                    t = fan_out_once([server], n, rounds)
                finally:
                    server.stop()
                res.put("fanout", **{f"{label}{impl}_{n}_ms": statistics.median(t)})
        n = sizes[-1]
        redis_server.client().flushall()
        two = [
            replica(redis_server, "ours-2a", extra_env=env),
            replica(redis_server, "ours-2b", extra_env=env),
        ]
        try:
            t = fan_out_once(two, n, rounds)
        finally:
            for s in two:
                s.stop()
        res.put("fanout", **{f"{label}ours2_{n}_ms": statistics.median(t)})


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
                for i in range(3):
                    value = f"{n}-{i}"
                    redis_server.client().config_resetstat()
                    server_state["cost"] = value
                    for s in opened:
                        s.wait_text(f"cost={value}", 60)
                    time.sleep(0.3)
                    calls = redis_server.command_calls()
                per[n] = sum(calls.values())
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

    writes: dict[str, list[float]] = {"ours": [], "raw_sub": [], "raw": []}
    for _ in range(rounds):
        writes["ours"].append(rate(ours, seconds))
        writes["raw_sub"].append(rate(raw("bench:raw:sub"), seconds))
        writes["raw"].append(rate(raw("bench:raw:nobody"), seconds))
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
    redis_server.client().flushall()
    server = replica(
        redis_server, "mem", extra_env={"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2"}
    )
    try:
        with sessions(server, 5, "op=presence&id=warm"):
            pass
        time.sleep(3)
        base = rss_kb(server.proc.pid)
        with sessions(server, 100, "op=presence&id=held"):
            held = rss_kb(server.proc.pid)
        per_session = (held - base) / 100
        done = 0
        while done < cycles:
            with sessions(server, 50, f"op=presence&id={done}"):
                pass
            done += 50
        time.sleep(4)  # past the disconnected-session TTL
        after = rss_kb(server.proc.pid)
        stats = server.session("op=stats")
        run = stats.wait_for(lambda r: any(t.startswith("sessions=") for t in r.texts), 30, "stats")
        counts = next(t for t in run.texts if t.startswith("sessions="))
        stats.close()
        members = redis_server.client().zcard("srs:{bench}:p:bench")
    finally:
        server.stop()
    res.put(
        "memory",
        base_kb=base,
        per_session_kb=per_session,
        after_cycles_kb=after,
        growth_kb=after - held,
        cycles=cycles,
        counts_after=counts,
        presence_left=members,
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    if not ANCHOR_PY.exists():
        raise SystemExit(f"{ANCHOR_PY} is missing: run `make bench`, which creates it")
    q = args.quick
    res = Results(quick=q)
    redis_server = RedisServer()
    try:
        notify_latency(res, redis_server, samples=40 if q else 200)
        throughput(res, redis_server, seconds=0.5 if q else 1.0, rounds=3 if q else 7)
        commands_per_write(res, redis_server, readers=[1, 10] if q else [1, 10, 50, 100])
        growing_rooms(
            res, redis_server, sizes=[100, 1000] if q else [100, 1000, 10000], posts=5 if q else 15
        )
        memory(res, redis_server, cycles=100 if q else 1000)
        fan_out(res, redis_server, sizes=[10, 20] if q else [50, 200], rounds=2 if q else 5)
    finally:
        from streamlit_redis_state.engine.process import reconfigure

        reconfigure({})
        redis_server.close()
    from bench.report import write_report

    out = DOCS / ("benchmarks-quick.md" if q else "benchmarks.md")
    write_report(res.sections, machine(), out, quick=q)
    (DOCS / ("benchmarks-quick.json" if q else "benchmarks.json")).write_text(
        json.dumps(res.sections, indent=1, default=str)
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    threading.excepthook = lambda a: None  # reader threads of closed sessions
    main()
