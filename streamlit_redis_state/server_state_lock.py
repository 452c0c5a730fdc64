"""``server_state_lock[key]``: a lock that excludes every thread of every replica.

Each key's lock is a lease in Redis with local queueing in front (see
:mod:`.engine.locks` for how it is built and what it promises).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType

from .base.errors import InvalidKey, LockLost, LockTimeout
from .base.keys import check_key
from .engine.hub import Hub
from .engine.locks import KeyLock
from .engine.process import get_hub, held_lock

logger = logging.getLogger(__name__)


class StateLock:
    """The lock on one key; what ``server_state_lock[key]`` returns.

    Use it as a context manager, or call :meth:`acquire` and :meth:`release`
    like a ``threading.RLock``.
    """

    def __init__(
        self, key: str, timeout: float | None = None, hub: Callable[[], Hub] = get_hub
    ) -> None:
        self.key = check_key(key)
        self._timeout = timeout
        self._hub = hub
        #: The lock this object took: released there even if configure()
        #: replaced the hub meanwhile.
        self._taken: KeyLock | None = None

    def _lock(self) -> KeyLock | None:
        """The key's lock object: held by this thread here, or in a hub a
        configure() replaced since, or by another thread (a release from a
        callback's thread); ``None`` if the process has none (not held)."""
        if self._taken is not None:
            return self._taken
        locks = self._hub().locks
        return locks.held_by_caller(self.key) or held_lock(self.key) or locks.find(self.key)

    def _wait(self) -> float:
        return self._timeout if self._timeout is not None else self._hub().settings.lock_timeout

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock; returns ``False`` if it could not be had in time.

        ``timeout=-1`` means the configured ``lock_timeout`` (never forever).
        """
        if not blocking:
            timeout = 0
        elif timeout < 0:
            timeout = self._wait()
        lock = self._hub().locks.acquire(self.key, timeout)
        if lock is None:
            return False
        self._taken = lock
        return True

    def release(self) -> None:
        lock = self._lock()
        if lock is None:
            raise RuntimeError(f"release of server_state_lock[{self.key!r}], which is not held")
        if lock.count <= 1:
            self._taken = None
        lock.release()

    def ensure_held(self) -> None:
        """Raise :class:`LockLost` if the lease was lost; long bodies should call it."""
        lock = self._lock()
        if lock is None:
            raise LockLost(f"server_state_lock[{self.key!r}] is not held")
        lock.ensure_held()

    def __enter__(self) -> StateLock:
        if not self.acquire():
            raise LockTimeout(
                f"could not acquire server_state_lock[{self.key!r}] within {self._wait():g}s "
                "(another session holds it; raise lock_timeout with configure())"
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.release()
        except LockLost:
            if exc_type is None:
                raise
            logger.warning("server_state_lock[%r] was lost; the body's exception wins", self.key)

    def __repr__(self) -> str:
        return f"server_state_lock[{self.key!r}]"


class ServerStateLock(Mapping[str, StateLock]):
    """``server_state_lock``: ``server_state_lock[key]`` (or ``.key``) is the lock of that key.

    ``server_state_lock.get(key, timeout=5)`` gives a lock that waits 5 s. As
    in the anchor, the mapping holds the keys that are known: ``in``, ``len``
    and iteration see every key that holds a value or whose lock is held,
    and every key this process has read, written or locked.
    """

    def __init__(self, hub: Callable[[], Hub] = get_hub) -> None:
        self._hub = hub

    def __getitem__(self, key: str) -> StateLock:
        return StateLock(key, hub=self._hub)

    def __getattr__(self, name: str) -> StateLock:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # copy, pickle and friends probe these
        return StateLock(name, hub=self._hub)

    def get(self, key: str, default: object = None, *, timeout: float | None = None) -> StateLock:  # type: ignore[override]
        return StateLock(key, timeout=timeout, hub=self._hub)

    def __contains__(self, key: object) -> bool:
        try:
            key = check_key(key)
        except (TypeError, InvalidKey):
            return False
        hub = self._hub()
        return key in hub.known_keys() or hub.store.exists(key)

    def _keys(self) -> list[str]:
        hub = self._hub()
        return sorted(set(hub.store.keys()) | hub.known_keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __repr__(self) -> str:
        return "server_state_lock"


server_state_lock = ServerStateLock()
