"""Alice and Bob chat across two replicas behind nginx, in a real browser, with the bot.

The topology is the one `make demo` starts: redis-server, two replicas, nginx
and the bot (examples/chat/bot.py). Alice's browser is in Tokyo, Bob's in New
York. The tests run in order and share the two people; the last one closes
Bob's tab.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from support.topology import Topology

from .conftest import shared_state, shot

pytestmark = pytest.mark.browser

TIMEOUT = 15_000
PAGE = 40  # examples/chat/chat_core.PAGE
EVIL = "<img src=x onerror=alert(1)> **not bold** :red[red] [link](http://x.org) http://x.org"
EVIL_ROOM = "**not bold** :red[red] http://x.org <b>"  # room names are at most 40 characters


@dataclass
class Person:
    name: str
    context: BrowserContext
    page: Page
    replica: str
    tz: str


def settled(page: Page) -> None:
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=TIMEOUT
    )
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=TIMEOUT)


def open_as(browser: Browser, topology: Topology, name: str, route: str, tz: str) -> Person:
    context = browser.new_context(viewport={"width": 1200, "height": 820}, timezone_id=tz)
    context.add_cookies([{"name": "srs_route", "value": route, "url": topology.url}])
    page = context.new_page()
    page.goto(topology.url)
    settled(page)
    badge = page.get_by_text(re.compile(r"served by replica-\d")).first
    expect(badge).to_be_visible(timeout=TIMEOUT)
    replica = badge.inner_text().split()[-1]
    return Person(name, context, page, replica, tz)


def chat_box(person: Person) -> Locator:
    return person.page.get_by_test_id("stChatInputTextArea")


def set_nickname(person: Person, nickname: str | None = None) -> None:
    settled(person.page)
    field = person.page.get_by_label("Nickname", exact=True)
    field.fill(nickname or person.name)
    field.press("Enter")


def can_post(person: Person) -> None:
    expect(chat_box(person)).to_be_enabled(timeout=TIMEOUT)


def send(person: Person, text: str) -> None:
    box = chat_box(person)
    box.fill(text)
    box.press("Enter")


def message(person: Person, text: str) -> Locator:
    """The chat message whose text is exactly ``text``."""
    return person.page.get_by_test_id("stChatMessage").filter(
        has=person.page.get_by_text(text, exact=True)
    )


def mood(person: Person, text: str) -> Locator:
    return message(person, text).get_by_test_id("chat-mood")


def enter_room(person: Person, name: str) -> None:
    rooms = person.page.get_by_role("navigation", name="Rooms")
    rooms.get_by_role("button", name=name, exact=True).click()
    expect(person.page.get_by_test_id("chat-room-title")).to_contain_text(name, timeout=TIMEOUT)
    settled(person.page)


def room_buttons(person: Person) -> Locator:
    return person.page.get_by_role("navigation", name="Rooms").get_by_role("button")


def create_room(person: Person, name: str) -> None:
    field = person.page.get_by_placeholder("Name a new room")
    field.fill(name)
    field.press("Enter")
    expect(person.page.get_by_test_id("chat-room-title")).to_contain_text(name, timeout=TIMEOUT)
    settled(person.page)


def archive(person: Person) -> None:
    """Archive the room the person is in (they created it)."""
    person.page.get_by_role("button", name="Archive").click()
    person.page.get_by_role("button", name="Archive room").click()
    expect(person.page.get_by_test_id("chat-room-title")).to_contain_text(
        "general", timeout=TIMEOUT
    )


def online(person: Person) -> Locator:
    """The nicknames in the room's "online" chips."""
    return person.page.get_by_test_id("chat-online").locator(".chat-name")


@pytest.fixture(scope="module")
def pair(browser: Browser, topology: Topology) -> Iterator[tuple[Person, Person]]:
    """Alice (Tokyo) and Bob (New York), pinned by their route cookies to different replicas."""
    alice = open_as(browser, topology, "alice", "alice-route", "Asia/Tokyo")
    bob = None
    for i in range(40):
        candidate = open_as(browser, topology, "bob", f"bob-route-{i}", "America/New_York")
        if candidate.replica != alice.replica:
            bob = candidate
            break
        candidate.context.close()
    assert bob is not None, "no route cookie sent Bob to the other replica"
    for person in (alice, bob):
        set_nickname(person)
        can_post(person)
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
    can_post(alice)  # her own earlier tab (same browser) does not hold the nickname against her


def test_message_and_typing_cross_replicas_without_disturbing_input(
    pair: tuple[Person, Person],
) -> None:
    alice, bob = pair
    chat_box(alice).fill("alice's draft")
    chat_box(bob).press_sequentially("half-typed reply", delay=20)
    typing = alice.page.get_by_test_id("chat-typing")
    expect(typing).to_have_text("bob is typing…", timeout=TIMEOUT)
    expect(chat_box(alice)).to_have_value("alice's draft")  # the indicator left her input alone
    send(alice, "hello from alice")
    expect(message(bob, "hello from alice")).to_be_visible(timeout=TIMEOUT)
    expect(chat_box(bob)).to_have_value("half-typed reply")  # the message left his input alone
    shot(bob.page, "bob-sees-alice-while-typing")
    # Bob stops typing: the indicator goes by itself (the page's idle timer, then presence).
    expect(typing).to_have_text("", timeout=TIMEOUT)
    expect(bob.page.get_by_test_id("chat-typing")).to_have_text("")  # nobody types at Bob's
    chat_box(bob).fill("")


def test_presence_shows_both_with_distinct_avatars(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    expect(online(alice)).to_have_text(["alice", "bob"], timeout=TIMEOUT)
    expect(online(bob)).to_have_text(["alice", "bob"], timeout=TIMEOUT)
    send(bob, "hello from bob")
    expect(message(alice, "hello from bob")).to_be_visible(timeout=TIMEOUT)
    avatars = {
        text: message(alice, text).locator("img").first.get_attribute("src")
        for text in ("hello from alice", "hello from bob")
    }
    assert avatars["hello from alice"] != avatars["hello from bob"]
    # The same nickname gets the same avatar on the other replica.
    assert (
        message(bob, "hello from bob").locator("img").first.get_attribute("src")
        == (avatars["hello from bob"])
    )


def test_times_are_in_each_viewers_time_zone(pair: tuple[Person, Person]) -> None:
    for person in pair:
        stamp = message(person, "hello from bob").locator("time")
        expect(stamp).to_have_attribute("datetime", re.compile(r".+"), timeout=TIMEOUT)
        at = dt.datetime.fromisoformat(str(stamp.get_attribute("datetime")))
        assert stamp.inner_text() == at.astimezone(ZoneInfo(person.tz)).strftime("%H:%M")
    tokyo = message(pair[0], "hello from bob").locator("time").inner_text()
    new_york = message(pair[1], "hello from bob").locator("time").inner_text()
    assert tokyo != new_york


def test_user_text_is_shown_literally(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    dialogs: list[str] = []
    bob.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    create_room(alice, EVIL_ROOM)  # a room name, shown in every sidebar and title
    send(alice, EVIL)
    expect(room_buttons(bob).filter(has_text=EVIL_ROOM)).to_have_count(1, timeout=TIMEOUT)
    enter_room(bob, EVIL_ROOM)
    expect(message(bob, EVIL)).to_be_visible(timeout=TIMEOUT)
    title = f"#{EVIL_ROOM}created by alice"
    expect(bob.page.get_by_test_id("chat-room-title")).to_have_text(title)
    # Nothing became markup: no image, bold, colour or link from any of it.
    main = bob.page.locator("[data-testid='stApp']")
    assert main.locator("img[src='x']").count() == 0
    assert main.locator("strong:has-text('not bold'), b:has-text('not bold')").count() == 0
    assert main.locator("a[href^='http://x.org']").count() == 0
    assert bob.page.locator("span[style*='color']:text-is('red')").count() == 0
    assert dialogs == []
    shot(bob.page, "literal-text")
    archive(alice)  # hers: out of everyone's way
    for person in pair:
        expect(room_buttons(person)).to_have_count(1, timeout=TIMEOUT)  # general alone


def test_rooms_are_created_only_on_purpose(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    field = bob.page.get_by_placeholder("Name a new room")
    field.fill("half")
    chat_box(bob).click()  # clicking elsewhere creates nothing
    settled(bob.page)
    field.fill("")
    bob.page.get_by_role("button", name=re.compile("Create room")).click()  # nor does nothing
    expect(bob.page.get_by_text("Type a name for the new room first.")).to_be_visible()
    # Typing a name and pressing Enter does (so would the button).
    create_room(bob, "bobs-room")
    expect(room_buttons(alice).filter(has_text="bobs-room")).to_have_count(1, timeout=TIMEOUT)
    # One write holds the whole room list: had "half" been made, it would be here by now.
    expect(room_buttons(alice).filter(has_text="half")).to_have_count(0)
    shot(alice.page, "alice-sees-bobs-room")


def test_the_creator_archives_a_room_for_everyone(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    enter_room(alice, "bobs-room")
    expect(online(bob)).to_have_text(["alice", "bob"], timeout=TIMEOUT)
    expect(alice.page.get_by_role("button", name="Archive")).to_have_count(0)  # not hers
    archive(bob)
    for person in pair:
        expect(room_buttons(person).filter(has_text="bobs-room")).to_have_count(0, timeout=TIMEOUT)
        expect(person.page.get_by_test_id("chat-room-title")).to_contain_text("general")
    expect(online(alice)).to_have_text(["alice", "bob"], timeout=TIMEOUT)


def test_a_nickname_online_in_the_room_is_refused(
    browser: Browser, topology: Topology, pair: tuple[Person, Person]
) -> None:
    alice, _ = pair
    impostor = open_as(browser, topology, "impostor", "impostor-route", "Europe/Paris")
    try:
        set_nickname(impostor, "Alice")  # case and width are folded: this is alice's name
        expect(impostor.page.get_by_text("already goes by that nickname")).to_be_visible(
            timeout=TIMEOUT
        )
        expect(chat_box(impostor)).to_be_disabled()
        expect(online(alice)).to_have_text(["alice", "bob"])
        set_nickname(impostor, "alice2")
        can_post(impostor)
        expect(online(alice)).to_have_text(["alice", "alice2", "bob"], timeout=TIMEOUT)
    finally:
        impostor.context.close()
    expect(online(alice)).to_have_text(["alice", "bob"], timeout=TIMEOUT)


def test_earlier_messages_load_on_demand(topology: Topology, pair: tuple[Person, Person]) -> None:
    _, bob = pair
    shared_state(
        topology,
        """
now = dt.datetime.now(dt.timezone.utc)
room = core.new_room("history", "seed", "carol", now)
with server_state.edit(core.ROOMS, default=[]) as rooms:
    rooms.append(room)
server_state.append(core.messages_key(room["id"]), *[
    {"id": core.new_id(), "uid": "seed", "who": "carol", "text": f"history {i}",
     "at": now - dt.timedelta(minutes=95 - i)}
    for i in range(95)
], max_len=core.KEPT)
""",
    )
    enter_room(bob, "history")
    messages = bob.page.get_by_test_id("stChatMessage")
    # The newest page is drawn, and only it: tail() reads what is shown.
    expect(messages).to_have_count(PAGE, timeout=TIMEOUT)
    expect(message(bob, "history 94")).to_be_in_viewport()  # newest first-screen: scrolled to it
    expect(message(bob, f"history {95 - PAGE}")).to_have_count(1)
    expect(message(bob, f"history {95 - PAGE - 1}")).to_have_count(0)
    bob.page.get_by_role("button", name=f"Show earlier messages ({95 - PAGE} more)").click()
    expect(messages).to_have_count(2 * PAGE, timeout=TIMEOUT)
    bob.page.get_by_role("button", name=f"Show earlier messages ({95 - 2 * PAGE} more)").click()
    expect(messages).to_have_count(95, timeout=TIMEOUT)
    expect(message(bob, "history 0")).to_have_count(1)
    expect(bob.page.get_by_role("button", name=re.compile("Show earlier"))).to_have_count(0)
    enter_room(bob, "general")
    shared_state(  # out of the way of the README's picture
        topology,
        """
with server_state.edit(core.ROOMS) as rooms:
    for room in rooms:
        if room["name"] == "history":
            room["archived"] = True
""",
    )
    expect(room_buttons(bob).filter(has_text="history")).to_have_count(0, timeout=TIMEOUT)


def test_the_bot_adds_an_emoji_seen_on_the_other_replica(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    send(alice, "I love this, it is wonderful!")
    expect(mood(bob, "I love this, it is wonderful!")).to_have_text("😄", timeout=TIMEOUT)
    send(bob, "ugh, the build is broken and I hate it")
    expect(mood(alice, "ugh, the build is broken and I hate it")).to_have_text(
        "😢", timeout=TIMEOUT
    )


def test_killing_the_bot_loses_no_message_and_it_catches_up(
    topology: Topology, pair: tuple[Person, Person]
) -> None:
    alice, bob = pair
    topology.stop_bot(kill=True)  # SIGKILL: no goodbye, its heartbeat just lapses
    meanwhile = ["are you there, bot?", "what a great day", "this is terrible news"]
    for i, text in enumerate(meanwhile):
        send((alice, bob)[i % 2], text)
    for text in meanwhile:
        for person in pair:
            expect(message(person, text)).to_be_visible(timeout=TIMEOUT)
            expect(mood(person, text)).to_have_count(0)  # missing, not wrong
    away = alice.page.get_by_test_id("chat-bot")
    expect(away).to_have_attribute("data-state", "away", timeout=20_000)
    shot(alice.page, "bot-away")
    topology.start_bot()
    expect(away).to_have_attribute("data-state", "online", timeout=TIMEOUT)
    expected = {meanwhile[0]: "🤔", meanwhile[1]: "😄", meanwhile[2]: "🙁"}
    for text, emoji in expected.items():
        for person in pair:
            expect(mood(person, text)).to_have_text(emoji, timeout=TIMEOUT)
    # In the shared state: one note per message, in message order, none twice.
    ids = shared_state(
        topology,
        """
messages = server_state.tail(core.messages_key("general"), 1000)
moods = server_state.tail(core.moods_key("general"), 1000)
result = [[m["id"] for m in messages], [n["id"] for n in moods]]
""",
    )
    assert ids[0] == ids[1]


def test_screenshot_of_a_conversation(pair: tuple[Person, Person]) -> None:
    """The README's picture: a real conversation on two replicas, with the bot's emoji."""
    alice, bob = pair
    create_room(alice, "weekend")
    enter_room(bob, "weekend")
    lines = [
        (alice, "Anyone up for a hike on Saturday? 🥾"),
        (bob, "Yes! I love that idea."),
        (alice, "Great, the weather looks perfect."),
        (bob, "I can't do Sunday though, my car is broken."),
        (alice, "No problem, I'll drive. Meet at 9?"),
    ]
    for person, text in lines:
        send(person, text)
        expect(message(alice, text)).to_be_visible(timeout=TIMEOUT)
    for _, text in lines:
        expect(mood(alice, text)).to_have_count(1, timeout=TIMEOUT)
    chat_box(bob).press_sequentially("Sounds good", delay=20)
    expect(alice.page.get_by_test_id("chat-typing")).to_have_text("bob is typing…", timeout=TIMEOUT)
    alice.page.mouse.move(0, 0)
    # A test artifact: copied into docs/chat.png on purpose when it changes.
    shot(alice.page, "chat")
    chat_box(bob).fill("")
    enter_room(alice, "general")
    enter_room(bob, "general")


def test_closing_bobs_tab_removes_him_from_presence(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    expect(online(alice)).to_have_text(["alice", "bob"], timeout=TIMEOUT)
    bob.context.close()
    expect(online(alice)).to_have_text(["alice"], timeout=20_000)
    shot(alice.page, "bob-left")
