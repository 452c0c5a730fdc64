"""Integration tier: real redis-server and Streamlit processes (support/)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from support.processes import StreamlitServer

#: The Streamlit apps the integration tests run as replicas.
APPS = Path(__file__).resolve().parent.parent / "apps"

#: The servers the core tests run against: Redis, and Valkey, its open-source
#: fork. A module runs against both with `pytestmark` holding
#: ``pytest.mark.parametrize("server_binary", SERVERS, indirect=True, scope="module")``
#: (the `server_binary` fixture, in conftest.py).
SERVERS = ["redis-server", "valkey-server"]


def write_in_a_reruns_a_reader_in_b(a: StreamlitServer, b: StreamlitServer) -> None:
    """A session of replica ``a`` writes (tests/apps/state_app.py); a reader on ``b`` shows it."""
    reader = b.session("key=cross")
    reader.wait_text("cross=<missing>")
    writer = a.session("op=set&key=cross&val=hello")
    try:
        writer.wait_text(f"replica={a.name}")
        run = reader.wait_text("cross=hello")
        assert f"replica={b.name}" in run.texts
    finally:
        writer.close()
        reader.close()
