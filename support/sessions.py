"""Headless sessions: a browser tab without a browser, for tests and benchmarks.

A headless session speaks Streamlit's websocket protocol (docs/internals.md,
"Headless sessions"): it asks for one run, then records every run the server
pushes, which is how a test sees another session's change arrive.

It also keeps what a browser keeps between runs, so a test can use widgets as a
person does:

- The page: every element by its delta path, with the fragment that drew it.
  A full run that finishes replaces the page (elements it did not draw are
  gone); a fragment run replaces only that fragment's elements. `Run.screen`
  is the page as the tab shows it after that run.
- The widget states (the frontend's `WidgetStateManager`): a value widget
  commits its value when it first appears (its default, or the value the
  server set), keeps the value the user gave it, and takes the server's
  value again when the element says `set_value`. Every rerun the tab sends
  carries all of them; a trigger (a button click, a chat message) is sent
  once and then forgotten. States of widgets no longer on the page are
  dropped when a run finishes.
- A widget inside an `st.fragment` reruns only that fragment: the element's
  delta carries the fragment's id, and the rerun carries it back in
  `ClientState.fragment_id`, as the frontend does.
- The query string (updated when the app changes `st.query_params`) and the
  page (`page_script_hash`; a page is opened by its url path, `page_name`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamlit.proto.Element_pb2 import Element
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

#: Widgets whose value the browser keeps and sends with every rerun (element type names).
VALUE_WIDGETS = frozenset(
    {"slider", "number_input", "text_input", "text_area", "checkbox", "radio", "selectbox"}
)
#: Widgets that fire once: the value goes with one rerun and is then forgotten.
TRIGGER_WIDGETS = frozenset({"button", "chat_input"})


@dataclass(frozen=True)
class Widget:
    """A widget as the tab shows it."""

    kind: str  # the element's type: "button", "slider", "text_input", ...
    id: str
    label: str  # a chat input has no label: its placeholder
    fragment_id: str  # "" outside any st.fragment
    value: Any  # what it shows; None for buttons and chat inputs
    options: tuple[str, ...] = ()  # radio and selectbox


@dataclass
class Screen:
    """What the tab shows: the whole page, in page order."""

    texts: list[str] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)  # label -> value (the metric's body)
    widgets: list[Widget] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)  # "Type: message"

    def widget(self, label: str, kind: str | None = None) -> Widget:
        found = [w for w in self.widgets if w.label == label and kind in (None, w.kind)]
        if len(found) != 1:
            shown = [(w.kind, w.label) for w in self.widgets]
            raise LookupError(
                f"{len(found)} widgets labelled {label!r} on the page; it has {shown}"
            )
        return found[0]

    def describe(self) -> str:
        parts = [f"texts={self.texts}"]
        if self.metrics:
            parts.append(f"metrics={self.metrics}")
        if self.widgets:
            parts.append("widgets=" + str({w.label: w.value for w in self.widgets}))
        if self.exceptions:
            parts.append(f"exceptions={self.exceptions}")
        return ", ".join(parts)


@dataclass
class Run:
    """One finished script run, as the browser would have shown it.

    `texts`, `metrics`, `widgets` and `exceptions` are what this run drew (a
    fragment run draws only its fragment); `screen` is the whole page after it.
    """

    texts: list[str] = field(default_factory=list)
    fragment: bool = False
    metrics: dict[str, str] = field(default_factory=dict)
    widgets: list[Widget] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    screen: Screen = field(default_factory=Screen)
    page_script_hash: str = ""
    fragment_ids: tuple[str, ...] = ()


@dataclass
class _Node:
    element: Element
    fragment_id: str
    generation: int


def _label(kind: str, proto: Any) -> str:
    if kind == "chat_input":
        return str(proto.placeholder)
    return str(getattr(proto, "label", ""))


class HeadlessSession:
    """A browser tab without a browser: a websocket client of Streamlit's protocol."""

    def __init__(self, port: int, query: str = "", page: str = "", name: str = "") -> None:
        """Open the app at ``/<page>?<query>`` (``page`` is a url path of `st.navigation`).

        ``name`` names the tab in failure messages (default: its query string).
        """
        # Import every proto module here, before the reader thread starts:
        # importing streamlit from two threads at once deadlocks.
        import streamlit.proto.BackMsg_pb2
        import streamlit.proto.ForwardMsg_pb2
        import streamlit.proto.NumberInput_pb2
        import streamlit.proto.Slider_pb2
        import streamlit.proto.WidgetStates_pb2  # noqa: F401
        from websockets.sync.client import connect
        from websockets.typing import Subprotocol

        self.port = port
        self.query = query
        self.name = name
        self.session_id = ""
        self.page_script_hash = ""
        #: The app's pages as the last `st.navigation` listed them: url path -> page script hash.
        self.pages: dict[str, str] = {}
        self.runs: list[Run] = []
        #: Runs started (each `new_session`), including runs interrupted for a rerun.
        self.starts = 0
        self._current = Run()
        self._cond = threading.Condition()
        self._closed = False
        self._generation = 0
        self._in_flight = False
        self._acks = 0
        self._run_fragments: tuple[str, ...] = ()
        self._page: dict[tuple[int, ...], _Node] = {}
        self._states: dict[str, WidgetState] = {}
        self.ws = connect(
            f"ws://127.0.0.1:{port}/_stcore/stream",
            subprotocols=[Subprotocol("streamlit")],
            open_timeout=10,
            max_size=None,
            # As a browser: its WebSocket API sends no pings of its own (the
            # server's are answered). The client's default, a ping every 20 s
            # that must be answered within 20 s, closed tabs of a machine busy
            # rerunning 1,000 sessions, which no browser would have closed.
            ping_interval=None,
        ).__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self._send_rerun(page_script_hash="", page_name=page.strip("/"), widget_states=False)

    # -- receiving -------------------------------------------------------------

    def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data if isinstance(data, bytes) else data.encode())
                with self._cond:
                    self._handle(msg)
        except Exception:
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def _handle(self, msg: ForwardMsg) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id or self.session_id
            self.page_script_hash = msg.new_session.page_script_hash or self.page_script_hash
            self.starts += 1
            self._in_flight = True
            self._cond.notify_all()
            self._generation += 1
            self._run_fragments = tuple(msg.metadata.run.fragment_ids)
            self._current = Run(page_script_hash=self.page_script_hash)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(
                tuple(msg.metadata.delta_path), msg.delta.new_element, msg.delta.fragment_id
            )
        elif kind == "heartbeat_ack":
            self._acks += 1
            self._cond.notify_all()
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "navigation":
            nav = msg.navigation
            self.pages = {p.url_pathname: p.page_script_hash for p in nav.app_pages}
            self.page_script_hash = nav.page_script_hash or self.page_script_hash
            self._current.page_script_hash = self.page_script_hash
        elif kind == "script_finished":
            self._in_flight = False
            status = msg.script_finished
            if status in (
                ForwardMsg.FINISHED_SUCCESSFULLY,
                ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
            ):
                run = self._current
                run.fragment = status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
                run.fragment_ids = self._run_fragments
                self._finish(run)
                self.runs.append(run)
                self._cond.notify_all()
            self._current = Run(page_script_hash=self.page_script_hash)

    def _element(self, path: tuple[int, ...], el: Element, fragment_id: str) -> None:
        self._page[path] = _Node(el, fragment_id, self._generation)
        which = el.WhichOneof("type")
        if not which:
            return
        proto = getattr(el, which)
        body = getattr(proto, "body", None)
        if isinstance(body, str):
            self._current.texts.append(body)
        if which == "metric":
            self._current.metrics[el.metric.label] = el.metric.body
        elif which == "exception":
            self._current.exceptions.append(f"{el.exception.type}: {el.exception.message}")
        elif which in VALUE_WIDGETS:
            self._commit_shown_value(which, proto)

    def _commit_shown_value(self, kind: str, proto: Any) -> None:
        """What a widget component does when it renders: commit its value, not from the UI."""
        if kind == "slider" and proto.options:
            return  # st.select_slider (string_array_value): not driven here
        if getattr(proto, "set_value", False):
            value = self._proto_value(kind, proto, current=True)
        elif proto.id in self._states:
            return  # the browser keeps what it has (the user's value)
        else:
            value = self._proto_value(kind, proto, current=False)
        if value is not None:
            self._states[proto.id] = self._encode(kind, proto, value)

    @staticmethod
    def _proto_value(kind: str, proto: Any, current: bool) -> Any:
        """The widget's default (or, when ``current``, the value the server set), or None."""
        if kind == "slider":
            values = list(proto.value if current else proto.default)
            return values or None
        if kind in ("radio", "selectbox"):
            if current:
                return proto.raw_value if proto.HasField("raw_value") else None
            if not proto.HasField("default") or not proto.options:
                return None
            return proto.options[proto.default]
        if kind == "checkbox":
            return bool(proto.value if current else proto.default)
        field_name = "value" if current else "default"
        if kind in ("text_input", "text_area", "number_input"):
            return getattr(proto, field_name) if proto.HasField(field_name) else None
        return None

    @staticmethod
    def _encode(kind: str, proto: Any, value: Any) -> WidgetState:
        """A widget's value as the browser sends it (the field the widget's serde reads)."""
        from streamlit.proto.NumberInput_pb2 import NumberInput
        from streamlit.proto.Slider_pb2 import Slider
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        state = WidgetState(id=proto.id)
        if kind == "slider":
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            if proto.data_type in (Slider.INT, Slider.FLOAT) and not proto.options:
                state.double_array_value.data[:] = [float(v) for v in values]
            else:
                raise NotImplementedError("only st.slider of ints or floats is supported")
        elif kind == "number_input":
            if proto.data_type == NumberInput.INT:
                state.int_value = int(value)
            else:
                state.double_value = float(value)
        elif kind in ("text_input", "text_area", "radio", "selectbox"):
            state.string_value = str(value)
        elif kind == "checkbox":
            state.bool_value = bool(value)
        elif kind == "button":
            state.trigger_value = True
        elif kind == "chat_input":
            state.chat_input_value.data = str(value)
        else:
            raise NotImplementedError(f"cannot send a value for a {kind}")
        return state

    def _shown_value(self, kind: str, proto: Any) -> Any:
        state = self._states.get(proto.id)
        if state is None or kind in TRIGGER_WIDGETS:
            return None
        which = state.WhichOneof("value")
        if which == "double_array_value":
            from streamlit.proto.Slider_pb2 import Slider

            values: list[int | float] = list(state.double_array_value.data)
            if proto.data_type == Slider.INT:
                values = [int(v) for v in values]
            return values[0] if len(values) == 1 else tuple(values)
        return getattr(state, which) if which else None

    def _widget(self, node: _Node) -> Widget | None:
        kind = node.element.WhichOneof("type")
        if kind not in VALUE_WIDGETS and kind not in TRIGGER_WIDGETS:
            return None
        proto = getattr(node.element, kind)
        return Widget(
            kind=kind,
            id=proto.id,
            label=_label(kind, proto),
            fragment_id=node.fragment_id,
            value=self._shown_value(kind, proto),
            options=tuple(getattr(proto, "options", ())) if kind in ("radio", "selectbox") else (),
        )

    def _finish(self, run: Run) -> None:
        """Clear what the run did not redraw (as the frontend does) and snapshot the screen."""
        current = self._generation
        if run.fragment:
            fragments = set(run.fragment_ids)
            stale = [
                p
                for p, n in self._page.items()
                if n.generation != current and n.fragment_id in fragments
            ]
        else:
            stale = [p for p, n in self._page.items() if n.generation != current]
        for path in stale:
            del self._page[path]
        ids = set()
        for node in self._page.values():
            kind = node.element.WhichOneof("type")
            if kind in VALUE_WIDGETS or kind in TRIGGER_WIDGETS:
                ids.add(getattr(node.element, kind).id)
        for wid in [w for w in self._states if w not in ids]:
            del self._states[wid]
        screen = Screen()
        for _, node in sorted(self._page.items()):
            el = node.element
            which = el.WhichOneof("type")
            if not which:
                continue
            body = getattr(getattr(el, which), "body", None)
            if isinstance(body, str):
                screen.texts.append(body)
            if which == "metric":
                screen.metrics[el.metric.label] = el.metric.body
            elif which == "exception":
                screen.exceptions.append(f"{el.exception.type}: {el.exception.message}")
            widget = self._widget(node)
            if widget is not None:
                screen.widgets.append(widget)
                if node.generation == current:
                    run.widgets.append(widget)
        run.screen = screen

    # -- what the tab shows ----------------------------------------------------

    @property
    def last(self) -> Run:
        with self._cond:
            return self.runs[-1] if self.runs else Run()

    @property
    def screen(self) -> Screen:
        """The page as the tab shows it now (after the last finished run)."""
        return self.last.screen

    def run_count(self) -> int:
        with self._cond:
            return len(self.runs)

    def runs_since(self, count: int) -> list[Run]:
        """The runs finished after the first ``count`` (a `run_count()` taken earlier)."""
        with self._cond:
            return self.runs[count:]

    def start_count(self) -> int:
        with self._cond:
            return self.starts

    def wait_for(
        self,
        predicate: Callable[[Run], bool],
        timeout: float = 15,
        what: str = "a run",
        after: int | None = None,
    ) -> Run:
        """Wait until the latest finished run satisfies ``predicate``.

        With ``after=n`` (a `run_count()` taken before an action), only a run
        finished after the first n counts: the one the action caused, or later.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                fresh = after is None or len(self.runs) > after
                if self.runs and fresh and predicate(self.runs[-1]):
                    return self.runs[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    shown = self.runs[-1].texts if self.runs else "no run"
                    screen = self.runs[-1].screen.describe() if self.runs else "nothing"
                    raise AssertionError(
                        f"tab {self.name or self.query!r}: timed out waiting for {what}; "
                        f"last run showed {shown}; the tab shows {screen}"
                    )
                self._cond.wait(remaining)

    def wait_text(self, text: str, timeout: float = 15) -> Run:
        return self.wait_for(lambda r: text in r.texts, timeout, f"text {text!r}")

    def wait_shown(self, text: str, timeout: float = 15, after: int | None = None) -> Run:
        """Wait until the tab shows ``text`` anywhere on the page (fragment runs merged in)."""
        return self.wait_for(lambda r: text in r.screen.texts, timeout, f"{text!r} shown", after)

    def wait_metric(
        self, label: str, value: str, timeout: float = 15, after: int | None = None
    ) -> Run:
        return self.wait_for(
            lambda r: r.screen.metrics.get(label) == value,
            timeout,
            f"metric {label!r} showing {value!r}",
            after,
        )

    def wait_widget(
        self, label: str, value: Any, timeout: float = 15, after: int | None = None
    ) -> Run:
        def shows(run: Run) -> bool:
            return any(w.label == label and w.value == value for w in run.screen.widgets)

        return self.wait_for(shows, timeout, f"widget {label!r} showing {value!r}", after)

    def settle(self, quiet: float = 1.5, timeout: float = 20) -> int:
        """Wait until no run is in flight and none started for ``quiet`` seconds.

        Returns `run_count()`. For tests that must show that something does NOT
        keep happening (a session rerunning itself, two sessions rerunning each
        other): a bounded quiet period is the only evidence there is.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            seen = (len(self.runs), self.starts)
            since = time.monotonic()
            while True:
                now = time.monotonic()
                if (len(self.runs), self.starts) != seen:
                    seen = (len(self.runs), self.starts)
                    since = now
                elif (now - since >= quiet and not self._in_flight) or self._closed:
                    return len(self.runs)
                if now >= deadline:
                    raise AssertionError(
                        f"tab {self.name or self.query!r}: still running after {timeout}s "
                        f"({len(self.runs)} runs finished, {self.starts} started)"
                    )
                self._cond.wait(min(0.1, max(deadline - now, 0.01)))

    # -- acting like a person ----------------------------------------------------

    def widget(self, label: str, kind: str | None = None) -> Widget:
        """The widget labelled ``label`` on the page (a chat input by its placeholder)."""
        return self.screen.widget(label, kind)

    def click_button(self, label: str) -> int:
        """Click the button labelled ``label``; returns `run_count()` before the click."""
        return self._interact(label, "button", True)

    def set_value(self, label: str, value: Any) -> int:
        """Give a value widget a new value (slider, number/text input, checkbox, radio, selectbox).

        Returns `run_count()` before the rerun it sends.
        """
        return self._interact(label, None, value)

    def chat(self, placeholder: str, message: str) -> int:
        """Send ``message`` with the chat input whose placeholder is ``placeholder``."""
        return self._interact(placeholder, "chat_input", message)

    def _interact(self, label: str, kind: str | None, value: Any) -> int:
        with self._cond:
            before = len(self.runs)
            widget = self.screen.widget(label, kind)
            node = next(
                n
                for n in self._page.values()
                if n.element.WhichOneof("type") == widget.kind
                and getattr(n.element, widget.kind).id == widget.id
            )
            proto = getattr(node.element, widget.kind)
            if getattr(proto, "form_id", ""):
                raise NotImplementedError("widgets inside st.form are not supported")
            if widget.kind in ("radio", "selectbox") and value not in widget.options:
                raise ValueError(f"{value!r} is not one of {widget.options}")
            state = self._encode(widget.kind, proto, value)
            self._states[widget.id] = state
            self._send_rerun(fragment_id=widget.fragment_id)
            if widget.kind in TRIGGER_WIDGETS:
                del self._states[widget.id]  # a trigger is sent once
            return before

    def click(self, query: str | None = None) -> None:
        """Ask for a rerun, as a widget interaction does (optionally with a new query string)."""
        with self._cond:
            if query is not None:
                self.query = query
            self._send_rerun()

    def navigate(self, url_path: str, query: str = "") -> int:
        """Go to another page of an `st.navigation` app, as its menu does.

        The browser drops the query string when it changes page. Returns
        `run_count()` before.
        """
        with self._cond:
            before = len(self.runs)
            page_hash = self.pages.get(url_path.strip("/"))
            if page_hash is None:
                raise LookupError(f"no page {url_path!r}; the app lists {sorted(self.pages)}")
            self.query = query
            self._send_rerun(page_script_hash=page_hash)
            return before

    def clear_cache(self, timeout: float = 10) -> None:
        """What the app menu's "Clear cache" sends; returns once the server has done it.

        It starts no run, so a heartbeat follows it: the server handles one
        tab's messages in order, so its answer means the caches are cleared.
        """
        from streamlit.proto.BackMsg_pb2 import BackMsg

        with self._cond:
            acks = self._acks
            clear = BackMsg()
            clear.clear_cache = True
            self.ws.send(clear.SerializeToString())
            heartbeat = BackMsg()
            heartbeat.app_heartbeat = True
            self.ws.send(heartbeat.SerializeToString())
            if not self._cond.wait_for(lambda: self._acks > acks or self._closed, timeout):
                raise AssertionError(f"tab {self.name or self.query!r}: no heartbeat answer")

    def _send_rerun(
        self,
        fragment_id: str = "",
        page_script_hash: str | None = None,
        page_name: str = "",
        widget_states: bool = True,
    ) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = (
            self.page_script_hash if page_script_hash is None else page_script_hash
        )
        state.page_name = page_name
        state.fragment_id = fragment_id
        if widget_states:
            states: Sequence[WidgetState] = list(self._states.values())
            state.widget_states.widgets.extend(states)
        self.ws.send(msg.SerializeToString())

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        self._thread.join(5)
