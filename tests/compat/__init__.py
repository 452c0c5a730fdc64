"""Compatibility tier: apps written as streamlit-server-state users write them.

Each app under `apps/` is the code an anchor user runs, with only the import
line changed. Every app runs on two replicas over one real redis-server, driven
by headless tabs that use its widgets as a browser does (support/sessions.py),
and every step checks what the acting tab and a tab on the other replica show.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.sessions import HeadlessSession, Run

#: The apps the compat tests run as replicas.
APPS = Path(__file__).resolve().parent / "apps"

#: How long a change may take to show in a tab ("the usual time"); generous for 2 cores.
WAIT = 10.0


def expect(
    tab: HeadlessSession,
    predicate: Callable[[Run], bool],
    what: str,
    after: int | None = None,
    timeout: float = WAIT,
) -> Run:
    """Wait until the tab's latest run satisfies ``predicate``.

    Fails at once, naming the exception, if the app raised instead (the tab
    shows Streamlit's exception box): waiting longer would only hide why.
    """
    run = tab.wait_for(lambda r: predicate(r) or bool(r.screen.exceptions), timeout, what, after)
    assert not run.screen.exceptions, (
        f"tab {tab.name or tab.query!r}: waiting for {what}, the app raised {run.screen.exceptions}"
    )
    return run


def shows(tab: HeadlessSession, text: str, after: int | None = None, timeout: float = WAIT) -> Run:
    """Wait until the tab shows ``text`` (anywhere on its page)."""
    return expect(tab, lambda r: text in r.screen.texts, f"{text!r} shown", after, timeout)


def shows_metric(tab: HeadlessSession, label: str, value: str, after: int | None = None) -> Run:
    return expect(
        tab, lambda r: r.screen.metrics.get(label) == value, f"metric {label}={value}", after
    )


def shows_widget(tab: HeadlessSession, label: str, value: Any, after: int | None = None) -> Run:
    def predicate(run: Run) -> bool:
        return any(w.label == label and w.value == value for w in run.screen.widgets)

    return expect(tab, predicate, f"widget {label!r} at {value!r}", after)
