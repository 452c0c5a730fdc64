"""Configuration sources, precedence and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamlit_redis_state import ConfigurationError, configure
from streamlit_redis_state.base.config import Settings, resolve


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_URL", raising=False)
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_NAMESPACE", raising=False)
    monkeypatch.setattr("streamlit_redis_state.base.config._from_secrets", lambda: {})
    s = resolve({})
    assert s.embedded and s.namespace == "default"


def test_precedence_configure_then_env_then_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "streamlit_redis_state.base.config._from_secrets",
        lambda: {"url": "redis://secrets:1/0", "namespace": "fromsecrets"},
    )
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_URL", raising=False)
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_NAMESPACE", raising=False)
    assert resolve({}).url == "redis://secrets:1/0"
    assert resolve({}).namespace == "fromsecrets"
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_URL", "rediss://:pw@env:2/0")
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_NAMESPACE", "fromenv")
    assert resolve({}).url == "rediss://:pw@env:2/0" and resolve({}).namespace == "fromenv"
    s = resolve({"url": "unix:///tmp/r.sock", "namespace": "fromcode"})
    assert s.url == "unix:///tmp/r.sock" and s.namespace == "fromcode"


def test_secrets_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        '[connections.redis_state]\nurl = "redis://127.0.0.1:9/0"\nnamespace = "app1"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_URL", raising=False)
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_NAMESPACE", raising=False)
    import streamlit as st

    st.secrets._secrets = None  # forget secrets loaded from another directory
    monkeypatch.setattr(st.secrets, "_secrets", None)
    s = resolve({})
    assert (s.url, s.namespace) == ("redis://127.0.0.1:9/0", "app1")


@pytest.mark.parametrize(
    "overrides",
    [
        {"url": "http://x"},
        {"namespace": "has space"},
        {"namespace": "{tag}"},
        {"lock_lease": 0},
        {"max_value_bytes": 10},
        {"nonsense": 1},
    ],
)
def test_bad_configuration_is_refused_where_it_is_made(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        configure(**overrides)  # type: ignore[arg-type]


def test_password_is_redacted() -> None:
    s = Settings(url="redis://user:secret@host:6379/0")
    assert "secret" not in s.redacted_url() and "user:***@" in s.redacted_url()


def test_every_option_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "streamlit_redis_state.base.config._from_secrets", lambda: {"lock_lease": "7"}
    )
    assert resolve({}).lock_lease == 7.0
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_LOCK_LEASE", "3.5")
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_MAX_VALUE_BYTES", "4096")
    s = resolve({})
    assert (s.lock_lease, s.max_value_bytes) == (3.5, 4096)
    assert resolve({"lock_lease": 9}).lock_lease == 9
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_PING_DEADLINE", "soon")
    with pytest.raises(ConfigurationError, match="PING_DEADLINE"):
        resolve({})
