"""What the soak app shows and the operations it (and the test) makes, in one place.

The app (`soak_app.py`, which imports this module by its file name) and the
test (`tests/soak/test_soak.py`, by its package path) must agree on two things:
how a value is drawn (`render`, `ELEMENTS`), and what an operation does
(`apply`). Keeping both here means the invariant compares like with like.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

MISSING = "<missing>"

#: The state keys the page shows. "h" is written but shown nowhere.
SHOWN_KEYS = ("a", "b", "f", "g", "log")
KEYS = (*SHOWN_KEYS, "h")
#: The presence groups the page shows.
GROUPS = ("room", "lobby")
#: How many of the newest "log" items the page draws.
TAIL = 3

#: Each element of the page: its name (the text reads "<name>=<shown>") and
#: where it is drawn. "top": the script's top level; "frag1"/"frag2": inside
#: that st.fragment.
ELEMENTS: dict[str, str] = {
    "a": "top",  # server_state.get("a", MISSING)
    "b": "top",  # "b" in server_state, then server_state.b
    "room": "top",  # presence("room") (joined while the "here" checkbox is on)
    "f": "frag1",  # server_state.get("f", MISSING)
    "log": "frag1",  # server_state.tail("log", TAIL)
    "loglen": "frag1",  # server_state.length("log")
    "g": "frag2",  # server_state["g"], KeyError -> MISSING
    "lobby": "frag2",  # presence("lobby") (joined while the "lobby" checkbox is on)
}


def render(value: Any) -> str:
    """How the page draws a value: ``repr``, which is deterministic for the values used."""
    return MISSING if value is MISSING else repr(value)


def expected_texts(stored: dict[str, Any], members: dict[str, list[str]]) -> dict[str, str]:
    """What each element must show, given what Redis holds.

    ``stored``: key -> value (``MISSING`` when absent); ``members``: group ->
    sorted names of its live members.
    """
    out: dict[str, str] = {}
    for key in ("a", "b", "f", "g"):
        out[key] = render(stored[key])
    log = stored["log"]
    if log is MISSING:
        out["log"], out["loglen"] = render([]), render(0)
    elif type(log) is list:
        out["log"], out["loglen"] = render(log[-TAIL:]), render(len(log))
    else:  # tail() and length() refuse what is not a list
        out["log"] = out["loglen"] = "error:TypeError"
    for group in GROUPS:
        out[group] = ",".join(members[group])
    return out


# -- operations ---------------------------------------------------------------------
# An operation is a JSON list: [kind, key, args...]. A command is a JSON object
# {"n": nonce, "ops": [operation, ...]}; the nonce makes every command a new
# value for the widget or query parameter that carries it.

Op = list[Any]


def command(nonce: str, ops: list[Op]) -> str:
    return json.dumps({"n": nonce, "ops": ops}, separators=(",", ":"))


def parse(text: str) -> tuple[str, list[Op]]:
    """A command's nonce and operations (nothing, for text that is not a command)."""
    try:
        spec = json.loads(text)
        return str(spec["n"]), list(spec["ops"])
    except (ValueError, KeyError, TypeError):
        return "", []


def apply(op: Op, spawn: Callable[[list[Op], bool], None] | None = None) -> None:
    """Make one operation with the library (in whatever process and thread calls it).

    ``spawn(ops, with_context)`` starts a thread for "thread" and "worker"
    operations; without it they run in the calling thread. Errors the library
    documents (a TypeError for appending to a non-list, ServerStateError) are
    the caller's to catch.
    """
    import time

    from streamlit_redis_state import force_rerun_bound_sessions, server_state, server_state_lock

    kind, key, *args = op
    if kind == "set":
        server_state[key] = args[0]
    elif kind == "attr":
        setattr(server_state, key, args[0])
    elif kind == "ttl":
        server_state.set(key, args[0], ttl=args[1])
    elif kind == "expire":
        server_state.expire(key, args[0])
    elif kind == "append":
        server_state.append(key, *args[0], max_len=args[1])
    elif kind == "edit":
        with server_state.edit(key, default=[]) as value:
            if type(value) is list:
                value.append(args[0])
            elif type(value) is dict:
                value[str(args[0])] = args[0]
    elif kind == "incr":
        with server_state_lock[key]:
            value = server_state.get(key, 0)
            server_state[key] = value + 1 if type(value) is int else 0
    elif kind == "pop":
        server_state.pop(key, None)
    elif kind == "del":
        if key in server_state:
            del server_state[key]
    elif kind == "setdefault":
        server_state.setdefault(key, args[0])
    elif kind == "update":
        server_state.update(args[0])
    elif kind == "touch":
        force_rerun_bound_sessions(key)
    elif kind == "sleep":  # a slow run: no st.* call meanwhile, then what follows
        time.sleep(args[0])
    elif kind in ("thread", "worker"):
        if spawn is None:
            for inner in args[0]:
                apply(inner)
        else:
            spawn(args[0], kind == "thread")
    else:
        raise ValueError(f"unknown operation {kind!r}")


class Tally:
    """Threads started and finished, appended to a file that the test reads (one per process).

    "+" is written before a thread starts and "-" when it ends, so the test
    knows no thread is still writing when the counts agree.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    def mark(self, sign: str, what: str) -> None:
        with self._lock, open(self.path, "a") as f:
            f.write(f"{sign} {what}\n")


def tally_counts(text: str) -> tuple[int, int]:
    lines = text.splitlines()
    return sum(1 for x in lines if x.startswith("+")), sum(1 for x in lines if x.startswith("-"))
