"""bridge._rerun_now against a real AppSession, with its ScriptRunner replaced by a stub.

The stub keeps Streamlit's real ScriptRequests, so "a runner that has finished
its script refuses a rerun" is Streamlit's own behaviour, not the test's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit import config
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.script_data import ScriptData
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

from streamlit_redis_state.edges import bridge


class StubRunner:
    """A ScriptRunner without a thread: Streamlit's ScriptRequests, driven by the test."""

    def __init__(self, initial: RerunData) -> None:
        self.initial = initial
        self._requests = ScriptRequests()
        self._requests.request_rerun(initial)
        self._script_thread = None

    def request_rerun(self, data: RerunData) -> bool:
        return self._requests.request_rerun(data)

    def request_stop(self) -> None:
        self._requests.request_stop()

    def finish_script(self) -> None:
        """The script ran to its end: what ScriptRunner's thread does before SHUTDOWN."""
        assert self._requests.on_scriptrunner_ready().type.name == "RERUN"  # its run
        assert self._requests.on_scriptrunner_ready().type.name == "STOP"  # nothing queued


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AppSession, list[StubRunner]]]:
    config.set_option("server.fileWatcherType", "none")
    runners: list[StubRunner] = []

    def create(self: AppSession, initial: RerunData) -> None:
        runner = StubRunner(initial)
        runners.append(runner)
        self._scriptrunner = runner  # type: ignore[assignment]

    monkeypatch.setattr(AppSession, "_create_scriptrunner", create)
    loop = asyncio.new_event_loop()

    async def make() -> AppSession:
        return AppSession(
            ScriptData("app.py"), MemoryUploadedFileManager("/upload"), ScriptCache(), None, {}
        )

    s = loop.run_until_complete(make())
    s.has_fragment = lambda fid: True  # type: ignore[method-assign]
    yield s, runners
    s._scriptrunner = None
    loop.close()


def _is_full(data: RerunData) -> bool:
    return not data.fragment_id and not data.fragment_id_queue


def test_fragment_rerun_while_a_run_is_in_progress_is_queued_on_it(session: Any) -> None:
    s, runners = session
    s.request_rerun(None)  # a full run starts
    bridge._rerun_now(s, {"frag"})
    assert len(runners) == 1  # queued behind the run in progress; nothing else


def test_fragment_rerun_after_the_run_finished_does_not_lose_its_output(session: Any) -> None:
    s, runners = session
    s.request_rerun(None)  # a full run (say, for a top-level key that changed)...
    runners[0].finish_script()  # ...has finished; its events still wait on the loop
    bridge._rerun_now(s, {"frag"})
    # Streamlit started a new runner for the fragment, and ignores the finished
    # runner's events from now on: the full run's output is lost unless a full
    # run follows.
    assert len(runners) >= 2
    latest = runners[-1]
    queued = latest._requests._rerun_data if latest._requests._state.name == "RERUN" else None
    assert _is_full(latest.initial) or (queued is not None and _is_full(queued)), (
        "the finished full run's output was dropped and only a fragment rerun follows"
    )


def test_a_run_is_known_by_a_number_that_keeps_none_of_its_objects_alive() -> None:
    import gc
    import weakref

    class Coordinator:  # what ctx.parallel_coordinator is: one per run
        pass

    b = bridge.StreamlitBridge()
    first = Coordinator()
    number = b._run_number(first)
    assert b._run_number(first) == number  # the same run, however often asked
    second = Coordinator()
    assert b._run_number(second) != number
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None  # subscriptions hold the number, never the run
    assert all(b._run_number(Coordinator()) != number for _ in range(100))


def test_a_run_object_that_cannot_be_numbered_is_its_own_token() -> None:
    b = bridge.StreamlitBridge()
    unhashable: list[int] = []
    assert b._run_number(unhashable) is unhashable
