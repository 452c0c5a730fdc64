"""(d, f) The shared slider: `st.slider(..., value=server_state.slider_value)`, written back.

The slider's default is the shared value, so its widget id changes with every
change of the value. The moving tab must still end showing the value it was
moved to, every time, not snap back on every second move.
"""

from __future__ import annotations

import pytest

from tests.compat import shows, shows_widget
from tests.compat.conftest import Tabs

pytestmark = pytest.mark.compat

APP = "slider.py"


def test_every_move_shows_in_both_tabs(tabs: Tabs) -> None:
    a = tabs.open(tabs.a)
    b = tabs.open(tabs.b)
    shows_widget(a, "Shared", 50)
    shows_widget(b, "Shared", 50)

    for value in (30, 70, 40, 90, 10):
        seen_b = b.run_count()
        moved = a.set_value("Shared", value)
        # Wait for the text; the slider itself must then show the same value.
        shows(a, f"slider_value={value}", after=moved)
        run = shows_widget(a, "Shared", value)
        assert f"slider_value={value}" in run.screen.texts
        shows_widget(b, "Shared", value, after=seen_b)
        shows(b, f"slider_value={value}")
