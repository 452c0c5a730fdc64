"""The random part of the soak: each round's burst of actions, from the seed and the round number.

A round's plan depends only on ``(seed, round)``, so any round can be
generated again (and printed) from the numbers a failure reports. What the
replicas then do with it depends on timing, which is the point of a soak.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from tests.soak.apps.soak_ops import KEYS, Op

#: Where an action comes from. "cmd", "fcmd" and "query" are a tab's commands
#: (its callback, its fragment's body, its top level's body); "here" and
#: "lobby" tick a tab's checkbox; "writer" is this process's writer thread;
#: "reopen" closes a tab and opens it again.
SOURCES = {
    "cmd": 30,
    "fcmd": 20,
    "query": 14,
    "here": 5,
    "lobby": 6,
    "writer": 22,
    "reopen": 3,
}
#: The probability that a round kills every pub/sub connection mid-burst.
KILL_CHANCE = 0.3


@dataclass(frozen=True)
class Action:
    source: str
    tab: int  # index into the cluster's tabs (unused for "writer")
    nonce: str
    ops: tuple[Any, ...] = ()
    pause: float = 0.0  # seconds to wait before it: the burst's rhythm

    def __str__(self) -> str:
        where = "writer" if self.source == "writer" else f"tab#{self.tab} {self.source}"
        ops = f" {list(self.ops)}" if self.ops else ""
        return f"+{self.pause:.2f}s {self.nonce} {where}{ops}"


@dataclass(frozen=True)
class Plan:
    round: int
    actions: tuple[Action, ...]
    #: Index of the action before which every pub/sub connection is killed, or None.
    kill_before: int | None
    #: (index of the action before which replica C's link is blackholed, seconds), or None.
    blackhole: tuple[int, float] | None

    def describe(self) -> list[str]:
        lines = []
        for i, action in enumerate(self.actions):
            if self.kill_before == i:
                lines.append("CLIENT KILL TYPE pubsub")
            if self.blackhole is not None and self.blackhole[0] == i:
                lines.append(f"blackhole replica C's link for {self.blackhole[1]:.1f}s")
            lines.append(str(action))
        return lines


def value(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.randrange(100)
    if kind == 1:
        return rng.choice(["x", "yy", "zzz", "ü", "a b", ""]) + str(rng.randrange(10))
    if kind == 2:
        return [rng.randrange(10) for _ in range(rng.randrange(4))]
    if kind == 3:
        return {"v": rng.randrange(10)}
    if kind == 4:
        return None
    return rng.randrange(1000)


def key(rng: random.Random) -> str:
    return rng.choices(KEYS, weights=[5, 5, 5, 5, 5, 2])[0]


def operation(rng: random.Random, in_thread: bool = False) -> Op:
    kinds = {
        "set": 18,
        "attr": 4,
        "ttl": 5,
        "expire": 3,
        "append": 16,
        "edit": 8,
        "incr": 5,
        "pop": 6,
        "del": 3,
        "setdefault": 6,
        "update": 5,
        "touch": 3,
        "thread": 0 if in_thread else 7,
        "worker": 0 if in_thread else 5,
    }
    kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
    k = key(rng)
    if kind in ("set", "attr", "setdefault"):
        return [kind, k, value(rng)]
    if kind == "ttl":
        return [kind, k, value(rng), rng.choice([0.2, 0.4, 0.6])]
    if kind == "expire":
        return [kind, k, rng.choice([0.3, 0.5, None])]
    if kind == "append":
        k = "log" if rng.random() < 0.7 else k
        items = [value(rng) for _ in range(rng.choice([1, 1, 2]))]
        return [kind, k, items, rng.choice([None, None, 4])]
    if kind == "edit":
        return [kind, k, rng.randrange(10)]
    if kind == "update":
        return [kind, "", {key(rng): value(rng) for _ in range(rng.choice([1, 2]))}]
    if kind in ("thread", "worker"):
        return [kind, "", [operation(rng, True) for _ in range(rng.randint(1, 3))]]
    return [kind, k]  # incr, pop, del, touch


def plan(seed: int, round_no: int, tabs: int, max_actions: int, blackhole_every: int) -> Plan:
    rng = random.Random(f"{seed}:{round_no}")
    actions = []
    for i in range(rng.randint(max(1, max_actions // 2), max_actions)):
        source = rng.choices(list(SOURCES), weights=list(SOURCES.values()))[0]
        ops: list[Op] = []
        if source in ("cmd", "fcmd", "query", "writer"):
            ops = [
                operation(rng, in_thread=source == "writer") for _ in range(rng.choice([1, 1, 2]))
            ]
            if source in ("fcmd", "query") and rng.random() < 0.15:
                # a slow run: Streamlit may replace it before it writes
                ops.insert(0, ["sleep", "", rng.choice([0.1, 0.3])])
        pause = rng.choice([0.0, 0.0, 0.02, 0.05, 0.1, 0.2])
        actions.append(Action(source, rng.randrange(tabs), f"r{round_no}-{i}", tuple(ops), pause))
    kill = rng.randrange(len(actions)) if rng.random() < KILL_CHANCE else None
    hole = None
    if blackhole_every and round_no % blackhole_every == blackhole_every - 1:
        # Longer than ping_interval + ping_deadline, so every connection through
        # the proxy is given up: the proxy drops bytes from the middle of a
        # stream, which no real link does, so a shorter hole would test the proxy.
        hole = (rng.randrange(len(actions)), rng.uniform(2.5, 3.5))
    return Plan(round_no, tuple(actions), kill, hole)
