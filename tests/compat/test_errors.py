"""Errors and forced reruns as anchor users rely on them.

A missing key read by attribute raises something `except KeyError:` catches
(the anchor raises KeyError), while `hasattr` says False.
`force_rerun_bound_sessions(k)` reruns every session bound to k, the caller
included, on both replicas; inside `with no_rerun:` it raises (the anchor
raises its RerunSuppressedError).
"""

from __future__ import annotations

import pytest

from tests.compat import shows
from tests.compat.conftest import Tabs

pytestmark = pytest.mark.compat

APP = "errors.py"


def test_missing_key_by_attribute_is_caught_by_except_keyerror(tabs: Tabs) -> None:
    for replica in (tabs.a, tabs.b):
        tab = tabs.open(replica, "part=missing")
        run = shows(tab, "hasattr=False")
        assert "missing: KeyError caught" in run.screen.texts


def test_force_rerun_reruns_every_bound_session_including_the_caller(tabs: Tabs) -> None:
    a = tabs.open(tabs.a, "part=force")
    a2 = tabs.open(tabs.a, "part=force", name="A2")
    b = tabs.open(tabs.b, "part=force")
    for tab in (a, a2, b):
        shows(tab, "bound=0")
        tab.settle(quiet=0.5)
    started = {tab: tab.start_count() for tab in (a, a2, b)}
    finished = {tab: tab.run_count() for tab in (a, a2, b)}

    a.click_button("Force")
    for tab in (b, a2):  # the other replica, then the caller's own replica
        tab.wait_for(lambda r: True, what="a forced rerun", after=finished[tab])
    # The caller: the click's run, then the forced one (which may cut the first short).
    a.wait_for(
        lambda r: a.start_count() >= started[a] + 2,
        what="the caller rerun by force_rerun_bound_sessions",
        after=finished[a],
    )
    # One forced rerun each, not a loop: the forced run clicks nothing.
    for tab in (a, a2, b):
        tab.settle(quiet=1.0)
        assert tab.start_count() - started[tab] <= (2 if tab is a else 1)
        assert "bound=0" in tab.screen.texts


def test_force_rerun_inside_no_rerun_raises(tabs: Tabs) -> None:
    a = tabs.open(tabs.a, "part=force")
    shows(a, "bound=0")
    run = a.wait_for(
        lambda r: any(t.startswith("quiet force") for t in r.texts),
        what="the quiet force's outcome",
        after=a.click_button("Force quietly"),
    )
    assert any(t.startswith("quiet force raised") for t in run.texts), run.texts
