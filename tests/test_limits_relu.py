"""Fixed points of ReLU RVSM (theory/limits): residuals, the float64 iteration at each point,
uniqueness for l1 where it holds and the counterexamples where it does not, precision, bounds.

The simulator here is a plain NumPy loop of the RVSM iteration (theory.relu.grad and
theory.penalties.Penalty.prox), independent of the reduction it checks.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from theory import relu
from theory.limits import _relu as R
from theory.limits import fixed_points, relu_fixed_points
from theory.limits._common import KEPT, check_instance, make_params
from theory.penalties import Penalty

EXAMPLE = dict(w_star=[1.0, -0.8, 0.5], k=3, lam=0.1, beta=1.0)


def penalty(name: str, a: float | None) -> Penalty:
    return Penalty(name, a=a) if name == "tl1" else Penalty(name)


def rvsm_step(w: np.ndarray, w_star: np.ndarray, k: int, pen: Penalty, lam: float, beta: float,
              eta: float) -> np.ndarray:
    u = pen.prox(w, lam / beta)
    return w - eta * relu.grad(w, w_star, k, validate=False) - eta * beta * (w - u)


def run(w: np.ndarray, n: int, *args: object) -> tuple[np.ndarray, float]:
    """n steps; returns the last iterate and the largest step."""
    big = 0.0
    for _ in range(n):
        w2 = rvsm_step(w, *args)  # type: ignore[arg-type]
        big = max(big, float(np.max(np.abs(w2 - w))))
        w = w2
    return w, big


@st.composite
def instances(draw: st.DrawFn, penalties: tuple[str, ...] = ("l1", "l0", "tl1"),
              d_max: int = 4) -> dict:
    d = draw(st.integers(1, d_max))
    w = np.array(draw(st.lists(st.floats(-2, 2, allow_nan=False).filter(lambda x: abs(x) > 0.05
                                                                        or x == 0),
                               min_size=d, max_size=d)))
    if not np.any(w):
        w[0] = 1.0
    name = draw(st.sampled_from(penalties))
    a = draw(st.floats(0.2, 5.0)) if name == "tl1" else None
    beta = draw(st.floats(0.1, 5.0))
    lam = draw(st.floats(0.005, 0.6)) * float(np.max(np.abs(w)))
    k = draw(st.sampled_from([1, 2, 3, 5, 16]))
    return dict(w_star=w, k=k, penalty=name, a=a, lam=lam, beta=beta)


def step_size(fp) -> float | None:
    """A step with rho(J) < 1 (half the largest), or None if no step makes J a contraction."""
    return None if fp.eta_max is None else 0.5 * min(fp.eta_max, 4.0)


def check_point_under_iteration(inst: dict, fp, rng: np.random.Generator) -> None:
    """At an attracting point: started at w_bar or 1e-11 away, the iterates stay within 1e-10
    (300 steps); started 1e-6 away they return within 1e-10 when rho(J) <= 0.98 (enough steps
    for rho^n 1e-6 <= 1e-11).  At a point with rho(J) >= 1.05: a 1e-8 kick grows tenfold.

    Tolerances: rounding in one step is ~1e-16 |w|; for a contraction it accumulates to at
    most ~1e-16/(1 - rho) (1e-14 at rho = 0.99), far below 1e-10.
    """
    ws = np.asarray(inst["w_star"], dtype=float)
    pen = penalty(inst["penalty"], inst["a"])
    eta = step_size(fp)
    wb = np.array(fp.w_bar, dtype=float)
    scale = max(1.0, float(np.max(np.abs(wb))))
    if eta is None or fp.kink:
        return
    rho = max(abs(1 - eta * fp.curvature[0]), abs(1 - eta * fp.curvature[1]))
    args = (ws, inst["k"], pen, inst["lam"], inst["beta"], eta)
    if rho < 1:
        for start in (wb, wb + 1e-11 * scale * rng.standard_normal(wb.size)):
            w = start
            for _ in range(300):
                w = rvsm_step(w, *args)
                assert float(np.max(np.abs(w - wb))) <= 1e-10 * scale
        if rho <= 0.98:
            n = int(math.ceil(math.log(1e-5) / math.log(max(rho, 1e-3)))) + 10
            w, _ = run(wb + 1e-6 * scale * rng.standard_normal(wb.size), n, *args)
            assert float(np.max(np.abs(w - wb))) <= 1e-10 * scale
    elif rho >= 1.05 and fp.curvature[0] < 0:
        n = min(5000, int(math.ceil(math.log(1e3) / math.log(rho))) + 10)
        kick = rng.standard_normal(wb.size)
        w = wb + 1e-8 * scale * kick / np.linalg.norm(kick)
        grew = False
        for _ in range(n):
            w = rvsm_step(w, *args)
            if float(np.linalg.norm(w - wb)) >= 1e-7 * scale:
                grew = True
                break
        assert grew


@settings(max_examples=examples(150))
@given(instances(), st.integers(0, 2**32 - 1))
def test_residuals_and_the_iteration_at_every_fixed_point(inst: dict, seed: int) -> None:
    """Every reported fixed point: residual < 1e-12 (float64: the equation's terms are O(1)
    and computed with a few ulp); the iteration behaves as reported (see the helper)."""
    fs = relu_fixed_points(**inst)
    rng = np.random.default_rng(seed)
    for fp in fs:
        assert fp.residual < 1e-12
        check_point_under_iteration(inst, fp, rng)


def test_cli_example_l0_has_every_support_as_an_attracting_limit() -> None:
    """The issue's example with l0: all 8 supports are fixed points of the good family, all
    attracting at eta = 0.5, plus 3 with one coordinate kept against its sign (A < 0), also
    attracting, and the degenerate anti-parallel point (A = -beta, t = pi), which is not
    (M has the eigenvalue 0).  Each is checked by the float64 iteration."""
    fs = relu_fixed_points(penalty="l0", eta=0.5, **EXAMPLE)
    good = [f for f in fs if f.good]
    assert sorted(f.support for f in good) == sorted(
        [(), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)])
    assert len(fs) == 12 and fs.attracting_count == 11
    anti = [f for f in fs if not f.attracting]
    assert anti[0].angle == pytest.approx(math.pi) and anti[0].coeffs["A"] == -1.0
    exact = [f for f in good if f.support == (0, 1, 2)][0]
    np.testing.assert_allclose(exact.w_bar, EXAMPLE["w_star"], atol=1e-14)  # exact recovery
    rng = np.random.default_rng(0)
    inst = dict(penalty="l0", a=None, **EXAMPLE)
    for fp in fs:
        check_point_under_iteration(inst, fp, rng)


L1_FOLD = dict(w_star=[-1.0, -1.3125, -1.1875], k=3, penalty="l1", lam=0.29921122377499415,
               beta=3.0)


def test_l1_can_have_two_attracting_limits_with_positive_A() -> None:
    """Counterexample (found by the sparsity test): inside the A > 0 family, l1 has a fold.
    Three fixed points with A > 0: supports {1, 2} (A = 0.0665) and {1} (A = 0.0300), both
    attracting (the float64 iteration returns from 1e-4 away to 1e-12), and a saddle between
    them (support {1, 2}, A = 0.0324)."""
    fs = relu_fixed_points(eta=0.1, **L1_FOLD)
    pos = [f for f in fs if f.coeffs["A"] > 0]
    assert len(pos) == 3
    att = sorted((f.support, round(f.coeffs["A"], 4)) for f in pos if f.attracting)
    assert att == [((1,), 0.03), ((1, 2), 0.0665)]
    rng = np.random.default_rng(2)
    pen = penalty("l1", None)
    ws = np.array(L1_FOLD["w_star"])
    for f in pos:
        if f.attracting:
            wb = np.array(f.w_bar)
            w, _ = run(wb + 1e-4 * rng.standard_normal(3), 20000, ws, 3, pen, L1_FOLD["lam"],
                       L1_FOLD["beta"], 0.1)
            assert float(np.max(np.abs(w - wb))) < 1e-12


@settings(max_examples=examples(60))
@given(instances(penalties=("l1",), d_max=4), st.integers(0, 2**32 - 1))
def test_l1_unique_limit_agrees_with_a_long_simulation(inst: dict, seed: int) -> None:
    """Where l1 has a single attracting fixed point (always so for small lam; see the
    counterexample below for large lam), the iteration from random starts converges to it.

    Tolerance 1e-9: the run stops when a step is below 1e-15 |w|; with contraction factor rho
    the distance to the limit is then at most ~1e-15/(1 - rho) <= 1e-11 for rho <= 0.99."""
    inst = dict(inst, lam=inst["lam"] * 0.1)
    fs = relu_fixed_points(**inst)
    cands = [f for f in fs if f.eta_max is not None]
    assume(len(cands) == 1 and not cands[0].kink)
    fp = cands[0]
    eta = 0.5 * min(fp.eta_max, 4.0)
    fs = relu_fixed_points(**inst, eta=eta)
    assume(fs.attracting_count == 1)
    rho = max(abs(1 - eta * fp.curvature[0]), abs(1 - eta * fp.curvature[1]))
    assume(rho <= 0.99)
    ws = np.asarray(inst["w_star"], dtype=float)
    rng = np.random.default_rng(seed)
    pen = penalty("l1", None)
    converged = 0
    for _ in range(3):
        w = ws + 0.5 * float(np.linalg.norm(ws)) * rng.standard_normal(ws.size)
        for _ in range(20000):
            w2 = rvsm_step(w, ws, inst["k"], pen, inst["lam"], inst["beta"], eta)
            if float(np.max(np.abs(w2 - w))) <= 1e-15 * max(1.0, float(np.max(np.abs(w2)))):
                w = w2
                break
            w = w2
        else:
            continue
        converged += 1
        np.testing.assert_allclose(w, fp.w_bar, atol=1e-9)
    assert converged >= 1


L1_COUNTEREXAMPLE = dict(w_star=[0.1, 2.5, 0.7, 0.4, 1.7], k=5, penalty="l1",
                         lam=0.3629119507373795, beta=1.4458839716722613)


def test_l1_can_have_several_attracting_limits() -> None:
    """Counterexample to 'the l1 limit is unique' (found by this toolkit): for a large lam,
    three attracting fixed points: the A > 0 one (support {1}) and two 1-sparse ones with A < 0
    (supports {3} and {0}: a *smaller* |w*_i| kept), and more outside the good family.  The
    float64 iteration started near each stays there, and random starts reach more than one."""
    fs = relu_fixed_points(eta=0.5, **L1_COUNTEREXAMPLE)
    good_att = sorted(f.support for f in fs if f.good and f.attracting)
    assert good_att == [(0,), (1,), (3,)]
    assert any(f.attracting and not f.good for f in fs)
    rng = np.random.default_rng(1)
    inst = dict(a=None, **L1_COUNTEREXAMPLE)
    for f in fs:
        check_point_under_iteration(inst, f, rng)
    ws = np.array(L1_COUNTEREXAMPLE["w_star"])
    pen = penalty("l1", None)
    reached = set()
    for scale in (0.1, 1.0, 3.0, 0.1, 1.0, 3.0, 1.0, 1.0):
        w = rng.standard_normal(5) * scale
        w, _ = run(w, 3000, ws, 5, pen, L1_COUNTEREXAMPLE["lam"], L1_COUNTEREXAMPLE["beta"], 0.5)
        d = [float(np.max(np.abs(w - np.array(f.w_bar)))) for f in fs]
        assert min(d) < 1e-9   # every run ends at a listed fixed point
        reached.add(int(np.argmin(d)))
    assert len(reached) >= 2


@settings(max_examples=examples(40))
@given(instances(d_max=3), st.sampled_from([20, 40]))
def test_mpmath_fixed_points(inst: dict, dps: int) -> None:
    """With dps digits: residual < 10^(-dps+5) (the 10 guard digits leave ~dps+10 correct
    digits; 5 are given away to the conditioning of the equation), stable at 2 dps, and equal
    to the float64 result to 1e-12 relative (float64's own accuracy)."""
    f64 = relu_fixed_points(**inst)
    assume(all(f.margin > 1e-9 for f in f64))  # a coordinate on a threshold: a tie
    fmp = relu_fixed_points(**inst, dps=dps)
    assert len(fmp) == len(f64)
    for b in fmp:  # pair each mpmath point with the nearest float64 one (ties make sorting fragile)
        wb = np.array([float(x) for x in b.w_bar])
        a = min(f64, key=lambda f: float(np.max(np.abs(np.array(f.w_bar) - wb))))
        assert b.residual < 10.0 ** (-dps + 5)
        assert b.stable
        np.testing.assert_allclose(wb, a.w_bar, rtol=1e-12, atol=1e-13)
    assert mpmath.mp.dps == 15


@settings(max_examples=examples(150))
@given(instances())
def test_the_derived_bound_holds(inst: dict) -> None:
    """limits.md step 6: every sign-consistent fixed point with A >= 0 has |w_bar - w*| <=
    bound and |u_bar - w*| <= bound + sqrt(s0) delta_P (1e-12 slack for rounding)."""
    for fp in relu_fixed_points(**inst):
        b = fp.bound
        if fp.good and fp.coeffs["A"] >= 0:
            assert b.holds
            assert b.w_dist <= b.w_bound * (1 + 1e-12) + 1e-12
            assert b.u_dist <= b.u_bound * (1 + 1e-12) + 1e-12
        else:
            assert not b.holds and b.w_bound is None


def test_bound_is_tight_to_first_order_for_small_lam() -> None:
    """As lam -> 0 the bound is linear in eps = beta sqrt(s0) delta_P; the actual distance is
    too, and the ratio bound/actual stays bounded (here below 10)."""
    ratios = []
    for lam in (1e-3, 1e-4):
        fs = relu_fixed_points([1.0, -0.8, 0.5], 3, "l1", lam, 1.0)
        fp = fs[0]
        ratios.append(fp.bound.w_bound / fp.bound.w_dist)
    assert all(1 <= r < 10 for r in ratios)
    assert ratios[0] == pytest.approx(ratios[1], rel=0.05)


@pytest.mark.parametrize("kwargs,match", [
    (dict(beta=0.0), "beta"), (dict(beta=-1.0), "beta"), (dict(lam=-0.1), "lam"),
    (dict(w_star=[0.0, 0.0]), "nonzero"), (dict(w_star=[1.0, float("nan")]), "NaN"),
    (dict(penalty="tl1"), "needs the parameter a"), (dict(penalty="tl1", a=0.0), "a must be"),
    (dict(penalty="l1", a=1.0), "does not apply"), (dict(k=0), "k must"),
    (dict(lam=float("nan")), "lam"), (dict(eta=-1.0), "eta"), (dict(penalty="scad"), "penalty"),
])
def test_bad_input(kwargs: dict, match: str) -> None:
    args = dict(w_star=[1.0, -0.8, 0.5], k=3, penalty="l1", lam=0.1, beta=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fixed_points("relu", **args)


def test_large_lam_has_no_fixed_point_of_the_good_family_message() -> None:
    """An instance whose limits all lie outside the good family gets a message saying so."""
    fs = relu_fixed_points([1.0, 0.0, 0.0], 2, "l0", 5.0, 1.0, eta=0.1)
    if not any(f.good for f in fs):
        assert fs.message and "no sign-consistent fixed point" in fs.message
    fs = relu_fixed_points([1.0, -0.8, 0.5], 3, "l1", 0.1, 1.0)
    assert fs.message is None and fs.unique


def _nested_prob(d: int, name: str, lam: float, seed: int = 1) -> tuple[R.Prob, R.Family]:
    a = 1.0 if name == "tl1" else None
    pr = make_params(check_instance(name, lam, 1.0, a), lam, 1.0, mp=False)
    p = R.prepare(np.random.default_rng(seed).standard_normal(d), 4, pr)
    return p, R.nested_family(p, KEPT)


@pytest.mark.parametrize("d,name,max_points", [(2000, "tl1", None), (1000, "l0", 20)])
def test_the_nested_screen_keeps_every_root(monkeypatch: pytest.MonkeyPatch, d: int, name: str,
                                            max_points: int | None) -> None:
    """For large d, hundreds of neighbouring nested supports seed the same cell, and find_roots
    solves only those whose predicted root may pass validation (_screen_batch).  Reference: the
    same search with the screen off (every seed solved, as before the screen existed).  The
    roots must be the same, in the same order (max_points keeps the first ones found): same
    patterns and (r, t) equal to 1e-12 relative (the seeds both solve go through the same
    code; only rounding-level differences are allowed for), and the screen must have skipped
    seeds, else this checks nothing."""
    p, fam = _nested_prob(d, name, 0.02)
    skipped: list[int] = []
    screen = R._screen_batch

    def counting(*args: object) -> set[int]:
        out = screen(*args)  # type: ignore[arg-type]
        skipped.append(len(out))
        return out

    monkeypatch.setattr(R, "_screen_batch", counting)
    fast = R.find_roots(p, [fam], n_t=20, n_r=16, max_points=max_points)
    assert sum(skipped) >= 20
    monkeypatch.setattr(R, "SCREEN_MIN", 10**9)
    full = R.find_roots(p, [fam], n_t=20, n_r=16, max_points=max_points)
    assert len(fast) == len(full) >= 1
    for a_, b_ in zip(fast, full):
        assert np.array_equal(a_.pattern, b_.pattern)
        assert a_.r == pytest.approx(b_.r, rel=1e-12) and a_.t == pytest.approx(b_.t, rel=1e-12)


@pytest.mark.parametrize("name", ["tl1", "l0"])
def test_nested_root_prediction_matches_newton(name: str) -> None:
    """predict_nested_roots (a dozen evaluations of the whole nested family) against damped
    Newton on the stable residual (residual_F) started from each prediction, for 120 supports
    around a valid fixed point's (d = 3000): they agree to 1e-6 in log r and 1e-6 relative in
    t.  Measured: 1e-11 (TL1), 1e-8 (l0); the model is a biquadratic on a box the size of the
    roots' spread, so its error is third order in that spread."""
    p, fam = _nested_prob(3000, name, 0.02)
    fs = relu_fixed_points(p.w_star, 4, name, 0.02, 1.0, a=1.0 if name == "tl1" else None,
                           outside=False, max_points=1)
    f = fs[0]
    j = sum(1 for c in f.pattern if c != "pruned")
    pats = np.arange(j - 60, j + 60)
    rp, tp = R.predict_nested_roots(p, fam, pats, math.log(f.norm), f.angle)
    for q, jj in enumerate(pats):
        sol = R.newton_float(p, fam.pattern(int(jj), p), float(rp[q]), float(tp[q]), fam.t_max)
        assert sol is not None and sol[2] < 1e-12
        assert abs(sol[0] - rp[q]) < 1e-6 and abs(sol[1] - tp[q]) < 1e-6 * tp[q]


def test_tl1_above_fold_max_against_the_iteration() -> None:
    """TL1 with more nonzero coordinates than FOLD_MAX (no fold nodes: the rows hold only their
    base and A-image nodes, padded to that count).  Here A ~ 0.2 is far above beta
    kappa_a/(1 - kappa_a) ~ 0.09 (phi monotone: one limit); it is listed, and the float64
    iteration from three random starts converges to it (1e-9: the last step is below 1e-15
    and rho(J) < 0.99, so the distance is below ~1e-13)."""
    ws = np.random.default_rng(8).standard_normal(R.FOLD_MAX + 16)
    inst = dict(w_star=ws, k=4, penalty="tl1", lam=0.02, beta=1.0, a=1.0)
    fs = relu_fixed_points(**inst, eta=0.5, outside=False)
    assert len(fs) == 1 and fs[0].attracting and fs[0].spectral_radius < 0.99
    pen = penalty("tl1", 1.0)
    rng = np.random.default_rng(9)
    for _ in range(3):
        w = ws + 0.5 * rng.standard_normal(ws.size)
        for _ in range(20000):
            w2 = rvsm_step(w, ws, 4, pen, 0.02, 1.0, 0.5)
            if float(np.max(np.abs(w2 - w))) <= 1e-15 * max(1.0, float(np.max(np.abs(w2)))):
                break
            w = w2
        np.testing.assert_allclose(w2, fs[0].w_bar, atol=1e-9)


def test_near_tied_teacher_entries_keep_both_swapped_supports() -> None:
    """|w*_1| = 0.8018 and |w*_2| = 0.8050: the supports {1, 3} and {2, 3} have roots closer
    than the (r, t) grid resolves; before cross-seeding of swapped patterns the calculator
    listed only {1, 3}, while random-start RVSM runs also ended on {2, 3} (found by the
    statement limits.complete_means_complete).  Independent check of the listed point: one
    float64 RVSM step (theory.relu.grad, Penalty.prox) maps w_bar to itself within 1e-12
    relative (a few roundings of O(1) terms)."""
    from theory import relu
    from theory.limits import fixed_points
    from theory.penalties import Penalty

    w_star = np.array([0.0, 0.80178352, 0.8049688, 0.70314597])
    lam, beta, eta, k = 0.06645468975960747, 1.0, 0.5, 5
    fs = fixed_points("relu", w_star, k, "tl1", lam, beta, a=1.0, eta=eta)
    both_kept = ("pruned", "kept", "pruned", "kept")
    swapped = [fp for fp in fs if fp.pattern == ("pruned", "pruned", "kept", "kept")]
    assert len(swapped) == 1 and any(fp.pattern == both_kept for fp in fs)
    w = np.array(swapped[0].w_bar, dtype=float)
    u = Penalty("tl1", a=1.0).prox(w, lam / beta)
    step = w - eta * relu.grad(w, w_star, k) - eta * beta * (w - u)
    assert np.max(np.abs(step - w)) <= 1e-12 * np.max(np.abs(w))
