"""Compat tier fixtures: one redis-server for the tier, two replicas of the module's app.

A test module names its app with `APP = "counter.py"`; its replicas start once
for the module, on a namespace of their own (`compat-<module>`), and stop by
pid when the module is done. `tabs` opens headless tabs and closes them after
the test, so no subscribed tab outlives it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.processes import RedisServer, StreamlitServer
from support.sessions import HeadlessSession
from tests.compat import APPS, WAIT


@pytest.fixture(scope="session")
def compat_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def replicas(
    request: pytest.FixtureRequest, compat_redis: RedisServer
) -> Iterator[tuple[StreamlitServer, StreamlitServer]]:
    app = APPS / request.module.APP
    module = request.module.__name__.rsplit(".", 1)[-1]
    env = {
        "STREAMLIT_REDIS_STATE_URL": compat_redis.url,
        "STREAMLIT_REDIS_STATE_NAMESPACE": f"compat-{module}",
    }
    a = StreamlitServer(app, env, name="A")
    try:
        b = StreamlitServer(app, env, name="B")
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


class Tabs:
    """Opens tabs on the replicas; closes every one of them when the test ends.

    A tab is open once its first run has finished, as a person waits for a page
    before opening the next: so the first runs of two tabs never race to
    initialise a key (`if "k" not in server_state: server_state.k = 0`), which
    is not what these tests are about.
    """

    def __init__(self, replicas: tuple[StreamlitServer, StreamlitServer]) -> None:
        self.a, self.b = replicas
        self.opened: list[HeadlessSession] = []

    def open(
        self, replica: StreamlitServer, query: str = "", page: str = "", name: str = ""
    ) -> HeadlessSession:
        """A new tab on ``replica``; ``name`` (default: the replica's name) labels failures."""
        tab = replica.session(query, page, name or replica.name)
        self.opened.append(tab)
        tab.wait_for(lambda run: True, WAIT, "its first run")
        return tab

    def close(self) -> None:
        for tab in self.opened:
            tab.close()


@pytest.fixture
def tabs(replicas: tuple[StreamlitServer, StreamlitServer]) -> Iterator[Tabs]:
    opened = Tabs(replicas)
    yield opened
    opened.close()
