"""Where st.connection and the command line find their settings, and in which order."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streamlit_redis_state import ConfigurationError
from streamlit_redis_state.base.sources import read_secrets, secrets_files, settings_for
from streamlit_redis_state.cli.commands import UsageError, settings_from

LIBRARY = {"url": "redis://library:1/0", "namespace": "lib", "lock_lease": 20, "type": "x.Y"}
ENV = {
    "STREAMLIT_REDIS_STATE_URL": "redis://env:2/0",
    "STREAMLIT_REDIS_STATE_NAMESPACE": "env",
    "STREAMLIT_REDIS_STATE_LOCK_TIMEOUT": "7",
}


def test_the_library_section_comes_after_the_environment_as_for_server_state() -> None:
    s = settings_for("redis_state", {}, {"redis_state": LIBRARY}, ENV, "args")
    assert (s.url, s.namespace, s.lock_lease, s.lock_timeout) == (
        "redis://env:2/0",
        "env",
        20.0,
        7.0,
    )
    assert s.source == "environment"
    s = settings_for("redis_state", {}, {"redis_state": LIBRARY}, {}, "args")
    assert (s.url, s.namespace, s.source) == (
        "redis://library:1/0",
        "lib",
        "secrets.toml [connections.redis_state]",
    )


def test_explicit_values_win_over_everything() -> None:
    s = settings_for(
        "redis_state", {"namespace": "kw", "url": None}, {"redis_state": LIBRARY}, ENV, "args"
    )
    assert (s.url, s.namespace) == ("redis://env:2/0", "kw")  # None means "not given"
    s = settings_for(
        "other", {"url": "unix:///tmp/r.sock"}, {"other": {"url": "redis://o:3/0"}}, ENV, "args"
    )
    assert (s.url, s.source) == ("unix:///tmp/r.sock", "args")


def test_another_connections_section_beats_the_environment_which_fills_in() -> None:
    sections = {"redis_state": LIBRARY, "archive": {"namespace": "archive", "type": "a.B"}}
    s = settings_for("archive", {}, sections, ENV, "args")
    # its own namespace; the URL and lock_timeout from the environment; lock_lease from
    # the library's section; its `type` is Streamlit's, not a setting
    assert (s.url, s.namespace, s.lock_timeout, s.lock_lease) == (
        "redis://env:2/0",
        "archive",
        7.0,
        20.0,
    )


def test_nothing_anywhere_is_the_embedded_store() -> None:
    s = settings_for("redis_state", {}, {}, {}, "args")
    assert s.embedded and s.namespace == "default" and s.source == "default"


def test_each_error_names_its_source() -> None:
    with pytest.raises(ConfigurationError, match=r"^args: unknown setting\(s\): nmspace"):
        settings_for("redis_state", {"nmspace": "x"}, {}, {}, "args")
    with pytest.raises(ConfigurationError, match=r"^secrets.toml \[connections.x\]: unknown"):
        settings_for("x", {}, {"x": {"urll": "redis://h/0"}}, {}, "args")
    with pytest.raises(ConfigurationError, match=r"^environment: lock_lease must be a number"):
        settings_for("x", {}, {}, {"STREAMLIT_REDIS_STATE_LOCK_LEASE": "soon"}, "args")
    with pytest.raises(ConfigurationError, match="must start with redis://"):
        settings_for("x", {"url": "http://h"}, {}, {}, "args")


def test_secrets_files_are_read_like_st_secrets(tmp_path: Path) -> None:
    user, project = tmp_path / "user.toml", tmp_path / "project.toml"
    user.write_text(
        '[connections.redis_state]\nurl = "redis://user:1/0"\n[connections.keep]\nx = 1\n'
    )
    project.write_text('top = 1\n[connections.redis_state]\nnamespace = "p"\n')
    # The project's [connections] table replaces the user's whole, as st.secrets does.
    assert read_secrets([user, project, tmp_path / "missing.toml"]) == {
        "redis_state": {"namespace": "p"}
    }
    project.write_text("[connections\n")
    with pytest.raises(ConfigurationError, match=r"project\.toml: not valid TOML"):
        read_secrets([project])
    assert secrets_files(tmp_path)[-1] == tmp_path / ".streamlit" / "secrets.toml"


def cli_args(**given: str) -> argparse.Namespace:
    return argparse.Namespace(**given)


def test_the_command_line_reads_the_secrets_of_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("URL", "NAMESPACE"):
        monkeypatch.delenv(f"STREAMLIT_REDIS_STATE_{name}", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        '[connections.redis_state]\nurl = "redis://fromfile:1/0"\nnamespace = "file"\n'
        '[connections.second]\nnamespace = "two"\n'
    )
    monkeypatch.chdir(tmp_path)
    s = settings_from(cli_args())
    assert (s.url, s.namespace) == ("redis://fromfile:1/0", "file")
    assert settings_from(cli_args(connection="second")).namespace == "two"
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_NAMESPACE", "env")
    assert settings_from(cli_args()).namespace == "env"
    assert settings_from(cli_args(namespace="flag")).namespace == "flag"
    assert settings_from(cli_args(url="redis://flag:2/0")).url == "redis://flag:2/0"


def test_the_command_line_needs_a_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_URL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(UsageError, match="no Redis configured: pass --url"):
        settings_from(cli_args(), cwd=tmp_path)
