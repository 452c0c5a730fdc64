"""The process's key locks: what ``server_state_lock[key]`` stands on.

What they promise, and why they are built this way (compare redis-py's
``redis.lock.Lock``, whose defaults are wrong for this use; docs/internals.md,
"Redis"):

* **Leases, renewed while held.** A crashed or killed holder cannot block a
  key forever: its lease (``lock_lease``, default 15 s) runs out. While the
  holder lives, one renewer thread per process extends every held lease every
  third of the lease.
* **Loss is reported, never hidden.** If a renewal finds the lease gone (a
  long pause, a Redis outage longer than the lease), the lock is marked lost:
  leaving the ``with`` block raises :class:`LockLost` (unless the body raised;
  its exception wins) and :meth:`StateLock.ensure_held` raises at once.
* **Writes under the lock are fenced.** A write to ``key`` made while this
  process holds ``server_state_lock[key]`` carries the lock's token, and the
  write script refuses it unless the token still owns the lock; a holder whose
  lease expired cannot overwrite what the next holder wrote.
* **Bounded, efficient waiting.** Waiting raises :class:`LockTimeout` after
  ``lock_timeout`` (default 30 s) instead of running the body unlocked.
  Threads of one process queue on a local lock and never poll Redis; the
  process waits on the release notification (with the lease's remaining time
  as a safety net), not on a 0.1 s spin.
* **Re-entrant** within one thread, like the anchor library's ``RLock``; and,
  unlike an ``RLock``, it may be released by another thread (a Streamlit
  callback runs on a different thread from the run that took the lock).
* It can be taken for a key that does not exist yet.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..base.config import Settings
from ..base.errors import LockLost, StateUnavailable
from ..edges.bridge import Bridge
from ..edges.store import RedisStore

logger = logging.getLogger(__name__)

#: How long a waiter blocks before it checks whether Streamlit stopped its run.
_SLICE = 0.05
#: Bounds on handing the Redis lock from thread to thread within one process,
#: so that other processes are not starved.
_MAX_HANDOFFS = 64
_MAX_HOLD = 1.0
#: How many names of keys locked here :meth:`LockManager.keys` remembers.
MAX_REMEMBERED = 10_000


class KeyLock:
    """The process's single lock object for one key.

    Two levels: a local ``threading.Lock`` orders the threads of this process,
    and the Redis lock (``token``) excludes other processes. When a holder
    releases while other threads of this process wait, the Redis lock is
    handed over locally instead of being released and re-taken: a burst of
    sessions in one process (every rerun of an app that locks at its top)
    then costs no Redis round trip per holder. Handoffs are bounded (count
    and time) so other processes still get their turn.
    """

    def __init__(self, manager: LockManager, key: str) -> None:
        self._manager = manager
        self.key = key
        self._local = threading.Lock()  # any thread may release a plain Lock
        self._meta = threading.Lock()
        self.owner: int | None = None
        self.count = 0
        #: The Redis token while this process holds the Redis lock ("" if not).
        self.token = ""
        self.lost = False
        self.renewed_at = 0.0
        self.remote_since = 0.0
        self.handoffs = 0
        self.waiters = 0
        #: Callers between looking the object up and being counted as its
        #: waiter or holder (changed under the manager's lock): while any,
        #: the manager keeps the object (LockManager.forget_if_idle).
        self.pins = 0
        #: Whether the key was read from Redis during this Redis hold; until
        #: then the cache may predate the previous holder's write.
        self.validated = False

    def acquire(self, timeout: float) -> bool:
        me = threading.get_ident()
        with self._meta:
            if self.count and self.owner == me:
                self.count += 1
                return True
            self.waiters += 1
        clock = self._manager.clock
        deadline = clock() + timeout
        got = False
        try:
            # Wait in short slices, giving Streamlit a chance to stop this run
            # in between (see bridge.yield_point): a stopped run must not keep
            # its place in the queue.
            while not (got := self._local.acquire(timeout=min(_SLICE, max(deadline - clock(), 0)))):
                if clock() >= deadline:
                    break
                self._manager.bridge.yield_point()
        finally:
            with self._meta:
                self.waiters -= 1
            if not got:
                self.release_if_idle()
        if not got:
            return False
        try:
            with self._meta:
                reuse = bool(self.token) and not self.lost
                if not reuse:
                    self.token = ""
            if not reuse:
                token = uuid.uuid4().hex
                if not self._acquire_remote(token, deadline):
                    self._local.release()
                    return False
                now = self._manager.clock()
                with self._meta:
                    self.token, self.lost, self.validated = token, False, False
                    self.renewed_at = self.remote_since = now
                    self.handoffs = 0
                self._manager.held(self)
        except BaseException:
            self._local.release()
            raise
        with self._meta:
            self.owner, self.count = me, 1
        return True

    def _acquire_remote(self, token: str, deadline: float) -> bool:
        manager = self._manager
        store = manager.store
        lease_ms = int(manager.settings.lock_lease * 1000)
        while True:
            with manager.unlock_signal(self.key) as released:
                if store.lock_acquire(self.key, token, lease_ms):
                    return True
                remaining = deadline - manager.clock()
                if remaining <= 0:
                    return False
                # The release notification wakes us; the remaining lease is
                # the latest a crashed holder's lock can go away; the cap
                # covers a notification lost while the listener reconnects.
                ttl = store.lock_ttl_ms(self.key) / 1000
                wait = min(remaining, max(ttl, 0.005) if ttl > 0 else 0.005, 0.5)
                if not manager.synced():
                    wait = min(wait, 0.05)
                released.wait(min(wait, _SLICE))
                manager.bridge.yield_point()  # may raise; acquire() releases the local lock

    def release(self) -> None:
        with self._meta:
            if self.count == 0:
                raise RuntimeError(f"release of server_state_lock[{self.key!r}], which is not held")
            self.count -= 1
            if self.count:
                return
            self.owner = None
            lost = self.lost
            max_hold = min(_MAX_HOLD, self._manager.settings.lock_lease / 3)
            handoff = (
                not lost
                and self.waiters > 0
                and self.handoffs < _MAX_HANDOFFS
                and self._manager.clock() - self.remote_since < max_hold
            )
            if handoff:
                self.handoffs += 1
                token = ""
            else:
                token, self.token = self.token, ""
        if handoff:
            self._local.release()  # a waiting thread of ours takes over the Redis lock
            return
        self._manager.dropped(self)
        try:
            released = self._manager.store.lock_release(self.key, token)
        except StateUnavailable:
            # The lease will free the key on its own; we cannot tell whether
            # it was still ours.
            logger.warning("could not release server_state_lock[%r]: Redis unreachable", self.key)
            released = True
        finally:
            self._local.release()
            # This process's own waiters (an append waiting out the lock) need
            # not wait for the release notification's round trip.
            self._manager.on_unlock(self.key)
            self._manager.forget_if_idle(self)
        if lost or not released:
            raise LockLost(
                f"server_state_lock[{self.key!r}] was lost while held (its lease expired "
                "or could not be renewed); another holder may have run at the same time"
            )

    def ensure_held(self) -> None:
        """Raise :class:`LockLost` if this lock is not held, or its lease was lost."""
        if not self.count:
            raise LockLost(f"server_state_lock[{self.key!r}] is not held")
        lease = self._manager.settings.lock_lease
        if self.lost or self._manager.clock() - self.renewed_at > lease:
            self.lost = True
            raise LockLost(f"server_state_lock[{self.key!r}] was lost while held")

    def release_if_idle(self) -> None:
        """Give the Redis lock back if a handoff found nobody to take it."""
        if not self._local.acquire(blocking=False):
            return
        try:
            with self._meta:
                if self.count or self.waiters or not self.token:
                    return
                token, self.token = self.token, ""
            self._manager.dropped(self)
            try:
                self._manager.store.lock_release(self.key, token)
            except StateUnavailable:
                pass  # the lease frees it
        finally:
            self._local.release()
        self._manager.forget_if_idle(self)

    def renew(self, lease_ms: int) -> None:
        """Called by the renewer thread, for as long as this process holds the Redis lock."""
        with self._meta:
            if not self.token or self.lost:
                return
            token = self.token
            idle = not self.count and not self.waiters
        if idle:
            self.release_if_idle()
            return
        try:
            ok = self._manager.store.lock_extend(self.key, token, lease_ms)
        except StateUnavailable:
            ok = self._manager.clock() - self.renewed_at < lease_ms / 1000
            if not ok:
                logger.warning(
                    "server_state_lock[%r]: lease ran out while Redis was unreachable", self.key
                )
        with self._meta:
            if token != self.token:
                return
            if ok:
                self.renewed_at = self._manager.clock()
            else:
                self.lost = True


class LockManager:
    """Owns the process's key locks, their waiters and the one renewer thread.

    ``clock`` is injectable so tests drive leases and waits without sleeping;
    ``synced`` says whether release notifications are arriving (when they are
    not, waiters poll more often).
    """

    def __init__(
        self,
        store: RedisStore,
        settings: Settings,
        bridge: Bridge,
        synced: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings
        self.bridge = bridge
        self.synced = synced
        self.clock = clock
        self._locks: dict[str, KeyLock] = {}
        #: Keys locked here lately, newest last (``known_keys``): names only,
        #: since idle lock objects are forgotten, and bounded.
        self._used: OrderedDict[str, None] = OrderedDict()
        self._held: set[KeyLock] = set()
        self._lock = threading.Lock()
        self._unlock_waiters: dict[str, set[threading.Event]] = {}
        self._wake = threading.Event()
        self._on_idle: list[Callable[[], None]] = []
        self._closed = False
        self._thread: threading.Thread | None = None

    def get(self, key: str) -> KeyLock:
        """``key``'s lock object, made if missing (inspection and tests; take it with acquire)."""
        with self._lock:
            return self._get(key)

    def _get(self, key: str) -> KeyLock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = KeyLock(self, key)
        self._used[key] = None
        self._used.move_to_end(key)
        while len(self._used) > MAX_REMEMBERED:
            self._used.popitem(last=False)
        return lock

    def acquire(self, key: str, timeout: float) -> KeyLock | None:
        """Take ``key``'s lock within ``timeout`` s: the lock object taken, or ``None``.

        The object is pinned from the lookup until the acquire has counted
        the caller, so :meth:`forget_if_idle` never drops an object a thread
        is about to wait on: one key never has two objects in a process.
        """
        with self._lock:
            lock = self._get(key)
            lock.pins += 1
        got = False
        try:
            got = lock.acquire(timeout)
        finally:
            with self._lock:
                lock.pins -= 1
            if not got:  # timed out, or stopped by Streamlit (its exception goes on)
                self.forget_if_idle(lock)
        return lock if got else None

    def find(self, key: str) -> KeyLock | None:
        """``key``'s lock object if the process has one (nothing is made)."""
        with self._lock:
            return self._locks.get(key)

    def forget_if_idle(self, lock: KeyLock) -> None:
        """Drop the object of a lock nobody holds, waits for or is about to take.

        An app that locks a key per user or per item would otherwise keep one
        object per key ever locked (r14: 10,000 after 100,000 keys). The next
        acquire makes a new one; the key's name stays in :meth:`keys` a while.
        """
        with self._lock:
            if lock.pins or self._locks.get(lock.key) is not lock:
                return
            with lock._meta:
                if lock.count or lock.waiters or lock.token:
                    return
            del self._locks[lock.key]

    def keys(self) -> list[str]:
        """Keys whose lock this process has used lately (the newest ``MAX_REMEMBERED``)."""
        with self._lock:
            return list(self._used)

    def objects(self) -> int:
        """How many lock objects the process keeps (held, waited for, or not yet idle)."""
        with self._lock:
            return len(self._locks)

    def _held_here(self, key: str) -> KeyLock | None:
        """``key``'s lock if the calling thread holds it (a dict read: no lock on every call)."""
        lock = self._locks.get(key)
        if lock is None or not lock.count or lock.owner != threading.get_ident():
            return None
        return lock

    def must_read_fresh(self, key: str) -> bool:
        """Whether the holder's read of ``key`` must skip the cache (see KeyLock)."""
        lock = self._held_here(key)
        return lock is not None and not lock.validated

    def mark_fresh(self, key: str) -> None:
        lock = self._held_here(key)
        if lock is not None:
            lock.validated = True

    def waiting(self, key: str) -> int:
        """How many threads of this process wait for ``key``'s lock (queued or on Redis)."""
        with self._lock:
            lock = self._locks.get(key)
            remote = len(self._unlock_waiters.get(key, ()))
        return remote + (lock.waiters if lock is not None else 0)

    def token_for(self, key: str) -> str:
        """The fencing token for a write to ``key`` by the calling thread.

        Set only while this thread holds the key's lock: a write from another
        thread of the process is not the holder's, so it is neither fenced by
        the holder's lease nor let through the holder's lock.
        """
        lock = self._held_here(key)
        return lock.token if lock is not None else ""

    def held(self, lock: KeyLock) -> None:
        with self._lock:
            self._held.add(lock)

    def dropped(self, lock: KeyLock) -> None:
        with self._lock:
            self._held.discard(lock)
            idle = not self._held
            callbacks, self._on_idle = (self._on_idle, []) if idle else ([], self._on_idle)
        for callback in callbacks:
            callback()

    def held_count(self) -> int:
        """How many keys' Redis locks this process holds."""
        with self._lock:
            return len(self._held)

    def held_by_caller(self, key: str) -> KeyLock | None:
        """``key``'s lock if the calling thread holds it."""
        return self._held_here(key)

    def on_idle(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once no lock is held any more (now, if none is)."""
        with self._lock:
            if self._held:
                self._on_idle.append(callback)
                return
        callback()

    # -- release notifications ------------------------------------------------

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

    def wait_for_release(self, released: threading.Event, lease: float, deadline: float) -> bool:
        """Wait until ``released`` is set or ``lease`` seconds pass; ``False`` past ``deadline``.

        Waits in slices, offering Streamlit its stop checkpoint in between (a
        stopped run must not keep waiting). The lease bounds the wait when a
        release notification is lost.
        """
        end = min(deadline, self.clock() + max(lease, 0.005))
        while not released.is_set():
            remaining = end - self.clock()
            if remaining <= 0:
                break
            released.wait(min(remaining, _SLICE))
            self.bridge.yield_point()
        return self.clock() < deadline

    def on_unlock(self, key: str) -> None:
        """A release notification arrived: wake this process's waiters for ``key``."""
        with self._lock:
            waiters = list(self._unlock_waiters.get(key, ()))
        for event in waiters:
            event.set()

    # -- leases -----------------------------------------------------------------

    def start(self) -> None:
        """Start the renewer thread, which extends every held lease every third of it."""
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._renew_loop, name="streamlit-redis-state-locks", daemon=True
                )
                self._thread.start()

    def renew_all(self) -> None:
        """Extend every lease this process holds (or give back idle ones): one renewer round."""
        lease_ms = int(self.settings.lock_lease * 1000)
        with self._lock:
            held = list(self._held)
        for lock in held:
            try:
                lock.renew(lease_ms)
            except Exception:
                logger.exception("lock renewal failed")

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    def _renew_loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.settings.lock_lease / 3)
            if self._closed:
                return
            self.renew_all()
