"""Fuzz tier: Hypothesis against the codec, and the crash cases in subprocesses.

``SRS_FUZZ_PROFILE=ci`` (the default) is derandomized and quick; ``long``
runs 20,000 examples per test. See conftest.py.
"""
