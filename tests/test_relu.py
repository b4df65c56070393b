"""The ReLU closed form through every rung of the ladder (proofs_notes/relu_closed_form.md).

Rungs: symbolic identities -> 50-digit mpmath vs float64/float32 -> Monte Carlo (1e6
samples, 4 standard errors) -> finite differences and autograd -> critical points,
Hessian, constants -> the random-start probability against sampling.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.strategies import ks, teacher_student_pairs
from theory import gaussian, relu
from theory.backends import t_minus_sin
from theory.geometry import angle, norm

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
k, r, s, t = relu.k, relu.r, relu.s, relu.t


# ------------------------------------------------------------------ symbolic rung

def test_gaussian_identities_at_special_angles() -> None:
    kap1, kap0 = gaussian.relu_kernel(), gaussian.orthant_probability()
    assert sp.simplify(kap1 - (sp.sin(t) + (sp.pi - t) * sp.cos(t)) / (2 * sp.pi)) == 0
    assert kap1.subs(t, 0) == sp.Rational(1, 2) == gaussian.relu_second_moment()
    assert sp.simplify(kap1.subs(t, sp.pi / 2) - 1 / (2 * sp.pi)) == 0
    assert kap1.subs(t, sp.pi) == 0
    assert sp.simplify(kap0 - (sp.pi - t) / (2 * sp.pi)) == 0
    assert sp.simplify(gaussian.relu_mean() - 1 / sp.sqrt(2 * sp.pi)) == 0


def test_constants_a_b() -> None:
    a_, b_ = relu.a_coeff(), relu.b_coeff()
    assert sp.simplify(a_ - (k**2 + (sp.pi - 1) * k) / (2 * sp.pi)) == 0
    assert sp.simplify(b_ - (k**2 - k) / (2 * sp.pi)) == 0
    assert sp.simplify(2 * a_ - 2 * b_ - k) == 0


def test_stable_loss_is_the_derived_loss() -> None:
    stable = relu.loss_stable_expr().rewrite(sp.sin)
    assert sp.simplify(stable - relu.loss_expr()) == 0
    assert relu.loss_expr().subs({t: 0, r: s}) == 0


def _cartesian():
    """Loss as a function of Cartesian w = (x, y, z) with w* = (s, 0, 0), from first principles."""
    x, y, z = sp.symbols("x y z", real=True)
    rr = sp.sqrt(x**2 + y**2 + z**2)
    ell = relu.loss_expr().subs({r: rr, t: sp.acos(x / rr)}, simultaneous=True)
    polar = {x: r * sp.cos(t), y: r * sp.sin(t), z: 0}

    def on_0_pi(e: sp.Expr) -> sp.Expr:  # t in [0, pi]: acos(cos t) = t, |sin t| = sin t
        e = e.replace(sp.acos(sp.cos(t)), t).replace(sp.Abs(sp.sin(t)), sp.sin(t))
        return e.subs(sp.sqrt(1 - sp.cos(t) ** 2), sp.sin(t))

    def back(e: sp.Expr) -> sp.Expr:
        return sp.simplify(on_0_pi(sp.simplify(on_0_pi(e.subs(polar)))))

    return (x, y, z), ell, back


def test_gradient_matches_cartesian() -> None:
    (x, y, z), ell, back = _cartesian()
    a_, b_ = relu.grad_coeffs_expr()
    gx, gy, gz = (back(sp.diff(ell, v)) for v in (x, y, z))
    assert sp.simplify(gx - (a_ * r * sp.cos(t) - b_ * s)) == 0
    assert sp.simplify(gy - a_ * r * sp.sin(t)) == 0
    assert gz == 0
    assert sp.simplify(a_ - (2 * relu.a_coeff() - (2 * relu.b_coeff() + k * sp.sin(t) / sp.pi)
                             * s / r) / k**2) == 0
    assert sp.simplify(b_ - (sp.pi - t) / (sp.pi * k)) == 0


@pytest.mark.slow
def test_hessian_matches_cartesian() -> None:
    (x, y, z), ell, back = _cartesian()
    lam_w, lam_n, lam_o = relu.hessian_eigenvalues_expr()
    h = sp.Matrix(2, 2, lambda i, j: back(sp.diff(ell, (x, y)[i], (x, y)[j])))
    w_dir = sp.Matrix([sp.cos(t), sp.sin(t)])
    n_dir = sp.Matrix([-sp.sin(t), sp.cos(t)])
    assert sp.simplify(h * w_dir - lam_w * w_dir) == sp.zeros(2, 1)
    assert sp.simplify(h * n_dir - lam_n * n_dir) == sp.zeros(2, 1)
    assert sp.simplify(back(sp.diff(ell, z, 2)) - lam_o) == 0


def test_hessian_eigenvalues_at_critical_points() -> None:
    lam = relu.hessian_eigenvalues_expr()
    a_, b_ = relu.a_coeff(), relu.b_coeff()
    at_min = [sp.simplify(e.subs({t: 0, r: s})) for e in lam]
    assert sp.simplify(at_min[0] - 2 * a_ / k**2) == 0
    assert sp.simplify(at_min[1] - 1 / k) == 0 and sp.simplify(at_min[2] - 1 / k) == 0
    at_saddle = [sp.simplify(e.subs({t: sp.pi, r: b_ / a_ * s})) for e in lam]
    assert sp.simplify(at_saddle[0] - 2 * a_ / k**2) == 0
    assert at_saddle[1] == 0 and at_saddle[2] == 0


def test_critical_points_are_zeros_of_the_gradient() -> None:
    a_, b_ = relu.grad_coeffs_expr()
    cps = relu.critical_points()
    scales = [cp.scale for cp in cps]
    assert sp.simplify(scales[0] - 1) == 0
    assert sp.simplify(scales[1] + relu.b_coeff() / relu.a_coeff()) == 0
    # w = c w*: angle 0 for c > 0, pi for c < 0; the gradient is (A c - B) w*.
    for c in scales[:2]:
        angle_ = 0 if c == 1 else sp.pi
        residual = (a_ * c - b_).subs({t: angle_, r: sp.Abs(c) * s})
        assert sp.simplify(residual.subs(k, 3)) == 0 and sp.simplify(residual) == 0
    # No other solutions: B vanishes only at t = pi.
    assert sp.solve(b_, t) == [sp.pi]


def test_saddle_decreases_at_third_order_along_the_angle() -> None:
    """At w = -(b/a) w* the Hessian is PSD but the loss drops along the angle: a saddle."""
    rr = relu.b_coeff() / relu.a_coeff() * s
    u = sp.Symbol("u", positive=True)
    ell_angle = sp.series(relu.loss_expr().subs({r: rr, t: sp.pi - u}), u, 0, 4).removeO()
    ell_0 = relu.loss_expr().subs({r: rr, t: sp.pi})
    drop = sp.simplify(ell_angle - ell_0)
    assert sp.simplify(drop + rr * s * u**3 / (3 * sp.pi * k)) == 0  # -(rs/(3 pi k)) u^3 < 0


def test_lipschitz_and_step_bound_closed_forms() -> None:
    lip = relu.lipschitz_expr()
    a_ = relu.a_coeff()
    expected = sp.Max(2 * a_ / k**2, ((k**2 + k) * s / (sp.pi * relu.m) - 2 * a_) / k**2)
    for subs in ({k: 3, s: 2, relu.m: sp.Rational(1, 10)}, {k: 1, s: 1, relu.m: 5}):
        assert sp.simplify(lip.subs(subs) - expected.subs(subs)) == 0
    assert sp.simplify(relu.angle_monotone_step_bound() - sp.pi * k / (k + sp.pi - 1)) == 0


@pytest.mark.parametrize("d", [2, 3, 4, 5, 8, 11])
def test_random_start_probability_is_the_sphere_integral(d: int) -> None:
    x = sp.Symbol("x", positive=True)
    for delta in (sp.Rational(1, 10), sp.Rational(3, 4), sp.Rational(2, 1)):
        num = sp.integrate(sp.sin(x) ** (d - 2), (x, sp.pi - delta, sp.pi))
        den = sp.integrate(sp.sin(x) ** (d - 2), (x, 0, sp.pi))
        exact = sp.N(num / den, 40)
        got = relu.random_start_probability(str(sp.N(delta, 50)), d, dps=40)
        with mpmath.mp.workdps(40):
            assert abs(got - mpmath.mpf(str(exact))) < mpmath.mpf(10) ** -35
            if delta <= sp.pi / 2:
                assert got <= mpmath.mpf(str(sp.N(delta / sp.pi, 40))) * (1 + mpmath.mpf(10) ** -30)


# ------------------------------------------------------------------ precision rung

def _loss_reference(w: np.ndarray, w_star: np.ndarray, kk: int) -> mpmath.mpf:
    with mpmath.mp.workdps(50):
        return relu.loss_mp([mpmath.mpf(float(v)) for v in w],
                            [mpmath.mpf(float(v)) for v in w_star], kk)


def _loss_tolerance(w: np.ndarray, w_star: np.ndarray, kk: int, eps: float, value: float) -> float:
    """Backward-error bound: the float evaluation is the exact loss at inputs perturbed by
    O(eps) relative, so |error| <= C eps (l + |w||grad_w l| + |w*||grad_w* l|) with C = 64
    (about 30 rounded operations, 2x margin).  The loss is symmetric in (w, w*), so
    grad_w* l(w, w*) = grad l(w*; teacher w)."""
    g1 = np.linalg.norm(relu.grad(w, w_star, kk)) if np.any(w) else 0.0
    g2 = np.linalg.norm(relu.grad(w_star, w, kk)) if np.any(w) else np.linalg.norm(w_star)
    return 64 * eps * (abs(value) + norm(w) * g1 + norm(w_star) * g2)


@given(teacher_student_pairs(), ks)
@settings(max_examples=examples(500))
@example((np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, 1.0])), 3)
@example((np.zeros(3), np.array([0.5, 0.0, 1.0])), 2).via("w = 0")
def test_loss_float64_against_50_digits(pair, kk) -> None:
    w, w_star = pair
    ref = _loss_reference(w, w_star, kk)
    got = relu.loss(w, w_star, kk)
    assert np.isfinite(got) or not mpmath.isfinite(ref)
    assert abs(got - float(ref)) <= _loss_tolerance(w, w_star, kk, EPS64, float(ref))


@given(teacher_student_pairs(single=True), ks)
@settings(max_examples=examples(300))
def test_loss_float32_against_50_digits(pair, kk) -> None:
    w, w_star = (v.astype(np.float32) for v in pair)
    got = relu.loss(w, w_star, kk)
    assert got.dtype == np.float32
    w64, s64 = w.astype(np.float64), w_star.astype(np.float64)
    ref = _loss_reference(w64, s64, kk)
    assert abs(float(got) - float(ref)) <= _loss_tolerance(w64, s64, kk, EPS32, float(ref))


def _grad_tolerance(w: np.ndarray, w_star: np.ndarray, kk: int, eps: float) -> float:
    """About 20 rounded operations per entry, each O(eps) relative to the terms' size
    (relu.grad_term_scale), and an absolute O(eps) error of the angle: 32 eps M."""
    return 32 * eps * relu.grad_term_scale(w, w_star, kk)


@given(teacher_student_pairs(), ks)
@settings(max_examples=examples(500))
def test_grad_float64_against_50_digits(pair, kk) -> None:
    w, w_star = pair
    if not np.any(w):
        return
    with mpmath.mp.workdps(50):
        ref = relu.grad_mp([mpmath.mpf(float(v)) for v in w],
                           [mpmath.mpf(float(v)) for v in w_star], kk)
        ref = np.array([float(v) for v in ref])
    got = relu.grad(w, w_star, kk)
    assert np.max(np.abs(got - ref)) <= _grad_tolerance(w, w_star, kk, EPS64)


@given(teacher_student_pairs(single=True), ks)
@settings(max_examples=examples(300))
def test_grad_float32_against_50_digits(pair, kk) -> None:
    w, w_star = (v.astype(np.float32) for v in pair)
    if not np.any(w):
        return
    got = relu.grad(w, w_star, kk)
    assert got.dtype == np.float32
    w64, s64 = w.astype(np.float64), w_star.astype(np.float64)
    with mpmath.mp.workdps(50):
        ref = np.array([float(v) for v in relu.grad_mp(list(w64), list(s64), kk)])
    assert np.max(np.abs(got - ref)) <= _grad_tolerance(w64, s64, kk, EPS32)


def test_mpmath_results_are_stable_when_precision_doubles() -> None:
    w, w_star = ["1", "-2.5", "3e-7"], ["0.5", "1e-3", "-1"]
    with mpmath.mp.workdps(100):
        hi = relu.loss_mp(w, w_star, 4)
    lo = relu.loss_mp(w, w_star, 4, dps=50)
    assert abs(lo - hi) <= abs(hi) * mpmath.mpf(10) ** -48


# ------------------------------------------------------------------ Monte Carlo rung

def _mc_loss_and_grad(w: np.ndarray, w_star: np.ndarray, kk: int, n: int, seed: int):
    """Per-sample (f(w) - f(w*))^2 and its gradient 2 (f(w) - f(w*)) (1/k) sum 1{w.Z_i>0} Z_i."""
    rng = np.random.default_rng(seed)
    d = w.size
    losses, grads = [], []
    for start in range(0, n, 100_000):
        z = rng.standard_normal((min(100_000, n - start), kk, d))
        pw, ps = z @ w, z @ w_star
        diff = (np.maximum(pw, 0).sum(1) - np.maximum(ps, 0).sum(1)) / kk
        losses.append(diff**2)
        grads.append(2 * diff[:, None] * np.einsum("nk,nkd->nd", (pw > 0) / kk, z))
    return np.concatenate(losses), np.concatenate(grads)


@pytest.mark.parametrize(
    ("w", "w_star", "kk"),
    [([1.0, 2.0, 3.0], [0.5, 0.0, 1.0], 3), ([-1.0, 0.2, 0.1, 0.4], [1.0, 0.0, 0.0, 0.5], 2)],
)
def test_loss_and_grad_against_monte_carlo(w, w_star, kk) -> None:
    """1e6 samples, fixed seed; every quantity within 4 standard errors of the closed form."""
    w, w_star = np.array(w), np.array(w_star)
    n = 1_000_000
    per_loss, per_grad = _mc_loss_and_grad(w, w_star, kk, n, seed=20261121)
    se = per_loss.std(ddof=1) / np.sqrt(n)
    assert abs(per_loss.mean() - relu.loss(w, w_star, kk)) <= 4 * se
    se_g = per_grad.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(per_grad.mean(axis=0) - relu.grad(w, w_star, kk)) <= 4 * se_g)


# ------------------------------------------------------------------ derivative rung

@given(teacher_student_pairs(scaled=False), ks)
@settings(max_examples=examples(200))
def test_grad_against_central_differences(pair, kk) -> None:
    w, w_star = pair
    # Differences of O(|w*|^2) loss values over a step h = 1e-5 |w| cancel eps |w*|^2 / h:
    # keep |w| within a factor 100 of |w*| so that stays 50x below the tolerance.
    assume(np.any(w) and 1e-2 <= norm(w) / norm(w_star) <= 1e2)
    assume(1e-100 < norm(w_star) < 1e100)  # the loss ~ |w|^2 must not underflow
    h = 1e-5 * norm(w)
    eye = np.eye(w.size)
    fd = np.array([(relu.loss(w + h * e, w_star, kk) - relu.loss(w - h * e, w_star, kk)) / (2 * h)
                   for e in eye])
    # Truncation h^2 |l'''|/6 with |l'''| <= C (|w| + |w*|)/|w|^2 and cancellation
    # eps l / h: both below 1e-7 times the gradient's scale for h = 1e-5 |w|.
    scale = (norm(w) + norm(w_star)) * (kk + np.pi) / (np.pi * kk)
    assert np.max(np.abs(fd - relu.grad(w, w_star, kk))) <= 1e-7 * scale


def test_grad_against_torch_autograd() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for kk in (1, 2, 5):
        w0 = rng.standard_normal((16, 6))
        ws = rng.standard_normal((16, 6))
        w = torch.tensor(w0, requires_grad=True)
        relu.loss(w, torch.tensor(ws), kk).sum().backward()
        closed = relu.grad(w0, ws, kk)
        # Both float64 evaluations of the same smooth function: agreement to 1e-12 of scale.
        scale = np.linalg.norm(w0, axis=1) + np.linalg.norm(ws, axis=1)
        assert np.all(np.abs(w.grad.numpy() - closed) <= 1e-12 * scale[:, None])


def test_torch_keeps_dtype_and_matches_numpy() -> None:
    torch = pytest.importorskip("torch")
    w, ws = np.array([[0.3, -1.0, 2.0]]), np.array([[1.0, 1.0, 0.0]])
    for dt, eps in ((torch.float32, EPS32), (torch.float64, EPS64)):
        out = relu.loss(torch.tensor(w, dtype=dt), torch.tensor(ws, dtype=dt), 3)
        assert out.dtype == dt
        assert abs(float(out[0]) - float(relu.loss(w, ws, 3)[0])) <= 64 * eps * 3


@given(teacher_student_pairs(scaled=False), ks)
@settings(max_examples=examples(100))
def test_hessian_against_finite_differences_of_the_gradient(pair, kk) -> None:
    w, w_star = pair
    assume(np.any(w) and 1e-2 <= norm(w) / norm(w_star) <= 1e2)  # as for the gradient
    assume(1e-100 < norm(w_star) < 1e100)
    h = 1e-6 * norm(w)
    fd = np.stack([(relu.grad(w + h * e, w_star, kk) - relu.grad(w - h * e, w_star, kk)) / (2 * h)
                   for e in np.eye(w.size)])
    hess = relu.hessian(w, w_star, kk)
    assert np.allclose(hess, hess.T, rtol=0, atol=1e-14 * np.abs(hess).max())
    # Truncation O(h^2 |l''''|) and cancellation eps |grad| / h: 1e-6 of the Hessian's scale.
    scale = (1 + norm(w_star) / norm(w)) * (kk + 1) / kk
    assert np.max(np.abs(fd - hess)) <= 1e-6 * scale


def test_hessian_eigen_decomposition_reconstructs() -> None:
    rng = np.random.default_rng(3)
    w, ws = rng.standard_normal(5), rng.standard_normal(5)
    e = relu.hessian_eigen(w, ws, 3)
    hess = relu.hessian(w, ws, 3)
    vals = np.sort(np.linalg.eigvalsh(hess))
    expected = np.sort([e.along_w, e.along_normal] + [e.orthogonal] * 3)
    assert np.allclose(vals, expected, rtol=1e-12, atol=1e-14)
    assert np.allclose(hess @ e.normal_dir, e.along_normal * e.normal_dir, atol=1e-13)


# ------------------------------------------------------------------ special points

def test_special_points() -> None:
    ws = np.array([0.5, 0.0, 1.0])
    kk = 3
    a_ = (kk**2 + (np.pi - 1) * kk) / (2 * np.pi)
    b_ = (kk**2 - kk) / (2 * np.pi)
    assert relu.loss(ws, ws, kk) == 0.0
    assert np.max(np.abs(relu.grad(ws, ws, kk))) <= _grad_tolerance(ws, ws, kk, EPS64)
    assert abs(relu.loss(np.zeros(3), ws, kk) - a_ * (ws @ ws) / kk**2) <= 4 * EPS64
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.all(np.isnan(relu.grad(np.zeros(3), ws, kk)))
    saddle = -(b_ / a_) * ws
    assert np.max(np.abs(relu.grad(saddle, ws, kk))) <= _grad_tolerance(saddle, ws, kk, EPS64)
    opposite = relu.loss(-ws, ws, kk)
    assert np.isfinite(opposite) and opposite > 0
    with pytest.raises(ValueError, match="not differentiable"):
        relu.grad_mp([0, 0, 0], ws, kk)


def test_stable_form_beats_the_naive_form_near_the_minimum() -> None:
    """At l ~ 1e-18 the naive form (terms of size 1 cancelling) has no correct digit; the
    stable form's relative error is that of r - s and of t themselves, about
    eps (|w| / |r - s| + 1/t) ~ 1e-6 here, so 1e-5 is the bound asserted."""
    ws = np.array([1.0, 2.0, -0.5])
    w = ws + np.array([1e-9, -2e-9, 0.0])
    ref = float(_loss_reference(w, ws, 4))
    naive = relu.Compiled((k, r, s, t), relu.loss_expr())(4, norm(w), norm(ws), angle(w, ws))
    assert abs(relu.loss(w, ws, 4) - ref) <= 1e-5 * ref
    assert abs(naive - ref) > 1e-2 * ref


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_k(bad) -> None:
    with pytest.raises(ValueError, match="k must be"):
        relu.loss(np.ones(2), np.ones(2), bad)


def test_bad_vectors() -> None:
    with pytest.raises(ValueError, match="same length"):
        relu.loss(np.ones(2), np.ones(3), 2)
    with pytest.raises(ValueError, match="w_star must be nonzero"):
        relu.grad(np.ones(2), np.zeros(2), 2)
    with pytest.raises(ValueError, match="w has NaN"):
        relu.loss(np.array([1.0, np.nan]), np.ones(2), 2)
    with pytest.raises(ValueError, match="w_star has NaN"):
        relu.loss_mp([1, 2], [1, "inf"], 2)
    with pytest.raises(ValueError, match="dps"):
        relu.loss_mp([1, 2], [1, 2], 2, dps=0)


# ------------------------------------------------------------------ constants and GD

@given(teacher_student_pairs(scaled=False), ks, st.floats(0.05, 0.999))
@settings(max_examples=examples(300))
def test_plain_gd_below_the_step_bound_never_increases_the_angle(pair, kk, frac) -> None:
    w, w_star = pair
    if not np.any(w):
        return
    eta = frac * float(relu.angle_monotone_step_bound().subs(k, kk))
    before = angle(w, w_star)
    for _ in range(5):
        w = w - eta * relu.grad(w, w_star, kk)
        now = angle(w, w_star)
        # Each angle carries an absolute error up to 16 eps * pi (tests/test_geometry.py), so
        # two of them can differ by twice that where the exact angles are equal (t = pi).
        assert now <= before + 32 * EPS64 * np.pi
        before = now


@given(teacher_student_pairs(scaled=False), ks, st.floats(1.0, 10.0))
@settings(max_examples=examples(300))
def test_hessian_norm_is_bounded_by_lipschitz_constant(pair, kk, m_frac) -> None:
    w, w_star = pair
    if not np.any(w):
        return
    m_ = norm(w) / m_frac  # so |w| >= m
    bound = float(relu.lipschitz_expr().subs({k: kk, s: norm(w_star), relu.m: m_}))
    e = relu.hessian_eigen(w, w_star, kk)
    spectral = max(abs(e.along_w), abs(e.along_normal), abs(e.orthogonal))
    assert spectral <= bound * (1 + 1e-12)


def test_lipschitz_bound_is_attained() -> None:
    ws = np.array([1.0, 0.0])
    w = np.array([0.0, 0.1])  # |w| = m = 0.1, t = pi/2: the normal eigenvalue is the extreme
    e = relu.hessian_eigen(w, ws, 3)
    bound = float(relu.lipschitz_expr().subs({k: 3, s: 1, relu.m: sp.Rational(1, 10)}))
    assert abs(abs(e.along_normal) - bound) <= 1e-14 * bound


@pytest.mark.parametrize(("d", "delta"), [(3, 1.0), (10, 1.2), (2, 0.4)])
def test_random_start_probability_against_sampling(d: int, delta: float) -> None:
    """1e6 uniform directions, fixed seed; the fraction within 4 binomial standard errors."""
    n = 1_000_000
    rng = np.random.default_rng(11 + d)
    x = rng.standard_normal((n, d))
    ang = angle(x, np.eye(d)[0])
    p_hat = np.mean(ang > np.pi - delta)
    p = float(relu.random_start_probability(delta, d))
    assert abs(p_hat - p) <= 4 * np.sqrt(p * (1 - p) / n)


def test_t_minus_sin_appears_only_through_the_stable_form() -> None:
    assert relu.loss_stable_expr().has(t_minus_sin)
    assert not relu.loss_expr().has(t_minus_sin)


def test_teacher_precomputation_gives_identical_results() -> None:
    rng = np.random.default_rng(21)
    w, ws = rng.standard_normal((32, 7)), rng.standard_normal((32, 7))
    w[0] = 0.0
    tch = relu.teacher(ws)
    with np.errstate(invalid="ignore"):
        for fn in (relu.loss, relu.grad):
            a, b = fn(w, ws, 3), fn(w, tch, 3)
            assert np.array_equal(a, b, equal_nan=True)
    assert np.array_equal(relu.hessian(w[1:], ws[1:], 3), relu.hessian(w[1:], relu.teacher(ws[1:]), 3))
    with pytest.raises(ValueError, match="w_star must be nonzero"):
        relu.teacher(np.zeros((1, 3)))
