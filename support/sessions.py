"""Headless sessions: a browser tab without a browser, for tests and benchmarks.

A headless session speaks Streamlit's websocket protocol (docs/internals.md,
"Headless sessions"): it asks for one run, then records every run the server
pushes, which is how a test sees another session's change arrive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Run:
    """One finished script run, as the browser would have shown it."""

    texts: list[str] = field(default_factory=list)
    fragment: bool = False


class HeadlessSession:
    """A browser tab without a browser: a websocket client of Streamlit's protocol."""

    def __init__(self, port: int, query: str = "") -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from websockets.sync.client import connect
        from websockets.typing import Subprotocol

        self.port = port
        self.query = query
        self.session_id = ""
        self.runs: list[Run] = []
        self._current = Run()
        self._cond = threading.Condition()
        self._closed = False
        self.ws = connect(
            f"ws://127.0.0.1:{port}/_stcore/stream",
            subprotocols=[Subprotocol("streamlit")],
            open_timeout=10,
            max_size=None,
        ).__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_script_hash = ""
        self.ws.send(msg.SerializeToString())

    def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data if isinstance(data, bytes) else data.encode())
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    self.session_id = msg.new_session.initialize.session_id or self.session_id
                    self._current = Run()
                elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    el = msg.delta.new_element
                    which = el.WhichOneof("type")
                    body = getattr(getattr(el, which), "body", None) if which else None
                    if isinstance(body, str):
                        self._current.texts.append(body)
                elif kind == "script_finished":
                    status = msg.script_finished
                    if status in (
                        ForwardMsg.FINISHED_SUCCESSFULLY,
                        ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
                    ):
                        run = self._current
                        run.fragment = status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
                        with self._cond:
                            self.runs.append(run)
                            self._cond.notify_all()
                    self._current = Run()
        except Exception:
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    @property
    def last(self) -> Run:
        with self._cond:
            return self.runs[-1] if self.runs else Run()

    def run_count(self) -> int:
        with self._cond:
            return len(self.runs)

    def wait_for(
        self, predicate: Callable[[Run], bool], timeout: float = 15, what: str = "a run"
    ) -> Run:
        """Wait until the latest finished run satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.runs and predicate(self.runs[-1]):
                    return self.runs[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    shown = self.runs[-1].texts if self.runs else "no run"
                    raise AssertionError(
                        f"session {self.query!r}: timed out waiting for {what}; "
                        f"last run showed {shown}"
                    )
                self._cond.wait(remaining)

    def wait_text(self, text: str, timeout: float = 15) -> Run:
        return self.wait_for(lambda r: text in r.texts, timeout, f"text {text!r}")

    def click(self, query: str | None = None) -> None:
        """Ask for a rerun, as a widget interaction does (optionally with a new query string)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if query is not None:
            self.query = query
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_script_hash = ""
        self.ws.send(msg.SerializeToString())

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        self._thread.join(5)
