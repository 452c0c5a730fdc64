"""Presence: who is in a named group (a chat room), across every replica.

``presence("room:general", name="alice")`` joins the calling session to the
group and returns the names of its live members; ``presence("room:general")``
only looks. Looking subscribes, like reading a key: when anyone joins or
leaves, the sessions showing the group rerun.

A member leaves when its tab closes (the disconnect hook), when the session
calls :func:`leave_presence`, and, if its replica dies or loses Redis, when
its heartbeat lapses: each process renews its members every third of
``presence_ttl`` and reaps the expired members of the groups it shows, so a
dead replica's members vanish within about ``presence_ttl``. Expiry uses
Redis's clock, never a replica's.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from . import bridge, codec
from .errors import ServerStateError
from .store import RedisStore, Snapshot

if TYPE_CHECKING:
    from .hub import Hub

logger = logging.getLogger("streamlit_redis_state")

MAX_GROUP_LENGTH = 200
MAX_NAME_LENGTH = 200


def _check(group: object, name: object) -> None:
    if not isinstance(group, str) or not group or len(group) > MAX_GROUP_LENGTH or "\x00" in group:
        raise ValueError(
            f"presence groups are non-empty str of at most {MAX_GROUP_LENGTH} "
            f"characters, got {group!r:.80}"
        )
    if name is not None and (
        not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH
    ):
        raise ValueError(
            f"presence names are non-empty str of at most {MAX_NAME_LENGTH} "
            f"characters, got {name!r:.80}"
        )


class PresenceManager:
    """The process's members and its heartbeat thread."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._lock = threading.Lock()
        # group -> member id -> name, for the members this process owns
        self._members: dict[str, dict[str, str]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ttl_ms(self) -> int:
        return int(self.hub.settings.presence_ttl * 1000)

    def _member_id(self, session_id: str) -> str:
        return f"{self.hub.process_id}:{session_id}"

    def join(self, group: str, name: str) -> None:
        place = bridge.current_place()
        if place is None:
            raise ServerStateError(
                "presence(group, name=...) joins the calling session, so it "
                "must be called from a Streamlit script run"
            )
        member = self._member_id(place.session_id)
        with self._lock:
            known = self._members.get(group, {}).get(member)
        if known != name:
            version = self.hub.store.presence_join(group, member, name, self.ttl_ms, origin=member)
            self.hub.changed_here(RedisStore.presence_field(group), version)
            with self._lock:
                self._members.setdefault(group, {})[member] = name
            bridge.watch_disconnect(place.session_id)
        self._ensure_thread()

    def leave(self, group: str, session_id: str) -> None:
        member = self._member_id(session_id)
        with self._lock:
            members = self._members.get(group, {})
            if members.pop(member, None) is None:
                return
            if not members:
                self._members.pop(group, None)
        try:
            version = self.hub.store.presence_leave(group, member)
            self.hub.changed_here(RedisStore.presence_field(group), version)
        except ServerStateError:
            logger.warning("could not leave presence group %r; it will expire", group)

    def drop_session(self, session_id: str) -> None:
        member = self._member_id(session_id)
        with self._lock:
            groups = [g for g, m in self._members.items() if member in m]
        for group in groups:
            self.leave(group, session_id)

    def members(self, group: str) -> list[str]:
        store = self.hub.store

        def fetch() -> Snapshot:
            version, epoch, names = store.presence_read(group)
            return Snapshot(codec.encode(sorted(set(names))), version, epoch)

        self._ensure_thread()
        snap = self.hub.read(RedisStore.presence_field(group), fetch=fetch)
        assert snap.blob is not None
        names: list[str] = codec.decode(snap.blob)
        return names

    # -- heartbeat ---------------------------------------------------------

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._beat_loop, name="streamlit-redis-state-presence", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        self._stop.set()

    def _beat_loop(self) -> None:
        prefix = RedisStore.presence_field("")
        while not self._stop.wait(self.hub.settings.presence_ttl / 3):
            with self._lock:
                owned = {g: dict(m) for g, m in self._members.items()}
            shown = {k[len(prefix) :] for k in self.hub.watched_keys() if k.startswith(prefix)}
            for group in set(owned) | shown:
                try:
                    self.hub.store.presence_beat(group, owned.get(group, {}), self.ttl_ms)
                except ServerStateError as exc:
                    logger.debug("presence heartbeat for %r failed: %s", group, exc)
                except Exception:
                    logger.exception("presence heartbeat failed")


def presence(group: str, name: str | None = None) -> list[str]:
    """Join ``group`` as ``name`` (if given) and return the sorted names of its live members.

    Reading subscribes the session: joins and leaves rerun it. Call it on
    every run (it is cheap when nothing changed); a session is one member,
    and a person with two tabs is listed once.
    """
    from .hub import get_hub

    _check(group, name)
    manager = get_hub().presence
    if name is not None:
        manager.join(group, name)
    return manager.members(group)


def join_presence(group: str, name: str) -> None:
    """Join ``group`` as ``name`` without looking at (or subscribing to) its members.

    For pages that count as "here" but do not show who else is: each join or
    leave then reruns only the sessions that display the group.
    """
    from .hub import get_hub

    _check(group, name)
    get_hub().presence.join(group, name)


def leave_presence(group: str) -> None:
    """Remove the calling session from ``group`` now (closing the tab also does)."""
    from .hub import get_hub

    _check(group, None)
    place = bridge.current_place()
    if place is not None:
        get_hub().presence.leave(group, place.session_id)
