"""Shared by the store, channel and key fuzz tests: a fresh world per example, and its health check.

Each Hypothesis example gets a :class:`World`: a fresh fakeredis, this
process's hub on it (the unit tier's synchronous hub with a fake Streamlit,
installed as the default hub, so ``server_state`` and friends use it), a
second hub as another replica, and some state known to be good, shown by a
subscribed fake session, "watcher". After the hostile input,
:meth:`World.check_healthy` is the invariant: the listener is synced and at
Redis's sequence, a real change of another key made by the other replica
reruns the watcher and reads back, every good key still reads correctly in
both processes, and no lock was left held.

Profiles: tests/fuzz/conftest.py registers "ci" and "long", chosen by
SRS_FUZZ_PROFILE; these tests use the active one with fewer examples
(:func:`fuzz_settings`; each example here runs Lua scripts on a new
fakeredis, a hundred times the cost of a codec round trip).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import fakeredis
import pytest
from hypothesis import HealthCheck, seed, settings

from streamlit_redis_state import ServerStateError, server_state, server_state_lock
from streamlit_redis_state.base import codec
from streamlit_redis_state.base.keys import SEQ_FIELD
from streamlit_redis_state.engine import process
from streamlit_redis_state.engine.hub import Hub
from tests.fuzz.conftest import PROFILE, SEED
from tests.unit.conftest import FakeStreamlit, deliver, make_hub

F = TypeVar("F", bound=Callable[..., Any])


def _profile() -> settings:
    return settings.get_profile(PROFILE)


#: Each example here costs a new fakeredis and a few dozen script runs; the
#: profile's budget is divided by this (ci: 300 -> 20 examples per test).
COST = 15


def budget() -> int:
    return max(10, _profile().max_examples // COST)


def fuzz(**overrides: Any) -> Callable[[F], F]:
    """The active profile with :func:`budget` examples, no deadline, the seed if set, overrides."""

    def apply(test: F) -> F:
        chosen = settings(
            _profile(),
            max_examples=budget(),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            **overrides,
        )
        test = chosen(test)
        if SEED is not None:
            test = seed(SEED)(test)
        return test

    return apply


fuzz_settings = fuzz()


@pytest.fixture(scope="module", autouse=True)
def _say_budget(request: pytest.FixtureRequest) -> None:
    """Print the budget once per module (imported by each test module)."""
    how = "derandomized" if _profile().derandomize else f"seed {SEED or 'random'}"
    line = (
        f"{request.module.__name__.rsplit('.', 1)[-1]}: SRS_FUZZ_PROFILE={PROFILE}, "
        f"{budget()} examples per test, {how}"
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


# -- what may escape ------------------------------------------------------------------


#: Where the library raises plain TypeError and ValueError on purpose: the API
#: layer, checking keys, names and arguments (the README names them).
API_MODULES = ("server_state.py", "server_state_lock.py", "presence.py", "reruns.py", "keys.py")


def typed(call: Callable[[], Any], what: str) -> Any:
    """Call ``call``; a typed error is fine, anything else fails the example.

    Typed: the library's ServerStateError (and its subclasses), and exactly
    TypeError or ValueError raised by the API layer (bad keys, bad arguments,
    a list operation on a non-list: what the README names). Not their other
    subclasses (UnicodeDecodeError, KeyError, ...), and not a TypeError or
    ValueError from deeper down (``int(b"x")`` in the store): those are accidents.
    """
    try:
        return call()
    except ServerStateError:
        return None
    except (TypeError, ValueError) as exc:
        if type(exc) in (TypeError, ValueError) and _raised_in_api(exc):
            return None
        raise AssertionError(f"{what}: an untyped {_where(exc)} escaped: {exc!r}") from exc
    except Exception as exc:
        raise AssertionError(f"{what}: an untyped {_where(exc)} escaped: {exc!r}") from exc


def _innermost(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    return frames[-1].filename if frames else ""


def _raised_in_api(exc: BaseException) -> bool:
    where = _innermost(exc).replace(os.sep, "/")
    return "/streamlit_redis_state/" in where and where.endswith(API_MODULES)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    at = f" at {last.filename.rsplit(os.sep, 2)[-1]}:{last.lineno}" if last else ""
    return f"{type(exc).__name__}{at}"


# -- one world per example ----------------------------------------------------------

GOOD = {"good": {"n": 1, "l": [1, 2]}, "other good": "two words"}
GOOD_LIST = ("x", {"y": 2})


class World:
    """A fresh fake Redis, this process's hub (installed) and another replica's; see the module."""

    def __init__(self) -> None:
        self.server = fakeredis.FakeServer()
        self.st = FakeStreamlit()
        self.hub: Hub = make_hub(self.server, self.st)
        self.other: Hub = make_hub(self.server, FakeStreamlit())
        self.raw = fakeredis.FakeRedis(server=self.server)
        self.ks = self.hub.store.keyspace
        self._previous = process.install(self.hub)
        self.canary = 0
        for key, value in GOOD.items():
            server_state[key] = value
        server_state.append("good list", *GOOD_LIST)
        server_state["canary"] = self.canary
        deliver(self.hub, self.other)
        self.watch()

    def watch(self) -> None:
        """The watcher session shows the canary and the good keys (reading subscribes it)."""

        def show() -> None:
            server_state.get("canary")
            for key in GOOD:
                server_state.get(key)
            server_state.tail("good list", 1)

        self.st.run_as("watcher", show)

    def as_tab(self, sid: str, call: Callable[[], Any]) -> Any:
        """``call()`` in a script run of session ``sid``."""
        return self.st.run_as(sid, call)

    def redis_seq(self) -> int:
        return int(self.raw.hget(self.ks.meta, SEQ_FIELD) or 0)

    def check_healthy(self) -> None:
        """The invariant after each example (see the module docstring)."""
        deliver(self.hub, self.other)  # must not raise: the listener never dies
        for name, hub in (("this process", self.hub), ("the other replica", self.other)):
            assert hub.listener.synced, f"{name}'s listener is no longer synced"
            # The health check each ping runs (the tick) must not raise either,
            # nor take damage for lost data (which would rerun every session).
            assert not hub.on_healthy(), f"{name}'s health check says data was lost"
        # A real change of another key, made by the other replica, reruns the watcher.
        self.canary += 1
        self.other.set("canary", codec.encode(self.canary))
        self.st.clear()
        deliver(self.hub, self.other)
        assert "watcher" in self.st.rerun_sessions(), "a real change no longer reruns its reader"
        assert self.hub.listener.last_seq == self.redis_seq(), "the listener lost the sequence"
        shown = self.as_tab("watcher", lambda: server_state.get("canary"))
        assert shown == self.canary, f"the watcher reads {shown!r}, not {self.canary!r}"
        self.watch()
        # Every good key still reads correctly, here and in the other process.
        for key, value in GOOD.items():
            assert server_state[key] == value, f"{key!r} no longer reads back"
            assert codec.decode(self.other.read(key).blob or b"") == value
        assert server_state["good list"] == list(GOOD_LIST)
        assert server_state.tail("good list", 1) == [GOOD_LIST[-1]]
        # No lock was left held (an error inside edit() or a lock body releases it).
        assert not self.hub.locks.held_count(), "a lock is still held"
        for key in (*GOOD, "canary"):
            lock = server_state_lock.get(key, timeout=0.5)
            assert lock.acquire(), f"server_state_lock[{key!r}] cannot be taken"
            lock.release()

    def close(self) -> None:
        process.install(self._previous)
        self.hub.close()
        self.other.close()


@contextmanager
def world() -> Iterator[World]:
    """One example's world, closed (and the default hub restored) when it ends."""
    w = World()
    try:
        yield w
    finally:
        w.close()
