"""(b) One chat room: nicknames and messages typed on one replica reach the other."""

from __future__ import annotations

import pytest

from tests.compat import shows, shows_widget
from tests.compat.conftest import Tabs

pytestmark = pytest.mark.compat

APP = "chat.py"


def test_messages_reach_both_replicas_in_order(tabs: Tabs) -> None:
    alice = tabs.open(tabs.a)
    bob = tabs.open(tabs.b)
    shows_widget(alice, "Nickname", "anonymous")
    shows_widget(bob, "Nickname", "anonymous")

    shows_widget(alice, "Nickname", "alice", after=alice.set_value("Nickname", "alice"))
    shows_widget(bob, "Nickname", "bob", after=bob.set_value("Nickname", "bob"))

    seen = bob.run_count()
    typed = alice.set_value("Message", "hello")
    run = shows(alice, "alice: hello", after=typed)
    assert run.screen.widget("Message").value == "", "the callback empties the message box"
    assert run.screen.widget("Nickname").value == "alice"
    run = shows(bob, "alice: hello", after=seen)
    assert run.screen.widget("Nickname").value == "bob", "a pushed rerun keeps Bob's nickname"

    seen = alice.run_count()
    typed = bob.set_value("Message", "hi alice")
    run = shows(bob, "bob: hi alice", after=typed)
    assert run.screen.texts[-2:] == ["alice: hello", "bob: hi alice"]
    run = shows(alice, "bob: hi alice", after=seen)
    assert run.screen.texts[-2:] == ["alice: hello", "bob: hi alice"]
    assert run.screen.widget("Nickname").value == "alice"


def test_a_new_tab_sees_the_history(tabs: Tabs) -> None:
    carol = tabs.open(tabs.b)
    run = shows(carol, "bob: hi alice")
    assert run.screen.texts.index("alice: hello") < run.screen.texts.index("bob: hi alice")
