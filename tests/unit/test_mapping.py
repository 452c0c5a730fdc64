"""server_state's mapping semantics, on the embedded store."""

from __future__ import annotations

import copy

import pytest

from streamlit_redis_state import (
    InvalidKey,
    UnsupportedValue,
    ValueTooLarge,
    configure,
    no_rerun,
    server_state,
)
from streamlit_redis_state.engine.hub import Hub

pytestmark = pytest.mark.usefixtures("state")


def test_item_and_attribute_access() -> None:
    server_state["a"] = 1
    server_state.b = [1, 2]
    assert server_state.a == 1 and server_state["b"] == [1, 2]
    assert "a" in server_state and "zzz" not in server_state
    del server_state["a"]
    del server_state.b
    assert "a" not in server_state and "b" not in server_state


def test_missing_keys_raise_keyerror_and_attributeerror_with_help() -> None:
    with pytest.raises(KeyError, match="setdefault"):
        server_state["nope"]
    with pytest.raises(AttributeError, match="Initialise it first"):
        server_state.nope
    assert not hasattr(server_state, "nope")
    assert getattr(server_state, "nope", 42) == 42
    with pytest.raises(KeyError):
        del server_state["nope"]
    with pytest.raises(AttributeError):
        del server_state.nope


@pytest.mark.parametrize(
    ("key", "error"),
    [
        (1, TypeError),
        (None, TypeError),
        (b"x", TypeError),
        ("", InvalidKey),
        ("__x__", InvalidKey),
        ("k" * 1025, InvalidKey),
    ],
)
def test_bad_keys_get_clear_errors(key: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        server_state[key] = 1  # type: ignore[index]
    with pytest.raises(error):
        server_state[key]  # type: ignore[index]
    assert key not in server_state


def test_method_names_cannot_be_shadowed_by_attribute() -> None:
    with pytest.raises(AttributeError, match="use server_state\\['get'\\]"):
        server_state.get = 1  # type: ignore[method-assign]
    server_state["get"] = 1  # item access is fine
    assert server_state["get"] == 1
    assert callable(server_state.get)


def test_mapping_methods() -> None:
    server_state.update({"x": 1}, y=2)
    assert server_state.get("x") == 1 and server_state.get("q", "d") == "d"
    assert sorted(server_state) == ["x", "y"] and len(server_state) == 2
    assert sorted(server_state.keys()) == ["x", "y"]
    assert sorted(server_state.values()) == [1, 2]
    assert sorted(server_state.items()) == [("x", 1), ("y", 2)]
    assert (
        server_state.to_dict() == {"x": 1, "y": 2} == server_state.copy() == copy.copy(server_state)
    )
    assert server_state.setdefault("x", 99) == 1
    assert server_state.setdefault("z", [0]) == [0] and server_state.z == [0]
    assert server_state.pop("z") == [0] and "z" not in server_state
    assert server_state.pop("z", "gone") == "gone"
    with pytest.raises(KeyError):
        server_state.pop("z")
    server_state.clear()
    assert len(server_state) == 0 and server_state.to_dict() == {}


def test_update_with_a_bad_value_writes_nothing() -> None:
    with pytest.raises(UnsupportedValue, match=r"value\['deep'\]"):
        server_state.update(a=1, b={"deep": object()})
    assert "a" not in server_state


def test_rejected_write_leaves_stored_value(state: Hub) -> None:
    server_state.v = "keep"
    with pytest.raises(UnsupportedValue):
        server_state.v = {1, object()}
    configure(namespace="t", lock_lease=1.5, lock_timeout=2.0, max_value_bytes=100)
    # reconfigure dropped the test hub's client; the embedded store is new, so re-seed
    server_state.v = "keep"
    with pytest.raises(ValueTooLarge):
        server_state.v = "x" * 200
    assert server_state.v == "keep"


def test_reads_return_fresh_copies() -> None:
    server_state.l = [1]
    server_state.l.append(2)  # changes only the local copy
    assert server_state.l == [1]
    mine = server_state.l
    mine.append(3)
    assert server_state.l == [1]


def test_edit_read_modify_write() -> None:
    with server_state.edit("msgs", default=[]) as msgs:
        msgs.append("hi")
    with server_state.edit("msgs") as msgs:
        msgs.append("there")
    assert server_state.msgs == ["hi", "there"]
    with pytest.raises(KeyError):
        with server_state.edit("absent"):
            pass
    with pytest.raises(RuntimeError), server_state.edit("msgs") as msgs:
        msgs.append("lost")
        raise RuntimeError("body failed")
    assert server_state.msgs == ["hi", "there"]


def test_default_in_edit_is_not_shared() -> None:
    default: list[int] = []
    with server_state.edit("e", default=default) as value:
        value.append(1)
    assert default == []


def test_no_change_write_bumps_nothing(state: Hub) -> None:
    server_state.n = {"a": 1}
    version = state.store.read("n").version
    seq = state.store.sync_state([])[0]
    server_state.n = {"a": 1}
    assert state.store.read("n").version == version
    assert state.store.sync_state([])[0] == seq
    server_state.n = {"a": 2}
    assert state.store.read("n").version == version + 1
    assert state.store.sync_state([])[0] == seq + 1


def test_versions_and_sequence_count_changes_and_deletes(state: Hub) -> None:
    server_state.k = 1
    server_state.k = 2
    del server_state.k
    snap = state.store.read("k")
    assert snap.blob is None and snap.version == 3
    server_state.k = 1
    assert state.store.read("k").version == 4


def test_no_rerun_is_nestable() -> None:
    with no_rerun:
        with no_rerun:
            server_state.q = 1
        server_state.q = 2
    assert server_state.q == 2
    from streamlit_redis_state.engine.hub import quiet_depth

    assert quiet_depth.get() == 0


def test_copy_and_deepcopy_do_not_probe_redis_for_dunders() -> None:
    server_state.a = 1
    assert copy.deepcopy(server_state) == {"a": 1}
    assert not hasattr(server_state, "__deepcopy_not__")


class Opaque:
    pass


def _values() -> object:
    from hypothesis import strategies as st

    bad = st.one_of(st.builds(Opaque), st.builds(object), st.just(1j), st.just(bytearray(b"x")))
    leaves = st.one_of(
        st.integers(), st.text(max_size=5), st.none(), st.floats(allow_nan=False), bad
    )
    return st.recursive(
        leaves,
        lambda c: st.one_of(
            st.lists(c, max_size=3),
            st.dictionaries(st.text(max_size=3), c, max_size=3),
            st.tuples(c),
        ),
        max_leaves=6,
    )


def test_fuzz_every_write_round_trips_or_is_rejected_untouched(state: Hub) -> None:
    from hypothesis import HealthCheck, given, settings

    server_state.fz = "sentinel"

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_values())
    def check(value: object) -> None:
        before = server_state.fz
        try:
            server_state.fz = value
        except UnsupportedValue:
            assert server_state.fz == before
            return
        assert server_state.fz == value

    check()
