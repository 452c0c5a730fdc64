"""The per-process engine: the cache, subscriptions, the hub that joins them, locks, presence."""
