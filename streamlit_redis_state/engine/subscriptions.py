"""Who is subscribed to what, and whom to rerun: one rerun-target type and its merge.

A session subscribes to a key by reading it during a script run. Read inside
an ``st.fragment``, only that fragment reruns when the key changes; read at
the top level, the whole app does, and the whole app wins over fragments.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator


class Reruns:
    """Sessions to rerun, each with its scope: ``None`` for the whole app, or fragment ids.

    Adding a session twice merges the scopes, so a session reruns once
    however many of its keys changed.
    """

    __slots__ = ("_by_session",)

    def __init__(self) -> None:
        self._by_session: dict[str, set[str] | None] = {}

    def add(self, session_id: str, fragments: Iterable[str] | None) -> None:
        if session_id not in self._by_session:
            self._by_session[session_id] = None if fragments is None else set(fragments)
            return
        current = self._by_session[session_id]
        if current is None:
            return
        if fragments is None:
            self._by_session[session_id] = None
        else:
            current.update(fragments)

    def update(self, other: Reruns) -> None:
        for session_id, fragments in other.items():
            self.add(session_id, fragments)

    def discard(self, session_id: str) -> None:
        self._by_session.pop(session_id, None)

    def items(self) -> Iterator[tuple[str, set[str] | None]]:
        return iter(list(self._by_session.items()))

    def as_dict(self) -> dict[str, set[str] | None]:
        return {s: (None if f is None else set(f)) for s, f in self._by_session.items()}

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._by_session

    def __len__(self) -> int:
        return len(self._by_session)

    def __repr__(self) -> str:
        return f"Reruns({self._by_session!r})"


class Subscriptions:
    """The process's subscriptions, and the sessions to rerun once Redis answers again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # key -> session id -> fragment ids, or None for the whole app
        self._by_key: dict[str, Reruns] = {}
        self._by_session: dict[str, set[str]] = {}
        # Sessions whose run met an unreachable Redis: rerun when it is back,
        # so a page showing the error recovers without anyone clicking.
        self._failed = Reruns()

    def add(self, key: str, session_id: str, fragment_id: str | None) -> None:
        with self._lock:
            self._by_key.setdefault(key, Reruns()).add(
                session_id, None if fragment_id is None else (fragment_id,)
            )
            self._by_session.setdefault(session_id, set()).add(key)

    def drop(self, session_id: str) -> None:
        """Forget a session entirely."""
        with self._lock:
            for key in self._by_session.pop(session_id, ()):
                entry = self._by_key.get(key)
                if entry is not None:
                    entry.discard(session_id)
                    if not len(entry):
                        del self._by_key[key]
            self._failed.discard(session_id)

    def of_key(self, key: str) -> Reruns:
        return self.of_keys((key,))

    def of_keys(self, keys: Iterable[str]) -> Reruns:
        out = Reruns()
        with self._lock:
            for key in keys:
                entry = self._by_key.get(key)
                if entry is not None:
                    out.update(entry)
        return out

    def everyone(self) -> Reruns:
        out = Reruns()
        with self._lock:
            for entry in self._by_key.values():
                out.update(entry)
        return out

    def keys(self) -> list[str]:
        """Keys some session of this process is subscribed to."""
        with self._lock:
            return list(self._by_key)

    def session_count(self) -> int:
        with self._lock:
            return len(self._by_session)

    def note_failure(self, session_id: str) -> None:
        with self._lock:
            self._failed.add(session_id, None)

    def take_failed(self) -> Reruns:
        with self._lock:
            failed, self._failed = self._failed, Reruns()
            return failed
