"""The process's hubs: one per configuration, made on first use.

``server_state`` and friends use the default hub, whose configuration comes
from ``configure()``, the environment or secrets.toml. ``st.connection``
asks for the hub of its own configuration; the same configuration shares
one hub (one listener, one cache) however it was given. ``configure()``
replaces the default configuration; calling it again with the same
arguments (every rerun of the app does) is free. A hub replaced while it
holds locks stays open until they are released, so their holders can still
release them.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

from ..base.config import ENV_URL, Settings, resolve
from . import freezer
from .hub import Hub
from .locks import KeyLock

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_hubs: dict[Settings, Hub] = {}
#: Settings some st.connection uses: their hub outlives a configure().
_pinned: dict[Settings, int] = {}
_default: Hub | None = None
_overrides: dict[str, Any] = {}
_client_override: Any = None
_warned_embedded = False
#: Hubs replaced while holding locks, until those are released.
_retired: weakref.WeakSet[Hub] = weakref.WeakSet()


def _start(settings: Settings, client: Any = None) -> Hub:
    """Under the lock: make and start a hub, and say once where the state lives."""
    global _warned_embedded
    if settings.embedded and client is None and not _warned_embedded:
        _warned_embedded = True
        logger.warning(
            "streamlit_redis_state: no Redis configured (%s is unset); the state "
            "lives in this process only. Set it to share state across replicas.",
            ENV_URL,
        )
    hub = Hub(settings, client)
    hub.start()
    # The listener's first sync before the first call: otherwise it races the
    # first session's first run, and its resync reruns a writer whose own
    # writer-rule rerun is already running (a chain one run longer than
    # MAX_CHAIN allows, found by tests/compat/test_loops.py). Bounded, and
    # not at all once a connection attempt failed: an unreachable Redis is
    # reported by the call itself, as fast as before.
    hub.listener.wait_first_sync(settings.connect_timeout)
    if settings.gc_freeze and hub.bridge.runtime_exists():
        # Streamlit's full collection after every run walks every object the
        # process holds; keep the long-lived ones out of its way (freezer.py).
        freezer.start_once()
    logger.info(
        "streamlit_redis_state: using %s, namespace %r (configured by %s)",
        settings.describe(),
        settings.namespace,
        settings.source,
    )
    return hub


def get_hub() -> Hub:
    """The default hub, created (and started) on first use."""
    global _default
    hub = _default
    if hub is not None:
        return hub
    with _lock:
        if _default is None:
            settings = resolve(_overrides)
            if _client_override is not None:
                _default = _start(settings, _client_override)
            else:
                hub = _hubs.get(settings)
                if hub is None:
                    hub = _hubs[settings] = _start(settings)
                _default = hub
        return _default


def hub_for(settings: Settings) -> Hub:
    """The hub of ``settings`` (st.connection), shared with the default one if they agree."""
    with _lock:
        hub = _hubs.get(settings)
        if hub is None:
            hub = _hubs[settings] = _start(settings)
        _pinned[settings] = _pinned.get(settings, 0) + 1
        return hub


def reconfigure(overrides: dict[str, Any], client: Any = None) -> None:
    """Replace the default configuration; the next use builds (or shares) its hub."""
    global _default, _overrides, _client_override
    with _lock:
        if overrides == _overrides and client is _client_override:
            return  # the same call on every script run must not reconnect
        resolve(overrides)  # validate now, so a bad call fails where it is made
        old, _default = _default, None
        _overrides = dict(overrides)
        _client_override = client
        if old is not None and _pinned.get(old.settings):
            old = None  # an st.connection still uses it
        elif old is not None and _hubs.get(old.settings) is old:
            del _hubs[old.settings]
    if old is not None:
        _retire(old)


def _retire(hub: Hub) -> None:
    """Close a hub nobody will use again, once the locks it holds are released."""
    if hub.locks.held_count():
        _retired.add(hub)
        hub.locks.on_idle(hub.close)
    else:
        hub.close()


def held_lock(key: str) -> KeyLock | None:
    """The lock on ``key`` held by the calling thread in a hub replaced since it was taken."""
    for hub in list(_retired):
        lock = hub.locks.held_by_caller(key)
        if lock is not None:
            return lock
    return None


def install(hub: Hub | None) -> Hub | None:
    """Make ``hub`` the default hub as it is (started or not); returns the one it replaced.

    For tests that build a hub with a fake bridge and drive it by hand.
    ``None`` goes back to making one from the configuration.
    """
    global _default
    with _lock:
        old, _default = _default, hub
    return old


def configure(url: str | None = None, namespace: str | None = None, **options: Any) -> None:
    """Choose where the state lives; overrides the environment and secrets.toml.

    Call it before the first use of ``server_state`` (at the top of the app).
    ``url`` is a ``redis://``, ``rediss://`` or ``unix://`` URL, with any
    password or ACL user in it; ``redis+cluster://HOST:PORT[,HOST:PORT...]``
    for a Redis Cluster; or ``redis+sentinel://HOST:PORT[,...]/SERVICE[/DB]``
    for a master behind Sentinel (``rediss+...`` for TLS; the sentinels'
    password as ``?sentinel_password=`` or the ``sentinel_password`` option).
    Other options are the fields of
    :class:`~streamlit_redis_state.base.config.Settings` (``max_value_bytes``,
    ``socket_timeout``, ``lock_lease``, ...). Calling it again with the same
    arguments does nothing; with different ones, it reconnects.
    """
    reconfigure({"url": url, "namespace": namespace, **options})
