"""Sentinel, real: a primary, a replica and three sentinels on loopback, each with a
password; a failover during writes, asked for (SENTINEL FAILOVER) and forced by
a crash.

The library runs in this process: hubs with a recording bridge, as in
test_redis_events.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from streamlit_redis_state import NotReplicated, StateUnavailable
from streamlit_redis_state.base import codec
from streamlit_redis_state.engine.hub import Hub
from support.ha import SentinelGroup
from support.processes import wait_until
from tests.integration.hubs import Recorder, hub_at

pytestmark = pytest.mark.integration

MASTER_PASSWORD = "master-pw"
SENTINEL_PASSWORD = "sentinel-pw"


@pytest.fixture
def group() -> Iterator[SentinelGroup]:
    g = SentinelGroup(password=MASTER_PASSWORD, sentinel_password=SENTINEL_PASSWORD)
    yield g
    g.close()


class Writes:
    """A thread that keeps writing ``key`` = 1, 2, 3, ... through ``hub``, and what came of it."""

    def __init__(self, hub: Hub, key: str, append: bool = False) -> None:
        self.hub, self.key, self.append = hub, key, append
        self.acked: list[tuple[float, int]] = []
        self.refused: list[tuple[float, str]] = []
        self.unconfirmed: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            try:
                if self.append:
                    self.hub.append(self.key, [codec.encode(i)], 0)
                else:
                    self.hub.set(self.key, codec.encode(i))
            except NotReplicated:
                self.unconfirmed.append(i)  # stored, not confirmed: no promise
            except StateUnavailable as exc:
                self.refused.append((time.monotonic(), f"{i}: {exc}"))
            else:
                self.acked.append((time.monotonic(), i))
            time.sleep(0.01)

    def acked_since(self, since: float) -> int:
        return sum(1 for t, _ in self.acked if t > since)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    @property
    def last(self) -> int:
        return self.acked[-1][1]


def master_client(group: SentinelGroup) -> Any:
    return group.server_client(group.primary())


def test_sentinel_failover_during_writes_every_session_shows_the_latest_value(
    group: SentinelGroup, caplog: pytest.LogCaptureFixture
) -> None:
    """SENTINEL FAILOVER while two hubs write: the listeners follow the new master,
    notice what it lacks, and every session ends on the latest value; with
    wait_replicas=1, every confirmed change survives."""
    ns = "sn"
    # The sentinels' password two ways: as the option, and in the URL.
    url = group.url(userinfo=f":{MASTER_PASSWORD}")
    url_with_query = group.url(
        userinfo=f":{MASTER_PASSWORD}", query=f"sentinel_password={SENTINEL_PASSWORD}"
    )
    writer = hub_at(url, ns, sentinel_password=SENTINEL_PASSWORD)
    confirmed = hub_at(url_with_query, ns, wait_replicas=1, wait_timeout=0.5)
    views = [Recorder(), Recorder()]
    viewers = [hub_at(url_with_query, ns, r) for r in views]
    caplog.set_level("WARNING", logger="streamlit_redis_state")
    plain = Writes(writer, "x")
    safe = Writes(confirmed, "log", append=True)
    try:
        wait_until(lambda: len(plain.acked) > 20 and len(safe.acked) > 5, 10, "writes")
        for hub, view in zip(viewers, views, strict=True):
            wait_until(lambda h=hub, v=view: v.view(h, "x") is not None, 5, "a viewer")  # type: ignore[misc]
        old = group.failover()
        asked = time.monotonic()
        wait_until(lambda: group.primary_port() != old.port, 15, "the sentinels to switch")
        switched = time.monotonic()
        master = group.server_client(group.primary())
        promoted_with = master.get(f"srs:{{{ns}}}:v:x")
        # Until a client hears of the switch, the old master still takes its
        # writes (acknowledged, then lost): the writer moves within a ping.
        wait_until(
            lambda: master.get(f"srs:{{{ns}}}:v:x") != promoted_with, 10, "writes on the new master"
        )
        moved = time.monotonic()
        wait_until(lambda: plain.acked_since(moved) > 20, 15, "more writes")
        plain.stop()
        safe.stop()
        # Redis holds the last write the writer was told succeeded.
        assert codec.decode(master.get(f"srs:{{{ns}}}:v:x")) == plain.last
        # Every session shows it.
        for hub, view in zip(viewers, views, strict=True):
            wait_until(
                lambda h=hub, v=view: v.view(h, "x") == plain.last, 10, "a viewer to converge"
            )  # type: ignore[misc]
        # Every change confirmed by a replica survived the failover.
        stored = {codec.decode(b) for b in master.lrange(f"srs:{{{ns}}}:l:log", 0, -1)}
        lost = [i for _, i in safe.acked if i not in stored]
        assert not lost, f"confirmed and lost: {lost}"
        # The listeners subscribe on the new master.
        channel = writer.store.keyspace.channel
        wait_until(
            lambda: dict(master.pubsub_numsub(channel)).get(channel.encode()) == 4,
            10,
            "the four listeners on the new master",
        )
        # The new master lacks what the old one took meanwhile: noticed, everyone reran.
        assert "replication id changed" in caplog.text or "sequence went back" in caplog.text
        print(
            f"switch {switched - asked:.1f}s after SENTINEL FAILOVER, writes on the new master "
            f"{moved - switched:.1f}s later; "
            f"{len(plain.acked)} writes acknowledged, {len(plain.refused)} refused; "
            f"{len(safe.acked)} appends confirmed, {len(safe.unconfirmed)} not confirmed"
        )
    finally:
        plain.stop()
        safe.stop()
        for hub in (*viewers, confirmed, writer):
            hub.close()


def test_a_crashed_master_is_replaced_and_writes_resume_without_a_manual_step(
    group: SentinelGroup,
) -> None:
    """SIGKILL the primary: writes raise StateUnavailable until the sentinels promote
    the replica (down-after-milliseconds 1000), then succeed; the viewer follows."""
    ns = "crash"
    url = group.url(userinfo=f":{MASTER_PASSWORD}", query=f"sentinel_password={SENTINEL_PASSWORD}")
    recorder = Recorder()
    writer = hub_at(url, ns)
    viewer = hub_at(url, ns, recorder)
    writes = Writes(writer, "x")
    try:
        wait_until(lambda: len(writes.acked) > 10, 10, "writes")
        wait_until(lambda: recorder.view(viewer, "x") is not None, 5, "the viewer")
        old = group.primary()
        old.kill()
        killed = time.monotonic()
        wait_until(lambda: writes.acked_since(killed + 0.05) > 10, 20, "writes to succeed again")
        resumed = next(t for t, _ in writes.acked if t > killed + 0.05) - killed
        writes.stop()
        assert writes.refused, "no write was refused while there was no master"
        assert resumed < 15
        wait_until(lambda: recorder.view(viewer, "x") == writes.last, 10, "the viewer to follow")
        reruns = recorder.reruns
        writer.set("x", codec.encode(-1))
        wait_until(lambda: recorder.reruns > reruns, 5, "the viewer rerun by the next write")
        print(f"writes refused for {resumed:.1f}s ({len(writes.refused)} tries), then served")
    finally:
        writes.stop()
        viewer.close()
        writer.close()
