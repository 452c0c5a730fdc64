"""The per-process hub: joins the store, the listener, the cache, subscriptions and reruns.

A write goes to the store (one script: compare, store, version, publish).
Every process's listener hears the notification and hands it to its hub,
which invalidates the cache and asks the bridge to rerun the sessions that
show an older version of the key. A read subscribes the calling session and
is served from the cache when it can be trusted. docs/internals.md draws the
path.

Reruns follow three rules (see :mod:`.subscriptions`):

* a change reruns every part of every page that shows an older version;
* the session that made the change reruns only what it drew before the
  change (or everything, when the change came from a worker thread);
* every change carries the depth of the chain of changes that led to it
  (a person's action starts one). The change that passes :data:`MAX_CHAIN`
  still reruns the other pages, so readers show the last value, but not its
  writer; a change made by a run it caused reruns nobody. Two scripts that
  write at their top level cannot rerun each other forever.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

from ..base.config import Settings
from ..base.errors import LockTimeout, NotReplicated, ServerStateError, StateUnavailable
from ..base.keys import presence_group
from ..base.version import __version__
from ..edges.bridge import Bridge, ScriptPlace, StreamlitBridge
from ..edges.listener import LinkDead, Listener
from ..edges.notification import Notification, Outcome
from ..edges.store import RedisStore, Snapshot, Writer, WriteResult
from .cache import ProcessCache
from .locks import LockManager
from .members import PresenceManager
from .stats import Stats
from .subscriptions import Reruns, Subscriptions
from .watches import Watch, Watches

logger = logging.getLogger(__name__)

#: Depth of nested ``no_rerun`` blocks in the current context.
quiet_depth: contextvars.ContextVar[int] = contextvars.ContextVar(
    "streamlit_redis_state_quiet", default=0
)

#: The longest chain of change -> rerun -> change that runs on. A person's
#: action starts a chain; a script that rewrites at its top level a key it
#: reads there runs at most MAX_CHAIN + 1 times per action.
MAX_CHAIN = 3
#: Seconds between two warnings about stopped chains on the same key.
_CHAIN_WARNING_EVERY = 60.0


def _draws(place: ScriptPlace) -> bool:
    """Whether what the caller reads is on the page its tab will show.

    Not a widget callback (it runs before the script body), and not a run
    Streamlit has replaced (fastReruns): that run goes on until its next
    ``st.*`` call, but its output is dropped, and recording what it "shows"
    would overwrite what the replacing run drew, so a later change would
    find nothing stale and leave the tab showing an old value.
    """
    return place.drawing and not place.superseded


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
        self.watches = Watches()
        self.listener = Listener(self.store.subscribe, self, settings, clock)
        self.cache = ProcessCache(self._generation, self.stats, settings.cache_bytes)
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
        self._clock = clock
        self._chain_warned: dict[str, float] = {}
        self._server_id: str | None = None
        self._first_sync = True
        self._may_evict = False
        self._evicted: int | None = None
        self._started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        #: The sequence Redis had at the last health check, when the listener
        #: had not heard of it yet (else None).
        self._ahead: int | None = None
        self.store.on_unavailable = self._note_failure
        self.bridge.set_release_callback(self.drop_session)

    def start(self) -> None:
        """Start the listener, the lock renewer and the presence heartbeat."""
        self.bridge.attach_logging(__name__.split(".")[0])
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

    # -- sessions -----------------------------------------------------------

    def _place(self) -> ScriptPlace | None:
        """Where the caller runs, unless in a session that is gone (a closed tab's late run)."""
        place = self.bridge.current_place()
        if place is None or self.subscriptions.is_gone(place.session_id):
            return None
        return place

    def _reader(self) -> ScriptPlace | None:
        """The place a read subscribes, if the caller draws the page the tab will show."""
        place = self._place()
        return place if place is not None and _draws(place) else None

    def drop_session(self, session_id: str) -> None:
        """Forget a session: its tab disconnected, or it was found gone.

        Unsubscribed first, so the presence change it leaves behind cannot
        rerun it (and a rerun would join it again).
        """
        self.subscriptions.drop(session_id)
        self.members.drop_session(session_id)

    def join(self, group: str, name: str) -> None:
        """Join the calling session to a presence group (a closed tab's late run joins nothing)."""
        place = self.bridge.current_place()
        if place is None:
            raise ServerStateError(
                "presence(group, name=...) joins the calling session, so it "
                "must be called from a Streamlit script run"
            )
        if not self.subscriptions.is_gone(place.session_id):
            self.members.join(group, name, place.session_id)

    def leave(self, group: str) -> None:
        """Take the calling session out of a presence group now."""
        place = self.bridge.current_place()
        if place is not None:
            self.members.leave(group, place.session_id)

    def watch(self, keys: frozenset[str] | None, timeout: float | None = None) -> Watch:
        """A :class:`Watch` of ``keys`` (``None``: every key), reporting changes from now on."""
        watch = Watch(keys, self.watches.remove, timeout)
        self.watches.add(watch)  # first, so no change falls between the two steps
        if keys is None:
            versions = self.store.all_versions()
        else:
            versions = self.store.sync_state(sorted(keys))[2]
        watch.baseline(versions)
        return watch

    def subscribers(self, key: str) -> dict[str, set[str] | None]:
        return self.subscriptions.older_than(key, 2**63).as_dict()

    def known_keys(self) -> set[str]:
        """State keys this process has read, written or locked (presence groups aside)."""
        keys = set(self.subscriptions.keys()) | set(self.cache.known_keys())
        keys.update(self.locks.keys())
        return {k for k in keys if presence_group(k) is None}

    def session_count(self) -> int:
        return self.subscriptions.session_count()

    def _shown_groups(self) -> set[str]:
        groups = (presence_group(k) for k in self.subscriptions.keys())
        return {g for g in groups if g is not None}

    def sweep(self) -> None:
        """Drop subscribed sessions the runtime no longer has (a missed disconnect)."""
        if not self.bridge.runtime_exists():
            return
        for sid in self.subscriptions.sessions():
            if not self.bridge.session_active(sid):
                self.drop_session(sid)

    # -- reads --------------------------------------------------------------

    def read(
        self,
        key: str,
        *,
        subscribe: bool = True,
        fetch: Callable[[], Snapshot] | None = None,
    ) -> Snapshot:
        """A key's snapshot, from the cache when it can be trusted; subscribes the caller.

        ``fetch`` reads something other than a plain value (a presence group)
        that is versioned and notified like one.
        """
        place = self._reader() if subscribe else None
        if place is not None:
            # Subscribed before reading, so a change landing meanwhile is not missed.
            self.subscriptions.add(key, place)
        snap = self._read(key, fetch)
        if place is not None:
            self.subscriptions.add(key, place, snap.version)
            self.bridge.watch_disconnect(place.session_id)
        return snap

    def _read(self, key: str, fetch: Callable[[], Snapshot] | None) -> Snapshot:
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

        def once() -> Snapshot:
            hit = self.cache.get(key)
            return hit if hit is not None else self._fetch(key, fetch)

        try:
            return self.cache.fetch_once(key, once, self.settings.call_bound)
        except StateUnavailable:
            # The store notes the failure for the thread whose fetch failed;
            # a session that waited on that fetch (or gave up waiting) shows
            # the same error and must be rerun with it when Redis is back.
            self._note_failure()
            raise

    def _fetch(self, key: str, fetch: Callable[[], Snapshot] | None = None) -> Snapshot:
        generation = self._generation()
        with self.cache.fetching((key,)):
            base = self.cache.take_base(key)
            if base is not None and fetch is None:
                tail = self.store.read_tail(key, base.count)
                if (
                    0 < tail.list_base <= base.version  # the same list, not one made since
                    and tail.epoch == base.epoch
                    and tail.length == base.count + len(tail.items)
                ):
                    snap = base.extended(tail.items, tail.version, key)
                    self.stats.redis_reads += 1
                    self.cache.put(key, snap, generation)
                    return snap
            snap = fetch() if fetch is not None else self.store.read(key)
            self.stats.redis_reads += 1
            self.cache.put(key, snap, generation)
            return snap

    def read_last(self, key: str, n: int, *, subscribe: bool = True) -> Snapshot:
        """The last ``n`` items of a list key (and its length), subscribing like a read.

        Cached as a view of the key: O(n) to fetch and to keep, however long
        the list, and dropped with the key's next change.
        """
        place = self._reader() if subscribe else None
        if place is not None:
            self.subscriptions.add(key, place)
        view = f"{key}\x00last:{n}"
        snap = self.cache.get(view)
        if snap is None and n == 0:
            snap = self.cache.any_view(key)  # the length, from a tail read already
        if snap is None:

            def once() -> Snapshot:
                hit = self.cache.get(view)
                if hit is not None:
                    return hit
                generation = self._generation()
                with self.cache.fetching((key,)):
                    fetched = self.store.read_last(key, n)
                    self.stats.redis_reads += 1
                    self.cache.put(view, fetched, generation, view_of=key)
                return fetched

            # N sessions drawing the same pane after a change: one read.
            snap = self.cache.fetch_once(view, once, self.settings.call_bound, versioned=key)
        if place is not None:
            self.subscriptions.add(key, place, snap.version)
            self.bridge.watch_disconnect(place.session_id)
        return snap

    def read_many(self, keys: list[str], *, subscribe: bool = True) -> dict[str, Snapshot]:
        place = self._reader() if subscribe else None
        if place is not None:
            for key in keys:
                self.subscriptions.add(key, place)
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
            with self.cache.fetching(missing):
                fetched = self.store.read_many(missing)
                self.stats.redis_reads += 1
                for key, snap in fetched.items():
                    self.cache.put(key, snap, generation)
            out.update(fetched)
        if place is not None:
            for key, snap in out.items():
                self.subscriptions.add(key, place, snap.version)
            self.bridge.watch_disconnect(place.session_id)
        return out

    # -- writes -------------------------------------------------------------

    def set(self, key: str, blob: bytes, ttl_ms: int = 0) -> WriteResult:
        writer, place, generation = self._writer(key)
        result = self.store.set(key, blob, writer, ttl_ms)
        snap = Snapshot(blob, result.version, result.epoch)
        return self._wrote(key, result, writer, place, generation, snap)

    def expire(self, key: str, ttl_ms: int) -> bool:
        """Give ``key`` a lifetime (0: none). Once it ends, the next tick deletes it for all."""
        return self.store.expire(key, ttl_ms)

    def set_default(self, key: str, blob: bytes) -> WriteResult:
        """Store ``blob`` unless the key holds a value; ``old`` is the value it held.

        The caller is handed the value stored (``setdefault``): it shows that.
        """
        writer, place, generation = self._writer(key)
        result = self.store.set_default(key, blob, writer)
        if place is not None and _draws(place):
            self.subscriptions.add(key, place, result.version, replace=True)
        snap = Snapshot(blob, result.version, result.epoch) if result.changed else None
        return self._wrote(key, result, writer, place, generation, snap)

    def delete(self, key: str, *, subscribe: bool = False) -> WriteResult:
        """Delete ``key``; with ``subscribe``, the caller shows it gone (``pop``)."""
        writer, place, generation = self._writer(key)
        result = self.store.delete(key, writer)
        if subscribe and place is not None and _draws(place):
            self.subscriptions.add(key, place, result.version)
        snap = Snapshot(None, result.version, result.epoch)
        return self._wrote(key, result, writer, place, generation, snap)

    def touch(self, key: str) -> WriteResult:
        """Rerun every session showing ``key``, the caller included."""
        writer, place, generation = self._writer(key, fenced=False)
        result = self.store.touch(key, writer)
        return self._wrote(key, result, writer, place, generation, None, force=True)

    def append(self, key: str, items: list[bytes], cap: int) -> WriteResult:
        """Push ``items``, waiting while another holder has the key's lock (see append.lua)."""
        writer, place, generation = self._writer(key)
        before = self.cache.list_copy(key)
        result = self._unlocked(key, lambda: self.store.append(key, items, cap, writer))
        snap = None
        if (
            before is not None
            and before.bodies is not None
            and before.version == result.version - 1
            and before.count + len(items) == result.length
        ):
            # Ours was the only change since the cached list: extend it locally.
            snap = before.extended(items, result.version, key)
        return self._wrote(key, result, writer, place, generation, snap)

    def convert(self, key: str, expected: bytes, items: list[bytes], cap: int) -> WriteResult:
        writer, place, generation = self._writer(key)
        result = self._unlocked(key, lambda: self.store.convert(key, expected, items, cap, writer))
        return self._wrote(key, result, writer, place, generation, None)

    def _unlocked(self, key: str, call: Callable[[], WriteResult]) -> WriteResult:
        """``call()`` again for as long as it meets another holder's lock, up to lock_timeout.

        An append does not take the key's lock (that would cost round trips on
        every message); it only waits while someone holds it, so a locked
        read-modify-write of the same list (``edit``) never loses it.
        """
        deadline = self.locks.clock() + self.settings.lock_timeout
        while True:
            with self.locks.unlock_signal(key) as released:
                result = call()
                if result.outcome is not Outcome.LOCKED:
                    return result
                if not self.locks.wait_for_release(released, result.length / 1000, deadline):
                    raise LockTimeout(
                        f"could not append to {key!r} within {self.settings.lock_timeout:g}s: "
                        f"server_state_lock[{key!r}] stayed held"
                    )

    def _writer(
        self, key: str, *, fenced: bool = True
    ) -> tuple[Writer, ScriptPlace | None, int | None]:
        """Who writes, how deep in a chain, whether quietly, and the fence.

        The one place every write passes. A write made while this process
        holds the key's lock carries the lock's token, and the script refuses
        it if the lease was lost meanwhile. A write past the longest chain is
        made quiet: stored and seen by every cache, rerunning nobody.
        """
        place = self._place()
        # A run a change caused has that change's depth; a person's run (or a
        # worker thread with the session's context) starts a new chain.
        chain = place.chain if place is not None and place.script_thread else 0
        depth = 1 + chain
        quiet = quiet_depth.get() > 0
        if depth > MAX_CHAIN and not quiet:
            self._warn_chain(key)
            quiet = depth > MAX_CHAIN + 1  # made by a run the last change caused
        origin = f"{self.process_id}:{place.session_id if place else ''}"
        token = self.locks.token_for(key) if fenced else ""
        writer = Writer(origin=origin, quiet=quiet, token=token, depth=depth)
        logger.debug("write %r: depth %d (run chain %d), quiet %s", key, depth, chain, quiet)
        return writer, place, self._generation()

    def _warn_chain(self, key: str) -> None:
        now = self._clock()
        if now - self._chain_warned.get(key, -_CHAIN_WARNING_EVERY) < _CHAIN_WARNING_EVERY:
            return
        self._chain_warned[key] = now
        logger.warning(
            "server_state[%r]: stopped a chain of %d changes that each reran a session that "
            "changed it again (a script writing at its top level a key it also reads?); "
            "the change is stored and shown, but does not rerun its writer",
            key,
            MAX_CHAIN + 1,
        )

    def _wrote(
        self,
        key: str,
        result: WriteResult,
        writer: Writer,
        place: ScriptPlace | None,
        generation: int | None,
        snap: Snapshot | None,
        *,
        force: bool = False,
    ) -> WriteResult:
        """After a change: the cache learns it, and the writer's own page reruns if stale.

        With ``wait_replicas``, a change the replicas did not confirm in time
        raises :class:`NotReplicated` once all of that is done: it is stored.
        """
        if not result.changed:
            return result
        if snap is not None:
            self.cache.put(key, snap, generation)
            if snap.blob is None and not self.subscriptions.shows(key):
                # Deleted, and no page here shows it: nothing to remember, so
                # a process that writes and deletes many keys stays the same size.
                self.cache.forget(key)
        else:
            self.changed_here(key, result.version)
        if place is not None and not writer.quiet and writer.depth <= MAX_CHAIN:
            place = self._replaced_meanwhile(place)
            stale = self.subscriptions.stale_for_writer(key, result.version, place, force)
            self._rerun(stale, writer.depth)
        wanted = self.settings.wait_replicas
        if wanted and (result.replicas or 0) < wanted:
            raise NotReplicated(
                f"the change to {key!r} is stored, but only {result.replicas} of "
                f"{wanted} replicas confirmed it within {self.settings.wait_timeout:g}s; "
                "a failover now could lose it"
            )
        return result

    def _replaced_meanwhile(self, place: ScriptPlace) -> ScriptPlace:
        """``place``, marked superseded if Streamlit replaced its run during the write.

        Asked again once the cache holds the change: a run Streamlit starts
        from here on reads the new value, and one it started before (so
        after stopping this one) may have drawn the old value, which only a
        superseded writer reruns. ``place`` itself was taken before the write.
        """
        if place.superseded:
            return place
        now = self.bridge.current_place()
        if now is not None and now.superseded:
            return dataclasses.replace(place, superseded=True)
        return place

    def changed_here(self, key: str, version: int) -> None:
        """This process changed ``key`` (to ``version``) and has no snapshot of the result."""
        self.cache.note_version(key, version)

    # -- outages ------------------------------------------------------------

    def _note_failure(self) -> None:
        place = self._place()
        if place is not None:
            self.subscriptions.note_failure(place.session_id)

    def on_healthy(self) -> bool:
        """Redis answered a ping: rerun the sessions that saw it fail, forget the gone.

        Also look at the namespace itself, since some losses send no
        notification: FLUSHDB, an eviction of the meta hash, a failover to a
        replica that missed changes. Returns ``True`` when Redis no longer
        holds what this process has seen, and a resync must tell.
        """
        self._rerun(self.subscriptions.take_failed(), None)
        self.sweep()
        self._check_evictions()
        lifetime = 3 * self.settings.ping_interval + self.settings.ping_deadline
        seq, epoch, _ = self.store.tick(
            self.process_id, json.dumps(self.status()), int(lifetime * 1000)
        )
        known, last = self.cache.epoch, self.listener.last_seq
        # A sequence of -1 is damaged, not gone back: the next change repairs it.
        went_back = last is not None and 0 <= seq < last
        lost = (known not in (None, "") and epoch != known) or went_back
        self._check_deaf(seq, last, lost)
        return lost

    def _check_deaf(self, seq: int, last: int | None, lost: bool) -> None:
        """Raise when the subscription misses notifications that Redis published.

        Every change publishes in the script that makes it, and a ping's answer
        comes after every notification published before the ping. So a
        sequence Redis had at one health check and the listener has still not
        heard of at the next one means the subscription listens where the
        notifications do not go (a Redis Cluster node that lost the slot, a
        demoted master): the listener reconnects, to the right server, and
        resyncs. A gap seen in the stream itself costs only a resync.
        """
        ahead, self._ahead = self._ahead, None
        if lost or last is None:
            return
        if ahead is not None and last < ahead:
            raise LinkDead(
                f"the subscription missed changes (Redis was at {ahead}, "
                f"the listener is at {last}): it listens to the wrong server"
            )
        if seq > last:
            self._ahead = seq

    # -- the listener's sink ------------------------------------------------

    def on_disconnect(self) -> None:
        self.cache.clear()

    def on_unlock(self, key: str) -> None:
        self.locks.on_unlock(key)

    def on_change(self, notification: Notification) -> bool:
        """Invalidate and rerun; ``False`` when the notification does not fit what is known."""
        if not self.cache.apply(notification):
            return False
        if presence_group(notification.key) is None:
            self.watches.changed(notification.key, notification.version, notification.quiet)
        if notification.quiet:
            return True
        origin_pid, _, origin_sid = notification.origin.partition(":")
        mine = origin_sid if origin_pid == self.process_id else ""
        stale = self.subscriptions.older_than(notification.key, notification.version, exclude=mine)
        self._rerun(stale, notification.depth)
        return True

    def resync(self) -> int:
        """Compare versions with Redis and rerun whatever shows another version.

        A sequence lower than one already seen means Redis lost changes it had
        acknowledged (a failover to a replica that had not received them):
        treated like a lost epoch, since versions may now be reused.
        """
        watched, every = self.watches.watched_keys()
        keys = sorted(set(self.subscriptions.keys()) | set(self.cache.known_keys()) | watched)
        seq, epoch, versions = self.store.sync_state(keys)
        self.stats.resyncs += 1
        if every:
            versions = {**self.store.all_versions(), **versions}
        for watch in self.watches.all():
            watch.resynced(versions)
        last = self.listener.last_seq
        identity = self._check_server()
        if last is not None and 0 <= seq < last:  # -1: damaged, see RedisStore.sync_state
            logger.warning(
                "Redis's sequence went back (%d -> %d): changes it acknowledged are lost",
                last,
                seq,
            )
            previous: str | None = self.cache.reset(epoch) or "?"
        elif identity is not None:
            logger.warning(
                "Redis's replication id changed (%s): a failover may have lost changes; "
                "rerunning every session on what Redis holds now",
                identity,
            )
            previous = self.cache.reset(epoch) or "?"
        else:
            previous, _changed = self.cache.resync(epoch, versions)
        if previous is not None:
            self._lost(previous, epoch)
        else:
            stale = self.subscriptions.differing(versions)
            stale.update(self.subscriptions.take_failed())
            self._rerun(stale, None)
        return seq

    def status(self) -> dict[str, object]:
        """What this process says about itself in its status record (the CLI's ``status``)."""
        return {
            "id": self.process_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "kind": "streamlit" if self.bridge.runtime_exists() else "worker",
            "started": self._started,
            "version": __version__,
            "sessions": self.subscriptions.session_count(),
            "subscriptions": len(self.subscriptions.keys()),
            "cache_entries": len(self.cache),
            "cache_bytes": self.cache.size,
            "listener": {
                "synced": self.listener.synced,
                "sequence": self.listener.last_seq,
                "resyncs": self.stats.resyncs,
            },
            "reruns": self.stats.reruns_requested,
        }

    def _check_evictions(self) -> None:
        """Under an allkeys-* policy, when Redis evicted anything, look again at what is cached.

        Reading a key Redis no longer holds deletes it for everyone (see
        read.lua), so every page showing it reruns; one pipelined read for all.
        """
        if not self._may_evict:
            return
        evicted = self.store.evicted_count()
        if evicted is None:
            self._may_evict = False  # INFO not allowed: reads alone will notice
            return
        before, self._evicted = self._evicted, evicted
        if before is not None and evicted > before:
            keys = self.cache.keys()
            self.cache.clear()
            self.store.read_many(keys)

    def _check_server(self) -> str | None:
        """On each resync: a change of the server's replication id ('old -> new'), else None.

        The first time, also warn when Redis may evict the namespace's keys.
        """
        identity = self.store.replication_id()
        known, self._server_id = self._server_id, identity or self._server_id
        if self._first_sync:
            self._first_sync = False
            policy = self.store.eviction_policy()
            if policy is not None and policy.startswith("allkeys-"):
                self._may_evict = True
                # The count to compare with from now on: evictions between this
                # sync and the first ping are evictions too.
                self._evicted = self.store.evicted_count()
                logger.warning(
                    "Redis's maxmemory-policy is %s: it may evict this namespace's keys. "
                    "Evicted keys read as deleted; use noeviction or volatile-* for shared state",
                    policy,
                )
        if known is not None and identity is not None and identity != known:
            if self.store.slot_moved(known):
                logger.info("the namespace's slot moved to another cluster node: resyncing")
                return None
            return f"{known} -> {identity}"
        return None

    def _lost(self, previous: str, epoch: str) -> None:
        """Redis lost its data: everything cached was forgotten; rerun every subscriber."""
        logger.warning(
            "the state in Redis was reset (epoch %s -> %s); rerunning every subscribed session",
            previous,
            epoch or "empty",
        )
        self.subscriptions.forget_versions()
        targets = self.subscriptions.everyone()
        targets.update(self.subscriptions.take_failed())
        self._rerun(targets, None)

    def _rerun(self, targets: Reruns, depth: int | None) -> None:
        """Ask for reruns; ``depth`` is the chain of the change that asks (``None``: no change)."""
        if not len(targets):
            return
        alive = self.bridge.runtime_exists()
        for sid, frags in targets.items():
            self.stats.reruns_requested += 1
            if not self.bridge.request_rerun(sid, frags, depth) and alive:
                self.drop_session(sid)
