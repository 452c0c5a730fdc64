"""``server_state``: the shared mapping, with ``st.session_state``'s manners.

Every read from a script run subscribes the session. Its manners are copied
from ``st.session_state`` and the anchor: a missing key raises
:class:`MissingKey`, both a ``KeyError`` and an ``AttributeError``, so
``except KeyError`` around ``server_state.x`` and ``hasattr`` both work.

Reads return a fresh copy decoded from the stored bytes: mutating it changes
nothing shared. ``server_state["l"].append(x)`` is a no-op for everyone else;
use :meth:`ServerState.edit` (or assign the new value under the key's lock).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, KeysView, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from .base import codec
from .base.errors import InvalidKey, MissingKey, ServerStateError
from .base.keys import check_key, missing_message
from .edges.notification import Outcome
from .engine.hub import Hub
from .engine.process import get_hub
from .engine.watches import Event, Watch
from .server_state_lock import StateLock

_MISSING: Any = object()


def _ttl_ms(seconds: float | None) -> int:
    """A lifetime in ms for the scripts (0: none); refuses what is not a positive number."""
    if seconds is None:
        return 0
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"a lifetime must be a positive number of seconds, got {seconds!r}")
    return max(1, round(seconds * 1000))


class ServerState(MutableMapping[str, Any]):
    """The state shared by every session of every replica. Use the ``server_state`` instance.

    ``hub`` gives the hub to use: the default one, or an ``st.connection``'s.
    """

    __slots__ = ("_hub",)
    _hub: Callable[[], Hub]

    def __init__(self, hub: Callable[[], Hub] = get_hub) -> None:
        object.__setattr__(self, "_hub", hub)

    # -- item access ----------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        key = check_key(key)
        snap = self._hub().read(key)
        if snap.blob is None:
            raise MissingKey(missing_message(key))
        return codec.decode(snap.blob, key=key)

    def __setitem__(self, key: str, value: Any) -> None:
        key = check_key(key)
        self._set_encoded(key, self._encode(key, value))

    def __delitem__(self, key: str) -> None:
        key = check_key(key)
        if not self._hub().delete(key).changed:
            raise MissingKey(missing_message(key))

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            key = check_key(key)
        except InvalidKey:
            return False
        return self._hub().read(key).blob is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._hub().store.keys())

    def __len__(self) -> int:
        return self._hub().store.count()

    # -- attribute access -------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # copy, pickle and friends probe these
        return self[name]  # a missing key raises MissingKey: a KeyError and an AttributeError

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(type(self), name):
            raise AttributeError(
                f"{name!r} is a method of server_state; use server_state[{name!r}] = ... instead"
            )
        self[name] = value

    def __delattr__(self, name: str) -> None:
        if hasattr(type(self), name):
            raise AttributeError(f"{name!r} is a method of server_state and cannot be deleted")
        del self[name]

    # -- mapping methods with atomic or batched implementations -------------

    def get(self, key: str, default: Any = None) -> Any:
        key = check_key(key)
        snap = self._hub().read(key)
        return default if snap.blob is None else codec.decode(snap.blob, key=key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Atomic across replicas: only one concurrent caller's default is stored."""
        key = check_key(key)
        hub = self._hub()
        snap = hub.read(key)
        if snap.blob is not None:
            return codec.decode(snap.blob, key=key)
        blob = self._encode(key, default)
        result = hub.set_default(key, blob)
        # Whoever loses a race gets the winner's value from the same script step.
        stored = blob if result.changed else result.old
        if stored is None:
            raise ServerStateError(f"setdefault of {key!r} found no value and stored none")
        return codec.decode(stored, key=key)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        """Atomic across replicas: the value returned is the value deleted."""
        key = check_key(key)
        hub = self._hub()
        result = hub.delete(key, subscribe=True)
        if result.changed and result.old is not None:
            return codec.decode(result.old, key=key)
        if default is _MISSING:
            raise MissingKey(missing_message(key))
        return default

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Set several keys. Every value is encoded first, so a bad one writes nothing.

        Each key is written atomically, but the update as a whole is not a
        transaction: readers may see some keys updated before others.
        """
        items = list(other.items() if isinstance(other, Mapping) else other) + list(kwargs.items())
        encoded = [(check_key(k), self._encode(k, v)) for k, v in items]
        for key, blob in encoded:
            self._set_encoded(key, blob)

    def to_dict(self) -> dict[str, Any]:
        """A plain ``dict`` copy of the whole state (subscribes to every key)."""
        hub = self._hub()
        snaps = hub.read_many(hub.store.keys())
        return {k: codec.decode(s.blob, key=k) for k, s in snaps.items() if s.blob is not None}

    def copy(self) -> dict[str, Any]:
        return self.to_dict()

    def keys(self) -> KeysView[str]:
        return KeysView(self)

    def values(self) -> Any:
        return self.to_dict().values()

    def items(self) -> Any:
        return self.to_dict().items()

    def __repr__(self) -> str:
        return f"server_state({self.to_dict()!r})"

    def __copy__(self) -> dict[str, Any]:
        return self.to_dict()

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(self.to_dict(), memo)

    # -- beyond the anchor ----------------------------------------------------

    def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        """``server_state[key] = value``, with a lifetime of ``ttl`` seconds if given.

        When the lifetime ends, the key is deleted for everyone: its readers
        on every replica rerun and see it missing (within about
        ``ping_interval``; no Redis keyspace notifications are needed).
        Setting the same value again with a ``ttl`` renews it; assigning
        without one makes the key last.
        """
        key = check_key(key)
        self._hub().set(key, self._encode(key, value), _ttl_ms(ttl))

    def watch(
        self,
        *keys: str,
        timeout: float | None = None,
        callback: Callable[[Event], object] | None = None,
    ) -> Watch:
        """Changes of ``keys`` (of every key when none is given), for code outside a page.

        For a worker process, a thread or a bot: ``for event in
        server_state.watch("rooms", timeout=30): ...`` yields
        :class:`~streamlit_redis_state.Changed` events as changes happen
        anywhere (and :class:`~streamlit_redis_state.Resynced` after a
        reconnect, followed by every change it found), ending after
        ``timeout`` seconds without one. With ``callback``, it is called for
        each event on a thread of its own. Close the watch when done (or use
        it in a ``with`` block). Events name keys and versions; read values.
        """
        wanted = frozenset(check_key(k) for k in keys) if keys else None
        watch = self._hub().watch(wanted, timeout)
        return watch.call(callback) if callback is not None else watch

    def expire(self, key: str, seconds: float | None) -> bool:
        """Give ``key`` a lifetime from now (``None``: last forever); ``False`` if missing."""
        key = check_key(key)
        return self._hub().expire(key, _ttl_ms(seconds))

    @contextmanager
    def edit(self, key: str, default: Any = _MISSING) -> Iterator[Any]:
        """Read-modify-write that cannot lose updates.

        Locks ``key``, reads it (or ``default`` if missing), yields the value
        for you to mutate in place, and writes it back when the block ends
        without an exception::

            with server_state.edit("messages", default=[]) as messages:
                messages.append(new_message)

        The write is fenced by the lock, so it is refused (``LockLost``) if
        the lease expired meanwhile. Immutable values (ints, strings) cannot
        be changed in place: use ``server_state_lock[key]`` and assign.
        """
        key = check_key(key)
        with StateLock(key, hub=self._hub):
            snap = self._hub().read(key)
            if snap.blob is not None:
                value = codec.decode(snap.blob, key=key)
            elif default is _MISSING:
                raise MissingKey(missing_message(key))
            else:
                # A fresh copy, so a mutable default passed in is never shared.
                value = codec.decode(self._encode(key, default), key=key)
            yield value
            self[key] = value

    def tail(self, key: str, n: int) -> list[Any]:
        """The last ``n`` items of the list at ``key`` (fewer if it is shorter).

        For lists grown with :meth:`append` (a chat room, an event feed): only
        those items are read, sent and cached, so drawing the newest 100
        messages costs the same for a room of 100 or of 10,000. Reading
        subscribes, like any read. A missing key gives ``[]``; a list written
        whole is read whole and sliced.
        """
        key = check_key(key)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        snap = self._hub().read_last(key, n)
        if snap.blob is None:
            return []
        value = codec.decode(snap.blob, key=key)
        if type(value) is not list:
            raise TypeError(f"server_state[{key!r}] holds a {type(value).__name__}, not a list")
        return value[-n:] if n else []

    def length(self, key: str) -> int:
        """How many items the list at ``key`` holds (0 if missing); subscribes like a read."""
        key = check_key(key)
        snap = self._hub().read_last(key, 0)  # served by a tail() of the key if cached
        if snap.length or snap.blob is None:
            return snap.length
        value = codec.decode(snap.blob, key=key)
        if type(value) is not list:
            raise TypeError(f"server_state[{key!r}] holds a {type(value).__name__}, not a list")
        return len(value)

    def append(self, key: str, *items: Any, max_len: int | None = None) -> int:
        """Append ``items`` to the list at ``key`` atomically; returns the new length.

        Unlike ``with edit(key) as l: l.append(x)``, the cost does not grow
        with the list: only the new items are sent, published about and
        fetched by the other processes, whose cached copy is extended in
        place. Reads still return the whole list. A missing key starts an
        empty list; a key holding a list written with ``[]`` is converted
        once; a key holding anything else raises ``TypeError``.

        ``max_len`` bounds the list: once it holds more than twice
        ``max_len`` items, only the newest ``max_len`` are kept (trimming in
        bulk keeps the cost per append constant).
        """
        key = check_key(key)
        if max_len is not None and (not isinstance(max_len, int) or max_len < 1):
            raise ValueError(f"max_len must be a positive int, got {max_len!r}")
        cap = max_len or 0
        if not items:
            return len(self.get(key, []))
        blobs = [self._encode(key, item) for item in items]
        hub = self._hub()
        result = hub.append(key, blobs, cap)
        if result.outcome is not Outcome.NOT_A_LIST:
            return result.length
        # The key holds a plain value (a list written whole, as edit() writes
        # it back). Turning it into a list of items is a read-modify-write:
        # made under the key's lock, as edit() makes its own, no edit can
        # change the value between the read and the conversion, and waiting
        # is bounded by lock_timeout. (Without the lock, an appender racing
        # processes that edit the key in a loop found the value changed at
        # every try and gave up.)
        with StateLock(key, hub=self._hub):
            return self._convert_and_append(hub, key, blobs, cap)

    def _convert_and_append(self, hub: Hub, key: str, blobs: list[bytes], cap: int) -> int:
        """Under the key's lock: append, converting a plain list value first."""
        deadline = hub.locks.clock() + hub.settings.lock_timeout
        while True:
            if hub.locks.clock() > deadline:
                raise ServerStateError(
                    f"append to {key!r}: its value kept changing for "
                    f"{hub.settings.lock_timeout:g}s; try again"
                )
            result = hub.append(key, blobs, cap)  # converted meanwhile, or deleted: done
            if result.outcome is not Outcome.NOT_A_LIST:
                return result.length
            snap = hub.store.read(key)
            if snap.blob is None or snap.bodies is not None:
                continue
            value = codec.decode(snap.blob, key=key)
            if type(value) is not list:
                raise TypeError(
                    f"server_state[{key!r}] holds a {type(value).__name__}; append needs a list"
                )
            existing = [codec.encode(v) for v in value]
            result = hub.convert(key, snap.blob, existing + blobs, cap)
            if result.changed:
                return result.length
            # Changed meanwhile by a writer that does not take the lock (a
            # plain assignment): read it again, for as long as the lock wait.

    # -- internals --------------------------------------------------------

    def _encode(self, key: str, value: Any) -> bytes:
        return codec.encode(value, max_bytes=self._hub().settings.max_value_bytes, key=key)

    def _set_encoded(self, key: str, blob: bytes) -> None:
        self._hub().set(key, blob)


server_state = ServerState()
