"""Structural properties of the thresholding operators.

Odd symmetry, monotonicity in |y|, the thresholds and jump heights (against the independent
oracle), the tie rule in every backend, the limits TL1 -> l0 (a -> 0) and TL1 -> l1
(a -> inf), the Moreau identity e'(y) = (y - prox(y))/tau, the penalty values, the group
reduction to the scalar map, and the continuity flag.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PROFILE, examples
from tests.test_penalties_oracle import DPS, l1l2_objective, minimise, minimise_l1l2, penalty
from tests.test_penalties_strategies import KEYS, TIES, Case, l1l2_cases, scalar_cases
from theory.penalties import Penalty

N_PROP = examples(1_000) if PROFILE != "dev" else 40
ALL_CASES = st.one_of(*[scalar_cases(k) for k in KEYS])
F64_CASES = st.one_of(*[scalar_cases(k, f64_only=True) for k in KEYS])


def _mp_prox(pen: Penalty, y: Any, tau: Any, dps: int = 50) -> mpmath.mpf:
    with mpmath.mp.workdps(dps):
        return pen.prox(mpmath.mpf(y), tau)


# ------------------------------------------------------------------------------ symmetry


@settings(max_examples=N_PROP)
@given(ALL_CASES)
def test_odd_symmetry_is_exact(case: Case) -> None:
    pen = case.penalty()
    y = np.array([case.y, -case.y], dtype=case.dtype)
    x = pen.prox(y, case.tau)
    assert x[0] == -x[1]
    env = pen.moreau(y, case.tau)
    assert env[0] == env[1]
    xt = pen.prox(torch.from_numpy(y), case.tau)
    assert xt[0] == -xt[1]
    with mpmath.mp.workdps(30):
        assert pen.prox(mpmath.mpf(case.y), case.tau) == -pen.prox(mpmath.mpf(-case.y), case.tau)


@settings(max_examples=N_PROP)
@given(l1l2_cases())
def test_l1_l2_odd_symmetry_and_signs(c: tuple[Any, float, float, list[float]]) -> None:
    dtype, tau, alpha, y = c
    pen = Penalty("l1-l2", alpha=alpha)
    ya = np.array(y, dtype=dtype)
    x, xm = pen.prox(ya, tau), pen.prox(-ya, tau)
    assert np.array_equal(x, -xm)
    assert np.all(np.sign(x) * np.sign(ya) >= 0)  # never a sign against y


# -------------------------------------------------------------------------- monotonicity


@settings(max_examples=N_PROP)
@given(F64_CASES, st.lists(st.floats(0, 4), min_size=2, max_size=8))
def test_magnitude_is_nondecreasing_in_abs_y(case: Case, factors: list[float]) -> None:
    """|prox| is nondecreasing in |y|: exactly at 50 digits; in float64 up to 4 ulp of the
    larger value (each value carries a few ulp of rounding, see test_penalties_backends)."""
    pen = case.penalty()
    th = pen.threshold(case.tau)
    scale = max(abs(case.y), th.jump_at or 0.0, *th.knots) or 1.0
    ys = sorted({abs(case.y), *(scale * f for f in factors), *th.knots})
    x = np.abs(pen.prox(np.array(ys), case.tau))
    assert np.all(x[:-1] <= x[1:] + 4 * np.spacing(x[1:]))
    with mpmath.mp.workdps(50):
        xm = [abs(pen.prox(mpmath.mpf(v), case.tau)) for v in ys]
        assert all(a <= b for a, b in zip(xm, xm[1:], strict=False))
        assert all(m <= mpmath.mpf(v) for m, v in zip(xm, ys, strict=True))  # shrinkage


# ------------------------------------------------------------------- thresholds and jumps


@settings(max_examples=examples(500) if PROFILE != "dev" else 25)
@given(F64_CASES)
def test_thresholds_and_jumps_match_the_oracle(case: Case) -> None:
    """Against the oracle (40 digits, so one-sided points sit at d = 1e-12 relative, where the
    objective gaps ~ d^2 t^2 are still resolved): the prox is 0 just below the zero threshold
    and not just above; at the jump point the two minimisers tie (both returned by the oracle)
    a jump height apart (1e-10 relative), the prox returns the smaller, and just below / above
    the best point is the lower / upper branch.  A continuous map moves by < 1e-18 k across
    each knot k at +/- 1e-40 (60 digits; slopes are < 2^53 for float parameters, TL1 at the
    critical step is O(sqrt))."""
    if case.tau == 0:
        return
    pen = case.penalty()
    with mpmath.mp.workdps(50):
        th = pen.threshold(mpmath.mpf(case.tau))
        d = mpmath.mpf(10) ** -12

        def best(y: mpmath.mpf) -> mpmath.mpf:
            return abs(minimise(case.name, case.params, case.tau, y)[1][0])

        if th.zero > 0:
            assert best(th.zero * (1 - d)) == 0
            assert best(th.zero * (1 + d)) > 0
        t = th.jump_at
        if t is None:
            assert th.continuous and th.jump == 0
            with mpmath.mp.workdps(60):
                e = mpmath.mpf(10) ** -40
                for k in th.knots:
                    jump = pen.prox(k * (1 + e), case.tau) - pen.prox(k * (1 - e), case.tau)
                    assert abs(jump) <= mpmath.mpf(10) ** -18 * k, (k, jump)
            return
        assert not th.continuous and th.jump > 0
        # (next to a critical step the upper minimiser is a near-double root, which 40-digit
        # Newton resolves to ~1e-20 t only, and more points tie within the oracle's slack)
        ties = sorted(abs(v) for v in minimise(case.name, case.params, case.tau, t)[1])
        lo, hi = ties[0], ties[-1]
        assert len(ties) >= 2, ties
        assert abs(hi - lo - th.jump) <= 1e-10 * th.jump + 1e-18 * t, (ties, th.jump)
        mid = (lo + hi) / 2
        at_t = abs(pen.prox(t, case.tau))  # the smaller minimiser (one of the tied points)
        assert at_t < mid and min(abs(at_t - c) for c in ties) <= mpmath.mpf(10) ** -30 * t
        assert best(t * (1 - d)) < mid < best(t * (1 + d))


@pytest.mark.parametrize("tie", TIES, ids=lambda t: f"{t[0]}-{t[2]}-{t[3]}")
def test_tie_rule_is_the_same_in_every_backend(tie: tuple[str, dict[str, Any], float, float]
                                               ) -> None:
    """At an exactly representable tie every backend returns the smaller minimiser, and the
    next float up returns the larger one."""
    key, prm, tau, y = tie
    case = Case(key, prm, tau, y, np.float64)
    pen = case.penalty()
    th = pen.threshold(tau)
    assert th.jump_at == y  # the float threshold is exact here
    lo_want = 0.0 if th.zero >= y else y - tau  # lower branch: 0 or the soft threshold
    hi_want = float(abs(minimise(case.name, case.params, tau, float(np.nextafter(y, 2 * y)))[1][0]))
    for dt in (np.float64, np.float32):
        up = float(np.nextafter(dt(y), dt(np.inf)))
        x = pen.prox(np.array([y, -y, up], dtype=dt), tau)
        assert x[0] == lo_want and x[1] == -lo_want
        assert x[2] > (lo_want + hi_want) / 2  # the upper branch (values: backends test)
        xt = pen.prox(torch.tensor([y, -y, up], dtype=torch.float64 if dt is np.float64
                                   else torch.float32), tau)
        assert xt[0] == lo_want and xt[1] == -lo_want
    with mpmath.mp.workdps(50):
        assert pen.prox(mpmath.mpf(y), tau) == lo_want
        assert abs(pen.prox(mpmath.mpf(y) * (1 + mpmath.mpf(10) ** -40), tau)) > lo_want
        both = sorted(float(abs(v)) for v in minimise(case.name, case.params, tau, y)[1])
        assert len(both) == 2 and both[0] == lo_want
        assert both[1] - both[0] == pytest.approx(th.jump, rel=1e-14)


def test_l1_l2_thresholds_and_first_index_tie() -> None:
    pen = Penalty("l1-l2", alpha=0.25)
    tau = 2.0
    th = pen.threshold(tau)
    assert th.zero == 1.5 and th.knots == (1.5, 2.0) and not th.continuous
    # below (1 - alpha) tau: 0 (and the oracle agrees: F(0) is the minimum)
    for y in ([1.5, -1.0], [1.4, 1.4, -0.3]):
        assert np.all(pen.prox(np.array(y), tau) == 0)
        with mpmath.mp.workdps(DPS):
            assert minimise_l1l2(tau, 0.25, y) == mpmath.fsum(mpmath.mpf(v) ** 2 for v in y) / 2
    # 1-sparse regime with a tie for the largest entry: the first index is kept, everywhere
    y = [-1.75, 0.5, 1.75]
    x = pen.prox(np.array(y), tau)
    assert list(x) == [-0.25, 0.0, 0.0]
    assert pen.prox(torch.tensor(y, dtype=torch.float64), tau).tolist() == [-0.25, 0.0, 0.0]
    with mpmath.mp.workdps(30):
        assert pen.prox(y, tau) == [-0.25, 0, 0]
    assert pen.prox(np.array(y)[::-1].copy(), tau).tolist() == [0.25, 0.0, 0.0]
    # the tie is genuine: keeping the other entry gives the same objective value
    with mpmath.mp.workdps(DPS):
        assert l1l2_objective(tau, 0.25, [-0.25, 0, 0], y) == l1l2_objective(
            tau, 0.25, [0, 0, 0.25], y) == minimise_l1l2(tau, 0.25, y)


# ----------------------------------------------------------------------------- limits


@settings(max_examples=N_PROP)
@given(st.floats(1e-3, 1e3), st.floats(0, 5), st.sampled_from([1.0, -1.0]))
def test_tl1_tends_to_l0_as_a_tends_to_0(tau: float, c: float, sg: float) -> None:
    """Error O(a): the threshold moves by sqrt(2 tau (a+1)) - a/2 - sqrt(2 tau) = O(a) and the
    upper branch shrinks by tau a (a+1)/(a+x)^2 <= tau a (a+1)/x^2.  Checked at 50 digits for
    a = 1e-4, 1e-8, 1e-12 away from the l0 threshold (|y - sqrt(2 tau)| > 0.2 sqrt(2 tau))."""
    t0 = float(np.sqrt(2 * tau))
    y = sg * c * t0
    if abs(abs(y) - t0) <= 0.2 * t0:
        return
    want = Penalty("l0").prox(np.array([y]), tau)[0]
    for a in (1e-4, 1e-8, 1e-12):
        x = _mp_prox(Penalty("tl1", a=a), y, tau)
        err = abs(x - want)
        bound = 0 if want == 0 else tau * a * (a + 1) / (abs(y) / 2) ** 2
        assert err <= bound, (a, x, want)
    x64 = Penalty("tl1", a=1e-12).prox(np.array([y]), tau)[0]
    if want == 0:
        assert x64 == 0
    else:
        assert abs(x64 - want) <= 4 * np.spacing(abs(want)) + tau * 1e-12 * (1 + 1e-12) * 4 / y**2


@settings(max_examples=N_PROP)
@given(st.floats(1e-3, 1e3), st.floats(0, 5), st.sampled_from([1.0, -1.0]))
def test_tl1_tends_to_l1_as_a_tends_to_infinity(tau: float, c: float, sg: float) -> None:
    """Error O(1/a): rho_a(x) = |x| + |x| (1 - |x|)/(a + |x|), so the stationarity condition
    moves by tau |1 - 2x|/a + O(a^-2): |prox_TL1 - prox_l1| <= 2 tau (1 + 2|y|)/a for
    a >= 1e4 max(1, tau) (continuous regime).  At 50 digits and in float64 at a = 1e8."""
    y = sg * c * tau
    want = Penalty("l1").prox(np.array([y]), tau)[0]
    for a in (1e4, 1e8, 1e12):
        a = a * max(1.0, tau)
        x = _mp_prox(Penalty("tl1", a=a), y, tau)
        assert abs(x - want) <= 2 * tau * (1 + 2 * abs(y)) / a, (a, x, want)
    a = 1e8 * max(1.0, tau)
    x64 = Penalty("tl1", a=a).prox(np.array([y]), tau)[0]
    assert abs(x64 - want) <= 2 * tau * (1 + 2 * abs(y)) / a + 8 * np.spacing(max(abs(y), tau))



# ----------------------------------------------------------------------- Moreau envelope


@settings(max_examples=examples(1_000) if PROFILE != "dev" else 40)
@given(F64_CASES)
def test_moreau_derivative_identity(case: Case) -> None:
    """e'(y) = (y - prox(y))/tau where the prox is single-valued, by a central difference of
    the 50-digit envelope with step h = 1e-20 s: truncation h^2 e'''/6 and rounding 1e-50 e/h
    are both < 1e-25 s/tau away from the knots (points within 1e-8 relative are skipped)."""
    tau = case.tau
    if tau == 0 or not 1e-100 < tau < 1e100 or not 1e-100 < abs(case.y) < 1e100:
        return
    pen = case.penalty()
    th = pen.threshold(tau)
    y = case.y
    if any(abs(abs(y) - k) <= 1e-8 * max(abs(y), k) for k in [*th.knots, th.jump_at or 0.0]):
        return
    with mpmath.mp.workdps(50):
        s = max(abs(mpmath.mpf(y)), max(th.knots))
        h = s * mpmath.mpf(10) ** -20
        ym = mpmath.mpf(y)
        fd = (pen.moreau(ym + h, tau) - pen.moreau(ym - h, tau)) / (2 * h)
        want = (ym - pen.prox(ym, tau)) / tau
        assert abs(fd - want) <= mpmath.mpf(10) ** -15 * s / tau, (fd, want)


def test_l0_envelope_has_a_kink_at_the_threshold() -> None:
    """The envelope of l0 is min(y^2/(2 tau), 1): not differentiable at the threshold, where
    the one-sided slopes are the two prox values over tau (the derivative test skips it)."""
    pen = Penalty("l0")
    tau = 2.0  # threshold 2
    with mpmath.mp.workdps(50):
        h = mpmath.mpf(10) ** -20
        left = (pen.moreau(mpmath.mpf(2), tau) - pen.moreau(2 - h, tau)) / h
        right = (pen.moreau(2 + h, tau) - pen.moreau(mpmath.mpf(2), tau)) / h
        assert abs(left - 1) < 1e-15 and abs(right) < 1e-15  # (2 - 0)/2 and (2 - 2)/2
        assert pen.moreau(mpmath.mpf(2), tau) == 1


# ---------------------------------------------------------------------- penalty values


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@settings(max_examples=N_PROP)
@given(ALL_CASES, st.floats(-1e6, 1e6) | st.sampled_from([0.0, 5e-324, 1e-300, 1e300, -1.0]))
def test_penalty_value_matches_the_definition(case: Case, x: float) -> None:
    """Penalty.value against the literature definitions (re-typed in the oracle): 8 eps
    relative in float (the stable forms of TL1 / MCP / SCAD have no cancellation), 1e-45 in
    mpmath at 50 digits."""
    pen = case.penalty()
    x = float(case.dtype(x)) if np.isfinite(case.dtype(x)) else 0.0
    with mpmath.mp.workdps(DPS):
        want = penalty(case.name, case.params, x)
        got = pen.value(np.array([x], dtype=case.dtype))[0]
        eps = float(np.finfo(case.dtype).eps)
        assert abs(mpmath.mpf(float(got)) - want) <= 8 * eps * want + float(
            np.finfo(case.dtype).smallest_subnormal), (got, want)
    with mpmath.mp.workdps(50):
        got_mp = pen.value(mpmath.mpf(x))
        with mpmath.mp.workdps(60):
            want = penalty(case.name, case.params, x)
        assert abs(got_mp - want) <= mpmath.mpf(10) ** -45 * (want + 1e-300)


def test_penalty_values_at_extreme_parameters() -> None:
    assert Penalty("scad", a=1e300).value(np.array([1e300]))[0] == pytest.approx(5e299)
    assert Penalty("scad", a=1e8).value(np.array([1.0000000000000002]))[0] == 1.0000000000000002
    assert Penalty("tl1", a=5e-324).value(np.array([0.0, 1e-300, 1.0])).tolist() == [0, 1, 1]
    assert Penalty("tl1", a=1e300).value(np.array([1e-300]))[0] == pytest.approx(1e-300, abs=0)
    assert Penalty("tl1", a=1e-300).value(np.array([1e300]))[0] == 1.0
    assert Penalty("lp", p="2/3").value(np.array([8.0, -27.0])).tolist() == pytest.approx(
        [4.0, 9.0], rel=1e-15)
    assert Penalty("l1-l2", alpha=1.0).value(np.array([[0.0, -3.0, 0.0], [3.0, 4.0, 0.0]])
                                             ).tolist() == [0.0, 2.0]
    # the l1 - alpha l2 value keeps its digits for alpha -> 1 near 1-sparse vectors
    v = Penalty("l1-l2", alpha=1.0).value(np.array([1.0, 1e-10]))
    with mpmath.mp.workdps(40):
        want = 1 + mpmath.mpf(1e-10) - mpmath.sqrt(1 + mpmath.mpf(1e-10) ** 2)
    assert abs(v - float(want)) <= 4 * np.spacing(float(want))


# ------------------------------------------------------------------------------ groups


@settings(max_examples=N_PROP)
@given(ALL_CASES, st.lists(st.floats(-5, 5), min_size=1, max_size=5))
def test_group_of_singletons_is_the_scalar_map_and_direction_is_kept(
        case: Case, extra: list[float]) -> None:
    pen = case.penalty()
    y = np.array([case.y, *extra], dtype=case.dtype)
    n = len(y)
    # (y X/r for a singleton is sign(y) X up to one rounding: 2 ulp; sums in another order)
    singles = pen.group_prox(y, case.tau, [[i] for i in range(n)])
    scalar = pen.prox(y, case.tau)
    assert np.all(np.abs(singles - scalar) <= 2 * np.spacing(np.abs(scalar)))
    env_g = pen.group_moreau(y, case.tau, [[i] for i in range(n)])
    env_s = np.sum(pen.moreau(y, case.tau).astype(np.float64))
    assert not np.isnan(env_g)
    if np.isfinite(env_s):
        assert abs(env_g - env_s) <= 8 * n * np.finfo(case.dtype).eps * env_s + float(
            np.finfo(case.dtype).smallest_subnormal) * 8
    x = pen.group_prox(y, case.tau, [list(range(n))])
    if np.any(x != 0):  # the direction of y (unit vectors formed at 50 digits)
        with mpmath.mp.workdps(50):
            ux = [mpmath.mpf(float(v)) for v in x]
            uy = [mpmath.mpf(float(v)) for v in y]
            nx, ny = mpmath.norm(ux), mpmath.norm(uy)
            gap = max(abs(a / nx - b / ny) for a, b in zip(ux, uy, strict=True))
        assert gap <= 16 * np.finfo(case.dtype).eps


def test_group_leaves_ungrouped_entries_and_zero_groups_alone() -> None:
    pen = Penalty("l0")
    y = np.array([0.0, 0.0, 3.0, 0.1, -7.0])
    x = pen.group_prox(y, 2.0, [[0, 1], [3]])
    assert x.tolist() == [0.0, 0.0, 3.0, 0.0, -7.0]
    with mpmath.mp.workdps(30):
        assert pen.group_prox([0, 0, 3, "0.1", -7], 2, [[0, 1], [3]]) == [0, 0, 3, 0, -7]


# ------------------------------------------------------------------------- continuity


@pytest.mark.parametrize("name,prm,tau,cont", [
    ("l1", {}, 5.0, True), ("l0", {}, 1.0, False), ("l0", {}, 0.0, True),
    ("tl1", {"a": 2.0}, 2 / 3, True), ("tl1", {"a": 2.0}, 0.6667, False),
    ("tl1", {"a": 1e8}, 4.9e7, True), ("tl1", {"a": 1e-8}, 1e-16, False),
    ("lp", {"p": Fraction(1, 2)}, 0.1, False), ("lp", {"p": "2/3"}, 0.1, False),
    ("mcp", {"gamma": 3.0}, 2.999, True), ("mcp", {"gamma": 3.0}, 3.0, False),
    ("scad", {"a": 3.7}, 2.69, True), ("scad", {"a": 3.7}, 2.7, False),
    ("scad", {"a": 3.7}, 9.0, False), ("l1-l2", {"alpha": 0.0}, 1.0, True),
    ("l1-l2", {"alpha": 0.5}, 1.0, False),
])
def test_continuity_flag(name: str, prm: dict[str, Any], tau: float, cont: bool) -> None:
    """The flag against hand-derived regimes (critical steps: TL1 tau = a^2/(2(a+1)), MCP
    tau = gamma, SCAD tau = a - 1; l1 - alpha l2 jumps at ties of the largest entry)."""
    pen = Penalty(name, **prm)
    assert pen.is_continuous(tau) is cont
    th = pen.threshold(tau)
    assert (th.jump == 0) == cont and (th.jump_at is None) == cont or name == "l1-l2"


def test_tl1_critical_step_is_continuous_with_the_documented_stable_form() -> None:
    """At tau = a^2/(2(a+1)) exactly (a = 2: tau = 2/3 in mpmath) the jump vanishes and the
    upper branch starts at 0; one ulp above the critical step in float64 the jump is
    O(sqrt(ulp)), not 0, and still no NaN."""
    pen = Penalty("tl1", a=2.0)
    with mpmath.mp.workdps(50):
        crit = mpmath.mpf(2) / 3
        th = pen.threshold(crit)
        assert th.continuous and th.zero == 1  # tau (a+1)/a = 1 = a/2
        assert pen.prox(mpmath.mpf(1) + mpmath.mpf(10) ** -30, crit) < mpmath.mpf(10) ** -14
    tau = float(np.nextafter(2 / 3, 1))
    th = pen.threshold(tau)
    assert not th.continuous and 0 < th.jump < 1e-7
    x = pen.prox(np.array([th.jump_at, np.nextafter(th.jump_at, 2)]), tau)
    assert x[0] == 0 and 0 < x[1] < 1e-7
