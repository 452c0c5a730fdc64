"""(c) Chat rooms: a room list anyone extends, and one message list per room."""

from __future__ import annotations

import pytest

from support.sessions import Run
from tests.compat import shows, shows_widget
from tests.compat.conftest import Tabs

pytestmark = pytest.mark.compat

APP = "rooms.py"


def room_options(run: Run) -> tuple[str, ...]:
    return run.screen.widget("Room").options


def test_rooms_and_their_messages_are_shared(tabs: Tabs) -> None:
    alice = tabs.open(tabs.a)
    bob = tabs.open(tabs.b)
    shows(alice, "rooms:")
    shows(bob, "rooms:")

    # Alice creates "lobby": both tabs list it and are in it.
    seen = bob.run_count()
    shows(alice, "rooms: lobby", after=alice.set_value("New room", "lobby"))
    shows(bob, "rooms: lobby", after=seen)
    for tab in (alice, bob):
        run = shows(tab, "in room lobby")
        assert room_options(run) == ("lobby",)
    assert alice.widget("New room").value == "", "the callback empties the box"

    # Bob creates "games": both list both rooms, and both stay in "lobby".
    seen = alice.run_count()
    shows(bob, "rooms: lobby, games", after=bob.set_value("New room", "games"))
    shows(alice, "rooms: lobby, games", after=seen)
    for tab in (alice, bob):
        assert room_options(tab.last) == ("lobby", "games")
        assert tab.widget("Room").value == "lobby"

    # Alice goes to "games" and posts there; Bob, still in "lobby", does not see it.
    shows(alice, "in room games", after=alice.set_value("Room", "games"))
    shows(alice, "anonymous: gg", after=alice.chat("Message", "gg"))
    shows(bob, "in room lobby")
    assert "anonymous: gg" not in bob.screen.texts

    # Bob goes to "games" too and sees it; his answer reaches Alice.
    shows(bob, "anonymous: gg", after=bob.set_value("Room", "games"))
    shows_widget(bob, "Nickname", "bob", after=bob.set_value("Nickname", "bob"))
    seen = alice.run_count()
    shows(bob, "bob: wp", after=bob.chat("Message", "wp"))
    run = shows(alice, "bob: wp", after=seen)
    assert run.screen.texts[-2:] == ["anonymous: gg", "bob: wp"]
    assert run.screen.widget("Room").value == "games"

    # "lobby" is still empty for a newcomer on either replica.
    for replica in (tabs.a, tabs.b):
        newcomer = tabs.open(replica)
        run = shows(newcomer, "in room lobby")
        assert room_options(run) == ("lobby", "games")
        assert "anonymous: gg" not in run.screen.texts
