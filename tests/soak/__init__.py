"""Soak tier: a randomized, seeded soak of three replicas and many tabs (see test_soak.py)."""

from pathlib import Path

#: The app the soak runs on every replica.
APPS = Path(__file__).resolve().parent / "apps"
