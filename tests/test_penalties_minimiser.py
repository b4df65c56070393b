r"""The prox returns a global minimiser: checked against the independent 40-digit oracle.

Tolerance (stated once, used everywhere here).  With :math:`\epsilon` the unit roundoff of
the dtype, :math:`Y = |y|` and :math:`s` the jump point (or the zero threshold):

.. math:: F(\hat x) - F_* \le K\epsilon\,\min(Y, s)^2 + \tfrac12 (K\epsilon Y)^2
          + K\sigma (Y + s) + 10^{-30} Y^2, \qquad K = 4,

with :math:`\sigma` the smallest subnormal of the dtype.

Why: thresholds are computed exactly and rounded once, so a wrong branch is only possible
for :math:`|Y - s| \le \epsilon s`, where the two branch values differ by at most
:math:`J\,|Y - s| \le \epsilon s^2` (the objective gap between the branches grows with
slope = jump height :math:`J \le s`); away from a tie the returned point has absolute error
:math:`c\epsilon Y` and :math:`F'' \le 1`, so :math:`F` grows by at most
:math:`(c\epsilon Y)^2/2`; below the normal range the dtype resolves :math:`x` and the
thresholds only to a step :math:`\sigma`, which moves :math:`F` by at most
:math:`\sigma(|F'| + \sigma) \le \sigma (Y + s)`; :math:`10^{-30}` is the oracle's own
40-digit accuracy.  K = 4: the largest K any draw needed was 0.56 (7000 draws over all
penalties, float32 and float64).  The oracle is also checked from the other side: no
returned point may beat it by more than that 1e-30 slack.
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PROFILE, examples
from tests.test_penalties_oracle import (
    DPS,
    group_objective,
    group_penalty,
    l1l2_objective,
    l1l2_penalty,
    minimise,
    minimise_group,
    minimise_l1l2,
    norm,
    objective,
    penalty,
)
from tests.test_penalties_strategies import KEYS, Case, group_cases, l1l2_cases, scalar_cases
from theory.penalties import Penalty

K = 4
# 10^4 examples per penalty in the ci profile (the count); a quick 150 while editing.
N_MIN = examples(10_000) if PROFILE != "dev" else 150


def tolerance(dtype: Any, big_y: Any, s: float) -> mpmath.mpf:
    with mpmath.mp.workdps(DPS):
        eps = mpmath.mpf(float(np.finfo(dtype).eps))
        yy = mpmath.mpf(big_y)
        m = min(yy, mpmath.mpf(s))
        sub = mpmath.mpf(float(np.finfo(dtype).smallest_subnormal))
        return (K * eps * m * m + (K * eps * yy) ** 2 / 2 + K * sub * (yy + mpmath.mpf(s))
                + mpmath.mpf(10) ** -30 * yy * yy)


def _check_envelope(env: float, fmin: mpmath.mpf, tol: mpmath.mpf, dtype: Any, tau: float,
                    p_of_y: mpmath.mpf) -> None:
    """The Moreau envelope e = min_x P(x) + (x-y)^2/(2 tau) = fmin/tau (e = P(y) at tau = 0):
    relative K eps, plus the minimiser tolerance over tau, plus K times the smallest subnormal
    (products below the normal range lose their relative accuracy, by half a subnormal each)."""
    assert not np.isnan(env)
    with mpmath.mp.workdps(DPS):
        want = p_of_y if tau == 0 else fmin / mpmath.mpf(tau)
        if want > np.finfo(dtype).max / 4:
            return  # the true value overflows the dtype; inf (not NaN) is the right answer
        eps = float(np.finfo(dtype).eps)
        sub = float(np.finfo(dtype).smallest_subnormal)
        slack = 0 if tau == 0 else tol / mpmath.mpf(tau)
        assert abs(mpmath.mpf(env) - want) <= K * eps * want + slack + K * sub, (env, want)


def check_scalar_case(case: Case) -> None:
    pen = case.penalty()
    ya = np.array([case.y], dtype=case.dtype)
    x = pen.prox(ya, case.tau)
    assert x.dtype == ya.dtype
    xv = float(x[0])
    assert np.isfinite(xv)
    fmin, _ = minimise(case.name, case.params, case.tau, case.y)
    th = pen.threshold(case.tau)
    s = th.jump_at if th.jump_at is not None else th.zero
    tol = tolerance(case.dtype, abs(case.y), s)
    with mpmath.mp.workdps(DPS):
        fx = objective(case.name, case.params, case.tau, xv, case.y)
        assert fx - fmin <= tol, (xv, fx, fmin, tol)
        assert fx >= fmin - mpmath.mpf(10) ** -30 * (fmin + mpmath.mpf(case.y) ** 2)
    with mpmath.mp.workdps(DPS):
        p_y = penalty(case.name, case.params, case.y)
    _check_envelope(float(pen.moreau(ya, case.tau)[0]), fmin, tol, case.dtype, case.tau, p_y)


def _minimiser_test(key: str) -> Any:
    @settings(max_examples=N_MIN)
    @given(scalar_cases(key))
    def test(case: Case) -> None:
        check_scalar_case(case)

    test.__name__ = test.__qualname__ = f"test_prox_is_a_global_minimiser_{key.replace('-', '_')}"
    test.__doc__ = f"{key}: the prox of a float64/float32 input is a global minimiser."
    return test


# One test function per penalty (a parametrized test would need st.data(), which costs more).
test_prox_is_a_global_minimiser_l1 = _minimiser_test("l1")
test_prox_is_a_global_minimiser_l0 = _minimiser_test("l0")
test_prox_is_a_global_minimiser_tl1 = _minimiser_test("tl1")
test_prox_is_a_global_minimiser_lp_half = _minimiser_test("lp-half")
test_prox_is_a_global_minimiser_lp_two_thirds = _minimiser_test("lp-two-thirds")
test_prox_is_a_global_minimiser_mcp = _minimiser_test("mcp")
test_prox_is_a_global_minimiser_scad = _minimiser_test("scad")


@settings(max_examples=N_MIN)
@given(l1l2_cases())
def test_l1_l2_prox_is_a_global_minimiser(c: tuple[Any, float, float, list[float]]) -> None:
    dtype, tau, alpha, y = c
    pen = Penalty("l1-l2", alpha=alpha)
    ya = np.array(y, dtype=dtype)
    x = pen.prox(ya, tau)
    assert x.dtype == ya.dtype and np.all(np.isfinite(x))
    fmin = minimise_l1l2(tau, alpha, y)
    big_y = norm(y)
    tol = tolerance(dtype, big_y, tau)
    with mpmath.mp.workdps(DPS):
        fx = l1l2_objective(tau, alpha, [float(v) for v in x], y)
        assert fx - fmin <= tol, (list(x), fx, fmin, tol)
        assert fx >= fmin - mpmath.mpf(10) ** -30 * (fmin + big_y**2)
    p_y = l1l2_penalty(alpha, y)
    _check_envelope(float(pen.moreau(ya, tau)), fmin, tol, dtype, tau, p_y)


@settings(max_examples=N_MIN)
@given(group_cases())
def test_group_prox_is_a_global_minimiser(c: tuple[Case, list[float], list[list[int]]]) -> None:
    case, y, groups = c
    pen = case.penalty()
    ya = np.array(y, dtype=case.dtype)
    x = pen.group_prox(ya, case.tau, groups)
    assert x.dtype == ya.dtype and np.all(np.isfinite(x))
    fmin = minimise_group(case.name, case.params, case.tau, y, groups)
    big_y = norm(y)
    th = pen.threshold(case.tau)
    tol = len(groups) * tolerance(case.dtype, big_y, th.jump_at if th.jump_at is not None else th.zero)
    fx = group_objective(case.name, case.params, case.tau, [float(v) for v in x], y, groups)
    with mpmath.mp.workdps(DPS):
        assert fx - fmin <= tol, (list(x), fx, fmin, tol)
        assert fx >= fmin - mpmath.mpf(10) ** -30 * (fmin + big_y**2)
    p_y = group_penalty(case.name, case.params, y, groups)
    _check_envelope(float(pen.group_moreau(ya, case.tau, groups)), fmin, tol, case.dtype,
                    case.tau, p_y)


@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=examples(500) if PROFILE != "dev" else 30)
@given(data=st.data())
def test_mpmath_prox_is_a_global_minimiser_to_30_digits(key: str, data: st.DataObject) -> None:
    case = data.draw(scalar_cases(key, f64_only=True), label="case")
    pen = case.penalty()
    with mpmath.mp.workdps(DPS):
        x = pen.prox(mpmath.mpf(case.y), case.tau)
        fmin, _ = minimise(case.name, case.params, case.tau, case.y)
        fx = objective(case.name, case.params, case.tau, x, case.y)
        yy = mpmath.mpf(case.y) ** 2
        assert abs(fx - fmin) <= mpmath.mpf(10) ** -30 * (fmin + yy), (x, fx, fmin)
        env = pen.moreau(mpmath.mpf(case.y), case.tau)
        if case.tau == 0:
            p_y = penalty(case.name, case.params, case.y)
            assert abs(env - p_y) <= mpmath.mpf(10) ** -30 * p_y
        else:
            assert abs(env * case.tau - fmin) <= mpmath.mpf(10) ** -30 * (fmin + yy)
