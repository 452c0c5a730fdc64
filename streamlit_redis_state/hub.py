"""The per-process hub: subscriptions, the process cache, and rerun dispatch.

One hub per process joins the pieces: the :class:`RedisStore` (commands), the
:class:`Listener` (notifications), the bridge (reruns) and the lock manager.

Why a process cache: N sessions of one process that read a key after a change
cost one Redis read, not N. The cache is trusted only while the listener is
subscribed and caught up (a notification invalidates an entry; a disconnect
drops them all), and concurrent misses for one key share a single fetch.

Why versions are remembered per key (``_latest``): after a reconnect, or a
gap in the sequence, the listener cannot know what it missed, so the hub
compares the versions in Redis with the ones its sessions were shown and
reruns the subscribers of every key that differs. The epoch catches the one
case versions cannot: Redis lost its data and counts from zero again.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from . import bridge
from .config import Settings, resolve
from .listener import Listener
from .store import Change, RedisStore, Snapshot

logger = logging.getLogger("streamlit_redis_state")

#: Depth of nested ``no_rerun`` blocks in the current context.
quiet_depth: contextvars.ContextVar[int] = contextvars.ContextVar(
    "streamlit_redis_state_quiet", default=0
)


@dataclass
class Stats:
    """Counters for tests and benchmarks."""

    redis_reads: int = 0
    cache_hits: int = 0
    reruns_requested: int = 0
    resyncs: int = 0


class Hub:
    """See the module docstring."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        from .locks import LockManager
        from .presence import PresenceManager

        self.settings = settings
        self.store = RedisStore(settings, client)
        self.process_id = uuid.uuid4().hex[:12]
        self.stats = Stats()
        self._lock = threading.RLock()
        # key -> session id -> fragment ids to rerun, or None for the whole app
        self._subs: dict[str, dict[str, set[str] | None]] = {}
        self._session_keys: dict[str, set[str]] = {}
        self._cache: dict[str, Snapshot] = {}
        # Lists that only grew since they were cached: the next read fetches
        # just the new items and extends them.
        self._bases: dict[str, Snapshot] = {}
        self._latest: dict[str, int] = {}
        self._epoch: str | None = None
        self._flights: dict[str, threading.Lock] = {}
        self._unlock_waiters: dict[str, set[threading.Event]] = {}
        # Sessions whose run met an unreachable Redis: rerun when it is back,
        # so a page showing the error recovers without anyone clicking.
        self._failed: dict[str, set[str] | None] = {}
        self.store.on_unavailable = self._note_failure
        self.locks = LockManager(self)
        self.presence = PresenceManager(self)
        self.listener = Listener(self.store, self)
        bridge.set_release_callback(self.drop_session)
        self.listener.start()

    def close(self) -> None:
        self.listener.stop()
        self.presence.close()
        self.locks.close()
        self.store.close()

    # -- subscriptions ----------------------------------------------------

    def subscribe_current(self, key: str) -> None:
        """Subscribe the calling script's session (and fragment) to ``key``, if any."""
        place = bridge.current_place()
        if place is None:
            return
        sid, fid = place.session_id, place.fragment_id
        with self._lock:
            entry = self._subs.setdefault(key, {})
            if fid is None:
                entry[sid] = None
            elif sid not in entry:
                entry[sid] = {fid}
            else:
                frags = entry[sid]
                if frags is not None:
                    frags.add(fid)
            self._session_keys.setdefault(sid, set()).add(key)
        bridge.watch_disconnect(sid)

    def drop_session(self, session_id: str) -> None:
        """Forget a session: called when its tab disconnects or it is found gone."""
        self.presence.drop_session(session_id)
        with self._lock:
            for key in self._session_keys.pop(session_id, ()):
                entry = self._subs.get(key)
                if entry is not None:
                    entry.pop(session_id, None)
                    if not entry:
                        del self._subs[key]

    def subscribers(self, key: str) -> dict[str, set[str] | None]:
        with self._lock:
            return {
                sid: (None if f is None else set(f)) for sid, f in self._subs.get(key, {}).items()
            }

    def session_count(self) -> int:
        with self._lock:
            return len(self._session_keys)

    def watched_keys(self) -> list[str]:
        """Keys some session of this process is subscribed to."""
        with self._lock:
            return list(self._subs)

    # -- reads --------------------------------------------------------------

    def read(
        self,
        key: str,
        *,
        subscribe: bool = True,
        fetch: Callable[[], Snapshot] | None = None,
    ) -> Snapshot:
        """A key's snapshot, from the cache when it can be trusted.

        ``fetch`` reads something other than a plain value (a presence group)
        that is versioned and notified like one.
        """
        if subscribe:
            self.subscribe_current(key)
        if self.locks.must_read_fresh(key):
            # Just after taking the key's lock the cache is not good enough:
            # the previous holder's write may not have reached our listener
            # yet, and a read-modify-write on that stale copy would lose its
            # update. Once read fresh, only this process (which holds the
            # lock) can change it, and its writes update the cache.
            snap = self._fetch(key, fetch)
            self.locks.mark_fresh(key)
            return snap
        hit = self._cache_get(key)
        if hit is not None:
            return hit
        with self._flight(key):
            hit = self._cache_get(key)
            if hit is not None:
                return hit
            return self._fetch(key, fetch)

    def _fetch(self, key: str, fetch: Callable[[], Snapshot] | None = None) -> Snapshot:
        generation = self.listener.generation if self.listener.synced else None
        with self._lock:
            base = self._bases.pop(key, None)
        if base is not None and fetch is None:
            items, version, epoch, list_base, length = self.store.read_tail(key, base.count)
            if (
                0 < list_base <= base.version  # the same list, not one made since
                and epoch == base.epoch
                and length == base.count + len(items)
            ):
                snap = base.extended(items, version)
                with self._lock:
                    self.stats.redis_reads += 1
                self._cache_put(key, snap, generation)
                return snap
        snap = fetch() if fetch is not None else self.store.read(key)
        with self._lock:
            self.stats.redis_reads += 1
        self._cache_put(key, snap, generation)
        return snap

    def read_many(self, keys: list[str], *, subscribe: bool = True) -> dict[str, Snapshot]:
        if subscribe:
            for key in keys:
                self.subscribe_current(key)
        out: dict[str, Snapshot] = {}
        missing: list[str] = []
        for key in keys:
            hit = self._cache_get(key)
            if hit is None:
                missing.append(key)
            else:
                out[key] = hit
        if missing:
            generation = self.listener.generation if self.listener.synced else None
            fetched = self.store.read_many(missing)
            with self._lock:
                self.stats.redis_reads += 1
            for key, snap in fetched.items():
                self._cache_put(key, snap, generation)
            out.update(fetched)
        return out

    @contextmanager
    def _flight(self, key: str) -> Iterator[None]:
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = threading.Lock()
        with flight:
            yield

    def _cache_get(self, key: str) -> Snapshot | None:
        if not self.listener.synced:
            return None
        with self._lock:
            snap = self._cache.get(key)
            if snap is not None:
                self.stats.cache_hits += 1
            return snap

    def _cache_put(self, key: str, snap: Snapshot, generation: int | None) -> None:
        with self._lock:
            latest = self._latest.get(key)
            if latest is None or snap.version > latest:
                self._latest[key] = snap.version
            if self._epoch == "" and snap.epoch and self.listener.synced:
                # The data was empty at the last sync and a first write has
                # since created it; its notification may still be in flight.
                self._epoch = snap.epoch
            if (
                generation is None
                or not self.listener.synced
                or self.listener.generation != generation
                or snap.epoch != self._epoch
                or snap.version < self._latest.get(key, 0)
            ):
                return
            self._cache[key] = snap

    # -- writes -------------------------------------------------------------

    def change(
        self,
        key: str,
        op: str,
        blob: bytes = b"",
        *,
        token: str = "",
        items: list[bytes] | None = None,
    ) -> Change:
        """Run one change (see :meth:`RedisStore.change`) as this process and session."""
        place = bridge.current_place()
        origin = f"{self.process_id}:{place.session_id if place else ''}"
        generation = self.listener.generation if self.listener.synced else None
        before = None
        if op == "append":
            with self._lock:
                before = self._cache.get(key) or self._bases.get(key)
        result = self.store.change(
            key, op, blob, origin=origin, quiet=quiet_depth.get() > 0, token=token, items=items
        )
        if not result.changed:
            return result
        snap: Snapshot | None = None
        if op in ("set", "add", "del"):
            snap = Snapshot(blob if op != "del" else None, result.version, result.epoch)
        elif op == "append" and items and before is not None and before.bodies is not None:
            # Ours was the only change since the cached list: extend it locally.
            if before.version == result.version - 1 and before.count + len(items) == result.length:
                snap = before.extended(items, result.version)
        if snap is not None:
            self._cache_put(key, snap, generation)
        else:
            self.changed_here(key, result.version)
        return result

    def changed_here(self, key: str, version: int) -> None:
        """This process changed ``key`` and has no snapshot of the result.

        Read-your-writes: drop what is cached, and refuse older copies, so this
        process is never served the value from before its own change while the
        notification is on its way.
        """
        if not version:
            return
        with self._lock:
            self._cache.pop(key, None)
            self._bases.pop(key, None)
            if version > self._latest.get(key, 0):
                self._latest[key] = version

    # -- outages ------------------------------------------------------------

    def _note_failure(self) -> None:
        place = bridge.current_place()
        if place is not None:
            with self._lock:
                _merge(self._failed, place.session_id, None)

    def on_healthy(self) -> None:
        """Redis answered again: rerun the sessions that saw it fail."""
        with self._lock:
            targets, self._failed = self._failed, {}
        self._rerun(targets)

    # -- the listener's sink ------------------------------------------------

    def on_disconnect(self) -> None:
        with self._lock:
            self._cache.clear()
            self._bases.clear()

    def on_unlock(self, key: str) -> None:
        with self._lock:
            waiters = list(self._unlock_waiters.get(key, ()))
        for event in waiters:
            event.set()

    def on_change(self, event: dict[str, Any]) -> None:
        key, version, epoch = event["k"], event["v"], event.get("e", "")
        with self._lock:
            if self._epoch_lost(epoch):
                targets = self._reset_to(epoch)
                quiet = False
            else:
                if self._epoch in (None, ""):
                    self._epoch = epoch
                if version > self._latest.get(key, 0):
                    self._latest[key] = version
                cached = self._cache.get(key)
                if cached is not None and cached.version < version:
                    del self._cache[key]
                    if (
                        "a" in event
                        and cached.bodies is not None
                        and cached.count == event.get("n", -1) - event["a"]
                    ):
                        self._bases[key] = cached
                if "a" not in event:
                    self._bases.pop(key, None)
                quiet = bool(event.get("q"))
                targets = {} if quiet else dict(self._subs.get(key, {}))
        if quiet:
            return
        origin_pid, _, origin_sid = str(event.get("o", "")).partition(":")
        if origin_pid == self.process_id and origin_sid:
            targets.pop(origin_sid, None)
        self._rerun(targets)

    def resync(self) -> int:
        """Compare versions with Redis and rerun the subscribers of whatever differs."""
        with self._lock:
            keys = sorted(set(self._subs) | set(self._latest))
        seq, epoch, versions = self.store.sync_state(keys)
        with self._lock:
            self.stats.resyncs += 1
            self._cache.clear()
            self._bases.clear()
            if self._epoch_lost(epoch):
                targets = self._reset_to(epoch)
                for key, version in versions.items():
                    self._latest[key] = version
            else:
                self._epoch = epoch
                changed = [k for k in keys if versions.get(k, 0) != self._latest.get(k, 0)]
                targets = {}
                for key in changed:
                    self._latest[key] = versions.get(key, 0)
                    for sid, frags in self._subs.get(key, {}).items():
                        _merge(targets, sid, frags)
            for sid, frags in self._failed.items():
                _merge(targets, sid, frags)
            self._failed = {}
        self._rerun(targets)
        return seq

    def _epoch_lost(self, epoch: str) -> bool:
        """A different epoch than a known, non-empty one means Redis lost its data."""
        return self._epoch not in (None, "") and epoch != self._epoch

    def _reset_to(self, epoch: str) -> dict[str, set[str] | None]:
        """Under the lock: forget everything known and return every subscriber."""
        logger.warning(
            "the state in Redis was reset (epoch %s -> %s); rerunning every subscribed session",
            self._epoch,
            epoch or "empty",
        )
        self._epoch = epoch
        self._cache.clear()
        self._bases.clear()
        self._latest.clear()
        targets: dict[str, set[str] | None] = {}
        for entry in self._subs.values():
            for sid, frags in entry.items():
                _merge(targets, sid, frags)
        return targets

    def _rerun(self, targets: dict[str, set[str] | None]) -> None:
        if not targets:
            return
        alive = bridge.runtime_exists()
        for sid, frags in targets.items():
            with self._lock:
                self.stats.reruns_requested += 1
            if not bridge.request_rerun(sid, frags) and alive:
                self.drop_session(sid)

    # -- lock waiting ---------------------------------------------------------

    @contextmanager
    def unlock_signal(self, key: str) -> Iterator[threading.Event]:
        """An event set when any process releases the lock on ``key``.

        Registered before the acquire attempt, so a release that lands between
        a failed attempt and the wait is not missed.
        """
        event = threading.Event()
        with self._lock:
            self._unlock_waiters.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            with self._lock:
                waiters = self._unlock_waiters.get(key)
                if waiters is not None:
                    waiters.discard(event)
                    if not waiters:
                        del self._unlock_waiters[key]


def _merge(targets: dict[str, set[str] | None], sid: str, frags: set[str] | None) -> None:
    if sid not in targets:
        targets[sid] = None if frags is None else set(frags)
        return
    current = targets[sid]
    if current is None:
        return
    if frags is None:
        targets[sid] = None
    else:
        current.update(frags)


# ---------------------------------------------------------------------------
# The process-wide hub


_hub: Hub | None = None
_hub_lock = threading.Lock()
_overrides: dict[str, Any] = {}
_client_override: Any = None
_warned_embedded = False


def get_hub() -> Hub:
    """The process's hub, created on first use from the resolved configuration."""
    global _hub, _warned_embedded
    hub = _hub
    if hub is not None:
        return hub
    with _hub_lock:
        if _hub is None:
            settings = resolve(_overrides)
            if settings.embedded and _client_override is None and not _warned_embedded:
                _warned_embedded = True
                logger.warning(
                    "streamlit_redis_state: no Redis configured (%s is unset); the state "
                    "lives in this process only. Set it to share state across replicas.",
                    "STREAMLIT_REDIS_STATE_URL",
                )
            _hub = Hub(settings, _client_override)
            logger.info(
                "streamlit_redis_state: using %s, namespace %r (configured by %s)",
                settings.redacted_url(),
                settings.namespace,
                settings.source,
            )
        return _hub


def reconfigure(overrides: dict[str, Any], client: Any = None) -> None:
    """Replace the configuration; the next use builds a new hub from it."""
    global _hub, _overrides, _client_override
    with _hub_lock:
        if overrides == _overrides and client is _client_override:
            return  # the same call on every script run must not reconnect
        resolve(overrides)  # validate now, so a bad call fails where it is made
        old, _hub = _hub, None
        _overrides = dict(overrides)
        _client_override = client
    if old is not None:
        old.close()
