"""Shared state for Streamlit apps, across every session of every replica, through Redis.

A drop-in for streamlit-server-state: change the import line and nothing else::

    from streamlit_redis_state import server_state, server_state_lock

See the README for the API, configuration and guarantees.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    ConfigurationError,
    CorruptValue,
    InvalidKey,
    LockLost,
    LockTimeout,
    ServerStateError,
    StateUnavailable,
    UnsupportedValue,
    ValueTooLarge,
)
from .hub import reconfigure
from .locks import ServerStateLock, StateLock
from .mapping import ServerState, _NoRerun, force_rerun_bound_sessions
from .presence import join_presence, leave_presence, presence

__version__ = "0.1.0"

server_state = ServerState()
server_state_lock = ServerStateLock()
no_rerun = _NoRerun()


def configure(url: str | None = None, namespace: str | None = None, **options: Any) -> None:
    """Choose where the state lives; overrides the environment and secrets.toml.

    Call it before the first use of ``server_state`` (at the top of the app).
    ``url`` is a ``redis://``, ``rediss://`` or ``unix://`` URL, with any
    password or ACL user in it. Other options: ``max_value_bytes``,
    ``socket_timeout``, ``connect_timeout``, ``lock_lease``, ``lock_timeout``,
    ``ping_interval``, ``ping_deadline``, ``presence_ttl``. Calling it again with the same
    arguments does nothing; with different ones, it reconnects.
    """
    reconfigure({"url": url, "namespace": namespace, **options})


__all__ = [
    "ConfigurationError",
    "CorruptValue",
    "InvalidKey",
    "LockLost",
    "LockTimeout",
    "ServerState",
    "ServerStateError",
    "ServerStateLock",
    "StateLock",
    "StateUnavailable",
    "UnsupportedValue",
    "ValueTooLarge",
    "configure",
    "force_rerun_bound_sessions",
    "join_presence",
    "leave_presence",
    "no_rerun",
    "presence",
    "server_state",
    "server_state_lock",
]
