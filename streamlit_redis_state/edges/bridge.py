"""Every use of Streamlit's internals lives here, and nowhere else.

The engine is given a :class:`Bridge`: the current script's place, reruns,
disconnects. :class:`StreamlitBridge` is the real one; tests pass a fake with
the same methods. Built on ``Runtime.instance()`` (no ``Server`` object, no
``gc`` scan), so it works under ``streamlit run`` and under ``st.App`` /
uvicorn alike. Without a Streamlit runtime (plain Python, a worker thread,
``AppTest``) it answers "no session", reruns do nothing, and the state still
works.

Streamlit is imported on first use, not with this module: a worker process
or the command-line tool never pays for it. Checked against Streamlit 1.67;
docs/internals.md ("Streamlit") lists the facts relied on.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScriptPlace:
    """Where the calling code runs: a session, the fragment if inside one, and the run."""

    session_id: str
    #: The fragment executing now (reads subscribe it), or ``None`` at the top level.
    fragment_id: str | None = None
    #: The current script run, as an opaque token compared with ``==`` (a
    #: number: it keeps none of the run's objects alive).
    run: object = None
    #: The fragments a fragment-only run reruns; ``None`` for a full run.
    fragment_run: frozenset[str] | None = None
    #: Whether the caller is the session's script thread (not a worker thread
    #: given the session's context): only then is the caller the run itself.
    script_thread: bool = True
    #: Whether the run's script body has started; widget callbacks run before
    #: it, and what they read is not drawn on the page.
    drawing: bool = True
    #: Whether Streamlit told this run to stop (``runner.fastReruns`` replaced
    #: it; every way AppSession moves to another runner stops the old one
    #: first): it goes on until its next ``st.*`` call, but what it draws is
    #: not what the page will show.
    superseded: bool = False
    #: The depth of the chain of changes that started this run (see
    #: :meth:`Bridge.request_rerun`); 0 for a run a person started.
    chain: int = 0


class Bridge(Protocol):
    """What the engine needs from Streamlit."""

    def current_place(self) -> ScriptPlace | None:
        """The session (and fragment) of the calling thread, or ``None`` outside a run."""
        ...

    def yield_point(self) -> None:
        """Let Streamlit stop the calling run here if it asked to (raises its exception)."""
        ...

    def watch_disconnect(self, session_id: str) -> None:
        """From that session's run: call the release callback when its tab disconnects."""
        ...

    def set_release_callback(self, callback: Callable[[str], None]) -> None: ...

    def request_rerun(
        self, session_id: str, fragment_ids: set[str] | None, chain: int | None = 0
    ) -> bool:
        """Rerun a session (whole app, or only fragments); ``False`` if it is gone.

        ``chain``: the depth of the change that asks; the run it starts says
        so in its :attr:`ScriptPlace.chain`. ``None`` (a resync, a recovery):
        no change of its own, so the session's current chain goes on.
        """
        ...

    def runtime_exists(self) -> bool:
        """Whether a Streamlit runtime runs in this process."""
        ...

    def session_active(self, session_id: str) -> bool:
        """Whether the session is connected to this process's runtime."""
        ...

    def attach_logging(self, logger_name: str) -> None:
        """Under Streamlit, show the library's log at Streamlit's level and in its format."""
        ...


class _Streamlit:
    """The Streamlit functions the bridge calls, looked up once on first use."""

    get_ctx: Callable[..., Any] | None = None

    @classmethod
    def ctx(cls) -> Any:
        if cls.get_ctx is None:
            from streamlit.runtime.scriptrunner import get_script_run_ctx

            cls.get_ctx = get_script_run_ctx
        return cls.get_ctx(suppress_warning=True)


def _current_fragment_id() -> str | None:
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

        return ThreadState.get().fragment_id or None
    except Exception:
        return None


def _runtime() -> Any | None:
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        return Runtime.instance()
    except Exception:
        return None


# ---------------------------------------------------------------------------
# The disconnect hook: a session-scoped cached resource whose release (when
# the tab's websocket closes) calls back the bridge that installed it.

_bridges: weakref.WeakValueDictionary[int, StreamlitBridge] = weakref.WeakValueDictionary()
_bridge_ids = itertools.count(1)
_token_factory: Callable[[str, int], _SessionToken] | None = None
_factory_made = False
_factory_lock = threading.Lock()


class _SessionToken:
    """Held in a session-scoped resource cache; released when the tab disconnects."""

    def __init__(self, session_id: str, bridge_id: int) -> None:
        self.session_id = session_id
        self.bridge_id = bridge_id


def _on_release(token: object) -> None:
    if not isinstance(token, _SessionToken):
        return
    bridge = _bridges.get(token.bridge_id)
    if bridge is not None:
        bridge._released(token.session_id)


def _make_token_factory() -> Callable[[str, int], _SessionToken] | None:
    try:
        import streamlit as st

        @st.cache_resource(scope="session", on_release=_on_release, show_spinner=False)
        def _session_token(session_id: str, bridge_id: int) -> _SessionToken:
            return _SessionToken(session_id, bridge_id)

        return _session_token
    except Exception:  # an old Streamlit without session scope
        logger.warning(
            "this Streamlit has no session-scoped cache; disconnects are "
            "noticed only when a rerun finds the session gone"
        )
        return None


def _factory() -> Callable[[str, int], _SessionToken] | None:
    global _token_factory, _factory_made
    with _factory_lock:
        if not _factory_made:
            _token_factory = _make_token_factory()
            _factory_made = True
        return _token_factory


class StreamlitBridge:
    """The real :class:`Bridge`, over Streamlit's runtime."""

    def __init__(self) -> None:
        self._id = next(_bridge_ids)
        _bridges[self._id] = self
        self._release_callback: Callable[[str], None] | None = None
        self._hooked: set[str] = set()
        self._hooked_lock = threading.Lock()
        # Reruns asked for but not yet handed to Streamlit, merged per session,
        # with the deepest chain that asked.
        self._pending: dict[str, set[str] | None] = {}
        self._pending_chain: dict[str, int] = {}
        self._pending_lock = threading.Lock()
        # A runner started by one of our reruns (known by its ScriptRequests,
        # which its runs' context holds) -> the chain depth that started it.
        self._chains: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
        # A run's coordinator -> the run's number (see _run_number).
        self._runs: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
        self._run_numbers = itertools.count(1)
        # While a rerun request of ours is being handed to Streamlit: session
        # -> (its runner before, the depth). The runner it starts may run its
        # script before the request returns; its first look claims the depth.
        self._handing: dict[str, tuple[object, int]] = {}

    # -- where the caller runs ------------------------------------------------

    def current_place(self) -> ScriptPlace | None:
        try:
            ctx = _Streamlit.ctx()
        except Exception:
            return None
        if ctx is None:
            return None
        # ctx.reset() makes a new coordinator for every run, full or fragment:
        # the one object whose identity is the run's.
        run = self._run_number(getattr(ctx, "parallel_coordinator", None) or ctx)
        fragments = getattr(ctx, "fragment_ids_this_run", None)
        main_thread = getattr(ctx, "_main_thread_ident", None)
        requests = getattr(ctx, "script_requests", None)
        state = getattr(requests, "_state", None)
        return ScriptPlace(
            ctx.session_id,
            _current_fragment_id(),
            run,
            frozenset(fragments) if fragments else None,
            main_thread is None or main_thread == threading.get_ident(),
            bool(getattr(ctx, "_has_script_started", True)),
            getattr(state, "name", "") == "STOP",
            self._chain(ctx.session_id, requests),
        )

    def _run_number(self, run: object) -> object:
        """A number for the run whose coordinator (or context) is ``run``.

        Subscriptions remember the run that read a key, for as long as the
        session lives. Holding the coordinator itself would keep the session's
        last script runner alive with it (over a hundred objects per session),
        which Streamlit's full collection after every run walks again: with N
        sessions rerun at once, N times.
        """
        try:
            number = self._runs.get(run)
            if number is None:
                number = self._runs.setdefault(run, next(self._run_numbers))
            return number
        except TypeError:  # not hashable, or no weak references: the object itself
            return run

    def _chain(self, session_id: str, requests: object) -> int:
        """The chain depth of the run whose runner has ``requests`` (0: a person's run)."""
        if requests is None:
            return 0
        depth = self._chains.get(requests)
        if depth is not None:
            return depth
        handing = self._handing.get(session_id)
        if handing is None:
            return 0
        before, depth = handing
        rt = _runtime()
        session = rt.get_app_session(session_id) if rt is not None else None
        runner = getattr(session, "_scriptrunner", None)
        if runner is None or runner is before or getattr(runner, "_requests", None) is not requests:
            return 0
        self._chains[requests] = depth  # the runner our request started
        return depth

    def yield_point(self) -> None:
        """Let Streamlit stop or restart the calling script run here, if it was asked to.

        Streamlit only interrupts a run at its own calls (``st.*``,
        ``st.session_state``). A run blocked waiting for a lock makes none, so
        without this a rerun leaves the stopped run queued for the lock while a
        new run queues behind it: under a burst of reruns, threads pile up on
        one lock. Calling the same checkpoint ``st.session_state`` uses lets the
        stopped run leave the queue at once (Streamlit's StopException or
        RerunException propagates; it is Streamlit's to handle).
        """
        try:
            ctx = _Streamlit.ctx()
            check = getattr(getattr(ctx, "session_state", None), "_yield_callback", None)
        except Exception:
            return
        if check is not None:
            check()

    # -- disconnects ----------------------------------------------------------

    def set_release_callback(self, callback: Callable[[str], None]) -> None:
        self._release_callback = callback

    def watch_disconnect(self, session_id: str) -> None:
        """Arrange for the release callback to run when ``session_id``'s tab disconnects.

        Must be called from that session's script thread. Cheap after the first
        call for a session.
        """
        with self._hooked_lock:
            if session_id in self._hooked:
                return
            self._hooked.add(session_id)
        factory = _factory()
        if factory is None:
            return
        try:
            factory(session_id, self._id)
        except Exception:
            logger.debug("could not install the disconnect hook", exc_info=True)
            with self._hooked_lock:
                self._hooked.discard(session_id)

    def _released(self, session_id: str) -> None:
        """The session's cached resources were released: a disconnect, or a cache clear.

        ``st.cache_resource.clear()`` (and the app menu's "Clear cache")
        releases them for connected sessions too, and a disconnect releases
        them before the runtime forgets the session. So the session is looked
        at again once the event loop has finished what it is doing: one still
        active was only cleared, keeps its subscriptions, and gets a new hook
        at its next read.
        """
        with self._hooked_lock:
            self._hooked.discard(session_id)
        rt = _runtime()
        session = rt.get_app_session(session_id) if rt is not None else None
        if session is None:
            self._gone(session_id)
            return
        try:
            session._event_loop.call_soon_threadsafe(self._check_gone, session_id)
        except RuntimeError:  # the loop closed: the session is shutting down
            self._gone(session_id)

    def _check_gone(self, session_id: str) -> None:
        if not self.session_active(session_id):
            self._gone(session_id)

    def _gone(self, session_id: str) -> None:
        callback = self._release_callback
        if callback is not None:
            try:
                callback(session_id)
            except Exception:
                logger.exception("disconnect hook failed")

    # -- reruns -----------------------------------------------------------------

    def runtime_exists(self) -> bool:
        return _runtime() is not None

    def attach_logging(self, logger_name: str) -> None:
        """Register the library's logger with Streamlit's, as Streamlit's own modules are.

        It then has Streamlit's handler and format, and follows
        ``--logger.level`` (even when changed later). Outside Streamlit (a
        worker), logging is left to the program.
        """
        if _runtime() is None:
            return
        try:
            from streamlit.logger import get_logger

            get_logger(logger_name)
        except Exception:
            logger.debug("could not attach to Streamlit's logging", exc_info=True)

    def session_active(self, session_id: str) -> bool:
        rt = _runtime()
        if rt is None:
            return False
        try:
            return bool(rt.is_active_session(session_id))
        except Exception:
            return False

    def request_rerun(
        self, session_id: str, fragment_ids: set[str] | None, chain: int | None = 0
    ) -> bool:
        """Ask Streamlit to rerun a session: the whole app, or only the given fragments.

        Returns ``False`` when the session is gone (disconnected or never known
        here), so the caller can drop its subscriptions. Thread-safe: the request
        is scheduled on the session's event loop, because ``AppSession`` is not
        thread-safe. Requests arriving before the scheduled one ran are merged
        into it, so a burst of changes costs one rerun.
        """
        rt = _runtime()
        if rt is None:
            return False
        try:
            session = rt.get_app_session(session_id)
        except Exception:
            return False
        if session is None:
            return False
        with self._pending_lock:
            scheduled = session_id in self._pending
            if chain is not None:
                self._pending_chain[session_id] = max(chain, self._pending_chain.get(session_id, 0))
            if not scheduled:
                self._pending[session_id] = None if fragment_ids is None else set(fragment_ids)
            else:
                current = self._pending[session_id]
                if current is not None:
                    if fragment_ids is None:
                        self._pending[session_id] = None
                    else:
                        current.update(fragment_ids)
        if scheduled:
            return True

        def run() -> None:
            with self._pending_lock:
                frags = self._pending.pop(session_id, None)
                asked = self._pending_chain.pop(session_id, None)
            # A rerun no change asked for (a resync) goes on with the chain of
            # the run it replaces, so it cannot restart a chain at 0.
            current = getattr(getattr(session, "_scriptrunner", None), "_requests", None)
            depth = asked if asked is not None else self._chains.get(current, 0) if current else 0
            self._handing[session_id] = (getattr(session, "_scriptrunner", None), depth)
            try:
                started = _rerun_now(session, frags)
                if started is not None:
                    # Before the hand-off ends: a run that looks between the
                    # two must find one or the other.
                    self._chains[started] = depth
            finally:
                self._handing.pop(session_id, None)

        try:
            session._event_loop.call_soon_threadsafe(run)
        except RuntimeError:  # the loop closed: the session is shutting down
            with self._pending_lock:
                self._pending.pop(session_id, None)
                self._pending_chain.pop(session_id, None)
            return False
        return True


def _live_client_state(session: Any) -> Any:
    """The client state to rerun ``session`` with: its page and query string, no widget triggers.

    ``session._client_state`` is only refreshed when a run chain ends, so
    during a session's first run it is still empty: a rerun pushed then would
    drop the query string and jump to the main page. While a run is in
    progress, its script context holds the live values (``st.query_params``
    writes go there), so they win.
    """
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.runtime.scriptrunner_utils.script_run_context import (  # type: ignore[attr-defined]
        SCRIPT_RUN_CONTEXT_ATTR_NAME,
    )

    state = ClientState()
    state.CopyFrom(session._client_state)
    runner = getattr(session, "_scriptrunner", None)
    thread = getattr(runner, "_script_thread", None)
    ctx = getattr(thread, SCRIPT_RUN_CONTEXT_ATTR_NAME, None) if thread is not None else None
    if ctx is not None:
        state.query_string = ctx.query_string
        page = ctx.page_script_hash
        if page:
            state.page_script_hash = page
    return state


class NoSession:
    """A :class:`Bridge` for code that is known to run outside Streamlit (the command line).

    No sessions, no reruns, and no import of Streamlit to find that out.
    """

    def current_place(self) -> ScriptPlace | None:
        return None

    def yield_point(self) -> None:
        pass

    def watch_disconnect(self, session_id: str) -> None:
        pass

    def set_release_callback(self, callback: Callable[[str], None]) -> None:
        pass

    def request_rerun(
        self, session_id: str, fragment_ids: set[str] | None, chain: int | None = 0
    ) -> bool:
        return False

    def runtime_exists(self) -> bool:
        return False

    def session_active(self, session_id: str) -> bool:
        return False

    def attach_logging(self, logger_name: str) -> None:
        pass


def _rerun_now(session: Any, fragment_ids: set[str] | None) -> object | None:
    """On the session's event loop: request the rerun with the session's page and query.

    Returns the ScriptRequests of the runner the request started, if it
    started one (with ``runner.fastReruns`` a full rerun does): the runs of
    that runner are the ones this rerun caused. A request queued on a runner
    already running is not told apart from the run in progress.
    """
    before = getattr(session, "_scriptrunner", None)
    try:
        base = _live_client_state(session)
        if fragment_ids is not None:
            live = [fid for fid in sorted(fragment_ids) if session.has_fragment(fid)]
            if live:
                runner, replaced = before, False
                for fid in live:
                    state = type(base)()
                    state.CopyFrom(base)
                    state.fragment_id = fid
                    session.request_rerun(state)
                    now = getattr(session, "_scriptrunner", None)
                    replaced = replaced or (runner is not None and now is not runner)
                    runner = now
                if replaced:
                    # A runner had finished its run (one the session had before,
                    # or one the previous request here started, whose thread ran
                    # its fragment and stopped), but the session had not yet
                    # handled that run's events: they wait behind this call on
                    # the loop. Streamlit would not queue the fragment on it,
                    # started a new runner, and now ignores the old runner's
                    # events: that run's output never reaches the browser.
                    # Only a full rerun repaints the page.
                    session.request_rerun(base)
                return _new_requests(session, before)
            # The fragments are gone (a full run is replacing them): rerun it all.
        # The script runner stores only query string, page and context in the
        # session's client state, so this re-clicks no button.
        session.request_rerun(base)
    except Exception:
        logger.debug("rerun request failed", exc_info=True)
    return _new_requests(session, before)


def _new_requests(session: Any, before: object) -> object | None:
    """The ScriptRequests of the session's runner, if it is not the one it had ``before``."""
    runner = getattr(session, "_scriptrunner", None)
    if runner is None or runner is before:
        return None
    return getattr(runner, "_requests", None)


__all__ = ["Bridge", "NoSession", "ScriptPlace", "StreamlitBridge"]
