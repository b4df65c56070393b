"""The building blocks of the fixed-point calculator (theory/limits): branch maps, derived
coefficients, the spectral tool, the closed-form sums of the search grid."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from theory import relu
from theory.limits import _common, _spectral
from theory.limits import _relu as R
from theory.limits._common import (
    FLIP,
    KEPT,
    KEPT_LOW,
    PRUNED,
    _a,
    _u,
    branch_mp,
    branch_np,
    check_instance,
    make_params,
    prox_derivative_np,
    relu_coeff_kernels,
    relu_coeffs,
    relu_coeffs_mp,
    tl1_rho_expr,
)
from theory.penalties import Penalty

PENALTIES = [("l1", None), ("l0", None), ("tl1", 0.3), ("tl1", 1.0), ("tl1", 5.0)]


@pytest.mark.parametrize("name,a", PENALTIES)
@pytest.mark.parametrize("lam,beta", [(0.1, 1.0), (0.5, 0.7), (2.0, 3.0), (0.05, 0.2)])
def test_branches_invert_phi_and_agree_with_the_prox(name: str, a: float | None, lam: float,
                                                      beta: float) -> None:
    """On every valid branch, phi(xi) = (A + beta) xi - beta prox(xi) = y and prox(xi) = u.

    Tolerance: 1e-12 relative; phi and the prox are a few flops of O(1) numbers, so rounding
    is ~1e-15; the TL1 cubic root carries the conditioning of its trigonometric form, measured
    below 1e-13 (one Newton step on h(u) - y polishes it).
    """
    pen = check_instance(name, lam, beta, a)
    pr = make_params(pen, lam, beta, mp=False)
    rng = np.random.default_rng(0)
    y = rng.uniform(0, 3, 3000)
    A = rng.uniform(-1, 2, 3000)
    n_valid = 0
    for code in (PRUNED, KEPT, KEPT_LOW, FLIP) if name == "tl1" else (PRUNED, KEPT, FLIP):
        b = branch_np(code, y, A, pr)
        ok = np.where(code == PRUNED, b.margin >= 0, b.margin > 1e-9)
        ok &= np.isfinite(b.xi)
        if not ok.any():
            continue
        n_valid += int(ok.sum())
        sgn = -1.0 if code == FLIP else 1.0
        x = sgn * b.xi[ok]
        prox = pen.prox(x, pr.tau)
        phi = (A[ok] + beta) * x - beta * prox
        np.testing.assert_allclose(phi, y[ok], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.abs(prox), b.u[ok], rtol=1e-12, atol=1e-13)
        if code in (KEPT_LOW, FLIP):  # decreasing side of phi
            assert np.all(b.dphi[ok] < 1e-9)
    assert n_valid > 100


@pytest.mark.parametrize("name,a", PENALTIES)
def test_branch_mp_agrees_with_float(name: str, a: float | None) -> None:
    """mpmath branch maps at 40 digits vs float64: 1e-12 relative (the float64 path's error)."""
    pen = check_instance(name, 0.3, 1.2, a)
    pr64 = make_params(pen, 0.3, 1.2, mp=False)
    rng = np.random.default_rng(1)
    with mpmath.mp.workdps(40):
        pr = make_params(pen, 0.3, 1.2, mp=True)
        for _ in range(200):
            y, A = float(rng.uniform(0, 3)), float(rng.uniform(-1, 2))
            for code in (PRUNED, KEPT, KEPT_LOW, FLIP) if name == "tl1" else (PRUNED, KEPT, FLIP):
                bf = branch_np(code, y, A, pr64)
                bm = branch_mp(code, mpmath.mpf(y), mpmath.mpf(A), pr)
                if bm is None or not np.isfinite(bf.xi) or abs(float(bf.margin)) < 1e-6:
                    continue
                assert float(bm.xi) == pytest.approx(float(bf.xi), rel=1e-12, abs=1e-13)


def test_tl1_rho_expr_is_the_penalty() -> None:
    """The SymPy rho_a used for its derivatives equals Penalty('tl1').value (1e-14)."""
    f = sp.lambdify((_a, _u), tl1_rho_expr())
    for a in (0.2, 1.0, 7.0):
        x = np.linspace(0, 10, 101)
        np.testing.assert_allclose(f(a, x), Penalty("tl1", a=a).value(x), rtol=1e-14)


def test_prox_derivative_against_finite_differences() -> None:
    """p'(x) (implicit function theorem) vs central differences (h = 1e-6: error ~1e-8)."""
    for name, a in PENALTIES:
        pen = check_instance(name, 0.2, 1.0, a)
        pr = make_params(pen, 0.2, 1.0, mp=False)
        x = np.linspace(0.01, 4, 400)
        u = pen.prox(x, pr.tau)
        h = 1e-6
        fd = (pen.prox(x + h, pr.tau) - pen.prox(x - h, pr.tau)) / (2 * h)
        smooth = np.abs(np.abs(x) - pr.zero) > 1e-3
        np.testing.assert_allclose(prox_derivative_np(pr, np.abs(u))[smooth], fd[smooth],
                                   rtol=1e-6, atol=1e-6)


def test_derived_inverses_of_the_coefficients() -> None:
    """t_of_B inverts B(t); r_of_A inverts A(r, t) (SymPy solutions, checked to 1e-13)."""
    kern = relu_coeff_kernels()
    for k in (1, 2, 7):
        for t in (0.0, 0.4, 1.5, 3.0):
            B = float(kern["B"](np.float64(k), np.float64(t)))
            assert float(kern["t_of_B"](np.float64(k), np.float64(B))) == pytest.approx(t, abs=1e-13)
            for r in (0.3, 1.0, 4.0):
                A = float(kern["A"](k, np.float64(r), np.float64(1.3), np.float64(t)))
                if k == 1 and t == 0.0:
                    continue  # A does not depend on r there
                rr = float(kern["r_of_A"](np.float64(k), np.float64(1.3), np.float64(t),
                                          np.float64(A)))
                assert rr == pytest.approx(r, rel=1e-12)


def test_relu_coeffs_match_the_gradient() -> None:
    """grad l(w) = A w - B w* with (A, B) = relu_coeffs(|w|, |w*|, angle): 1e-13 (float64),
    1e-35 at 40 digits."""
    rng = np.random.default_rng(2)
    for _ in range(20):
        w, ws = rng.standard_normal(5), rng.standard_normal(5)
        k = int(rng.integers(1, 9))
        from theory.geometry import angle
        A, B = relu_coeffs(np.linalg.norm(w), np.linalg.norm(ws), float(angle(w, ws)), k)
        np.testing.assert_allclose(A * w - B * ws, relu.grad(w, ws, k), atol=1e-13)
    with mpmath.mp.workdps(40):
        w, ws = ["0.3", "-1.1", "2"], ["1", "0.5", "-0.25"]
        wm, sm = [mpmath.mpf(v) for v in w], [mpmath.mpf(v) for v in ws]
        from theory.geometry import angle_mp, norm_mp
        A, B = relu_coeffs_mp(norm_mp(wm), norm_mp(sm), angle_mp(wm, sm), 4)
        g = relu.grad_mp(w, ws, 4)
        assert max(abs(A * a - B * b - gi) for a, b, gi in zip(wm, sm, g)) < mpmath.mpf(10) ** -35


@settings(max_examples=examples(300))
@given(st.integers(1, 40), st.integers(0, 2**32 - 1), st.booleans())
def test_extreme_eigenvalues_against_eigvalsh(d: int, seed: int, few_values: bool) -> None:
    """The paths of _spectral (dense, grouped invariant subspace, Haynsworth bisection) vs
    numpy.linalg.eigvalsh.

    Tolerance 1e-12 relative to max(1, |lambda|): the grouped path is an exact reduction plus
    eigvalsh; bisection stops at a relative 1e-15 bracket and is exercised where the diagonal
    takes 3 values (its probes keep 1e-9 away from them); eigvalsh is backward stable."""
    rng = np.random.default_rng(seed)
    delta = rng.choice(rng.standard_normal(3), d) if few_values else rng.standard_normal(d)
    u1, u2 = rng.standard_normal(d), rng.standard_normal(d)
    c1, c2 = abs(rng.standard_normal()), -abs(rng.standard_normal())
    M = np.diag(delta) + c1 * np.outer(u1, u1) + c2 * np.outer(u2, u2)
    ev = np.linalg.eigvalsh(M)
    old = _spectral.DENSE_MAX, _spectral.GROUPS_MAX
    try:
        for dense_max, groups_max in ((0, 0), (0, 1000), (1000, 0)):
            _spectral.DENSE_MAX, _spectral.GROUPS_MAX = dense_max, groups_max
            # the bisection fallback keeps its probes 1e-9 (relative) away from the delta_i,
            # so an eigenvalue sitting on a repeated delta_i is resolved to ~2e-9 there
            tol = 4e-9 * max(1.0, float(np.max(np.abs(delta)))) \
                if groups_max == 0 and dense_max == 0 else 1e-12
            mn, mx = _spectral.extreme_eigenvalues(delta, [u1, u2], [c1, c2])
            assert mn == pytest.approx(ev[0], rel=tol, abs=tol)
            assert mx == pytest.approx(ev[-1], rel=tol, abs=tol)
            if d >= 2:
                w = rng.standard_normal(d)
                w /= np.linalg.norm(w)
                q = np.linalg.svd(np.eye(d) - np.outer(w, w))[0][:, :d - 1]
                ev2 = np.linalg.eigvalsh(q.T @ np.diag(delta) @ q)
                a, b = _spectral.extreme_eigenvalues_compressed(delta, w)
                assert a == pytest.approx(ev2[0], rel=tol, abs=tol)
                assert b == pytest.approx(ev2[-1], rel=tol, abs=tol)
    finally:
        _spectral.DENSE_MAX, _spectral.GROUPS_MAX = old


@pytest.mark.parametrize("name,a", PENALTIES)
def test_closed_form_row_sums_match_coordinate_sums(name: str, a: float | None) -> None:
    """The search grid's closed forms (auto, nested, single families) equal the sums of the
    per-coordinate branch values (1e-10 relative: sums of O(1) terms, expanded squares)."""
    rng = np.random.default_rng(3)
    ws = np.concatenate([rng.standard_normal(7), [0.0]])
    pen = check_instance(name, 0.2, 0.9, a)
    pr = make_params(pen, 0.2, 0.9, mp=False)
    p = R.prepare(ws, 3, pr)
    A = np.concatenate([rng.uniform(-0.8, -0.01, 20), rng.uniform(0.01, 0.6, 20)])
    B = rng.uniform(0.1, 0.4, 40)
    fams = [R.nested_family(p, KEPT), R.single_family(p, KEPT, np.arange(p.n), math.pi / 2),
            R.single_family(p, FLIP, np.arange(p.n), math.pi)]
    if name == "l1":
        fams.append(R.Family("auto"))
    for fam in fams:
        n2, dm, _, _ = R.row_sums(p, fam, A, B)
        for i in range(fam.count(p)):
            pat = fam.pattern(i, p)
            for j in range(A.size):
                if not np.isfinite(n2[i, j]):
                    continue
                y = B[j] * p.m
                codes = pat if not isinstance(pat, str) else np.where(
                    y > (A[j] + pr.beta) * pr.tau, KEPT, PRUNED)
                xi = np.array([branch_np(int(c), y[q], A[j], pr).xi for q, c in enumerate(codes)])
                sg = np.where(codes == FLIP, -1.0, 1.0)
                assert n2[i, j] == pytest.approx(float(xi @ xi), rel=1e-10)
                assert dm[i, j] == pytest.approx(float(sg * xi @ p.m), rel=1e-10, abs=1e-12)


def test_branch_np_in_pieces_equals_one_pass() -> None:
    """branch_np evaluates large inputs in cache-sized pieces; the map is elementwise, so the
    result must equal one pass of the same map over the whole block exactly (no tolerance)."""
    rng = np.random.default_rng(4)
    shapes = [((40, 3000), (40, 1)), ((100_000,), ()), ((1, 70_000), (5, 1))]
    for name, a in PENALTIES:
        pr = make_params(check_instance(name, 0.3, 0.8, a), 0.3, 0.8, mp=False)
        codes = (PRUNED, KEPT, KEPT_LOW, FLIP) if name == "tl1" else (PRUNED, KEPT, FLIP)
        for ys, As in shapes:
            y = np.abs(rng.standard_normal(ys))
            A = rng.uniform(-1.2, 1.0, As)
            for code in codes:
                whole = _common._branch_np(code, y, A, pr)
                parts = branch_np(code, y, A, pr)
                for f in ("xi", "u", "margin", "dphi"):
                    ref = np.broadcast_to(getattr(whole, f), parts.xi.shape)
                    assert np.array_equal(getattr(parts, f), ref, equal_nan=True), (name, code, f)


@pytest.mark.parametrize("name,a", PENALTIES)
def test_nested_row_counts_and_subsets(name: str, a: float | None) -> None:
    """NestedRow (the nested family's row of the search grid): the count of coordinates invalid
    by more than SLACK equals the count from the per-coordinate branch margins, its plausible
    patterns are those with no such coordinate at some node, and the sums of any subset of
    patterns are the same numbers as those rows of the full set (exact: the same arithmetic).
    The nodes repeat and include A <= 0, where the kept branch of TL1 does not exist (counts
    are compared where A + beta > 0: below, no pattern is finite and pruned ones are not
    counted; for l1 also A > 0: the closed form assumes the largest |w*_i| are the valid kept
    ones, false for A < 0, where the search never uses the nested family for l1)."""
    rng = np.random.default_rng(5)
    ws = np.concatenate([rng.standard_normal(30), [0.0, 0.0]])
    pr = make_params(check_instance(name, 0.15, 0.9, a), 0.15, 0.9, mp=False)
    p = R.prepare(ws, 3, pr)
    A = np.sort(np.concatenate([rng.uniform(-1.2, 0.6, 30), [-0.9, 0.0, 0.25, 0.25, 0.25]]))
    B = np.full(A.shape, 0.3)
    for code in ((KEPT, KEPT_LOW, FLIP) if name == "tl1" else (KEPT, FLIP)):
        fam = R.nested_family(p, code)
        row = R.NestedRow(p, fam, A, B)
        n2, dm, inv, sp = row.sums(np.arange(p.nnz + 1))
        y = B[:, None] * p.m[None, :p.nnz]
        bad_k = ~(branch_np(code, y, A[:, None], pr).margin >= -R.SLACK)
        bad_p = ~(branch_np(PRUNED, y, A[:, None], pr).margin >= -R.SLACK)
        live = (A + pr.beta > 0) & ((A > 0) if name == "l1" else True)
        assert not live.all()
        for j in range(p.nnz + 1):
            ref = bad_k[:, :j].sum(1) + bad_p[:, j:].sum(1)
            np.testing.assert_array_equal(inv[j][live], ref[live])
        np.testing.assert_array_equal(row.plausible, (inv == 0).any(1))
        rows = np.array([0, 1, 2, 7, p.nnz])
        for full, part in zip((n2, dm, inv, sp), row.sums(rows)):
            assert np.array_equal(part, full[rows], equal_nan=True)
