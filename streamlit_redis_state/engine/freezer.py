"""Keep Streamlit's collection after every run cheap: long-lived objects are frozen.

Streamlit runs a full ``gc.collect(2)`` after every script run
(``runner.postScriptGC``, on by default). When one change reruns N sessions
of a process, that is N full collections, one after another under the GIL,
and each walks every object the process holds: Streamlit's, redis-py's,
this library's, the app's imports, and a couple of hundred per connected
session (Streamlit's ``AppSession``, its event loop, websocket, state...).
Almost all of them live as long as the process or the session, so the
collections find nothing there, yet they dominated the time until everyone
saw a change (docs/benchmarks.md).

``gc.freeze()`` moves the objects alive now into a permanent generation that
collections skip: they then walk only what was made since. Reference counting
still frees frozen objects as usual; only cyclic garbage among them waits.
So the freeze is *renewed* (``gc.unfreeze()``, one full collection, which
frees that garbage, then ``gc.freeze()`` again):

* when a full collection has become slow again (more than ``budget`` of CPU
  time: sessions or caches have accumulated since the last freeze), at most
  once per ``100 x`` the last renewal's own cost, so renewing takes at most
  about 1% of the process's time;
* at least every ``max_age`` while collections happen at all, so cyclic
  garbage among frozen objects (the objects of sessions that have left) is
  kept at most that long.

The first renewal follows the first slow collection, the end of the first
script run. Only under a Streamlit runtime (a worker process is left alone),
once per process, unless the ``gc_freeze`` setting is off. The cost in
memory, measured in docs/benchmarks.md, is the cyclic garbage of at most one
renewal period.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

#: A full collection that takes more CPU time than this asks for a renewal.
BUDGET = 0.005
#: Renewals are at least this far apart, and at least 100 times their own cost.
MIN_INTERVAL = 1.0
COST_FACTOR = 100
#: Frozen cyclic garbage is freed at least this often, while collections happen.
MAX_AGE = 600.0
#: How often the renewing thread looks whether a collection was slow.
POLL = 1.0


class GcModule(Protocol):
    """The parts of :mod:`gc` the freezer uses (tests pass a fake)."""

    callbacks: list[Callable[[str, dict[str, Any]], None]]

    def collect(self, generation: int = 2) -> int: ...
    def freeze(self) -> None: ...
    def unfreeze(self) -> None: ...


class Freezer:
    """Watches full collections and renews the freeze when they get slow; see the module."""

    def __init__(
        self,
        gc_module: GcModule = gc,  # type: ignore[assignment]
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.thread_time,
        budget: float = BUDGET,
        min_interval: float = MIN_INTERVAL,
        max_age: float = MAX_AGE,
        poll: float = POLL,
    ) -> None:
        self._gc = gc_module
        self._clock = clock
        self._cpu = cpu_clock
        self.budget = budget
        self.min_interval = min_interval
        self.max_age = max_age
        self.poll = poll
        self._started_cpu: float | None = None
        self._wake = threading.Event()
        self._slow = False
        self._full_since = 0  # full collections since the last renewal
        self._last: float | None = None  # when the last renewal happened
        self._last_cost = 0.0
        self.renewals = 0
        self._thread: threading.Thread | None = None
        self._stopped = False

    # -- the collector's callback (in whichever thread collects) --------------

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        """``gc.callbacks`` entry: time full collections; ask for a renewal when one is slow.

        Collections never overlap, so one start time is enough. Kept cheap:
        it runs for every collection, young generations included.
        """
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started_cpu = self._cpu()
            return
        started, self._started_cpu = self._started_cpu, None
        self._full_since += 1
        if started is not None and self._cpu() - started > self.budget:
            # A flag only: this runs in whichever thread collects, maybe the
            # freezer's own inside an Event's lock, so taking one here could
            # deadlock. The thread looks at the flag every POLL seconds.
            self._slow = True

    # -- deciding and renewing ------------------------------------------------

    def due(self) -> bool:
        """Whether to renew now: a slow collection was seen, or the freeze is old."""
        if self._last is None:
            return self._slow
        age = self._clock() - self._last
        if self._slow and age >= max(self.min_interval, COST_FACTOR * self._last_cost):
            return True
        return age >= self.max_age and self._full_since > 0

    def wait_time(self) -> float:
        """How long the thread may sleep before :meth:`due` can change by itself."""
        if self._last is None:
            return self.max_age
        age = self._clock() - self._last
        if self._slow:
            return max(0.0, max(self.min_interval, COST_FACTOR * self._last_cost) - age)
        return max(0.0, self.max_age - age)

    def renew(self) -> None:
        """Unfreeze, collect everything once (freeing frozen garbage), freeze the survivors."""
        began, cpu = self._clock(), self._cpu()
        self._gc.unfreeze()
        self._gc.collect()
        self._gc.freeze()
        self._last_cost = self._cpu() - cpu
        self._last = self._clock()
        self._slow = False
        self._full_since = 0
        self.renewals += 1
        logger.debug(
            "renewed the gc freeze in %.1f ms (%.1f ms CPU)",
            (self._last - began) * 1000,
            self._last_cost * 1000,
        )

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        """Watch collections, and renew from a daemon thread of its own."""
        if self._thread is not None:
            return
        self._gc.callbacks.append(self.on_gc)
        self._thread = threading.Thread(
            target=self._run, name="streamlit-redis-state-gc", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; what is frozen stays frozen (tests)."""
        self._stopped = True
        if self.on_gc in self._gc.callbacks:
            self._gc.callbacks.remove(self.on_gc)
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(min(self.wait_time(), self.poll))
            self._wake.clear()
            if self._stopped:
                return
            try:
                if self.due():
                    self.renew()
            except Exception:
                logger.exception("renewing the gc freeze failed")


_lock = threading.Lock()
_freezer: Freezer | None = None


def start_once() -> Freezer:
    """Start the process's freezer (once; later calls return it)."""
    global _freezer
    with _lock:
        if _freezer is None:
            _freezer = Freezer()
            _freezer.start()
        return _freezer


def current() -> Freezer | None:
    """The process's freezer, if started."""
    return _freezer


__all__ = ["Freezer", "current", "start_once"]
