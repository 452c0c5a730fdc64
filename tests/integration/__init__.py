"""Integration tier: real redis-server and Streamlit processes (support/)."""

from pathlib import Path

#: The Streamlit apps the integration tests run as replicas.
APPS = Path(__file__).resolve().parent.parent / "apps"

#: The servers the core tests run against: Redis, and Valkey, its open-source
#: fork. A module runs against both with `pytestmark` holding
#: ``pytest.mark.parametrize("server_binary", SERVERS, indirect=True, scope="module")``
#: (the `server_binary` fixture, in conftest.py).
SERVERS = ["redis-server", "valkey-server"]
