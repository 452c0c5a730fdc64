"""Presence membership: the process's members of named groups, and their heartbeat.

A member is one session in one group. It leaves when its tab closes (the
disconnect hook), when the session calls ``leave_presence``, and, if its
replica dies or loses Redis, when its heartbeat lapses: each process renews
its members every third of ``presence_ttl`` and reaps the expired members of
the groups it shows, so a dead replica's members vanish within about
``presence_ttl``. Expiry uses Redis's clock, never a replica's.

A group is versioned and notified like a key (its pseudo key, see
:mod:`..base.keys`), so reading it goes through the hub's cache and
subscriptions like any read; this module only says how to fetch it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..base import codec
from ..base.config import Settings
from ..base.errors import ServerStateError
from ..base.keys import presence_field
from ..edges.bridge import Bridge
from ..edges.store import RedisStore, Snapshot

logger = logging.getLogger(__name__)


class PresenceManager:
    """The process's members and its heartbeat thread."""

    def __init__(
        self,
        store: RedisStore,
        settings: Settings,
        process_id: str,
        bridge: Bridge,
        changed_here: Callable[[str, int], None],
        shown_groups: Callable[[], set[str]],
    ) -> None:
        self._store = store
        self._settings = settings
        self._process_id = process_id
        self._bridge = bridge
        self._changed_here = changed_here
        self._shown_groups = shown_groups
        self._lock = threading.Lock()
        # group -> member id -> name, for the members this process owns
        self._members: dict[str, dict[str, str]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ttl_ms(self) -> int:
        return int(self._settings.presence_ttl * 1000)

    def member_id(self, session_id: str) -> str:
        return f"{self._process_id}:{session_id}"

    def member_count(self) -> int:
        with self._lock:
            return sum(len(m) for m in self._members.values())

    def join(self, group: str, name: str, session_id: str) -> None:
        """Make ``session_id`` a member of ``group`` as ``name`` (cheap when it already is)."""
        member = self.member_id(session_id)
        with self._lock:
            known = self._members.get(group, {}).get(member)
        if known != name:
            version = self._store.presence_join(group, member, name, self.ttl_ms, origin=member)
            self._changed_here(presence_field(group), version)
            with self._lock:
                self._members.setdefault(group, {})[member] = name
            self._bridge.watch_disconnect(session_id)

    def leave(self, group: str, session_id: str) -> None:
        member = self.member_id(session_id)
        with self._lock:
            members = self._members.get(group, {})
            if members.pop(member, None) is None:
                return
            if not members:
                self._members.pop(group, None)
        try:
            version = self._store.presence_leave(group, member)
            self._changed_here(presence_field(group), version)
        except ServerStateError:
            logger.warning("could not leave presence group %r; it will expire", group)

    def drop_session(self, session_id: str) -> None:
        member = self.member_id(session_id)
        with self._lock:
            groups = [g for g, m in self._members.items() if member in m]
        for group in groups:
            self.leave(group, session_id)

    def fetcher(self, group: str) -> Callable[[], Snapshot]:
        """How the hub reads the group: its live members' sorted names, as one value."""

        def fetch() -> Snapshot:
            version, epoch, names = self._store.presence_read(group)
            return Snapshot(codec.encode(sorted(set(names))), version, epoch)

        return fetch

    # -- heartbeat ---------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._beat_loop, name="streamlit-redis-state-presence", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        self._stop.set()

    def beat(self) -> None:
        """One heartbeat: renew this process's members, reap the dead of the groups it shows."""
        with self._lock:
            owned = {g: dict(m) for g, m in self._members.items()}
        for group in set(owned) | self._shown_groups():
            try:
                self._store.presence_beat(group, owned.get(group, {}), self.ttl_ms)
            except ServerStateError as exc:
                logger.debug("presence heartbeat for %r failed: %s", group, exc)
            except Exception:
                logger.exception("presence heartbeat failed")

    def _beat_loop(self) -> None:
        while not self._stop.wait(self._settings.presence_ttl / 3):
            self.beat()
