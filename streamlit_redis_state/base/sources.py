"""Where an ``st.connection`` and the command line find their settings.

Highest precedence first:

1. explicit values: ``st.connection``'s keyword arguments, the command line's
   ``--url`` and ``--namespace``;
2. the connection's own section, ``[connections.<name>]`` of secrets.toml,
   when ``<name>`` is not ``redis_state``;
3. the environment (``STREAMLIT_REDIS_STATE_URL``, ``..._NAMESPACE``, and
   ``STREAMLIT_REDIS_STATE_<OPTION>`` for every option);
4. ``[connections.redis_state]`` of secrets.toml, the library's own section.

For the name ``redis_state``, 2 and 4 are the same section, and it comes
after the environment, as it does for ``server_state``: without explicit
values, ``st.connection("redis_state", ...)`` and the command line use exactly
the configuration ``server_state`` uses (``configure()`` aside), so they
share its hub and its keys.

Why a section of another name beats the environment: the environment
configures the library for the whole process, while a second connection
exists to be different (another namespace, another Redis). Why the
environment still fills in what a connection leaves out: a deployment that
sets ``STREAMLIT_REDIS_STATE_URL`` on every replica means every connection of
the app too; without it, ``st.connection("x", namespace="y")`` would silently
use a private in-process store on each replica.

This module never imports Streamlit: the command line reads secrets.toml
itself, from the same files ``st.secrets`` reads by default.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import SECRETS_SECTION, Settings, from_values
from .errors import ConfigurationError

#: The settings a source may give (every field of Settings but its label).
OPTIONS = tuple(name for name in Settings.__dataclass_fields__ if name != "source")
ENV_PREFIX = "STREAMLIT_REDIS_STATE_"


def environment_values(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings the environment gives (empty variables count as unset)."""
    out: dict[str, str] = {}
    for name in OPTIONS:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw:
            out[name] = raw
    return out


def _given(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "type" and v not in (None, "")}


def settings_for(
    name: str,
    explicit: Mapping[str, Any],
    sections: Mapping[str, Mapping[str, Any]],
    environ: Mapping[str, str],
    explicit_source: str,
) -> Settings:
    """The settings of connection ``name``, from the sources in the module docstring.

    ``sections`` maps connection names to their secrets.toml sections (the
    library's own under ``redis_state``). Each source is checked on its own,
    so an error names the source it is in. ``Settings.source`` names the
    source of the URL.
    """
    library = dict(sections.get(SECRETS_SECTION, {}))
    if name != SECRETS_SECTION:
        # The library's section only fills in for another connection; what
        # it holds beside the options (a `type`) is not this one's business.
        library = {k: v for k, v in library.items() if k in OPTIONS}
    layers: list[tuple[Mapping[str, Any], str]] = [
        (library, f"secrets.toml [connections.{SECRETS_SECTION}]"),
        (environment_values(environ), "environment"),
    ]
    if name != SECRETS_SECTION:
        layers.append((sections.get(name, {}), f"secrets.toml [connections.{name}]"))
    layers.append((explicit, explicit_source))
    merged: dict[str, Any] = {}
    source = "default"
    for values, where in layers:
        given = _given(values)
        if not given:
            continue
        checked = from_values(given, where)  # types converted, names and values checked
        merged.update({k: getattr(checked, k) for k in given})
        if "url" in given:
            source = where
    return from_values(merged, source)


# -- secrets.toml, read the way st.secrets reads it ------------------------------


def secrets_files(cwd: Path | None = None) -> list[Path]:
    """The files ``st.secrets`` reads by default, later ones winning: the user's, the project's."""
    return [
        Path.home() / ".streamlit" / "secrets.toml",
        (cwd or Path.cwd()) / ".streamlit" / "secrets.toml",
    ]


def read_secrets(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """The ``[connections.*]`` sections of the secrets files that exist.

    As in ``st.secrets``, a later file replaces an earlier file's top-level
    tables (a project's ``[connections]`` hides the user's). Needs Python
    3.11's ``tomllib``; on 3.10, Streamlit reads them (slower to start).
    """
    if sys.version_info >= (3, 11):
        import tomllib

        merged: dict[str, Any] = {}
        for path in paths:
            try:
                text = path.read_text("utf-8")
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise ConfigurationError(f"{path}: cannot be read: {exc}") from None
            try:
                merged.update(tomllib.loads(text))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
        return _connections(merged)
    return _read_secrets_with_streamlit()  # pragma: no cover - Python 3.10 only


def _read_secrets_with_streamlit() -> dict[str, dict[str, Any]]:  # pragma: no cover
    import streamlit as st

    try:
        return _connections(st.secrets.to_dict())
    except Exception:  # no secrets file: nothing to read
        return {}


def _connections(secrets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    connections = secrets.get("connections", {})
    if not isinstance(connections, Mapping):
        return {}
    return {k: dict(v) for k, v in connections.items() if isinstance(v, Mapping)}


__all__ = [
    "ENV_PREFIX",
    "OPTIONS",
    "environment_values",
    "read_secrets",
    "secrets_files",
    "settings_for",
]
