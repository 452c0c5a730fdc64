"""The soak tier's app: a page of shared keys, changed by commands from many directions.

    ?name=A3              the tab's name (its presence name too)

The page (soak_ops.ELEMENTS) draws each element as "<name>=<shown>":

    top level   a (get), b (`in`, then attribute access), room (presence)
    fragment 1  f (get), log (tail), loglen (length)
    fragment 2  g ([] with KeyError), lobby (presence)

The "here" and "lobby" checkboxes join and leave the two presence groups
(room at the top level, lobby inside fragment 2). Commands (soak_ops.command)
arrive three ways, so writes happen in every place Streamlit runs code:

    the "cmd" text input     its on_change callback runs them (before the script body)
    the "fcmd" text input    fragment 1 runs them in its body, in a fragment-only run
    the q query parameter    the top level's body runs them, once per command

By default the "fcmd" input and the "lobby" box are drawn at the top level:
a command waits for the next fragment-only run of fragment 1 (one the library
asks for when f or log changes), and fragment 2 joins or leaves the lobby as
the box says. With SRS_SOAK_FRAGMENT_WIDGETS=1 they are drawn inside their
fragments, so using them reruns only the fragment, as a browser does (see
FRAGMENT_WIDGETS in tests/soak/test_soak.py for why that is not the default).

An operation "thread" runs its operations in a thread given the session's
script context (add_script_run_ctx), "worker" in a plain thread. Every
operation is logged to $SRS_SOAK_DIR/ops-<replica>.log, and threads to
tally-<replica>.log, so the test knows when they are done.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import streamlit as st
from soak_ops import MISSING, TAIL, Op, Tally, apply, parse, render
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from streamlit_redis_state import (
    ServerStateError,
    leave_presence,
    presence,
    server_state,
)

REPLICA = os.environ.get("SRS_REPLICA", "?")
DIR = os.environ["SRS_SOAK_DIR"]
TALLY = Tally(os.path.join(DIR, f"tally-{REPLICA}.log"))
name = st.query_params.get("name", "?")
#: Widgets inside the fragments (a tab's interaction then reruns only the
#: fragment). Off by default: see FRAGMENT_WIDGETS in tests/soak/test_soak.py.
FRAGMENT_WIDGETS = os.environ.get("SRS_SOAK_FRAGMENT_WIDGETS", "0") == "1"


def log(nonce: str, where: str, op: Op, outcome: str) -> None:
    with open(os.path.join(DIR, f"ops-{REPLICA}.log"), "a") as f:
        f.write(f"{time.time():.3f} {nonce} {name} {where} {op!r} {outcome}\n")


def run_ops(command: tuple[str, list[Op]], where: str) -> None:
    nonce, ops = command
    for op in ops:
        try:
            apply(op, spawn=lambda inner, ctx: spawn((nonce, inner), ctx, where))
            log(nonce, where, op, "ok")
        except (ServerStateError, TypeError, ValueError) as exc:
            # ServerStateError, and what the library documents: TypeError for
            # an append to a non-list. An app would show them; here they would
            # only clutter the page the invariant reads.
            log(nonce, where, op, f"{type(exc).__name__}: {exc}"[:200])


def spawn(command: tuple[str, list[Op]], with_context: bool, where: str) -> None:
    label = f"{where}:{'thread' if with_context else 'worker'}"
    TALLY.mark("+", f"{command[0]} {name} {label}")

    def body() -> None:
        try:
            run_ops(command, label)
        finally:
            TALLY.mark("-", f"{command[0]} {name} {label}")

    thread = threading.Thread(target=body, daemon=True)
    if with_context:
        add_script_run_ctx(thread, get_script_run_ctx())
    thread.start()


def show(element: str, read: Callable[[], Any], draw: Callable[[Any], str] = render) -> None:
    """Draw one element as "<element>=<shown>"; a library error is drawn too, by its type."""
    try:
        value = read()
    except ServerStateError as exc:
        st.text(f"{element}=error:{type(exc).__name__}")
        return
    except TypeError:  # tail() and length() of a key that holds no list
        st.text(f"{element}=error:TypeError")
        return
    st.text(f"{element}={draw(value)}")


def on_command() -> None:
    run_ops(parse(st.session_state.cmd), "callback")


def queue_fragment_command() -> None:
    st.session_state.f_pending = st.session_state.fcmd


# -- the commands of the query string, once each ------------------------------------

query_command = st.query_params.get("q", "")
if query_command and st.session_state.get("q_done") != query_command:
    st.session_state.q_done = query_command  # first: a stopped run must not run it twice
    run_ops(parse(query_command), "query")

# -- the top level ------------------------------------------------------------------

st.text(f"replica={REPLICA} name={name}")
show("a", lambda: server_state.get("a", MISSING))


def read_b() -> Any:
    if "b" not in server_state:
        return MISSING
    try:
        return server_state.b
    except AttributeError:  # deleted between the two reads
        return MISSING


show("b", read_b)
here = st.checkbox("here", value=True)


def room() -> list[str]:
    if here:
        return presence("room", name=name)
    leave_presence("room")
    return presence("room")


show("room", room, ",".join)
st.text_input("cmd", key="cmd", on_change=on_command)
if not FRAGMENT_WIDGETS:
    # Outside the fragments: a command waits for a fragment-only run (one the
    # library asks for when f or log changes) and runs there; the box ticks at
    # the top level and the fragment joins or leaves.
    st.text_input("fcmd", key="fcmd", on_change=queue_fragment_command)
    in_lobby = st.checkbox("lobby", value=False)


def fragment_only_run() -> bool:
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


@st.fragment
def pane_one() -> None:
    show("f", lambda: server_state.get("f", MISSING))
    show("log", lambda: server_state.tail("log", TAIL))
    show("loglen", lambda: server_state.length("log"))
    if FRAGMENT_WIDGETS:
        fcmd = st.text_input("fcmd", key="fcmd")
        if fcmd and st.session_state.get("f_done") != fcmd:
            st.session_state.f_done = fcmd
            run_ops(parse(fcmd), "fragment")
    elif fragment_only_run() and st.session_state.get("f_pending"):
        pending, st.session_state.f_pending = st.session_state.f_pending, ""
        run_ops(parse(pending), "fragment")


@st.fragment
def pane_two() -> None:
    def read_g() -> Any:
        try:
            return server_state["g"]
        except KeyError:
            return MISSING

    show("g", read_g)
    joined = st.checkbox("lobby", value=False) if FRAGMENT_WIDGETS else in_lobby

    def lobby() -> list[str]:
        if joined:
            return presence("lobby", name=name)
        leave_presence("lobby")
        return presence("lobby")

    show("lobby", lobby, ",".join)


pane_one()
pane_two()
