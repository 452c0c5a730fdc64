"""A write's Redis cost, as the bench and the integration tier count it (support/processes.py).

The bench's "commands per write" once read 16 with 1 reader in a process and
24 with 10: the extra 8 were one health check (tick.lua) that landed in the
measuring window, which grows with the readers waited for. The library's
cost was flat; the count must leave the health checks out.
"""

from __future__ import annotations

from support.processes import TICK, without_ticks

#: One write and the read script of the readers' replica, as INFO commandstats showed it.
WRITE = {
    "evalsha": 2,
    "get": 2,
    "hget": 4,
    "hincrby": 2,
    "llen": 1,
    "lrange": 1,
    "publish": 1,
    "set": 2,
    "zrem": 1,
}


def _plus(calls: dict[str, int], ticks: int) -> dict[str, int]:
    out = dict(calls)
    for name, n in TICK.items():
        out[name] = out.get(name, 0) + ticks * n
    return out


def test_health_checks_in_the_window_are_not_the_writes_cost() -> None:
    assert sum(_plus(WRITE, 1).values()) == 24  # what the bench reported with 10 readers
    for ticks in (0, 1, 2):
        assert without_ticks(_plus(WRITE, ticks)) == WRITE


def test_a_window_with_only_health_checks_costs_nothing() -> None:
    assert without_ticks(_plus({}, 3)) == {}
