"""Reruns on demand: ``force_rerun_bound_sessions`` and ``no_rerun``."""

from __future__ import annotations

from types import TracebackType

from .base.errors import RerunSuppressed
from .base.keys import check_key
from .engine.hub import Hub, quiet_depth
from .engine.process import get_hub


class _NoRerun:
    """``with no_rerun:``: writes inside the block notify nobody. Blocks may nest.

    Other processes still drop their cached copy (the value did change); only
    the reruns are suppressed.
    """

    def __enter__(self) -> None:
        quiet_depth.set(quiet_depth.get() + 1)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        quiet_depth.set(max(quiet_depth.get() - 1, 0))

    def __call__(self) -> _NoRerun:
        """``with no_rerun():`` works too."""
        return self

    def __repr__(self) -> str:
        return "no_rerun"


no_rerun = _NoRerun()


def force_rerun_bound_sessions(key: str) -> None:
    """Rerun every session subscribed to ``key``, on every replica, the caller included.

    For values changed in a way the library cannot see. Called at the top of
    a script, the caller's reruns stop after a short chain (see the README).
    Raises :class:`RerunSuppressed` inside ``no_rerun``, as the anchor does.
    """
    force_rerun(get_hub(), key)


def force_rerun(hub: Hub, key: str) -> None:
    """``force_rerun_bound_sessions`` on a given hub (an st.connection's)."""
    key = check_key(key)
    if quiet_depth.get() > 0:
        raise RerunSuppressed("force_rerun_bound_sessions() cannot be used inside no_rerun")
    hub.touch(key)
