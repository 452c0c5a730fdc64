"""The per-process hub: joins the store, the listener, the cache, subscriptions and reruns.

A write goes to the store (one script: compare, store, version, publish).
Every process's listener hears the notification and hands it to its hub,
which invalidates the cache and asks the bridge to rerun the sessions
subscribed to the key. A read subscribes the calling session and is served
from the cache when it can be trusted. docs/internals.md draws the path.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Callable

from ..base.config import Settings
from ..base.keys import presence_group
from ..edges.bridge import Bridge, StreamlitBridge
from ..edges.listener import Listener
from ..edges.notification import Notification
from ..edges.store import RedisStore, Snapshot, Writer, WriteResult
from .cache import ProcessCache
from .locks import LockManager
from .members import PresenceManager
from .stats import Stats
from .subscriptions import Reruns, Subscriptions

logger = logging.getLogger(__name__)

#: Depth of nested ``no_rerun`` blocks in the current context.
quiet_depth: contextvars.ContextVar[int] = contextvars.ContextVar(
    "streamlit_redis_state_quiet", default=0
)


class Hub:
    """See the module docstring. Threads start in :meth:`start`, never in the constructor."""

    def __init__(
        self,
        settings: Settings,
        client: object = None,
        bridge: Bridge | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.store = RedisStore(settings, client)  # type: ignore[arg-type]
        self.bridge: Bridge = bridge if bridge is not None else StreamlitBridge()
        self.process_id = uuid.uuid4().hex[:12]
        self.stats = Stats()
        self.subscriptions = Subscriptions()
        self.listener = Listener(self.store.subscribe, self, settings, clock)
        self.cache = ProcessCache(self._generation, self.stats)
        self.locks = LockManager(
            self.store, settings, self.bridge, lambda: self.listener.synced, clock
        )
        self.members = PresenceManager(
            self.store,
            settings,
            self.process_id,
            self.bridge,
            self.changed_here,
            self._shown_groups,
        )
        self.store.on_unavailable = self._note_failure
        self.bridge.set_release_callback(self.drop_session)

    def start(self) -> None:
        """Start the listener, the lock renewer and the presence heartbeat."""
        self.listener.start()
        self.locks.start()
        self.members.start()

    def close(self) -> None:
        self.listener.stop()
        self.members.close()
        self.locks.close()
        self.store.close()

    def _generation(self) -> int | None:
        return self.listener.generation if self.listener.synced else None

    # -- subscriptions ----------------------------------------------------

    def subscribe_current(self, key: str) -> None:
        """Subscribe the calling script's session (and fragment) to ``key``, if any."""
        place = self.bridge.current_place()
        if place is None:
            return
        self.subscriptions.add(key, place.session_id, place.fragment_id)
        self.bridge.watch_disconnect(place.session_id)

    def drop_session(self, session_id: str) -> None:
        """Forget a session: called when its tab disconnects or it is found gone."""
        self.members.drop_session(session_id)
        self.subscriptions.drop(session_id)

    def subscribers(self, key: str) -> dict[str, set[str] | None]:
        return self.subscriptions.of_key(key).as_dict()

    def session_count(self) -> int:
        return self.subscriptions.session_count()

    def _shown_groups(self) -> set[str]:
        groups = (presence_group(k) for k in self.subscriptions.keys())
        return {g for g in groups if g is not None}

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
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        with self.cache.flight(key):
            hit = self.cache.get(key)
            if hit is not None:
                return hit
            return self._fetch(key, fetch)

    def _fetch(self, key: str, fetch: Callable[[], Snapshot] | None = None) -> Snapshot:
        generation = self._generation()
        base = self.cache.take_base(key)
        if base is not None and fetch is None:
            tail = self.store.read_tail(key, base.count)
            if (
                0 < tail.list_base <= base.version  # the same list, not one made since
                and tail.epoch == base.epoch
                and tail.length == base.count + len(tail.items)
            ):
                snap = base.extended(tail.items, tail.version)
                self.stats.redis_reads += 1
                self.cache.put(key, snap, generation)
                return snap
        snap = fetch() if fetch is not None else self.store.read(key)
        self.stats.redis_reads += 1
        self.cache.put(key, snap, generation)
        return snap

    def read_many(self, keys: list[str], *, subscribe: bool = True) -> dict[str, Snapshot]:
        if subscribe:
            for key in keys:
                self.subscribe_current(key)
        out: dict[str, Snapshot] = {}
        missing: list[str] = []
        for key in keys:
            hit = self.cache.get(key)
            if hit is None:
                missing.append(key)
            else:
                out[key] = hit
        if missing:
            generation = self._generation()
            fetched = self.store.read_many(missing)
            self.stats.redis_reads += 1
            for key, snap in fetched.items():
                self.cache.put(key, snap, generation)
            out.update(fetched)
        return out

    # -- writes -------------------------------------------------------------

    def _origin(self) -> str:
        place = self.bridge.current_place()
        return f"{self.process_id}:{place.session_id if place else ''}"

    def set(self, key: str, blob: bytes) -> WriteResult:
        return self._wrote(key, self.store.set(key, blob, self._writer(key)), blob)

    def set_default(self, key: str, blob: bytes) -> WriteResult:
        return self._wrote(key, self.store.set_default(key, blob, self._writer(key)), blob)

    def delete(self, key: str) -> WriteResult:
        return self._wrote(key, self.store.delete(key, self._writer(key)), None)

    def touch(self, key: str) -> WriteResult:
        result = self.store.touch(key, self._writer(key, fenced=False))
        self.changed_here(key, result.version)
        return result

    def append(self, key: str, items: list[bytes], cap: int) -> WriteResult:
        generation = self._generation()
        before = self.cache.list_copy(key)
        result = self.store.append(key, items, cap, self._writer(key))
        if not result.changed:
            return result
        if (
            before is not None
            and before.bodies is not None
            and before.version == result.version - 1
            and before.count + len(items) == result.length
        ):
            # Ours was the only change since the cached list: extend it locally.
            self.cache.put(key, before.extended(items, result.version), generation)
        else:
            self.changed_here(key, result.version)
        return result

    def convert(self, key: str, expected: bytes, items: list[bytes]) -> WriteResult:
        result = self.store.convert(key, expected, items, self._writer(key))
        if result.changed:
            self.changed_here(key, result.version)
        return result

    def _writer(self, key: str, *, fenced: bool = True) -> Writer:
        """Who writes, whether quietly, and the fence: the one place every write passes.

        A write made while this process holds the key's lock carries the lock's
        token, and the script refuses it if the lease was lost meanwhile.
        """
        return Writer(
            origin=self._origin(),
            quiet=quiet_depth.get() > 0,
            token=self.locks.token_for(key) if fenced else "",
        )

    def _wrote(self, key: str, result: WriteResult, blob: bytes | None) -> WriteResult:
        """Read-your-writes: the cache learns a change this process made."""
        if result.changed:
            generation = self._generation()
            self.cache.put(key, Snapshot(blob, result.version, result.epoch), generation)
        return result

    def changed_here(self, key: str, version: int) -> None:
        """This process changed ``key`` (to ``version``) and has no snapshot of the result."""
        self.cache.note_version(key, version)

    # -- outages ------------------------------------------------------------

    def _note_failure(self) -> None:
        place = self.bridge.current_place()
        if place is not None:
            self.subscriptions.note_failure(place.session_id)

    def on_healthy(self) -> None:
        """Redis answered again: rerun the sessions that saw it fail."""
        self._rerun(self.subscriptions.take_failed())

    # -- the listener's sink ------------------------------------------------

    def on_disconnect(self) -> None:
        self.cache.clear()

    def on_unlock(self, key: str) -> None:
        self.locks.on_unlock(key)

    def on_change(self, notification: Notification) -> None:
        previous = self.cache.apply(notification)
        if previous is not None:
            self._lost(previous, notification.epoch)
            return
        if notification.quiet:
            return
        targets = self.subscriptions.of_key(notification.key)
        origin_pid, _, origin_sid = notification.origin.partition(":")
        if origin_pid == self.process_id and origin_sid:
            targets.discard(origin_sid)
        self._rerun(targets)

    def resync(self) -> int:
        """Compare versions with Redis and rerun the subscribers of whatever differs."""
        keys = sorted(set(self.subscriptions.keys()) | set(self.cache.known_keys()))
        seq, epoch, versions = self.store.sync_state(keys)
        self.stats.resyncs += 1
        previous, changed = self.cache.resync(epoch, versions)
        if previous is not None:
            self._lost(previous, epoch)
        else:
            targets = self.subscriptions.of_keys(changed)
            targets.update(self.subscriptions.take_failed())
            self._rerun(targets)
        return seq

    def _lost(self, previous: str, epoch: str) -> None:
        """Redis lost its data: everything cached was forgotten; rerun every subscriber."""
        logger.warning(
            "the state in Redis was reset (epoch %s -> %s); rerunning every subscribed session",
            previous,
            epoch or "empty",
        )
        targets = self.subscriptions.everyone()
        targets.update(self.subscriptions.take_failed())
        self._rerun(targets)

    def _rerun(self, targets: Reruns) -> None:
        if not len(targets):
            return
        alive = self.bridge.runtime_exists()
        for sid, frags in targets.items():
            self.stats.reruns_requested += 1
            if not self.bridge.request_rerun(sid, frags) and alive:
                self.drop_session(sid)
