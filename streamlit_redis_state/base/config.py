"""Where the state lives and how long we wait for it.

Sources, highest precedence first: :func:`configure` in code; the environment
(``STREAMLIT_REDIS_STATE_URL``, ``STREAMLIT_REDIS_STATE_NAMESPACE``); the
``[connections.redis_state]`` section of ``.streamlit/secrets.toml``. With no
URL anywhere, state lives in an embedded in-process store (fakeredis), so
``streamlit run app.py`` works at once on one process, as the anchor library
does.

The URL names one of three kinds of Redis (:func:`parse_target`):

* one server: ``redis://``, ``rediss://`` (TLS) or ``unix://``;
* a Redis Cluster: ``redis+cluster://HOST:PORT[,HOST:PORT...]`` (or
  ``rediss+cluster://``), any node or nodes of it;
* a primary watched by Sentinel:
  ``redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB]`` (or
  ``rediss+sentinel://``), the sentinels and the monitored master's name.

``user:password@`` is the server's (the cluster nodes', the master's); a
sentinel's password is the query parameter ``sentinel_password=`` or the
option of the same name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .errors import ConfigurationError

ENV_URL = "STREAMLIT_REDIS_STATE_URL"
ENV_NAMESPACE = "STREAMLIT_REDIS_STATE_NAMESPACE"
SECRETS_SECTION = "redis_state"
DEFAULT_NAMESPACE = "default"

_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
_ALL_SCHEMES = (*_SCHEMES, *CLUSTER_SCHEMES, *SENTINEL_SCHEMES)
DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379

#: Query parameters of cluster and sentinel URLs (TLS ones need ``rediss+``).
_TLS_PARAMS = {
    "ssl_ca_certs": str,
    "ssl_ca_path": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "ssl_cert_reqs": str,
    "ssl_check_hostname": bool,
}
_SENTINEL_PARAMS = ("sentinel_password", "sentinel_username")
_CERT_REQS = ("none", "optional", "required")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Target:
    """What a URL names: the kind of Redis, where it is, and how to log in.

    ``mode`` is ``"server"`` (one redis-server: redis-py reads the URL
    itself), ``"cluster"`` or ``"sentinel"``.
    """

    mode: str
    tls: bool = False
    #: The cluster nodes to start from, or the sentinels.
    hosts: tuple[tuple[str, int], ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    #: Sentinel only: the monitored master's name, and its database.
    service: str = ""
    db: int = 0
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    #: TLS settings (``ssl_*`` query parameters), as redis-py's keyword arguments.
    tls_options: tuple[tuple[str, Any], ...] = ()

    def endpoints(self) -> str:
        return ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.hosts)


def _bad(url: str, why: str) -> ConfigurationError:
    return ConfigurationError(f"Redis URL {redact_url(url)!r}: {why}")


def _split_hosts(url: str, hostlist: str, default_port: int) -> tuple[tuple[str, int], ...]:
    hosts: list[tuple[str, int]] = []
    for item in hostlist.split(","):
        item = item.strip()
        if not item:
            raise _bad(url, "an empty host in the host list")
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
            if rest and not rest.startswith(":"):
                raise _bad(url, f"cannot read the host {item!r}")
        else:
            host, _, port_text = item.partition(":")
        if not host:
            raise _bad(url, f"no host name in {item!r}")
        if port_text:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise _bad(url, f"the port of {item!r} must be a number from 1 to 65535")
            port = int(port_text)
        else:
            port = default_port
        hosts.append((unquote(host), port))
    return tuple(hosts)


def _query(url: str, query: str, allowed: tuple[str, ...], tls: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in allowed:
            raise _bad(
                url,
                f"unknown query parameter {name!r}; accepted: {', '.join(sorted(allowed))}",
            )
        kind = _TLS_PARAMS.get(name, str)
        if name in _TLS_PARAMS and not tls:
            raise _bad(url, f"{name} is a TLS setting: use the rediss+... scheme")
        if kind is bool:
            if value.lower() not in (*_TRUE, *_FALSE):
                raise _bad(url, f"{name} must be true or false, got {value!r}")
            out[name] = value.lower() in _TRUE
        elif name == "ssl_cert_reqs" and value not in _CERT_REQS:
            raise _bad(url, f"ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}")
        else:
            out[name] = value
    return out


def parse_target(
    url: str, sentinel_password: str | None = None, sentinel_username: str | None = None
) -> Target:
    """Read a URL (see the module docstring); raise :class:`ConfigurationError` if it is bad.

    ``sentinel_password`` and ``sentinel_username`` (the options) are used
    when the URL does not give them.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _ALL_SCHEMES:
        raise ConfigurationError(
            "Redis URL must start with redis://, rediss://, unix://, redis+cluster://, "
            f"rediss+cluster://, redis+sentinel:// or rediss+sentinel://, got "
            f"{(parts.scheme or redact_url(url))!r}"
        )
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username, has_password, password = userinfo.partition(":")
    if scheme in _SCHEMES:
        if scheme != "unix":
            if "," in hostlist:
                raise _bad(
                    url,
                    "a redis:// URL names one server; list several with "
                    "redis+cluster:// (a Redis Cluster) or redis+sentinel:// (sentinels)",
                )
            try:
                parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
            except ValueError:
                raise _bad(url, "the port must be a number from 0 to 65535") from None
            db = parts.path.strip("/")
            if db and not db.isdigit():
                raise _bad(url, f"the database must be a number, got {db!r}")
        return Target("server", tls=scheme == "rediss")
    tls = scheme.startswith("rediss")
    if not hostlist:
        raise _bad(url, "no host: name at least one HOST:PORT")
    cluster = scheme in CLUSTER_SCHEMES
    hosts = _split_hosts(url, hostlist, DEFAULT_PORT if cluster else DEFAULT_SENTINEL_PORT)
    path = [unquote(p) for p in parts.path.split("/") if p]
    allowed = tuple(_TLS_PARAMS) + (() if cluster else _SENTINEL_PARAMS)
    query = _query(url, parts.query, allowed, tls)
    tls_options = tuple((k, v) for k, v in query.items() if k in _TLS_PARAMS)
    user = unquote(username) or None
    secret = unquote(password) if has_password else None
    if cluster:
        if path not in ([], ["0"]):
            raise _bad(url, "a Redis Cluster has only database 0; drop the path")
        return Target(
            "cluster", tls, hosts, username=user, password=secret, tls_options=tls_options
        )
    if not path:
        raise _bad(url, "name the monitored master: redis+sentinel://HOST:PORT/SERVICE_NAME")
    if len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise _bad(url, "the path is /SERVICE_NAME or /SERVICE_NAME/DB (a number)")
    return Target(
        "sentinel",
        tls,
        hosts,
        service=path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        sentinel_username=query.get("sentinel_username") or sentinel_username,
        sentinel_password=query.get("sentinel_password") or sentinel_password,
        tls_options=tls_options,
        username=user,
        password=secret,
    )


def redact_url(url: str) -> str:
    """``url`` with every password hidden: the one in ``user:password@`` and any
    ``...password=`` query parameter."""
    parts = urlsplit(url)
    userinfo, at, hostlist = parts.netloc.rpartition("@")
    if at:
        username, has_password, _ = userinfo.partition(":")
        userinfo = f"{username}:***" if has_password else username
    netloc = f"{userinfo}@{hostlist}" if at else hostlist
    query = "&".join(
        f"{quote(k, safe='')}=" + ("***" if "password" in k.lower() else quote(v, safe="/"))
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return parts._replace(netloc=netloc, query=query).geturl()


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
    #: The sentinels' password (and ACL user), for a redis+sentinel:// URL that
    #: does not carry ``sentinel_password=``. The master's is in the URL.
    sentinel_password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = None
    #: Under Streamlit, keep long-lived objects out of the full garbage
    #: collection Streamlit runs after every script run (``gc.freeze()``,
    #: renewed; see engine/freezer.py). Off: collections walk everything.
    gc_freeze: bool = True
    source: str = field(default="default", compare=False)

    def validate(self) -> Settings:
        if self.url is not None:
            if not isinstance(self.url, str):
                raise ConfigurationError(f"url must be a str, got {type(self.url).__name__}")
            target = self.target
            if target.mode != "sentinel" and (self.sentinel_password or self.sentinel_username):
                raise ConfigurationError(
                    "sentinel_password and sentinel_username are for redis+sentinel:// URLs"
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
        """The longest one Redis call may take: two attempts, each connecting and
        waiting, after up to ``socket_timeout`` of asking again while a Redis
        Cluster moves the namespace's slot (edges/store.py, ``_attempts``)."""
        return 3 * self.socket_timeout + 2 * self.connect_timeout + 0.1

    @property
    def embedded(self) -> bool:
        return self.url is None

    @property
    def target(self) -> Target:
        """What the URL names (raises ConfigurationError for a bad URL or the embedded store)."""
        if self.url is None:
            raise ConfigurationError("no Redis URL: the embedded store is used")
        return parse_target(self.url, self.sentinel_password, self.sentinel_username)

    def __repr__(self) -> str:
        # Never a password: the URL is shown redacted, sentinel_password not at all.
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.repr}
        if self.url is not None:
            values["url"] = self.redacted_url()
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in values.items()) + ")"

    def redacted_url(self) -> str:
        """The URL with every password hidden, for logs and errors."""
        if self.url is None:
            return "embedded in-process store"
        return redact_url(self.url)

    def describe(self) -> str:
        """The kind of Redis and its endpoints, without secrets, for logs."""
        if self.url is None:
            return "the embedded in-process store"
        target = self.target
        tls = " over TLS" if target.tls else ""
        if target.mode == "cluster":
            return f"Redis Cluster{tls} via node(s) {target.endpoints()}"
        if target.mode == "sentinel":
            return (
                f"Redis Sentinel{tls}: master {target.service!r} (db {target.db}) "
                f"via sentinel(s) {target.endpoints()}"
            )
        return f"Redis at {self.redacted_url()}"


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
