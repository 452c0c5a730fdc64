"""docker-compose.yml and `make demo` (support/topology.py) describe the same topology."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import topology

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_the_same_services() -> None:
    assert set(compose()["services"]) == {"redis", "app", "bot", "nginx"}


def test_the_bot_runs_beside_the_replicas_on_the_same_state() -> None:
    services = compose()["services"]
    bot, app = services["bot"], services["app"]
    assert bot["command"] == ["python", topology.BOT_SCRIPT]
    assert (ROOT / topology.BOT_SCRIPT).exists()
    assert bot["build"] == app["build"]  # the same image: the Dockerfile installs its extra
    for name in ("STREAMLIT_REDIS_STATE_URL", "STREAMLIT_REDIS_STATE_NAMESPACE"):
        assert bot["environment"][name] == app["environment"][name]
    for name, value in topology.BOT_ENV.items():
        assert bot["environment"][name] == value
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "ports" not in bot and "expose" not in bot


def test_the_image_has_what_the_bot_needs() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(d.lower().startswith("vadersentiment") for d in extras["demo"])
    assert "streamlit-redis-state[demo]" in extras["test"]  # the tests run the bot
    assert '".[demo]"' in (ROOT / "Dockerfile").read_text()
    assert "'.[test,demo]'" in (ROOT / "Makefile").read_text()  # so does make demo


def test_redis_is_persistent_and_private() -> None:
    redis = compose()["services"]["redis"]
    assert redis["command"][0] == "redis-server"
    assert redis["command"][1:] == topology.REDIS_ARGS
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "ports" not in redis


def test_replicas_run_the_same_app_with_the_same_settings() -> None:
    app = compose()["services"]["app"]
    env = app["environment"]
    assert env["STREAMLIT_REDIS_STATE_NAMESPACE"] == topology.NAMESPACE
    assert env["STREAMLIT_REDIS_STATE_URL"].startswith("redis://redis:")
    assert "STREAMLIT_SERVER_COOKIE_SECRET" in env  # shared by every replica, as in the demo
    for name, value in topology.APP_ENV.items():
        assert env[name] == value
    # Streamlit's defaults, as users run it: the library keeps the post-run
    # collection cheap itself (README, Performance).
    assert "STREAMLIT_RUNNER_POST_SCRIPT_GC" not in {**env, **topology.APP_ENV}
    assert topology.DEFAULT_APP in app["command"]
    assert topology.DEFAULT_APP in (ROOT / "Dockerfile").read_text()
    assert (ROOT / topology.DEFAULT_APP).exists()
    assert "_stcore/health" in " ".join(app["healthcheck"]["test"])


def test_nginx_uses_the_one_template_with_the_same_values() -> None:
    nginx = compose()["services"]["nginx"]
    mount = next(v for v in nginx["volumes"] if "nginx.conf.template" in v)
    assert (ROOT / mount.split(":")[0]).resolve() == topology.NGINX_TEMPLATE
    env = nginx["environment"]
    assert nginx["ports"] == [f"{topology.DEFAULT_PORT}:{env['LISTEN_PORT']}"]
    assert int(env["LISTEN_PORT"]) == topology.DEFAULT_PORT
    template = topology.NGINX_TEMPLATE.read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", template))
    assert placeholders == {"UPSTREAM_SERVERS", "LISTEN_PORT"} <= set(env)
    # What docker's envsubst makes of the template is what the demo renders.
    port = compose()["services"]["app"]["expose"][0]
    by_compose = template.replace("${UPSTREAM_SERVERS}", env["UPSTREAM_SERVERS"]).replace(
        "${LISTEN_PORT}", env["LISTEN_PORT"]
    )
    assert topology.render_nginx([f"app:{port}"], topology.DEFAULT_PORT) == by_compose


def test_sticky_sessions_and_websockets_are_configured() -> None:
    text = topology.NGINX_TEMPLATE.read_text()
    for needle in (
        "hash $srs_route consistent",
        "proxy_http_version 1.1",
        "Upgrade",
        "$http_host",
        "proxy_buffering off",
        "/_stcore/health",
    ):
        assert needle in text
