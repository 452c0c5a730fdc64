"""The listener's view of a pub/sub connection: three calls, so tests can feed it.

The store hands the listener a :class:`Subscription`; the listener never
touches redis-py's ``PubSub`` itself. A test (or another transport) passes
any object with the same methods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class Kind(Enum):
    #: The subscription is (re)established: whatever was published before is unknown.
    SUBSCRIBED = "subscribed"
    #: A message published on the channel.
    MESSAGE = "message"
    #: The answer to :meth:`Subscription.ping`.
    PONG = "pong"


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    data: bytes = b""


_SUBSCRIBED = Message(Kind.SUBSCRIBED)
_PONG = Message(Kind.PONG)


def _message(raw: Any, channel: str = "") -> Message | None:
    """A raw pub/sub reply as a :class:`Message` (``None``: not one the listener uses).

    An unsubscribe (``unsubscribe`` or ``sunsubscribe``) raises :class:`Unsubscribed`:
    it is never asked for, so it means that on a cluster the channel's slot left
    the node.
    """
    if isinstance(raw, (bytes, str)):  # PONG to a ping while not subscribed
        return _PONG
    kind = raw[0]
    if isinstance(kind, str):
        kind = kind.encode()
    if kind == b"message" or kind == b"smessage":
        data = raw[2]
        return Message(Kind.MESSAGE, data if isinstance(data, bytes) else str(data).encode())
    if kind == b"subscribe" or kind == b"ssubscribe":
        return _SUBSCRIBED
    if kind == b"pong":
        return _PONG
    if kind == b"unsubscribe" or kind == b"sunsubscribe":
        raise Unsubscribed(f"the server ended the subscription to {channel}")
    return None


class Subscription(Protocol):
    def get_message(self, timeout: float) -> Message | None:
        """The next message, waiting at most ``timeout`` seconds; ``None`` if none came."""
        ...

    def ping(self) -> None:
        """Ask the server for a :attr:`Kind.PONG` on this connection."""
        ...

    def close(self) -> None: ...

    def disconnect(self) -> None:
        """Drop the connection at once (fault handling, tests); the next call raises."""
        ...


class Unsubscribed(Exception):
    """The subscription no longer hears the channel: the server ended it, or it is
    on a server that no longer owns it (a Redis Cluster slot moved, a Sentinel
    failover). The listener reconnects, to the right server, and resyncs."""


class RedisSubscription:
    """A :class:`Subscription` over redis-py's ``PubSub`` on one channel.

    ``sharded`` subscribes with SSUBSCRIBE (Redis Cluster, Redis 7 and later),
    on the node that owns the channel's slot. ``check``, called before every
    ping with the server's ``(host, port)``, raises :class:`Unsubscribed`
    when that server is no longer the one to listen to.
    """

    def __init__(
        self,
        client: Any,
        channel: str,
        *,
        sharded: bool = False,
        check: Callable[[tuple[str, int] | None], None] | None = None,
    ) -> None:
        self._channel = channel
        self._check = check
        self._pubsub = client.pubsub(ignore_subscribe_messages=False)
        if sharded:
            self._pubsub.ssubscribe(channel)
        else:
            self._pubsub.subscribe(channel)

    def get_message(self, timeout: float) -> Message | None:
        # redis-py's parse_response, not get_message: the raw reply, without
        # the dictionary get_message builds around every message (this runs
        # for every change, in every process).
        raw = self._pubsub.parse_response(block=False, timeout=timeout)
        return None if raw is None else _message(raw, self._channel)

    def address(self) -> tuple[str, int] | None:
        """The server this subscription listens to, once connected."""
        connection = self._pubsub.connection
        if connection is None or getattr(connection, "host", None) is None:
            return None
        return str(connection.host), int(connection.port)

    def ping(self) -> None:
        if self._check is not None:
            self._check(self.address())
        self._pubsub.ping("srs")

    def close(self) -> None:
        self._pubsub.close()

    def disconnect(self) -> None:
        connection = self._pubsub.connection
        if connection is not None:
            connection.disconnect()


__all__ = ["Kind", "Message", "RedisSubscription", "Subscription", "Unsubscribed"]
