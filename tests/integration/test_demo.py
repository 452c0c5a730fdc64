"""`make demo` as a person runs it: taken ports are replaced, the bot starts, logs are kept."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from support.processes import free_port, require_binary
from support.topology import ROOT

pytestmark = pytest.mark.integration


def test_demo_replaces_a_taken_redis_port_starts_the_bot_and_keeps_its_logs(
    tmp_path: Path,
) -> None:
    require_binary("redis-server")
    logs = tmp_path / "logs"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "support.demo",
                "--replicas",
                "1",
                "--port",
                str(free_port()),
                "--redis-port",
                str(port),
                "--logs",
                str(logs),
                "--for-seconds",
                "3",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert f"port {port} (--redis-port) is taken: using" in out
    for name in ("redis.log", "replica-1.log", "bot.log"):
        assert (logs / name).exists(), out
        assert str(logs / name) in out  # its path is printed
    assert f"logs kept in {logs}" in out
    assert "moodbot is watching the rooms" in (logs / "bot.log").read_text()
