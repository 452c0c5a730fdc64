"""4 processes x 500 increments on real Redis end exactly at 2000, with the lock and with edit()."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator

import pytest

from support.processes import RedisServer

pytestmark = pytest.mark.integration

PROCESSES = 4
INCREMENTS = 500


def _worker(url: str, mode: str, start: mp.synchronize.Event) -> None:
    from streamlit_redis_state import configure, server_state, server_state_lock

    configure(url=url, namespace="stress")
    start.wait()
    for _ in range(INCREMENTS):
        if mode == "lock":
            with server_state_lock["n"]:
                server_state["n"] = server_state.get("n", 0) + 1
        else:
            with server_state.edit("box", default={"n": 0}) as box:
                box["n"] += 1


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.mark.parametrize("mode", ["lock", "edit"])
def test_concurrent_increments_are_exact(redis_server: RedisServer, mode: str) -> None:
    from streamlit_redis_state.base import codec

    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [
        ctx.Process(target=_worker, args=(redis_server.url, mode, start)) for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    key = "srs:{stress}:v:" + ("n" if mode == "lock" else "box")
    value = codec.decode(redis_server.client().get(key))
    assert (value if mode == "lock" else value["n"]) == PROCESSES * INCREMENTS
