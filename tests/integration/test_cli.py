"""The command line against a real redis-server: as a subprocess, as a function, and with replicas.

Each test uses its own namespace of the module's redis-server; the replicas
(namespace "it", tests/apps/state_app.py) show that a write made by the tool
reruns the sessions of every replica.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from streamlit_redis_state import ServerState
from streamlit_redis_state.base import codec
from streamlit_redis_state.base.config import resolve
from streamlit_redis_state.cli.commands import main
from streamlit_redis_state.edges.bridge import NoSession
from streamlit_redis_state.engine.hub import Hub
from support.processes import RedisServer, StreamlitServer, wait_until
from tests.integration.test_security import confine_user

pytestmark = pytest.mark.integration

#: The console script pip installed beside this interpreter.
SCRIPT = str(Path(sys.executable).with_name("streamlit-redis-state"))

VALUE = {
    "tuple": (1, "two", None),
    "set": {3, 1},
    "bytes": b"\x00\xff",
    "when": dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
    "money": Decimal("1.10"),
    "id": uuid.UUID(int=7),
    "big": 2**70,
    1: "an int key",
}


def cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """The tool as an operator runs it: the console script, in a process of its own."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_REDIS_STATE_")}
    full_env.update(env or {})
    return subprocess.run(
        [SCRIPT, *args],
        env=full_env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The tool as a function, in this process."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    return "cli-" + request.node.name.removeprefix("test_")[:40].replace("[", "-").rstrip("]")


@pytest.fixture
def library(redis_server: RedisServer, namespace: str) -> Iterator[ServerState]:
    """The library's view of the test's namespace: a plain worker's server_state."""
    hub = Hub(resolve({"url": redis_server.url, "namespace": namespace}), bridge=NoSession())
    hub.start()
    yield ServerState(lambda: hub)
    hub.close()


def stored(redis_server: RedisServer, namespace: str) -> dict[str, Any]:
    """Every state name of a namespace with its raw contents (bytes, or a list of bytes)."""
    client = redis_server.client()
    out: dict[str, Any] = {}
    for name in client.scan_iter(match=f"srs:{{{namespace}}}:*"):
        text = name.decode()
        part = text.split(":", 2)[2]
        if part.startswith("v:"):
            out[part] = client.get(name)
        elif part.startswith("l:"):
            out[part] = client.lrange(name, 0, -1)
    return out


def test_set_get_keys_del_as_a_function(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, namespace: str
) -> None:
    where = ["--url", redis_server.url, "--namespace", namespace]
    from streamlit_redis_state.cli.tagged_json import dumps

    assert run(capsys, *where, "set", "k", dumps(VALUE))[0] == 0
    # Exactly the bytes the library writes for the same value.
    assert stored(redis_server, namespace)["v:k"] == codec.encode(VALUE)
    code, out, _ = run(capsys, *where, "get", "k")
    assert code == 0 and json.loads(out) == json.loads(dumps(VALUE))
    # What get printed, set again, is no change at all.
    assert run(capsys, *where, "set", "k", out)[0] == 0
    code, out, _ = run(capsys, *where, "keys", "--json")
    assert [(r["key"], r["kind"], r["version"]) for r in json.loads(out)] == [("k", "value", 1)]
    assert run(capsys, *where, "del", "k")[0] == 0
    code, _, err = run(capsys, *where, "get", "k")
    assert code == 1 and f"no key 'k' in namespace '{namespace}'" in err
    code, _, err = run(capsys, *where, "del", "k")
    assert code == 1 and err.count("\n") == 1


def test_keys_shows_kind_items_bytes_version_and_lifetime(
    redis_server: RedisServer, namespace: str, library: ServerState
) -> None:
    library.append("chat", "hi", {"from": "bob"})
    library.append("chat", "third")
    library.set("session", "abc", ttl=60)
    library["plain"] = [1, 2]
    out = cli("keys", "--json", "--url", redis_server.url, "--namespace", namespace)
    assert out.returncode == 0, out.stderr
    rows = {r["key"]: r for r in json.loads(out.stdout)}
    raw = stored(redis_server, namespace)
    assert rows["chat"]["kind"] == "list" and rows["chat"]["items"] == 3
    assert rows["chat"]["bytes"] == sum(len(b) for b in raw["l:chat"])
    assert rows["chat"]["version"] == 2 and rows["chat"]["ttl"] is None
    assert rows["plain"] == {
        "key": "plain",
        "kind": "value",
        "version": 1,
        "bytes": len(raw["v:plain"]),
        "items": None,
        "ttl": None,
    }
    assert 55 < rows["session"]["ttl"] <= 60
    table = cli("keys", "--url", redis_server.url, "--namespace", namespace).stdout.splitlines()
    assert table[0].split() == ["KEY", "KIND", "ITEMS", "BYTES", "VERSION", "TTL"]
    assert table[1].split()[:3] == ["chat", "list", "3"]


def test_a_write_from_the_tool_reruns_sessions_on_every_replica(
    replicas: tuple[StreamlitServer, StreamlitServer], redis_server: RedisServer
) -> None:
    a, b = replicas
    readers = [a.session("key=from-cli"), b.session("key=from-cli")]
    env = {"STREAMLIT_REDIS_STATE_URL": redis_server.url, "STREAMLIT_REDIS_STATE_NAMESPACE": "it"}
    try:
        for r in readers:
            r.wait_text("from-cli=<missing>")
        assert cli("set", "from-cli", '"hello from the shell"', env=env).returncode == 0
        for r in readers:
            r.wait_text("from-cli=hello from the shell")
        assert cli("del", "from-cli", env=env).returncode == 0
        for r in readers:
            r.wait_text("from-cli=<missing>")
        assert cli("set", "from-cli", '"brief"', "--ttl", "1", env=env).returncode == 0
        for r in readers:
            r.wait_text("from-cli=brief")
        for r in readers:  # expired: deleted for everyone by a replica's tick
            r.wait_text("from-cli=<missing>", timeout=10)
    finally:
        for r in readers:
            r.close()


def test_status_lists_the_replicas_and_their_sessions(
    replicas: tuple[StreamlitServer, StreamlitServer], redis_server: RedisServer
) -> None:
    a, b = replicas
    reader = b.session("key=status")
    reader.wait_text("status=<missing>")
    where = ["--url", redis_server.url, "--namespace", "it"]
    try:

        def records() -> dict[int, dict[str, Any]]:
            out = cli("status", "--json", *where)
            assert out.returncode == 0, out.stderr
            return {r["pid"]: r for r in json.loads(out.stdout)}

        wait_until(lambda: records().get(b.proc.pid, {}).get("sessions", 0) >= 1, 15, "B's record")
        found = records()
        for replica in (a, b):
            record = found[replica.proc.pid]
            assert record["kind"] == "streamlit"
            assert record["listener"]["synced"] is True
            assert {"id", "host", "subscriptions", "cache_entries", "started", "version"} <= set(
                record
            )
        table = cli("status", *where).stdout
        assert table.splitlines()[0].split()[:4] == ["ID", "HOST", "PID", "KIND"]
        assert str(b.proc.pid) in table and "streamlit" in table and "synced" in table
    finally:
        reader.close()


def test_dump_then_restore_is_exact(
    capsys: pytest.CaptureFixture[str],
    redis_server: RedisServer,
    namespace: str,
    library: ServerState,
    tmp_path: Path,
) -> None:
    library["value"] = VALUE
    library.append("chat", *[f"message {i}" for i in range(100)])
    library.set("brief", (1, 2), ttl=120)
    library.append("capped", "x")
    library.expire("capped", 300)
    dump = tmp_path / "state.json"
    out = cli("dump", str(dump), "--url", redis_server.url, "--namespace", namespace)
    assert out.returncode == 0, out.stderr
    assert f"dumped 4 keys of namespace '{namespace}'" in out.stderr
    assert oct(dump.stat().st_mode & 0o777) == "0o600"  # it holds the state: the owner's only
    header = json.loads(dump.read_text())
    assert (header["format"], header["version"], header["namespace"]) == (
        "streamlit-redis-state-dump",
        1,
        namespace,
    )

    target = namespace + "-copy"
    where = ["--url", redis_server.url, "--namespace", target]
    code, _, err = run(capsys, *where, "restore", str(dump))
    assert code == 0 and f"restored 4 keys into namespace '{target}'" in err
    assert stored(redis_server, target) == stored(redis_server, namespace)
    client = redis_server.client()
    assert 100 < client.pttl(f"srs:{{{target}}}:v:brief") <= 120_000
    assert 250_000 < client.pttl(f"srs:{{{target}}}:l:capped") <= 300_000
    assert client.pttl(f"srs:{{{target}}}:l:chat") == -1

    # Keys that exist: refused whole by default, kept, or replaced.
    hub = Hub(resolve({"url": redis_server.url, "namespace": target}), bridge=NoSession())
    copy = ServerState(lambda: hub)
    try:
        copy["value"] = "changed"
        copy["chat"] = ["a plain list now"]
        before = stored(redis_server, target)
        code, _, err = run(capsys, *where, "restore", str(dump))
        assert code == 1 and "4 keys of" in err and "nothing was written" in err
        assert run(capsys, *where, "restore", str(dump), "--skip-existing")[0] == 0
        assert stored(redis_server, target) == before
        code, _, err = run(capsys, *where, "restore", str(dump), "--replace")
        assert code == 0, err
        assert stored(redis_server, target) == stored(redis_server, namespace)
        assert copy["chat"] == [f"message {i}" for i in range(100)]
        copy.append("chat", "after the restore")  # still a list: appends move one item
        assert len(copy["chat"]) == 101
    finally:
        hub.close()

    # Through pipes: dump to stdout, restore from stdin.
    piped = cli("dump", "-", "--url", redis_server.url, "--namespace", namespace).stdout
    third = namespace + "-piped"
    out = cli("restore", "-", "--url", redis_server.url, "--namespace", third, stdin=piped)
    assert out.returncode == 0, out.stderr
    assert stored(redis_server, third) == stored(redis_server, namespace)


def test_restore_refuses_a_damaged_file_and_writes_nothing(
    redis_server: RedisServer, namespace: str, library: ServerState, tmp_path: Path
) -> None:
    for i in range(5):
        library[f"k{i}"] = i
    dump = tmp_path / "state.json"
    assert (
        cli("dump", str(dump), "--url", redis_server.url, "--namespace", namespace).returncode == 0
    )
    document = json.loads(dump.read_text())
    document["keys"][-1]["value"] = "aGVsbG8="  # "hello": not a value the library wrote
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(document))
    truncated = tmp_path / "truncated.json"
    truncated.write_text(dump.read_text()[:-30])
    target = namespace + "-copy"
    for path, message in (
        (damaged, "keys[4] ('k4') value: not a value"),
        (truncated, "not valid JSON"),
    ):
        out = cli("restore", str(path), "--url", redis_server.url, "--namespace", target)
        assert out.returncode == 1 and message in out.stderr and "nothing was written" in out.stderr
        assert out.stderr.count("\n") == 1
    assert list(redis_server.client().scan_iter(match=f"srs:{{{target}}}:*")) == []


def _ctrl_c_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_watch_prints_each_change_and_ctrl_c_exits_0(
    redis_server: RedisServer, namespace: str, library: ServerState
) -> None:
    # The module rather than the console script, to run it with faulthandler:
    # a watch that does not end on Ctrl-C is then made to print every
    # thread's stack (SIGABRT), so a failure says where it hung.
    args = [sys.executable, "-X", "faulthandler", "-m", "streamlit_redis_state"]
    args += ["watch", "a", "b", "--values", "--json"]
    args += ["--url", redis_server.url, "--namespace", namespace]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test run started in the background (`make test &`,
        # nohup, some CI runners) hands its children SIGINT ignored, and then
        # no Ctrl-C can reach the watch.
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )
    assert proc.stderr is not None and proc.stdout is not None
    stderr: list[str] = []
    started = threading.Event()

    def drain(stream: Any = proc.stderr) -> None:
        # Read stderr all along: a full pipe would block the watch's log writes.
        for line in stream:
            stderr.append(line)
            if "watching 'a', 'b' of namespace" in line:
                started.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert started.wait(30), "".join(stderr)
        library["a"] = (1, 2)
        first = json.loads(proc.stdout.readline())
        library["ignored"] = 1
        library["b"] = "x"
        second = json.loads(proc.stdout.readline())
        del library["a"]
        third = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            proc.wait(10)
            reader.join(5)
            pytest.fail("the watch did not end on Ctrl-C; its stderr:\n" + "".join(stderr))
        assert code == 0, "".join(stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert (first["event"], first["key"], first["version"]) == ("changed", "a", 1)
    assert first["value"] == {"$tuple": [1, 2]}
    assert (second["key"], second["value"]) == ("b", "x")
    assert (third["key"], third["version"], third["deleted"]) == ("a", 2, True)


def test_watch_as_a_function_ends_after_its_timeout(
    capsys: pytest.CaptureFixture[str],
    redis_server: RedisServer,
    namespace: str,
    library: ServerState,
) -> None:
    def writes() -> None:
        time.sleep(1.0)  # the watch has started by then
        for i in range(3):
            library["n"] = i

    writer = threading.Thread(target=writes)
    writer.start()
    code, out, _ = run(
        capsys, "--url", redis_server.url, "--namespace", namespace, "watch", "--timeout", "2"
    )
    writer.join()
    assert code == 0
    lines = out.splitlines()
    assert lines and all("  changed  n  v" in line for line in lines)
    assert lines[-1].endswith("  changed  n  v3")


def test_clear_needs_yes_then_deletes_every_key_for_everyone(
    redis_server: RedisServer, namespace: str, library: ServerState
) -> None:
    library.update(a=1, b=2)
    library.append("c", 3)
    where = ["--url", redis_server.url, "--namespace", namespace]
    out = cli("clear", *where)
    assert out.returncode == 2 and "add --yes" in out.stderr
    assert len(library) == 3
    with library.watch("a") as watch:
        out = cli("clear", "--yes", *where)
        assert out.returncode == 0 and "deleted 3 keys" in out.stderr
        assert len(library) == 0
        assert stored(redis_server, namespace) == {}
        event = watch.get(5)  # published like any delete: pages showing it rerun
    assert event is not None and getattr(event, "key", None) == "a"


def test_the_current_folders_secrets_toml_configures_it(
    redis_server: RedisServer, namespace: str, library: ServerState, tmp_path: Path
) -> None:
    library["from-secrets"] = "yes"
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        f'[connections.redis_state]\nurl = "{redis_server.url}"\nnamespace = "{namespace}"\n'
    )
    out = cli("get", "from-secrets", cwd=tmp_path, env={"HOME": str(tmp_path)})
    assert (out.returncode, out.stdout) == (0, '"yes"\n'), out.stderr
    # The environment comes before the file, as for the library.
    env = {"HOME": str(tmp_path), "STREAMLIT_REDIS_STATE_NAMESPACE": "elsewhere"}
    assert cli("get", "from-secrets", cwd=tmp_path, env=env).returncode == 1


def test_a_user_confined_to_the_namespace_can_run_every_command(
    capsys: pytest.CaptureFixture[str],
    redis_server: RedisServer,
    namespace: str,
    library: ServerState,
    tmp_path: Path,
) -> None:
    confine_user(redis_server.client(), "ops", "ops-password", namespace)
    library["k"] = 1
    library.append("l", 1)
    url = f"redis://ops:ops-password@127.0.0.1:{redis_server.port}/0"
    where = ["--url", url, "--namespace", namespace]
    for args in (
        ["keys"],
        ["get", "k"],
        ["set", "k", "2"],
        ["status"],
        ["dump", str(tmp_path / "d.json")],
        ["restore", str(tmp_path / "d.json"), "--replace"],
        ["watch", "--timeout", "0.5"],
        ["del", "k"],
        ["clear", "--yes"],
    ):
        code, out, err = run(capsys, *where, *args)
        assert code == 0, (args, err)
        assert "ops-password" not in out + err
    code, _, err = run(capsys, "keys", "--url", url, "--namespace", "not-" + namespace)
    assert code == 1 and "no permissions" in err and "ops-password" not in err


def test_real_commands_import_no_streamlit(redis_server: RedisServer, namespace: str) -> None:
    code = f"""
import sys
from streamlit_redis_state.cli.commands import main
where = ["--url", "{redis_server.url}", "--namespace", "{namespace}"]
for argv in (["set", "k", "[1]"], ["get", "k"], ["keys"], ["status"], ["dump", "-"],
             ["watch", "--timeout", "0.3"], ["clear", "--yes"]):
    assert main([*where, *argv]) == 0, argv
print("imported:", [m for m in sys.modules if m.split(".")[0] == "streamlit"])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "imported: []" in out.stdout
