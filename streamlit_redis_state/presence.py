"""Presence: who is in a named group (a chat room), across every replica.

``presence("room:general", name="alice")`` joins the calling session to the
group and returns the names of its live members; ``presence("room:general")``
only looks. Looking subscribes, like reading a key: when anyone joins or
leaves, the sessions showing the group rerun. How members come and go is in
:mod:`.engine.members`.
"""

from __future__ import annotations

from .base import codec
from .base.keys import check_group, check_name, presence_field
from .engine.hub import Hub
from .engine.process import get_hub


def presence(group: str, name: str | None = None) -> list[str]:
    """Join ``group`` as ``name`` (if given) and return the sorted names of its live members.

    Reading subscribes the session: joins and leaves rerun it. Call it on
    every run (it is cheap when nothing changed); a session is one member,
    and a person with two tabs is listed once.
    """
    return members_of(get_hub(), group, name)


def join_presence(group: str, name: str) -> None:
    """Join ``group`` as ``name`` without looking at (or subscribing to) its members.

    For pages that count as "here" but do not show who else is: each join or
    leave then reruns only the sessions that display the group.
    """
    join(get_hub(), group, name)


def leave_presence(group: str) -> None:
    """Remove the calling session from ``group`` now (closing the tab also does)."""
    leave(get_hub(), group)


# The same, on a given hub (an st.connection's).


def members_of(hub: Hub, group: str, name: str | None = None) -> list[str]:
    check_group(group)
    if name is not None:
        check_name(name)
        hub.join(group, name)
    snap = hub.read(presence_field(group), fetch=hub.members.fetcher(group))
    assert snap.blob is not None
    names: list[str] = codec.decode(snap.blob)
    return names


def join(hub: Hub, group: str, name: str) -> None:
    check_group(group)
    check_name(name)
    hub.join(group, name)


def leave(hub: Hub, group: str) -> None:
    check_group(group)
    hub.leave(group)
