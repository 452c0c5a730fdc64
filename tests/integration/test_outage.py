"""Redis going away and coming back, seen from a process using the library directly."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from streamlit_redis_state import StateUnavailable, configure, server_state
from streamlit_redis_state.engine.process import get_hub, reconfigure
from support.processes import RedisServer, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    configure(url=server.url, namespace="outage", socket_timeout=2, connect_timeout=1)
    yield server
    reconfigure({})
    server.close()


def test_unreachable_redis_raises_a_typed_error_quickly_and_recovers(
    own_redis: RedisServer,
) -> None:
    server_state.k = "before"
    assert server_state.k == "before"
    own_redis.stop()
    # Until the listener notices (at once for a closed connection, within the
    # ping deadline for a silent one), an unchanged key may come from the cache.
    wait_until(lambda: not get_hub().listener.synced, 5, "the listener to notice")
    for op in (lambda: server_state.k, lambda: server_state.__setitem__("k", "x")):
        t0 = time.monotonic()
        with pytest.raises(StateUnavailable, match="unreachable"):
            op()
        assert time.monotonic() - t0 < 5
    own_redis.start()  # same port, no persistence: the data is gone
    wait_until(lambda: get_hub().listener.synced, 15, "listener back")
    assert server_state.get("k") is None
    server_state.k = "after"
    assert server_state.k == "after"


def test_a_never_reachable_redis_fails_fast() -> None:
    from support.processes import free_port

    configure(url=f"redis://127.0.0.1:{free_port()}/0", namespace="nowhere", connect_timeout=1)
    try:
        t0 = time.monotonic()
        with pytest.raises(StateUnavailable):
            server_state.get("x")
        assert time.monotonic() - t0 < 5
    finally:
        reconfigure({})
