"""Locking Redis down: password, an ACL user confined to its namespace, TLS, namespace isolation."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from streamlit_redis_state import (
    ServerStateError,
    StateUnavailable,
    configure,
    presence,
    server_state,
    server_state_lock,
)
from streamlit_redis_state.base.config import resolve
from streamlit_redis_state.engine.hub import Hub
from streamlit_redis_state.engine.process import get_hub, reconfigure
from support.processes import RedisServer, free_port, require_binary, stop_process, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _reset_config() -> Iterator[None]:
    yield
    reconfigure({})


def confine_user(admin: redis.Redis, user: str, password: str, namespace: str) -> None:
    """An ACL user that can touch only one namespace's keys and channel (as the README shows)."""
    admin.execute_command(
        "ACL",
        "SETUSER",
        user,
        "on",
        f">{password}",
        "resetkeys",
        f"~srs:{{{namespace}}}:*",
        "resetchannels",
        f"&srs:{{{namespace}}}:events",
        "+@all",
        "-@admin",
        "-@dangerous",
    )


def exercise() -> None:
    """Everything the library sends: writes, reads, locks, deletes, the listener."""
    server_state["k"] = {"v": 1}
    with server_state_lock["k"]:
        server_state["k"] = {"v": 2}
    with server_state.edit("k") as value:
        value["v"] = 3
    assert server_state["k"] == {"v": 3}
    assert "k" in server_state and list(server_state) == ["k"]
    del server_state["k"]
    wait_until(lambda: get_hub().listener.synced, 10, "the listener to subscribe")


def test_requirepass_through_the_url() -> None:
    server = RedisServer("--requirepass", "s3cret-pw")
    try:
        configure(url=f"redis://:s3cret-pw@127.0.0.1:{server.port}/0", namespace="pw")
        exercise()
        configure(url=f"redis://:wrong-pw@127.0.0.1:{server.port}/0", namespace="pw")
        with pytest.raises(ServerStateError) as err:
            server_state.get("k")
        assert not isinstance(err.value, StateUnavailable)
        assert "credentials" in str(err.value) and "wrong-pw" not in str(err.value)
    finally:
        server.close()


def test_acl_user_confined_to_its_namespace() -> None:
    server = RedisServer()
    try:
        admin = server.client()
        confine_user(admin, "app", "app-pw", "app")
        admin.set("srs:{other}:v:secret", b"x")
        configure(url=f"redis://app:app-pw@127.0.0.1:{server.port}/0", namespace="app")
        exercise()
        as_app = redis.Redis(port=server.port, username="app", password="app-pw")
        with pytest.raises(redis.exceptions.NoPermissionError):
            as_app.get("srs:{other}:v:secret")
        configure(url=f"redis://app:app-pw@127.0.0.1:{server.port}/0", namespace="other")
        with pytest.raises(ServerStateError, match=r"NOPERM|permission"):
            server_state["secret"] = 1
        assert admin.get("srs:{other}:v:secret") == b"x"
    finally:
        server.close()


@pytest.fixture
def tls_redis() -> Iterator[tuple[int, Path]]:
    binary = require_binary("redis-server")
    openssl = require_binary("openssl")
    tmp = Path(tempfile.mkdtemp(prefix="srs-tls-"))
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(cert),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--dir",
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        client = redis.Redis(
            host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(cert), socket_timeout=2
        )

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(up, 10, "TLS redis-server")
        yield port, cert
    finally:
        stop_process(proc)


def test_tls(tls_redis: tuple[int, Path]) -> None:
    port, cert = tls_redis
    configure(
        url=f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}&ssl_cert_reqs=required",
        namespace="tls",
    )
    exercise()
    # A client that does not trust the certificate is refused, with a typed error.
    configure(
        url=f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=required",
        namespace="tls",
        connect_timeout=2,
    )
    with pytest.raises(ServerStateError):
        server_state.get("k")


def test_namespaces_cannot_read_overwrite_or_rerun_each_other() -> None:
    server = RedisServer()
    try:
        one = Hub(resolve({"url": server.url, "namespace": "one"}))
        two = Hub(resolve({"url": server.url, "namespace": "two"}))
        one.start()
        two.start()
        try:
            for hub in (one, two):
                wait_until(lambda h=hub: h.listener.synced, 10, "listeners")
            from streamlit_redis_state.base import codec

            one.set("x", codec.encode("one's"))
            seq_two = two.listener.last_seq
            assert two.read("x").blob is None  # cannot read
            two.set("x", codec.encode("two's"))  # cannot overwrite
            assert codec.decode(one.read("x").blob or b"") == "one's"
            one.set("x", codec.encode("one's again"))
            wait_until(lambda: one.listener.last_seq == 2, 5, "one's own notification")
            assert two.listener.last_seq in (seq_two, 1)  # saw only its own write
            assert one.store.keyspace.channel != two.store.keyspace.channel
        finally:
            one.close()
            two.close()
    finally:
        server.close()


def test_presence_works_for_a_confined_user_too() -> None:
    """The presence scripts touch only the namespace's keys (TIME is not a key)."""
    server = RedisServer()
    try:
        confine_user(server.client(), "app", "pw", "app")
        configure(url=f"redis://app:pw@127.0.0.1:{server.port}/0", namespace="app")
        assert presence("room") == []
    finally:
        server.close()
