"""Large-d instances of issue #13 (item 4): k = 4, lam = 0.05, beta = 1, eta = 0.5,
w* = numpy.random.default_rng(d).standard_normal(d) written with 6 significant digits.

* TL1 (a = 1): the nested search came back empty at d >= 2000 (the coarse grid's cells were
  wider than the strip of valid nested roots next to the kept branch's fold); the search now
  walks from invalid roots to the self-consistent supports (``_relu._walk_seeds``).  At
  d = 10^4 the simulated limit is not a nested support (4 of the 12 band coordinates kept): the
  solution set's band region holds it, and ``locate`` returns it.
* l0: the solution set (``describe_solution_set``) holds the limits of 100 random starts at
  d = 100; its count is exact against a brute-force enumeration where that is possible.

The simulations here are plain NumPy loops of the RVSM iteration (theory.relu.grad and
Penalty.prox), independent of the reduction they check.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from rvsm.cli import main
from theory import relu
from theory.limits import _l0set as L0
from theory.limits import _relu as R
from theory.limits import describe_solution_set, relu_fixed_points
from theory.limits._common import FLIP, KEPT, check_instance, make_params
from theory.penalties import Penalty

K, LAM, BETA, ETA = 4, 0.05, 1.0, 0.5


def teacher(d: int) -> np.ndarray:
    """The issue's w*: standard normal draws of default_rng(d), 6 significant digits."""
    return np.array([float(f"{x:.6g}") for x in np.random.default_rng(d).standard_normal(d)])


def simulate(w: np.ndarray, ws: np.ndarray, pen: Penalty, n: int = 20_000) -> np.ndarray:
    """RVSM from w (rows: independent runs) until every run's step is below 1e-14 max|w|."""
    tau = LAM / BETA
    w = np.array(w, dtype=float)
    for _ in range(n):
        u = pen.prox(w, tau)
        w2 = w - ETA * relu.grad(w, ws, K, validate=False) - ETA * BETA * (w - u)
        step = np.max(np.abs(w2 - w), axis=-1)
        w = w2
        if np.all(step <= 1e-14 * np.maximum(1.0, np.max(np.abs(w), axis=-1))):
            return w
    raise AssertionError("the iteration did not converge")


TL1 = Penalty("tl1", a=1.0)


def test_tl1_d2000_lists_the_simulated_limit() -> None:
    """d = 2000 shows the miss of d = 10^4 in the default profile: before the walk the list
    held no sign-consistent point (exit 1 of rvsm fixed-point) while RVSM from a random start
    converges (~1800 steps).  Now the limit is listed: max-abs distance below 1e-9 (the last
    step is below 1e-14 max|w| and rho(J) < 0.995, so the iterate is within ~1e-11 of its
    limit); the set says it is not complete, naming the hysteresis band."""
    ws = teacher(2000)
    fs = relu_fixed_points(ws, K, "tl1", LAM, BETA, a=1.0, eta=ETA)
    good = [f for f in fs if f.good]
    assert good and not fs.complete
    assert fs.message and "hysteresis band" in fs.message
    lim = simulate(np.random.default_rng(1).standard_normal(ws.size), ws, TL1)
    dist = min(float(np.max(np.abs(np.asarray(f.w_bar) - lim))) for f in good)
    assert dist < 1e-9


def test_tl1_d2000_without_the_walk_lists_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root cause, kept as a test: with the walk switched off, every seed of the coarse
    (20 x 16) grid converges to a nested support that fails validation, and the good family
    comes back empty."""
    monkeypatch.setattr(R, "_walk_seeds", lambda *args: [])
    fs = relu_fixed_points(teacher(2000), K, "tl1", LAM, BETA, a=1.0, eta=ETA, outside=False)
    assert not any(f.good for f in fs)


@pytest.mark.slow
def test_tl1_d10000_finds_the_simulated_limit() -> None:
    """The issue's instance (d = 10^4, ~3000 steps of RVSM, about 25 s in all).  The list
    holds the 13 nested supports of the band; the simulated limit keeps 4 of the 12 band
    coordinates, not the largest ones, so it is not among them: the solution set's band
    region holds it, and locate returns it (Newton on its pattern) within 1e-9, valid, with
    a relative residual below 1e-12, attracting."""
    ws = teacher(10_000)
    fs = relu_fixed_points(ws, K, "tl1", LAM, BETA, a=1.0, eta=ETA)
    assert sum(1 for f in fs if f.good) >= 13 and not fs.complete
    lim = simulate(np.random.default_rng(1).standard_normal(ws.size), ws, TL1)
    ss = describe_solution_set(ws, K, "tl1", LAM, BETA, a=1.0, eta=ETA)
    loc = ss.locate(lim, tol=1e-9)
    assert loc.found and loc.kind == "region", loc.message
    reg = ss.regions[loc.region]
    assert reg.kind == "band" and len(reg.band) == 12 and not ss.exact
    fp = loc.fixed_point
    assert fp.residual < 1e-12 and fp.margin > 0 and fp.attracting


def test_l1_and_tl1_limits_of_random_starts_are_located() -> None:
    """Small random l1/TL1 instances, 6 random starts each (population_limit): every converged
    limit away from 0 is found in the described set.  The first instance is the one where a
    point outside the good family ({1} kept against its sign, A < 0) was grouped with a good
    point whose band had the same coordinates, and was not found."""
    from theory.limits import population_limit

    rng = np.random.default_rng(5)
    cases = [(np.array([-2.796, 3.723]), 3, "tl1", 0.3135037555335466, 3.04360033541514,
              0.44572491989333757)]
    for trial in range(8):
        d = int(rng.integers(1, 5))
        ws = np.round(rng.standard_normal(d) * np.exp(rng.uniform(-1, 1)), 3)
        if not np.any(ws):
            ws[0] = 1.0
        name = ("l1", "tl1")[trial % 2]
        lam = float(np.exp(rng.uniform(-4, 0))) * float(np.max(np.abs(ws)))
        cases.append((ws, int(rng.choice([2, 3, 8])), name, lam,
                      float(np.exp(rng.uniform(-1, 1))),
                      float(np.exp(rng.uniform(-1, 1))) if name == "tl1" else None))
    for ws, k, name, lam, beta, a in cases:
        eta = 0.3 / (1 + beta)
        ss = describe_solution_set(ws, k, name, lam, beta, a=a, eta=eta)
        it = population_limit(ws, k, name, lam, beta, eta,
                              rng.standard_normal((6, ws.size)) * 2 * np.linalg.norm(ws), a=a)
        for w, conv in zip(it.w, it.converged):
            if conv and np.max(np.abs(w)) > 1e-6:
                loc = ss.locate(w)
                assert loc.found, (ws.tolist(), k, name, lam, beta, a, loc.message)


# ------------------------------------------------------------------------------ l0

L0PEN = Penalty("l0")


def test_l0_d100_set_holds_the_limits_of_100_random_starts() -> None:
    """The issue's l0 instance at d = 100: the list is capped and incomplete, and a random
    start ends 1.4 to 1.5 (max-abs) away from every listed point.  The described set holds
    each of 100 seeded random starts' limits: locate polishes the limit's own pattern to a
    fixed point within 1e-9 max-abs (the last step is below 1e-14 max|w| and rho(J) <= 0.94),
    relative residual below 1e-12, in a region whose forced-in coordinates the limit keeps and
    whose forced-out ones it prunes; the region's stability verdict is the point's own (the
    full O(d) spectrum of FixedPoint against the region's 4-coordinate representative).  The
    limits are (nearly) all distinct: no list could hold them."""
    ws = teacher(100)
    fs = relu_fixed_points(ws, K, "l0", LAM, BETA, eta=ETA, max_points=16)
    assert not fs.complete and "hysteresis band" in (fs.message or "")
    ss = describe_solution_set(ws, K, "l0", LAM, BETA, eta=ETA)
    assert ss.complete
    rng = np.random.default_rng(2026)
    starts = rng.standard_normal((100, ws.size)) * np.linalg.norm(ws) / math.sqrt(ws.size)
    lims = simulate(starts, ws, L0PEN)
    supports = set()
    for lim in lims:
        loc = ss.locate(lim, tol=1e-9)
        assert loc.found and loc.kind == "region", loc.message
        fp = loc.fixed_point
        assert fp.residual < 1e-12 and fp.margin > 0
        reg = ss.regions[loc.region]
        kept = set(fp.support)
        assert set(ss.forced_in(reg)) <= kept <= set(ss.forced_in(reg)) | set(ss.free(reg))
        if 2 <= len(kept) <= ws.size - 2:
            assert reg.attracting == fp.attracting
        assert fp.attracting
        supports.add(fp.support)
    assert len(supports) >= 95


def test_l0_d100_count_is_bracketed() -> None:
    """At d = 100 every region cuts 76-87 free coordinates by its K-interval: counting the
    kept sets is a counting-knapsack problem (sum of |w*_i|^2 in an interval), beyond the
    exact methods (meet in the middle up to 40 coordinates).  The count is bracketed by the
    discretised count (exact integers): about 8.6e22 fixed points, bounds within 2%."""
    ss = describe_solution_set(teacher(100), K, "l0", LAM, BETA, eta=ETA)
    lo, hi = ss.count_bounds
    assert ss.count is None and not ss.exact and 8e22 < lo <= hi <= 1.02 * lo
    assert math.log2(lo) <= ss.count_log2 <= math.log2(hi)
    alo, ahi = ss.attracting_bounds
    assert alo <= ahi <= hi and ahi <= 1.02 * alo
    assert any("counting knapsack" in n for n in ss.notes)


def brute_l0(ws: np.ndarray, k: int = K, lam: float = LAM, beta: float = BETA,
             eta: float = ETA, n_grid: int = 4000) -> list[tuple[np.ndarray, bool]]:
    """Every l0 fixed point with A != 0, -beta by enumeration, independent of
    theory.limits._l0set: for each kept set S (kept with the sign of w*_i for A > 0, against it
    for A < 0) the full vector x(A) = B(t) sign(w*) |w*| / (A or A + beta) is formed for A on a
    fine grid, t = angle(x, w*) (the stable form), and |x| = r(A, t) = A1 s/(A0 - A) is solved
    by a sign change and bisection; a root counts if the prox of x keeps exactly S and the fixed-point equation
    holds to 1e-9 (theory.relu.grad, Penalty.prox).  Attracting: the spectral radius of the
    dense Jacobian I - eta (Hessian + beta diag(pruned)) is below 1."""
    from theory.limits._common import relu_coeff_kernels

    kern = relu_coeff_kernels()
    kf = np.float64(k)
    s = float(np.linalg.norm(ws))
    a0 = float(kern["A0"](kf))
    m, sig = np.abs(ws), np.where(ws < 0, -1.0, 1.0)
    geo = np.geomspace(1e-12, 0.5, n_grid // 2)
    unit = np.concatenate([geo, 1 - geo[::-1][1:]])
    grids = {1: a0 * unit, -1: -beta * unit[::-1], 0: np.concatenate([-beta * unit[::-1],
                                                                      a0 * unit])}

    def gap(A: np.ndarray, inS: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dx = sig * m * np.where(inS, 1 / A[:, None], 1 / (A[:, None] + beta))
        nx = np.linalg.norm(dx, axis=1)
        xh, wh = dx / nx[:, None], ws / s   # the stable angle 2 atan2(|x^ - w^|, |x^ + w^|)
        t = 2 * np.arctan2(np.linalg.norm(xh - wh, axis=1), np.linalg.norm(xh + wh, axis=1))
        b = kern["B"](kf, t)
        return b * nx * (a0 - A) - kern["A1"](kf, t) * s, dx, b

    out = []
    nz = np.flatnonzero(ws != 0).tolist()
    for side in (1, -1):
        for size in range(len(nz) + 1):
            if size == 0 and side == -1:
                continue
            for S in itertools.combinations(nz, size):
                inS = np.zeros(ws.size, dtype=bool)
                inS[list(S)] = True
                grid = grids[side if size else 0]
                G = gap(grid, inS)[0]
                cands = []
                for j in np.flatnonzero(np.sign(G[:-1]) * np.sign(G[1:]) < 0):
                    lo, hi = grid[j], grid[j + 1]
                    g_lo = G[j]
                    while hi - lo > 1e-15 * abs(lo):
                        mid = 0.5 * (lo + hi)
                        g_mid = gap(np.array([mid]), inS)[0][0]
                        if np.sign(g_mid) == np.sign(g_lo):
                            lo, g_lo = mid, g_mid
                        else:
                            hi = mid
                    cands.append(0.5 * (lo + hi))
                if side == 1 and abs(gap(np.array([a0]), inS)[0][0]) <= 1e-13 * s:
                    cands.append(a0)  # k = 1, t = 0: A1 = 0, so A = A0 whatever r is
                for A in cands:
                    _, dx, b = gap(np.array([A]), inS)
                    w = b[0] * dx[0]
                    u = L0PEN.prox(w, lam / beta)
                    res = relu.grad(w, ws, k) + beta * (w - u)
                    if not np.array_equal(u != 0, inS) or \
                            np.max(np.abs(res)) > 1e-9 * max(1.0, float(np.max(np.abs(w)))):
                        continue
                    jac = np.eye(ws.size) - eta * (relu.hessian(w, ws, k)
                                                    + beta * np.diag(np.where(inS, 0.0, 1.0)))
                    out.append((w, bool(np.max(np.abs(np.linalg.eigvals(jac))) < 1)))
    return out


def test_l0_count_is_exact_against_brute_force() -> None:
    """The issue's instance at d = 8 (2^8 kept sets per side): the described set's count of
    fixed points and of attracting ones equal the brute-force enumeration (148 and 70; one
    region cuts its free coordinates, counted by meeting in the middle), and locate finds
    every enumerated point.  The grid search of the list (find_roots, every pattern given
    explicitly) finds 147 of them: it misses a repelling point with six coordinates kept
    against their sign at t = 3.03, close to pi, where its rows are far apart."""
    ws = teacher(8)
    ss = describe_solution_set(ws, K, "l0", LAM, BETA, eta=ETA)
    bf = brute_l0(ws)
    assert ss.exact and ss.count == len(bf) + len(ss.special) == 148
    assert ss.attracting_count == sum(att for _, att in bf) == 70
    assert any(r.count not in (0, 1 << (r.ranks[1] - r.ranks[0])) for r in ss.regions
               if r.ranks is not None)
    for w, _ in bf:
        assert ss.locate(w).found
    # the list's search, given every pattern explicitly
    pr = make_params(check_instance("l0", LAM, BETA, None), LAM, BETA, mp=False)
    p = R.prepare(ws, K, pr)
    body = np.array(list(itertools.product((0, 1), repeat=p.nnz)), dtype=np.int8)
    n_grid = 0
    for code, t_max in ((KEPT, math.pi / 2), (FLIP, math.pi)):
        pats = np.zeros((body.shape[0], p.n), dtype=np.int8)
        pats[:, :p.nnz] = body * code
        roots = R.find_roots(p, [R.Family("explicit", codes=pats, t_max=t_max)])
        for rt in roots:
            assert ss.locate(R.full_vector(p, rt.xi, rt.pattern)).found
        n_grid += len(roots)
    assert n_grid == 147


def test_l0_random_small_instances_against_brute_force() -> None:
    """Random small instances (d <= 5; a zero of w* in every third, ties from rounding to one
    decimal in every fourth; k in {1, 2, 3, 8}; beta and lam log-uniform): the count and the
    attracting count of the described set (less its degenerate points) equal the brute force,
    which locate finds.  Found by this sweep and fixed: one nonzero coordinate (a single
    achievable K), ends of the K range where a pattern sits exactly (the lightest coordinate,
    all of them; the curves A < 0 approach K = |w*|^2 without a root there), a set that is
    small in two ways counted twice, and k = 1 at t = 0 (the first two cases)."""
    rng = np.random.default_rng(11)
    # k = 1 first: A1(0) = 0, so at t = 0 (all pruned, or all kept) A = A0 for every r, a root
    # at the end of the scan in A (both the description and the brute force missed them)
    cases = [(np.array([0.05, 0.0, 0.0]), 1, 0.01, 5.0),
             (np.array([1.3, -0.7, 0.9]), 1, 3.4139906753705374, 0.05542351877371217)]
    for trial in range(16):
        d = int(rng.integers(1, 6))
        ws = np.round(rng.standard_normal(d) * np.exp(rng.uniform(-1, 1)),
                      1 if trial % 4 == 0 else 3)
        if trial % 3 == 0 and d > 1:
            ws[rng.integers(0, d)] = 0.0
        if not np.any(ws):
            ws[0] = 1.0
        k = int(rng.choice([1, 2, 3, 8]))
        beta = float(np.exp(rng.uniform(-1.5, 1.5)))
        lam = float(np.exp(rng.uniform(-5, 0))) * float(np.max(np.abs(ws)))
        cases.append((ws, k, beta, lam))
    for ws, k, beta, lam in cases:
        eta = 0.3 / (1 + beta)
        ss = describe_solution_set(ws, k, "l0", lam, beta, eta=eta)
        bf = brute_l0(ws, k, lam, beta, eta)
        case = (ws.tolist(), k, beta, lam)
        assert ss.exact, case
        assert ss.count - len(ss.special) == len(bf), case
        att_special = sum(1 for f in ss.special if f.attracting)
        assert ss.attracting_count - att_special == sum(a for _, a in bf), case
        for w, _ in bf:
            assert ss.locate(w).found, case


def test_l0_count_bounds_bracket_the_exact_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """The discretised count (used above 40 free coordinates) on the d = 8 instance, forced
    for every cut region: its bounds bracket the exact count 148."""
    monkeypatch.setattr(L0, "MITM_MAX", 0)
    monkeypatch.setattr(L0, "DP_STATES", 64)
    ss = describe_solution_set(teacher(8), K, "l0", LAM, BETA, eta=ETA)
    lo, hi = ss.count_bounds
    assert lo <= 148 <= hi and lo < hi
    alo, ahi = ss.attracting_bounds
    assert alo <= 70 <= ahi


def test_count_subsets_against_enumeration() -> None:
    """count_subsets / count_many (trivial, meet in the middle, and the discretised bounds
    with incremental updates of the generating polynomial) against counting all 2^n sums."""
    rng = np.random.default_rng(0)
    for _ in range(40):
        n = int(rng.integers(1, 13))
        w = rng.uniform(0.01, 3, n)
        specs = []
        for _ in range(5):
            a = int(rng.integers(0, n))
            b = int(rng.integers(a, n + 1))
            lo, hi = np.sort(rng.uniform(-0.5, w[a:b].sum() + 0.5, 2))
            specs.append((a, b, float(lo), float(hi)))
        exact = L0.count_many(w, specs, 1e-12)
        saved = L0.MITM_MAX, L0.DP_STATES
        try:
            L0.MITM_MAX, L0.DP_STATES = 0, 1 << 10
            bounds = L0.count_many(w, specs, 1e-12)
        finally:
            L0.MITM_MAX, L0.DP_STATES = saved
        for (a, b, lo, hi), ex, bd in zip(specs, exact, bounds):
            sums = np.array([sum(w[a + j] for j in range(b - a) if (q >> j) & 1)
                             for q in range(1 << (b - a))])
            true = int(np.sum((sums >= lo) & (sums < hi)))
            assert ex == (true, true) and bd[0] <= true <= bd[1]


# ---------------------------------------------------------------------------- CLI

W12 = ",".join(f"{x:.6g}" for x in teacher(12))
CLI = ["fixed-point", "--penalty", "l0", "--lam", "0.05", "--beta", "1", "--k", "4",
       "--eta", "0.5", f"--w-star={W12}"]


def test_cli_w0_returns_the_limit_with_its_place_and_certificate(
        capsys: pytest.CaptureFixture[str]) -> None:
    """--w0 random:3: the iteration converges, the landing point is polished (within 1e-9 of
    the iterate), located in a region of the described set (955 fixed points, exact) and
    certified by the interval test; the JSON is valid (no NaN or Infinity)."""
    assert main([*CLI, "--w0", "random:3", "--json"]) == 0
    out = capsys.readouterr().out
    obj = json.loads(out, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    assert obj["iteration"]["converged"] and obj["location"]["found"]
    assert obj["location"]["kind"] == "region" and obj["location"]["distance"] < 1e-9
    assert obj["solution_set"]["count"] == 955 and obj["solution_set"]["exact"]
    lim = np.array(obj["iteration"]["limit"])
    assert np.max(np.abs(lim - np.array(obj["fixed_point"]["w_bar"]))) < 1e-9
    assert obj["certificate"]["certified"] is True
    reg = obj["location"]["region_description"]
    assert set(reg["forced_in"]) <= set(obj["fixed_point"]["support"])
    assert main([*CLI, "--w0", "random:3"]) == 0
    text = capsys.readouterr().out
    assert "located: True" in text and "certificate: certified" in text


def test_cli_describe_and_a_start_that_does_not_converge(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*CLI, "--describe", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert sum(r["count"] for r in obj["regions"]) + len(obj["special"]) == 955
    assert main([*CLI, "--w0", "random:3", "--max-steps", "5"]) == 1
    cap = capsys.readouterr()
    assert "did not converge in 5 steps" in cap.err


@pytest.mark.parametrize("extra,msg", [
    (["--w0", "1,2"], "--w0 has 2 entries"), (["--w0", "random:x"], "integer seed"),
    (["--w0", "random:3", "--model", "binary"], "relu only"),
    (["--w0", "0,0,0,0,0,0,0,0,0,0,0,0"], "nonzero"), (["--w0", "1,nan,0,0,0,0,0,0,0,0,0,0"],
                                                      "NaN"),
    (["--describe", "--dps", "30"], "float64"), (["--w0", "random:3", "--max-steps", "0"],
                                                 "--max-steps"),
])
def test_cli_w0_bad_input_is_one_line_exit_2(extra: list[str], msg: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*CLI, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and msg in err and "Traceback" not in err


def test_cli_w0_needs_eta(capsys: pytest.CaptureFixture[str]) -> None:
    args = [a for a in CLI if a not in ("--eta", "0.5")]
    assert main([*args, "--w0", "random:1"]) == 2
    assert "--w0 needs --eta" in capsys.readouterr().err
