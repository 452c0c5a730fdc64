"""Where the state lives and how long we wait for it.

Sources, highest precedence first: :func:`configure` in code; the environment
(``STREAMLIT_REDIS_STATE_URL``, ``STREAMLIT_REDIS_STATE_NAMESPACE``); the
``[connections.redis_state]`` section of ``.streamlit/secrets.toml``. With no
URL anywhere, state lives in an embedded in-process store (fakeredis), so
``streamlit run app.py`` works at once on one process, as the anchor library
does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigurationError

ENV_URL = "STREAMLIT_REDIS_STATE_URL"
ENV_NAMESPACE = "STREAMLIT_REDIS_STATE_NAMESPACE"
SECRETS_SECTION = "redis_state"
DEFAULT_NAMESPACE = "default"

_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class Settings:
    """Resolved settings. ``url`` is ``None`` for the embedded store."""

    url: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    #: Largest encoded value accepted by a write.
    max_value_bytes: int = 8 * 1024 * 1024
    #: Bound on any single Redis call, so reads and writes never hang.
    socket_timeout: float = 5.0
    connect_timeout: float = 2.0
    #: Lock lease; renewed every third of it while held.
    lock_lease: float = 15.0
    #: How long ``with server_state_lock[k]`` waits before raising LockTimeout.
    lock_timeout: float = 30.0
    #: How often the listener pings its pub/sub connection, and how long it
    #: waits for the answer before it declares the link dead.
    ping_interval: float = 2.0
    ping_deadline: float = 3.0
    #: A presence member whose replica stops renewing it is gone after this long.
    presence_ttl: float = 15.0
    #: Bytes of values the process cache keeps, least recently used out first.
    cache_bytes: int = 64 * 1024 * 1024
    #: After each change, wait until this many replicas of the Redis primary
    #: have it (Redis's WAIT), so a failover cannot lose it; 0: don't wait.
    wait_replicas: int = 0
    #: How long a change waits for those replicas before raising NotReplicated.
    wait_timeout: float = 1.0
    #: Under Streamlit, keep long-lived objects out of the full garbage
    #: collection Streamlit runs after every script run (``gc.freeze()``,
    #: renewed; see engine/freezer.py). Off: collections walk everything.
    gc_freeze: bool = True
    source: str = field(default="default", compare=False)

    def validate(self) -> Settings:
        if self.url is not None:
            scheme = urlsplit(self.url).scheme
            if scheme not in _SCHEMES:
                raise ConfigurationError(
                    "Redis URL must start with redis://, rediss:// or unix://, "
                    f"got {scheme or self.url!r}"
                )
        if not isinstance(self.namespace, str) or not _NAMESPACE_RE.match(self.namespace):
            raise ConfigurationError(
                "namespace must be 1-64 characters of letters, digits and _.:-, "
                f"got {self.namespace!r}"
            )
        for name in (
            "socket_timeout",
            "connect_timeout",
            "lock_lease",
            "lock_timeout",
            "ping_interval",
            "ping_deadline",
            "presence_ttl",
            "wait_timeout",
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive number, got {value!r}")
        for name in ("max_value_bytes", "cache_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 64:
                raise ConfigurationError(f"{name} must be an int >= 64, got {value!r}")
        if not isinstance(self.gc_freeze, bool):
            raise ConfigurationError(f"gc_freeze must be true or false, got {self.gc_freeze!r}")
        replicas = self.wait_replicas
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ConfigurationError(f"wait_replicas must be an int >= 0, got {replicas!r}")
        return self

    @property
    def call_bound(self) -> float:
        """The longest one Redis call may take: two attempts, each connecting and waiting."""
        return 2 * (self.socket_timeout + self.connect_timeout) + 0.1

    @property
    def embedded(self) -> bool:
        return self.url is None

    def redacted_url(self) -> str:
        """The URL with any password hidden, for logs and errors."""
        if self.url is None:
            return "embedded in-process store"
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.url


def _from_secrets() -> dict[str, Any]:
    """Read ``[connections.redis_state]`` from Streamlit secrets, if there are any."""
    try:
        # Imported here, not at the top: a worker process or the command line
        # reads the configuration without paying for Streamlit's import.
        import streamlit as st

        section = st.secrets.get("connections", {}).get(SECRETS_SECTION, {})
        return dict(section)
    except Exception:  # no secrets file, or not parseable: not our business here
        return {}


def _option_names() -> list[str]:
    return [n for n in Settings.__dataclass_fields__ if n != "source"]


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _coerce(name: str, raw: object, where: str) -> object:
    """Convert a text setting (environment, secrets) to the field's type."""
    kind = Settings.__dataclass_fields__[name].type
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ConfigurationError(f"{where}: {name} must be true or false, got {raw!r}")
    if kind != "int" and kind != "float":
        return str(raw)
    try:
        return int(str(raw)) if kind == "int" else float(str(raw))
    except ValueError:
        raise ConfigurationError(f"{where}: {name} must be a number, got {raw!r}") from None


def resolve(overrides: dict[str, Any]) -> Settings:
    """Merge the three sources; ``overrides`` come from :func:`configure`.

    Every option can come from each source: ``STREAMLIT_REDIS_STATE_<NAME>``
    in the environment (e.g. ``STREAMLIT_REDIS_STATE_LOCK_LEASE=30``) and
    ``<name>`` in ``[connections.redis_state]``, so operators can tune
    timeouts without touching code.
    """
    unknown = set(overrides) - set(_option_names())
    if unknown:
        raise ConfigurationError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    source = "default"
    secrets = _from_secrets()
    for name in _option_names():
        if secrets.get(name) not in (None, ""):
            values[name] = _coerce(name, secrets[name], "secrets.toml")
            if name == "url":
                source = "secrets.toml"
    for name in _option_names():
        raw = os.environ.get(f"STREAMLIT_REDIS_STATE_{name.upper()}")
        if raw:
            values[name] = _coerce(name, raw, f"STREAMLIT_REDIS_STATE_{name.upper()}")
            if name == "url":
                source = "environment"
    if overrides.get("url") is not None:
        source = "configure()"
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **values, source=source).validate()


def from_values(values: dict[str, Any], source: str) -> Settings:
    """Settings from one source alone (an ``st.connection``'s secrets and arguments).

    Text values (from a secrets file) are converted like the environment's;
    the key ``type`` is ``st.connection``'s own and is ignored. Unknown
    names are refused, naming ``source``.
    """
    values = {k: v for k, v in values.items() if k != "type" and v not in (None, "")}
    unknown = set(values) - set(_option_names())
    if unknown:
        raise ConfigurationError(f"{source}: unknown setting(s): {', '.join(sorted(unknown))}")
    typed: dict[str, Any] = {
        name: _coerce(name, raw, source) if isinstance(raw, str) else raw
        for name, raw in values.items()
    }
    return replace(Settings(), **typed, source=source).validate()
