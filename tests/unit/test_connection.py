"""st.connection: secrets.toml and keyword arguments, one hub per configuration, shared."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from streamlit_redis_state import (
    ConfigurationError,
    RedisStateConnection,
    RerunSuppressed,
    no_rerun,
    server_state,
)
from streamlit_redis_state.engine import process


@pytest.fixture
def app_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An app's folder as the current one, with fresh secrets, caches and process hubs."""
    for name in ("URL", "NAMESPACE"):
        monkeypatch.delenv(f"STREAMLIT_REDIS_STATE_{name}", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / ".streamlit").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(st.secrets, "_secrets", None)
    saved = (dict(process._hubs), dict(process._pinned), process.install(None))
    st.cache_resource.clear()
    yield tmp_path
    st.cache_resource.clear()
    started = [h for s, h in process._hubs.items() if saved[0].get(s) is not h]
    process._hubs.clear()
    process._hubs.update(saved[0])
    process._pinned.clear()
    process._pinned.update(saved[1])
    process.install(saved[2])
    for hub in started:
        hub.close()


def secrets(folder: Path, text: str) -> None:
    (folder / ".streamlit" / "secrets.toml").write_text(textwrap.dedent(text))
    st.secrets._secrets = None  # type: ignore[attr-defined]


def test_a_type_in_secrets_and_the_module_state_share_one_hub(app_folder: Path) -> None:
    secrets(
        app_folder,
        """
        [connections.redis_state]
        type = "streamlit_redis_state.RedisStateConnection"
        namespace = "conn-a"
        lock_timeout = "4"
        """,
    )
    conn = st.connection("redis_state")
    assert isinstance(conn, RedisStateConnection)
    hub = conn._instance
    assert hub is process.get_hub()  # one listener, one cache for both
    assert (hub.settings.namespace, hub.settings.lock_timeout) == ("conn-a", 4.0)
    conn.server_state["shared"] = (1, "x")
    assert server_state["shared"] == (1, "x")
    server_state.back = {"a"}
    assert conn.server_state.back == {"a"}
    with conn.server_state_lock["shared"]:
        assert conn.server_state_lock["shared"].key == "shared"
    assert "embedded in-process store, namespace 'conn-a'" in repr(conn)


def test_keyword_arguments_win_and_make_another_hub(app_folder: Path) -> None:
    secrets(app_folder, '[connections.redis_state]\nnamespace = "conn-a"\n')
    conn = st.connection("redis_state", type=RedisStateConnection, namespace="conn-b")
    assert conn._instance.settings.namespace == "conn-b"
    assert conn._instance is not process.get_hub()
    conn.server_state["k"] = 1
    assert "k" not in server_state
    again = st.connection("redis_state", type=RedisStateConnection, namespace="conn-b")
    assert again._instance is conn._instance  # the same configuration, the same hub


def test_a_named_connection_reads_its_own_section(app_folder: Path) -> None:
    secrets(
        app_folder,
        """
        [connections.redis_state]
        namespace = "lib"
        presence_ttl = 30
        [connections.archive]
        namespace = "archive"
        """,
    )
    conn = st.connection("archive", type="streamlit_redis_state.RedisStateConnection")
    settings = conn._instance.settings
    assert (settings.namespace, settings.presence_ttl) == ("archive", 30.0)
    assert settings.source == "default"  # no URL anywhere: the embedded store


def test_bad_settings_name_their_source(app_folder: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"st.connection\('x'\) arguments: unknown"):
        st.connection("x", type=RedisStateConnection, nmespace="typo")
    secrets(app_folder, '[connections.y]\nurl = "http://nope"\n')
    with pytest.raises(ConfigurationError, match="must start with redis://"):
        st.connection("y", type=RedisStateConnection)


def test_the_connection_has_the_whole_api(app_folder: Path) -> None:
    conn = st.connection("api", type=RedisStateConnection, namespace="api")
    assert conn.no_rerun is no_rerun
    assert conn.presence("room") == []
    conn.force_rerun_bound_sessions("k")
    with conn.no_rerun, pytest.raises(RerunSuppressed):
        conn.force_rerun_bound_sessions("k")
    conn.server_state.set("ttl", 1, ttl=60)
    assert conn.server_state.expire("ttl", None)
    conn.close()  # nothing to close: the hub stays, shared
    assert conn.server_state.ttl == 1


def test_the_package_imports_streamlit_only_for_the_connection() -> None:
    code = (
        "import sys, streamlit_redis_state as s\n"
        "print('streamlit' in sys.modules)\n"
        "s.RedisStateConnection\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
