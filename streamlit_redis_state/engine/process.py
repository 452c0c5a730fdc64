"""The process's one hub, made on first use from the resolved configuration.

``configure()`` replaces the configuration; the next use builds a new hub.
Calling it again with the same arguments (every rerun of the app does) is
free.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..base.config import ENV_URL, resolve
from .hub import Hub

logger = logging.getLogger(__name__)

_hub: Hub | None = None
_hub_lock = threading.Lock()
_overrides: dict[str, Any] = {}
_client_override: Any = None
_warned_embedded = False


def get_hub() -> Hub:
    """The process's hub, created (and started) on first use."""
    global _hub, _warned_embedded
    hub = _hub
    if hub is not None:
        return hub
    with _hub_lock:
        if _hub is None:
            settings = resolve(_overrides)
            if settings.embedded and _client_override is None and not _warned_embedded:
                _warned_embedded = True
                logger.warning(
                    "streamlit_redis_state: no Redis configured (%s is unset); the state "
                    "lives in this process only. Set it to share state across replicas.",
                    ENV_URL,
                )
            hub = Hub(settings, _client_override)
            hub.start()
            _hub = hub
            logger.info(
                "streamlit_redis_state: using %s, namespace %r (configured by %s)",
                settings.describe(),
                settings.namespace,
                settings.source,
            )
        return _hub


def reconfigure(overrides: dict[str, Any], client: Any = None) -> None:
    """Replace the configuration; the next use builds a new hub from it."""
    global _hub, _overrides, _client_override
    with _hub_lock:
        if overrides == _overrides and client is _client_override:
            return  # the same call on every script run must not reconnect
        resolve(overrides)  # validate now, so a bad call fails where it is made
        old, _hub = _hub, None
        _overrides = dict(overrides)
        _client_override = client
    if old is not None:
        old.close()


def install(hub: Hub | None) -> Hub | None:
    """Make ``hub`` the process's hub as it is (started or not); returns the one it replaced.

    For tests that build a hub with a fake bridge and drive it by hand.
    ``None`` goes back to making one from the configuration.
    """
    global _hub
    with _hub_lock:
        old, _hub = _hub, hub
    return old


def configure(url: str | None = None, namespace: str | None = None, **options: Any) -> None:
    """Choose where the state lives; overrides the environment and secrets.toml.

    Call it before the first use of ``server_state`` (at the top of the app).
    ``url`` is a ``redis://``, ``rediss://`` or ``unix://`` URL, with any
    password or ACL user in it; ``redis+cluster://HOST:PORT[,HOST:PORT...]``
    for a Redis Cluster; or ``redis+sentinel://HOST:PORT[,...]/SERVICE[/DB]``
    for a master behind Sentinel (``rediss+...`` for TLS; the sentinels'
    password as ``?sentinel_password=`` or the ``sentinel_password`` option).
    Other options: ``max_value_bytes``, ``socket_timeout``,
    ``connect_timeout``, ``lock_lease``, ``lock_timeout``, ``ping_interval``,
    ``ping_deadline``, ``presence_ttl``, ``cache_bytes``, ``wait_replicas``,
    ``wait_timeout``, ``sentinel_password``, ``sentinel_username``. Calling
    it again with the same arguments does nothing; with different ones, it
    reconnects.
    """
    reconfigure({"url": url, "namespace": namespace, **options})
