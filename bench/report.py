"""Turn one benchmark run into docs/benchmarks.md and its plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HISTORY = """\
## What was tried

- **Process cache with single-flight fetches.** Without it, N sessions of a
  process re-read a changed key N times. With it, a change costs one fetch per
  process (the writer's process none: it caches what it wrote), which is what
  keeps commands per write flat as readers grow.
- **Rerun coalescing.** A burst of changes to what a session shows costs one
  rerun, not one per change: requests merge until the session's event loop
  takes the first.
- **Notifications without values.** The value is never published; a
  notification is ~100 bytes whatever the value, so fan-out to many processes
  costs little and no subscriber is cut off by the output buffer limit.
- **The append path** (`server_state.append`). With `edit()`, posting to a
  room rewrites and re-reads the whole list: cost grows with the room. The
  list is now stored item by item: the write pushes one item, the notification
  says how many items were added, and each process fetches only those and
  extends its cached copy. The room-size table shows both.
- **Reads under a lock bypass the cache** (found by the integration tier's
  16-session counter): correct, at one round trip per locked read.
- **Lock waits yield to Streamlit.** The memory cycles first hung: a burst of
  presence reruns made Streamlit start a new script thread per rerun while
  the stopped ones stayed queued on the app's top-level lock (hundreds of
  threads, then `LockTimeout`s). Waits now give Streamlit its checkpoint
  every 50 ms, so a stopped run leaves the queue. `join_presence()` joins
  without watching, for pages that do not show the member list.

### The notify-latency target (2× raw PUBLISH→receive)

Across six runs on this machine the p50 ratio was 1.66×, 1.69×, 1.96×, 2.08×,
2.24× and 2.28× (the last while other work ran). It sits at the target: met in
some runs, missed by up to about 14% in others. Samples of both systems
alternate, so drift hits both alike. The remaining ~0.3 ms is work the raw
path does not do. Before its PUBLISH, the write script runs the byte
comparison and the version and sequence updates. The notification is JSON,
decoded and dispatched by a listener that shares its process (and GIL) with a
Streamlit server, where the raw subscriber is a bare process.

### The write-throughput target (0.8× the raw script)

Profiled with cProfile and by stubbing the Redis call out:

- redis-py's pure-Python RESP parser was the largest client cost: adding
  `hiredis` (redis-py's own C parser, now a dependency) raised writes/s by
  about a fifth, for us and for the raw script alike.
- The script now looks for a list only when no value exists, and registers a
  key only when it is new; the fencing-token lookup no longer takes a lock;
  the Streamlit context import is cached. Client-side Python per write is
  now about 5 µs (`server_state[k] = v` with Redis stubbed out).
- What remains is work the raw script does not do, by design: comparing the
  new bytes with the stored ones (no-change writes rerun nobody), the key
  registry, the epoch, encoding the notification, a larger request (8 keys,
  for Redis Cluster), and about 3.5 µs more script time in Redis (6.7 µs
  against 3.2 µs per call, from `INFO commandstats`). The writer's process
  also receives and handles its own notifications, as every replica must; the
  raw baseline quoted has a subscriber in its process too, and the table also
  gives the figure against a raw writer with none.
- Not done: dropping no-change detection, the key registry or the notification
  would meet the ratio and break the library's guarantees.
"""


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _ms(v: Any) -> str:
    return f"{v:.2f} ms" if isinstance(v, float) else str(v)


def _target(ok: bool, text: str) -> str:
    return f"{'met' if ok else 'MISSED'}: {text}"


def plots(s: dict[str, dict[str, Any]], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[str] = []
    lat = s.get("latency", {})
    if lat.get("ours_all"):
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for name, values in (
            ("streamlit_redis_state", lat["ours_all"]),
            ("raw PUBLISH→receive", lat["raw_all"]),
        ):
            xs = sorted(values)
            ax.plot(xs, [i / len(xs) for i in range(len(xs))], label=name)
        ax.set_xlabel("notify latency (ms)")
        ax.set_ylabel("fraction")
        ax.set_xscale("log")
        ax.legend()
        ax.set_title("Write in one process → rerun requested in another")
        fig.tight_layout()
        fig.savefig(out / "bench-latency.png", dpi=110)
        made.append("bench-latency.png")
    cmd = s.get("commands", {})
    readers = sorted(int(k.split("_")[1]) for k in cmd if k.startswith("readers_"))
    if readers:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(readers, [cmd[f"readers_{n}"] for n in readers], marker="o")
        ax.set_xlabel("sessions reading the key in one process")
        ax.set_ylabel("Redis commands per write")
        ax.set_ylim(bottom=0)
        ax.set_title("Redis cost of one write")
        fig.tight_layout()
        fig.savefig(out / "bench-commands.png", dpi=110)
        made.append("bench-commands.png")
    rooms = s.get("rooms", {})
    sizes = sorted({int(k.split("_")[1]) for k in rooms if k.endswith("_ms")})
    if sizes:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        for mode in ("append", "edit"):
            axes[0].plot(sizes, [rooms[f"{mode}_{n}_ms"] for n in sizes], marker="o", label=mode)
            axes[1].plot(
                sizes,
                [rooms[f"{mode}_{n}_bytes_per_process"] / 1024 for n in sizes],
                marker="o",
                label=mode,
            )
        for ax, label in zip(axes, ("time to post (ms)", "KiB moved per process"), strict=True):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("messages in the room")
            ax.set_ylabel(label)
            ax.legend()
        fig.suptitle("Posting one message to a growing room")
        fig.tight_layout()
        fig.savefig(out / "bench-rooms.png", dpi=110)
        made.append("bench-rooms.png")
    fan = s.get("fanout", {})
    if fan:
        fig, ax = plt.subplots(figsize=(6, 3))
        labels = [k.removesuffix("_ms").replace("nogc_", "noGC ") for k in fan]
        ax.bar(labels, list(fan.values()))
        ax.set_ylabel("ms until every session shows it")
        ax.set_title("Fan-out of one chat message")
        plt.setp(ax.get_xticklabels(), rotation=20)
        fig.tight_layout()
        fig.savefig(out / "bench-fanout.png", dpi=110)
        made.append("bench-fanout.png")
    return made


def write_report(
    s: dict[str, dict[str, Any]], machine: dict[str, str], out: Path, quick: bool
) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    images = plots(s, out.parent)
    lines = ["# Benchmarks", ""]
    if quick:
        lines += ["*A quick smoke run with small sizes; `make bench` writes the full one.*", ""]
    lines += [
        "Produced by `make bench` (`bench/run.py`): a real redis-server, real `streamlit run`",
        "replicas and headless websocket sessions on one machine. Absolute times on a shared",
        "machine are noisy; **the ratios, between systems measured side by side in this same",
        "run, are what we quote.**",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in machine.items()]
    lines += ["", "## Targets", ""]

    lat, fan, cmd = s.get("latency", {}), s.get("fanout", {}), s.get("commands", {})
    tp, rooms, mem = s.get("throughput", {}), s.get("rooms", {}), s.get("memory", {})
    targets: list[str] = []
    if lat:
        targets.append(
            _target(
                lat["ratio_p50"] <= 2,
                f"notify latency p50 {lat['ratio_p50']:.2f}× raw PUBLISH→receive (target ≤ 2×)",
            )
        )
    ns = sorted({int(k.split("_")[1]) for k in fan if k.startswith("ours_")})
    for label, how in (("", "Streamlit's defaults"), ("nogc_", "`runner.postScriptGC = false`")):
        if ns and f"{label}anchor_{ns[0]}_ms" in fan:
            r = fan[f"{label}ours_{ns[0]}_ms"] / fan[f"{label}anchor_{ns[0]}_ms"]
            targets.append(
                _target(
                    r <= 1.2,
                    f"fan-out at N={ns[0]} on one process {r:.2f}× "
                    f"streamlit-server-state, {how} (target ≤ 1.2×)",
                )
            )
        if ns and f"{label}ours2_{ns[-1]}_ms" in fan:
            r = fan[f"{label}ours2_{ns[-1]}_ms"] / fan[f"{label}ours_{ns[-1]}_ms"]
            targets.append(
                _target(
                    r < 1,
                    f"fan-out at N={ns[-1]} on 2 replicas {r:.2f}× one "
                    f"process, {how} (target < 1×)",
                )
            )
    if cmd:
        targets.append(
            _target(
                bool(cmd.get("flat")), "Redis commands per write independent of readers per process"
            )
        )
    if tp:
        targets.append(
            _target(
                tp["write_ratio"] >= 0.8,
                f"writes/s {tp['write_ratio']:.2f}× the "
                "raw script, both receiving their notifications (target ≥ 0.8×; "
                f"{tp['write_ratio_nosub']:.2f}× a raw writer that receives "
                "nothing)",
            )
        )
        targets.append(
            _target(
                tp["read_ratio"] >= 10,
                f"cache-hit reads/s {tp['read_ratio']:.1f}× raw GET (target ≥ 10×)",
            )
        )
    sizes = sorted(
        {int(k.split("_")[1]) for k in rooms if k.startswith("append_") and k.endswith("_ms")}
    )
    if len(sizes) >= 2:
        r = rooms[f"append_{sizes[-1]}_ms"] / rooms[f"append_{sizes[0]}_ms"]
        targets.append(
            _target(
                r <= 2,
                f"posting to a {sizes[-1]:,}-message room {r:.2f}× a "
                f"{sizes[0]}-message room, with append (target ≤ 2×)",
            )
        )
    if mem:
        ok = (
            mem["growth_kb"] <= max(0.05 * mem["after_cycles_kb"], 5 * 1024)
            and mem["presence_left"] == 0
        )
        targets.append(
            _target(
                ok,
                f"after {mem['cycles']} sessions connected and left: "
                f"{mem['growth_kb'] / 1024:+.1f} MiB RSS, {mem['counts_after']} "
                f"(the stats session itself), {mem['presence_left']} presence "
                "members left",
            )
        )
    lines += [f"- {t}" for t in targets] + [""]

    if lat:
        lines += [
            "## 1. Notify latency",
            "",
            "From `server_state[k] = v` in one process until the listener in replica B "
            "has asked Streamlit to rerun the subscriber, against redis-py PUBLISH → "
            "receive between two processes.",
            "",
            _row(["", "p50", "p99"]),
            _row(["---", "---", "---"]),
            _row(["streamlit_redis_state", _ms(lat["ours_p50"]), _ms(lat["ours_p99"])]),
            _row(["raw PUBLISH→receive", _ms(lat["raw_p50"]), _ms(lat["raw_p99"])]),
            _row(["ratio", f"{lat['ratio_p50']:.2f}×", f"{lat['ours_p99'] / lat['raw_p99']:.2f}×"]),
            "",
        ]
    if fan:
        lines += [
            "## 2. Fan-out",
            "",
            "One chat message posted by a session (lock, read, write: the same app logic "
            "for both libraries), until every one of N sessions has finished its rerun "
            "showing it. Median of the rounds. Measured twice: with Streamlit's defaults, "
            "and with `runner.postScriptGC = false`.",
            "",
            "Streamlit runs a full `gc.collect(2)` after every script run. A post reruns "
            "N sessions at once, and their N collections run one after another under the "
            "GIL, so with the defaults fan-out time is mostly garbage collection. A full "
            "collection walks every object in the process. Our replicas hold redis-py as "
            "well as Streamlit, about 10k more objects, and each collection took 37 ms "
            "against 20 ms in the anchor's process (measured inside both servers). With "
            "the collection turned off, what remains is each library's own work.",
            "",
            _row(
                [
                    "configuration",
                    "N",
                    "streamlit_redis_state",
                    "streamlit-server-state",
                    "ratio",
                    "ours, 2 replicas",
                ]
            ),
            _row(["---"] * 6),
        ]
        for label, how in (("", "defaults"), ("nogc_", "postScriptGC off")):
            for n in ns:
                ours, anchor = fan.get(f"{label}ours_{n}_ms"), fan.get(f"{label}anchor_{n}_ms")
                two = fan.get(f"{label}ours2_{n}_ms", "")
                ratio = f"{ours / anchor:.2f}×" if ours and anchor else ""
                lines.append(_row([how, n, _ms(ours), _ms(anchor), ratio, _ms(two) if two else ""]))
        lines += [
            "",
            "Recommendation: apps where one change reruns many sessions should set "
            "`runner.postScriptGC = false` (in `.streamlit/config.toml` under `[runner]`, "
            "or `STREAMLIT_RUNNER_POST_SCRIPT_GC=false`); Python's own generational "
            "collector still runs. The demo and docker-compose set it.",
            "",
        ]
    if cmd:
        lines += [
            "## 3. Redis commands per write",
            "",
            "Commands Redis ran (from `INFO commandstats`, the write script's inner "
            "commands included; pings excluded) for one write and the reruns of every "
            "reader in replica B.",
            "",
            _row(["readers in one process", "commands"]),
            _row(["---", "---"]),
        ]
        lines += [_row([k.split("_")[1], v]) for k, v in cmd.items() if k.startswith("readers_")]
        lines.append("")
    if tp:
        lines += [
            "## 4. Throughput",
            "",
            _row(["", "streamlit_redis_state", "raw", "ratio"]),
            _row(["---"] * 4),
            _row(
                [
                    "writes/s, vs a raw SET+HINCRBY+INCR+PUBLISH script whose process "
                    "also subscribes (as every replica must)",
                    f"{tp['ours_writes']:,.0f}",
                    f"{tp['raw_sub_writes']:,.0f}",
                    f"{tp['write_ratio']:.2f}×",
                ]
            ),
            _row(
                [
                    "writes/s, vs the same raw script with no subscriber in its process",
                    f"{tp['ours_writes']:,.0f}",
                    f"{tp['raw_writes']:,.0f}",
                    f"{tp['write_ratio_nosub']:.2f}×",
                ]
            ),
            _row(
                [
                    "reads/s of an unchanged key (cache hit vs raw GET + decode)",
                    f"{tp['ours_reads']:,.0f}",
                    f"{tp['raw_reads']:,.0f}",
                    f"{tp['read_ratio']:.1f}×",
                ]
            ),
            "",
        ]
    if mem:
        lines += [
            "## 5. Memory",
            "",
            f"- Replica RSS at rest: {mem['base_kb'] / 1024:.1f} MiB; per connected session "
            f"(subscribed, in presence): {mem['per_session_kb']:.0f} KiB (Streamlit's own "
            "session included).",
            f"- After {mem['cycles']} sessions connected, joined presence and left: "
            f"{mem['after_cycles_kb'] / 1024:.1f} MiB ({mem['growth_kb'] / 1024:+.1f} MiB "
            f"against 100 held sessions); the library's counts: {mem['counts_after']}; "
            f"presence members left in Redis: {mem['presence_left']}.",
            "",
        ]
    if rooms:
        lines += [
            "## 6. Growing rooms",
            "",
            "Posting one message to a room of N messages while a session in replica B "
            "shows the room: time of the write call, and bytes Redis moved (in + out) per "
            "process touching the room.",
            "",
            _row(
                [
                    "N",
                    "append: time",
                    "append: bytes/process",
                    "edit(): time",
                    "edit(): bytes/process",
                ]
            ),
            _row(["---"] * 5),
        ]
        for n in sizes:
            lines.append(
                _row(
                    [
                        f"{n:,}",
                        _ms(rooms[f"append_{n}_ms"]),
                        f"{rooms[f'append_{n}_bytes_per_process']:,.0f}",
                        _ms(rooms[f"edit_{n}_ms"]),
                        f"{rooms[f'edit_{n}_bytes_per_process']:,.0f}",
                    ]
                )
            )
        lines.append("")
    if images:
        lines += ["## Plots", ""] + [f"![{i}]({i})" for i in images] + [""]
    lines.append(HISTORY)
    out.write_text("\n".join(lines))
