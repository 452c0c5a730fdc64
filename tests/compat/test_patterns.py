"""Patterns anchor users write, where the writing tab must show its own change too.

(e) a value drawn above the button that changes it, (g) a fragment's button
writing what the top level shows, (h) a thread with the session's context
writing a key, (j) `st.cache_resource.clear()` and live updates afterwards.
"""

from __future__ import annotations

import pytest

from tests.compat import shows, shows_metric
from tests.compat.conftest import Tabs

pytestmark = pytest.mark.compat

APP = "patterns.py"


def test_value_drawn_above_its_button_is_current_in_the_voting_tab(tabs: Tabs) -> None:
    a = tabs.open(tabs.a, "p=votes")
    b = tabs.open(tabs.b, "p=votes")
    shows_metric(a, "Votes", "0")
    shows_metric(b, "Votes", "0")
    for votes in (1, 2, 3):
        seen_b = b.run_count()
        voted = a.click_button("Vote")
        # The voting run drew the metric before writing, so it is rerun by its own write.
        shows_metric(a, "Votes", str(votes), after=voted)
        shows_metric(b, "Votes", str(votes), after=seen_b)


def test_fragment_button_updates_the_top_level_of_the_writer_and_others(tabs: Tabs) -> None:
    a = tabs.open(tabs.a, "p=fragment")
    b = tabs.open(tabs.b, "p=fragment")
    shows(a, "fragment_clicks=0")
    shows(b, "fragment_clicks=0")
    assert a.widget("Click in fragment").fragment_id, "the button is inside the fragment"
    for clicks in (1, 2):
        seen_b = b.run_count()
        # The click reruns only the fragment (the tab sends ClientState.fragment_id);
        # the full rerun its write asks for may stop that run before it ends.
        clicked = a.click_button("Click in fragment")
        # The top level, which shows the key, must follow in the writer and elsewhere.
        shows(a, f"fragment_clicks={clicks}", after=clicked)
        shows(b, f"fragment_clicks={clicks}", after=seen_b)


def test_thread_with_script_run_context_ends_at_its_last_write_everywhere(tabs: Tabs) -> None:
    a = tabs.open(tabs.a, "p=thread")
    b = tabs.open(tabs.b, "p=thread")
    shows(a, "ticks=0")
    shows(b, "ticks=0")
    seen_b = b.run_count()
    started = a.click_button("Start")  # 6 increments, one every 100 ms
    shows(b, "ticks=6", after=seen_b)
    shows(a, "ticks=6", after=started)


def test_clearing_the_resource_cache_keeps_live_updates_flowing(tabs: Tabs) -> None:
    a = tabs.open(tabs.a, "p=cache")  # clicks "Clear cache"
    a2 = tabs.open(tabs.a, "p=cache", name="A2")  # another tab of replica A
    b = tabs.open(tabs.b, "p=cache")
    third = tabs.open(tabs.b, "p=cache", name="B2")
    everyone = (a, b, third, a2)  # replica B first: the spec names B
    for tab in everyone:
        shows(tab, "bumps=0")

    shows(a, "bumps=0", after=a.click_button("Clear cache"))

    bumps = 0
    for actor in (a, third, b, a2):
        bumps += 1
        seen = {tab: tab.run_count() for tab in everyone}
        shows(actor, f"bumps={bumps}", after=actor.click_button("Bump"))
        for tab in everyone:
            if tab is not actor:
                shows(tab, f"bumps={bumps}", after=seen[tab])


def test_clear_cache_from_the_menu_keeps_live_updates_flowing(tabs: Tabs) -> None:
    a = tabs.open(tabs.a, "p=cache")
    a2 = tabs.open(tabs.a, "p=cache", name="A2")
    b = tabs.open(tabs.b, "p=cache")
    everyone = (a, b, a2)
    bumps = int(next(t for t in a.screen.texts if t.startswith("bumps=")).split("=")[1])
    for tab in everyone:
        shows(tab, f"bumps={bumps}")

    a.clear_cache()  # the app menu's "Clear cache": replica A's caches, and no run
    for actor in (b, a, a2):
        bumps += 1
        seen = {tab: tab.run_count() for tab in everyone}
        shows(actor, f"bumps={bumps}", after=actor.click_button("Bump"))
        for tab in everyone:
            if tab is not actor:
                shows(tab, f"bumps={bumps}", after=seen[tab])
