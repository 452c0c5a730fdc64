"""Top-level writes that loop with the anchor must stop here.

(k) A script that counts its own runs (`server_state.visits = ... + 1` at the
top level) reruns itself a bounded number of times per page view: the README
promises at most 4 runs per user action, the chain of change -> rerun -> change
stopping after 3 changes with one warning naming the key.
(l) Two sessions whose scripts write different values to one key at the top
level (anchor issues 168 and 228) must not rerun each other forever.

Proving that something stops takes a quiet period: `settle()` waits until a
tab has started no run for 1.5 s, far longer than one rerun takes here (tens of
milliseconds), within a bound that fails the test if the runs never stop.
"""

from __future__ import annotations

import re

import pytest

from support.processes import StreamlitServer
from tests.compat import shows
from tests.compat.conftest import Tabs

pytestmark = pytest.mark.compat

APP = "patterns.py"

#: Runs one user action may cause (README: "at most 4 runs per user action").
MAX_RUNS_PER_ACTION = 4


def visits(texts: list[str]) -> int:
    return int(next(t for t in texts if t.startswith("visits=")).split("=")[1])


def test_a_script_counting_its_own_runs_stops(
    tabs: Tabs, replicas: tuple[StreamlitServer, StreamlitServer]
) -> None:
    a_replica, _ = replicas
    watcher = tabs.open(tabs.b, "p=watch-visits")
    shows(watcher, "visits=0")

    total = 0
    for view in (1, 2):
        visitor = tabs.open(tabs.a, "p=visits", name=f"visitor {view}")
        runs = visitor.settle()
        shown = visits(visitor.last.screen.texts)
        assert 1 <= runs <= MAX_RUNS_PER_ACTION, f"page view {view}: {runs} runs"
        assert total + 1 <= shown <= total + MAX_RUNS_PER_ACTION, (
            f"page view {view}: visits went from {total} to {shown} in {runs} runs the tab "
            f"saw; replica A's log:\n"
            + "\n".join(
                line
                for line in a_replica.output().splitlines()
                if "visits" in line or "depth" in line or "chain" in line
            )[-6000:]
        )
        # The quiet period is over: nothing reruns it any more.
        assert visitor.settle(quiet=1.0) == runs
        total = shown
        shows(watcher, f"visits={total}")
        visitor.close()

    # Python's last-resort handler prints a library warning as its bare message,
    # so a warning is a line naming the key that is not part of a traceback.
    named = [
        line
        for line in a_replica.output().splitlines()
        if re.search(r"\bvisits\b", line) and not line[:1].isspace() and "Traceback" not in line
    ]
    assert named, (
        f"replica A logged no warning naming the key 'visits':\n{a_replica.output()[-2000:]}"
    )
    assert len(named) <= 2, f"more than one warning per page view: {named}"


def test_two_sessions_writing_one_key_do_not_rerun_each_other_forever(tabs: Tabs) -> None:
    a = tabs.open(tabs.a, "p=fight&me=a")
    b = tabs.open(tabs.b, "p=fight&me=b")
    runs_a = a.settle(timeout=15)
    runs_b = b.settle(timeout=15)
    # Each page view is one user action; each may cause a bounded chain of runs.
    assert runs_a <= 2 * MAX_RUNS_PER_ACTION, f"A ran {runs_a} times"
    assert runs_b <= 2 * MAX_RUNS_PER_ACTION, f"B ran {runs_b} times"
    # Both pages settled on something coherent: each shows a value one of them wrote.
    for tab in (a, b):
        assert any(t in tab.screen.texts for t in ("fight=a", "fight=b")), tab.screen.texts
