r"""An independent high-precision minimiser of the prox objectives (the oracle), and its tests.

The oracle never uses a closed-form prox.  For :math:`y \ge 0` (odd symmetry) it minimises
:math:`F(x) = \tau P(x) + (x-y)^2/2` over :math:`[0, y]` (a minimiser lies there: :math:`P` is
even and nondecreasing in :math:`|x|`, so :math:`F(|x|) \le F(x)` and :math:`F(y) < F(x)` for
:math:`x > y`).  On every smooth piece of :math:`P` the derivative
:math:`h(x) = x - y + \tau P'(x)` is convex (linear for l1, l0, MCP, SCAD; for TL1 and lp
:math:`P'''>0`), so a local minimum of :math:`F` inside a piece is a root of :math:`h` where
:math:`h` increases, i.e. right of :math:`x_c = \operatorname{argmin} h` (a root left of it is a
local maximum of :math:`F`).  Such a root is found by Newton's method from the right end of the
piece, which converges monotonically for a convex increasing function.  Candidates: these
roots, the breakpoints of :math:`P`, 0 and :math:`y`; :math:`F` is compared at 40 digits.

``l1-l2`` (vector): enumerate the supports :math:`S` with signs :math:`\operatorname{sign}(y_i)`
(flipping a sign against :math:`y_i` never helps); on a face the stationarity condition
:math:`x_S(1 - \tau\alpha/r) = |y_S| - \tau` with :math:`r = \lVert x_S\rVert` gives
:math:`r = \tau\alpha \pm \lVert\,|y_S|-\tau\rVert`, two candidates per support (and a whole
sphere of equal values when :math:`|y_S| = \tau`; one point of it suffices).

Group penalties: for a fixed group norm :math:`r` the best direction is
:math:`y_g/\lVert y_g\rVert`, so the minimum is the sum of the scalar minima at the group
norms :math:`\lVert y_g\rVert`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import mpmath
import pytest

DPS = 40

Piece = tuple[Any, Any, Callable[[Any], Any], Callable[[Any], Any], Any]


def _mp(v: Any) -> mpmath.mpf:
    if isinstance(v, Fraction):
        return mpmath.mpf(v.numerator) / v.denominator
    return mpmath.mpf(float(v)) if not isinstance(v, (mpmath.mpf, str)) else mpmath.mpf(v)


def penalty(name: str, prm: dict[str, Any], x: Any) -> mpmath.mpf:
    """The penalties as defined in the literature (re-typed here, not imported)."""
    ax = abs(_mp(x))
    if name == "l1":
        return ax
    if name == "l0":
        return mpmath.mpf(1) if ax else mpmath.mpf(0)
    if name == "tl1":
        a = _mp(prm["a"])
        return (a + 1) * ax / (a + ax)
    if name == "lp":
        return mpmath.power(ax, _mp(prm["p"])) if ax else mpmath.mpf(0)
    if name == "mcp":
        g = _mp(prm["gamma"])
        return ax - ax**2 / (2 * g) if ax <= g else g / 2
    if name == "scad":
        a = _mp(prm["a"])
        if ax <= 1:
            return ax
        if ax <= a:
            return (2 * a * ax - ax**2 - 1) / (2 * (a - 1))
        return (a + 1) / 2
    raise KeyError(name)


def objective(name: str, prm: dict[str, Any], tau: Any, x: Any, y: Any) -> mpmath.mpf:
    """:math:`\\tau P(x) + (x-y)^2/2` at the working precision (inputs converted exactly)."""
    x, y = _mp(x), _mp(y)
    return _mp(tau) * penalty(name, prm, x) + (x - y) ** 2 / 2


def _pieces(name: str, prm: dict[str, Any], tau: mpmath.mpf, y: mpmath.mpf) -> list[Piece]:
    """(lo, hi, h, h', x_c) per smooth piece on x > 0, h = F' and x_c = argmin of h."""
    inf = mpmath.inf

    def lin(lo: Any, hi: Any, slope: Any, c: Any) -> Piece:
        return (lo, hi, lambda x: slope * x + c, lambda x: slope, lo if slope > 0 else hi)

    if name == "l1":
        return [lin(0, inf, 1, tau - y)]
    if name == "l0":
        return [lin(0, inf, 1, -y)]
    if name == "tl1":
        a = _mp(prm["a"])
        k = tau * a * (a + 1)
        return [(0, inf, lambda x: x - y + k / (a + x) ** 2,
                 lambda x: 1 - 2 * k / (a + x) ** 3, mpmath.cbrt(2 * k) - a)]
    if name == "lp":
        p = _mp(prm["p"])
        return [(0, inf, lambda x: x - y + tau * p * mpmath.power(x, p - 1),
                 lambda x: 1 + tau * p * (p - 1) * mpmath.power(x, p - 2),
                 mpmath.power(tau * p * (1 - p), 1 / (2 - p)))]
    if name == "mcp":
        g = _mp(prm["gamma"])
        return [lin(0, g, 1 - tau / g, tau - y), lin(g, inf, 1, -y)]
    if name == "scad":
        a = _mp(prm["a"])
        return [lin(0, 1, 1, tau - y), lin(1, a, 1 - tau / (a - 1), tau * a / (a - 1) - y),
                lin(a, inf, 1, -y)]
    raise KeyError(name)


def _newton_from_right(h: Callable[[Any], Any], dh: Callable[[Any], Any], lo: Any, x: Any) -> Any:
    """Root of a convex increasing h on [lo, x] with h(lo) <= 0 <= h(x)."""
    tiny = mpmath.ldexp(1, -mpmath.mp.prec + 4)
    for _ in range(400):
        hx = h(x)
        if hx <= 0:
            return x
        step = hx / dh(x)
        nxt = max(x - step, lo)
        if nxt >= x or step <= tiny * abs(x):
            return nxt
        x = nxt
    raise AssertionError("oracle Newton did not converge")


def minimise(name: str, prm: dict[str, Any], tau: Any, y: Any) -> tuple[mpmath.mpf, list[Any]]:
    """(min F, the candidates attaining it up to 1e-30 relative, best first), scalar penalty."""
    with mpmath.mp.workdps(DPS):
        tm, ym = _mp(tau), _mp(y)
        big = abs(ym)
        if tm == 0:
            return mpmath.mpf(0), [ym]
        cands = {mpmath.mpf(0), big}
        for lo, hi, h, dh, xc in _pieces(name, prm, tm, big):
            lo, hi = mpmath.mpf(lo), min(mpmath.mpf(hi), big)
            if 0 < lo < big:
                cands.add(lo)
            left = max(lo, xc)
            if left < hi and h(left) <= 0 <= h(hi):
                cands.add(_newton_from_right(h, dh, left, hi))
        sgn = 1 if ym >= 0 else -1
        vals = [(objective(name, prm, tm, sgn * c, ym), sgn * c) for c in cands]
        fmin = min(v for v, _ in vals)
        slack = mpmath.mpf(10) ** (-30) * (ym**2 / 2 + fmin)
        return fmin, [c for v, c in sorted(vals) if v <= fmin + slack]


def _span_bits(*values: Any) -> int:
    """40 digits plus the binary exponent span of the nonzero inputs: enough for the
    cancellations in the l1 - alpha l2 formulas (|y_S| - tau, ||x||_1 - ||x||_2) to be exact."""
    mags = [mpmath.mag(_mp(v)) for v in values if _mp(v)]
    return mpmath.libmp.dps_to_prec(DPS) + (max(mags) - min(mags) if mags else 0)


def l1l2_penalty(alpha: Any, x: Sequence[Any]) -> mpmath.mpf:
    r""":math:`\lVert x\rVert_1 - \alpha\lVert x\rVert_2`, straight from the definition."""
    with mpmath.mp.workprec(_span_bits(*x)):
        xs = [_mp(v) for v in x]
        out = mpmath.fsum(abs(v) for v in xs) - _mp(alpha) * mpmath.sqrt(
            mpmath.fsum(v * v for v in xs))
    with mpmath.mp.workdps(DPS):
        return +out


def l1l2_objective(tau: Any, alpha: Any, x: Sequence[Any], y: Sequence[Any]) -> mpmath.mpf:
    with mpmath.mp.workdps(DPS):
        xs, ys = [_mp(v) for v in x], [_mp(v) for v in y]
        return _mp(tau) * l1l2_penalty(alpha, x) + mpmath.fsum(
            (a - b) ** 2 for a, b in zip(xs, ys, strict=True)) / 2


def minimise_l1l2(tau: Any, alpha: Any, y: Sequence[Any]) -> mpmath.mpf:
    """min F for l1 - alpha l2 by enumerating supports (see the module docstring).

    A candidate on support S is x_S = sign(y_S) c w with w = |y_S| - tau, so
    F = tau |c| (sum|w| - alpha ||w||) + sum_S (c w_i - |y_i|)^2/2 + sum_{not S} y_i^2/2.
    """
    with mpmath.mp.workprec(_span_bits(*y, tau)):  # exact enough |y_S| - tau, tau alpha - ||w||
        tm, am = _mp(tau), _mp(alpha)
        mags = [abs(_mp(v)) for v in y]
        sq = [m * m for m in mags]
        n = len(mags)
        best = mpmath.fsum(sq) / 2
        for k in range(1, n + 1):
            for sup in itertools.combinations(range(n), k):
                w = [mags[i] - tm for i in sup]
                nw = mpmath.sqrt(mpmath.fsum(v * v for v in w))
                rest = mpmath.fsum(sq[i] for i in range(n) if i not in sup) / 2
                if nw == 0:  # |y_S| = tau: x_S = tau alpha/sqrt(k) (1, ..., 1) is a minimiser
                    c = tm * am / mpmath.sqrt(k)
                    pen = tm * c * (k - am * mpmath.sqrt(k))
                    best = min(best, pen + mpmath.fsum((c - mags[i]) ** 2 for i in sup) / 2
                               + rest)
                    continue
                cs = [(tm * am + nw) / nw]
                if tm * am - nw >= 0:
                    cs.append(-(tm * am - nw) / nw)
                l1w = mpmath.fsum(abs(v) for v in w)
                for c in cs:
                    pen = tm * abs(c) * (l1w - am * nw)
                    fit = mpmath.fsum((c * wi - mags[i]) ** 2 for wi, i in zip(w, sup, strict=True))
                    best = min(best, pen + fit / 2 + rest)
        return +best


def norm(y: Sequence[Any]) -> mpmath.mpf:
    with mpmath.mp.workdps(DPS):
        return mpmath.sqrt(mpmath.fsum(_mp(v) ** 2 for v in y))


def group_penalty(name: str, prm: dict[str, Any], x: Sequence[Any],
                  groups: Sequence[Sequence[int]]) -> mpmath.mpf:
    with mpmath.mp.workdps(DPS):
        xs = [_mp(v) for v in x]
        return mpmath.fsum(
            penalty(name, prm, mpmath.sqrt(mpmath.fsum(xs[i] ** 2 for i in g))) for g in groups
        )


def group_objective(name: str, prm: dict[str, Any], tau: Any, x: Sequence[Any],
                    y: Sequence[Any], groups: Sequence[Sequence[int]]) -> mpmath.mpf:
    with mpmath.mp.workdps(DPS):
        xs, ys = [_mp(v) for v in x], [_mp(v) for v in y]
        return _mp(tau) * group_penalty(name, prm, x, groups) + mpmath.fsum(
            (a - b) ** 2 for a, b in zip(xs, ys, strict=True)) / 2


def minimise_group(name: str, prm: dict[str, Any], tau: Any, y: Sequence[Any],
                   groups: Sequence[Sequence[int]]) -> mpmath.mpf:
    with mpmath.mp.workdps(DPS):
        ys = [_mp(v) for v in y]
        total = mpmath.mpf(0)
        for g in groups:
            r = mpmath.sqrt(mpmath.fsum(ys[i] ** 2 for i in g))
            total += minimise(name, prm, tau, r)[0]
        return total


# --------------------------------------------------------------------- tests of the oracle


def test_oracle_soft_and_hard_threshold_by_hand() -> None:
    with mpmath.mp.workdps(DPS):
        f, xs = minimise("l1", {}, 1, 3)
        assert xs == [2] and f == mpmath.mpf("2.5")  # x = 2: tau |x| + 1/2
        f, xs = minimise("l1", {}, 1, "-0.5")
        assert xs == [0] and f == mpmath.mpf("0.125")
        f, xs = minimise("l0", {}, 2, 2)  # exact tie: 0 and 2 both give F = 2
        assert sorted(xs) == [0, 2] and f == 2
        f, xs = minimise("l0", {}, 2, "2.0001")
        assert xs == [mpmath.mpf("2.0001")]


def test_oracle_tl1_tie_and_lp_jump_by_hand() -> None:
    # TL1 a=2, tau=3/2: s = sqrt(2 tau (a+1)) = 3, tie at y = s - a/2 = 2 between 0 and s - a = 1.
    f, xs = minimise("tl1", {"a": 2.0}, 1.5, 2.0)
    assert f == 2 and sorted(float(x) for x in xs) == [0.0, 1.0]
    # l_{1/2}, tau = 1: tie at y = 3/2 between 0 and tau^{2/3} = 1.
    f, xs = minimise("lp", {"p": Fraction(1, 2)}, 1.0, 1.5)
    assert sorted(float(x) for x in xs) == [0.0, 1.0]
    # l_{2/3}, tau = 3/2: tie at 2 (2 tau/3)^{3/4} = 2 between 0 and 1.
    f, xs = minimise("lp", {"p": Fraction(2, 3)}, 1.5, 2.0)
    assert sorted(float(x) for x in xs) == [0.0, 1.0]


def test_oracle_mcp_scad_pieces_by_hand() -> None:
    # MCP gamma=3, tau=1: firm threshold, y=2 -> (2-1)/(1-1/3) = 1.5; y = 4 -> 4.
    assert [float(x) for x in minimise("mcp", {"gamma": 3.0}, 1.0, 2.0)[1]] == [1.5]
    assert [float(x) for x in minimise("mcp", {"gamma": 3.0}, 1.0, -4.0)[1]] == [-4.0]
    # SCAD a=3.7, tau=1 (Fan-Li): y=3 -> ((a-1) y - a)/(a-2) = (8.1 - 3.7)/1.7.
    x = minimise("scad", {"a": 3.7}, 1.0, 3.0)[1]
    assert len(x) == 1 and abs(float(x[0]) - (2.7 * 3 - 3.7) / 1.7) < 1e-15


def test_oracle_l1l2_by_hand() -> None:
    # n = 1: P = (1 - alpha)|x|, soft threshold at (1 - alpha) tau.
    with mpmath.mp.workdps(DPS):
        f = minimise_l1l2(1, "0.5", [2])
        assert f == mpmath.mpf("0.5") * (2 - mpmath.mpf("0.25"))  # x = 1.5: 0.75 + 0.125
    # alpha = 1, y = (0.5, 0.5), tau = 1: keep one entry (P = 0 on 1-sparse x), F = 0.125.
    assert minimise_l1l2(1, 1, [0.5, 0.5]) == mpmath.mpf("0.125")


@pytest.mark.parametrize("name,prm", [("tl1", {"a": 0.3}), ("lp", {"p": Fraction(2, 3)})])
def test_oracle_matches_dense_grid(name: str, prm: dict[str, Any]) -> None:
    # The oracle's minimum is below every point of a fine grid (and attained, up to 1e-30).
    for tau, y in [(0.7, 1.9), (2.0, 3.3), (0.05, 0.2), (5.0, 0.4)]:
        f, xs = minimise(name, prm, tau, y)
        with mpmath.mp.workdps(DPS):
            grid = min(objective(name, prm, tau, y * i / 2000, y) for i in range(2001))
            assert f <= grid
            assert all(abs(objective(name, prm, tau, x, y) - f) <= 1e-30 * (1 + f) for x in xs)
