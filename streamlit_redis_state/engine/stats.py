"""Counters of what the engine did, for tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Stats:
    redis_reads: int = 0
    cache_hits: int = 0
    reruns_requested: int = 0
    resyncs: int = 0
