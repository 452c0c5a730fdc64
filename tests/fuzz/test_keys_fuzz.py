"""Arbitrary key objects through the whole API.

A valid key (a non-empty str of at most 1024 characters, no NUL, no lone
surrogate, not ``__dunder__``) works everywhere, round-trips through Redis
under exactly its name and through the notification wire, so a reader of it
in this process is rerun by another replica's write. Anything else raises
TypeError or InvalidKey (a ValueError) and writes nothing to Redis. Presence
groups and names follow their own rules (ValueError). After every example,
the world's invariant (tests/fuzz/_hubs.py, World.check_healthy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from streamlit_redis_state import (
    ServerState,
    ServerStateError,
    force_rerun_bound_sessions,
    join_presence,
    leave_presence,
    presence,
    server_state,
    server_state_lock,
)
from streamlit_redis_state.base import codec
from streamlit_redis_state.base.keys import check_group, check_key, check_name
from tests.fuzz._hubs import World, _say_budget, fuzz_settings, typed, world  # noqa: F401
from tests.unit.conftest import deliver


class Sneaky(str):
    """A str subclass, as some libraries hand out (it must behave as its text)."""


#: Characters of every kind, lone surrogates and NULs included.
anything = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.just("\x00"))

keys = st.one_of(
    st.text(anything, max_size=12),
    st.text(st.characters(), min_size=1, max_size=12),  # mostly valid
    st.text(st.sampled_from("ab 𝄞\x00"), min_size=1020, max_size=1030),  # around the limit
    st.sampled_from(["", " ", "__x__", "__", "___", "\x00presence:room", "a\x00", "\ud800"]),
    st.sampled_from(["get", "keys", "set", "edit", "append", "_hub", "__class__", "copy"]),
    st.text(max_size=8).map(Sneaky),
    st.one_of(st.integers(), st.binary(max_size=8), st.none(), st.floats(), st.booleans()),
    st.tuples(st.text(max_size=3)),
)


def valid(key: object) -> bool:
    try:
        check_key(key)
    except (TypeError, ValueError):
        return False
    return True


def calls(w: World, key: Any) -> list[tuple[str, Callable[[], Any]]]:
    """Every API method, with ``key`` where the key goes."""

    def edit() -> None:
        with server_state.edit(key, default=[]) as value:
            if isinstance(value, list):
                value.append("edited")

    def lock() -> None:
        with server_state_lock[key]:
            pass

    def watch() -> None:
        server_state.watch(key, timeout=0).close()

    method = isinstance(key, str) and hasattr(ServerState, key)
    out: list[tuple[str, Callable[[], Any]]] = [
        ("get", lambda: server_state.get(key)),
        ("[]", lambda: server_state[key]),
        ("in", lambda: key in server_state),
        ("[]=", lambda: server_state.__setitem__(key, 1)),
        ("set ttl", lambda: server_state.set(key, 2, ttl=60)),
        ("setdefault", lambda: server_state.setdefault(key, 3)),
        ("update", lambda: server_state.update({key: 4})),
        ("append", lambda: server_state.append(key, 5)),
        ("tail", lambda: server_state.tail(key, 2)),
        ("length", lambda: server_state.length(key)),
        ("edit", edit),
        ("expire", lambda: server_state.expire(key, 60)),
        ("watch", watch),
        ("lock", lock),
        ("lock.get", lambda: server_state_lock.get(key, timeout=0.2)),
        ("lock in", lambda: key in server_state_lock),
        ("force rerun", lambda: force_rerun_bound_sessions(key)),
        ("pop", lambda: server_state.pop(key, None)),
        ("del", lambda: server_state.__delitem__(key)),
    ]
    if isinstance(key, str) and not method and not (key.startswith("__") and key.endswith("__")):
        out += [
            (".", lambda: getattr(server_state, key)),
            (".=", lambda: setattr(server_state, key, 6)),
            ("del .", lambda: delattr(server_state, key)),
            ("lock .", lambda: getattr(server_state_lock, key)),
        ]
    if isinstance(key, str) and key.isidentifier():
        out.append(("update kwargs", lambda: server_state.update(**{key: 7})))
    out += [
        ("presence group", lambda: w.as_tab("tab", lambda: presence(key, name="someone"))),
        ("presence name", lambda: w.as_tab("tab", lambda: presence("group", name=key))),
        ("join group", lambda: w.as_tab("tab", lambda: join_presence(key, "someone"))),
        ("join name", lambda: w.as_tab("tab", lambda: join_presence("group", key))),
        ("leave", lambda: w.as_tab("tab", lambda: leave_presence(key))),
    ]
    return out


def redis_snapshot(w: World) -> dict[bytes, Any]:
    """Every Redis key and what it holds (DUMP), to show an invalid key wrote nothing."""
    return {k: w.raw.dump(k) for k in w.raw.keys("*")}


PRESENCE_CALLS = ("presence", "join", "leave")


@fuzz_settings
@given(key=keys)
def test_any_key_through_the_whole_api(key: Any) -> None:
    with world() as w:
        before = redis_snapshot(w)
        for what, call in calls(w, key):
            if what.startswith(PRESENCE_CALLS):
                continue  # groups and names have rules of their own: below
            if valid(key):
                typed(call, f"{what} with {key!r:.40}")
                continue
            try:
                result = call()
            except (TypeError, ValueError) as exc:
                assert type(exc) in (TypeError, ValueError) or isinstance(exc, ServerStateError), (
                    f"{what} with {key!r:.40}: {type(exc).__name__}"
                )
                continue
            except Exception as exc:
                raise AssertionError(f"{what} with {key!r:.40}: {exc!r}") from exc
            # Only membership tests may answer an invalid key, and they say no.
            assert what in ("in", "lock in") and result is False, (
                f"{what} accepted the invalid key {key!r:.40}"
            )
        if not valid(key):
            assert redis_snapshot(w) == before, f"the invalid key {key!r:.40} wrote to Redis"
        for what, call in calls(w, key):
            if what.startswith(PRESENCE_CALLS):
                typed(call, f"{what} with {key!r:.40}")
        w.check_healthy()


@fuzz_settings
@given(key=keys.filter(valid), value=st.one_of(st.integers(), st.text(), st.none()))
def test_a_valid_key_round_trips_through_redis_and_the_wire(key: str, value: Any) -> None:
    with world() as w:
        w.as_tab("reader", lambda: server_state.get(key))  # subscribes the reader
        w.other.set(key, codec.encode(value))  # another replica writes it
        w.st.clear()
        deliver(w.hub)
        assert "reader" in w.st.rerun_sessions(), f"the notification for {key!r:.40} was lost"
        assert w.as_tab("reader", lambda: server_state[key]) == value
        assert codec.decode(w.raw.get(w.ks.value(key)) or b"") == value  # under exactly its name
        assert key in server_state.keys()
        server_state[key] = [value]  # and back the other way
        deliver(w.other)
        assert codec.decode(w.other.read(key).blob or b"") == [value]
        w.check_healthy()


names = st.one_of(st.text(anything, max_size=8), st.text(max_size=210), st.just(" "), st.none())


@fuzz_settings
@given(group=names, name=names)
def test_any_presence_group_and_name(group: Any, name: Any) -> None:
    with world() as w:
        ok = True
        for check, value in ((check_group, group), (check_name, name)):
            if value is None and check is check_name:
                continue  # no name: only look
            try:
                check(value)
            except ValueError:
                ok = False
        try:
            shown = w.as_tab("tab", lambda: presence(group, name=name))
        except ValueError as exc:
            assert not ok and type(exc) is ValueError, f"{group!r:.30}/{name!r:.30}: {exc!r}"
        else:
            assert ok, f"presence accepted {group!r:.30} / {name!r:.30}"
            joined = [] if name is None else [name]
            assert shown == joined
            assert w.as_tab("other tab", lambda: presence(group)) == joined
            w.as_tab("tab", lambda: leave_presence(group))
            assert w.as_tab("other tab", lambda: presence(group)) == []
        w.check_healthy()
