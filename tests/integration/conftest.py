"""Integration tier: one real redis-server and two real Streamlit replicas for the module."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.processes import RedisServer, StreamlitServer
from tests.integration import APPS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_binary(request: pytest.FixtureRequest) -> str:
    """The server program: redis-server, unless the module parametrizes it."""
    return str(getattr(request, "param", "redis-server"))


@pytest.fixture(scope="module")
def redis_server(server_binary: str) -> Iterator[RedisServer]:
    server = RedisServer(binary=server_binary)
    yield server
    server.close()


@pytest.fixture(scope="module")
def run_log() -> Iterator[Path]:
    path = Path(tempfile.mkstemp(prefix="srs-runs-", suffix=".log")[1])
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def replicas(
    redis_server: RedisServer, run_log: Path
) -> Iterator[tuple[StreamlitServer, StreamlitServer]]:
    env = {
        "STREAMLIT_REDIS_STATE_URL": redis_server.url,
        "STREAMLIT_REDIS_STATE_NAMESPACE": "it",
        "SRS_TEST_RUN_LOG": str(run_log),
    }
    a = StreamlitServer(APPS / "state_app.py", env, name="A")
    try:
        b = StreamlitServer(APPS / "state_app.py", env, name="B")
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()
