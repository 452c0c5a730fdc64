"""The soak's world: one redis-server, three replicas, many tabs, and this process as a fourth.

Replica C reaches Redis through a FaultProxy, so its link can be blackholed.
This process uses the library too (a writer thread with no session), and
reads Redis raw (redis-py and the codec, not the library's read path) to say
what every tab must show.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from streamlit_redis_state import ServerStateError, configure
from streamlit_redis_state.base import codec
from streamlit_redis_state.base.keys import EPOCH_FIELD, SEQ_FIELD, Keyspace
from streamlit_redis_state.engine.process import reconfigure
from support.faultproxy import FaultProxy
from support.processes import RedisServer, StreamlitServer, wait_until
from support.sessions import HeadlessSession
from tests.soak import APPS
from tests.soak.apps.soak_ops import (
    ELEMENTS,
    GROUPS,
    KEYS,
    MISSING,
    Op,
    apply,
    expected_texts,
    tally_counts,
)

if TYPE_CHECKING:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

#: Seconds a tab may stay silent with a run in flight before that run counts as lost.
STUCK = 12.0
#: Messages a tab remembers for a failure report.
TRACE = 80
FINISHED = {0: "successfully", 1: "compile error", 2: "early for rerun", 3: "fragment run"}

NAMESPACE = "soak"
#: Short timeouts, so a dead link is noticed quickly (set as an operator would).
OPTIONS = {
    "ping_interval": 0.5,
    "ping_deadline": 1.5,
    "socket_timeout": 2.0,
    "connect_timeout": 1.0,
    "lock_lease": 3.0,
    "lock_timeout": 10.0,
}
REPLICAS = ("A", "B", "C")
#: The replica whose link to Redis goes through the FaultProxy.
PROXIED = "C"


class Tab(HeadlessSession):
    """A headless tab that also says whether it is busy, and what each element shows.

    It keeps a short trace of the messages it sent and received, for failure reports.
    """

    def __init__(self, port: int, query: str = "", page: str = "", name: str = "") -> None:
        self.trace: deque[str] = deque(maxlen=TRACE)
        super().__init__(port, query, page, name)

    def _note(self, what: str) -> None:
        self.trace.append(f"{time.time():.3f} {what}")

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self._note(f"<- new_session fragments={list(msg.metadata.run.fragment_ids)}")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            which = el.WhichOneof("type") or ""
            proto = getattr(el, which, None)
            body = getattr(proto, "body", None) or getattr(proto, "label", "")
            frag = f" frag={msg.delta.fragment_id[-6:]}" if msg.delta.fragment_id else ""
            self._note(f"<- {which} {list(msg.metadata.delta_path)}{frag} {body!s:.80}")
        elif kind == "script_finished":
            self._note(
                f"<- script_finished {FINISHED.get(msg.script_finished, msg.script_finished)}"
            )
        super()._handle(msg)

    def _send_rerun(
        self,
        fragment_id: str = "",
        page_script_hash: str | None = None,
        page_name: str = "",
        widget_states: bool = True,
    ) -> None:
        frag = f" fragment={fragment_id[-6:]}" if fragment_id else ""
        self._note(f"-> rerun{frag} query={self.query[:60]!r}")
        super()._send_rerun(fragment_id, page_script_hash, page_name, widget_states)

    def activity(self) -> tuple[int, int, bool]:
        """(runs finished, runs started, a run in flight): changes whenever the tab does anything."""
        with self._cond:
            return len(self.runs), self.starts, self._in_flight

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def shown(self) -> dict[str, str]:
        """Element name -> what the page shows for it (texts "name=value")."""
        out: dict[str, str] = {}
        for text in self.screen.texts:
            element, sep, value = text.partition("=")
            if sep and element in ELEMENTS:
                out[element] = value
        return out

    def checked(self, label: str) -> bool | None:
        try:
            return bool(self.screen.widget(label, "checkbox").value)
        except LookupError:
            return None


@dataclass
class Diff:
    tab: str
    element: str
    shown: str | None
    stored: str

    def __str__(self) -> str:
        return f"  tab {self.tab}: {self.element} shown {self.shown!r}, Redis holds {self.stored!r}"


@dataclass
class Writer:
    """This process as another replica: a thread that applies operations with no session."""

    log: list[str] = field(default_factory=list)
    _queue: queue.Queue[tuple[str, Op] | threading.Event | None] = field(
        default_factory=queue.Queue
    )
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="soak-writer", daemon=True)
        self._thread.start()

    def submit(self, nonce: str, op: Op) -> None:
        self._queue.put((nonce, op))

    def drain(self, timeout: float) -> None:
        """Wait until every operation submitted so far was applied."""
        done = threading.Event()
        self._queue.put(done)
        if not done.wait(timeout):
            raise AssertionError(f"the test's writer did not finish within {timeout}s")

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            nonce, op = item
            try:
                apply(op)
                outcome = "ok"
            except (ServerStateError, TypeError, ValueError) as exc:
                outcome = f"{type(exc).__name__}: {exc}"[:200]
            self.log.append(f"{time.time():.3f} test-writer {nonce} {op!r} {outcome}")

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)


class Events:
    """Every notification on the namespace's channel, with the time it was heard (for reports)."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self.lines: deque[tuple[float, str]] = deque(maxlen=20_000)
        self._client = client
        self._channel = channel
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-events", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pubsub = None
        while not self._stop.is_set():
            try:
                if pubsub is None:
                    pubsub = self._client.pubsub()
                    pubsub.subscribe(self._channel)
                message = pubsub.get_message(timeout=0.2)
            except Exception as exc:  # killed with the others: say so, and subscribe again
                self.lines.append((time.time(), f"(event log lost its connection: {exc!r})"))
                with contextlib.suppress(Exception):
                    if pubsub is not None:
                        pubsub.close()
                pubsub = None
                time.sleep(0.05)
                continue
            if message is None:
                continue
            data = message["data"]
            text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
            self.lines.append((time.time(), f"{message['type']} {text}"))
        if pubsub is not None:
            with contextlib.suppress(Exception):
                pubsub.close()

    def since(self, start: float) -> list[str]:
        return [f"{t:.3f} {line!r}" for t, line in list(self.lines) if t >= start]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


class Cluster:
    """Everything the soak runs; :meth:`close` stops every process it started, by pid."""

    def __init__(
        self, tabs_per_replica: int, post_script_gc: bool, fragment_widgets: bool = False
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="srs-soak-"))
        #: What close() stops, last started first; each stop runs even if another raised.
        self._stops = contextlib.ExitStack()
        self.replicas: dict[str, StreamlitServer] = {}
        self.tabs: list[Tab] = []
        self._closed_tabs: list[Tab] = []
        #: Keep the logs of the replicas' operations after close (a failure's evidence).
        self.keep = False
        self.fragment_widgets = fragment_widgets
        self.keyspace = Keyspace(NAMESPACE)
        try:
            self._stops.callback(self._remove_dir)
            self.redis = RedisServer()
            self._stops.callback(self.redis.close)
            self.raw = self.redis.client()
            self.proxy = FaultProxy(self.redis.port)
            self._stops.callback(self.proxy.close)
            self._stops.callback(self._stop_replicas)
            self.events = Events(self.redis.client(), self.keyspace.channel)
            self._stops.callback(self.events.close)
            self._stops.callback(reconfigure, {})
            self.writer = Writer()
            self._stops.callback(self.writer.stop)
            self._stops.callback(self._close_tabs)
            self._start_replicas(post_script_gc, fragment_widgets)
            configure(url=self.redis.url, namespace=NAMESPACE, **OPTIONS)
            self.writer.start()
            for name in REPLICAS:
                for i in range(tabs_per_replica):
                    self.tabs.append(self._open(name, f"{name}{i}"))
            for tab in self.tabs:
                tab.wait_for(lambda run: True, 60, "its first run")
        except BaseException:
            self.close()
            raise

    def _start_replicas(self, post_script_gc: bool, fragment_widgets: bool) -> None:
        env = {
            f"STREAMLIT_REDIS_STATE_{name.upper()}": str(value) for name, value in OPTIONS.items()
        }
        env["STREAMLIT_REDIS_STATE_NAMESPACE"] = NAMESPACE
        env["SRS_SOAK_DIR"] = str(self.dir)
        env["STREAMLIT_RUNNER_POST_SCRIPT_GC"] = "true" if post_script_gc else "false"
        env["SRS_SOAK_FRAGMENT_WIDGETS"] = "1" if fragment_widgets else "0"

        def start(name: str) -> StreamlitServer:
            port = self.proxy.port if name == PROXIED else self.redis.port
            url = f"redis://127.0.0.1:{port}/0"
            replica_env = {**env, "STREAMLIT_REDIS_STATE_URL": url}
            return StreamlitServer(APPS / "soak_app.py", replica_env, name=name)

        with ThreadPoolExecutor(len(REPLICAS)) as pool:
            futures = {name: pool.submit(start, name) for name in REPLICAS}
            errors: list[BaseException] = []
            for name, future in futures.items():
                try:
                    self.replicas[name] = future.result()
                except BaseException as exc:  # stop the others, then fail
                    errors.append(exc)
            if errors:
                raise errors[0]

    def _open(self, replica: str, name: str) -> Tab:
        return Tab(self.replicas[replica].port, f"name={name}", name=name)

    def all_tabs(self) -> list[Tab]:
        """The open tabs, then the closed ones."""
        return self.tabs + self._closed_tabs

    def reopen(self, index: int) -> Tab:
        """Close the tab at ``index``; open a new one on the same replica, under a new name.

        A new name, so a presence member the closed tab left behind would show.
        """
        old = self.tabs[index]
        old.close()
        self._closed_tabs.append(old)
        base, _, generation = old.name.partition(".")
        tab = self._open(base[0], f"{base}.{int(generation or 0) + 1}")
        self.tabs[index] = tab
        return tab

    # -- what Redis holds (raw) -------------------------------------------------

    def seq(self) -> int:
        return int(self.raw.hget(self.keyspace.meta, SEQ_FIELD) or 0)

    def epoch(self) -> str:
        raw = self.raw.hget(self.keyspace.meta, EPOCH_FIELD)
        return raw.decode() if raw else ""

    def stored(self) -> dict[str, Any]:
        """Every key's value as Redis holds it, read in one MULTI, decoded with the codec."""
        ks = self.keyspace
        pipe = self.raw.pipeline(transaction=True)
        for key in KEYS:
            pipe.get(ks.value(key))
            pipe.lrange(ks.list(key), 0, -1)
        raw = pipe.execute()
        out: dict[str, Any] = {}
        for i, key in enumerate(KEYS):
            blob, items = raw[2 * i], raw[2 * i + 1]
            if blob:
                out[key] = codec.decode(blob)
            elif items:
                out[key] = [codec.decode(item) for item in items]
            else:
                out[key] = MISSING
        return out

    def members(self) -> dict[str, list[str]]:
        """Each presence group's live members' names, by Redis's clock."""
        ks = self.keyspace
        seconds, micros = self.raw.time()
        now = seconds * 1000 + micros // 1000
        out: dict[str, list[str]] = {}
        for group in GROUPS:
            ids = self.raw.zrangebyscore(ks.presence_members(group), f"({now}", "+inf")
            names = self.raw.hmget(ks.presence_names(group), ids) if ids else []
            out[group] = sorted({n.decode() for n in names if n is not None})
        return out

    def expiring(self) -> int:
        """Keys with a lifetime not yet reaped."""
        return int(self.raw.zcard(self.keyspace.expiries))

    def records(self) -> list[dict[str, Any]]:
        """The status records of the Streamlit processes (each renewed on every ping)."""
        ks = self.keyspace
        ids = self.raw.zrange(ks.processes, 0, -1)
        blobs = self.raw.mget([ks.process(i.decode()) for i in ids]) if ids else []
        records = [json.loads(b) for b in blobs if b]
        return [r for r in records if r.get("kind") == "streamlit"]

    def threads_done(self) -> bool:
        started = finished = 0
        for path in self.dir.glob("tally-*.log"):
            s, f = tally_counts(path.read_text())
            started, finished = started + s, finished + f
        return started == finished

    def op_log(self, nonce_prefix: str) -> list[str]:
        """The operations the replicas and the writer made for commands whose nonce starts so."""
        lines: list[str] = []
        for path in sorted(self.dir.glob("ops-*.log")):
            replica = path.stem.removeprefix("ops-")
            for line in path.read_text().splitlines():
                if f"'{nonce_prefix}" in line or f" {nonce_prefix}" in line:
                    lines.append(f"{replica}: {line}")
        lines += [x for x in self.writer.log if f" {nonce_prefix}" in x]
        return sorted(lines, key=lambda x: x.split(": ", 1)[-1])

    # -- quiescence and the invariant ----------------------------------------------

    def listeners_caught_up(self, seq: int) -> bool:
        """Every replica's listener is synced and has handled every change up to ``seq``."""
        records = self.records()
        return len(records) == len(REPLICAS) and all(
            r["listener"]["synced"] and r["listener"]["sequence"] == seq for r in records
        )

    def tabs_idle(self, quiet: float, timeout: float) -> None:
        """Wait until no tab has a run in flight and none started one for ``quiet`` seconds.

        A quiet period is the only evidence that nothing more is coming: a
        rerun the listener asked for reaches the tab a few milliseconds later.
        A tab silent for STUCK seconds with a run "in flight" counts as idle:
        that run's end will never come (Streamlit dropped its output), and
        the invariant will say what the tab shows.
        """
        deadline = time.monotonic() + timeout
        seen = [t.activity() for t in self.tabs]
        since = [time.monotonic()] * len(self.tabs)
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            current = [t.activity() for t in self.tabs]
            for i, (old, new) in enumerate(zip(seen, current, strict=True)):
                if old != new:
                    since[i] = now
            seen = current
            idle = [
                now - s >= quiet and (not a[2] or now - s >= STUCK)
                for s, a in zip(since, current, strict=True)
            ]
            if all(idle):
                return
            if now > deadline:
                busy = [t.name for t, ok in zip(self.tabs, idle, strict=True) if not ok]
                raise AssertionError(f"tabs still running after {timeout}s: {busy}")

    def quiesce(self, timeout: float = 90, quiet: float = 0.6) -> float:
        """Wait until nothing more can change; returns how long it took.

        No writer is writing (this process's writer drained, the apps'
        threads finished), no key waits to expire, every replica's listener
        has handled the last change, and no tab has run for ``quiet`` seconds,
        with the sequence unchanged throughout.
        """
        started = time.monotonic()
        deadline = started + timeout

        def left() -> float:
            return max(deadline - time.monotonic(), 0.1)

        self.writer.drain(left())
        wait_until(self.threads_done, left(), "the apps' threads to finish", 0.05)
        wait_until(lambda: self.expiring() == 0, left(), "expiring keys to be reaped", 0.05)
        while True:
            seq = self.seq()
            versions = self.versions()
            try:
                wait_until(
                    lambda: self.listeners_caught_up(self.seq()),
                    left(),
                    "every replica's listener to handle the last change",
                    0.05,
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}; {self.changes_since(seq, versions)}") from None
            self.tabs_idle(quiet, left())
            if self.seq() == seq and self.expiring() == 0 and self.threads_done():
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no quiescence within {timeout}s; {self.changes_since(seq, versions)}"
                )

    def versions(self) -> dict[str, int]:
        raw = self.raw.hgetall(self.keyspace.meta)
        return {k.decode(errors="replace"): int(v) for k, v in raw.items() if k != b"\x00epoch"}

    def changes_since(self, seq: int, versions: dict[str, int]) -> str:
        """What changed since ``seq`` (for a report): the fields whose version moved."""
        now = self.versions()
        moved = {k: (versions.get(k), v) for k, v in now.items() if versions.get(k) != v}
        listeners = [(r["id"], r["listener"]) for r in self.records()]
        return f"sequence {seq} -> {self.seq()}; moved: {moved}; listeners: {listeners}"

    def differences(self) -> tuple[list[Diff], dict[str, str]]:
        """Every element of every tab that does not show what Redis holds, and what it holds."""
        expected = expected_texts(self.stored(), self.members())
        diffs: list[Diff] = []
        for tab in self.tabs:
            shown = tab.shown()
            for element in ELEMENTS:
                if shown.get(element) != expected[element]:
                    diffs.append(Diff(tab.name, element, shown.get(element), expected[element]))
            for exc in tab.screen.exceptions:
                diffs.append(Diff(tab.name, "exception", exc, "no exception"))
        # Presence against the tabs: each group holds exactly the tabs whose box
        # is ticked (and no closed tab). Not checked for "lobby" when its box
        # is inside fragment 2: when a fragment rerun starts just after a full
        # run, Streamlit drops the full run's unsent deltas of that fragment and
        # still reports the run FINISHED_SUCCESSFULLY, so a tab that clears
        # stale widgets then, as support/sessions.py does, forgets the box's
        # value while the server keeps it. (The browser defers that clearing.)
        for group, label in (("room", "here"), ("lobby", "lobby")):
            ticked = ",".join(sorted(t.name for t in self.tabs if t.checked(label)))
            if expected[group] != ticked and not (group == "lobby" and self.fragment_widgets):
                diffs.append(Diff("(presence)", group, ticked, expected[group]))
        open_names = {t.name for t in self.tabs}
        for group in ("room", "lobby"):
            closed = [n for n in expected[group].split(",") if n and n not in open_names]
            if closed:
                diffs.append(Diff(f"(closed {','.join(closed)})", group, "absent", expected[group]))
        return diffs, expected

    # -- faults -------------------------------------------------------------------------

    def kill_pubsub(self) -> int:
        return int(self.raw.client_kill_filter(_type="pubsub"))

    @contextlib.contextmanager
    def blackhole(self) -> Iterator[None]:
        self.proxy.set_mode("blackhole")
        try:
            yield
        finally:
            self.proxy.set_mode("pass")

    # -- teardown ---------------------------------------------------------------------

    def who(self) -> str:
        """Which process id and session id is which replica and tab (to read the event log)."""
        pids = {r.proc.pid: name for name, r in self.replicas.items()}
        procs = [f"{r['id']}={pids.get(r['pid'], '?')}" for r in self.records()]
        tabs = [f"{t.session_id}={t.name}" for t in self.tabs]
        return "processes: " + ", ".join(procs) + "\ntabs: " + ", ".join(tabs)

    def replica_output(self, name: str, last: int = 3000) -> str:
        replica = self.replicas.get(name)
        return replica.output()[-last:] if replica is not None else ""

    def close(self) -> None:
        """Stop everything started, by pid: tabs, writer, replicas, proxy, redis-server."""
        self._stops.close()

    def _close_tabs(self) -> None:
        with contextlib.ExitStack() as stack:
            for tab in self.tabs + self._closed_tabs:
                stack.callback(tab.close)

    def _stop_replicas(self) -> None:
        with contextlib.ExitStack() as stack:
            for replica in self.replicas.values():
                stack.callback(replica.stop)

    def _remove_dir(self) -> None:
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw else default
