"""Hypothesis profiles and shared fixtures.

Profiles (select with ``HYPOTHESIS_PROFILE=...``; CI, which sets ``CI=true``, gets ``ci``):

* ``dev``      — quick feedback while editing (default outside CI);
* ``ci``       — the counts the issues' "done when" clauses ask for, still minutes in all;
* ``thorough`` — deep runs, no deadline, many more examples (``-m slow`` adds long checks).

Tests that need a different number of examples than the profile scales it with
:func:`examples` rather than hard-coding ``max_examples``.
"""

from __future__ import annotations

import os

import mpmath
import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)

settings.register_profile("dev", max_examples=60, **_COMMON)
# ci is derandomized: the same examples on every run, so CI cannot flake; dev and thorough
# draw fresh examples (and find new counterexamples) on every run.
settings.register_profile("ci", max_examples=300, print_blob=True,
                          **{**_COMMON, "derandomize": True, "database": None})
settings.register_profile("thorough", max_examples=5000, **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)

_SCALE = {"dev": 0.1, "ci": 1.0, "thorough": 10.0}


def examples(ci_count: int) -> int:
    """Number of examples for a test that needs ``ci_count`` in the ``ci`` profile."""
    return max(20, int(ci_count * _SCALE.get(PROFILE, 1.0)))


@pytest.fixture(autouse=True)
def _mpmath_precision_is_scoped():
    """Fail any test that leaves mpmath's global precision changed (precision is scoped)."""
    before = mpmath.mp.prec
    yield
    assert mpmath.mp.prec == before, "mpmath precision leaked out of a test: use mp.workdps"
