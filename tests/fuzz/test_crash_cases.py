"""The inputs that used to kill the process (SIGSEGV in the C unpacker, r06/r06b/r15),
each run in a fresh subprocess so that a crash shows as a crash, in the main thread
and in threads with small stacks (Streamlit runs scripts in threads)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Import the codec alone (not the package, which imports Streamlit): fast startup.
PRELUDE = f"""
import sys, types, threading
pkg = types.ModuleType("streamlit_redis_state")
pkg.__path__ = [{str(ROOT / "streamlit_redis_state")!r}]
sys.modules["streamlit_redis_state"] = pkg
import msgpack
from streamlit_redis_state.base import codec
from streamlit_redis_state.base.errors import CorruptValue, UnsupportedValue

def nest(kind, depth, leaf="leaf"):
    value = leaf
    for _ in range(depth):
        value = {{"list": lambda v: [v], "tuple": lambda v: (v,), "dict": lambda v: {{"k": v}},
                 "frozenset": lambda v: frozenset([v])}}[kind](value)
    return value

def ext_nest(code, depth, leaf):
    body = leaf
    for _ in range(depth):
        body = msgpack.packb(msgpack.ExtType(code, body))
    return body
"""

CASES = {
    # encode: never RecursionError or a crash, always UnsupportedValue naming where
    "encode tuple 100000 deep": """
        try:
            codec.encode(nest("tuple", 100_000)); print("encoded")
        except UnsupportedValue as e:
            assert "nested deeper than 1024" in str(e); print("refused")
    """,
    "encode frozenset 100000 deep": """
        try:
            codec.encode(nest("frozenset", 100_000)); print("encoded")
        except UnsupportedValue as e:
            assert "nested deeper than 1024" in str(e); print("refused")
    """,
    "encode list 100000 deep": """
        try:
            codec.encode(nest("list", 100_000)); print("encoded")
        except UnsupportedValue as e:
            assert "nested deeper than 1024" in str(e); print("refused")
    """,
    # r06b: tuples the library accepts must decode, whatever the depth
    "tuple 100..1024 deep: encode then decode": """
        for depth in (100, 150, 200, 250, 300, 400, 500, 700, 900, 990, 1024):
            blob = codec.encode(nest("tuple", depth))
            value, seen = codec.decode(blob), 0
            while type(value) is tuple:
                value, seen = value[0], seen + 1
            assert seen == depth, (seen, depth)
        print("refused" if False else "decoded")
    """,
    # hostile bytes under a key
    "decode format-1 tuple-ext 3000 deep": """
        try:
            codec.decode(codec.MAGIC_V1 + ext_nest(1, 3000, msgpack.packb(None)), key="k"); print("decoded")
        except CorruptValue as e:
            assert "key 'k'" in str(e); print("refused")
    """,
    "decode format-1 set-ext 3000 deep": """
        try:
            codec.decode(codec.MAGIC + ext_nest(3, 3000, msgpack.packb(1)), key="k"); print("decoded")
        except CorruptValue as e:
            assert "key 'k'" in str(e); print("refused")
    """,
    "decode format-1 tuples at the legacy bound": """
        body = msgpack.packb("leaf")
        for _ in range(codec.LEGACY_MAX_DEPTH):
            body = msgpack.packb(msgpack.ExtType(1, msgpack.packb([msgpack.ExtType(99, b"")])[:1] + body))
        value = codec.decode(codec.MAGIC_V1 + body)
        print("decoded")
    """,
    "decode 100000 nested arrays, maps, tuples, sets": """
        for piece in (b"\\x91", b"\\x81\\x00", b"\\x92\\xc7\\x00\\x09", b"\\x92\\xc7\\x00\\x0b"):
            try:
                codec.decode(codec.MAGIC + piece * 100_000 + b"\\xc0", key="k"); print("decoded")
            except CorruptValue as e:
                assert "nested deeper than 1024" in str(e)
        print("refused")
    """,
    "decode 1024 nested tuples used as a dict key": """
        key = b"\\x92\\xc7\\x00\\x09" * 1023 + b"\\xc0"
        value = codec.decode(codec.MAGIC + b"\\x81" + key + b"\\x01")
        print("decoded")
    """,
}
EXPECTED = {
    "encode tuple 100000 deep": "refused",
    "encode frozenset 100000 deep": "refused",
    "encode list 100000 deep": "refused",
    "tuple 100..1024 deep: encode then decode": "decoded",
    "decode format-1 tuple-ext 3000 deep": "refused",
    "decode format-1 set-ext 3000 deep": "refused",
    "decode format-1 tuples at the legacy bound": "decoded",
    "decode 100000 nested arrays, maps, tuples, sets": "refused",
    "decode 1024 nested tuples used as a dict key": "decoded",
}
# (how the case runs, thread stack size in KiB or None for the main thread).
# Encoding at the depth limit needs about 0.5 MB of C stack (msgpack's packer
# recurses in C, ~450 bytes a level, for plain lists as much as for ours), so
# encode cases run with at least 1 MiB; decoding never recurses, and runs in
# 256 KiB too. Threads get 8 MiB by default on Linux/glibc.
WHERE = {"main thread": None, "thread, 8 MiB stack": 8192, "thread, 1 MiB stack": 1024}
SMALL_STACK = {"thread, 256 KiB stack": 256}


def _program(code: str, stack_kib: int | None) -> str:
    body = textwrap.dedent(code)
    if stack_kib is None:
        return PRELUDE + body
    return (
        PRELUDE
        + "def _case():\n"
        + textwrap.indent(body, "    ")
        + f"\nthreading.stack_size({stack_kib * 1024})\n"
        + "t = threading.Thread(target=_case); t.start(); t.join()\n"
    )


CASES_AND_PLACES = [(c, w) for c in CASES for w in WHERE] + [
    (c, w) for c in CASES if c.startswith("decode") for w in SMALL_STACK
]


@pytest.mark.parametrize(("case", "where"), CASES_AND_PLACES)
def test_crash_case_in_a_subprocess(case: str, where: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _program(CASES[case], {**WHERE, **SMALL_STACK}[where])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, (
        f"exit {proc.returncode} (negative: killed by signal)\n{proc.stderr[-2000:]}"
    )
    assert proc.stdout.strip().splitlines()[-1] == EXPECTED[case], proc.stdout + proc.stderr
