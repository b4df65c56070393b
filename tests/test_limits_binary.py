"""Fixed points of normalised RVSCGD (binary activation, expected coarse gradient): residuals,
the float64 iteration at each point, theory.md section 3's bound, precision, l1 uniqueness."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.test_limits_relu import instances, penalty
from theory import binary
from theory.limits import binary_fixed_points, coarse_constants


def rvscgd_step(w: np.ndarray, w_star: np.ndarray, k: int, pen, lam: float, beta: float,
                eta: float) -> np.ndarray:
    u = pen.prox(w, lam / beta)
    wt = w - eta * binary.coarse_grad(w, w_star, k, validate=False) - eta * beta * (w - u)
    return wt / np.linalg.norm(wt)


def test_coarse_constants_are_the_derived_coefficients() -> None:
    """relu STE: E g = c (w^ - w*^), c = 1/(k sqrt(2 pi)) (theory.md section 3), from
    theory.binary; identity twice that; clipped-relu is rejected (angle-dependent)."""
    for k in (1, 3, 8):
        a, c = coarse_constants(k)
        assert a == pytest.approx(1 / (k * math.sqrt(2 * math.pi)), rel=1e-15) and c == a
        a2, c2 = coarse_constants(k, "identity")
        assert a2 == pytest.approx(2 * a, rel=1e-15) and c2 == pytest.approx(2 * c, rel=1e-15)
    with pytest.raises(ValueError, match="depends on"):
        coarse_constants(2, "clipped-relu")


def check_binary_point(inst: dict, fp, rng: np.random.Generator) -> None:
    """As tests/test_limits_relu.py: at an attracting point (given a step) the normalised
    iteration stays within 1e-10 from w_bar and 1e-11 away, and returns from 1e-6 away when
    rho <= 0.98."""
    if fp.eta_max is None or fp.kink or len(fp.w_bar) == 1:
        return
    eta = 0.5 * min(fp.eta_max, 4.0)
    gamma = 1 + eta * (fp.coeffs["alpha"] - fp.coeffs["a"])
    rho = max(abs(1 - eta / gamma * mu) for mu in fp.curvature)  # as reported for this eta
    assert gamma > 0 and rho < 1
    ws = np.asarray(inst["w_star"], dtype=float)
    pen = penalty(inst["penalty"], inst["a"])
    args = (ws, inst["k"], pen, inst["lam"], inst["beta"], eta)
    wb = np.array(fp.w_bar)
    for start in (wb, wb + 1e-11 * rng.standard_normal(wb.size)):
        w = start / np.linalg.norm(start)
        for _ in range(200):
            w = rvscgd_step(w, *args)
            assert float(np.max(np.abs(w - wb))) <= 1e-10
    if rho <= 0.98:
        n = int(math.ceil(math.log(1e-5) / math.log(max(rho, 1e-3)))) + 10
        w = wb + 1e-6 * rng.standard_normal(wb.size)
        w /= np.linalg.norm(w)
        for _ in range(n):
            w = rvscgd_step(w, *args)
        assert float(np.max(np.abs(w - wb))) <= 1e-10


@settings(max_examples=examples(60))
@given(instances(d_max=4), st.integers(0, 2**32 - 1))
def test_residuals_bound_and_iteration(inst: dict, seed: int) -> None:
    """Residual < 1e-12; |w_bar| = 1; theory.md's bound holds whenever R < 1 (and then
    c(1 - R) <= alpha <= c); the iteration behaves as reported."""
    fs = binary_fixed_points(**inst)
    rng = np.random.default_rng(seed)
    for fp in fs:
        assert fp.residual < 1e-12
        assert float(np.linalg.norm(fp.w_bar)) == pytest.approx(1.0, abs=1e-14)
        b = fp.bound
        if b.holds and fp.good:
            assert b.extra["alpha_in_range"]
            assert b.w_dist <= b.w_bound * (1 + 1e-12) + 1e-13
            assert b.u_dist <= b.u_bound * (1 + 1e-12) + 1e-13
        check_binary_point(inst, fp, rng)


@settings(max_examples=examples(150))
@given(instances(penalties=("l1",), d_max=6))
def test_l1_has_at_most_one_fixed_point_with_positive_alpha(inst: dict) -> None:
    """Proved (limits.md step 7): for alpha > 0 the l1 preimage is unique and |x(alpha)| is
    strictly decreasing, so |x| = 1 has at most one root."""
    fs = binary_fixed_points(**inst)
    assert sum(1 for f in fs if f.coeffs["alpha"] > 0) <= 1


def test_l1_closed_form_of_theory_md() -> None:
    """u_bar = (c/alpha) S_{(lam/c)(1 + alpha/beta)}(w*^) (theory.md section 3) at the computed
    alpha (1e-14: the formula and the branch map are the same few flops)."""
    ws = np.array([1.0, -0.8, 0.5, 0.1])
    fs = binary_fixed_points(ws, 3, "l1", 0.01, 0.5)
    fp = [f for f in fs if f.coeffs["alpha"] > 0][0]
    al, c = fp.coeffs["alpha"], fp.coeffs["c"]
    wh = ws / np.linalg.norm(ws)
    thr = 0.01 / c * (1 + al / 0.5)
    soft = np.sign(wh) * np.maximum(np.abs(wh) - thr, 0)
    np.testing.assert_allclose(fp.u_bar, c / al * soft, atol=1e-14)


@settings(max_examples=examples(30))
@given(instances(d_max=3), st.sampled_from([20, 40]))
def test_mpmath_binary(inst: dict, dps: int) -> None:
    """Residual < 10^(-dps+5), stable at 2 dps, equal to float64 to 1e-12."""
    f64 = binary_fixed_points(**inst)
    assume(all(f.margin > 1e-9 for f in f64))  # a coordinate on a threshold: a tie
    fmp = binary_fixed_points(**inst, dps=dps)
    assert len(fmp) == len(f64)
    for b in fmp:  # pair each mpmath point with the nearest float64 one (ties make sorting fragile)
        wb = np.array([float(x) for x in b.w_bar])
        a = min(f64, key=lambda f: float(np.max(np.abs(np.array(f.w_bar) - wb))))
        assert b.residual < 10.0 ** (-dps + 5) and b.stable
        np.testing.assert_allclose(wb, a.w_bar, rtol=1e-12, atol=1e-13)


def _iterate(x: np.ndarray, w_star: np.ndarray, k: int, lam: float, beta: float, eta: float,
             tol: float = 1e-15, max_steps: int = 100_000) -> np.ndarray:
    """Normalised RVSCGD (float64, theory.binary.coarse_grad and Penalty.prox) until a step
    moves w by at most ``tol``."""
    from theory.penalties import Penalty

    pen = Penalty("l1")
    x = x / np.linalg.norm(x)
    for _ in range(max_steps):
        prev = x
        x = rvscgd_step(x, w_star, k, pen, lam, beta, eta)
        if float(np.max(np.abs(x - prev))) <= tol:
            return x
    raise AssertionError("the iteration did not converge")


def test_l1_fold_pair_between_alpha_nodes_is_found() -> None:
    """w* = (1, -0.8, 0.5, 0.3), k = 3, beta = 1, lam = 0.8018: just below the fold at
    lam = 0.801899 (limits.md step 8) the one-kept point (alpha ~ -0.797) and its saddle
    (alpha ~ -0.790) both lie between two alpha nodes, with no sign change of log|x| at the
    nodes; the search must still find them.  Independent evidence: the iteration (eta = 0.5)
    from a plain start converges with support {0} to a point that fixed_points lists as
    attracting.  Tolerance 1e-11: the iteration stops at a step <= 1e-15, and with
    rho ~ 0.99 the distance to the limit is <= 1e-15 rho/(1 - rho) ~ 1e-13."""
    w = np.array([1.0, -0.8, 0.5, 0.3])
    lam = 0.8018
    x = _iterate(np.array([1.0, -0.1, 0.05, 0.03]), w, 3, lam, 1.0, 0.5)
    assert np.flatnonzero(np.abs(x) > lam).tolist() == [0]  # support of prox_lam(x)
    fs = binary_fixed_points(w, 3, "l1", lam, 1.0, eta=0.5)
    one = [f for f in fs if f.support == (0,)]
    assert len(one) == 2  # the attractor and the saddle of the fold
    hit = min(one, key=lambda f: float(np.max(np.abs(np.array(f.w_bar) - x))))
    assert float(np.max(np.abs(np.array(hit.w_bar) - x))) <= 1e-11
    assert hit.attracting and hit.good and hit.residual < 1e-12
    assert sum(f.attracting for f in one) == 1


def test_dps_keeps_a_point_on_a_threshold() -> None:
    """w* = (1, 0.5, 0, -0.3), l1, lam = 0.02427695..., beta = 1, 30 digits: the fixed point has
    |w_bar_3| on the threshold lam/beta (the float64 search finds it both kept and pruned,
    margin ~1e-16; only pruned is valid at 30 digits).  It must be listed, as a good point with
    support {0, 1}.  Independent evidence: one step of the normalised iteration at 50 digits
    (theory.binary.coarse_grad_mp, Penalty.prox in mpmath, eta = 0.5) maps the printed 30-digit
    w_bar to itself within 1e-27 (the 30-digit rounding of w_bar, 1e-30, times the Lipschitz
    constant of one step, O(1), with margin), and |w_bar_3| = lam to 1e-25 relative."""
    import mpmath

    from theory.penalties import Penalty

    w = ["1", "0.5", "0", "-0.3"]
    lam = "0.0242769512546992631914334457088"
    fs = binary_fixed_points(w, 4, "l1", lam, "1", dps=30)
    good = [f for f in fs if f.good]
    assert good, fs.message
    fp = good[0]
    assert fp.support == (0, 1) and fp.stable and fp.residual < 1e-25
    with mpmath.mp.workdps(50):
        ws = [mpmath.mpf(v) for v in w]
        x = [mpmath.mpf(v) for v in fp.w_bar]
        lm, eta = mpmath.mpf(lam), mpmath.mpf("0.5")
        u = Penalty("l1").prox(x, lm)
        g = binary.coarse_grad_mp(x, ws, 4)
        xt = [xi - eta * gi - eta * (xi - ui) for xi, gi, ui in zip(x, g, u)]
        nx = mpmath.sqrt(mpmath.fsum(v * v for v in xt))
        assert max(abs(a - b / nx) for a, b in zip(x, xt)) < mpmath.mpf("1e-27")
        assert abs(abs(x[3]) - lm) <= lm * mpmath.mpf("1e-25")
