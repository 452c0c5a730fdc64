"""Hypothesis profiles for the fuzz tier, chosen by the environment.

``ci`` (default): a few hundred examples per test, derandomized, so every CI
run tries the same inputs and the tier takes well under a minute on two
cores. ``long``: 20,000 examples per test with a fresh random seed, which is
printed in the report header; rerun with ``SRS_FUZZ_SEED=<seed>`` to replay
the whole run, or paste the ``@reproduce_failure`` blob Hypothesis prints
with a falsifying example.

The profiles are applied per test (``@FUZZ`` from tests/fuzz/common.py), not
loaded globally, so Hypothesis tests elsewhere keep their own settings when
the tiers run in one session.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,  # a loaded CI machine must not flake: time_limit() is the hang guard
    derandomize=True,
    print_blob=True,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "long",
    max_examples=20_000,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=_QUIET,
)

PROFILE = os.environ.get("SRS_FUZZ_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"SRS_FUZZ_PROFILE must be 'ci' or 'long', not {PROFILE!r}")
# The seed of a random run: chosen once per session so it can be printed and replayed.
SEED: int | None = (
    int(os.environ["SRS_FUZZ_SEED"])
    if os.environ.get("SRS_FUZZ_SEED")
    else (None if PROFILE == "ci" else random.SystemRandom().randrange(2**32))
)


def _describe() -> str:
    chosen = settings.get_profile(PROFILE)
    seed = "derandomized" if SEED is None else f"seed {SEED} (replay: SRS_FUZZ_SEED={SEED})"
    return (
        f"codec fuzz: SRS_FUZZ_PROFILE={PROFILE}, {chosen.max_examples} examples per test, {seed}"
    )


def pytest_report_header() -> list[str]:
    """Shown when the run starts in tests/fuzz (``pytest tests/fuzz``)."""
    return [_describe()]


@pytest.fixture(autouse=True)
def _profile_in_failure_reports(request: pytest.FixtureRequest) -> Iterator[None]:
    """Shown with every failure, also when the tier runs inside ``pytest tests``."""
    yield
    request.node.add_report_section("teardown", "codec fuzz", _describe())
