"""Alice and Bob chat across two replicas behind nginx, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from support.topology import Topology

from .conftest import shot

pytestmark = pytest.mark.browser

TIMEOUT = 15_000


@dataclass
class Person:
    name: str
    context: BrowserContext
    page: Page
    replica: str


def settled(page: Page) -> None:
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=TIMEOUT
    )
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=TIMEOUT)


def open_as(browser: Browser, topology: Topology, name: str, route: str) -> Person:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.add_cookies([{"name": "srs_route", "value": route, "url": topology.url}])
    page = context.new_page()
    page.goto(topology.url)
    settled(page)
    badge = page.get_by_text(re.compile(r"served by replica-\d")).first
    expect(badge).to_be_visible(timeout=TIMEOUT)
    replica = badge.inner_text().split()[-1]
    return Person(name, context, page, replica)


def set_nickname(person: Person) -> None:
    settled(person.page)
    field = person.page.get_by_label("Nickname", exact=True)
    field.fill(person.name)
    field.press("Enter")
    expect(person.page.get_by_placeholder("Message", exact=True)).to_be_enabled(timeout=TIMEOUT)


def send(person: Person, text: str) -> None:
    box = person.page.get_by_placeholder("Message", exact=True)
    box.fill(text)
    box.press("Enter")


@pytest.fixture(scope="module")
def pair(browser: Browser, topology: Topology) -> Iterator[tuple[Person, Person]]:
    """Alice and Bob, pinned by their route cookies to different replicas."""
    alice = open_as(browser, topology, "alice", "alice-route")
    bob = None
    for i in range(40):
        candidate = open_as(browser, topology, "bob", f"bob-route-{i}")
        if candidate.replica != alice.replica:
            bob = candidate
            break
        candidate.context.close()
    assert bob is not None, "no route cookie sent Bob to the other replica"
    set_nickname(alice)
    set_nickname(bob)
    yield alice, bob
    alice.context.close()
    bob.context.close()


def test_alice_and_bob_are_on_different_replicas(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    assert alice.replica != bob.replica
    # The cookie keeps each on their replica across reloads (sticky sessions).
    alice.page.reload()  # a new session: the nickname must be set again
    settled(alice.page)
    expect(alice.page.get_by_text(f"served by {alice.replica}")).to_be_visible(timeout=TIMEOUT)
    set_nickname(alice)


def test_message_reaches_bob_without_disturbing_his_typing(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    bob_box = bob.page.get_by_placeholder("Message", exact=True)
    bob_box.fill("half-typed reply")
    send(alice, "hello from alice")
    expect(bob.page.get_by_text("hello from alice")).to_be_visible(timeout=TIMEOUT)
    expect(bob_box).to_have_value("half-typed reply")
    shot(bob.page, "bob-sees-alice")
    bob_box.fill("")


def test_presence_shows_both(pair: tuple[Person, Person]) -> None:
    for person in pair:
        expect(person.page.get_by_text("Online now: alice, bob")).to_be_visible(timeout=TIMEOUT)


def test_user_text_is_shown_literally(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    evil = "<img src=x onerror=alert(1)> **not bold** [link](http://x)"
    dialogs: list[str] = []
    bob.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    send(alice, evil)
    expect(bob.page.get_by_text(evil, exact=True)).to_be_visible(timeout=TIMEOUT)
    assert bob.page.locator("[data-testid='stChatMessage'] img[src='x']").count() == 0
    assert bob.page.locator("[data-testid='stChatMessage'] strong").count() == 0
    assert dialogs == []
    # The README's picture: a test artifact, copied into docs/ on purpose when it changes.
    shot(bob.page, "chat")


def test_room_created_by_bob_appears_for_alice(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    field = bob.page.get_by_label("New room", exact=True)
    field.fill("bobs-room")
    field.press("Enter")
    expect(alice.page.get_by_text("bobs-room")).to_be_visible(timeout=TIMEOUT)
    shot(alice.page, "alice-sees-bobs-room")


def test_closing_bobs_tab_removes_him_from_presence(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    # Bob is now in his own room (he created it); bring him back to general.
    bob.page.get_by_text("general").first.click()
    settled(bob.page)
    expect(alice.page.get_by_text("Online now: alice, bob")).to_be_visible(timeout=TIMEOUT)
    bob.context.close()
    expect(alice.page.get_by_text("Online now: alice")).to_be_visible(timeout=20_000)
    shot(alice.page, "bob-left")
