"""One background thread per process that turns notifications into calls on a sink.

Pub/sub is at-most-once, and redis-py reconnects and resubscribes silently
(docs/internals.md, "Redis"), so the listener does not trust the stream:

* after every subscribe confirmation it has the sink *resync*: read the
  versions of every key this process cares about and treat any difference
  as a change;
* every notification carries the namespace sequence number, and a gap means
  something was missed, so it resyncs then too;
* it pings its own connection and gives up on it when the answer is late,
  because a half-open link raises no error at all;
* it never dies: every error is logged, the sink is told, and it reconnects
  with capped, jittered backoff.

The listener knows nothing of Streamlit or of caches: it hands typed
notifications to a :class:`Sink` (the hub), which decides what they mean.
Its loop is built from :meth:`Listener.connect` and :meth:`Listener.poll`,
which tests call directly, without the thread.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Protocol

from ..base.config import Settings
from .notification import Notification, Unlocked, parse
from .pubsub import Kind, Subscription, Unsubscribed

logger = logging.getLogger(__name__)


class Sink(Protocol):
    def on_change(self, notification: Notification) -> bool:
        """Act on a change; ``False`` when it does not fit what is known (resync)."""
        ...

    def on_unlock(self, key: str) -> None: ...
    def on_disconnect(self) -> None: ...
    def on_healthy(self) -> bool:
        """The link answered a ping; ``True`` when Redis says a resync is needed."""
        ...

    def resync(self) -> int:
        """Compare versions with Redis, act on differences, return the sequence read."""
        ...


class LinkDead(Exception):
    """The pub/sub link did not answer a ping in time."""


class Listener:
    """The per-process pub/sub listener; see the module docstring."""

    def __init__(
        self,
        subscribe: Callable[[], Subscription],
        sink: Sink,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._subscribe = subscribe
        self._sink = sink
        self._settings = settings
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._synced = threading.Event()
        #: Set once a connection attempt has failed: waiting for a first sync is pointless.
        self._failed_once = threading.Event()
        self._subscription: Subscription | None = None
        self._ping_sent: float | None = None
        self._next_ping = 0.0
        #: Bumped on every (re)sync, so the cache can tell entries fetched
        #: under an older connection from current ones.
        self.generation = 0
        self.last_seq: int | None = None

    # -- state seen by the hub ------------------------------------------------

    @property
    def synced(self) -> bool:
        """True while subscribed and caught up: only then may the cache be trusted."""
        return self._synced.is_set()

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    def wait_first_sync(self, timeout: float) -> bool:
        """Wait for the first sync, unless a connection attempt fails first (Redis is down)."""
        deadline = time.monotonic() + timeout
        while not self._synced.is_set() and not self._failed_once.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._synced.wait(min(left, 0.01))
        return self._synced.is_set()

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
        if thread is None:
            self.close()

    def kick(self) -> None:
        """Drop the current connection (tests and fault handling): reconnect and resync."""
        subscription = self._subscription
        if subscription is not None:
            try:
                subscription.disconnect()
            except Exception:
                logger.debug("disconnect failed", exc_info=True)

    # -- one connection, step by step -------------------------------------

    def connect(self) -> None:
        """Open a new subscription; its confirmation (a message) starts the resync."""
        self.close()
        self._subscription = self._subscribe()
        self._ping_sent = None
        self._next_ping = self._clock() + self._settings.ping_interval

    def poll(self, timeout: float) -> bool:
        """Handle at most one message, and the ping; ``False`` when none came.

        Raises when the connection failed or the ping went unanswered: the
        caller drops the connection and reconnects.
        """
        subscription = self._subscription
        if subscription is None:
            raise LinkDead("not connected")
        message = subscription.get_message(timeout)
        now = self._clock()
        if message is not None:
            if message.kind is Kind.SUBSCRIBED:
                self._after_subscribe()
            elif message.kind is Kind.MESSAGE:
                self._handle(message.data)
            elif message.kind is Kind.PONG:
                self._ping_sent = None
                if self._sink.on_healthy():
                    self._resync("Redis no longer holds what was seen")
        deadline = self._settings.ping_deadline
        if self._ping_sent is not None and now - self._ping_sent > deadline:
            raise LinkDead(f"no answer to a ping within {deadline}s")
        if self._ping_sent is None and now >= self._next_ping:
            subscription.ping()
            self._ping_sent = now
            self._next_ping = now + self._settings.ping_interval
        return message is not None

    def drain(self) -> int:
        """Handle every message already waiting, without blocking; how many there were."""
        handled = 0
        while self.poll(0):
            handled += 1
        return handled

    def close(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            try:
                subscription.close()
            except Exception:
                logger.debug("closing the pub/sub connection failed", exc_info=True)

    # -- the thread -------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.05
        while not self._stop.is_set():
            try:
                self.connect()
                while not self._stop.is_set():
                    self.poll(min(0.2, self._settings.ping_interval))
                delay = 0.05
            except Exception as exc:
                self._failed_once.set()
                if self._stop.is_set():
                    break
                self._mark_unsynced()
                if isinstance(exc, Unsubscribed):  # a slot moved, a failover: expected
                    logger.info("listener: %s; reconnecting", exc)
                else:
                    logger.warning(
                        "listener lost Redis (%s: %s); reconnecting", type(exc).__name__, exc
                    )
                logger.debug("listener error", exc_info=True)
                self._stop.wait(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
            finally:
                self.close()

    def _mark_unsynced(self) -> None:
        if self._synced.is_set():
            self._synced.clear()
        try:
            self._sink.on_disconnect()
        except Exception:
            logger.exception("on_disconnect failed")

    def _after_subscribe(self) -> None:
        # Subscribed first, versions read second: nothing can fall between.
        self._synced.clear()
        self._sink.on_disconnect()
        self.generation += 1
        self.last_seq = self._sink.resync()
        self._synced.set()

    def _handle(self, data: bytes) -> None:
        event = parse(data)
        if event is None:
            return
        if isinstance(event, Unlocked):
            self._sink.on_unlock(event.key)
            return
        seq, last = event.sequence, self.last_seq
        if last is not None and seq > last + 1:
            # Something was missed, or the number is forged: ask Redis, and
            # take its sequence, never the message's.
            self._resync(f"sequence gap ({last} -> {seq})")
        elif not self._sink.on_change(event):
            self._resync(f"a notification from epoch {event.epoch!r}")
        elif last is None or seq > last:
            self.last_seq = seq

    def _resync(self, why: str) -> None:
        logger.info("%s: resyncing", why)
        self.last_seq = self._sink.resync()
