"""The gc freezer: when it renews the freeze, and what a renewal does (engine/freezer.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from streamlit_redis_state.base.config import resolve
from streamlit_redis_state.base.errors import ConfigurationError
from streamlit_redis_state.engine.freezer import COST_FACTOR, Freezer


class FakeGc:
    """Records what the freezer asks of :mod:`gc`; a collection costs ``cost`` of CPU."""

    def __init__(self, cpu: list[float]) -> None:
        self.callbacks: list[Any] = []
        self.calls: list[str] = []
        self.cpu = cpu
        self.cost = 0.05

    def collect(self, generation: int = 2) -> int:
        self.calls.append("collect")
        self.full_collection(self.cost)
        return 0

    def freeze(self) -> None:
        self.calls.append("freeze")

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")

    def full_collection(self, cost: float) -> None:
        """What CPython does around a full collection that takes ``cost`` of CPU."""
        for callback in list(self.callbacks):
            callback("start", {"generation": 2})
        self.cpu[0] += cost
        for callback in list(self.callbacks):
            callback("stop", {"generation": 2, "collected": 0, "uncollectable": 0})


@pytest.fixture
def parts() -> tuple[Freezer, FakeGc, list[float], list[float]]:
    now, cpu = [100.0], [0.0]
    fake = FakeGc(cpu)
    freezer = Freezer(
        fake,
        clock=lambda: now[0],
        cpu_clock=lambda: cpu[0],
        budget=0.005,
        min_interval=1.0,
        max_age=600.0,
    )
    fake.callbacks.append(freezer.on_gc)  # what start() installs, without its thread
    return freezer, fake, now, cpu


def test_nothing_happens_until_a_full_collection_is_slow(parts: Any) -> None:
    freezer, fake, now, _ = parts
    fake.full_collection(0.001)  # cheap: nothing to gain
    freezer.on_gc("start", {"generation": 0})  # young generations are not timed
    freezer.on_gc("stop", {"generation": 0})
    now[0] += 10_000
    assert not freezer.due()


def test_the_first_slow_collection_freezes_what_survives_it(parts: Any) -> None:
    freezer, fake, _, _ = parts
    fake.full_collection(0.040)  # Streamlit's collection after the first run
    assert freezer.due()
    freezer.renew()
    assert fake.calls == ["unfreeze", "collect", "freeze"]
    # The renewal's own (slow) collection does not ask for another one.
    assert not freezer.due() and freezer.renewals == 1


def test_renewals_take_at_most_about_one_percent_of_the_time(parts: Any) -> None:
    freezer, fake, now, _ = parts
    fake.full_collection(0.040)
    freezer.renew()  # cost 0.05 s of CPU: the next one waits 100 x that
    fake.full_collection(0.040)  # sessions accumulated: slow again
    now[0] += COST_FACTOR * 0.05 - 0.1
    assert not freezer.due()
    assert freezer.wait_time() == pytest.approx(0.1)
    now[0] += 0.1
    assert freezer.due()


def test_cheap_renewals_still_wait_the_minimum_interval(parts: Any) -> None:
    freezer, fake, now, _ = parts
    fake.cost = 0.0001
    fake.full_collection(0.040)
    freezer.renew()
    fake.full_collection(0.040)
    now[0] += 0.5
    assert not freezer.due()
    now[0] += 0.5
    assert freezer.due()


def test_frozen_garbage_is_freed_at_least_every_max_age_while_the_process_works(
    parts: Any,
) -> None:
    freezer, fake, now, _ = parts
    fake.full_collection(0.040)
    freezer.renew()
    now[0] += 700
    assert not freezer.due()  # no collection since: an idle process is left alone
    fake.full_collection(0.001)  # a cheap one: the freeze works, but it is old
    assert freezer.due()


def test_a_slow_collection_wakes_the_thread() -> None:
    cpu = [0.0]
    fake = FakeGc(cpu)
    freezer = Freezer(fake, cpu_clock=lambda: cpu[0], budget=0.005, poll=0.01)
    freezer.start()
    try:
        assert fake.callbacks == [freezer.on_gc]
        fake.full_collection(0.040)
        for _ in range(1000):  # the thread renews on its own (it looks every poll)
            if freezer.renewals:
                break
            time.sleep(0.01)
        assert freezer.renewals == 1
        assert fake.calls == ["unfreeze", "collect", "freeze"]
    finally:
        freezer.stop()
    assert fake.callbacks == []


def test_the_setting_is_on_by_default_and_can_be_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("streamlit_redis_state.base.config._from_secrets", lambda: {})
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_GC_FREEZE", raising=False)
    assert resolve({}).gc_freeze is True
    for text, value in (("false", False), ("0", False), ("True", True), ("off", False)):
        monkeypatch.setenv("STREAMLIT_REDIS_STATE_GC_FREEZE", text)
        assert resolve({}).gc_freeze is value
    monkeypatch.setenv("STREAMLIT_REDIS_STATE_GC_FREEZE", "maybe")
    with pytest.raises(ConfigurationError, match="gc_freeze must be true or false"):
        resolve({})
    monkeypatch.delenv("STREAMLIT_REDIS_STATE_GC_FREEZE")
    assert resolve({"gc_freeze": False}).gc_freeze is False
    with pytest.raises(ConfigurationError):
        resolve({"gc_freeze": "no"})
