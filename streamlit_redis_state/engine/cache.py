"""The process cache: one Redis read per change, however many sessions read the key.

The cache is trusted only while the listener is subscribed and caught up
(a notification invalidates an entry; a disconnect drops them all), and
concurrent misses for one key share a single fetch.

It also remembers the latest version seen of every key (``latest``): after a
reconnect or a gap in the sequence the listener cannot know what it missed,
so the hub compares the versions in Redis with these and reruns whatever
differs. And it holds the namespace's epoch, which catches the one case
versions cannot: Redis lost its data and counts from zero again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..edges.notification import Notification
from ..edges.store import Snapshot
from .stats import Stats


class ProcessCache:
    """See the module docstring. ``generation()`` is the listener's, or ``None`` when unsynced."""

    def __init__(self, generation: Callable[[], int | None], stats: Stats) -> None:
        self.generation = generation
        self._stats = stats
        self._lock = threading.Lock()
        self._entries: dict[str, Snapshot] = {}
        # Lists that only grew since they were cached: the next read fetches
        # just the new items and extends them.
        self._bases: dict[str, Snapshot] = {}
        self._latest: dict[str, int] = {}
        #: The epoch the cached data belongs to: ``None`` before the first
        #: sync, ``""`` while Redis holds no data.
        self.epoch: str | None = None
        self._flights: dict[str, threading.Lock] = {}

    # -- reads ----------------------------------------------------------------

    def get(self, key: str) -> Snapshot | None:
        if self.generation() is None:
            return None
        with self._lock:
            snap = self._entries.get(key)
            if snap is not None:
                self._stats.cache_hits += 1
            return snap

    def list_copy(self, key: str) -> Snapshot | None:
        """The cached list (or the grown list kept to extend), to extend after our own append."""
        with self._lock:
            return self._entries.get(key) or self._bases.get(key)

    def take_base(self, key: str) -> Snapshot | None:
        """The list to extend with only the new items, if the key's list merely grew."""
        with self._lock:
            return self._bases.pop(key, None)

    @contextmanager
    def flight(self, key: str) -> Iterator[None]:
        """Single-flight: concurrent misses of one key wait for one fetch."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = threading.Lock()
        with flight:
            yield

    # -- writes -----------------------------------------------------------------

    def put(self, key: str, snap: Snapshot, generation: int | None) -> None:
        """Cache ``snap``, fetched under ``generation``, unless something newer is known."""
        current = self.generation()
        with self._lock:
            latest = self._latest.get(key)
            if latest is None or snap.version > latest:
                self._latest[key] = snap.version
            if self.epoch == "" and snap.epoch and current is not None:
                # The data was empty at the last sync and a first write has
                # since created it; its notification may still be in flight.
                self.epoch = snap.epoch
            if (
                generation is None
                or current != generation
                or snap.epoch != self.epoch
                or snap.version < self._latest.get(key, 0)
            ):
                return
            self._entries[key] = snap

    def note_version(self, key: str, version: int) -> None:
        """This process changed ``key`` to ``version`` and has no snapshot of it.

        Read-your-writes: drop what is cached, and refuse older copies, so this
        process is never served the value from before its own change while the
        notification is on its way.
        """
        if not version:
            return
        with self._lock:
            self._entries.pop(key, None)
            self._bases.pop(key, None)
            if version > self._latest.get(key, 0):
                self._latest[key] = version

    # -- what the listener learns -------------------------------------------------

    def apply(self, notification: Notification) -> bool:
        """Invalidate what ``notification`` changed.

        Returns ``False``, and changes nothing, when the notification belongs
        to another epoch than the cache: only Redis can say whether the data
        was lost (a notification may be forged).
        """
        n = notification
        with self._lock:
            if self._epoch_lost(n.epoch):
                return False
            if self.epoch in (None, ""):
                self.epoch = n.epoch
            if n.version > self._latest.get(n.key, 0):
                self._latest[n.key] = n.version
            cached = self._entries.get(n.key)
            if cached is not None and cached.version < n.version:
                del self._entries[n.key]
                if (
                    n.appended is not None
                    and cached.bodies is not None
                    and cached.count == (n.length or 0) - n.appended
                ):
                    self._bases[n.key] = cached
            if n.appended is None:
                self._bases.pop(n.key, None)
        return True

    def resync(self, epoch: str, versions: dict[str, int]) -> tuple[str | None, list[str]]:
        """Align with what Redis holds after a (re)subscription or a gap.

        Returns the previous epoch if the data was lost (everything forgotten),
        and the keys whose version differs from the latest known.
        """
        with self._lock:
            self._entries.clear()
            self._bases.clear()
            if self._epoch_lost(epoch):
                previous = self._reset(epoch)
                self._latest.update(versions)
                return previous, []
            self.epoch = epoch
            changed = [k for k, v in versions.items() if v != self._latest.get(k, 0)]
            for key in changed:
                self._latest[key] = versions[key]
            return None, changed

    def reset(self, epoch: str) -> str | None:
        """Forget everything known (the data was lost though the epoch survived); the old epoch."""
        with self._lock:
            return self._reset(epoch)

    def known_keys(self) -> list[str]:
        with self._lock:
            return list(self._latest)

    def clear(self) -> None:
        """Drop every entry (the listener lost its connection); versions stay known."""
        with self._lock:
            self._entries.clear()
            self._bases.clear()

    def _epoch_lost(self, epoch: str) -> bool:
        """A different epoch than a known, non-empty one means Redis lost its data."""
        return self.epoch not in (None, "") and epoch != self.epoch

    def _reset(self, epoch: str) -> str | None:
        previous, self.epoch = self.epoch, epoch
        self._entries.clear()
        self._bases.clear()
        self._latest.clear()
        return previous
