"""The library's typed errors.

Every error a user can meet derives from :class:`ServerStateError`, and each
one also derives from the built-in exception a Python programmer would reach
for first (``TypeError`` for an unsupported value, ``TimeoutError`` for a lock
that could not be had, ...), so ``except TypeError`` keeps working for code
written against streamlit-server-state.
"""

from __future__ import annotations


class ServerStateError(Exception):
    """Base class of every error raised by streamlit_redis_state."""


class StateUnavailable(ServerStateError, ConnectionError):
    """Redis could not be reached within the configured time.

    Raised by reads and writes instead of hanging, so an app can show
    ``st.error(...)``. The library reconnects by itself once Redis is back.
    """


class NotReplicated(StateUnavailable, TimeoutError):
    """A change was applied by the Redis primary but not confirmed by ``wait_replicas``.

    Raised only with ``configure(wait_replicas=N)``: the change is stored and
    seen by everyone, but a failover before the replicas catch up may lose it.
    """


class UnsupportedValue(ServerStateError, TypeError):
    """A value (or something inside it) cannot be stored.

    The message names the path inside the value, e.g.
    ``value['user']['prefs'][1]: Color is not supported``.
    """


class ValueTooLarge(ServerStateError, ValueError):
    """The encoded value is larger than ``max_value_bytes``."""


class InvalidKey(ServerStateError, ValueError):
    """A key is empty, too long or reserved."""


class MissingKey(ServerStateError, KeyError, AttributeError):
    """``server_state`` has no such key.

    Both a ``KeyError`` and an ``AttributeError``: code written for the anchor
    catches ``KeyError`` around ``server_state.x``, and ``hasattr`` and
    ``getattr(server_state, "x", default)`` need an ``AttributeError``.
    """

    def __str__(self) -> str:
        # KeyError would quote the message; this one is a sentence.
        return str(self.args[0]) if self.args else ""


class CorruptValue(ServerStateError, ValueError):
    """The bytes stored under a key were not written by this library or are damaged."""


class LockTimeout(ServerStateError, TimeoutError):
    """A lock could not be acquired before the wait ran out."""


class LockLost(ServerStateError):
    """A held lock's lease could not be renewed, so another holder may have taken it.

    Raised when leaving the ``with`` block (unless the body raised), by
    :meth:`StateLock.ensure_held`, and by a fenced write made while the lock was
    no longer held.
    """


class ConfigurationError(ServerStateError, ValueError):
    """The configuration (URL, namespace, options) is invalid."""


class RerunSuppressed(ServerStateError, RuntimeError):
    """``force_rerun_bound_sessions`` was called inside ``no_rerun``, which forbids reruns."""
