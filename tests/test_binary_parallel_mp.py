"""The binary model's mpmath evaluators at (numerically) parallel and antiparallel inputs.

``w = c w*`` computed in floating point (float64, or mpmath at the working precision) is, in
general, *not* an exact multiple of ``w*``, so the exact collinearity test of
:func:`theory.binary._plane_mp` does not fire; but the unit vectors can round to the same
vector, and Gram-Schmidt then leaves an exactly zero in-plane residual.  ``loss_mp``,
``coarse_grad_mp`` and ``correlation_mp`` used to divide by its norm (ZeroDivisionError), although
none of them needs the normal.  Found by the random search of the task that fixed it (57 of 3000
draws at 15 to 30 digits); the examples below are from that search.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from theory import binary as b

EPS = float(np.finfo(np.float64).eps)
REF_DPS = 60

# (w*, c, k, dps, how w = c w* is formed): ZeroDivisionError before the fix
FOUND = [
    ([-1.1, 1.9, 0.0], 7.1, 3, 15, "float"),                        # parallel, float64 product
    ([0.7640773725307586, -1.5, 0.0], -2.251507106307839, 1, 15, "float"),  # antiparallel
    ([0.0, 1.9, -0.5], 7.1, 8, 30, "mp"),                           # product at 30 digits
    ([-0.2, 0.20599354435691808, 0.0, 0.0, 0.0], 7.1, 3, 30, "mp"),
    ([0.0, 1.1, 0.0, 0.0, -1.6], -0.3, 1, 20, "mp"),                 # antiparallel at 20 digits
]


def _student(ws: list[float], c: float, how: str, dps: int) -> list:
    """w = c w*: float64 products, or mpmath products rounded at ``dps`` digits."""
    if how == "float":
        return [c * x for x in ws]
    with mpmath.mp.workdps(dps):
        return [mpmath.mpf(c) * mpmath.mpf(x) for x in ws]


def _check(ws: list[float], c: float, k: int, dps: int, how: str) -> None:
    """At ``dps`` digits the evaluators return (no ZeroDivisionError) and agree with

    * the same inputs at 60 digits (there the unit vectors differ, so the old code path was
      fine): loss to ``10^(2-dps)`` absolute (``loss = t/(pi k)`` with the stable angle accurate to a
      few units of ``10^-dps``), the coarse gradient to ``10^(2-dps) (|alpha| + |beta|)``;
    * float64 ``loss`` / ``coarse_grad`` on the float64 inputs: ``32 eps`` absolute for the loss
      (the suite's float64 angle accuracy ``32 eps pi``, divided by ``pi k``), and
      ``32 eps (|alpha| + |beta|)`` for ``E g = alpha w^ + beta w*^`` (unit vectors to a few ulps),
      each plus the mp side's ``10^(2-dps)``.

    The angle is ~1e-16 or 0 here: the loss is compared absolutely, not relatively.
    """
    w = _student(ws, c, how, dps)
    w64 = np.array([float(x) for x in w])
    ws64 = np.array(ws)
    tol_mp = 10.0 ** (2 - dps)
    kern = b._kernels()
    with mpmath.mp.workdps(REF_DPS):
        ref = b._plane_mp(w, ws)
        r_ref, t_ref = ref.r, ref.t
    loss_mp = b.loss_mp(w, ws, k, dps=dps)
    loss_ref = b.loss_mp(w, ws, k, dps=REF_DPS)
    assert abs(float(loss_mp - loss_ref)) <= tol_mp
    assert abs(float(b.loss(w64, ws64, k)) - float(loss_mp)) <= 32 * EPS + tol_mp
    for ste in b.STES:
        with mpmath.mp.workdps(REF_DPS):
            scale = float(abs(kern[f"alpha:{ste}"].mp(k, r_ref, t_ref))
                          + abs(kern[f"beta:{ste}"].mp(k, r_ref, t_ref)))
        g_mp = b.coarse_grad_mp(w, ws, k, ste, dps=dps)
        g_ref = b.coarse_grad_mp(w, ws, k, ste, dps=REF_DPS)
        err_ref = max(abs(float(x - y)) for x, y in zip(g_mp, g_ref, strict=True))
        assert err_ref <= tol_mp * scale, (ste, err_ref / scale)
        g64 = b.coarse_grad(w64, ws64, k, ste)
        err64 = max(abs(float(x) - float(y)) for x, y in zip(g64, g_mp, strict=True))
        assert err64 <= (32 * EPS + tol_mp) * scale, (ste, err64 / (EPS * scale))
        # <E g, grad l> >= 0 tends to 0 at t in {0, pi}: |grad l| = |G| = 1/(pi k |w|), and the
        # component of E g along the normal is ~ sin t <= ~1e-15 here, so corr <= 1e-10 |E g||G|
        corr = b.correlation_mp(w, ws, k, ste, dps=dps)
        with mpmath.mp.workdps(REF_DPS):
            big_g = float(abs(kern["G"].mp(k, r_ref, t_ref)))
        assert 0 <= corr <= 1e-10 * scale * big_g


@pytest.mark.parametrize("case", FOUND, ids=[f"{c[4]}-c={c[1]}-k={c[2]}-dps={c[3]}"
                                              for c in FOUND])
def test_found_parallel_inputs_do_not_divide_by_zero(case: tuple) -> None:
    _check(*case)


@st.composite
def parallel_cases(draw: st.DrawFn) -> tuple:
    d = draw(st.integers(1, 5))
    entry = st.one_of(st.just(0.0), st.floats(-2, 2, allow_subnormal=False),
                      st.integers(-20, 20).map(lambda i: i / 10))
    ws = draw(st.lists(entry, min_size=d, max_size=d))
    if not any(ws):
        ws[draw(st.integers(0, d - 1))] = draw(st.sampled_from([0.7, -1.3]))
    c = draw(st.one_of(st.sampled_from([7.1, 1 / 3, -0.3, 3.0, -1.0, 0.1]),
                       st.floats(-8, 8).filter(lambda x: abs(x) >= 1e-3)))
    return (ws, c, draw(st.sampled_from([1, 2, 3, 8])), draw(st.sampled_from([15, 16, 20, 30])),
            draw(st.sampled_from(["float", "mp"])))


@settings(max_examples=examples(300))
@given(parallel_cases())
@example(FOUND[0])
@example(FOUND[1])
def test_parallel_and_antiparallel_students(case: tuple) -> None:
    """Random ``w = c w*`` (zero coordinates, a single nonzero coordinate, k = 1 included)."""
    _check(*case)


def test_the_normal_is_undefined_when_the_unit_vectors_coincide() -> None:
    """Where the in-plane residual vanishes at the working precision the normal is not
    determined: the true gradient (which needs it) says so, the loss does not need it."""
    ws, c, k, dps, how = FOUND[0]
    w = _student(ws, c, how, dps)
    with mpmath.mp.workdps(dps):
        assert b._plane_mp(w, ws).n is None
        assert b._collinear_mp(w, ws) == 0  # not an exact multiple: the old path was taken
    with pytest.raises(ValueError, match="parallel"):
        b.grad_mp(w, ws, k, dps=dps)
    assert math.isfinite(float(b.loss_mp(w, ws, k, dps=dps)))
