"""st.connection under a real `streamlit run`, configured by secrets.toml, on a real redis-server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from streamlit_redis_state.cli.commands import main
from support.processes import RedisServer, StreamlitServer
from tests.integration import APPS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def connection_replica(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitServer]:
    """tests/apps/connection_app.py in a folder of its own, beside its .streamlit/secrets.toml."""
    folder = tmp_path_factory.mktemp("connection-app")
    shutil.copy(APPS / "connection_app.py", folder / "app.py")
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "secrets.toml").write_text(
        "[connections.redis_state]\n"
        'type = "streamlit_redis_state.RedisStateConnection"\n'
        f'url = "{redis_server.url}"\n'
        'namespace = "conn-it"\n'
    )
    # Only the secrets file configures it: the environment says nothing.
    env = {
        "STREAMLIT_REDIS_STATE_URL": "",
        "STREAMLIT_REDIS_STATE_NAMESPACE": "",
        "HOME": str(folder),
    }
    server = StreamlitServer(folder / "app.py", env, name="C")
    yield server
    server.stop()


def cli(redis_server: RedisServer, namespace: str, *args: str) -> None:
    assert main(["--url", redis_server.url, "--namespace", namespace, *args]) == 0


def test_st_connection_shares_the_hub_and_reruns_on_changes(
    connection_replica: StreamlitServer, redis_server: RedisServer
) -> None:
    reader = connection_replica.session("key=greeting")
    try:
        run = reader.wait_text("conn:greeting=<missing>")
        assert "same_hub=True" in run.texts and "module:greeting=<missing>" in run.texts
        # A change made elsewhere (the command line) reruns the page that read it
        # through the connection; both views show it.
        cli(redis_server, "conn-it", "set", "greeting", '"hello"')
        run = reader.wait_text("conn:greeting=hello")
        assert "module:greeting=hello" in run.texts
        assert "other:greeting=<missing>" in run.texts
        # The second connection: its namespace from keyword arguments, its URL
        # filled in from [connections.redis_state].
        cli(redis_server, "conn-other", "set", "greeting", '"elsewhere"')
        run = reader.wait_text("other:greeting=elsewhere")
        assert "conn:greeting=hello" in run.texts
        # A write through the connection in one session reruns another.
        writer = connection_replica.session("op=set&key=greeting&val=from a page")
        try:
            reader.wait_text("module:greeting=from a page")
        finally:
            writer.close()
        assert redis_server.client().exists("srs:{conn-it}:v:greeting")
    finally:
        reader.close()
