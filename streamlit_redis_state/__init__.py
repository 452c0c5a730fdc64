"""Shared state for Streamlit apps, across every session of every replica, through Redis.

A drop-in for streamlit-server-state: change the import line and nothing else::

    from streamlit_redis_state import server_state, server_state_lock

What apps import lives in one module per public object (``server_state``,
``server_state_lock``, ``presence``, ``reruns``); below them the per-process
``engine``, its ``edges`` to Redis and Streamlit, and the ``base`` they all
stand on (docs/internals.md draws the layers). See the README for the API,
configuration and guarantees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base.errors import (
    ConfigurationError,
    CorruptValue,
    InvalidKey,
    LockLost,
    LockTimeout,
    MissingKey,
    NotReplicated,
    RerunSuppressed,
    ServerStateError,
    StateUnavailable,
    UnsupportedValue,
    ValueTooLarge,
)
from .base.version import __version__
from .engine.process import configure
from .engine.watches import Changed, Resynced, Watch
from .presence import join_presence, leave_presence, presence
from .reruns import force_rerun_bound_sessions, no_rerun
from .server_state import ServerState, server_state
from .server_state_lock import ServerStateLock, StateLock, server_state_lock

if TYPE_CHECKING:
    from .connection import RedisStateConnection


def __getattr__(name: str) -> Any:
    """``RedisStateConnection`` on first use: it imports Streamlit, which workers never need."""
    if name == "RedisStateConnection":
        from .connection import RedisStateConnection

        return RedisStateConnection
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Changed",
    "ConfigurationError",
    "CorruptValue",
    "InvalidKey",
    "LockLost",
    "LockTimeout",
    "MissingKey",
    "NotReplicated",
    "RedisStateConnection",
    "RerunSuppressed",
    "Resynced",
    "ServerState",
    "ServerStateError",
    "ServerStateLock",
    "StateLock",
    "StateUnavailable",
    "UnsupportedValue",
    "ValueTooLarge",
    "Watch",
    "__version__",
    "configure",
    "force_rerun_bound_sessions",
    "join_presence",
    "leave_presence",
    "no_rerun",
    "presence",
    "server_state",
    "server_state_lock",
]
