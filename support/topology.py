"""The `make demo` topology on one machine, without Docker.

redis-server, N `streamlit run` replicas and nginx in front, all on loopback,
the same shape as docker-compose.yml. What is missing degrades and says so:
no nginx prints the replica URLs; no redis-server runs one replica on the
embedded store. With the chat, the bot (examples/chat/bot.py) runs beside
the replicas, as compose's `bot` service does. Taken ports are replaced by
free ones, and said so. Logs are kept after `stop()`, in `logdir`.
`Topology.stop()` stops everything it started, by pid. The browser tier
starts the same topology; support/demo.py is the command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from support.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
# The topology's facts; docker-compose.yml must agree (tests/unit/test_topology.py).
NAMESPACE = "demo"
DEFAULT_PORT = 8500  # nginx; compose publishes the same port
DEFAULT_APP = "examples/chat/app.py"
# The chat's worker: a plain Python process beside the replicas (compose's `bot`).
BOT_SCRIPT = "examples/chat/bot.py"
BOT_ENV = {"PYTHONUNBUFFERED": "1"}
LOGS = ROOT / "demo-logs"
REDIS_ARGS = ["--appendonly", "yes"]
# Streamlit's defaults otherwise, runner.postScriptGC included: the library keeps
# the collection after each run cheap itself (engine/freezer.py).
APP_ENV = {"STREAMLIT_CLIENT_TOOLBAR_MODE": "minimal"}


def find(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None
    )


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def render_nginx(upstreams: list[str], listen: int) -> str:
    """Fill the shared template the way nginx's docker image does (envsubst)."""
    text = NGINX_TEMPLATE.read_text()
    servers = " ".join(f"server {u} max_fails=1 fail_timeout=5s;" for u in upstreams)
    return text.replace("${UPSTREAM_SERVERS}", servers).replace("${LISTEN_PORT}", str(listen))


def nginx_main_conf(workdir: Path, site: Path, logdir: Path | None = None) -> str:
    return (
        f"worker_processes 1;\ndaemon off;\npid {workdir}/nginx.pid;\n"
        f"error_log {logdir or workdir}/nginx-error.log warn;\nevents {{}}\n"
        f"http {{\n  access_log off;\n"
        f"  client_body_temp_path {workdir}/body;\n  proxy_temp_path {workdir}/proxy;\n"
        f"  fastcgi_temp_path {workdir}/fastcgi;\n  uwsgi_temp_path {workdir}/uwsgi;\n"
        f"  scgi_temp_path {workdir}/scgi;\n  include {site};\n}}\n"
    )


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"a demo process exited early:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {url}")


class Topology:
    """Starts and stops the demo's processes."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.procs: list[subprocess.Popen[bytes]] = []
        #: The processes without which the demo is down (the bot is not one of them).
        self.essential: list[subprocess.Popen[bytes]] = []
        # Scratch space (Redis's data, nginx's temp files) goes when stopped; logs stay.
        self.workdir = Path(tempfile.mkdtemp(prefix="srs-demo-"))
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.logdir = Path(getattr(args, "logs", None) or LOGS / stamp)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.url = ""
        self.redis_url: str | None = None
        self.replica_urls: list[str] = []
        self.bot: subprocess.Popen[bytes] | None = None
        self._bot_env: dict[str, str] | None = None

    def _spawn(
        self,
        args: list[str],
        log: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        essential: bool = True,
    ) -> subprocess.Popen[bytes]:
        out = open(self.logdir / log, "ab")
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )
        self.procs.append(proc)
        if essential:
            self.essential.append(proc)
        return proc

    def start(self) -> None:
        args = self.args
        redis_server = find("redis-server")
        replicas = args.replicas
        env = {**os.environ}
        if redis_server:
            redis_port = (
                self._pick(args.redis_port, "--redis-port") if args.redis_port else free_port()
            )
            data = self.workdir / "redis"
            data.mkdir()
            proc = self._spawn(
                [
                    redis_server,
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(data),
                    *REDIS_ARGS,
                    "--save",
                    "",
                ],
                "redis.log",
            )
            self._wait_redis(redis_port, proc)
            self.redis_url = f"redis://127.0.0.1:{redis_port}/0"
            env["STREAMLIT_REDIS_STATE_URL"] = self.redis_url
            env["STREAMLIT_REDIS_STATE_NAMESPACE"] = NAMESPACE
            print(f"redis-server  redis://127.0.0.1:{redis_port}  (pid {proc.pid})")
            if getattr(args, "bot", True) and Path(args.app).resolve() == (ROOT / DEFAULT_APP):
                self._bot_env = {**env, **BOT_ENV}
                self.start_bot()
        else:
            print(
                "redis-server not found: using the embedded store with ONE replica "
                "(state is process-local; install redis-server for the real topology)"
            )
            replicas = 1
            env.pop("STREAMLIT_REDIS_STATE_URL", None)

        cookie_secret = secrets.token_hex(16)
        base = args.port
        ports = [self._pick(base + 1 + i, f"replica-{i + 1}") for i in range(replicas)]
        for i, port in enumerate(ports):
            name = f"replica-{i + 1}"
            proc = self._spawn(
                [
                    sys.executable,
                    "-m",
                    "streamlit",
                    "run",
                    str(Path(args.app).resolve()),
                    "--server.port",
                    str(port),
                    "--server.address",
                    "127.0.0.1",
                    "--server.headless",
                    "true",
                    "--browser.gatherUsageStats",
                    "false",
                ],
                f"{name}.log",
                cwd=ROOT,
                # One cookie secret for all replicas (docs/internals.md, "Load balancers"), as in compose.
                env={
                    **env,
                    **APP_ENV,
                    "SRS_REPLICA": name,
                    "STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret,
                },
            )
            wait_http(
                f"http://127.0.0.1:{port}/_stcore/health", 60, proc, self.logdir / f"{name}.log"
            )
            self.replica_urls.append(f"http://127.0.0.1:{port}")
            print(f"{name:<13} http://127.0.0.1:{port}  (pid {proc.pid})")

        nginx = find("nginx")
        if nginx and replicas > 1:
            listen = self._pick(base, "--port")
            site = self.workdir / "site.conf"
            site.write_text(render_nginx([f"127.0.0.1:{p}" for p in ports], listen))
            main = self.workdir / "nginx.conf"
            main.write_text(nginx_main_conf(self.workdir, site, self.logdir))
            proc = self._spawn([nginx, "-c", str(main), "-p", str(self.workdir)], "nginx.log")
            wait_http(
                f"http://127.0.0.1:{listen}/_stcore/health",
                20,
                proc,
                self.logdir / "nginx-error.log",
            )
            self.url = f"http://127.0.0.1:{listen}"
            print(f"nginx         {self.url}  (pid {proc.pid})")
        else:
            if replicas > 1:
                print(
                    "nginx not found: open the replicas directly (install nginx for a "
                    "load balancer with sticky sessions)"
                )
            self.url = self.replica_urls[0]
        print(f"\nlogs (kept after exit) in {self.logdir}/:")
        for log in sorted(self.logdir.glob("*.log")):
            print(f"  {log}")
        print(f"\nOpen {self.url}   (Ctrl-C stops everything)\n", flush=True)

    def _pick(self, port: int, what: str) -> int:
        """``port`` if it is free, else a free one (and say so)."""
        if port and port_free(port):
            return port
        chosen = free_port()
        if port:
            print(f"port {port} ({what}) is taken: using {chosen} instead")
        return chosen

    def start_bot(self) -> None:
        """Start the chat's bot (again): a worker process outside Streamlit."""
        if self._bot_env is None:
            raise RuntimeError("this topology runs no bot (no redis-server, or another app)")
        if self.bot is not None and self.bot.poll() is None:
            return
        self.bot = self._spawn(
            [sys.executable, str(ROOT / BOT_SCRIPT)],
            "bot.log",
            env=self._bot_env,
            cwd=ROOT,
            essential=False,
        )
        print(f"{'bot':<13} {BOT_SCRIPT}  (pid {self.bot.pid})")

    def stop_bot(self, kill: bool = False) -> None:
        """Stop the bot by its pid: SIGKILL with ``kill`` (a crash), else SIGTERM."""
        bot, self.bot = self.bot, None
        if bot is None or bot.poll() is not None:
            return
        bot.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            bot.wait(10)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait(5)

    @staticmethod
    def _wait_redis(port: int, proc: subprocess.Popen[bytes]) -> None:
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit("redis-server exited early")
            try:
                if redis.Redis(port=port, socket_timeout=1).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise SystemExit("redis-server did not answer")

    def stop(self) -> None:
        """Stop everything by pid: Redis last, so nobody logs its loss on the way out."""
        redis = self.procs[:1] if self.redis_url else []
        for batch in ([p for p in self.procs if p not in redis], redis):
            for proc in reversed(batch):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in reversed(batch):
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self.procs.clear()
        self.essential.clear()
        self.bot = None
        shutil.rmtree(self.workdir, ignore_errors=True)
