"""Arbitrary messages on the namespace's channel: garbage, and forgeries close to the real thing.

Anyone who can publish on ``srs:{ns}:events`` can send anything. A message
that is not a notification is logged and ignored; one that parses is a hint
(it may rerun sessions, drop cache entries, or cost a resync), never a fact.
Either way the listener must stay synced, at Redis's own sequence, and keep
handling real changes (tests/fuzz/_hubs.py, World.check_healthy).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamlit_redis_state import server_state
from streamlit_redis_state.base import codec
from streamlit_redis_state.edges.notification import MAX_SIZE
from tests.fuzz._hubs import GOOD, World, _say_budget, fuzz_settings, typed, world  # noqa: F401
from tests.unit.conftest import deliver

#: The keys a forgery may name: real ones, presence groups, and impossible ones.
forged_keys = st.one_of(
    st.sampled_from(["canary", "good", "good list", "other good", "nobody reads this"]),
    st.sampled_from(["\x00presence:room", "\x00presence:", "\x00presence", "a\x00b", ""]),
    st.text(max_size=20),
    st.just("k" * 1025),
).map(lambda k: k.encode("utf-8", "surrogatepass"))


def numbers(near: int) -> st.SearchStrategy[bytes]:
    """Counters as the scripts write them, near a real value, and as they must never be."""
    return st.one_of(
        st.integers(max(near - 3, 0), near + 3).map(lambda n: str(n).encode()),
        st.integers(0, 2**64).map(lambda n: str(n).encode()),
        st.sampled_from([b"-1", b"1e+14", b"0x10", b"", b" ", b"\xd9\xa3", b"+5", b"9" * 17]),
    )


@st.composite
def forgeries(draw: st.DrawFn, w: World) -> bytes:
    """A message shaped like a notification (or an unlock), with any field wrong or right."""
    seq = w.hub.listener.last_seq or 0
    epoch = (w.hub.cache.epoch or "").encode()
    if draw(st.integers(0, 9)) == 0:
        return b"SRS1 u " + draw(forged_keys)
    origin = draw(
        st.one_of(
            st.just(b""),
            st.just(f"{w.hub.process_id}:watcher".encode()),  # this process, the watcher
            st.just(f"{w.other.process_id}:".encode()),
            st.binary(max_size=12),
        )
    )
    fields = [
        draw(st.sampled_from([b"SRS1", b"SRS2", b"srs1", b""])),
        draw(st.sampled_from([b"c", b"c", b"u", b"x"])),
        draw(numbers(seq + 1)),  # sequence
        draw(numbers(5)),  # version
        draw(numbers(1)),  # depth
        draw(st.sampled_from([b"0", b"1", b"2", b""])),  # quiet
        draw(st.one_of(st.just(b"-"), numbers(1))),  # items appended
        draw(st.one_of(st.just(b"-"), numbers(2))),  # the list's new length
        draw(st.one_of(st.just(epoch), st.binary(max_size=20), st.just(b"f" * 33))),
        origin,
        draw(forged_keys),
    ]
    return b" ".join(fields)


@fuzz_settings
@given(data=st.data())
def test_arbitrary_messages_on_the_channel(data: st.DataObject) -> None:
    with world() as w:
        messages = data.draw(
            st.lists(
                st.one_of(
                    st.binary(max_size=200),
                    forgeries(w),
                    st.builds(lambda n: b"SRS1 c " + b"9" * n, st.integers(MAX_SIZE - 8, 70_000)),
                    st.just(b"[" * 100_000),
                ),
                min_size=1,
                max_size=5,
            ),
            label="messages",
        )
        for message in messages:
            w.raw.publish(w.ks.channel, message)
        w.check_healthy()  # delivers them first; nothing may escape the listener
        # A reader of every key a forgery could name still reads what Redis holds.
        for key in ("canary", "good", "good list"):
            typed(lambda key=key: w.as_tab("reader", lambda: server_state.get(key)), key)
        assert server_state["canary"] == w.canary


@fuzz_settings
@given(data=st.data())
def test_forgeries_between_real_changes(data: st.DataObject) -> None:
    """Forgeries interleaved with real changes: every real change still reaches its reader."""
    with world() as w:
        steps = data.draw(st.lists(st.booleans(), min_size=2, max_size=8), label="real?")
        changed: dict[str, object] = {}
        for i, real in enumerate(steps):
            if real:
                key = data.draw(st.sampled_from(["canary", "good", "other good"]), label="key")
                changed[key] = [i]
                w.other.set(key, codec.encode([i]))
            else:
                w.raw.publish(w.ks.channel, data.draw(forgeries(w), label="forgery"))
        w.st.clear()
        deliver(w.hub)
        if changed:
            assert "watcher" in w.st.rerun_sessions(), "a real change did not rerun its reader"
        for key, value in changed.items():
            assert w.as_tab("watcher", lambda key=key: server_state.get(key)) == value
        # The good values back, for the world's own check.
        for key in changed:
            w.other.set(key, codec.encode(w.canary if key == "canary" else GOOD[key]))
        w.watch()
        w.check_healthy()
