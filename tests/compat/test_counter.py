"""(a) The global counter: clicks on one replica reach the other, and back."""

from __future__ import annotations

import pytest

from tests.compat import shows
from tests.compat.conftest import Tabs

pytestmark = pytest.mark.compat

APP = "counter.py"


def test_clicks_count_for_everyone_on_both_replicas(tabs: Tabs) -> None:
    a = tabs.open(tabs.a)
    b = tabs.open(tabs.b)
    shows(a, "count=0")
    shows(b, "count=0")

    # `with server_state_lock.count:` (attribute access) runs on every click.
    for expected in (1, 2, 3):
        seen_b = b.run_count()
        clicked = a.click_button("Increment")
        shows(a, f"count={expected}", after=clicked)
        shows(b, f"count={expected}", after=seen_b)

    seen_a = a.run_count()
    clicked = b.click_button("Increment")
    shows(b, "count=4", after=clicked)
    shows(a, "count=4", after=seen_a)
