"""Who shows what, and whom to rerun: one rerun-target type and its merge.

A session subscribes to a key by reading it during a script run. Read inside
an ``st.fragment``, only that fragment reruns when the key changes; read at
the top level, the whole app does (the whole app wins over fragments).

Each subscription remembers the version it showed and the run that read it,
so a change reruns exactly the parts of a page that show something older:
not a session that already shows the new value, and, for the session that
made the change, only what its run drew before the change (the rest of the
run reads the new value anyway).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..edges.bridge import ScriptPlace

#: The version of a subscription whose read is still under way.
UNKNOWN = -1
#: Sessions remembered as gone, so a late run of a closed tab never
#: subscribes or joins again (oldest forgotten first).
MAX_DEAD = 10_000


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

    def add_scope(self, session_id: str, scope: str | None) -> None:
        """Add one scope: ``None`` (the whole app) or a fragment id."""
        self.add(session_id, None if scope is None else (scope,))

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


@dataclass
class Shown:
    """What one scope of one session shows of one key."""

    version: int
    #: The script run that read it (an opaque token from the bridge, compared with ==).
    run: object


# key -> session id -> scope (None: top level; else a fragment id) -> Shown
_Entries = dict[str, dict[str, dict[str | None, Shown]]]


class Subscriptions:
    """The process's subscriptions, and the sessions gone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: _Entries = {}
        self._by_session: dict[str, set[str]] = {}
        self._dead: OrderedDict[str, None] = OrderedDict()
        # Sessions whose run met an unreachable Redis: rerun when it is back,
        # so a page showing the error recovers without anyone clicking.
        self._failed = Reruns()

    # -- subscribing ------------------------------------------------------------

    def add(
        self, key: str, place: ScriptPlace, version: int = UNKNOWN, *, replace: bool = False
    ) -> bool:
        """``place``'s session shows ``version`` of ``key`` in its current scope.

        A read subscribes with :data:`UNKNOWN` before it reads (older than any
        version: a change landing meanwhile reruns it), then with the version
        it read. Several reads in one run keep the oldest version shown, unless
        ``replace`` says the caller now shows this version instead (it was
        handed the value a write stored). Returns ``False`` (and subscribes
        nothing) for a session that is gone.
        """
        sid = place.session_id
        with self._lock:
            if sid in self._dead:
                return False
            scopes = self._by_key.setdefault(key, {}).setdefault(sid, {})
            shown = scopes.get(place.fragment_id)
            if shown is None or shown.run != place.run:
                scopes[place.fragment_id] = Shown(version, place.run)
            elif version != UNKNOWN and (
                replace or shown.version == UNKNOWN or version < shown.version
            ):
                shown.version = version
            self._by_session.setdefault(sid, set()).add(key)
            return True

    def drop(self, session_id: str) -> None:
        """Forget a session for good: it is never subscribed or rerun again."""
        with self._lock:
            self._dead[session_id] = None
            while len(self._dead) > MAX_DEAD:
                self._dead.popitem(last=False)
            for key in self._by_session.pop(session_id, ()):
                sessions = self._by_key.get(key)
                if sessions is not None:
                    sessions.pop(session_id, None)
                    if not sessions:
                        del self._by_key[key]
            self._failed.discard(session_id)

    def is_gone(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._dead

    # -- whom a change reruns ---------------------------------------------------

    def older_than(self, key: str, version: int, *, exclude: str = "") -> Reruns:
        """Every scope showing ``key`` at a version before ``version`` (a notification)."""
        out = Reruns()
        if key not in self._by_key:  # nobody here shows it: no lock needed to say so
            return out
        with self._lock:
            for sid, scopes in self._by_key.get(key, {}).items():
                if sid == exclude:
                    continue
                for scope, shown in scopes.items():
                    if shown.version < version:
                        out.add_scope(sid, scope)
        return out

    def differing(self, versions: dict[str, int]) -> Reruns:
        """Every scope showing a key at another version than Redis holds (a resync)."""
        out = Reruns()
        with self._lock:
            for key, version in versions.items():
                for sid, scopes in self._by_key.get(key, {}).items():
                    for scope, shown in scopes.items():
                        if shown.version != version:
                            out.add_scope(sid, scope)
        return out

    def stale_for_writer(self, key: str, version: int, place: ScriptPlace, force: bool) -> Reruns:
        """What the session that changed ``key`` to ``version`` must rerun to show it.

        A scope the current run will still draw (the whole app in a full run,
        or the fragment being rerun) needs nothing unless the run already drew
        the key before the change: the rest of the run reads the new value.
        Anything else that shows an older version reruns: the top level after
        a fragment's change, everything after a change from a worker thread,
        and everything after a change from a run Streamlit has replaced (the
        run that replaced it may have drawn the key already).
        ``force`` (``force_rerun_bound_sessions``) reruns every scope.
        """
        out = Reruns()
        sid = place.session_id
        with self._lock:
            for scope, shown in self._by_key.get(key, {}).get(sid, {}).items():
                if not force:
                    if shown.version >= version:
                        continue
                    drawing = place.script_thread and not place.superseded
                    if drawing and shown.run != place.run:
                        redrawn = place.fragment_run is None or (
                            scope is not None and scope in place.fragment_run
                        )
                        if redrawn:
                            continue
                out.add_scope(sid, scope)
        return out

    def everyone(self) -> Reruns:
        out = Reruns()
        with self._lock:
            for sessions in self._by_key.values():
                for sid, scopes in sessions.items():
                    for scope in scopes:
                        out.add_scope(sid, scope)
        return out

    def forget_versions(self) -> None:
        """The data was lost: every version shown is older than anything to come."""
        with self._lock:
            for sessions in self._by_key.values():
                for scopes in sessions.values():
                    for shown in scopes.values():
                        shown.version = UNKNOWN

    # -- bookkeeping ------------------------------------------------------------

    def shows(self, key: str) -> bool:
        """Whether some session of this process is subscribed to ``key``."""
        with self._lock:
            return key in self._by_key

    def keys(self) -> list[str]:
        """Keys some session of this process is subscribed to."""
        with self._lock:
            return list(self._by_key)

    def sessions(self) -> list[str]:
        with self._lock:
            return list(self._by_session)

    def session_count(self) -> int:
        with self._lock:
            return len(self._by_session)

    def note_failure(self, session_id: str) -> None:
        with self._lock:
            if session_id not in self._dead:
                self._failed.add(session_id, None)

    def take_failed(self) -> Reruns:
        with self._lock:
            failed, self._failed = self._failed, Reruns()
            return failed
