"""Real processes on free loopback ports: redis-server and `streamlit run` replicas.

Every process is started on a free loopback port and stopped by its pid,
never by name. A replica's `session()` opens a headless session
(support/sessions.py) on it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from support.sessions import HeadlessSession

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(cond: Callable[[], bool], timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop one process we started, by pid: SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def require_binary(name: str) -> str:
    """The path of a program a tier needs; missing means a failure in CI, a skip elsewhere."""
    import pytest

    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if path:
        return path
    message = f"{name} is not installed (make test installs it: apt-get install {name})"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")


class RedisServer:
    """A throwaway redis-server (or valkey-server, its fork) on a free loopback port."""

    def __init__(self, *extra: str, port: int | None = None, binary: str = "redis-server") -> None:
        self.binary = require_binary(binary)
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="srs-redis-"))
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
            *self.extra,
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_until(self._pings, 10, f"redis-server on port {self.port}")
        except BaseException:
            self.stop()  # never leave a process behind when start-up fails
            raise

    def _pings(self) -> bool:
        # No retries: redis-py's default ones back off for seconds on a
        # refused connection, and on the NOAUTH of a password-protected server.
        probe = redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        try:
            return bool(probe.ping())
        except (redis.AuthenticationError, redis.ResponseError):
            return True  # it answered: up, with a password
        except redis.RedisError:
            return False
        finally:
            probe.close()

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown save, as in a crash."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def restart(self, *extra: str) -> None:
        """Stop, then start on the same port (and data directory) with new arguments."""
        self.stop()
        self.extra = list(extra)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def command_calls(
        self, ignore: tuple[str, ...] = ("ping", "info", "client", "hello", "subscribe", "config")
    ) -> dict[str, int]:
        """Calls per command since the last CONFIG RESETSTAT."""
        stats = self.client().info("commandstats")
        out: dict[str, int] = {}
        for name, value in stats.items():
            cmd = name.removeprefix("cmdstat_").split("|")[0]
            if cmd not in ignore:
                out[cmd] = out.get(cmd, 0) + int(value["calls"])
        return out


#: What one health check (tick.lua, once per ping_interval in every process)
#: costs in ``INFO commandstats``, whatever else runs. ZREMRANGEBYSCORE is its
#: alone, so it counts the health checks that landed in a measurement.
TICK = {
    "evalsha": 1,
    "time": 1,
    "hget": 2,
    "zrangebyscore": 1,
    "set": 1,
    "zadd": 1,
    "zremrangebyscore": 1,
}


def without_ticks(calls: dict[str, int]) -> dict[str, int]:
    """``calls`` (from :meth:`RedisServer.command_calls`) minus the health checks among them.

    A write's cost measured over a window of a second or so catches, now and
    then, a health check of any process: not a cost of the write.
    """
    ticks = calls.get("zremrangebyscore", 0)
    left = {name: n - ticks * TICK.get(name, 0) for name, n in calls.items()}
    return {name: n for name, n in left.items() if n}


class StreamlitServer:
    """One `streamlit run` process: a replica."""

    def __init__(
        self,
        app: Path,
        env: dict[str, str],
        port: int | None = None,
        name: str = "replica",
        asgi: bool = False,
        python: str = sys.executable,
    ) -> None:
        self.app = app
        self.port = port or free_port()
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"srs-{name}-", suffix=".log")[1])
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", "SRS_REPLICA": name}
        if asgi:  # `app` is a module holding `app = st.App(...)`, served by uvicorn
            args = [python, "-m", "uvicorn", f"{app.stem}:app"]
            args += ["--host", "127.0.0.1", "--port", str(self.port)]
        else:
            args = [python, "-m", "streamlit", "run", str(app)]
            args += ["--server.port", str(self.port), "--server.address", "127.0.0.1"]
            args += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
            args += ["--server.fileWatcherType", "none", "--server.runOnSave", "false"]
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            args, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT, cwd=str(app.parent)
        )
        try:
            wait_until(self._healthy, 60, f"streamlit {name} on port {self.port}", interval=0.1)
        except BaseException:
            self.stop()  # never leave a process behind when start-up fails
            raise

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"streamlit {self.name} exited:\n{self.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/_stcore/health", timeout=1
            ) as r:
                return bool(r.read() == b"ok")
        except OSError:
            return False

    def session(self, query: str = "", page: str = "", name: str = "") -> HeadlessSession:
        """A new tab on this replica, at ``/<page>?<query>``."""
        return HeadlessSession(self.port, query, page, name)

    def stop(self) -> None:
        stop_process(self.proc)
        self._log_file.close()
        self.log.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the replica: its locks and presence are left to their leases."""
        self.proc.kill()
        self.proc.wait(10)
        self.stop()

    def output(self) -> str:
        return self.log.read_text(errors="replace")
