"""(i) st.navigation: page one changes a key, page two (on the other replica) shows it.

Pushed reruns keep each tab's page and query string.
"""

from __future__ import annotations

import pytest

from support.sessions import HeadlessSession
from tests.compat import shows
from tests.compat.conftest import Tabs

pytestmark = pytest.mark.compat

APP = "multipage.py"


def on_page_two(
    tab: HeadlessSession, level: int, query: dict[str, str], after: int | None = None
) -> None:
    """The tab shows page two at ``level``, and its query string is still ``query``."""
    run = shows(tab, f"level={level}", after=after)
    assert "page two" in run.screen.texts, run.screen.texts
    assert f"query={query}" in run.screen.texts, run.screen.texts


def test_page_one_changes_what_page_two_shows(tabs: Tabs) -> None:
    b = tabs.open(tabs.b, query="tab=b", page="two")  # opened at /two?tab=b
    a = tabs.open(tabs.a)  # at /, the default page
    on_page_two(b, 0, {"tab": "b"})
    run = shows(a, "level=0")
    assert "page one" in run.screen.texts
    assert set(a.pages) == {"", "two"}, a.pages  # the default page is served at the root
    page_one = a.page_script_hash

    # A raises the level on page one; B, on page two, is rerun on its page and query.
    seen = b.run_count()
    run = shows(a, "level=1", after=a.click_button("Raise"))
    assert "page one" in run.screen.texts
    assert a.page_script_hash == page_one
    on_page_two(b, 1, {"tab": "b"}, after=seen)
    assert b.page_script_hash == a.pages["two"]

    # A goes to page two (the browser drops the query string) and sees the level.
    on_page_two(a, 1, {}, after=a.navigate("two"))
    on_page_two(b, 1, {"tab": "b"})

    # B goes to page one and raises; A, now on page two, follows.
    run = shows(b, "page one", after=b.navigate(""))
    seen = a.run_count()
    run = shows(b, "level=2", after=b.click_button("Raise"))
    assert "page one" in run.screen.texts
    on_page_two(a, 2, {}, after=seen)
