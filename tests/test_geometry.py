"""The stable angle against a 100-digit arccos reference."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given

from tests.strategies import teacher_student_pairs
from theory.geometry import angle, angle_mp


def _acos_reference(u: np.ndarray, v: np.ndarray) -> mpmath.mpf:
    with mpmath.mp.workdps(100):
        uu = [mpmath.mpf(float(x)) for x in u]
        vv = [mpmath.mpf(float(x)) for x in v]
        c = mpmath.fsum(a * b for a, b in zip(uu, vv)) / mpmath.sqrt(
            mpmath.fsum(a * a for a in uu) * mpmath.fsum(b * b for b in vv)
        )
        return mpmath.acos(max(-1, min(1, c)))


@given(teacher_student_pairs())
def test_angle_absolute_accuracy_float64(pair) -> None:
    # Absolute error: each unit vector carries a few ulp, and the norms of their sum and
    # difference turn that into an absolute angle error of at most ~8 eps (2x margin below).
    u, v = pair
    assume(np.any(u))  # a zero vector (a scale that underflowed) has no angle; see edges test
    ref = _acos_reference(u, v)
    got = angle(u, v)
    assert abs(got - float(ref)) <= 16 * np.finfo(np.float64).eps * max(1.0, float(ref))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_angle_edges_exact() -> None:
    v = np.array([0.3, -1.2, 2.0])
    assert angle(v, v) == 0.0
    assert angle(v, -v) == np.pi
    assert abs(angle(np.array([1.0, 0.0]), np.array([0.0, 5.0])) - np.pi / 2) <= 2.3e-16
    assert np.isnan(angle(np.zeros(3), v))


def test_angle_near_zero_beats_arccos() -> None:
    # t = 1e-9: arccos of the float64 cosine returns 0 or ~1.5e-8, the stable form ~1e-9.
    u = np.array([1.0, 0.0])
    v = np.array([1.0, 1e-9])
    assert abs(angle(u, v) - 1e-9) <= 1e-24
    assert abs(np.arccos(u @ v / np.linalg.norm(v)) - 1e-9) > 1e-10


def test_angle_mp_matches_reference_and_rejects_zero() -> None:
    with mpmath.mp.workdps(60):
        got = angle_mp([mpmath.mpf(1), mpmath.mpf(2)], [mpmath.mpf(-3), mpmath.mpf("0.5")])
        ref = mpmath.acos((-3 + 1) / mpmath.sqrt(5 * mpmath.mpf("9.25")))
        assert abs(got - ref) < mpmath.mpf(10) ** -58
        try:
            angle_mp([0, 0], [1, 0])
        except ValueError as exc:
            assert "zero" in str(exc)
        else:
            raise AssertionError("angle_mp accepted a zero vector")
