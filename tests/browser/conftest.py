"""Browser tier: Debian's Chromium driven by Playwright, through nginx to two replicas.

The topology is the one `make demo` starts (support/topology.py), so the demo
itself is what these tests exercise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.processes import free_port, require_binary
from support.topology import ROOT, Topology

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    require_binary("redis-server")
    require_binary("nginx")
    shutil.rmtree(ARTIFACTS / "logs", ignore_errors=True)  # this run's logs only
    args = argparse.Namespace(
        replicas=2,
        port=free_port(),
        redis_port=0,
        app=str(ROOT / "examples" / "chat" / "app.py"),
        for_seconds=0,
        bot=True,
        # Kept with the screenshots, so a failure comes with every process's log.
        logs=ARTIFACTS / "logs",
    )
    topo = Topology(args)
    try:
        topo.start()
        assert topo.url and len(topo.replica_urls) == 2
        yield topo
    finally:
        topo.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.path.realpath(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


def shared_state(topology: Topology, code: str) -> Any:
    """Run ``code`` in a fresh Python process on the demo's shared state; returns its ``result``.

    A process of its own, like the bot: the test process never configures the
    library, so the other tiers in the same pytest run are not touched.
    """
    env = {
        **os.environ,
        "STREAMLIT_REDIS_STATE_URL": str(topology.redis_url),
        "STREAMLIT_REDIS_STATE_NAMESPACE": "demo",
    }
    prelude = (
        "import json, sys, datetime as dt\n"
        f"sys.path.insert(0, {str(ROOT / 'examples' / 'chat')!r})\n"
        "import chat_core as core\n"
        "from streamlit_redis_state import server_state\n"
        "result = None\n"
    )
    epilogue = "\nprint('RESULT ' + json.dumps(result, default=str))\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code + epilogue],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def shot(page: object, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failure, save a screenshot of every open page as a test artifact."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when not in ("setup", "call") or not report.failed:
        return
    b = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if b is None:
        return
    for i, context in enumerate(b.contexts):  # type: ignore[attr-defined]
        for j, page in enumerate(context.pages):
            try:
                shot(page, f"FAILED-{item.name}-{i}-{j}")
            except Exception:
                pass
