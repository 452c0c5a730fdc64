"""Counts the full collections of the process it is imported in, and their CPU time.

Imported by bench_app.py when SRS_BENCH_GC_PROBE is set (a diagnostic pass:
the callback itself costs a little in every collection). A module, so its
state lives once per process while the app's script runs again and again.
"""

from __future__ import annotations

import gc
import time
from typing import Any

full_collections = 0
full_cpu = 0.0
_started: float | None = None


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global full_collections, full_cpu, _started
    if info.get("generation") != 2:
        return
    if phase == "start":
        _started = time.thread_time()
    elif _started is not None:
        full_collections += 1
        full_cpu += time.thread_time() - _started
        _started = None


if _on_gc not in gc.callbacks:
    gc.callbacks.append(_on_gc)
