"""A randomized soak: after every burst of changes, every tab shows exactly what Redis holds.

Three `streamlit run` replicas of tests/soak/apps/soak_app.py share one real
redis-server (replica C through a FaultProxy); each has several headless
tabs, and this process writes too, as a fourth replica with no session. A
round is a burst of random actions (tests/soak/driver.py): commands a tab
runs in its widget callback, in a fragment's body or at its top level (set,
attribute set, set with a lifetime, expire, append, edit, locked increment,
pop, del, setdefault, update, force rerun, and threads that do some of these
with and without the session's script context), presence joins and leaves,
tabs closed and opened again, writes from this process, and now and then
every pub/sub connection killed or replica C's link blackholed. Then
quiescence (no writer, no key left to expire, every listener at the last
sequence, no tab running), and the invariant, element by element: what each
tab's page shows is what Redis holds (read raw, decoded with the codec), and
each presence group holds exactly the tabs whose checkbox says so. A
difference must be gone within a short grace (a rerun slow to start under
load), or within presence_ttl for a presence member whose leave met an
unreachable Redis (documented: it expires); otherwise the round fails with
its seed, its plan, what every replica did, the notifications, and the
differing tabs' last runs and messages.

    SRS_SOAK_SEED=<int>|random   the plan's seed (default: fixed, printed)
    SRS_SOAK_ROUNDS=50           rounds (`make soak` runs many more)
    SRS_SOAK_FIRST_ROUND=0       replay from a round: its plan depends only on (seed, round)
    SRS_SOAK_TABS=8              tabs per replica
    SRS_SOAK_ACTIONS=8           most actions in one burst
    SRS_SOAK_BLACKHOLE_EVERY=10  blackhole replica C's link in one round of this many (0: never)
    SRS_SOAK_GC=0                Streamlit's post-run gc.collect (runner.postScriptGC); off
                                 by default to fit 24 tabs on two cores (1: Streamlit's default)
    SRS_SOAK_FRAGMENT_WIDGETS=0  draw the "fcmd" input and the "lobby" box inside their
                                 fragments (see FRAGMENT_WIDGETS below)
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from support.processes import wait_until
from tests.soak.apps.soak_ops import command
from tests.soak.cluster import PROXIED, Cluster, Diff, env_int
from tests.soak.driver import Action, Plan, plan

pytestmark = [pytest.mark.soak, pytest.mark.integration]

DEFAULT_SEED = 20261125
#: No tab ran for this long: quiescence (with the other conditions, see Cluster.quiesce).
QUIET = 0.8
#: A difference gone within this long after quiescence was a rerun slow to start, not a loss.
GRACE = 5.0
#: The library's default presence_ttl, which the replicas use.
PRESENCE_TTL = 15.0

#: Widgets inside fragments are off by default because of a Streamlit race the
#: soak found, which this library does not cause and cannot prevent without
#: patching Streamlit: a tab's own fragment rerun that
#: reaches the server after a run finished, but before the server's event loop
#: handled that run's events, makes Streamlit start a new script runner and
#: ignore the finished runner's events, so the finished run's output never
#: reaches the tab (AppSession.request_rerun; reproduced without this library in
#: tests/unit/test_soak_findings.py). With the widgets at the top level a tab
#: only ever asks for full reruns, which repaint everything; fragment-only runs
#: (and writes made in them) still happen, asked for by the library.
FRAGMENT_WIDGETS = os.environ.get("SRS_SOAK_FRAGMENT_WIDGETS", "0") == "1"


@dataclass(frozen=True)
class Config:
    seed: int
    rounds: int
    first: int
    tabs: int
    actions: int
    blackhole_every: int
    gc: bool

    def replay(self, round_no: int) -> str:
        return (
            f"SRS_SOAK_SEED={self.seed} SRS_SOAK_FIRST_ROUND={round_no} "
            f"SRS_SOAK_TABS={self.tabs} SRS_SOAK_ACTIONS={self.actions} "
            f"SRS_SOAK_BLACKHOLE_EVERY={self.blackhole_every} SRS_SOAK_GC={int(self.gc)} "
            f"SRS_SOAK_FRAGMENT_WIDGETS={int(FRAGMENT_WIDGETS)} "
            "make soak"
        )


def config_from_env() -> Config:
    raw = os.environ.get("SRS_SOAK_SEED", "")
    seed = random.SystemRandom().randrange(2**31) if raw == "random" else int(raw or DEFAULT_SEED)
    return Config(
        seed=seed,
        rounds=env_int("SRS_SOAK_ROUNDS", 50),
        first=env_int("SRS_SOAK_FIRST_ROUND", 0),
        tabs=env_int("SRS_SOAK_TABS", 8),
        actions=env_int("SRS_SOAK_ACTIONS", 8),
        blackhole_every=env_int("SRS_SOAK_BLACKHOLE_EVERY", 10),
        gc=os.environ.get("SRS_SOAK_GC", "0") not in ("", "0", "false"),
    )


@pytest.fixture(scope="module")
def config(request: pytest.FixtureRequest) -> Config:
    cfg = config_from_env()
    say(
        request,
        f"soak: seed {cfg.seed} (SRS_SOAK_SEED), {cfg.rounds} rounds from {cfg.first}, "
        f"{cfg.tabs} tabs x 3 replicas, up to {cfg.actions} actions a burst",
    )
    return cfg


def say(request: pytest.FixtureRequest, line: str) -> None:
    """Print now, even while pytest captures output (the seed must reach CI's log)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="module")
def cluster(config: Config) -> Iterator[Cluster]:
    c = Cluster(config.tabs, config.gc, FRAGMENT_WIDGETS)
    try:
        yield c
    finally:
        c.close()


def perform(cluster: Cluster, action: Action) -> None:
    """One action of a burst. A tab that has no page yet (just reopened) takes a query instead."""
    tab = cluster.tabs[action.tab]
    text = command(action.nonce, list(action.ops))
    source = action.source
    if source == "writer":
        for op in action.ops:
            cluster.writer.submit(action.nonce, op)
        return
    if source == "reopen":
        cluster.reopen(action.tab)
        return
    try:
        if source == "cmd":
            tab.set_value("cmd", text)
        elif source == "fcmd":
            tab.set_value("fcmd", text)
        elif source in ("here", "lobby"):
            ticked = tab.checked(source)
            if ticked is not None:
                tab.set_value(source, not ticked)
        else:
            raise LookupError  # "query"
    except LookupError:
        if action.ops:
            tab.click(query=urlencode({"name": tab.name, "q": text}))


def burst(cluster: Cluster, p: Plan) -> None:
    hole: threading.Thread | None = None
    for i, action in enumerate(p.actions):
        if p.kill_before == i:
            cluster.kill_pubsub()
        if p.blackhole is not None and p.blackhole[0] == i:
            seconds = p.blackhole[1]

            def cut(seconds: float = seconds) -> None:
                with cluster.blackhole():
                    # The fault's length is the point here: a link that drops
                    # everything for this long, then comes back.
                    time.sleep(seconds)

            hole = threading.Thread(target=cut, daemon=True)
            hole.start()
        if action.pause:
            time.sleep(action.pause)  # the burst's rhythm, drawn from the seed
        perform(cluster, action)
    if hole is not None:
        hole.join()


def failure_report(
    cluster: Cluster,
    cfg: Config,
    p: Plan,
    diffs: list[Diff],
    took: float | None,
    waited: float,
    started: float,
) -> str:
    lines = [
        f"round {p.round} (seed {cfg.seed}): {len(diffs)} elements differ from Redis "
        + (
            f"{waited:g}s after quiescence (LATE: they caught up {took:.1f}s later)"
            if took is not None
            else f"and still do {waited + 10:g}s after quiescence (LOST)"
        ),
        *[str(d) for d in diffs],
        f"replay: {cfg.replay(p.round)}",
        "the round's plan:",
        *["  " + x for x in p.describe()],
        "what the replicas and the writer did (time, nonce, tab, where, operation, outcome):",
        *["  " + x for x in cluster.op_log(f"r{p.round}-")],
        f"Redis: sequence {cluster.seq()}, epoch {cluster.epoch()!r}",
        "listeners: " + ", ".join(f"{r['id']}={r['listener']}" for r in cluster.records()),
        cluster.who(),
        "notifications heard since the round started (time, message):",
        *["  " + x for x in cluster.events.since(started)],
    ]
    named = {d.tab for d in diffs if not d.tab.startswith("(")}
    for d in diffs:  # a presence difference names the tabs in one list and not the other
        if d.tab == "(presence)":
            named |= set((d.shown or "").split(",")) ^ set(d.stored.split(","))
        elif d.tab.startswith("(closed "):
            named |= set(d.tab.removeprefix("(closed ").removesuffix(")").split(","))
    every_tab = {t.name: t for t in cluster.all_tabs()}
    for name in sorted(named - {""}):
        tab = every_tab.get(name)
        if tab is None:
            continue
        if tab.closed:
            lines.append(f"tab {name} was closed")
        lines.append(f"tab {name} (session {tab.session_id}), its last runs:")
        for run in tab.runs[-4:]:
            kind = "fragment" if run.fragment else "full"
            widgets = {w.label: w.value for w in run.screen.widgets if w.kind == "checkbox"}
            lines.append(f"  {kind} run: {run.texts} {widgets}")
        lines.append(f"tab {name}, its last messages:")
        lines += ["  " + x for x in tab.trace]
    if any(d.element == "exception" for d in diffs):
        for name in cluster.replicas:
            lines.append(f"replica {name} log tail:\n{cluster.replica_output(name, 2000)}")
    return "\n".join(lines)


def grace(diffs: list[Diff]) -> float:
    """How long a difference may take to go away after quiescence (see the loop below)."""
    if all(d.tab.startswith("(") for d in diffs):  # only presence against the tabs
        # A member whose leave failed while Redis was unreachable stays until
        # its heartbeat lapses (presence_ttl): documented, and checked here.
        return PRESENCE_TTL + GRACE
    return GRACE


def caught_up_within(cluster: Cluster, seconds: float) -> float | None:
    """How long until no tab differs from Redis, if within ``seconds``."""
    started = time.monotonic()
    try:
        wait_until(lambda: not cluster.differences()[0], seconds, "the tabs to catch up", 0.2)
    except AssertionError:
        return None
    return time.monotonic() - started


def test_every_tab_shows_what_redis_holds_after_each_burst(
    cluster: Cluster, config: Config, request: pytest.FixtureRequest
) -> None:
    started = time.monotonic()
    waits: list[float] = []
    late: list[tuple[int, float]] = []
    for round_no in range(config.first, config.first + config.rounds):
        p = plan(config.seed, round_no, len(cluster.tabs), config.actions, config.blackhole_every)
        round_started = time.time()
        burst(cluster, p)
        waits.append(cluster.quiesce(quiet=QUIET))
        diffs, _ = cluster.differences()
        if diffs:
            # A quiet period cannot prove that no rerun is on its way: under
            # load one may start later than QUIET (the first ping after Redis
            # is back reruns the tabs that showed an error). So a difference
            # that goes away within its grace is counted, not failed; one that
            # stays is a lost update, and one that takes longer is a late one.
            took = caught_up_within(cluster, grace(diffs))
            if took is not None:
                late.append((round_no, took))
                cluster.quiesce(quiet=QUIET)
                diffs, _ = cluster.differences()
        if diffs:
            took = caught_up_within(cluster, 10)
            cluster.keep = True
            report = failure_report(cluster, config, p, diffs, took, grace(diffs), round_started)
            pytest.fail(f"{report}\nthe replicas' logs of operations: {cluster.dir}", pytrace=False)
    elapsed = time.monotonic() - started
    say(
        request,
        f"soak: {config.rounds} rounds in {elapsed:.0f}s (quiescence: mean "
        f"{sum(waits) / len(waits):.2f}s, max {max(waits):.2f}s); "
        f"blackholed replica {PROXIED} every {config.blackhole_every} rounds; "
        f"{len(late)} rounds caught up after quiescence, within their grace: {late}",
    )
