"""The anchor's surface, exactly: code written for streamlit-server-state runs unchanged."""

from __future__ import annotations

import pytest

from streamlit_redis_state import MissingKey, server_state, server_state_lock
from streamlit_redis_state.engine.hub import Hub

pytestmark = pytest.mark.usefixtures("state")


def test_the_lock_of_a_key_by_attribute() -> None:
    server_state.count = 0
    for _ in range(3):
        with server_state_lock.count:
            server_state.count += 1
    assert server_state.count == 3
    assert repr(server_state_lock.count) == "server_state_lock['count']"


def test_the_lock_mapping_holds_the_known_keys(state: Hub, other: Hub) -> None:
    assert "anything" not in server_state_lock
    assert len(server_state_lock) == 0
    server_state.written = 1
    server_state.get("read")  # read here, even if missing: known, as in the anchor
    with server_state_lock["locked"]:
        pass
    assert {"written", "read", "locked"} <= set(server_state_lock)
    assert "read" in server_state_lock and "written" in server_state_lock
    # Held elsewhere: known to everyone while held.
    theirs = other.locks.get("elsewhere")
    assert theirs.acquire(1)
    assert "elsewhere" in server_state_lock
    theirs.release()
    assert 1 not in server_state_lock  # type: ignore[comparison-overlap]
    assert "" not in server_state_lock


def test_a_missing_key_is_both_a_key_error_and_an_attribute_error() -> None:
    with pytest.raises(KeyError):
        server_state.missing
    with pytest.raises(AttributeError):
        server_state.missing
    with pytest.raises(MissingKey, match="setdefault"):
        server_state["missing"]
    assert not hasattr(server_state, "missing")
    assert getattr(server_state, "missing", "default") == "default"
    with pytest.raises(KeyError):
        del server_state.missing
    assert str(MissingKey("no key 'x'")) == "no key 'x'"  # a sentence, not a quoted repr


def test_attribute_assignment_works_for_any_name_but_the_mappings_own_methods() -> None:
    server_state.votes = 1
    server_state.slider_value = 50
    server_state.my_items = [1]
    assert server_state["votes"] == 1 and server_state.my_items == [1]
    for method in ("items", "get", "keys", "edit", "append"):
        with pytest.raises(AttributeError, match=rf"server_state\['{method}'\]"):
            setattr(server_state, method, 1)
        server_state[method] = 1  # item access always works
        assert server_state[method] == 1
