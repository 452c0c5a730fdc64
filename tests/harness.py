"""Real parts for the integration tiers: redis-server, `streamlit run` replicas, headless sessions.

Every process is started on a free loopback port and stopped by its pid,
never by name. A headless session speaks Streamlit's websocket protocol
(docs/internals.md, "Headless sessions"): it asks for one run, then records every run the server pushes,
which is how a test sees another session's change arrive.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps"
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
    """A throwaway redis-server on a free loopback port."""

    def __init__(self, *extra: str, port: int | None = None) -> None:
        self.binary = require_binary("redis-server")
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
        try:
            return bool(self.client().ping())
        except (redis.AuthenticationError, redis.ResponseError):
            return True  # it answered: up, with a password
        except redis.RedisError:
            return False

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

    def session(self, query: str = "") -> HeadlessSession:
        return HeadlessSession(self.port, query)

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


@dataclass
class Run:
    """One finished script run, as the browser would have shown it."""

    texts: list[str] = field(default_factory=list)
    fragment: bool = False


class HeadlessSession:
    """A browser tab without a browser: a websocket client of Streamlit's protocol."""

    def __init__(self, port: int, query: str = "") -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from websockets.sync.client import connect

        self.port = port
        self.query = query
        self.session_id = ""
        self.runs: list[Run] = []
        self._current = Run()
        self._cond = threading.Condition()
        self._closed = False
        self.ws = connect(
            f"ws://127.0.0.1:{port}/_stcore/stream",
            subprotocols=["streamlit"],
            open_timeout=10,
            max_size=None,
        ).__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_script_hash = ""
        self.ws.send(msg.SerializeToString())

    def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data if isinstance(data, bytes) else data.encode())
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    self.session_id = msg.new_session.initialize.session_id or self.session_id
                    self._current = Run()
                elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    el = msg.delta.new_element
                    which = el.WhichOneof("type")
                    body = getattr(getattr(el, which), "body", None) if which else None
                    if isinstance(body, str):
                        self._current.texts.append(body)
                elif kind == "script_finished":
                    status = msg.script_finished
                    if status in (
                        ForwardMsg.FINISHED_SUCCESSFULLY,
                        ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
                    ):
                        run = self._current
                        run.fragment = status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
                        with self._cond:
                            self.runs.append(run)
                            self._cond.notify_all()
                    self._current = Run()
        except Exception:
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    @property
    def last(self) -> Run:
        with self._cond:
            return self.runs[-1] if self.runs else Run()

    def run_count(self) -> int:
        with self._cond:
            return len(self.runs)

    def wait_for(
        self, predicate: Callable[[Run], bool], timeout: float = 15, what: str = "a run"
    ) -> Run:
        """Wait until the latest finished run satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.runs and predicate(self.runs[-1]):
                    return self.runs[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    shown = self.runs[-1].texts if self.runs else "no run"
                    raise AssertionError(
                        f"session {self.query!r}: timed out waiting for {what}; "
                        f"last run showed {shown}"
                    )
                self._cond.wait(remaining)

    def wait_text(self, text: str, timeout: float = 15) -> Run:
        return self.wait_for(lambda r: text in r.texts, timeout, f"text {text!r}")

    def click(self, query: str | None = None) -> None:
        """Ask for a rerun, as a widget interaction does (optionally with a new query string)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if query is not None:
            self.query = query
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_script_hash = ""
        self.ws.send(msg.SerializeToString())

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        self._thread.join(5)
