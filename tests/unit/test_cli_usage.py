"""The command line's conventions that need no Redis: usage errors, messages, no Streamlit.

Everything that talks to Redis is in tests/integration/test_cli.py, on a real
redis-server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streamlit_redis_state.cli.commands import main

#: Nothing listens on port 1: connections are refused at once.
NOWHERE = "redis://127.0.0.1:1/0"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("keys", "get", "set", "del", "dump", "restore", "watch", "status", "clear"):
        assert command in out
    assert run(capsys, "restore", "--help")[0] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "required: COMMAND"),
        (["frobnicate"], "invalid choice"),
        (["get"], "required: key"),
        (["set", "k", "1", "--ttl", "0"], "must be a positive number of seconds"),
        (["restore", "f", "--replace", "--skip-existing"], "not allowed with"),
    ],
)
def test_argparse_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["clear"],
            "clear deletes every key of namespace 'default' at redis://127.0.0.1:1/0; add --yes",
        ),
        (["set", "k", "{"], "the value is not tagged JSON: not valid JSON"),
        (["set", "k", '{"$tupel": []}'], "'$tupel' is not a type tag"),
        (["get", "__k__"], "is reserved"),
        (["--url", "http://x", "keys"], "must start with redis://"),
        (["keys", "--namespace", "has space"], "namespace must be"),
    ],
)
def test_our_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--url", NOWHERE, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("streamlit-redis-state: error: ")
    assert message in err


def test_an_unreachable_redis_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    # The common options work after the command too.
    code, out, err = run(capsys, "keys", "--url", NOWHERE, "--namespace", "n")
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert "error: Redis at redis://127.0.0.1:1/0 is unreachable" in err


def test_a_bad_dump_is_refused_before_redis_is_asked_anything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "streamlit-redis-state-dump", "version": 9, "keys": []}')
    code, _, err = run(capsys, "--url", NOWHERE, "restore", str(bad))
    assert code == 1
    assert "version 9 is not one this version reads (1); nothing was written" in err
    code, _, err = run(capsys, "--url", NOWHERE, "restore", str(tmp_path / "missing.json"))
    assert code == 1 and "No such file or directory" in err and "missing.json" in err


def test_the_tool_never_imports_streamlit() -> None:
    """Checked in a fresh interpreter: the console script's import, then commands."""
    code = f"""
import sys
from streamlit_redis_state.cli.commands import main
for argv in (["keys"], ["get", "k"], ["set", "k", "1"], ["status"], ["watch", "--timeout", "1"]):
    assert main(["--url", "{NOWHERE}", *argv]) == 1, argv
bad = [m for m in sys.modules if m == "streamlit" or m.startswith("streamlit.")]
print("imported:", bad)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "imported: []" in out.stdout


def test_python_dash_m_runs_the_tool() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "streamlit_redis_state", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and out.stdout.startswith("streamlit-redis-state ")
