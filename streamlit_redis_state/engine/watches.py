"""Watches: changes delivered to code outside Streamlit (a worker, a bot, a thread).

A :class:`Watch` receives every change of the keys it watches (or of every
key), from the process's listener, with the listener's guarantee: after a
reconnect or a gap in the sequence, Redis's versions are compared with the
ones the watch has seen, a :class:`Resynced` event says so, and every key
that changed meanwhile is reported. Nothing is missed silently.

Events are hints, like notifications: they name the key and its version,
never the value (read it). Changes of one key not yet taken are merged into
the latest, so a slow consumer never falls behind by more than one event per
key and memory stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

#: The longest a waiting consumer sleeps before it looks for a signal to handle.
_WAKE = 0.5


@dataclass(frozen=True, slots=True)
class Changed:
    """``key`` changed (set, appended to, deleted, expired); ``version`` is its new version."""

    key: str
    version: int
    #: Written inside ``no_rerun``: Streamlit pages were not rerun for it.
    quiet: bool = False


@dataclass(frozen=True, slots=True)
class Resynced:
    """Notifications were missed (a reconnect, a gap), and Redis was asked what changed.

    ``keys`` are the watched keys found changed meanwhile; a :class:`Changed`
    event for each follows.
    """

    keys: tuple[str, ...]


Event = Changed | Resynced


class Watch:
    """An iterator of :class:`Changed` and :class:`Resynced` events; see the module docstring.

    ``for event in watch`` blocks for the next event; with ``timeout``, the
    iteration ends once no event came for that long. :meth:`get` waits for one.
    Close it (or use it as a context manager) when done.
    """

    def __init__(
        self,
        keys: frozenset[str] | None,
        on_close: Callable[[Watch], None],
        timeout: float | None = None,
    ) -> None:
        #: The keys watched, or ``None`` for every key of the namespace.
        self.keys = keys
        self.timeout = timeout
        self._seen: dict[str, int] = {}
        self._on_close = on_close
        self._cond = threading.Condition()
        self._pending: OrderedDict[str, Changed] = OrderedDict()
        self._resyncs: list[Resynced] = []
        self._closed = False
        self._thread: threading.Thread | None = None

    def wants(self, key: str) -> bool:
        return self.keys is None or key in self.keys

    # -- fed by the hub (the listener's thread) --------------------------------

    def offer(self, event: Changed) -> None:
        with self._cond:
            if self._closed or event.version <= self._seen.get(event.key, -1):
                return
            self._seen[event.key] = event.version
            self._pending.pop(event.key, None)
            self._pending[event.key] = event
            self._cond.notify_all()

    def baseline(self, versions: dict[str, int]) -> None:
        """The versions at the start: changes from here on are reported."""
        with self._cond:
            for key, version in versions.items():
                if version > self._seen.get(key, -1):
                    self._seen[key] = version

    def resynced(self, versions: dict[str, int]) -> None:
        """Redis's versions now: report a resync, then every key whose version moved.

        A key seen before and absent now (the data was lost) is reported at
        version 0.
        """
        with self._cond:
            if self._closed:
                return
            versions = {**{k: 0 for k in self._seen}, **versions}
            changed = [
                k for k, v in versions.items() if self.wants(k) and v != self._seen.get(k, 0)
            ]
            if not changed:
                return  # nothing was missed
            self._resyncs.append(Resynced(tuple(sorted(changed))))
            for key in changed:
                self._seen[key] = versions[key]
                self._pending.pop(key, None)
                self._pending[key] = Changed(key, versions[key])
            self._cond.notify_all()

    # -- the consumer's side -----------------------------------------------------

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting at most ``timeout`` seconds (``None``: for ever).

        Waits in slices: a signal (Ctrl-C) that the kernel hands to another
        thread of the process interrupts no wait of this one, and Python runs
        its handler (KeyboardInterrupt) only when this thread next wakes. A
        wait for ever would never wake: a worker's ``for event in watch``
        ignored Ctrl-C now and then.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not (self._closed or self._resyncs or self._pending):
                left = _WAKE if deadline is None else min(_WAKE, deadline - time.monotonic())
                if left <= 0:
                    return None
                self._cond.wait(left)
            if self._resyncs:
                return self._resyncs.pop(0)
            if self._pending:
                return self._pending.popitem(last=False)[1]
            return None

    def __iter__(self) -> Iterator[Event]:
        while True:
            event = self.get(self.timeout)
            if event is None:
                return
            yield event

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._on_close(self)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    @property
    def closed(self) -> bool:
        return self._closed

    def call(self, callback: Callable[[Event], object]) -> Watch:
        """Call ``callback(event)`` for each event, on a thread of its own, until closed."""

        def run() -> None:
            while not self._closed:
                event = self.get(0.5)
                if event is not None:
                    callback(event)

        self._thread = threading.Thread(target=run, name="streamlit-redis-state-watch", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> Watch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Watches:
    """The hub's open watches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: list[Watch] = []

    def add(self, watch: Watch) -> None:
        with self._lock:
            self._open.append(watch)

    def remove(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._open:
                self._open.remove(watch)

    def all(self) -> list[Watch]:
        with self._lock:
            return list(self._open)

    def changed(self, key: str, version: int, quiet: bool) -> None:
        if not self._open:  # the usual case, checked without the lock (every change)
            return
        for watch in self.all():
            if watch.wants(key):
                watch.offer(Changed(key, version, quiet))

    def watched_keys(self) -> tuple[set[str], bool]:
        """The keys some watch wants, and whether one wants every key."""
        keys: set[str] = set()
        for watch in self.all():
            if watch.keys is None:
                return keys, True
            keys |= watch.keys
        return keys, False
