"""Binary activation: symbolic identities of the derived closed forms.

Each test compares a derivation of :mod:`theory.binary` with an independent statement
(theory.md section 3, Yin et al. ICLR 2019 rewritten in our convention, a Cartesian
differentiation, a limit, or 30-digit quadrature of the defining integral).
"""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from theory import binary as b
from theory import gaussian

k, r, t = b.k, b.r, b.t
v_sq, v_dot, vs_sq, v_sum, vs_sum = b.v_sq, b.v_dot, b.vs_sq, b.v_sum, b.vs_sum
C = 1 / (k * sp.sqrt(2 * sp.pi))  # theory.md's c (no-1/2 convention)


def _eq(a: sp.Expr, b_: sp.Expr) -> bool:
    return sp.simplify(sp.expand(sp.sympify(a - b_).rewrite(sp.erf))) == 0


# ------------------------------------------------------------------------- loss

def test_loss_is_t_over_pi_k() -> None:
    """theory.md / P2: l = t/(pi k) (t/(2 pi k) with the 1/2)."""
    assert _eq(b.loss_expr(), t / (sp.pi * k))
    assert _eq(b.loss_at_zero_expr(), (k + 1) / (4 * k))
    assert b.step_mean() == sp.Rational(1, 2)


def test_general_loss_reduces_to_the_fixed_layer() -> None:
    assert _eq(b.loss_v_expr().subs(b.FIXED_LAYER), b.loss_expr())
    assert _eq(b.loss_v_at_zero_expr().subs(b.FIXED_LAYER), b.loss_at_zero_expr())


def test_general_loss_is_yin_et_al_form() -> None:
    """P4 (1/2 convention): (1/8)[v'(I+11')v - 2v'((1 - 2t/pi)I + 11')v* + v*'(I+11')v*]."""
    yin_half = sp.Rational(1, 8) * (v_sq + v_sum**2
                                    - 2 * ((1 - 2 * t / sp.pi) * v_dot + v_sum * vs_sum)
                                    + vs_sq + vs_sum**2)
    assert _eq(b.loss_v_expr(), 2 * yin_half)


# --------------------------------------------------------------------- gradients

def test_angle_gradient_matches_cartesian() -> None:
    """grad_w t = -n/r, checked on w = (x, y), w* = e1, t = atan2(y, x), y > 0."""
    x, y = sp.symbols("x y", positive=True)
    tt = sp.atan2(y, x)
    rr = sp.sqrt(x**2 + y**2)
    grad_t = (sp.diff(tt, x), sp.diff(tt, y))
    # n: unit, in the plane, orthogonal to w, towards w* = e1: n = (y, -x)/r
    n = (y / rr, -x / rr)
    assert all(_eq(g, -ni / rr) for g, ni in zip(grad_t, n, strict=True))
    # hence grad l = l_t grad t = G n with G = -l_t/r
    assert _eq(b.grad_w_coeff_expr(), -sp.diff(b.loss_expr(), t) / r)
    assert _eq(b.grad_w_coeff_expr(), -1 / (sp.pi * k * r))
    assert _eq(b.grad_w_coeff_v_expr(), -v_dot / (sp.pi * r))


def test_v_gradient_equals_expected_sample_gradient() -> None:
    """E[2(f - f*) sigma(w.Z_i)] (counting patch pairs) == d l/d v (chain rule)."""
    for a_, c_ in zip(b.grad_v_coeffs_expr(), b.coarse_grad_v_coeffs_expr(), strict=True):
        assert _eq(a_, c_)
    cv, c1, cs = b.grad_v_coeffs_expr()
    assert cv == sp.Rational(1, 2)
    assert _eq(c1, (v_sum - vs_sum) / 2)
    assert _eq(cs, -(1 - 2 * t / sp.pi) / 2)


# -------------------------------------------------------------- coarse gradients

def test_fixed_layer_relu_and_identity_match_theory_md() -> None:
    """theory.md: E g = c(w^ - w*^) (relu), 2c(w^ - w*^) (identity)."""
    assert all(_eq(a_, b_) for a_, b_ in zip(b.coarse_coeffs_expr("relu"), (C, -C), strict=True))
    assert all(_eq(a_, b_) for a_, b_ in zip(b.coarse_coeffs_expr("identity"), (2 * C, -2 * C),
                                             strict=True))


def test_fixed_layer_clipped_relu_closed_form() -> None:
    alpha, beta = b.coarse_coeffs_expr("clipped-relu")
    y = 1 / (2 * r**2)
    assert _eq(alpha, C * (1 - sp.exp(-y) * sp.erfc(sp.cos(t) / (sp.sqrt(2) * r * sp.sin(t)))))
    assert _eq(beta, -C * sp.erf(1 / (sp.sqrt(2) * r * sp.sin(t))))


@pytest.mark.parametrize("tv", [sp.pi / 3, sp.pi / 2, 2 * sp.pi / 3])
def test_clipped_relu_limits_in_r(tv: sp.Expr) -> None:
    """r -> 0: the window (0, 1/r) covers (0, inf): relu STE; r -> oo: empty window: 0."""
    clip = [e.subs(t, tv) for e in b.coarse_coeffs_v_expr("clipped-relu")]
    relu = [e.subs(t, tv) for e in b.coarse_coeffs_v_expr("relu")]
    for c_, r_ in zip(clip, relu, strict=True):
        assert _eq(sp.limit(c_, r, 0, "+"), r_)
        assert sp.limit(c_, r, sp.oo) == 0


def test_general_relu_matches_yin_et_al() -> None:
    """P4 (1/2 convention): E g_w = h/(2 sqrt(2pi)) w^ - v.v*/(2 sqrt(2pi)) (w^ + w*^),
    h = |v|^2 + (1'v)^2 - (1'v)(1'v*) + v.v*."""
    h = v_sq + v_sum**2 - v_sum * vs_sum + v_dot
    s2p = sp.sqrt(2 * sp.pi)
    alpha, beta = b.coarse_coeffs_v_expr("relu")
    assert _eq(alpha, 2 * (h / (2 * s2p) - v_dot / (2 * s2p)))
    assert _eq(beta, 2 * (-v_dot / (2 * s2p)))


@pytest.mark.parametrize("ste", b.STES)
def test_moments_limits_at_t_0_and_pi(ste: str) -> None:
    """At t = 0, w*^ = w^ so Q = (qa + qb) w^ = E[1{x1 > 0} mu' x1] w^ = p w^; at t = pi,
    w*^ = -w^ and Q = (qa - qb) w^ = E[1{x1 < 0} mu' x1] w^ = (m - p) w^."""
    mo = b.ste_moments(ste)
    rv = sp.Rational(3, 4)
    at = {r: rv}
    assert _eq(sp.limit((mo.qa + mo.qb).subs(at), t, 0, "+"), mo.p.subs(at))
    # t -> pi- as u = pi - t -> 0+: SymPy 1.14's limit(..., t, pi, "-") returns a wrong
    # value for the clipped-relu combination (it is right for each erf term alone).
    u = sp.Symbol("u", positive=True)
    assert _eq(sp.limit((mo.qa - mo.qb).subs(at).subs(t, sp.pi - u), u, 0, "+"),
               (mo.m - mo.p).subs(at))


@pytest.mark.parametrize(("tv", "rv"), [("0.3", "0.7"), ("1.5", "2"), ("2.9", "0.25"),
                                        ("1.0", "12")])
def test_clipped_moments_against_quadrature(tv: str, rv: str) -> None:
    """qa, qb of the clipped relu against 30-digit quadrature of the defining integrals
    E[1{0 < x1 < 1/r} 1{w*^.x > 0} x] (inner Gaussian integral in closed form: Phi, phi)."""
    mo = b.ste_moments("clipped-relu")
    with mpmath.mp.workdps(30):
        tt, rr = mpmath.mpf(tv), mpmath.mpf(rv)
        cot = mpmath.cos(tt) / mpmath.sin(tt)
        q1 = mpmath.quad(lambda x: x * mpmath.npdf(x) * mpmath.ncdf(cot * x), [0, 1 / rr])
        q2 = mpmath.quad(lambda x: mpmath.npdf(x) * mpmath.npdf(cot * x), [0, 1 / rr])
        qa_ref, qb_ref = q1 - q2 * cot, q2 / mpmath.sin(tt)
        sub = {t: sp.Float(tv, 40), r: sp.Float(rv, 40)}
        qa, qb = (mpmath.mpf(str(sp.N(e.subs(sub), 35))) for e in (mo.qa, mo.qb))
        assert abs(qa - qa_ref) < mpmath.mpf(10) ** -25
        assert abs(qb - qb_ref) < mpmath.mpf(10) ** -25


def test_at_zero_uses_the_estimator_derivative_at_zero() -> None:
    """w = 0: mu'(0) = 0 for relu and clipped relu (strict inequalities), 1 for identity."""
    assert b.coarse_at_zero_v_expr("relu") == 0
    assert b.coarse_at_zero_v_expr("clipped-relu") == 0
    assert _eq(b.coarse_at_zero_v_expr("identity"), -2 * v_dot / sp.sqrt(2 * sp.pi))


# ------------------------------------------------------------------ correlations

def test_correlation_closed_forms() -> None:
    base = sp.sin(t) / (sp.sqrt(2) * sp.pi ** sp.Rational(3, 2) * k**2 * r)
    assert _eq(b.correlation_expr("relu"), base)
    assert _eq(b.correlation_expr("identity"), 2 * base)
    assert _eq(b.correlation_expr("clipped-relu"),
               base * sp.erf(1 / (sp.sqrt(2) * r * sp.sin(t))))
    for ste in b.STES:
        mo = b.ste_moments(ste)
        assert _eq(b.correlation_v_expr(ste), 2 * v_dot**2 * mo.qb * sp.sin(t) / (sp.pi * r))
        assert _eq(b.correlation_v_expr(ste).subs(b.FIXED_LAYER), b.correlation_expr(ste))


def test_numeric_forms_are_the_derived_expressions() -> None:
    """What is compiled (erf_ratio, exp_m1, hoisted constants) equals the derivation."""
    exprs = [b.loss_expr(), b.grad_w_coeff_expr()]
    for ste in b.STES:
        exprs += [*b.coarse_coeffs_expr(ste), *b.coarse_coeffs_v_expr(ste), b.correlation_expr(ste)]
    for e in exprs:
        num = b._numeric_form(e).replace(b.erf_ratio, lambda x, y: sp.erf(x / y)).replace(
            b.exp_m1, lambda z: sp.exp(z) - 1).subs(sp.Abs(sp.sin(t)), sp.sin(t))
        assert _eq(num, e)


def test_orthant_probability_used_is_the_gaussian_one() -> None:
    assert _eq(gaussian.orthant_probability(), (sp.pi - t) / (2 * sp.pi))


def test_ste_names() -> None:
    assert b.STES == ("relu", "identity", "clipped-relu")
    with pytest.raises(ValueError, match="relu, identity, clipped-relu"):
        b.check_ste("sign")
    x = sp.Symbol("x", real=True)
    assert [b.ste_derivative(s).subs(x, 0) for s in b.STES] == [0, 1, 0]
    assert [b.ste_derivative(s).subs(x, sp.Rational(1, 2)) for s in b.STES] == [1, 1, 1]
    assert [b.ste_derivative(s).subs(x, 2) for s in b.STES] == [1, 1, 0]
