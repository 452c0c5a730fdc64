"""Reruns on demand: ``force_rerun_bound_sessions`` and ``no_rerun``."""

from __future__ import annotations

from types import TracebackType

from .base.keys import check_key
from .engine.hub import quiet_depth
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
    """Rerun every session subscribed to ``key``, on every replica.

    For values changed in a way the library cannot see. The calling session is
    not rerun (it is already running), so calling this at the top of a script
    cannot loop.
    """
    key = check_key(key)
    get_hub().touch(key)
