"""The process cache: one Redis read per change, however many sessions read the key.

The cache is trusted only while the listener is subscribed and caught up
(a notification invalidates an entry; a disconnect drops them all), and
concurrent misses for one key share a single fetch, whose outcome (a value
or an error) they all get: during an outage N readers of one key wait one
timeout, not N. It is bounded by bytes (``cache_bytes``), least recently
used first out.

It also remembers the latest version seen of the keys this process uses
(``latest``): what it cached or wrote, and what it is fetching, so a fetch
that raced with a change never caches the older value. Notifications about
keys the process never touched are not remembered, and a key this process
deleted and no session shows is forgotten (:meth:`ProcessCache.forget`): the
memory follows the keys in use, not every key ever written. After a reconnect
or a gap in the sequence the listener cannot know what it missed, so the hub
compares the versions in Redis with these and reruns whatever differs. And it
holds the namespace's epoch, which catches the one case versions cannot:
Redis lost its data and counts from zero again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from ..base.errors import StateUnavailable
from ..edges.notification import Notification
from ..edges.store import Snapshot
from .stats import Stats

#: Keys whose latest version is remembered without being cached or fetched:
#: enough for every key a process shows; the oldest are forgotten first.
MAX_REMEMBERED = 100_000


class _Flight:
    """One fetch of one key that concurrent readers share."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Snapshot | None = None
        self.error: BaseException | None = None


def _size(snap: Snapshot) -> int:
    """What an entry costs the process, roughly: its bytes twice for a list (blob and bodies)."""
    return 200 + len(snap.blob or b"") + len(snap.bodies or b"")


class ProcessCache:
    """See the module docstring. ``generation()`` is the listener's, or ``None`` when unsynced."""

    def __init__(
        self, generation: Callable[[], int | None], stats: Stats, max_bytes: int = 64 << 20
    ) -> None:
        self.generation = generation
        self.max_bytes = max_bytes
        self._stats = stats
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Snapshot] = OrderedDict()
        self._bytes = 0
        # Lists that only grew since they were cached: the next read fetches
        # just the new items and extends them.
        self._bases: dict[str, Snapshot] = {}
        self._latest: OrderedDict[str, int] = OrderedDict()
        #: The epoch the cached data belongs to: ``None`` before the first
        #: sync, ``""`` while Redis holds no data.
        self.epoch: str | None = None
        self._flights: dict[str, _Flight] = {}
        # key -> how many fetches of it are under way (see fetching())
        self._busy: dict[str, int] = {}
        # key -> the cache keys of views of it (its last n items), dropped with it
        self._views: dict[str, set[str]] = {}

    # -- reads ----------------------------------------------------------------

    def get(self, key: str) -> Snapshot | None:
        if self.generation() is None:
            return None
        with self._lock:
            snap = self._entries.get(key)
            if snap is not None:
                self._entries.move_to_end(key)
                self._stats.cache_hits += 1
            return snap

    @property
    def size(self) -> int:
        """Bytes held by cached entries (as counted for ``max_bytes``)."""
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def list_copy(self, key: str) -> Snapshot | None:
        """The cached list (or the grown list kept to extend), to extend after our own append."""
        with self._lock:
            return self._entries.get(key) or self._bases.get(key)

    def any_view(self, key: str) -> Snapshot | None:
        """A cached view of ``key`` (its last items, with the list's length), if any."""
        if self.generation() is None:
            return None
        with self._lock:
            for view in self._views.get(key, ()):
                snap = self._entries.get(view)
                if snap is not None:
                    return snap
        return None

    def take_base(self, key: str) -> Snapshot | None:
        """The list to extend with only the new items, if the key's list merely grew."""
        with self._lock:
            return self._bases.pop(key, None)

    def fetch_once(
        self,
        key: str,
        fetch: Callable[[], Snapshot],
        wait: float,
        versioned: str | None = None,
    ) -> Snapshot:
        """``fetch()``, or the outcome of the same fetch already under way.

        A follower waits at most ``wait`` seconds (the bound on one fetch).
        A shared result older than a version heard of meanwhile is not good
        enough for a follower that came later: it fetches again. ``key`` may
        name a view of the key ``versioned`` (its last items), whose version
        is the key's.
        """
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if leader:
            try:
                flight.result = fetch()
                return flight.result
            except BaseException as exc:
                flight.error = exc
                raise
            finally:
                with self._lock:
                    self._flights.pop(key, None)
                flight.done.set()
        if not flight.done.wait(wait):
            raise StateUnavailable(f"a read of {key!r} under way took longer than {wait:g}s")
        if flight.error is not None:
            if isinstance(flight.error, StateUnavailable):
                raise StateUnavailable(str(flight.error)) from flight.error
            raise flight.error
        result = flight.result
        assert result is not None
        with self._lock:
            fresh = result.version >= self._latest.get(versioned or key, 0)
        return result if fresh else self.fetch_once(key, fetch, wait, versioned)

    @contextmanager
    def fetching(self, keys: Iterable[str]) -> Iterator[None]:
        """Around a read from Redis: changes of ``keys`` heard meanwhile are remembered.

        Without it, a notification about a key this process does not know
        is not remembered, and a fetch that read the value just before that
        change would then cache the older value.
        """
        names = list(keys)
        with self._lock:
            for name in names:
                self._busy[name] = self._busy.get(name, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                for name in names:
                    left = self._busy[name] - 1
                    if left:
                        self._busy[name] = left
                    else:
                        del self._busy[name]

    # -- writes -----------------------------------------------------------------

    def put(
        self, key: str, snap: Snapshot, generation: int | None, *, view_of: str | None = None
    ) -> None:
        """Cache ``snap``, fetched under ``generation``, unless something newer is known.

        ``view_of``: ``key`` caches a view of that key (its last items): it is
        versioned and invalidated with it.
        """
        current = self.generation()
        with self._lock:
            versioned = view_of or key
            latest = self._latest.get(versioned)
            if latest is None or snap.version > latest:
                self._remember(versioned, snap.version)
            if self.epoch == "" and snap.epoch and current is not None:
                # The data was empty at the last sync and a first write has
                # since created it; its notification may still be in flight.
                self.epoch = snap.epoch
            if (
                generation is None
                or current != generation
                or snap.epoch != self.epoch
                or snap.version < self._latest.get(versioned, 0)
            ):
                return
            self._store(key, snap)
            if view_of is not None:
                self._views.setdefault(view_of, set()).add(key)

    def _store(self, key: str, snap: Snapshot) -> None:
        """Under the lock: cache ``snap``, and make room, least recently used out."""
        self._drop(key)
        size = _size(snap)
        if size > self.max_bytes:
            return
        self._entries[key] = snap
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= _size(evicted)

    def _drop(self, key: str) -> None:
        """Under the lock: forget ``key``'s entry, and the views of it, if any."""
        for name in (key, *self._views.pop(key, ())):
            self._drop_entry(name)

    def _drop_entry(self, name: str) -> None:
        snap = self._entries.pop(name, None)
        if snap is not None:
            self._bytes -= _size(snap)

    def _remember(self, key: str, version: int) -> None:
        """Under the lock: ``version`` is the latest of ``key``; forget the oldest memories."""
        self._latest[key] = version
        self._latest.move_to_end(key)
        while len(self._latest) > MAX_REMEMBERED:
            old = next(iter(self._latest))
            if old in self._entries or old in self._flights or old in self._busy:
                self._latest.move_to_end(old)  # still needed; a rare case
                break
            del self._latest[old]

    def note_version(self, key: str, version: int) -> None:
        """This process changed ``key`` to ``version`` and has no snapshot of it.

        Read-your-writes: drop what is cached, and refuse older copies, so this
        process is never served the value from before its own change while the
        notification is on its way.
        """
        if not version:
            return
        with self._lock:
            self._drop(key)
            self._bases.pop(key, None)
            if version > self._latest.get(key, 0):
                self._remember(key, version)

    def forget(self, key: str) -> bool:
        """Forget ``key`` entirely (this process deleted it and no session shows it).

        Not while it is being fetched: that fetch must still find the version
        that refuses its result. Returns whether it was forgotten.
        """
        with self._lock:
            if key in self._busy or key in self._flights:
                return False
            self._drop(key)
            self._bases.pop(key, None)
            self._latest.pop(key, None)
            return True

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
            latest = self._latest.get(n.key)
            if latest is None:
                # A key this process does not use is not remembered, unless a
                # fetch of it is under way (its result must not be older).
                if n.key in self._busy:
                    self._remember(n.key, n.version)
            elif n.version > latest:
                self._remember(n.key, n.version)
            cached = self._entries.get(n.key)
            if cached is not None and cached.version < n.version:
                self._drop_entry(n.key)
                if (
                    n.appended is not None
                    and cached.bodies is not None
                    and cached.count == (n.length or 0) - n.appended
                ):
                    self._bases[n.key] = cached
            if n.appended is None:
                self._bases.pop(n.key, None)
            views = self._views.get(n.key, set())
            for view in list(views):
                snap = self._entries.get(view)
                if snap is None or snap.version < n.version:
                    self._drop_entry(view)
                    views.discard(view)
        return True

    def resync(self, epoch: str, versions: dict[str, int]) -> tuple[str | None, list[str]]:
        """Align with what Redis holds after a (re)subscription or a gap.

        Returns the previous epoch if the data was lost (everything forgotten),
        and the keys whose version differs from the latest known.
        """
        with self._lock:
            self._clear()
            if self._epoch_lost(epoch):
                previous = self._reset(epoch)
                for key, version in versions.items():
                    self._remember(key, version)
                return previous, []
            self.epoch = epoch
            changed = [k for k, v in versions.items() if v != self._latest.get(k, 0)]
            for key in changed:
                self._remember(key, versions[key])
            return None, changed

    def reset(self, epoch: str) -> str | None:
        """Forget everything known (the data was lost though the epoch survived); the old epoch."""
        with self._lock:
            return self._reset(epoch)

    def keys(self) -> list[str]:
        """The keys with a cached entry."""
        with self._lock:
            return list(self._entries)

    def known_keys(self) -> list[str]:
        with self._lock:
            return list(self._latest)

    def clear(self) -> None:
        """Drop every entry (the listener lost its connection); versions stay known."""
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._entries.clear()
        self._bases.clear()
        self._views.clear()
        self._bytes = 0

    def _epoch_lost(self, epoch: str) -> bool:
        """A different epoch than a known, non-empty one means Redis lost its data."""
        return self.epoch not in (None, "") and epoch != self.epoch

    def _reset(self, epoch: str) -> str | None:
        previous, self.epoch = self.epoch, epoch
        self._clear()
        self._latest.clear()
        return previous
