"""Arbitrary bytes where the library keeps its data: under a state key, as an item of a list.

Whoever can write to Redis can put anything there. Every API method that
touches the key must then raise a typed error (CorruptValue, or the
TypeError the README names for a list operation on a non-list) or work, and
the listener, every other key and the key's next real write must keep
working (tests/fuzz/_hubs.py, World.check_healthy).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import Phase, given
from hypothesis import strategies as st

from streamlit_redis_state import CorruptValue, server_state, server_state_lock
from streamlit_redis_state.base import codec
from streamlit_redis_state.base.codec import MAGIC
from streamlit_redis_state.base.keys import SEQ_FIELD
from tests.fuzz._hubs import World, _say_budget, fuzz, fuzz_settings, typed, world  # noqa: F401
from tests.unit.conftest import deliver, reconnect

#: Values the library itself writes (for blobs to damage).
plain_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
    ),
    max_leaves=8,
)


def _ext(code: int, data: bytes) -> bytes:
    """A msgpack extension of any type code (-128..127), built by hand."""
    n = len(data)
    head = b"\xc7" + n.to_bytes(1, "big") if n < 256 else b"\xc8" + n.to_bytes(2, "big")
    return MAGIC + head + code.to_bytes(1, "big", signed=True) + data


#: Bytes nobody should find under a key: foreign, damaged, or ours gone wrong.
hostile_bytes = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=64).map(lambda b: MAGIC + b),  # our header, anything after
    st.builds(lambda v, cut: codec.encode(v)[:cut], plain_values, st.integers(0, 48)),
    st.builds(
        lambda v, extra: codec.encode(v) + extra, plain_values, st.binary(min_size=1, max_size=8)
    ),
    st.builds(_ext, st.integers(-128, 127), st.binary(max_size=32)),  # any extension type
    st.builds(_ext, st.integers(1, 8), st.binary(max_size=32)),  # ours, with garbage inside
    st.builds(lambda n: _ext(8, b"9" * n), st.integers(4990, 6000)),  # a huge big int
    st.builds(lambda n: MAGIC + b"\x91" * n + b"\xc0", st.integers(1, 20_000)),  # deep nesting
    st.builds(lambda n: MAGIC + b"\xdd" + n.to_bytes(4, "big"), st.integers(0, 2**32 - 1)),
    st.builds(lambda n: b"\x80\x04\x95" + b"p" * n, st.integers(0, 64)),  # a pickle's start
    st.builds(lambda n: MAGIC + b"\xc4\x20" + b"x" * n, st.integers(0, 200_000)),  # large
)

#: Valid keys for the victim (a space, unicode, the length limit).
victims = st.one_of(
    st.just("victim"),
    st.sampled_from(["a b", "ü", "{t}", "log:1", "x" * 1024, "𝄞" * 1024]),
)


def exercise(w: World, key: str) -> None:
    """Every API method that reads or changes ``key``, as a tab and as a worker."""
    n = 2
    for what, call in (
        ("get", lambda: server_state.get(key)),
        ("[]", lambda: server_state[key]),
        ("in", lambda: key in server_state),
        ("tail", lambda: server_state.tail(key, n)),
        ("length", lambda: server_state.length(key)),
        ("to_dict", lambda: server_state.to_dict()),
        ("items", lambda: list(server_state.items())),
        ("keys", lambda: (list(server_state), len(server_state))),
        ("lock in", lambda: key in server_state_lock),
    ):
        typed(lambda call=call: w.as_tab("reader", call), f"{what} in a tab")
        typed(call, f"{what} in a worker")
    typed(lambda: w.other.read(key), "a read by the other replica")
    typed(lambda: w.as_tab("reader", lambda: server_state.setdefault(key, "default")), "setdefault")
    typed(lambda: server_state.append(key, "appended", max_len=3), "append")
    typed(lambda: server_state.expire(key, 60), "expire")

    def edit() -> None:
        with server_state.edit(key, default=[]) as value:
            if isinstance(value, list):
                value.append("edited")

    typed(edit, "edit")


def overwritten_and_healthy(w: World, key: str) -> None:
    """A real write replaces whatever was there, for everyone; then the world's invariant."""
    w.as_tab("reader", lambda: typed(lambda: server_state.get(key), "get"))
    w.st.clear()
    w.other.set(key, codec.encode("fresh"))
    w.check_healthy()  # delivers the write too
    assert "reader" in w.st.rerun_sessions(), "the tab that showed the bad bytes was not rerun"
    assert server_state[key] == "fresh"
    assert codec.decode(w.other.read(key).blob or b"") == "fresh"


@fuzz_settings
@given(key=victims, blob=hostile_bytes, registered=st.booleans())
def test_arbitrary_bytes_under_a_state_key(key: str, blob: bytes, registered: bool) -> None:
    with world() as w:
        w.raw.set(w.ks.value(key), blob)
        if registered:  # as if the library had written it: listed, versioned
            w.raw.sadd(w.ks.keys, key)
            w.raw.hincrby(w.ks.meta, key, 1)
        exercise(w, key)
        w.check_healthy()
        typed(lambda: server_state.pop(key, None), "pop")
        overwritten_and_healthy(w, key)


@fuzz_settings
@given(
    key=victims,
    blob=hostile_bytes,
    before=st.lists(plain_values, max_size=3),
    after=st.lists(plain_values, max_size=3),
)
def test_arbitrary_bytes_as_an_item_of_a_list(
    key: str, blob: bytes, before: list[Any], after: list[Any]
) -> None:
    with world() as w:
        server_state.append(key, "first")  # a real list, so versions and bases exist
        w.raw.rpush(w.ks.list(key), *[codec.encode(v) for v in before], blob)
        w.raw.rpush(w.ks.list(key), *[codec.encode(v) for v in after] or [codec.encode(0)])
        exercise(w, key)
        w.check_healthy()
        typed(lambda: w.as_tab("reader", lambda: server_state.pop(key, None)), "pop")
        overwritten_and_healthy(w, key)


#: What else could sit under the names of a key: another Redis type.
wrong_types = st.sampled_from(["value holds a list", "value holds a hash", "list holds a string"])


@fuzz_settings
@given(key=victims, how=wrong_types, blob=hostile_bytes)
def test_another_redis_type_under_a_key(key: str, how: str, blob: bytes) -> None:
    with world() as w:
        if how == "value holds a list":
            w.raw.rpush(w.ks.value(key), blob)
        elif how == "value holds a hash":
            w.raw.hset(w.ks.value(key), "f", blob)
        else:
            w.raw.set(w.ks.list(key), blob)
        w.raw.sadd(w.ks.keys, key)
        exercise(w, key)
        w.check_healthy()
        typed(lambda: server_state.pop(key, None), "pop")
        w.raw.delete(w.ks.value(key), w.ks.list(key))  # what an operator would do
        overwritten_and_healthy(w, key)


NOT_COUNTS = [
    *(b"1e+20", b"-", b"1.5", b"0x10", b"\xff\xfe", b" 7", b"nan", b"inf", b"1e300"),
    *(b"-5", b"-1000", b"007", b"9007199254740993", b"99999999999999999999"),
]
#: Bytes where the library keeps a count: not one, or one it never writes
#: (negative, past 2**53 where Lua's doubles stop being exact, leading zeros).
not_numbers = st.one_of(
    st.binary(min_size=1, max_size=12).filter(lambda b: not b.strip().isdigit()),
    st.sampled_from(NOT_COUNTS),
)
#: The bookkeeping the library keeps for one key (docs/internals.md, "Key layout"),
#: and the namespace's sequence, which every change bumps.
BOOKKEEPING = {
    "its version in the meta hash": lambda w, key, blob: w.raw.hset(w.ks.meta, key, blob),
    "its list's base": lambda w, key, blob: w.raw.hset(w.ks.list_bases, key, blob),
    "the namespace's sequence": lambda w, key, blob: w.raw.hset(w.ks.meta, SEQ_FIELD, blob),
}
#: A count as the library writes it.
COUNT = re.compile(rb"[1-9][0-9]{0,14}")


def assert_repaired(w: World, key: str) -> None:
    """After real writes, every number the key's bookkeeping holds is a count again."""
    for name, field in ((w.ks.meta, key), (w.ks.meta, SEQ_FIELD), (w.ks.list_bases, key)):
        raw = w.raw.hget(name, field)
        assert raw is None or COUNT.fullmatch(raw), f"{name}[{field!r}] still holds {raw!r}"


@fuzz(phases=[p for p in Phase if p is not Phase.shrink])  # the focused tests below explain
@given(key=victims, where=st.sampled_from(sorted(BOOKKEEPING)), blob=not_numbers)
def test_arbitrary_bytes_in_a_keys_bookkeeping(key: str, where: str, blob: bytes) -> None:
    """Not a number where a key's version (or its list's base) should be: only that key suffers."""
    with world() as w:
        server_state.append(key, "first")
        w.as_tab("reader", lambda: server_state.get(key))
        BOOKKEEPING[where](w, key, blob)
        exercise(w, key)
        reconnect(w.hub)  # a reconnect's resync reads every version the process knows
        w.check_healthy()
        server_state.append(key, "second")  # a real write repairs it
        w.hub.cache.clear()
        assert w.as_tab("reader", lambda: server_state.tail(key, 1)) == ["second"]
        server_state[key] = "plain"
        assert w.as_tab("reader", lambda: server_state.get(key)) == "plain"
        assert_repaired(w, key)


def test_a_key_whose_version_is_not_a_number_breaks_only_that_key() -> None:
    """Found by test_arbitrary_bytes_in_a_keys_bookkeeping.

    ``HSET srs:{ns}:meta victim x`` (anyone who can write to Redis): reads of
    ``victim`` raise an untyped ValueError ("not enough values to unpack"):
    the read script's ``version()`` is ``tonumber('x')``, nil, which ends the
    Lua table it returns, so RedisStore._snapshot gets four values instead of
    six. Worse, every resync of every process that knows ``victim`` raises
    ``int(b'x')`` in RedisStore.sync_state, so the listener never syncs again
    (it reconnects forever): no change of any key reaches any session of
    those processes.
    """
    with world() as w:
        server_state["victim"] = 1
        w.as_tab("reader", lambda: server_state.get("victim"))
        w.raw.hset(w.ks.meta, "victim", b"x")
        typed(lambda: server_state.get("victim"), "a read of the key")
        reconnect(w.hub)
        w.check_healthy()


def test_a_list_whose_base_is_not_a_number_breaks_only_that_key() -> None:
    """Found by test_arbitrary_bytes_in_a_keys_bookkeeping.

    ``HSET srs:{ns}:lbase log x``: every read of ``log`` raises an untyped
    ValueError, because read.lua returns ``tonumber('x')`` (nil) as the
    fifth of six values and the table ends there.
    """
    with world() as w:
        server_state.append("log", "first")
        w.raw.hset(w.ks.list_bases, "log", b"x")
        typed(lambda: server_state.get("log"), "a read of the key")
        typed(lambda: server_state.tail("log", 1), "a tail of the key")
        w.check_healthy()


@pytest.mark.parametrize("blob", NOT_COUNTS)
@pytest.mark.parametrize("where", ["its version in the meta hash", "its list's base"])
def test_the_next_write_repairs_a_keys_bookkeeping(where: str, blob: bytes) -> None:
    """Damaged bookkeeping is repaired by the key's next write, and its readers see it."""
    with world() as w:
        server_state.append("victim", "first")
        w.as_tab("reader", lambda: server_state.get("victim"))
        BOOKKEEPING[where](w, "victim", blob)
        w.hub.cache.clear()  # read from Redis (a process that had not cached it)
        with pytest.raises(CorruptValue, match="victim"):
            w.as_tab("reader", lambda: server_state.get("victim"))
        w.st.clear()
        server_state["victim"] = ["repaired"]  # from another place: a worker, the CLI
        deliver(w.hub)
        assert "reader" in w.st.rerun_sessions()
        assert w.as_tab("reader", lambda: server_state.get("victim")) == ["repaired"]
        server_state.append("victim", "more")
        assert w.as_tab("reader", lambda: server_state.get("victim")) == ["repaired", "more"]
        w.check_healthy()
        assert_repaired(w, "victim")


@pytest.mark.parametrize("blob", NOT_COUNTS)
def test_a_damaged_sequence_is_repaired_by_the_next_write(blob: bytes) -> None:
    """``HSET srs:{ns}:meta "\\0seq" x``: writes go on, and listeners resync past the jump."""
    with world() as w:
        server_state["k"] = 1
        w.as_tab("reader", lambda: server_state.get("k"))
        w.raw.hset(w.ks.meta, SEQ_FIELD, blob)
        w.st.clear()
        assert not w.hub.on_healthy(), "a damaged sequence taken for lost data"
        reconnect(w.hub)  # a resync meets it
        assert not w.st.rerun_sessions(), "a damaged sequence reran every session"
        server_state["k"] = 2
        assert w.redis_seq() > 2
        deliver(w.hub, w.other)
        assert w.as_tab("reader", lambda: server_state.get("k")) == 2
        w.check_healthy()
        assert_repaired(w, "k")
