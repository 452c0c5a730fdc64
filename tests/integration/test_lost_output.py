"""A tab must end up showing the last value, whatever order Streamlit's runs and requests come in.

Each test fails on v0.1: the tab keeps an old value although Redis, and the other
tabs, have the new one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.processes import RedisServer, StreamlitServer, wait_until
from support.sessions import HeadlessSession
from tests.integration import APPS

pytestmark = pytest.mark.integration


class Tab(HeadlessSession):
    """A headless session that keeps what a browser shows: the latest element at each position.

    Runs whose end never reaches the client are invisible to ``runs``; their
    elements still count here, as they do in a browser.
    """

    def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.shown: dict[tuple[int, ...], str] = {}
        try:
            for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data if isinstance(data, bytes) else data.encode())
                if (
                    msg.WhichOneof("type") == "delta"
                    and msg.delta.WhichOneof("type") == "new_element"
                ):
                    el = msg.delta.new_element
                    which = el.WhichOneof("type")
                    body = getattr(getattr(el, which), "body", None) if which else None
                    if isinstance(body, str):
                        self.shown[tuple(msg.metadata.delta_path)] = body
        except Exception:
            pass

    def text(self, prefix: str) -> str | None:
        return next((b for b in list(self.shown.values()) if b.startswith(prefix)), None)


@pytest.fixture(scope="module")
def replica(redis_server: RedisServer) -> Iterator[StreamlitServer]:
    env = {"STREAMLIT_REDIS_STATE_URL": redis_server.url, "STREAMLIT_REDIS_STATE_NAMESPACE": "lost"}
    server = StreamlitServer(APPS / "lost_output_app.py", env, name="L")
    yield server
    server.stop()


@pytest.fixture
def writer(redis_server: RedisServer, replica: StreamlitServer) -> Iterator[object]:
    """This process as another replica, writing with no session."""
    from streamlit_redis_state import configure, server_state

    configure(url=redis_server.url, namespace="lost")
    for key in ("K", "M", "J"):
        server_state.pop(key, None)
    yield server_state
    configure(url=None)


def tab(replica: StreamlitServer, query: str, **expect: str) -> Tab:
    t = Tab(replica.port, query)
    for name, value in expect.items():
        wait_until(lambda: t.text(f"{name}=") == f"{name}={value}", 15, f"{name}={value}")
    return t


def test_a_fragment_rerun_does_not_drop_the_full_run_before_it(
    replica: StreamlitServer, writer: object
) -> None:
    server_state = writer
    t = tab(replica, "mode=race", K="-", M="-")
    server_state["K"] = "1"  # type: ignore[index]
    wait_until(lambda: t.text("K=") == "K=1", 15, "K=1")
    server_state["K"] = "2"  # type: ignore[index]
    wait_until(lambda: t.text("M=") == "M=m2", 15, "the fragment rerun")
    wait_until(lambda: t.text("K=") == "K=2", 5, "the full run's output to reach the tab")
    t.close()


def test_a_write_by_a_replaced_run_reruns_its_own_session(
    replica: StreamlitServer, writer: object
) -> None:
    server_state = writer
    server_state["K"] = "0"  # type: ignore[index]
    t, other = tab(replica, "mode=superseded", K="0"), tab(replica, "", K="0")
    server_state["J"] = "1"  # type: ignore[index]  # t's run starts its slow write
    wait_until(lambda: t.text("J=") == "J=1", 15, "the slow run to start")
    server_state["J"] = "2"  # type: ignore[index]  # Streamlit replaces that run
    wait_until(lambda: other.text("K=") == "K=bumped", 15, "the other tab")
    wait_until(lambda: t.text("K=") == "K=bumped", 8, "the writing tab")
    t.close()
    other.close()


def test_a_fragment_writing_a_key_shown_at_top_level_redraws_it(
    replica: StreamlitServer, writer: object
) -> None:
    server_state = writer
    server_state["K"], server_state["M"] = "k0", "0"  # type: ignore[index]
    tabs = [tab(replica, "mode=derived", K="k0", M="0") for _ in range(3)]
    server_state["M"] = "1"  # type: ignore[index]
    for t in tabs:
        wait_until(lambda t=t: t.text("K=") == "K=k1", 8, "every tab to show K=k1")
    for t in tabs:
        t.close()
