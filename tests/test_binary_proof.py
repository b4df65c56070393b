"""Binary activation: the proof that <E coarse grad, true grad> >= 0 for every angle.

:func:`theory.binary.prove_nonnegative` combines SymPy sign facts (assumptions on the
symbols, even powers, constants) with branch-and-bound interval arithmetic over a cover
of t in [0, pi] (and of |w| in (0, oo) for the clipped relu).  The same prover must
*fail* on deliberately wrong expressions: sign flips, a factor that changes sign inside
(0, pi), a tiny negative offset (negative only in the cells next to t = 0 and pi), an
odd power of the real v.v*, and a clipped-relu form with the erf shifted.
"""

from __future__ import annotations

import pytest
import sympy as sp

from theory import binary as b

t, r, k, v_dot = b.t, b.r, b.k, b.v_dot


@pytest.mark.parametrize("general", [False, True])
@pytest.mark.parametrize("ste", b.STES)
def test_correlation_is_nonnegative_for_every_estimator(ste: str, general: bool) -> None:
    cert = b.correlation_certificate(ste, general=general)
    assert cert.ok, cert.failure
    # the only t-dependent factor without a symbolic sign besides the clipped erf is sin t,
    # whose zero set on [0, pi] is {0, pi}
    zeros = dict(cert.zeros)
    assert zeros[sp.sin(t)] == sp.FiniteSet(0, sp.pi)
    # strictly positive on every box of the cover away from t in {0, pi} (and, for the
    # clipped relu, away from |w| = oo, where erf(1/(sqrt2 r sin t)) -> 0)
    ends = [(a, c) for a, c in cert.touching_zero]
    assert ends[0][0] == 0.0 and ends[-1][1] == pytest.approx(3.141592653589793)
    assert all(c < 0.1 or a > 3.04 for a, c in ends)
    assert cert.strict_boxes >= 30
    if general:  # v_dot**2 is decided symbolically (>= 0, zero iff v.v* = 0)
        assert any(f == v_dot**2 and s == ">= 0" for f, s in cert.symbolic)


def test_clipped_erf_factor_has_no_zero_inside() -> None:
    """erf(1/(sqrt2 r sin t)) > 0 for 0 < t < pi, r > 0: SymPy decides it once sin t is
    replaced by a positive symbol, which is valid since sin t > 0 on (0, pi)."""
    pos = sp.Symbol("pos", positive=True)
    (f,) = [f for f in b.correlation_certificate("clipped-relu").interval if f.has(sp.erf)]
    assert f.subs(sp.sin(t), pos).is_positive
    assert sp.solveset(sp.sin(t) <= 0, t, sp.Interval.open(0, sp.pi)) == sp.S.EmptySet


@pytest.mark.parametrize("ste", b.STES)
def test_prover_rejects_the_sign_flipped_correlation(ste: str) -> None:
    for general in (False, True):
        expr = b.correlation_v_expr(ste) if general else b.correlation_expr(ste)
        cert = b.prove_nonnegative(-expr)
        assert not cert.ok
        assert "non-positive" in cert.failure


@pytest.mark.parametrize("wrong", [
    b.correlation_expr("relu") * sp.cos(t),                      # changes sign at pi/2
    b.correlation_expr("identity") - sp.Rational(1, 10**20),     # < 0 next to 0 and pi
    sp.sin(t) - sp.Rational(1, 10**30),
    b.correlation_v_expr("relu") / v_dot,                        # odd in the real v.v*
    b.correlation_expr("clipped-relu").replace(sp.erf, lambda z: sp.erf(z) - sp.Rational(1, 2)),
    sp.sin(t) * (t - 1) ** 2 - sp.Rational(1, 1000) * sp.sin(t) ** 2,   # dips below 0 at t ~ 1
    sp.sin(t) * sp.sin(3 * t),
])
def test_prover_rejects_wrong_expressions(wrong: sp.Expr) -> None:
    cert = b.prove_nonnegative(wrong)
    assert not cert.ok
    assert cert.failure


@pytest.mark.parametrize("right", [
    sp.sin(t) * (2 + sp.cos(t)),
    2 + sp.sin(t) * sp.cos(t),
    (t - 1) ** 2 * sp.sin(t) / r,
    sp.erf(sp.sqrt(2) / (2 * r * sp.sin(t))) * sp.sin(t) * v_dot**2 / k,
])
def test_prover_accepts_true_statements(right: sp.Expr) -> None:
    cert = b.prove_nonnegative(right)
    assert cert.ok, cert.failure


def test_prover_reports_unknown_symbols() -> None:
    z = sp.Symbol("z", real=True)
    cert = b.prove_nonnegative(sp.sin(t) * z)
    assert not cert.ok and "no domain" in cert.failure
    assert b.prove_nonnegative(sp.sin(t) * z, domains={z: (1, 2)}).ok
