"""Packaging tier: the sdist and the wheel, built and installed as a user would."""
