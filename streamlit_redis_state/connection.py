"""``st.connection`` support: the shared state of one configuration, as a Streamlit connection.

::

    import streamlit as st
    from streamlit_redis_state import RedisStateConnection

    conn = st.connection("redis_state", type=RedisStateConnection)
    conn.server_state["count"] = conn.server_state.get("count", 0) + 1

Configured by ``[connections.<name>]`` in ``.streamlit/secrets.toml`` and by
keyword arguments, which win (``url``, ``namespace`` and every option of
``configure()``); the environment fills in what neither gives
(:mod:`.sources` has the precedence and why). ``type`` in the section is
Streamlit's: ``type = "streamlit_redis_state.RedisStateConnection"`` there
lets the app call ``st.connection("redis_state")`` without ``type=``.

A connection does not open a connection of its own: it asks for the process's
hub of its configuration, one per configuration, the same one
``server_state`` uses when the configurations agree. So a key read through
``conn.server_state`` is cached, subscribed and rerun exactly like one read
through ``server_state``.

This module imports Streamlit; ``import streamlit_redis_state`` does not
import it (the package exports this class lazily), so workers and the command
line start without Streamlit.
"""

from __future__ import annotations

import os
from typing import Any

from streamlit.connections import BaseConnection

from .base.config import SECRETS_SECTION
from .base.sources import settings_for
from .engine import process
from .engine.hub import Hub
from .presence import join, leave, members_of
from .reruns import force_rerun, no_rerun
from .server_state import ServerState
from .server_state_lock import ServerStateLock


def _library_section() -> dict[str, Any]:
    """``[connections.redis_state]`` of st.secrets, or nothing when there is no secrets file."""
    import streamlit as st

    try:
        section = st.secrets.get("connections", {}).get(SECRETS_SECTION, {})
        return dict(section)
    except Exception:  # no secrets file, or not parseable: nothing to fill in
        return {}


class RedisStateConnection(BaseConnection[Hub]):
    """The shared state of one configuration: ``st.connection(name, type=RedisStateConnection)``.

    Gives the package's API bound to that configuration: :attr:`server_state`,
    :attr:`server_state_lock`, :meth:`presence`, :meth:`join_presence`,
    :meth:`leave_presence`, :meth:`force_rerun_bound_sessions` and
    :attr:`no_rerun` (the package's own ``no_rerun``, which applies to every
    configuration).
    """

    #: ``with conn.no_rerun:``; the same object as the package's ``no_rerun``.
    no_rerun = no_rerun

    def __init__(self, connection_name: str, **kwargs: Any) -> None:
        super().__init__(connection_name, **kwargs)
        #: The shared mapping of this configuration (``server_state``'s manners).
        self.server_state = ServerState(self._hub)
        #: Locks of this configuration's keys (``server_state_lock``'s manners).
        self.server_state_lock = ServerStateLock(self._hub)

    def _connect(self, **kwargs: Any) -> Hub:
        """The hub of this connection's settings, started if it is the first to use them."""
        sections = {SECRETS_SECTION: _library_section()}
        sections[self._connection_name] = self._secrets.to_dict()
        settings = settings_for(
            self._connection_name,
            kwargs,
            sections,
            os.environ,
            f"st.connection({self._connection_name!r}) arguments",
        )
        return process.hub_for(settings)

    def _hub(self) -> Hub:
        # Looked up on every use, so reset() (or a changed secrets file) takes effect.
        return self._instance

    def presence(self, group: str, name: str | None = None) -> list[str]:
        """Like the package's ``presence()``: join ``group`` as ``name`` (if given), list it."""
        return members_of(self._instance, group, name)

    def join_presence(self, group: str, name: str) -> None:
        """Like the package's ``join_presence()``."""
        join(self._instance, group, name)

    def leave_presence(self, group: str) -> None:
        """Like the package's ``leave_presence()``."""
        leave(self._instance, group)

    def force_rerun_bound_sessions(self, key: str) -> None:
        """Like the package's ``force_rerun_bound_sessions()``."""
        force_rerun(self._instance, key)

    def close(self) -> None:
        """Nothing to close: the hub is the process's, shared by every user of its settings.

        Streamlit calls this when the cached connection is released
        (``st.cache_resource.clear()``, a ``ttl``); the next ``st.connection``
        finds the same hub, with its cache and subscriptions intact.
        """

    def __repr__(self) -> str:
        settings = self._instance.settings
        return (
            f"RedisStateConnection({self._connection_name!r}: {settings.redacted_url()}, "
            f"namespace {settings.namespace!r})"
        )
