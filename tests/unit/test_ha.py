"""Redis Cluster and Sentinel, the parts that need no server: URLs, redaction, the
store's answers to a moving slot, subscriptions that end, a listener that hears
nothing. The real cluster, sentinels and Valkey are in tests/integration."""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest
import redis
from redis.exceptions import ClusterDownError, MovedError, TryAgainError

from streamlit_redis_state import (
    ConfigurationError,
    ServerStateError,
    StateUnavailable,
    configure,
    server_state,
)
from streamlit_redis_state.base.config import Settings, parse_target, redact_url, resolve
from streamlit_redis_state.edges.listener import LinkDead
from streamlit_redis_state.edges.pubsub import Kind, RedisSubscription, Unsubscribed
from streamlit_redis_state.engine.hub import Hub
from tests.unit.conftest import deliver, unheard_change

# -- URLs -----------------------------------------------------------------------


def test_cluster_urls() -> None:
    t = parse_target("redis+cluster://10.0.0.1:7000,10.0.0.2:7001,node3")
    assert t.mode == "cluster" and not t.tls
    assert t.hosts == (("10.0.0.1", 7000), ("10.0.0.2", 7001), ("node3", 6379))
    t = parse_target("rediss+cluster://app:p%40ss@[::1]:7000/0?ssl_ca_certs=/ca.pem")
    assert t.tls and t.hosts == (("::1", 7000),)
    assert (t.username, t.password) == ("app", "p@ss")
    assert dict(t.tls_options) == {"ssl_ca_certs": "/ca.pem"}
    assert parse_target(
        "rediss+cluster://h:1?ssl_cert_reqs=none&ssl_check_hostname=false"
    ).tls_options == (
        ("ssl_cert_reqs", "none"),
        ("ssl_check_hostname", False),
    )


def test_sentinel_urls() -> None:
    t = parse_target("redis+sentinel://:masterpw@s1:26379,s2,s3:26380/mymaster/2")
    assert t.mode == "sentinel" and t.service == "mymaster" and t.db == 2
    assert t.hosts == (("s1", 26379), ("s2", 26379), ("s3", 26380))
    assert (t.username, t.password, t.sentinel_password) == (None, "masterpw", None)
    t = parse_target("rediss+sentinel://u:pw@s1/svc?sentinel_password=sp&sentinel_username=su")
    assert t.tls and t.db == 0 and (t.sentinel_username, t.sentinel_password) == ("su", "sp")
    # The option fills in what the URL does not say; the URL wins.
    assert (
        parse_target("redis+sentinel://s1/svc", sentinel_password="opt").sentinel_password == "opt"
    )
    assert (
        parse_target("redis+sentinel://s1/svc?sentinel_password=url", "opt").sentinel_password
        == "url"
    )


def test_plain_urls_keep_working() -> None:
    for url in ("redis://h:6379/0", "rediss://:pw@h:6380/1?ssl_cert_reqs=none", "unix:///r.sock"):
        assert parse_target(url).mode == "server"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "redis://h1:6379,h2:6379/0",
            "redis\\+cluster://",
        ),  # the ValueError about the port
        ("redis://h:port/0", "port must be a number"),
        ("redis://h:6379/zero", "database must be a number"),
        ("redis+cluster://", "no host"),
        ("redis+cluster://h:7000,,h2:7001", "empty host"),
        ("redis+cluster://h:70000", "1 to 65535"),
        ("redis+cluster://h:x", "1 to 65535"),
        ("redis+cluster://h:7000/3", "only database 0"),
        ("redis+cluster://h:7000?ssl_ca_certs=/ca.pem", "rediss"),
        ("redis+cluster://h:7000?socket_timeout=1", "unknown query parameter"),
        ("redis+cluster://h:7000?sentinel_password=x", "unknown query parameter"),
        ("rediss+cluster://h:7000?ssl_cert_reqs=maybe", "ssl_cert_reqs"),
        ("redis+sentinel://s1:26379", "name the monitored master"),
        ("redis+sentinel://s1:26379/svc/db", "SERVICE_NAME/DB"),
        ("redis+sentinel://s1:26379/svc/0/x", "SERVICE_NAME/DB"),
        ("redis+sentinel://:pw@s1/svc?oops=1", "unknown query parameter"),
        ("sentinel://s1/svc", "must start with"),
    ],
)
def test_bad_urls_are_refused_by_configure(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        configure(url=url)
    assert "pw" not in str(caught.value)


def test_sentinel_options_need_a_sentinel_url() -> None:
    with pytest.raises(ConfigurationError, match="redis\\+sentinel"):
        configure(url="redis+cluster://h:7000", sentinel_password="x")


def test_every_source_takes_the_new_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "streamlit_redis_state.base.config._from_secrets",
        lambda: {"url": "redis+sentinel://s1/svc", "sentinel_password": "from-secrets"},
    )
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_URL", raising=False)
    s = resolve({})
    assert s.target.mode == "sentinel" and s.target.sentinel_password == "from-secrets"
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_URL", "rediss+cluster://n1:7000,n2:7000")
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_SENTINEL_PASSWORD", "")
    monkeypatch.setattr("streamlit_redis_state.base.config._from_secrets", lambda: {})
    s = resolve({})
    assert s.target.mode == "cluster" and s.source == "environment"
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_URL", "redis://a:1,b:2/0")
    with pytest.raises(ConfigurationError, match="names one server"):
        resolve({})


def test_every_form_is_redacted_and_logs_name_the_mode_and_endpoints() -> None:
    cases = {
        "redis://user:secret@h:6379/0": "redis://user:***@h:6379/0",
        "rediss+cluster://:secret@n1:7000,n2:7001": "rediss+cluster://:***@n1:7000,n2:7001",
        "redis+sentinel://u:secret@s1,s2:26380/svc/1?sentinel_password=secret2&x=1": (
            "redis+sentinel://u:***@s1,s2:26380/svc/1?sentinel_password=***&x=1"
        ),
        "redis://h:6379/0?password=secret": "redis://h:6379/0?password=***",
        "redis://h:6379/0": "redis://h:6379/0",
    }
    for url, redacted in cases.items():
        assert redact_url(url) == redacted
        assert Settings(url=url).redacted_url() == redacted
    s = Settings(url="rediss+cluster://:secret@n1:7000,[::1]:7001")
    assert s.describe() == "Redis Cluster over TLS via node(s) n1:7000,[::1]:7001"
    s = Settings(url="redis+sentinel://:secret@s1,s2/svc/3", sentinel_password="secret2")
    assert s.describe() == "Redis Sentinel: master 'svc' (db 3) via sentinel(s) s1:26379,s2:26379"
    assert "secret" not in repr(s) and "secret" not in repr(s.target)
    # A bad URL's error message hides its password too.
    with pytest.raises(ConfigurationError) as caught:
        parse_target("redis+cluster://:secret@h:port")
    assert "secret" not in str(caught.value)


# -- the store's answers to a moving slot ----------------------------------------


def _flaky(state: Hub, monkeypatch: pytest.MonkeyPatch, errors: list[Exception]) -> list[str]:
    """Make the store's next scripts fail with ``errors``, in turn; returns each set's retry flag."""
    real = state.store._run
    flags: list[str] = []

    def run(name: str, keys: list[str], args: list[Any], client: Any = None) -> Any:
        if name == "set":
            flags.append(str(args[7]))
        if errors:
            raise errors.pop(0)
        return real(name, keys, args, client)

    monkeypatch.setattr(state.store, "_run", run)
    monkeypatch.setattr(state.store, "mode", "cluster")  # as if talking to a cluster
    return flags


def test_a_slot_on_the_move_is_asked_again_without_a_retry_flag(
    state: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TRYAGAIN and CLUSTERDOWN mean "not run": asked again as a first attempt."""
    busy = [TryAgainError("Multiple keys request during rehashing of slot"), ClusterDownError("")]
    flags = _flaky(state, monkeypatch, busy)
    server_state.x = 1
    assert flags == ["0", "0", "0"]
    assert server_state.x == 1


def test_after_a_link_failure_every_attempt_is_a_retry(
    state: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that may have run is flagged, so the script replays its outcome."""
    flags = _flaky(state, monkeypatch, [redis.TimeoutError("stalled"), TryAgainError("moving")])
    server_state.x = 1
    assert flags == ["0", "1", "1"]


def test_a_slot_that_stays_busy_raises_state_unavailable(
    server: fakeredis.FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.conftest import FakeStreamlit, make_hub

    hub = make_hub(server, FakeStreamlit(), socket_timeout=0.3)
    try:
        _flaky(hub, monkeypatch, [TryAgainError("moving")] * 100)
        with pytest.raises(StateUnavailable, match="did not serve the namespace's slot"):
            hub.set("x", b"\xc1\x01\xc0")
    finally:
        hub.close()


def test_a_plain_url_to_a_cluster_node_says_to_use_redis_cluster(
    state: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    def moved(*args: Any, **kwargs: Any) -> Any:
        raise MovedError("4001 127.0.0.1:7002")

    monkeypatch.setattr(state.store, "_run", moved)
    with pytest.raises(ServerStateError, match="redis\\+cluster://"):
        server_state.x = 1


# -- subscriptions that end, and a listener that hears nothing --------------------


class _FakePubSub:
    """redis-py's PubSub as RedisSubscription uses it: raw replies from parse_response."""

    def __init__(self, replies: list[list[Any]]) -> None:
        self.replies = replies
        self.sharded: list[str] = []
        self.connection = None

    def ssubscribe(self, channel: str) -> None:
        self.sharded.append(channel)

    def parse_response(self, block: bool, timeout: float) -> list[Any] | None:
        return self.replies.pop(0) if self.replies else None


class _FakeClient:
    def __init__(self, pubsub: _FakePubSub) -> None:
        self._pubsub = pubsub

    def pubsub(self, ignore_subscribe_messages: bool) -> _FakePubSub:
        return self._pubsub


def test_a_sharded_subscription_raises_when_its_slot_leaves_the_node() -> None:
    fake = _FakePubSub(
        [
            [b"ssubscribe", b"c", 1],
            [b"smessage", b"c", b"SRS1 u k"],
            [b"sunsubscribe", b"c", 0],
        ]
    )
    sub = RedisSubscription(_FakeClient(fake), "c", sharded=True)
    assert fake.sharded == ["c"]
    first, second = sub.get_message(0), sub.get_message(0)
    assert first is not None and first.kind is Kind.SUBSCRIBED
    assert second is not None and second.kind is Kind.MESSAGE and second.data == b"SRS1 u k"
    with pytest.raises(Unsubscribed):
        sub.get_message(0)


def test_a_subscription_that_hears_nothing_is_dropped_at_the_second_ping(
    state: Hub, server: fakeredis.FakeServer, other: Hub
) -> None:
    """A sequence Redis had at one ping and the listener missed by the next: reconnect."""
    other.set("heard", b"\xc1\x01\xc0")  # published: heard, no alarm
    assert state.on_healthy() is False
    deliver(state)
    assert state.on_healthy() is False
    unheard_change(server, state, "k", 1)  # what a subscription to the wrong node misses
    assert state.on_healthy() is False  # maybe in flight: wait for the next ping
    with pytest.raises(LinkDead, match="wrong server"):
        state.on_healthy()


# -- what the clients are made with ---------------------------------------------


class _FakeSentinel:
    """Stands in for redis.sentinel.Sentinel: records what it is given."""

    made: list[_FakeSentinel] = []

    def __init__(self, hosts: list[tuple[str, int]], sentinel_kwargs: dict[str, Any]) -> None:
        self.hosts, self.sentinel_kwargs = hosts, sentinel_kwargs
        self.masters: list[tuple[str, dict[str, Any]]] = []
        self.master = ("10.0.0.9", 6379)
        _FakeSentinel.made.append(self)

    def master_for(self, service: str, **kwargs: Any) -> Any:
        self.masters.append((service, kwargs))
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        client.connection_pool.get_master_address = lambda: self.master  # type: ignore[attr-defined]
        return client

    def discover_master(self, service: str) -> tuple[str, int]:
        return self.master

    def close(self) -> None:
        pass


def test_sentinel_clients_get_the_passwords_tls_and_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streamlit_redis_state.edges import store

    monkeypatch.setattr(store, "Sentinel", _FakeSentinel)
    settings = resolve(
        {
            "url": "rediss+sentinel://app:master-pw@s1:26380,s2/mymaster/3"
            "?ssl_ca_certs=/ca.pem&sentinel_username=watcher",
            "sentinel_password": "sentinel-pw",
        }
    )
    redis_store = store.RedisStore(settings)
    try:
        made = _FakeSentinel.made[-1]
        assert made.hosts == [("s1", 26380), ("s2", 26379)]
        assert made.sentinel_kwargs["password"] == "sentinel-pw"
        assert made.sentinel_kwargs["username"] == "watcher"
        assert made.sentinel_kwargs["ssl"] is True
        assert made.sentinel_kwargs["ssl_ca_certs"] == "/ca.pem"
        service, master = made.masters[0]
        assert service == "mymaster" and master["db"] == 3
        assert (master["username"], master["password"]) == ("app", "master-pw")
        assert master["ssl"] is True and master["ssl_ca_certs"] == "/ca.pem"
        assert redis_store.mode == "sentinel" and not redis_store.sharded
        # The listener's subscription checks, at each ping, that it is on the master.
        redis_store._check_master(("10.0.0.9", 6379))  # the master: nothing to say
        with pytest.raises(Unsubscribed, match=r"10\.0\.0\.9:6379"):
            redis_store._check_master(("10.0.0.8", 6379))  # the old one, after a failover
    finally:
        redis_store.close()


@pytest.mark.parametrize(
    "url",
    ["redis+cluster://127.0.0.1:{port},127.0.0.1:{port}", "redis+sentinel://127.0.0.1:{port}/svc"],
)
def test_an_unreachable_cluster_or_sentinel_raises_state_unavailable_quickly(url: str) -> None:
    """Nothing listens there: StateUnavailable, named after the kind of Redis, in moments."""
    import socket
    import time

    from streamlit_redis_state.engine.process import reconfigure

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connections are refused
    configure(url=url.format(port=port), namespace="nowhere", connect_timeout=1, socket_timeout=1)
    try:
        t0 = time.monotonic()
        with pytest.raises(StateUnavailable, match=r"Redis (Cluster|Sentinel)"):
            server_state.get("x")
        assert time.monotonic() - t0 < 5
    finally:
        reconfigure({})
