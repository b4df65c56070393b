r"""Every fixed point of normalised RVSCGD with the expected coarse gradient (P2, P4).

Iteration (theory.md section 3): :math:`u = \operatorname{prox}_{(\lambda/\beta)P}(w)`,
:math:`\tilde w = w - \eta\,E g(w) - \eta\beta(w - u)`, :math:`w \leftarrow \tilde w/|\tilde w|`, with
:math:`E g(w) = a\,\hat w - c\,\hat w^*` (:func:`theory.binary.coarse_coeffs_expr`; relu STE
:math:`a = c = 1/(k\sqrt{2\pi})`, identity STE twice that).  The model depends on :math:`w^*` only
through :math:`\hat w^*`; distances are measured to :math:`\hat w^*`.

Fixed points (``proofs_notes/limits.md``, step 7): :math:`|\bar w| = 1` and
:math:`\tilde w = \gamma\bar w` with :math:`\gamma > 0`, i.e.

.. math:: (\alpha + \beta)\bar w - \beta\operatorname{prox}(\bar w) = c\,\hat w^*,\qquad
          \alpha = a + (\gamma - 1)/\eta,

the same coordinatewise equation as ReLU with :math:`A = \alpha`, :math:`B = c` constant, and a
single scalar unknown :math:`\alpha` closed by :math:`|\bar w| = 1`.  For a fixed pattern each
branch is monotone in :math:`\alpha` except ``KEPT_LOW``/``FLIP``, so l1 with :math:`\alpha > 0`
has at most one fixed point (:math:`|x(\alpha)|` strictly decreasing).  The limit does not depend
on :math:`\eta` except through :math:`\gamma = 1 + \eta(\alpha - a) > 0`.

Stability: on the tangent space :math:`\bar w^\perp` the Jacobian is
:math:`I - (\eta/\gamma)\,\Pi\operatorname{diag}(\varphi'(\bar w_i))\Pi` (:math:`\Pi` the projection
on :math:`\bar w^\perp`), so :math:`\rho(J) = \max|1 - (\eta/\gamma)\mu|` over the extreme
eigenvalues :math:`\mu` of the compression (:mod:`theory.limits._spectral`).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from theory import binary
from theory._validate import check_dps, check_k, to_mpf_vector
from theory.geometry import angle as angle_np
from theory.geometry import angle_mp, norm, norm_mp
from theory.limits import _relu as R
from theory.limits._common import (
    FLIP,
    KEPT,
    KEPT_LOW,
    PRUNED,
    branch_mp,
    branch_np,
    check_instance,
    make_params,
)
from theory.limits._spectral import extreme_eigenvalues_compressed
from theory.limits._types import FixedPoint, FixedPointSet
from theory.limits.bounds import binary_bound
from theory.limits.degenerate import complete_set
from theory.limits.relu_rvsm import GUARD_DPS, check_eta, check_w_star

__all__ = ["binary_fixed_points", "coarse_constants"]


@functools.cache
def _coarse_exprs(ste: str) -> tuple[sp.Expr, sp.Expr]:
    binary.check_ste(ste)
    a_expr, b_expr = binary.coarse_coeffs_expr(ste)
    free = (a_expr.free_symbols | b_expr.free_symbols) - {binary.k}
    if free:
        raise ValueError(f"ste {ste!r}: the expected coarse gradient depends on "
                         f"{sorted(map(str, free))}; only constant-coefficient estimators "
                         "(relu, identity) reduce to one scalar unknown")
    return a_expr, -b_expr


@functools.cache
def _loss_kernel() -> Any:
    from theory.backends import Compiled

    return Compiled((binary.k, binary.r, binary.t), binary.loss_expr())


def _loss_mp(x: list[Any], ws: list[Any], k: int) -> Any:
    """binary.loss_mp, or the derived closed form where it fails."""
    try:
        return binary.loss_mp(x, ws, k)
    except ZeroDivisionError:
        # TODO(binary.py, issue 4): loss_mp / coarse_grad_mp divide by zero when w is parallel
        # to w*; evaluate the derived loss expression at (|w|, angle) instead.
        return _loss_kernel().mp(k, norm_mp(x), angle_mp(x, ws))


def coarse_constants(k: int, ste: str = "relu", dps: int | None = None) -> tuple[Any, Any]:
    """``(a, c)`` with :math:`E g = a\\hat w - c\\hat w^*` (floats, or mpf at ``dps``)."""
    k = check_k(k)
    a_expr, c_expr = _coarse_exprs(ste)
    if dps is None:
        return float(a_expr.subs(binary.k, k)), float(c_expr.subs(binary.k, k))
    with mpmath.mp.workdps(dps):
        return (mpmath.mpf(sp.N(a_expr.subs(binary.k, k), dps + 5)),
                mpmath.mpf(sp.N(c_expr.subs(binary.k, k), dps + 5)))


# -------------------------------------------------------------------------- search

def _alpha_nodes(beta: float, c: float, n: int) -> np.ndarray:
    g = 10.0 ** -np.linspace(0.5, 12.0, 14)
    half = np.linspace(0.0, 1.0, n + 2)[1:-1]
    nodes = np.concatenate([-beta + beta * half, -beta + beta * g, -beta * g, c * half, c * g,
                            c - c * g, [c * (1 + 1e-9)]])
    return np.unique(nodes[nodes > -beta])


def _xi(p: R.Prob, pattern: Any, alpha: float, c: float) -> tuple[np.ndarray, np.ndarray]:
    y = c * p.m
    if isinstance(pattern, str):
        if not alpha > 0:
            return np.full(p.n, np.nan), np.zeros(p.n, dtype=np.int8)
        pattern = np.where(y > (alpha + p.pr.beta) * p.pr.tau, KEPT, PRUNED).astype(np.int8)
    xi = np.empty(p.n)
    for code in (PRUNED, KEPT, KEPT_LOW, FLIP):
        sel = pattern == code
        if np.any(sel):
            xi[sel] = branch_np(code, y[sel], np.float64(alpha), p.pr).xi
    free = _free(p, pattern, alpha)
    if free is not None:  # l0, alpha = 0: the false support's magnitude closes |x| = 1
        rest = float(np.sum(np.where(free, 0.0, xi) ** 2))
        xi[free] = math.sqrt(max(1 - rest, 0.0))
    return xi, pattern


def _free(p: R.Prob, pattern: np.ndarray, alpha: float) -> np.ndarray | None:
    """l0 at alpha = 0: the false-support coordinates (FLIP at |w*_i| = 0), whose branch
    alpha xi = 0 leaves xi free; None otherwise."""
    if p.pr.name != "l0" or alpha != 0:
        return None
    free = (pattern == FLIP) & (p.m == 0)
    return free if np.any(free) else None


def _g(p: R.Prob, pattern: Any, alpha: float, c: float) -> float:
    xi, _ = _xi(p, pattern, alpha, c)
    if not np.all(np.isfinite(xi)):
        return math.nan
    big = float(np.max(np.abs(xi)))
    if big == 0:
        return -math.inf
    return math.log(float(np.linalg.norm(xi / big)) * big)


def _bisect(f: Any, lo: float, hi: float) -> float | None:
    flo, fhi = f(lo), f(hi)
    if not (math.isfinite(flo) or flo == -math.inf) or not math.isfinite(fhi):
        return None
    if flo == 0:
        return lo
    if fhi == 0:
        return hi
    if (flo > 0) == (fhi > 0):
        return None
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        fm = f(mid)
        if not (math.isfinite(fm) or fm == -math.inf):
            return None
        if fm == 0:
            return mid
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return (lo + hi) / 2


def _roots(p: R.Prob, fams: list[R.Family], c: float, n_nodes: int) -> list[tuple[Any, float]]:
    beta = float(p.pr.beta)
    nodes = _alpha_nodes(beta, c, n_nodes)
    folds = R.fold_alphas(p, c)  # TL1: where a coordinate's kept roots cease to exist
    if folds.size:
        folds = folds[(folds > -beta) & (folds < c)]
        eps_ = 1e-10 * np.maximum(1.0, np.abs(folds))
        nodes = np.unique(np.concatenate([nodes, folds - eps_, folds + eps_]))
    out: list[tuple[Any, float]] = []
    for fam in fams:
        a_nodes = nodes[nodes < 0] if fam.code == FLIP and fam.kind == "single" else nodes
        if a_nodes.size < 2:
            continue
        n2, _, inv, _ = R.row_sums(p, fam, a_nodes, np.full(a_nodes.shape, c))
        with np.errstate(all="ignore"):
            g = 0.5 * np.log(n2)
        fin = np.isfinite(g)
        plaus = inv == 0
        sc = fin[:, :-1] & fin[:, 1:] & (np.sign(g[:, :-1]) != np.sign(g[:, 1:]))
        sc &= plaus[:, :-1] | plaus[:, 1:]
        for pi, j in np.argwhere(sc):
            pat = fam.pattern(int(pi), p)
            a = _bisect(lambda al, pat=pat: _g(p, pat, al, c), float(a_nodes[j]),
                        float(a_nodes[j + 1]))
            # a sign change across a discontinuity (a branch ending at its fold, or TL1's
            # kept-low switching roots at alpha = 0) is not a root: check |x| = 1
            if a is not None and abs(_g(p, pat, a, c)) <= 1e-12:
                out.append((pat, a))
        for pi, j in _dips(g, fin, plaus, n2, a_nodes, p.pr.name in ("l1", "l0")):
            pat = fam.pattern(int(pi), p)
            out.extend((pat, a) for a in _dip_roots(lambda al, pat=pat: _g(p, pat, al, c),
                                                    float(a_nodes[j - 1]), float(a_nodes[j + 1]),
                                                    float(np.sign(g[pi, j]))))
    return out


def _dips(g: np.ndarray, fin: np.ndarray, plaus: np.ndarray, n2: np.ndarray,
          a_nodes: np.ndarray, convex: bool) -> np.ndarray:
    """(pattern, node j) pairs where the sampled g = log|x| has a local extremum towards zero
    (|g| at node j no larger than at j - 1 and j + 1, all three of one sign): two roots near a
    fold can both lie between adjacent nodes, with no sign change at the nodes.  Where g is
    unimodal the extremum lies in [a_(j-1), a_(j+1)].

    ``convex`` (l1, l0): on each branch every xi_i is c m_i/(alpha + beta), (c m_i -+ lam)/alpha
    or c m_i/alpha, so |x|^2 is convex on any interval without alpha = 0 or -beta (g is then
    quasi-convex, has no interior maximum, and the samples show every minimum).  A convex
    function lies above the extensions of its secants, so on [a_(j-1), a_(j+1)]
    |x|^2 >= min(n_j + s_l h_r, n_j - s_r h_l) (s_l, s_r: the slopes of the secants left and
    right of node j, h_l, h_r: the node spacings); where that bound exceeds 1 (relative slack
    1e-12 for rounding) the dip cannot reach |x| = 1 and is skipped."""
    if g.shape[1] < 3:
        return np.empty((0, 2), dtype=np.int64)
    # comparisons with NaN are False: non-finite nodes drop out (cheap first pass over all
    # patterns and nodes, the rest on the few candidates)
    if convex:
        mid = g[:, 1:-1]
        ok = (mid > 0) & (mid <= g[:, :-2]) & (mid <= g[:, 2:])
    else:
        ag = np.abs(g)
        mid = ag[:, 1:-1]
        ok = (mid > 0) & (mid <= ag[:, :-2]) & (mid <= ag[:, 2:])
    pi, j = np.nonzero(ok)
    j = j + 1
    if pi.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    s = np.sign(g[pi, j])
    keep = (np.sign(g[pi, j - 1]) == s) & (np.sign(g[pi, j + 1]) == s)
    keep &= fin[pi, j - 1] & fin[pi, j] & fin[pi, j + 1]
    keep &= plaus[pi, j - 1] | plaus[pi, j] | plaus[pi, j + 1]
    if convex:
        al, am, ar = a_nodes[j - 1], a_nodes[j], a_nodes[j + 1]
        no_pole = ~((al < 0) & (ar > 0))  # the nodes are > -beta
        with np.errstate(all="ignore"):
            nl, nm, nr = n2[pi, j - 1], n2[pi, j], n2[pi, j + 1]
            sl, sr = (nm - nl) / (am - al), (nr - nm) / (ar - am)
            low = np.minimum(nm + sl * (ar - am), nm - sr * (am - al))
        keep &= ~(no_pole & (low > 1 + 1e-12))
    return np.stack([pi[keep], j[keep]], 1)


_GOLD = (math.sqrt(5) - 1) / 2


def _dip_roots(f: Any, lo: float, hi: float, s: float) -> list[float]:
    """The roots of f on [lo, hi] around the extremum of s f (golden section on s f, stopped as
    soon as f changes sign: then one root on each side, by bisection); none if the extremum
    keeps the sign s.  The search stops at a relative width 1e-10: near a smooth extremum s f is
    quadratic, so its value there is resolved to about (1e-10 alpha)^2 f'', below the rounding
    of f itself."""

    def h(al: float) -> float:
        v = f(al)
        return s * v if math.isfinite(v) else math.inf

    a, b = lo, hi
    x1, x2 = b - _GOLD * (b - a), a + _GOLD * (b - a)
    h1, h2 = h(x1), h(x2)
    best, fb = (x1, h1) if h1 <= h2 else (x2, h2)
    for _ in range(200):
        if fb <= 0 or b - a <= 1e-10 * max(abs(a), abs(b)):
            break
        if h1 <= h2:
            b, x2, h2 = x2, x1, h1
            x1 = b - _GOLD * (b - a)
            h1 = h(x1)
            if h1 < fb:
                best, fb = x1, h1
        else:
            a, x1, h1 = x1, x2, h2
            x2 = a + _GOLD * (b - a)
            h2 = h(x2)
            if h2 < fb:
                best, fb = x2, h2
    if fb > 0:
        return []
    if fb == 0:
        return [best]
    out = []
    for u, v in ((lo, best), (best, hi)):
        r = _bisect(f, u, v)
        if r is not None and abs(f(r)) <= 1e-12:
            out.append(r)
    return out


def _explicit(p: R.Prob, codes: np.ndarray, alpha: float):
    """w_bar = +-w*^ exactly (limits.md step 5): xi = |w*^_i|; margins and phi' from the prox
    itself (these points need no branch inversion; for d = 1, alpha may be below -beta)."""
    from theory.limits._common import prox_derivative_np

    pr = p.pr
    xi = p.m.copy()
    u = np.abs(pr.penalty.prox(xi, pr.tau))
    z = float(pr.zero)
    zs = z if z > 0 else 1.0
    kept = codes != PRUNED
    if not np.array_equal(kept, u > 0):
        return None
    with np.errstate(over="ignore"):  # a subnormal threshold: the margin is +-inf, as meant
        margins = np.where(kept, (xi - z) / zs, (z - xi) / zs)
    margins = np.where(p.m == 0, 1.0, margins)
    dphi = alpha + float(pr.beta) * (1 - prox_derivative_np(pr, u))
    return xi, codes, margins, dphi


def _validated(p: R.Prob, pat: Any, alpha: float, c: float, tol: float = 1e-10):
    if isinstance(pat, tuple) and pat[0] == "explicit":
        return _explicit(p, pat[1], alpha)
    xi, codes = _xi(p, pat, alpha, c)
    y = c * p.m
    margins = np.ones(p.n)
    dphi = np.full(p.n, alpha + float(p.pr.beta))
    for code in (PRUNED, KEPT, KEPT_LOW, FLIP):
        sel = codes == code
        if np.any(sel):
            b = branch_np(code, y[sel], np.float64(alpha), p.pr)
            margins[sel] = b.margin
            dphi[sel] = b.dphi
    free = _free(p, codes, alpha)
    if free is not None:
        margins[free] = (xi[free] - float(p.pr.zero)) / float(p.pr.zero)
        dphi[free] = 0.0
    ok = np.where(codes == PRUNED, margins >= -tol, margins > -tol)
    if not np.all(ok) or not np.all(np.isfinite(xi)):
        return None
    if abs(float(np.linalg.norm(xi)) - 1.0) > 1e-10:  # not a root of |x(alpha)| = 1
        return None
    return xi, codes, margins, dphi


# ------------------------------------------------------------------------ public API

def binary_fixed_points(w_star: Sequence[Any], k: int, penalty: str, lam: Any, beta: Any, *,
                        a: Any = None, eta: Any = None, dps: int | None = None,
                        ste: str = "relu", enumeration: str = "auto", max_patterns: int = 256,
                        outside: bool = True, n_nodes: int = 64) -> FixedPointSet:
    """All fixed points of normalised RVSCGD found in the good (sign-consistent) family, plus the
    attracting candidates outside it; arguments as :func:`theory.limits.relu_fixed_points`,
    ``ste`` the straight-through estimator (``relu`` or ``identity``)."""
    from theory.limits.relu_rvsm import families as relu_families

    k = check_k(k)
    w64 = check_w_star(w_star)
    pen = check_instance(penalty, lam, beta, a)
    eta_ = check_eta(eta)
    if dps is not None:
        dps = check_dps(dps)
    a_c, c = coarse_constants(k, ste)
    pr = make_params(pen, lam, beta, mp=False)
    w_hat = w64 / float(norm(w64))
    p = R.prepare(w_hat, 1, pr)
    # B = c is fixed: a sign-consistent alpha < 0 needs every c|w*^_i| < lam
    fams, complete, how = relu_families(p, enumeration, max_patterns, outside,
                                        bool(c * p.m[0] < float(pr.lam)), "c max|w*^| >= lam")
    roots = _roots(p, fams, c, n_nodes)
    fps: list[FixedPoint] = []
    notes: list[str] = []
    if outside:
        anti = _antiparallel(p, w_star, w64, k, pen, lam, beta, a_c, c, eta_, dps, ste)
        if anti is not None:
            fps.append(anti)
    specials = _special_roots(p, c, outside)
    roots = roots + specials
    # validate, then merge roots that are the same point w_bar (at a TL1 fold the kept and
    # kept-low branches meet and the same point is found from both): keep the best margin
    # (the others found for the same point are kept as alternatives for the dps check)
    cands: list[tuple[np.ndarray, np.ndarray, float, tuple, list[tuple]]] = []
    for pat, alpha in roots:
        val = _validated(p, pat, alpha, c)
        if val is None:
            continue
        xi, codes, margins, dphi = val
        wv = R.full_vector(p, xi, codes)
        wv = wv / float(norm(wv))
        mg = float(np.min(np.abs(margins)))
        for q, entry in enumerate(cands):
            if float(np.max(np.abs(entry[0] - wv))) <= 1e-9:
                if mg > entry[2]:
                    cands[q] = (wv, codes, mg, (pat, alpha, val), [entry[3]] + entry[4])
                else:
                    entry[4].append((pat, alpha, val))
                break
        else:
            cands.append((wv, codes, mg, (pat, alpha, val), []))
    for _, _, _, (_pat, alpha, val), alts in cands:
        xi, codes, margins, dphi = val
        explicit = isinstance(_pat, tuple)
        if dps is None:
            fps.append(_assemble_float(p, w64, k, codes, alpha, xi, margins, dphi, a_c, c, eta_,
                                       ste))
        else:
            fp = _assemble_mp(p, w_star, w64, k, pen, lam, beta, codes, alpha, a_c, eta_, dps, ste,
                              explicit and bool(np.any(codes == FLIP)), dphi if explicit else None)
            if fp is None and not explicit:
                # a coordinate within float64 rounding of a threshold: the pattern valid at dps
                # digits may be the other one (found from the other side, or toggled here)
                for alt_codes, alt_alpha in _threshold_alternatives(p, codes, margins, alpha,
                                                                    alts):
                    fp = _assemble_mp(p, w_star, w64, k, pen, lam, beta, alt_codes, alt_alpha,
                                      a_c, eta_, dps, ste)
                    if fp is not None:
                        break
            if fp is None:
                notes.append(f"a float64 root with pattern {codes.tolist()} did not survive the "
                             f"{dps}-digit check")
            else:
                fps.append(fp)
    fps.sort(key=lambda f: (float(f.lagrangian), -len(f.support)))
    inst = {"model": "binary", "penalty": penalty, "k": k, "lam": lam, "beta": beta, "a": a,
            "eta": eta_, "dps": dps, "d": int(w64.size), "ste": ste}
    msg = None
    if not any(f.good for f in fps):
        msg = ("no sign-consistent fixed point (the good family) was found for this instance; "
               f"search: {how}")
    if notes:
        msg = "; ".join(([msg] if msg else []) + notes)
    att = None if eta_ is None else sum(1 for f in fps if f.attracting)
    fs = FixedPointSet(tuple(fps), len(fps) == 1, att, complete and not notes, how, msg, inst)
    return complete_set(fs, "binary", w_star, k, penalty, lam, beta, c=float(c))


THRESHOLD_MARGIN = 1e-10  # _validated's tolerance: a margin this small may have either sign


def _threshold_alternatives(p: R.Prob, codes: np.ndarray, margins: np.ndarray, alpha: float,
                            alts: list[tuple]) -> list[tuple[np.ndarray, float]]:
    """Patterns to try at ``dps`` digits when ``codes`` fails there: the other patterns the
    float64 search found for the same point (best margin first), then every kept/pruned
    assignment of the coordinates whose float64 margin is within ``THRESHOLD_MARGIN`` of 0
    (kept: KEPT, and KEPT_LOW for tl1; at most 64 patterns, otherwise one toggle at a time)."""
    out: list[tuple[np.ndarray, float]] = []
    seen = {codes.tobytes()}

    def add(cd: np.ndarray, al: float) -> None:
        if cd.tobytes() not in seen:
            seen.add(cd.tobytes())
            out.append((cd, al))

    for pat, al, val in sorted(alts, key=lambda e: -float(np.min(np.abs(e[2][2])))):
        if not isinstance(pat, tuple):
            add(val[1], al)
    near = np.flatnonzero((np.abs(margins) <= THRESHOLD_MARGIN) & (p.m > 0)
                          & np.isin(codes, (PRUNED, KEPT, KEPT_LOW)))
    kept_codes = (KEPT, KEPT_LOW) if p.pr.name == "tl1" else (KEPT,)
    options = (PRUNED,) + kept_codes
    if len(options) ** near.size <= 64:
        for combo in itertools.product(options, repeat=int(near.size)):
            cd = codes.copy()
            cd[near] = combo
            add(cd, alpha)
    else:
        for j in near:
            for o in options:
                cd = codes.copy()
                cd[j] = o
                add(cd, alpha)
    return out


def _special_roots(p: R.Prob, c: float, outside: bool) -> list[tuple[Any, float]]:
    """Degenerate fixed points the alpha-grid cannot see (limits.md step 5):

    * w_bar = +-w*^ whenever prox(w*^) is parallel to w*^ (every nonzero coordinate on the same
      linear branch): alpha = c <w*^, w_bar> + beta <u_bar, w_bar> - beta, exactly;
    * l0 with alpha = 0: a kept coordinate with y = 0 (w*_i = 0, a false support) solves
      alpha xi = 0 for any xi; with the rest pruned, x_i = c|w*^_i|/beta and |w_bar| = 1 fix
      xi_f = sqrt(1 - c^2/beta^2) (valid if > z).  Returned as (pattern, alpha) pairs."""
    out: list[tuple[Any, float]] = []
    pr = p.pr
    beta, z = float(pr.beta), float(pr.zero)
    for sign in (1.0, -1.0):
        if sign < 0 and not outside:
            continue
        u = np.abs(pr.penalty.prox(p.m, pr.tau))
        nzm = p.m > 0
        kept = (u > 0) & nzm
        ratio = u[nzm] / p.m[nzm]
        if not np.allclose(ratio, ratio[0], rtol=1e-12, atol=0):
            continue
        alpha = sign * c + beta * float(ratio[0]) - beta
        if sign > 0:
            codes = np.where(kept, KEPT, PRUNED).astype(np.int8)
            if pr.name == "tl1":  # the kept branch (high or low) that reproduces |w*^_i|
                y = c * p.m
                for code in (KEPT, KEPT_LOW):
                    xi_c = branch_np(code, y, np.float64(alpha), pr).xi
                    hit = kept & np.isfinite(xi_c) & (np.abs(xi_c - p.m) <= 1e-9)
                    codes[hit] = code
            out.append((codes, alpha))
        elif np.all(kept[nzm]):  # all kept and flipped (all pruned: _antiparallel)
            codes = np.where(kept, FLIP, PRUNED).astype(np.int8)
            out.append((("explicit", codes), alpha))
    if pr.name == "l0" and outside and beta > c:
        zeros = np.flatnonzero(p.m == 0)
        xi_f = math.sqrt(1 - (c / beta) ** 2)
        if zeros.size and xi_f > z and float(np.max(p.m)) * c / beta <= z:
            for pos in zeros[:64]:
                codes = np.zeros(p.n, dtype=np.int8)
                codes[pos] = FLIP
                out.append((codes, 0.0))
    return out


def _antiparallel(p: R.Prob, w_star_in: Sequence[Any], w64: np.ndarray, k: int, pen: Any,
                  lam: Any, beta: Any, a_c: float, c: float, eta: float | None,
                  dps: int | None, ste: str) -> FixedPoint | None:
    """w_bar = -w*^ with every coordinate pruned: (alpha + beta)(-w*^) = c w*^ gives
    alpha = -c - beta < -beta (outside the searched range); valid iff every |w*^_i| <= z.
    Outside the good family; for d >= 2 every phi'_i = -c < 0, so it repels."""
    pr = p.pr
    if float(np.max(p.m)) > float(pr.zero):
        return None
    alpha = -c - float(pr.beta)
    x = -p.w_star
    dphi_full = np.full(x.size, alpha + float(pr.beta))
    curv, rho, att, eta_max, note = _stability(x, dphi_full, alpha, a_c, eta, False)
    notes = ["anti-parallel: w_bar = -w*^, every coordinate pruned"] + ([note] if note else [])
    g = binary.coarse_grad(x, w64, k, ste) + pr.beta * x
    residual = float(np.max(np.abs(g - float(g @ x) * x))) / max(c, 1e-300)
    lag: Any = float(binary.loss(x, w64, k)) + float(pr.beta) / 2
    w_out: tuple[Any, ...] = tuple(float(v) for v in x)
    u_out: tuple[Any, ...] = tuple(0.0 for _ in x)
    vals: list[Any] = [math.pi, 1.0, alpha, c, a_c, 2.0, 1.0]
    stable = None
    if dps is not None:
        with mpmath.mp.workdps(dps + GUARD_DPS):
            ws = to_mpf_vector("w_star", w_star_in)
            s_ = norm_mp(ws)
            xm = [-v / s_ for v in ws]
            prm = make_params(pen, lam, beta, mp=True)
            am, cm = coarse_constants(k, ste, dps + GUARD_DPS)
            lagm = _loss_mp(xm, ws, k) + prm.beta / 2
            gm = [am * xi + cm * xi + prm.beta * xi for xi in xm]  # E g = a w^ - c w*^, w*^ = -x
            dot = mpmath.fsum(a_ * b_ for a_, b_ in zip(gm, xm))
            residual = float(max(abs(gi - dot * xi) for gi, xi in zip(gm, xm)) / cm)
            with mpmath.mp.workdps(dps):
                w_out = tuple(+v for v in xm)
                u_out = tuple(mpmath.mpf(0) for _ in xm)
                lag = +lagm
                vals = [+mpmath.pi, mpmath.mpf(1), -(+cm) - (+prm.beta), +cm, +am, mpmath.mpf(2),
                        mpmath.mpf(1)]
            stable = True
    bound = binary_bound(p.nnz, c, float(pr.beta), float(pr.delta), alpha, vals[5], vals[6])
    return FixedPoint("binary", pr.name, w_out, u_out, (), tuple(
        "pruned-flipped" if v else "pruned" for v in w64), vals[0], vals[1],
        {"alpha": vals[2], "c": vals[3], "a": vals[4]}, lag, residual, 1.0, False, curv, eta, rho,
        att, eta_max, bound, 1.0, False, dps, stable, tuple(notes))


def _pattern_names(p: R.Prob, codes: np.ndarray) -> tuple[str, ...]:
    return R.pattern_names(p, codes, None)


def _stability(w_bar: np.ndarray, dphi_full: np.ndarray, alpha: float, a_c: float,
               eta: float | None, kink: bool
               ) -> tuple[tuple[float, float], float | None, bool | None, float | None, str | None]:
    q = alpha - a_c
    if w_bar.size == 1:
        mn = mx = math.nan  # the sphere S^0 has no tangent directions
        eta_max: float | None = math.inf if q >= 0 else 1 / (-q)
    else:
        mn, mx = extreme_eigenvalues_compressed(dphi_full, w_bar)
        if mn > 0:
            eta_max = 2 / (mx - 2 * q) if mx > 2 * q else math.inf
        else:
            eta_max = None
    if eta is None:
        return (mn, mx), None, None, eta_max, None
    gamma = 1 + eta * q
    if gamma <= 0:
        return (mn, mx), None, False, eta_max, (
            f"not a fixed point for eta = {eta}: w~ = gamma w_bar with gamma = {gamma:.3g} <= 0")
    if w_bar.size == 1:
        return (mn, mx), 0.0, (None if kink else True), eta_max, None
    rho = max(abs(1 - eta / gamma * mn), abs(1 - eta / gamma * mx))
    return (mn, mx), rho, (None if kink else bool(rho < 1)), eta_max, None


def _assemble_float(p: R.Prob, w64: np.ndarray, k: int, codes: np.ndarray, alpha: float,
                    xi: np.ndarray, margins: np.ndarray, dphi: np.ndarray, a_c: float, c: float,
                    eta: float | None, ste: str) -> FixedPoint:
    pr = p.pr
    w_hat = p.w_star
    w_bar = R.full_vector(p, xi, codes)
    w_bar = w_bar / float(norm(w_bar))  # |w_bar| = 1 up to rounding
    u_bar = pr.penalty.prox(w_bar, pr.tau)
    kept = np.zeros(w_bar.size, dtype=bool)
    kept[p.order] = codes != PRUNED
    margin = float(np.min(np.abs(margins)))
    kink = margin <= 1e-10 or not np.array_equal(kept, u_bar != 0)
    notes = ["a coordinate sits on a threshold of the prox (not differentiable there)"] if kink \
        else []
    g = binary.coarse_grad(w_bar, w64, k, ste) + pr.beta * (w_bar - u_bar)
    tang = g - float(g @ w_bar) * w_bar
    scale = max(c * float(np.max(np.abs(w_hat))), abs(alpha) * float(np.max(np.abs(w_bar))),
                pr.beta * float(np.max(np.abs(w_bar - u_bar))), 1e-300)
    residual = float(np.max(np.abs(tang))) / scale
    dphi_full = np.empty(w_bar.size)
    dphi_full[p.order] = dphi
    curv, rho, att, eta_max, note = _stability(w_bar, dphi_full, alpha, a_c, eta, kink)
    if note:
        notes.append(note)
    d = w_bar - u_bar
    lag = float(binary.loss(w_bar, w64, k)) + pr.lam * float(np.sum(pr.penalty.value(u_bar))) \
        + pr.beta / 2 * float(d @ d)
    good = not bool(np.any(codes == FLIP))
    bound = binary_bound(p.nnz, c, pr.beta, pr.delta, alpha, float(norm(w_bar - w_hat)),
                         float(norm(u_bar - w_hat)))
    return FixedPoint(
        "binary", pr.name, tuple(w_bar.tolist()), tuple(u_bar.tolist()),
        tuple(np.flatnonzero(u_bar).tolist()), _pattern_names(p, codes),
        float(angle_np(w_bar, w64)), float(norm(w_bar)), {"alpha": alpha, "c": c, "a": a_c},
        lag, residual, margin, kink, curv, eta, rho, att, eta_max, bound,
        float(np.mean(u_bar == 0)), good, None, None, tuple(notes))


def _mp_alpha(p: R.Prob, w_hat: list[Any], pr: Any, codes: np.ndarray, alpha0: float,
              c: Any, explicit: bool = False) -> tuple[Any, list[Any], list[Any], list[Any]] | None:
    """alpha at the working precision (bracketed secant from the float64 root); ``explicit``:
    w_bar = -w*^ exactly, alpha from (3)."""
    order = [int(i) for i in p.order]
    if explicit:
        x = [-v for v in w_hat]
        u = pr.penalty.prox(x, pr.tau)
        dot = mpmath.fsum(a_ * b_ for a_, b_ in zip(u, x))
        alpha = -c + pr.beta * dot - pr.beta
        z = pr.zero
        zs = z if z > 0 else mpmath.mpf(1)
        margins = [((abs(x[i]) - z) / zs if u[i] != 0 else (z - abs(x[i])) / zs) if w_hat[i]
                   else mpmath.mpf(1) for i in order]
        dphi = [mpmath.mpf(0)] * len(order)  # stability is evaluated in float64
        return alpha, x, margins, dphi
    m = [abs(w_hat[i]) for i in order]
    sig = [mpmath.mpf(-1) if w_hat[i] < 0 else mpmath.mpf(1) for i in order]

    def x_of(al: Any) -> list[Any] | None:
        x = [mpmath.mpf(0)] * len(w_hat)
        for j, i in enumerate(order):
            code = int(codes[j])
            b = branch_mp(code, c * m[j], al, pr)
            if b is None:
                return None
            x[i] = (-sig[j] if code == FLIP else sig[j]) * b.xi
        return x

    def g(al: Any) -> Any:
        x = x_of(al)
        return None if x is None else mpmath.log(norm_mp(x))

    if alpha0 == 0 and pr.name == "l0" and np.any((codes == FLIP) & (p.m == 0)):
        # alpha = 0 exactly; the false support closes |x| = 1
        x = [mpmath.mpf(0)] * len(w_hat)
        margins, dphi = [], []
        free = []
        for j, i in enumerate(order):
            code = int(codes[j])
            if code == FLIP and m[j] == 0:
                free.append(i)
                margins.append(None)
                dphi.append(mpmath.mpf(0))
                continue
            b = branch_mp(code, c * m[j], mpmath.mpf(0), pr)
            if b is None:
                return None
            x[i] = sig[j] * b.xi
            margins.append(b.margin)
            dphi.append(b.dphi)
        rest = mpmath.fsum(v * v for v in x)
        if rest >= 1:
            return None
        xf = mpmath.sqrt(1 - rest)
        for i in free:
            x[i] = -xf  # FLIP on a zero coordinate: -xi, as full_vector (the mirror also works)
        margins = [(xf - pr.zero) / pr.zero if mg is None else mg for mg in margins]
        return mpmath.mpf(0), x, margins, dphi
    a0 = mpmath.mpf(alpha0)
    h = max(abs(a0), mpmath.mpf(1)) * mpmath.mpf("1e-12")
    lo, hi = a0 - h, a0 + h
    glo, ghi = g(lo), g(hi)
    for _ in range(20):
        if glo is not None and ghi is not None and (glo > 0) != (ghi > 0):
            break
        h *= 10
        lo, hi = a0 - h, a0 + h
        glo, ghi = g(lo), g(hi)
    else:
        return None
    if glo is None or ghi is None or (glo > 0) == (ghi > 0):
        return None
    tol = mpmath.eps * 8 * max(abs(a0), mpmath.mpf(1))

    def g_nan(x: Any) -> Any:
        v = g(x)
        return mpmath.nan if v is None else v

    al = R._illinois(g_nan, lo, hi, glo, ghi, tol, iters=400)
    if al is None:
        return None
    xs = x_of(al)
    if xs is None:
        return None
    margins, dphi = [], []
    for j, _i in enumerate(order):
        br = branch_mp(int(codes[j]), c * m[j], al, pr)
        if br is None:
            return None
        margins.append(br.margin)
        dphi.append(br.dphi)
    return al, xs, margins, dphi


def _assemble_mp(p: R.Prob, w_star_in: Sequence[Any], w64: np.ndarray, k: int, pen: Any,
                 lam: Any, beta: Any, codes: np.ndarray, alpha0: float, a_c64: float,
                 eta: float | None, dps: int, ste: str, explicit: bool = False,
                 dphi64: np.ndarray | None = None) -> FixedPoint | None:
    sols = []
    for prec in (2 * dps + GUARD_DPS, dps + GUARD_DPS):
        with mpmath.mp.workdps(prec):
            ws = to_mpf_vector("w_star", w_star_in)
            s_ = norm_mp(ws)
            w_hat = [v / s_ for v in ws]
            pr = make_params(pen, lam, beta, mp=True)
            a_c, c = coarse_constants(k, ste, prec)
            sol = _mp_alpha(p, w_hat, pr, codes, alpha0, c, explicit)
            if sol is None:
                return None
            sols.append(sol)
    with mpmath.mp.workdps(dps + GUARD_DPS):
        ws = to_mpf_vector("w_star", w_star_in)
        s_ = norm_mp(ws)
        w_hat = [v / s_ for v in ws]
        pr = make_params(pen, lam, beta, mp=True)
        a_c, c = coarse_constants(k, ste, dps + GUARD_DPS)
        alpha, x, margins, dphi = sols[1]
        x_hi = sols[0][1]
        nx = norm_mp(x)
        x = [v / nx for v in x]
        xmax = max(abs(v) for v in x)
        diff = max(abs(a_ - b_ / norm_mp(x_hi)) for a_, b_ in zip(x, x_hi))
        stable = bool(diff <= xmax * mpmath.mpf(10) ** (-dps))
        for j, mg in enumerate(margins):
            code = int(codes[j])
            if (code == PRUNED and mg < 0) or (code != PRUNED and mg <= 0):
                return None
        u = pen.prox(list(x), pr.tau)
        try:
            g = binary.coarse_grad_mp(x, ws, k, ste)
        except ZeroDivisionError:
            # TODO(binary.py, issue 4): coarse_grad_mp divides by |w*^ - (w*^.w^)w^| = 0 when w
            # is parallel to w*; use the derived constant coefficients E g = a w^ - c w*^.
            g = [a_c * xi - c * wi for xi, wi in zip(x, w_hat)]
        v = [gi + pr.beta * (xi - ui) for gi, xi, ui in zip(g, x, u)]
        dot = mpmath.fsum(a_ * b_ for a_, b_ in zip(v, x))
        tang = [vi - dot * xi for vi, xi in zip(v, x)]
        scale = max([c * abs(w) for w in w_hat] + [abs(alpha * w) for w in x]
                    + [pr.beta * abs(xi - ui) for xi, ui in zip(x, u)]
                    + [mpmath.mpf(10) ** (-10 * dps)])
        residual = float(max(abs(t_) for t_ in tang) / scale)
        margin = float(min(abs(mg) for mg in margins))
        kept = [False] * len(x)
        for j, i in enumerate(p.order):
            kept[int(i)] = int(codes[j]) != PRUNED
        kink = margin <= 10.0 ** (-dps + 5) or kept != [bool(ui != 0) for ui in u]
        dv = [xi - ui for xi, ui in zip(x, u)]
        lag = _loss_mp(x, ws, k) + pr.lam * mpmath.fsum(pen.value(list(u))) \
            + pr.beta / 2 * mpmath.fsum(t_ * t_ for t_ in dv)
        vals = [angle_mp(x, ws), norm_mp(x), lag, alpha, c, a_c,
                norm_mp([a_ - b_ for a_, b_ in zip(x, w_hat)]),
                norm_mp([a_ - b_ for a_, b_ in zip(u, w_hat)])]
        with mpmath.mp.workdps(dps):
            w_out = tuple(+t_ for t_ in x)
            u_out = tuple(+t_ for t_ in u)
            vals = [+t_ for t_ in vals]
    dphi_full = np.empty(len(x))
    for j, i in enumerate(p.order):
        dphi_full[int(i)] = float(dphi[j]) if dphi64 is None else float(dphi64[j])
    w_f = np.array([float(t_) for t_ in w_out])
    notes = [] if stable else [f"digits changed between {dps} and {2 * dps} digits"]
    if kink:
        notes.append("a coordinate sits on a threshold of the prox (not differentiable there)")
    curv, rho, att, eta_max, note = _stability(w_f, dphi_full, float(vals[3]), a_c64, eta, kink)
    if note:
        notes.append(note)
    pr64 = p.pr
    bound = binary_bound(p.nnz, float(vals[4]), pr64.beta, pr64.delta, float(vals[3]), vals[6],
                         vals[7])
    support = tuple(i for i, t_ in enumerate(u_out) if t_ != 0)
    return FixedPoint(
        "binary", pen.name, w_out, u_out, support, _pattern_names(p, codes), vals[0], vals[1],
        {"alpha": vals[3], "c": vals[4], "a": vals[5]}, vals[2], residual, margin, kink, curv,
        eta, rho, att, eta_max, bound, 1 - len(support) / len(w_out),
        not bool(np.any(codes == FLIP)), dps, stable, tuple(notes))
