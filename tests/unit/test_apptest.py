"""Without a real Streamlit runtime (AppTest), the state works and reruns do nothing."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import fakeredis
import pytest
from streamlit.testing.v1 import AppTest

from streamlit_redis_state.engine import process
from streamlit_redis_state.engine.hub import Hub


@pytest.fixture
def real_bridge_state() -> Iterator[Hub]:
    """A fresh store, with the real bridge (no fake Streamlit)."""
    process.reconfigure(
        {"namespace": "apptest"}, client=fakeredis.FakeRedis(server=fakeredis.FakeServer())
    )
    h = process.get_hub()
    assert h.listener.wait_synced(5)
    # Streamlit's script runner installs the app's module as ``__main__`` and
    # leaves it there; a later ``spawn`` child in this pytest process would
    # then re-run the app's temporary file as its main module.
    main = sys.modules["__main__"]
    yield h
    sys.modules["__main__"] = main
    process.reconfigure({}, client=None)


def app() -> None:
    import streamlit as st

    from streamlit_redis_state import server_state, server_state_lock

    def bump() -> None:
        with server_state_lock["n"]:
            server_state.n = server_state.get("n", 0) + 1

    st.button("bump", on_click=bump)
    st.text(f"n={server_state.get('n', 0)}")
    server_state.visits = server_state.get("visits", 0) + 1  # top-level write: must not loop


def test_app_runs_under_apptest(real_bridge_state: Hub) -> None:
    at = AppTest.from_function(app).run(timeout=10)
    assert not at.exception
    assert at.text[0].value == "n=0"
    at.button[0].click().run(timeout=10)
    assert at.text[0].value == "n=1"
    from streamlit_redis_state import server_state

    assert server_state.visits == 2
