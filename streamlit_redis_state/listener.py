"""One background thread per process that turns Redis notifications into reruns.

Pub/sub is at-most-once, and redis-py reconnects and resubscribes silently
(NOTES §4), so the listener does not trust the stream:

* after every subscribe confirmation it *resyncs*: it reads the versions of
  every key this process cares about and treats any difference as a change;
* every notification carries the namespace sequence number, and a gap means
  something was missed, so it resyncs then too;
* it pings its own connection and gives up on it when the answer is late,
  because a half-open link raises no error at all;
* it never dies: every error is logged, the cache is dropped, and it
  reconnects with capped, jittered backoff.

The listener knows nothing of Streamlit or of caches: it hands decoded events
to a :class:`Sink` (the hub), which decides what they mean.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any, Protocol

from .store import RedisStore

logger = logging.getLogger("streamlit_redis_state")


class Sink(Protocol):
    def on_change(self, event: dict[str, Any]) -> None: ...
    def on_unlock(self, key: str) -> None: ...
    def on_disconnect(self) -> None: ...
    def on_healthy(self) -> None: ...
    def resync(self) -> int:
        """Compare versions with Redis, act on differences, return the sequence read."""
        ...


class LinkDead(Exception):
    """The pub/sub link did not answer a ping in time."""


def parse_event(data: bytes | str) -> dict[str, Any] | None:
    """Decode one notification; anything malformed gives ``None`` (and is logged)."""
    try:
        event = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        event = None
    if not isinstance(event, dict):
        logger.warning("ignored a malformed notification: %.80r", data)
        return None
    if "u" in event:
        ok = isinstance(event["u"], str)
    else:
        ok = (
            isinstance(event.get("k"), str)
            and isinstance(event.get("v"), int)
            and isinstance(event.get("s"), int)
            and isinstance(event.get("o", ""), str)
            and isinstance(event.get("e", ""), str)
        )
    if not ok:
        logger.warning("ignored a malformed notification: %.80r", data)
        return None
    return event


class Listener:
    """The per-process pub/sub thread; see the module docstring."""

    def __init__(self, store: RedisStore, sink: Sink) -> None:
        self._store = store
        self._sink = sink
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._synced = threading.Event()
        #: Bumped on every (re)sync, so the cache can tell entries fetched
        #: under an older connection from current ones.
        self.generation = 0
        self.last_seq: int | None = None
        self._pubsub: Any = None

    # -- state seen by the hub ------------------------------------------------

    @property
    def synced(self) -> bool:
        """True while subscribed and caught up: only then may the cache be trusted."""
        return self._synced.is_set()

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="streamlit-redis-state-listener", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._mark_unsynced()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def kick(self) -> None:
        """Drop the current connection (tests and fault handling): reconnect and resync."""
        pubsub = self._pubsub
        if pubsub is not None:
            try:
                pubsub.connection.disconnect()
            except Exception:
                logger.debug("disconnect failed", exc_info=True)

    # -- the loop -----------------------------------------------------------

    def _run(self) -> None:
        delay = 0.05
        while not self._stop.is_set():
            try:
                self._session()
                delay = 0.05
            except Exception as exc:
                if self._stop.is_set():
                    break
                self._mark_unsynced()
                logger.warning(
                    "listener lost Redis (%s: %s); reconnecting", type(exc).__name__, exc
                )
                logger.debug("listener error", exc_info=True)
                self._stop.wait(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
            finally:
                self._close()

    def _mark_unsynced(self) -> None:
        if self._synced.is_set():
            self._synced.clear()
        try:
            self._sink.on_disconnect()
        except Exception:
            logger.exception("on_disconnect failed")

    def _close(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:
                logger.debug("closing the pub/sub connection failed", exc_info=True)

    def _session(self) -> None:
        """One connection's life: subscribe, resync, then handle messages until an error."""
        settings = self._store.settings
        pubsub = self._store.pubsub_client().pubsub(ignore_subscribe_messages=False)  # type: ignore[no-untyped-call]
        self._pubsub = pubsub
        pubsub.subscribe(self._store.channel)
        ping_sent: float | None = None
        next_ping = time.monotonic() + settings.ping_interval
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=min(0.2, settings.ping_interval))
            now = time.monotonic()
            if message is not None:
                kind = message["type"]
                if kind == "subscribe":
                    self._after_subscribe()
                elif kind == "message":
                    self._handle(message["data"])
                elif kind == "pong":
                    ping_sent = None
                    self._sink.on_healthy()
            if ping_sent is not None and now - ping_sent > settings.ping_deadline:
                raise LinkDead(f"no answer to a ping within {settings.ping_deadline}s")
            if ping_sent is None and now >= next_ping:
                pubsub.ping("srs")
                ping_sent = now
                next_ping = now + settings.ping_interval

    def _after_subscribe(self) -> None:
        # Subscribed first, versions read second: nothing can fall between.
        self._synced.clear()
        self._sink.on_disconnect()
        self.generation += 1
        self.last_seq = self._sink.resync()
        self._synced.set()

    def _handle(self, data: bytes) -> None:
        event = parse_event(data)
        if event is None:
            return
        if "u" in event:
            self._sink.on_unlock(event["u"])
            return
        self._sink.on_change(event)
        seq = event["s"]
        last = self.last_seq
        if last is not None and seq > last + 1:
            logger.info("sequence gap (%s -> %s): resyncing", last, seq)
            self.last_seq = max(seq, self._sink.resync())
        elif last is None or seq > last:
            self.last_seq = seq
