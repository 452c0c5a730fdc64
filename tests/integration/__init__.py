"""Integration tier: real redis-server and Streamlit processes (support/)."""

from pathlib import Path

#: The Streamlit apps the integration tests run as replicas.
APPS = Path(__file__).resolve().parent.parent / "apps"
