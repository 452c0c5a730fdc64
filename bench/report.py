"""Turn one benchmark run into docs/benchmarks.md and its plots.

The figures come from the run; the discussion of what was tried (HISTORY,
bench/history.md) is kept by hand, because it is the story of several runs
and profiles, not of this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HISTORY = Path(__file__).resolve().parent / "history.md"


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _ms(v: Any) -> str:
    if not isinstance(v, (int, float)):
        return str(v)
    return f"{v:,.0f} ms" if v >= 100 else f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"


def _x(v: float) -> str:
    return f"{v:.2f}×"


def _kib(v: float) -> str:
    return f"{v / 1024:+.1f} MiB" if abs(v) >= 1024 else f"{v:+.0f} KiB"


class Targets:
    def __init__(self) -> None:
        self.rows: list[list[str]] = []

    def add(self, ok: bool, target: str, measured: str) -> None:
        self.rows.append([target, measured, "met" if ok else "**MISSED**"])

    def lines(self) -> list[str]:
        out = [_row(["target", "measured (this run)", ""]), _row(["---"] * 3)]
        return out + [_row(r) for r in self.rows]


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
        plt.close(fig)
        made.append("bench-latency.png")
    fan = s.get("fanout", {})
    ns = sorted({int(k.split("_")[1]) for k in fan if k.startswith("ours_") and k.endswith("_p50")})
    if ns:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=False)
        for ax, label, title in (
            (axes[0], "", "Streamlit's defaults"),
            (axes[1], "nogc_", "runner.postScriptGC = false"),
        ):
            for name, shown in (
                ("ours", "streamlit_redis_state"),
                ("anchor", "streamlit-server-state"),
                ("base", f"before ({fan.get('baseline', 'baseline')})"),
            ):
                xs = [n for n in ns if f"{label}{name}_{n}_p50" in fan]
                if not xs:
                    continue
                p50 = [fan[f"{label}{name}_{n}_p50"] for n in xs]
                p99 = [fan[f"{label}{name}_{n}_p99"] for n in xs]
                line = ax.plot(xs, p50, marker="o", label=f"{shown} p50")[0]
                ax.plot(xs, p99, ls="--", color=line.get_color(), label=f"{shown} p99")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(ns, [str(n) for n in ns])
            ax.set_xlabel("sessions rerun by one post (one process)")
            ax.set_ylabel("ms until every session shows it")
            ax.set_title(title)
            ax.legend(fontsize=7)
        fig.suptitle("Fan-out of one chat message")
        fig.tight_layout()
        fig.savefig(out / "bench-fanout.png", dpi=110)
        plt.close(fig)
        made.append("bench-fanout.png")
    render = s.get("render", {})
    sizes = render.get("sizes", [])
    if sizes:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.plot(sizes, [render[f"tail_{n}_cpu_ms"] for n in sizes], marker="o", label="tail()")
        if f"whole_{sizes[-1]}_cpu_ms" in render:
            ax.plot(
                [sizes[-1]],
                [render[f"whole_{sizes[-1]}_cpu_ms"]],
                marker="s",
                ls="",
                label="whole room read",
            )
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("messages in the room")
        ax.set_ylabel("server CPU ms per session")
        ax.set_title("One rerun of a message pane drawing the newest 100")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "bench-render.png", dpi=110)
        plt.close(fig)
        made.append("bench-render.png")
    rooms = s.get("rooms", {})
    room_sizes = sorted({int(k.split("_")[1]) for k in rooms if k.endswith("_ms")})
    if room_sizes:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        for mode in ("append", "edit"):
            axes[0].plot(
                room_sizes, [rooms[f"{mode}_{n}_ms"] for n in room_sizes], marker="o", label=mode
            )
            axes[1].plot(
                room_sizes,
                [rooms[f"{mode}_{n}_bytes_per_process"] / 1024 for n in room_sizes],
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
        plt.close(fig)
        made.append("bench-rooms.png")
    keys = s.get("keys", {})
    if keys.get("worker_kb"):
        fig, ax = plt.subplots(figsize=(6, 3.2))
        step = keys["count"] // len(keys["worker_kb"])
        xs = [step * (i + 1) for i in range(len(keys["worker_kb"]))]
        ax.plot(xs, [v / 1024 for v in keys["worker_kb"]], marker="o", label="worker (writes)")
        ax.plot(xs, [v / 1024 for v in keys["replica_kb"]], marker="o", label="replica (hears)")
        ax.set_xlabel("distinct keys written, read and deleted")
        ax.set_ylabel("RSS (MiB)")
        ax.set_ylim(bottom=0)
        ax.legend()
        ax.set_title("Memory over many distinct keys")
        fig.tight_layout()
        fig.savefig(out / "bench-keys.png", dpi=110)
        plt.close(fig)
        made.append("bench-keys.png")
    return made


def write_report(
    s: dict[str, dict[str, Any]], machine: dict[str, str], out: Path, quick: bool
) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    images = plots(s, out.parent)
    lines = ["# Benchmarks", ""]
    if quick:
        lines += ["*A quick or partial run; `make bench` writes the full one.*", ""]
    lines += [
        "Produced by `make bench` (`bench/run.py`; `make bench BENCH_ARGS=--quick` for a",
        "smoke run): a real redis-server, real `streamlit run` replicas with Streamlit's",
        "default settings, and headless websocket sessions, on one machine. Absolute times",
        "on a shared machine are noisy; **the ratios, between systems measured side by side",
        "in this same run, are what we quote.** Side by side means both systems are up at",
        "once, with their sessions connected, and their rounds alternate A B B A, so load",
        "from elsewhere falls on both alike.",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in machine.items()]
    dur = s.get("durations", {})
    if "total_s" in dur:
        lines.append(f"- this run took {dur['total_s'] / 60:.0f} minutes")
    lines += ["", "## Targets", ""]

    lat, fan, cmd = s.get("latency", {}), s.get("fanout", {}), s.get("commands", {})
    tp, rooms, mem = s.get("throughput", {}), s.get("rooms", {}), s.get("memory", {})
    render, keys, sc = s.get("render", {}), s.get("keys", {}), s.get("scale", {})
    gcp = s.get("gcprofile", {})
    t = Targets()
    ns = sorted({int(k.split("_")[1]) for k in fan if k.startswith("ours_") and k.endswith("_p50")})
    for n in ns:
        if f"anchor_{n}_p50" not in fan:
            continue
        r50 = fan[f"ours_{n}_p50"] / fan[f"anchor_{n}_p50"]
        r99 = fan[f"ours_{n}_p99"] / fan[f"anchor_{n}_p99"]
        t.add(
            r50 <= 0.5,
            f"fan-out to N={n} on one process, Streamlit's defaults: ≤ 0.5× the anchor",
            f"p50 {_x(r50)} ({_ms(fan[f'ours_{n}_p50'])} vs {_ms(fan[f'anchor_{n}_p50'])}); "
            f"p99 {_x(r99)}",
        )
    for label, how in (("", "defaults"), ("nogc_", "postScriptGC off")):
        n = max((n for n in ns if f"{label}ours2_{n}_p50" in fan), default=None)
        if n is not None:
            r = fan[f"{label}ours2_{n}_p50"] / fan[f"{label}ours_{n}_p50"]
            t.add(
                r < 1,
                f"N={n}: 2 replicas faster than 1 ({how})",
                f"p50 {_x(r)} ({_ms(fan[f'{label}ours2_{n}_p50'])} vs "
                f"{_ms(fan[f'{label}ours_{n}_p50'])})",
            )
    nogc = [n for n in ns if f"nogc_anchor_{n}_p50" in fan]
    if nogc:
        ratios = [fan[f"nogc_ours_{n}_p50"] / fan[f"nogc_anchor_{n}_p50"] for n in nogc]
        shown = ", ".join(f"N={n}: {_x(r)}" for n, r in zip(nogc, ratios, strict=True))
        if all(f"nogc_base_{n}_p50" in fan for n in nogc):
            before = [fan[f"nogc_ours_{n}_p50"] / fan[f"nogc_base_{n}_p50"] for n in nogc]
            vs = ", ".join(f"{_x(r)}" for r in before)
            t.add(
                max(before) <= 1.1,
                "fan-out with postScriptGC off does not get slower",
                f"ours ÷ before ({fan.get('baseline')}): {vs} (≤ 1.1× counted as noise); "
                f"ours ÷ anchor: {shown}",
            )
        else:
            t.add(
                max(ratios) <= 1.1,
                "fan-out with postScriptGC off does not get slower",
                f"ours ÷ anchor: {shown} (last published: 0.92× at N=50, 1.03× at N=200)",
            )
    sizes = render.get("sizes", [])
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        r = render[f"tail_{big}_cpu_ms"] / render[f"tail_{small}_cpu_ms"]
        t.add(
            r <= 1.5,
            f"message pane rerun, {big:,}-message room ≤ 1.5× a {small}-message room "
            "(server time per session, with tail)",
            f"{_x(r)} ({_ms(render[f'tail_{big}_cpu_ms'])} vs "
            f"{_ms(render[f'tail_{small}_cpu_ms'])} CPU per session)",
        )
    if lat:
        t.add(
            lat["ratio_p50"] <= 2,
            "notify latency p50 ≤ 2× raw PUBLISH→receive",
            f"{_x(lat['ratio_p50'])} ({_ms(lat['ours_p50'])} vs {_ms(lat['raw_p50'])})",
        )
    if tp:
        t.add(
            tp["write_ratio"] >= 0.8,
            "writes/s ≥ 0.8× the raw script, both receiving their notifications",
            f"{_x(tp['write_ratio'])} ({tp['ours_writes']:,.0f} vs {tp['raw_sub_writes']:,.0f}/s)",
        )
    if sc:
        t.add(
            sc["errors"] == 0 and sc["rounds"] > 0,
            f"{sc['sessions']:,} sessions over {sc['replicas']} replicas, no errors",
            f"fan-out p50 {_ms(sc['p50_ms'])}, p99 {_ms(sc['p99_ms'])}; "
            f"{sc['per_session_kb']:.0f} KiB RSS per session; {sc['errors']} errors",
        )
    if keys:
        worst = max(keys["worker_growth_kb"], keys["replica_growth_kb"])
        t.add(
            worst <= 1024,
            f"flat RSS over {keys['count']:,} distinct keys written and deleted (≤ 1 MiB)",
            f"worker {_kib(keys['worker_growth_kb'])}, listening replica "
            f"{_kib(keys['replica_growth_kb'])} (from the first tenth to the end)",
        )
    if cmd:
        flat = [v for k, v in cmd.items() if k.startswith("readers_")]
        t.add(
            bool(cmd.get("flat")),
            "Redis commands per write independent of readers per process",
            f"{flat[0]} at every count" if cmd.get("flat") else str(flat),
        )
    if tp:
        t.add(
            tp["read_ratio"] >= 10,
            "cache-hit reads/s ≥ 10× raw GET",
            _x(tp["read_ratio"]),
        )
    room_sizes = sorted(
        {int(k.split("_")[1]) for k in rooms if k.startswith("append_") and k.endswith("_ms")}
    )
    if len(room_sizes) >= 2:
        r = rooms[f"append_{room_sizes[-1]}_ms"] / rooms[f"append_{room_sizes[0]}_ms"]
        t.add(
            r <= 2,
            f"posting to a {room_sizes[-1]:,}-message room ≤ 2× a {room_sizes[0]}-message room",
            _x(r),
        )
    if mem:
        ok = mem["growth_kb"] <= max(0.05 * mem["after_cycles_kb"], 5 * 1024)
        t.add(
            ok and mem["presence_left"] == 0,
            f"memory after {mem['cycles']:,} sessions came and went: no growth, "
            "nothing left behind",
            f"{_kib(mem['growth_kb'])} RSS, {mem['counts_after']} (the stats tab itself), "
            f"{mem['presence_left']} presence members left",
        )
    lines += [*t.lines(), ""]
    lines += [
        "p99 is over the rounds of the run (10 to 20), so it is close to the slowest round.",
        "",
    ]

    if fan:
        lines += fanout_section(fan, ns, gcp)
    if render:
        lines += [
            "## 2. Rendering a room",
            "",
            "One rerun of a chat's message pane (`bench/apps/room_app.py`: an `st.fragment` "
            "drawing the newest 100 messages with `server_state.tail(room, 100)`), after one "
            f"message is appended, in each of {render['viewers']} sessions showing the room; "
            "one replica per room size, side by side. Server time is the replica's CPU time "
            "for the post, divided by the sessions it reran. The last row reads the room "
            "whole (`server_state.get`, then `[-100:]`), as the chat did before `tail`.",
            "",
            _row(["room", "read", "CPU per session p50", "p99", "post → all shown p50", "p99"]),
            _row(["---"] * 6),
        ]
        for size, mode in [(n, "tail") for n in sizes] + [(sizes[-1], "whole")]:
            if f"{mode}_{size}_cpu_ms" not in render:
                continue
            lines.append(
                _row(
                    [
                        f"{size:,}",
                        "tail(100)" if mode == "tail" else "whole, then [-100:]",
                        _ms(render[f"{mode}_{size}_cpu_ms"]),
                        _ms(render[f"{mode}_{size}_cpu_p99_ms"]),
                        _ms(render[f"{mode}_{size}_wall_p50"]),
                        _ms(render[f"{mode}_{size}_wall_p99"]),
                    ]
                )
            )
        lines += [
            "",
            "Most of the per-session cost is Streamlit drawing 100 `st.text` elements; the "
            "read itself is one `LRANGE` of 100 items per process per change (concurrent "
            "readers share it), then a decode of those 100 in each session.",
            "",
        ]
    if lat:
        lines += [
            "## 3. Notify latency",
            "",
            "From `server_state[k] = v` in one process until the listener in replica B "
            "has asked Streamlit to rerun the subscriber, against redis-py PUBLISH → "
            "receive between two processes; samples of the two alternate.",
            "",
            _row(["", "p50", "p99"]),
            _row(["---", "---", "---"]),
            _row(["streamlit_redis_state", _ms(lat["ours_p50"]), _ms(lat["ours_p99"])]),
            _row(["raw PUBLISH→receive", _ms(lat["raw_p50"]), _ms(lat["raw_p99"])]),
            _row(["ratio", _x(lat["ratio_p50"]), _x(lat["ours_p99"] / lat["raw_p99"])]),
            "",
        ]
    if tp:
        lines += [
            "## 4. Throughput",
            "",
            "One thread writing as fast as it can; rounds of the three writers alternate "
            "(A B C C B A), medians.",
            "",
            _row(["", "streamlit_redis_state", "raw", "ratio"]),
            _row(["---"] * 4),
            _row(
                [
                    "writes/s, vs a raw SET+HINCRBY+INCR+PUBLISH script whose process "
                    "also subscribes (as every replica must)",
                    f"{tp['ours_writes']:,.0f}",
                    f"{tp['raw_sub_writes']:,.0f}",
                    _x(tp["write_ratio"]),
                ]
            ),
            _row(
                [
                    "writes/s, vs the same raw script with no subscriber in its process",
                    f"{tp['ours_writes']:,.0f}",
                    f"{tp['raw_writes']:,.0f}",
                    _x(tp["write_ratio_nosub"]),
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
    if cmd:
        lines += [
            "## 5. Redis commands per write",
            "",
            "Commands Redis ran (from `INFO commandstats`, the scripts' inner commands "
            "included; pings excluded) for one write and the reruns of every reader in "
            "replica B: the fewest of three writes, each minus the health checks (one per "
            "process every `ping_interval`, counted by their ZREMRANGEBYSCORE) that landed "
            "in its window.",
            "",
            _row(["readers in one process", "commands"]),
            _row(["---", "---"]),
        ]
        lines += [_row([k.split("_")[1], v]) for k, v in cmd.items() if k.startswith("readers_")]
        lines.append("")
    if mem or keys:
        lines += ["## 6. Memory", ""]
    if mem:
        lines += [
            "Two replicas side by side, the gc freeze on (the default) and off "
            "(`STREAMLIT_REDIS_STATE_GC_FREEZE=false`).",
            "",
            _row(["", "gc freeze on", "off"]),
            _row(["---"] * 3),
            _row(
                [
                    "RSS at rest (5 sessions came and went)",
                    f"{mem['base_kb'] / 1024:.1f} MiB",
                    f"{mem['nofreeze_base_kb'] / 1024:.1f} MiB",
                ]
            ),
            _row(
                [
                    "per connected session (subscribed, in presence; Streamlit's own included)",
                    f"{mem['per_session_kb']:.0f} KiB",
                    f"{mem['nofreeze_per_session_kb']:.0f} KiB",
                ]
            ),
            _row(
                [
                    f"after {mem['cycles']:,} more sessions connected, joined presence and left",
                    f"{mem['after_cycles_kb'] / 1024:.1f} MiB ({_kib(mem['growth_kb'])})",
                    f"{mem['nofreeze_after_cycles_kb'] / 1024:.1f} MiB "
                    f"({_kib(mem['nofreeze_growth_kb'])})",
                ]
            ),
            "",
            f"A renewal of the freeze right after those sessions left (unfreeze, collect, "
            f"freeze; the freezer does it when collections get slow and at least every 10 "
            f"minutes) freed {mem['renewal_freed_objects']:,} objects: the cyclic garbage "
            f"the freeze had kept (RSS {_kib(-mem['renewal_rss_drop_kb'])}; the allocator "
            "keeps freed pages for reuse).",
            "",
        ]
    if keys:
        lines += [
            f"A worker process writes, reads back and deletes {keys['count']:,} distinct keys "
            "(`bench/workers/keys_worker.py`) while a replica, whose one session shows "
            "another key, hears every change. RSS at each tenth:",
            "",
            _row(["", *[f"{(i + 1) * keys['count'] // 10:,}" for i in range(10)]]),
            _row(["---"] * 11),
            _row(["worker (MiB)", *[f"{v / 1024:.1f}" for v in keys["worker_kb"]]]),
            _row(["replica (MiB)", *[f"{v / 1024:.1f}" for v in keys["replica_kb"]]]),
            "",
        ]
    if sc:
        lines += [
            "## 7. Scale",
            "",
            f"{sc['sessions']:,} sessions spread over {sc['replicas']} replicas of the "
            "fan-out app on this 2-core machine; each post reruns all of them.",
            "",
            _row(["fan-out p50", "p99", "rounds", "RSS per session", "errors"]),
            _row(["---"] * 5),
            _row(
                [
                    _ms(sc["p50_ms"]),
                    _ms(sc["p99_ms"]),
                    sc["rounds"],
                    f"{sc['per_session_kb']:.0f} KiB",
                    sc["errors"],
                ]
            ),
            "",
        ]
        if sc.get("error_list"):
            lines += [f"- {e}" for e in sc["error_list"]] + [""]
    if rooms:
        lines += [
            "## 8. Posting to growing rooms",
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
        for n in room_sizes:
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
    if HISTORY.exists():
        lines.append(HISTORY.read_text())
    out.write_text("\n".join(lines).rstrip() + "\n")


def fanout_section(fan: dict[str, Any], ns: list[int], gcp: dict[str, Any]) -> list[str]:
    base = fan.get("baseline")
    lines = [
        "## 1. Fan-out",
        "",
        "One chat message posted by a session (its button's callback takes the room's lock, "
        "reads the room, writes it back: the same app for both libraries, "
        "`bench/apps/bench_app.py`), until every one of N reader sessions has finished the "
        "rerun that shows it. Every reader reruns exactly once per post.",
        "",
        _row(
            [
                "configuration",
                "N",
                "ours p50",
                "p99",
                "anchor p50",
                "p99",
                "ours ÷ anchor p50",
                "p99",
                "ours, 2 replicas p50",
                *([f"before ({base}) p50"] if base else []),
            ]
        ),
        _row(["---"] * (10 if base else 9)),
    ]
    for label, how in (("", "defaults"), ("nogc_", "postScriptGC off")):
        for n in ns:
            ours, anchor = fan.get(f"{label}ours_{n}_p50"), fan.get(f"{label}anchor_{n}_p50")
            if ours is None or anchor is None:
                continue
            two = fan.get(f"{label}ours2_{n}_p50")
            row = [
                how,
                n,
                _ms(ours),
                _ms(fan[f"{label}ours_{n}_p99"]),
                _ms(anchor),
                _ms(fan[f"{label}anchor_{n}_p99"]),
                _x(ours / anchor),
                _x(fan[f"{label}ours_{n}_p99"] / fan[f"{label}anchor_{n}_p99"]),
                _ms(two) if two else "",
            ]
            if base:
                old = fan.get(f"{label}base_{n}_p50")
                row.append(_ms(old) if old else "")
            lines.append(_row(row))
    lines.append("")
    if gcp:
        n = gcp.get("sessions")
        lines += [
            f"Where the time goes with the defaults (N={n}, a diagnostic pass: a gc callback "
            "in each replica counts full collections and their CPU time):",
            "",
            _row(
                [
                    "",
                    "full collections per post",
                    "CPU ms per collection",
                    "gc CPU ms per post",
                    "replica CPU ms per post",
                    "objects the collector walks",
                    "frozen",
                ]
            ),
            _row(["---"] * 7),
        ]
        for name, shown in (
            ("ours", "streamlit_redis_state"),
            ("ours_nofreeze", "streamlit_redis_state, gc_freeze off"),
            ("anchor", "streamlit-server-state"),
        ):
            if f"{name}_collections_per_post" not in gcp:
                continue
            lines.append(
                _row(
                    [
                        shown,
                        f"{gcp[f'{name}_collections_per_post']:.1f}",
                        f"{gcp[f'{name}_ms_per_collection']:.1f}",
                        f"{gcp[f'{name}_gc_ms_per_post']:.0f}",
                        f"{gcp[f'{name}_cpu_ms_per_post']:.0f}",
                        f"{gcp[f'{name}_objects']:,.0f}",
                        f"{gcp[f'{name}_frozen']:,.0f}",
                    ]
                )
            )
        lines += [
            "",
            "Streamlit runs `gc.collect(2)` after every script run. Without the freeze, each "
            "full collection walks every object in the process, and a post pays one per "
            "session it reruns. The anchor's process pays fewer than one per session: a "
            "`gc.collect()` called while another thread's collection is still running (its "
            "finalizers can let other threads in) returns at once, and the anchor starts "
            "all its reruns together from the writer's thread, so their collections "
            "collide more often. With the freeze, the collections still happen, one per "
            "run, but walk only what was made since the freeze.",
            "",
        ]
    return lines
