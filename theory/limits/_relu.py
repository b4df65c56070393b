r"""RVSM with the ReLU loss: the fixed-point system reduced to :math:`(r, t) = (|\bar w|,
\theta(\bar w, w^*))` and a branch pattern (``proofs_notes/limits.md``, steps 1-4).

Given :math:`(r, t)`: :math:`A = A(r, s, t)`, :math:`B = B(t)` (derived in :mod:`theory.relu`);
coordinate :math:`i` is :math:`\bar w_i = \pm\sigma_i\xi_i` with :math:`\xi_i` the branch preimage of
:math:`B|w^*_i|` (:mod:`theory.limits._common`; the sign is :math:`-` for ``FLIP``).  The two
consistency equations are

.. math:: F_1 = \theta(x, w^*) - t = 0,\qquad F_2 = \log|x| - \log r = 0.

Search (float64): rows :math:`t \in [0, t_{max}]` (:math:`\pi/2` for sign-consistent patterns,
whose :math:`x\cdot w^* \ge 0`; :math:`\pi` for ``FLIP``) times per-row nodes in
:math:`\log r \in [\log r_{lo}, \log r_{hi}]` (a-priori bounds, step 3) refined in :math:`A`; every
cell where both :math:`F_1` and :math:`F_2` change sign seeds a damped Newton iteration on the
full vectors; the line :math:`t = 0` is searched on its own (patterns keeping
:math:`x \parallel w^*`).  Roots are then validated (every coordinate inside its branch's
validity region) and duplicates merged.

Pattern families (:class:`Family`): ``auto`` (l1, :math:`A > 0`: the preimage is unique and the
sums have a closed form in prefix sums of the sorted :math:`|w^*_i|`), ``explicit`` (a list of
patterns), ``nested`` (the :math:`j` largest :math:`|w^*_i|` kept) and ``single`` (one
coordinate on a given branch, the rest pruned).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from theory.geometry import angle as _angle_np
from theory.geometry import angle_mp, norm_mp
from theory.limits._common import (
    BRANCH_NAMES,
    FLIP,
    KEPT,
    KEPT_LOW,
    PRUNED,
    Params,
    branch_mp,
    branch_np,
    branch_possible,
    relu_coeff_kernels,
    relu_scalar_fns,
)

AUTO = "auto"


@dataclass
class Prob:
    """A prepared float64 instance.  ``order``: every coordinate, the nonzero ones by decreasing
    ``|w*_i|`` (ties by index) then the zero ones; ``m``, ``sig`` on that order (sig = +1 at 0)."""

    w_star: np.ndarray
    k: int
    pr: Params
    s: float
    order: np.ndarray
    m: np.ndarray
    sig: np.ndarray
    nnz: int
    A0: float
    r_lo: float
    r_hi: float
    r_lo_flip: float
    r_hi_flip: float
    mh: np.ndarray          # m / s (unit teacher, sorted, sign-folded)

    @property
    def n(self) -> int:
        return int(self.m.size)


def prepare(w_star: np.ndarray, k: int, pr: Params) -> Prob:
    from theory.geometry import norm

    kern = relu_coeff_kernels()
    s = float(norm(w_star))
    nz = np.flatnonzero(w_star != 0)
    z = np.flatnonzero(w_star == 0)
    order = np.concatenate([nz[np.argsort(-np.abs(w_star[nz]), kind="stable")], z])
    m = np.abs(w_star[order])
    sig = np.where(w_star[order] < 0, -1.0, 1.0)
    A0 = float(kern["A0"](np.float64(k)))
    beta, delta, zero = float(pr.beta), float(pr.delta), float(pr.zero)
    eps_ = beta * math.sqrt(nz.size) * delta
    r_hi = (s + eps_ / A0) * (1 + 1e-9)
    # a sign-consistent fixed point has r >= xi of its largest coordinate, which is
    # >= min(z, |w*|_max / (2k (A0 + beta))) (B >= 1/(2k) for t <= pi/2)
    cand = m[0] / (2 * k * (A0 + beta))
    r_lo = (min(zero, cand) if zero > 0 else cand) * (1 - 1e-9)
    # FLIP patterns: the kept coordinate has xi > z; one more coordinate may differ from u
    r_hi_flip = (s + beta * math.sqrt(nz.size + 1) * delta / A0) * (1 + 1e-9)
    r_lo_flip = zero * (1 - 1e-9) if zero > 0 else 1e-9 * s
    return Prob(w_star, k, pr, s, order, m, sig, int(nz.size), A0, r_lo, r_hi, r_lo_flip,
                r_hi_flip, m / s)


@dataclass(frozen=True)
class Family:
    """A set of branch patterns over ``Prob.order`` (see the module docstring)."""

    kind: str
    codes: np.ndarray | None = None
    code: int = KEPT
    idx: np.ndarray | None = None
    t_max: float = math.pi / 2

    @property
    def pattern_codes(self) -> np.ndarray:
        """``codes`` of an explicit family (patterns x n)."""
        if self.codes is None:
            raise ValueError(f"a {self.kind} family has no explicit patterns")
        return self.codes

    @property
    def positions(self) -> np.ndarray:
        """``idx`` of a single family."""
        if self.idx is None:
            raise ValueError(f"a {self.kind} family has no positions")
        return self.idx

    def count(self, p: Prob) -> int:
        if self.kind == "auto":
            return 1
        if self.kind == "explicit":
            return int(self.pattern_codes.shape[0])
        if self.kind == "nested":
            return p.nnz + 1
        return int(self.positions.size)

    def pattern(self, i: int, p: Prob) -> Any:
        if self.kind == "auto":
            return AUTO
        if self.kind == "explicit":
            return self.pattern_codes[i]
        out = np.zeros(p.n, dtype=np.int8)
        if self.kind == "nested":
            out[:i] = self.code
        else:
            out[int(self.positions[i])] = self.code
        return out


def nested_family(p: Prob, code: int = KEPT) -> Family:
    return Family("nested", code=code)


def exhaustive_family(p: Prob, codes: tuple[int, ...]) -> Family:
    """Every assignment of ``codes`` to the nonzero coordinates (zero coordinates pruned)."""
    body = np.array(list(itertools.product(codes, repeat=p.nnz)), dtype=np.int8)
    body = body.reshape(-1, p.nnz)
    pats = np.zeros((body.shape[0], p.n), dtype=np.int8)
    pats[:, :p.nnz] = body
    return Family("explicit", codes=pats)


def single_family(p: Prob, code: int, positions: np.ndarray, t_max: float) -> Family:
    return Family("single", code=code, idx=np.asarray(positions, dtype=np.int64), t_max=t_max)


# ----------------------------------------------------------------------- evaluation

def coeffs_np(p: Prob, r: Any, t: Any) -> tuple[np.ndarray, np.ndarray]:
    kern = relu_coeff_kernels()
    r = np.asarray(r, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    return kern["A"](p.k, r, np.float64(p.s), t), kern["B"](np.float64(p.k), t) + 0 * r


def _auto_codes(p: Prob, y: np.ndarray, A: float) -> np.ndarray:
    """l1 with A > 0: kept iff y > (A + beta) tau (then (y - lam)/A > y/(A + beta))."""
    return np.where(y > (A + p.pr.beta) * p.pr.tau, KEPT, PRUNED).astype(np.int8)


def xi_pattern_np(p: Prob, pattern: Any, r: float, t: float
                  ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(xi, codes, A, B) on ``order`` for one pattern at scalars (r, t)."""
    fa, fb = relu_scalar_fns()
    try:
        A, B = float(fa(p.k, r, p.s, t)), float(fb(p.k, t))
    except (ZeroDivisionError, OverflowError, ValueError):  # r underflowed to 0
        return np.full(p.n, np.nan), np.zeros(p.n, dtype=np.int8), math.nan, math.nan
    y = B * p.m
    if isinstance(pattern, str):
        if not A > 0:
            return np.full(p.n, np.nan), np.zeros(p.n, dtype=np.int8), A, B
        pattern = _auto_codes(p, y, A)
    xi = np.empty(p.n)
    for c in (PRUNED, KEPT, KEPT_LOW, FLIP):
        sel = pattern == c
        if np.any(sel):
            xi[sel] = branch_np(c, y[sel], np.float64(A), p.pr).xi
    return xi, pattern, A, B


def pattern_names(p: Prob, codes: np.ndarray, false_support: str | None) -> tuple[str, ...]:
    """The branch name of every coordinate (in the order of ``w_star``) for ``codes`` on
    ``order``; a kept-flipped zero coordinate is called ``false_support`` if given."""
    table = np.array([BRANCH_NAMES[c] for c in (PRUNED, KEPT, KEPT_LOW, FLIP)]
                     + [false_support or BRANCH_NAMES[FLIP]], dtype=object)
    sel = np.where((codes == FLIP) & (p.m == 0), 4, codes)
    names = np.empty(p.n, dtype=object)
    names[p.order] = table[sel]
    return tuple(names.tolist())


def full_vector(p: Prob, xi: np.ndarray, codes: np.ndarray) -> np.ndarray:
    x = np.zeros_like(p.w_star)
    x[p.order] = np.where(codes == FLIP, -p.sig, p.sig) * xi
    return x


def residual_F(p: Prob, pattern: Any, rho: float, t: float) -> np.ndarray:
    """(F1, F2) with the stable angle 2 atan2(|x^ - w*^|, |x^ + w*^|) of :mod:`theory.geometry`
    (evaluated here on the sorted coordinates, without the array-API dispatch of the hot loop;
    :func:`theory.geometry.angle` checks the result in :func:`find_roots`); NaN if a branch is
    missing."""
    try:
        r = math.exp(rho)
    except OverflowError:
        return np.array([np.nan, np.nan])
    xi, codes, _, _ = xi_pattern_np(p, pattern, r, t)
    if not np.all(np.isfinite(xi)):
        return np.array([np.nan, np.nan])
    xs = np.where(codes == FLIP, -xi, xi)       # x_i sigma_i on ``order``
    big = float(np.max(np.abs(xs)))
    if big == 0:
        return np.array([np.nan, np.nan])
    nx = float(np.linalg.norm(xs / big)) * big
    xh = xs / nx
    ang = 2 * math.atan2(float(np.linalg.norm(xh - p.mh)), float(np.linalg.norm(xh + p.mh)))
    return np.array([ang - t, math.log(nx) - rho])


# --------------------------------------------------------------------------- search

FOLD_MAX = 64  # TL1: nodes at every coordinate's fold up to this many nonzero coordinates


def fold_alphas(p: Prob, B: float) -> np.ndarray:
    """TL1: the A where a coordinate's kept roots (high and low) merge and cease to exist,
    kappa = 4/27, i.e. 4(aA + y)^3 = 27 tau a(a+1)(A + beta) A^2 with y = B|w*_i| (a cubic in A
    per coordinate, solved by batched companion eigenvalues); real roots only."""
    pr = p.pr
    if pr.name != "tl1" or p.nnz > FOLD_MAX or p.nnz == 0:
        return np.empty(0)
    a, tau, beta = float(pr.a), float(pr.tau), float(pr.beta)
    y = B * p.m[:p.nnz]
    q = 27 * tau * a * (a + 1)
    c3 = np.full_like(y, 4 * a**3 - q)
    c2 = 12 * a * a * y - q * beta
    c1 = 12 * a * y * y
    c0 = 4 * y**3
    ok = c3 != 0
    comp = np.zeros((y.size, 3, 3))
    comp[:, 0, :] = -np.stack([c2, c1, c0], 1) / np.where(ok, c3, 1.0)[:, None]
    comp[:, 1, 0] = comp[:, 2, 1] = 1.0
    roots = np.linalg.eigvals(comp[ok])
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots.real))].real
    return real[np.isfinite(real)]


def _row_nodes(p: Prob, t: float, flip: bool, n_r: int) -> np.ndarray:
    """log r nodes of one row: log-uniform on [r_lo', r_hi] (r_lo' >= r at A = -beta) plus the
    images of A-nodes (uniform on [-beta, 0] and [0, A_hi], geometric towards -beta and 0)."""
    kern = relu_coeff_kernels()
    beta = float(p.pr.beta)
    a1 = float(kern["A1"](np.float64(p.k), np.float64(t)))
    r_lo, r_hi = (p.r_lo_flip, p.r_hi_flip) if flip else (p.r_lo, p.r_hi)
    r_min = a1 * p.s / (p.A0 + beta)
    lo = math.log(max(r_lo, r_min * (1 + 1e-9), 1e-300))
    hi = math.log(r_hi)
    lo = min(lo, hi - 1e-9)
    base = np.linspace(lo, hi, n_r)
    a_hi = p.A0 - a1 * p.s / r_hi
    g = 10.0 ** -np.linspace(0.5, 9.0, 10)
    half = np.linspace(0.0, 1.0, n_r // 2 + 2)[1:-1]
    nodes = [-beta + beta * half, -beta + beta * g, -beta * g]
    if a_hi > 0:
        nodes += [a_hi * half, a_hi * g]
    a_nodes = np.concatenate(nodes)
    with np.errstate(all="ignore"):
        lr = np.log(a1 * p.s / (p.A0 - a_nodes))
    lr = np.clip(np.where(np.isfinite(lr), lr, lo), lo, hi)
    folds = fold_alphas(p, float(relu_coeff_kernels()["B"](np.float64(p.k), np.float64(t))))
    extra = np.empty(0)
    if folds.size:
        with np.errstate(all="ignore"):
            lf = np.log(a1 * p.s / (p.A0 - folds))
        lf = lf[np.isfinite(lf) & (lf > lo) & (lf < hi)]
        eps_ = 1e-10 * np.maximum(1.0, np.abs(lf))
        extra = np.concatenate([lf - eps_, lf + eps_])
    out = np.sort(np.concatenate([base, lr, extra]))
    # the most nodes a row can have: base, A-images and 2 per fold (fold_alphas: at most 3 per
    # coordinate, none above FOLD_MAX coordinates); padding beyond it only adds empty cells
    folds_max = 4 * p.nnz * 3 if p.pr.name == "tl1" and p.nnz <= FOLD_MAX else 0
    width = n_r + 2 * (n_r // 2) + 40 + folds_max
    if out.size < width:  # same node count in every row (cells are quadrilaterals)
        out = np.sort(np.concatenate([out, np.full(width - out.size, hi)]))
    return out


SLACK = 0.25  # seeds whose pattern is invalid by more than this at all four corners are dropped
NEAR = 0.05   # also seed cells where min|F| <= NEAR * (range of F over the cell)
EDGE = 0.05   # cells with a missing corner (a branch's fold): seed from a finite corner this close


def _pruned_totals(p: Prob, A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, ...]:
    """Closed forms over *all* coordinates pruned (xi = B m/(A + beta), linear in m): sum xi^2,
    sum xi m, and the per-node threshold above which a pruned |w*_i| is invalid by > SLACK."""
    beta, z = float(p.pr.beta), float(p.pr.zero)
    s2 = p.s * p.s
    with np.errstate(all="ignore"):
        ap = np.where(A + beta > 0, A + beta, np.nan)
        sp2 = B * B * s2 / (ap * ap)
        spm = B * s2 / ap
        thr_p = ap * z * (1 + SLACK) / B
    return sp2, spm, thr_p


def _count_above(p: Prob, thr: np.ndarray, strict: bool = True) -> np.ndarray:
    """#{nonzero i: m_i > thr} (or >= thr) per node (m sorted decreasingly)."""
    m = p.m[:p.nnz]
    t_ = np.where(np.isfinite(thr), thr, np.inf)
    return np.searchsorted(-m, -t_, side="left" if strict else "right")


class NestedRow:
    """The sums of :func:`row_sums` for a nested family at one row of nodes (A, B), for any
    subset of its patterns (:meth:`sums`), and which patterns are plausible (``inv == 0``) at
    some node (:attr:`plausible`), without forming the (nnz + 1) x n_nodes arrays.

    Kept coordinates: l1 and l0 in closed form (affine in m: prefix sums of m, m^2); otherwise
    the branch is evaluated once per distinct node (rows repeat their last node), and only
    where it can exist (:func:`branch_possible`; elsewhere the sums are NaN from j = 1 on and
    every kept coordinate is invalid, as the evaluation would give), then summed by prefix.
    Pattern j is plausible at a node iff cnt_p <= j <= c0: every pruned coordinate below the
    SLACK threshold (cnt_p of them above it, the largest first) and the first j kept ones valid
    within SLACK (c0 = the number of leading such coordinates)."""

    def __init__(self, p: Prob, fam: Family, A: np.ndarray, B: np.ndarray) -> None:
        pr = p.pr
        z, lam = float(pr.zero), float(pr.lam)
        self.p, self.A, self.B = p, A, B
        self.code = fam.code
        self.sgn = -1.0 if fam.code == FLIP else 1.0
        m = p.m[:p.nnz]
        self.p1 = np.concatenate([[0.0], np.cumsum(m)])
        self.p2 = np.concatenate([[0.0], np.cumsum(m * m)])
        _, _, thr_p = _pruned_totals(p, A, B)
        self.cnt_p = _count_above(p, thr_p)
        self.closed = pr.name in ("l1", "l0") and fam.code == KEPT
        with np.errstate(all="ignore"):
            if self.closed:
                if pr.name == "l1":
                    thr_k = (A * z * (1 - SLACK) + lam) / B   # xi_K < z (1 - SLACK)
                    alive = A != 0
                else:
                    thr_k = A * z * (1 - SLACK) / B
                    alive = A > 0
                self.c_k = _count_above(p, thr_k, strict=False)   # #{m >= thr_k}
                self.alive = alive
                c0 = np.where(alive, self.c_k, 0)
            else:
                c0 = self._kept_prefix(p, fam.code)
        lo, hi = self.cnt_p, c0
        has = lo <= hi
        mark = np.zeros(p.nnz + 2, dtype=np.int64)
        np.add.at(mark, lo[has], 1)
        np.add.at(mark, hi[has] + 1, -1)
        self.plausible = np.cumsum(mark[:-1]) > 0

    def _kept_prefix(self, p: Prob, code: int) -> np.ndarray:
        """Prefix sums of the branch (arrays (n_live, nnz + 1)) at the distinct nodes where it
        can exist, ``lv``: each node's row in them (-1: none); returns c0 per node."""
        A, B = self.A, self.B
        m = p.m[:p.nnz]
        key = np.stack([A, B]).view(np.int64)
        new = np.ones(A.size, dtype=bool)
        new[1:] = np.any(key[:, 1:] != key[:, :-1], 0)
        first = np.flatnonzero(new)
        col = np.cumsum(new) - 1                          # node -> its distinct node
        live = np.flatnonzero(branch_possible(code, A[first], p.pr))
        lv = np.full(first.size, -1)
        lv[live] = np.arange(live.size)
        self.lv = lv[col]
        c0 = np.zeros(first.size, dtype=np.int64)
        shape = (live.size, p.nnz + 1)
        self.k2l, self.kml, self.invl = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        for r, g in enumerate(live):  # node by node: the temporaries stay in the cache
            node = first[g]
            b = branch_np(code, B[node] * m, A[node], p.pr)
            with np.errstate(invalid="ignore"):
                inval = ~(b.margin >= -SLACK)
            np.cumsum(b.xi * b.xi, out=self.k2l[r, 1:])
            np.cumsum(b.xi * m, out=self.kml[r, 1:])
            np.cumsum(inval, out=self.invl[r, 1:])
            c0[g] = inval.argmax() if inval.any() else p.nnz
        return c0[col]

    def sums(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(n2, dm, inv, sp) of :func:`row_sums` for the patterns ``rows`` (kept-set sizes j)."""
        p, A, B, sgn = self.p, self.A, self.B, self.sgn
        pr = p.pr
        beta, lam = float(pr.beta), float(pr.lam)
        m = p.m[:p.nnz]
        p2 = self.p2
        with np.errstate(all="ignore"):
            ap = A + beta
            js = rows[:, None]
            P1, P2 = self.p1[rows][:, None], p2[rows][:, None]
            if self.closed:
                if pr.name == "l1":
                    k2 = (B * B * P2 - 2 * B * lam * P1 + js * lam * lam) / (A * A)
                    km = (B * P2 - lam * P1) / A
                else:
                    k2 = B * B * P2 / (A * A)
                    km = B * P2 / A
                k2 = np.where(A != 0, k2, np.nan)
                inv_k = np.maximum(js - self.c_k[None, :], 0)
                inv_k = np.where(self.alive[None, :], inv_k, js)
            else:
                shape = (rows.size, A.size)
                k2 = np.full(shape, np.nan)
                k2[rows == 0] = 0.0
                km = k2.copy()
                inv_k = np.repeat(js.astype(np.float64), A.size, 1)
                nodes = np.flatnonzero(self.lv >= 0)
                at = (self.lv[nodes][:, None], rows[None, :])
                k2[:, nodes] = self.k2l[at].T
                km[:, nodes] = self.kml[at].T
                inv_k[:, nodes] = self.invl[at].T
            n2 = k2 + B * B * (p2[-1] - P2) / (ap * ap)
            dm = sgn * km + B * (p2[-1] - P2) / ap
            inv = inv_k + np.maximum(self.cnt_p[None, :] - js, 0)
            n2 = np.where(ap[None, :] > 0, n2, np.nan)
            sp = np.full_like(n2, np.nan)
            one = np.flatnonzero(rows == 1)
            if p.nnz >= 1 and one.size:  # j = 1: one kept coordinate
                x1 = branch_np(self.code, B * m[0], A, pr).xi
                sp[one] = (sgn * x1 - B * m[0] / ap) * math.sqrt(max(1 - (m[0] / p.s) ** 2, 0.0))
        return n2, dm, inv, sp


def row_sums(p: Prob, fam: Family, A: np.ndarray, B: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """|x|^2, x.w* (signed), the number of coordinates invalid by more than ``SLACK``, and the
    signed perpendicular part ``sp`` for every pattern of ``fam`` at nodes with coefficients
    ``A``, ``B`` (arrays (n_nodes,)): arrays (n_pat, n_nodes).  Used by both models (binary:
    A = alpha, B = c).

    ``sp``: for patterns with a single non-pruned coordinate i (the pruned ones are parallel to
    w*), x - (x.w^*)w^* = delta (e_i - (m_i/s) w^*) with delta = (+-xi_i) - B m_i/(A + beta), so
    the angle is |atan2(sp, x.w^*)|, sp = delta sqrt(1 - m_i^2/s^2): the angle has a V-shaped
    kink where delta = 0, which the grid resolves only through the signed form; NaN for other
    patterns.

    Pruned coordinates are linear in m, so their sums are closed forms in |w*|^2; l1 and l0
    kept coordinates are affine in m (sums from prefix sums of the sorted m, m^2); only TL1 and
    the explicit (small-d) families are summed coordinate by coordinate.  The closed forms
    are checked against the coordinate sums in ``tests/test_limits_core.py``.
    """
    pr = p.pr
    beta, lam, tau = float(pr.beta), float(pr.lam), float(pr.tau)
    m = p.m[:p.nnz]
    size = A.size
    p1 = np.concatenate([[0.0], np.cumsum(m)])
    p2 = np.concatenate([[0.0], np.cumsum(m * m)])
    if fam.kind == "auto":
        s2 = p2[-1]
        with np.errstate(all="ignore"):
            theta = (A + beta) * tau / B
            j = np.searchsorted(-m, -theta, side="left")  # #{m_i > theta}
            P1, P2 = p1[j], p2[j]
            n2 = (B * B * P2 - 2 * B * lam * P1 + j * lam * lam) / (A * A) \
                + B * B * (s2 - P2) / (A + beta) ** 2
            dm = (B * P2 - lam * P1) / A + B * (s2 - P2) / (A + beta)
        n2 = np.where(A > 0, n2, np.nan)
        return n2[None, :], dm[None, :], np.zeros((1, size)), np.full((1, size), np.nan)
    if fam.kind == "nested":
        return NestedRow(p, fam, A, B).sums(np.arange(p.nnz + 1))
    sp2, spm, thr_p = _pruned_totals(p, A, B)
    cnt_p = _count_above(p, thr_p)

    def branch(c: int, y: np.ndarray, a_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = branch_np(c, y, a_, pr)
        with np.errstate(invalid="ignore"):
            inval = ~(b.margin >= -SLACK)
        return b.xi, inval

    if fam.kind == "explicit":
        y = B[:, None] * p.m[None, :]
        Ab = A[:, None]
        codes = fam.pattern_codes
        n2 = np.zeros((codes.shape[0], size))
        dm = np.zeros_like(n2)
        bad = np.zeros_like(n2)
        inv = np.zeros_like(n2)
        sp = np.full_like(n2, np.nan)
        one = np.flatnonzero(np.sum(codes[:, :p.nnz] != PRUNED, 1) == 1)
        xp_ = None
        for c in np.unique(codes):
            xi, inval = branch(int(c), y, Ab)
            if c == PRUNED:
                xp_ = xi
            miss = ~np.isfinite(xi)
            xi0 = np.where(miss, 0.0, xi)
            oh = (codes == c).astype(np.float64)
            sgn = -1.0 if c == FLIP else 1.0
            n2 += oh @ (xi0 * xi0).T
            dm += sgn * (oh @ (xi0 * p.m).T)
            bad += oh @ miss.T.astype(np.float64)
            inv += oh @ inval.T.astype(np.float64)
            if c != PRUNED and one.size:
                rows_ = one[np.any(codes[one] == c, 1)]
                pos = np.argmax(codes[rows_] == c, 1)
                sp[rows_] = sgn * xi[:, pos].T
        if one.size and xp_ is not None:
            pos = np.argmax(codes[one] != PRUNED, 1)
            mi = p.m[pos]
            sp[one] = (sp[one] - xp_[:, pos].T) * np.sqrt(np.clip(1 - (mi / p.s) ** 2, 0, 1))[:, None]
        n2[bad > 0] = np.nan
        return n2, dm, inv, sp
    sgn = -1.0 if fam.code == FLIP else 1.0
    with np.errstate(all="ignore"):
        ap = A + beta
        # single: one coordinate (position idx[i]) on fam.code, the rest pruned
        idx = fam.positions
        n_pat = idx.size
        n2 = np.full((n_pat, size), np.nan)
        dm = np.full((n_pat, size), np.nan)
        inv = np.full((n_pat, size), np.inf)
        sp = np.full((n_pat, size), np.nan)
        if fam.code == PRUNED:  # all pruned
            ones = np.ones((n_pat, 1))
            return ones * sp2[None, :], ones * spm[None, :], ones * cnt_p[None, :], sp
        # nodes where at most one pruned coordinate (the largest) is invalid
        live = A < 0 if fam.code == FLIP else np.isfinite(A)  # FLIP exists only for A < 0
        for sel, only_first in ((cnt_p == 0, False), (cnt_p == 1, True)):
            cols = np.flatnonzero(sel & live)
            if cols.size == 0:
                continue
            pos = idx if not only_first else idx[idx == 0]
            rows_ = np.flatnonzero(np.isin(idx, pos))
            if rows_.size == 0:
                continue
            mi = p.m[pos]
            y = B[cols][:, None] * mi[None, :]
            xk, ik = branch(fam.code, y, A[cols][:, None])
            xpi = y / ap[cols][:, None]
            n2[np.ix_(rows_, cols)] = (sp2[cols][:, None] - xpi * xpi + xk * xk).T
            dm[np.ix_(rows_, cols)] = (spm[cols][:, None] - xpi * mi + sgn * xk * mi).T
            pinv = cnt_p[cols][:, None] - ((mi[None, :] > thr_p[cols][:, None]) & (mi > 0))
            inv[np.ix_(rows_, cols)] = (pinv + ik).T
            perp = np.sqrt(np.clip(1 - (mi / p.s) ** 2, 0, 1))
            sp[np.ix_(rows_, cols)] = ((sgn * xk - xpi) * perp).T
        return n2, dm, inv, sp


def grid_F(p: Prob, n2: np.ndarray, dm: np.ndarray, rho: Any, t: Any
           ) -> tuple[np.ndarray, np.ndarray]:
    r"""(F1, F2) from the sums of :func:`row_sums` (``n2`` = :math:`|x|^2`, ``dm`` = :math:`x\cdot
    w^*`, arrays (n_pat, n_nodes); ``rho``, ``t`` broadcast along the nodes):
    :math:`F_1 = \arccos(x\cdot w^*/(|x|s)) - t`, :math:`F_2 = \log|x| - \rho` (the arccos loses
    digits only for :math:`t \lesssim 10^{-8}`; :func:`residual_F` is the stable form)."""
    with np.errstate(all="ignore"):
        nx = np.sqrt(n2)
        cos = np.clip(dm / (nx * p.s), -1.0, 1.0)
        return np.arccos(cos) - t, np.log(nx) - rho


Seed = tuple[int, float, float, bool, Any]


def _corners(a: np.ndarray, b: np.ndarray, ra: np.ndarray, rb: np.ndarray, j: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Max and min over the four corners of cells (row ``ra`` of ``a`` and ``rb`` of ``b``,
    nodes j and j + 1) of a value on two rows of the grid."""
    c = (a[ra, j], a[ra, j + 1], b[rb, j], b[rb, j + 1])
    return (np.maximum(np.maximum(c[0], c[1]), np.maximum(c[2], c[3])),
            np.minimum(np.minimum(c[0], c[1]), np.minimum(c[2], c[3])))


class _Row:
    """One row of the search grid: its nodes and :func:`row_sums` for any subset of patterns
    (:meth:`values`); ``plausible``: the patterns with ``inv == 0`` at some node."""

    def __init__(self, p: Prob, fam: Family, t: float, flip: bool, n_r: int) -> None:
        self.rho = _row_nodes(p, t, flip, n_r)
        A, B = coeffs_np(p, np.exp(self.rho), np.full(self.rho.shape, t))
        if fam.kind == "nested":
            self.nested: NestedRow | None = NestedRow(p, fam, A, B)
            self.plausible = self.nested.plausible
        else:
            self.nested = None
            self.full = row_sums(p, fam, A, B)
            self.plausible = (self.full[2] == 0).any(1)

    def values(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        if self.nested is not None:
            return self.nested.sums(rows)
        return tuple(a[rows] for a in self.full)


def _seeds(p: Prob, fam: Family, n_t: int, n_r: int) -> list[Seed]:
    """Seeds (pattern index, rho, t, on_t0_line, cell) from sign changes on the grid; ``cell``
    = (t_i, t_i+1, (rho_j, rho_j+1) in row i, (rho_j, rho_j+1) in row i+1) or None.

    A seed needs its pattern plausible at a node of its row (the lines t = 0, pi) or of its
    pair of rows, so F is formed, row by row, only for the patterns plausible in that row or a
    neighbouring one (the next row is computed one step ahead)."""
    flip = fam.t_max > math.pi / 2 + 1e-12
    ts = fam.t_max * np.linspace(0.0, 1.0, n_t) ** 2
    seeds: list[Seed] = []
    taken: dict[int, list[tuple[int, int]]] = {}

    def add(pi: int, i: int, j: int, rho: float, t: float, line: bool, cell: Any = None) -> None:
        lst = taken.setdefault(pi, [])
        if any(abs(i - a) <= 1 and abs(j - b) <= 1 for a, b in lst):
            return
        lst.append((i, j))
        seeds.append((pi, rho, t, line, cell))

    prev: tuple[Any, ...] | None = None
    row: _Row | None = None
    nxt: _Row | None = _Row(p, fam, float(ts[0]), flip, n_r)
    for i, t in enumerate(ts):
        row, nxt = nxt, (_Row(p, fam, float(ts[i + 1]), flip, n_r) if i + 1 < n_t else None)
        assert row is not None
        rho = row.rho
        need = row.plausible.copy()
        if prev is not None:
            need |= prev[-1]
        if nxt is not None:
            need |= nxt.plausible
        pats = np.flatnonzero(need)
        n2, dm, inv, sp = row.values(pats)
        act = np.flatnonzero(np.isfinite(n2).any(1))  # transcendental work on live rows only
        f1, f2, f1p, f1m = (np.full(n2.shape, np.nan) for _ in range(4))
        f1[act], f2[act] = grid_F(p, n2[act], dm[act], rho, t)
        with np.errstate(all="ignore"):
            one = act[np.isfinite(sp[act]).any(1)]
            sang = np.arctan2(sp[one], dm[one] / p.s)   # signed angle (one-coordinate patterns)
            f1p[one], f1m[one] = sang - t, -sang - t
        fin = np.isfinite(f1) & np.isfinite(f2) & (n2 > 0)
        plaus = inv == 0
        if i == 0 or (flip and i == n_t - 1 and t == math.pi):
            # the lines t = 0 and t = pi: patterns that keep x (anti)parallel to w*
            okl = fin[:, :-1] & fin[:, 1:] & (plaus[:, :-1] | plaus[:, 1:])
            sc = okl & (np.sign(f2[:, :-1]) != np.sign(f2[:, 1:]))
            near = (np.abs(f1[:, :-1]) < 1e-6) | (np.abs(f1[:, 1:]) < 1e-6)
            for pi, j in np.argwhere(sc & near):
                add(int(pats[pi]), -10 if i == 0 else 10**6, int(j),
                    float((rho[j] + rho[j + 1]) / 2), float(t), True)
        if prev is not None:
            pf1, pf2, pfin, prho, pt, pplaus, pf1p, pf1m, ppats, prev_plaus = prev
            # patterns plausible in either row (both rows formed them), finite in both
            cand = np.flatnonzero(row.plausible | prev_plaus)
            lp, lc = np.searchsorted(ppats, cand), np.searchsorted(pats, cand)
            keep = fin[lc].any(1) & pfin[lp].any(1)
            live, lp, lc = cand[keep], lp[keep], lc[keep]

            if live.size:
                # cells with all four corners finite and a plausible one; F only at those
                q, qq = pfin[lp], fin[lc]
                ok = q[:, :-1] & q[:, 1:] & qq[:, :-1] & qq[:, 1:]
                ok &= pplaus[lp][:, :-1] | pplaus[lp][:, 1:] | plaus[lc][:, :-1] \
                    | plaus[lc][:, 1:]
                li_, jj_ = np.nonzero(ok)
                with np.errstate(invalid="ignore"):
                    mx2, mn2 = _corners(pf2, f2, lp[li_], lc[li_], jj_)
                    mx1, mn1 = _corners(pf1, f1, lp[li_], lc[li_], jj_)
                    # a sign change, or a near-tangency (F1 >= 0 has a kink-like minimum where a
                    # kept coordinate meets its pruned branch): min |F| small against its range
                    near = np.minimum(np.abs(mx1), np.abs(mn1)) <= NEAR * (mx1 - mn1)
                    c1 = ((mx1 >= 0) & (mn1 <= 0)) | near
                    # the signed angle exists only for one-coordinate patterns
                    sgl = np.isfinite(pf1p[lp]).any(1) | np.isfinite(f1p[lc]).any(1)
                    s_ = np.flatnonzero(sgl[li_])
                    for qa, qb in ((pf1p, f1p), (pf1m, f1m)):
                        mxs, mns = _corners(qa, qb, lp[li_[s_]], lc[li_[s_]], jj_[s_])
                        c1[s_] |= np.isfinite(mxs) & (mxs >= 0) & (mns <= 0)
                    hit = c1 & (mx2 >= 0) & (mn2 <= 0)
                for li, j in zip(li_[hit], jj_[hit]):
                    pi = int(live[li])
                    rr = float((prho[j] + prho[j + 1] + rho[j] + rho[j + 1]) / 4)
                    cell = (pt, float(t), (float(prho[j]), float(prho[j + 1])),
                            (float(rho[j]), float(rho[j + 1])))
                    add(pi, i, int(j), rr, float((pt + t) / 2), False, cell)
            if live.size and p.pr.name == "tl1":
                # edge cells: some corners missing (a TL1 branch ends at its fold), the
                # others close to a root: start from the best finite corner
                fp_ = np.isfinite(pf1[lp]) & np.isfinite(pf2[lp])
                fc_ = np.isfinite(f1[lc]) & np.isfinite(f2[lc])
                n_fin = (fp_[:, :-1].astype(int) + fp_[:, 1:] + fc_[:, :-1] + fc_[:, 1:])
                li_, jj_ = np.nonzero((n_fin >= 1) & (n_fin < 4))
                cq: list[tuple[Any, ...]] = [(pf1, pf2, lp, prho, pt, 0),
                                             (pf1, pf2, lp, prho, pt, 1),
                                             (f1, f2, lc, rho, t, 0), (f1, f2, lc, rho, t, 1)]
                with np.errstate(invalid="ignore"):
                    sz = np.stack([np.maximum(np.abs(a_[r_[li_], jj_ + o]),
                                              np.abs(b_[r_[li_], jj_ + o]))
                                   for a_, b_, r_, _, _, o in cq])
                    sz = np.where(np.isfinite(sz), sz, np.inf)
                    best = np.min(sz, 0)
                for k_ in np.flatnonzero(best < EDGE):
                    li, j = li_[k_], int(jj_[k_])
                    _, _, _, rr_, tt_, o = cq[int(np.argmin(sz[:, k_]))]
                    add(int(live[li]), i, j, float(rr_[j + o]), float(tt_), False, None)
        prev = (f1, f2, fin, rho, float(t), plaus, f1p, f1m, pats, row.plausible)
    return seeds


def _illinois(f: Any, a: float, b: float, fa: float, fb: float, tol: float,
              iters: int = 100) -> float | None:
    """Root of f in [a, b] with f(a) f(b) < 0 (Illinois regula falsi); None on NaN."""
    side = 0
    x = a
    for _ in range(iters):
        x = (a * fb - b * fa) / (fb - fa)
        if not (min(a, b) <= x <= max(a, b)):
            x = (a + b) / 2
        fx = f(x)
        if not math.isfinite(fx):
            return None
        if fx == 0 or abs(b - a) <= tol:
            return x
        if (fx > 0) == (fb > 0):
            b, fb = x, fx
            if side == -1:
                fa /= 2
            side = -1
        else:
            a, fa = x, fx
            if side == 1:
                fb /= 2
            side = 1
    return x


def continuation(p: Prob, pattern: Any, cell: Any) -> tuple[float, float] | None:
    """Root from a seed cell by the 1-D reduction: rho*(t) solves F2 = 0 in the cell's rho
    bracket, then g(t) = F1(rho*(t), t) is solved between the cell's two rows.  Robust where
    F1 has a narrow V-shaped dip off the F2 = 0 curve (a kept coordinate near its pruned
    branch makes x nearly parallel to w*)."""
    t0, t1, (a0, b0), (a1, b1) = cell
    lo, hi = min(a0, a1), max(b0, b1)

    def rho_star(t: float) -> float | None:
        def f2(r: float) -> float:
            return float(residual_F(p, pattern, r, t)[1])

        fl, fh = f2(lo), f2(hi)
        if not (math.isfinite(fl) and math.isfinite(fh)) or (fl > 0) == (fh > 0):
            return None
        return _illinois(f2, lo, hi, fl, fh, 1e-10 * max(1.0, abs(lo)))

    def g(t: float) -> float:
        r = rho_star(t)
        return math.nan if r is None else float(residual_F(p, pattern, r, t)[0])

    g0, g1 = g(t0), g(t1)
    if not (math.isfinite(g0) and math.isfinite(g1)) or (g0 > 0) == (g1 > 0):
        return None
    t = _illinois(g, t0, t1, g0, g1, 1e-9 * max(1e-3, t1))  # Newton polishes the rest
    if t is None:
        return None
    r = rho_star(t)
    return None if r is None else (r, t)


def newton_float(p: Prob, pattern: Any, rho: float, t: float, t_max: float,
                 fix_t0: bool = False, iters: int = 60) -> tuple[float, float, float] | None:
    """Damped Newton on (rho, t) (or rho alone with t fixed, ``fix_t0``: t = 0 or pi);
    (rho, t, |F|_inf) or None."""
    def F(x0: float, x1: float) -> np.ndarray:
        return residual_F(p, pattern, x0, x1)

    def size(f: np.ndarray) -> float:
        return float(np.max(np.abs(f[1:] if fix_t0 else f)))

    f = F(rho, t)
    if not np.all(np.isfinite(f)):
        return None
    for _ in range(iters):
        nf = size(f)
        if nf < 1e-15:
            break
        h0 = 1e-7
        fa = F(rho + h0, t)
        if not np.all(np.isfinite(fa)):
            h0 = -h0
            fa = F(rho + h0, t)
        if fix_t0:
            d = (fa[1] - f[1]) / h0
            if not np.isfinite(d) or d == 0:
                return None
            step = np.array([-f[1] / d, 0.0])
        else:
            h1 = 1e-7 * max(t, 1e-4)
            if t + h1 > t_max:
                h1 = -h1
            fb = F(rho, t + h1)
            if not np.all(np.isfinite(fb)) and t - h1 >= 0:
                h1 = -h1
                fb = F(rho, t + h1)
            J = np.column_stack([(fa - f) / h0, (fb - f) / h1])
            if not np.all(np.isfinite(J)):
                return None
            try:
                step = -np.linalg.solve(J, f)
            except np.linalg.LinAlgError:
                return None
        lam_ = 1.0
        accepted = False
        for _ in range(40):
            nr, nt = rho + lam_ * step[0], t + lam_ * step[1]
            if 0 <= nt <= t_max:
                fn = F(nr, nt)
                if np.all(np.isfinite(fn)) and (size(fn) < nf or size(fn) < 1e-15):
                    rho, t, f = nr, nt, fn
                    accepted = True
                    break
            lam_ /= 2
        if not accepted:
            break
    return rho, t, size(f)


# ---------------------------------------------------------------------- candidates

@dataclass
class Root:
    pattern: np.ndarray      # codes on ``order``
    r: float
    t: float
    A: float
    B: float
    xi: np.ndarray
    res: float
    margins: np.ndarray
    dphi: np.ndarray
    u: np.ndarray
    good: bool
    special: str | None = None


def l0_zero_a_roots(p: Prob, max_zero: int = 64) -> list[Root]:
    """l0 fixed points with A = 0 exactly (limits.md step 5): a kept coordinate with y = 0
    solves A xi = y for every xi, so

    * ``l0-false``: one false support f (w*_f = 0), the rest pruned (x_i = B|w*_i|/beta):
      r = A_1(t) s/A_0 (A = 0), x.w* = B s^2/beta, so cos t = B(t) s/(beta r(t)) fixes t and
      xi_f = sqrt(r^2 - B^2 s^2/beta^2) (valid if > z and the pruned ones are <= z);
    * ``l0-anti``: t = pi (B = 0), every nonzero coordinate kept against its sign:
      x = -(r/s) w* with r = A_1(pi) s/A_0 (valid if every nonzero |x_i| > z).

    Both lie outside the good family; with two or more such coordinates they are not isolated
    (not attracting: M has the eigenvalue 0), so only single false supports are listed."""
    pr = p.pr
    if pr.name != "l0":
        return []
    kern = relu_coeff_kernels()
    beta, z = float(pr.beta), float(pr.zero)
    k64 = np.float64(p.k)
    out: list[Root] = []

    def r0(t: float) -> float:
        return float(kern["A1"](k64, np.float64(t))) * p.s / p.A0

    def bb(t: float) -> float:
        return float(kern["B"](k64, np.float64(t)))

    zeros = np.flatnonzero(p.m == 0)
    if zeros.size:
        def h(t: float) -> float:
            r = r0(t)
            return bb(t) * p.s / (beta * r) - math.cos(t) if r > 0 else math.nan

        ts = np.linspace(1e-9, math.pi / 2, 400)
        hs = np.array([h(float(t)) for t in ts])
        for j in np.flatnonzero(np.isfinite(hs[:-1]) & np.isfinite(hs[1:])
                                & (np.sign(hs[:-1]) != np.sign(hs[1:]))):
            t = _illinois(h, float(ts[j]), float(ts[j + 1]), float(hs[j]), float(hs[j + 1]),
                          1e-16)
            if t is None:
                continue
            r, B = r0(t), bb(t)
            xi_p = B * p.m / beta
            rest = r * r - float(xi_p @ xi_p)
            if rest <= 0 or float(np.max(xi_p)) > z:
                continue
            xf = math.sqrt(rest)
            if xf <= z:
                continue
            for f in zeros[:max_zero]:
                codes = np.zeros(p.n, dtype=np.int8)
                codes[f] = FLIP
                xi = xi_p.copy()
                xi[f] = xf
                margins = np.where(codes == FLIP, (xi - z) / z, (z - xi) / z)
                dphi = np.where(codes == FLIP, 0.0, beta)
                out.append(Root(codes, r, t, 0.0, B, xi, 0.0, margins, dphi,
                                np.where(codes == FLIP, xi, 0.0), False, "l0-false"))
    r = r0(math.pi)
    if r > 1e-9 * p.s and p.nnz:  # k = 1: A_1(pi) = 0 (r = 0 is w = 0, not a fixed point)
        xi = (r / p.s) * p.m
        if float(np.min(xi[:p.nnz])) > z:
            codes = np.zeros(p.n, dtype=np.int8)
            codes[:p.nnz] = FLIP
            margins = np.where(codes == FLIP, (xi - z) / z, 1.0)
            dphi = np.where(codes == FLIP, 0.0, beta)
            out.append(Root(codes, r, math.pi, 0.0, 0.0, xi, 0.0, margins, dphi,
                            np.where(codes == FLIP, xi, 0.0), False, "l0-anti"))
    return out


def evaluate_root(p: Prob, pattern: Any, r: float, t: float, res: float) -> Root:
    xi, codes, A, B = xi_pattern_np(p, pattern, r, t)
    y = B * p.m
    margins = np.ones(p.n)
    dphi = np.full(p.n, A + float(p.pr.beta))
    u = np.zeros(p.n)
    for c in (PRUNED, KEPT, KEPT_LOW, FLIP):
        sel = codes == c
        if np.any(sel):
            b = branch_np(c, y[sel], np.float64(A), p.pr)
            margins[sel] = b.margin
            dphi[sel] = b.dphi
            u[sel] = b.u
    return Root(np.asarray(codes, dtype=np.int8), r, t, A, B, xi, res, margins, dphi, u,
                not bool(np.any(codes == FLIP)))


def _solve_seed(p: Prob, fam: Family, seed: Seed) -> tuple[float, float, float] | None:
    """The float64 root from one seed: :func:`continuation` in its cell (if any), then
    :func:`newton_float`; (rho, t, |F|_inf) or None."""
    pi, rho, t, on_line, cell = seed
    pat = fam.pattern(pi, p)
    if cell is not None:
        c = continuation(p, pat, cell)
        if c is not None:
            rho, t = c
    return newton_float(p, pat, rho, t, fam.t_max, fix_t0=on_line)


SCREEN_MIN = 8       # nested seeds sharing one start are screened when at least this many
SCREEN_TOL = 1e-3    # ... and a pattern is skipped if its boundary margin is surely below -this
SCREEN_T_MIN = 1e-3  # not below this angle (grid_F's arccos form loses digits towards t = 0)


def _boundary_margin(p: Prob, fam: Family, pats: np.ndarray, rho: np.ndarray, t: np.ndarray
                     ) -> np.ndarray:
    """For nested patterns ``pats`` (the j largest |w*_i| on ``fam.code``, the rest pruned) at
    points (rho, t): the smaller of the margins of coordinate j - 1 (the last kept one) and of
    coordinate j (the first pruned one); a pattern whose root has a boundary margin below the
    validation tolerance is invalid there (a necessary condition, whatever the others)."""
    A, B = coeffs_np(p, np.exp(rho), t)
    out = np.full(pats.shape, np.inf)
    k_ = pats >= 1
    if np.any(k_):
        out[k_] = branch_np(fam.code, B[k_] * p.m[pats[k_] - 1], A[k_], p.pr).margin
    q_ = pats < p.nnz
    if np.any(q_):
        out[q_] = np.minimum(out[q_], branch_np(PRUNED, B[q_] * p.m[pats[q_]], A[q_], p.pr).margin)
    return out


def _family_F(p: Prob, fam: Family, pats: np.ndarray, rho: np.ndarray, t: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """(F1, F2) of every pattern in ``pats`` at the points (rho, t), arrays (n_pats, n_points):
    one pass of :func:`row_sums` per point serves all the patterns of the family."""
    A, B = coeffs_np(p, np.exp(rho), t)
    n2, dm, _, _ = row_sums(p, fam, A, B)
    return grid_F(p, n2[pats], dm[pats], rho, t)


def _lagrange3(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The quadratic Lagrange basis on the nodes -1, 0, 1 at ``u`` and its derivative:
    arrays (3, *u.shape)."""
    val = np.stack([u * (u - 1) / 2, 1 - u * u, u * (u + 1) / 2])
    der = np.stack([u - 0.5, -2 * u, u + 0.5])
    return val, der


def predict_nested_roots(p: Prob, fam: Family, pats: np.ndarray, rho_a: float, t_a: float
                         ) -> tuple[np.ndarray, np.ndarray]:
    r"""Approximate roots (rho, t) of the nested patterns ``pats`` near the root
    :math:`X_a = (\rho_a, t_a)` of one of them, from :func:`_family_F` at a dozen points shared by
    all the patterns (NaN where the model fails).

    1. One Newton step from :math:`X_a` with a forward-difference Jacobian (steps
       :math:`10^{-6}` in :math:`\rho` and :math:`10^{-6}t_a` in :math:`t`): :math:`X^{(1)}`, first
       order in the spread of the roots;
    2. the biquadratic interpolant of :math:`F` on the 3 x 3 tensor grid spanning the box of
       :math:`X^{(1)}` (and :math:`X_a`), solved by Newton from :math:`X^{(1)}`: third order in the
       box.  Nested patterns differ in one coordinate each, so their roots lie close together
       and the box is small."""
    def solve2(j11: Any, j12: Any, j21: Any, j22: Any, f1: Any, f2: Any) -> tuple[Any, Any]:
        with np.errstate(all="ignore"):
            det = j11 * j22 - j12 * j21
            return -(j22 * f1 - j12 * f2) / det, -(j11 * f2 - j21 * f1) / det

    hr, ht = 1e-6, 1e-6 * t_a
    f1, f2 = _family_F(p, fam, pats, np.array([rho_a, rho_a + hr, rho_a]),
                       np.array([t_a, t_a, t_a + ht]))
    dr, dt = solve2((f1[:, 1] - f1[:, 0]) / hr, (f1[:, 2] - f1[:, 0]) / ht,
                    (f2[:, 1] - f2[:, 0]) / hr, (f2[:, 2] - f2[:, 0]) / ht, f1[:, 0], f2[:, 0])
    r1, t1 = rho_a + dr, t_a + dt
    fin = np.isfinite(r1) & np.isfinite(t1)
    nan = np.full(pats.shape, np.nan)
    if not np.any(fin):
        return nan, nan
    lo_r, hi_r = min(rho_a, float(np.min(r1[fin]))), max(rho_a, float(np.max(r1[fin])))
    lo_t, hi_t = min(t_a, float(np.min(t1[fin]))), max(t_a, float(np.max(t1[fin])))
    cr, ct = (lo_r + hi_r) / 2, (lo_t + hi_t) / 2
    wr = max(0.6 * (hi_r - lo_r), 1e-7 * max(1.0, abs(cr)))
    wt = max(0.6 * (hi_t - lo_t), 1e-7 * ct)
    g = np.array([-1.0, 0.0, 1.0])
    gu, gv = np.meshgrid(g, g, indexing="ij")      # point (a, b) = (cr + a wr, ct + b wt)
    F1, F2 = _family_F(p, fam, pats, cr + wr * gu.ravel(), ct + wt * gv.ravel())
    F1, F2 = F1.reshape(-1, 3, 3), F2.reshape(-1, 3, 3)
    u, v = (r1 - cr) / wr, (t1 - ct) / wt
    with np.errstate(all="ignore"):
        for _ in range(30):
            lu, du = _lagrange3(u)
            lv, dv = _lagrange3(v)
            m1 = np.einsum("pab,ap,bp->p", F1, lu, lv)
            m2 = np.einsum("pab,ap,bp->p", F2, lu, lv)
            step_u, step_v = solve2(np.einsum("pab,ap,bp->p", F1, du, lv) / wr,
                                    np.einsum("pab,ap,bp->p", F1, lu, dv) / wt,
                                    np.einsum("pab,ap,bp->p", F2, du, lv) / wr,
                                    np.einsum("pab,ap,bp->p", F2, lu, dv) / wt, m1, m2)
            u, v = u + step_u / wr, v + step_v / wt
        ok = (np.abs(m1) <= 1e-12) & (np.abs(m2) <= 1e-12) & (np.abs(u) <= 2) & (np.abs(v) <= 2)
    return np.where(ok, cr + wr * u, np.nan), np.where(ok, ct + wt * v, np.nan)


def _screen_batch(p: Prob, fam: Family, seeds: list[Seed], idxs: list[int],
                  solve: Any) -> set[int]:
    r"""Seeds of ``idxs`` (nested patterns sharing one start) whose root surely fails validation.

    The root of the middle pattern and of the two extreme ones are computed exactly
    (``solve``: :func:`_solve_seed`, cached for the main loop); the others are predicted
    (:func:`predict_nested_roots`).  The largest error of the prediction at the three exact
    roots, :math:`\delta\rho, \delta t`, times 10, bounds the error at the others (the extreme
    patterns are the farthest from the anchor); a pattern is skipped when its predicted
    boundary margin (:func:`_boundary_margin`) plus that bound times the margin's gradient is
    below ``-SCREEN_TOL``.  Nothing is skipped if an exact root is missing or lies below
    ``SCREEN_T_MIN``, or a prediction is not finite."""
    pats = np.array([seeds[q][0] for q in idxs])
    if np.unique(pats).size != pats.size or pats.size < SCREEN_MIN:
        return set()
    order = np.argsort(pats)
    idxs, pats = [idxs[o] for o in order], pats[order]
    probes = [len(idxs) // 2, 0, len(idxs) - 1]
    exact = []
    for k_ in probes:
        sol = solve(idxs[k_])
        if sol is None or sol[2] > 1e-11 or sol[1] < SCREEN_T_MIN:
            return set()
        exact.append(sol)
    rho_p, t_p = predict_nested_roots(p, fam, pats, exact[0][0], exact[0][1])
    pk = np.array(probes)
    dr = np.abs(rho_p[pk] - np.array([e[0] for e in exact]))
    dt = np.abs(t_p[pk] - np.array([e[1] for e in exact]))
    if not (np.all(np.isfinite(dr)) and np.all(np.isfinite(dt))):
        return set()
    er, et = 10 * float(np.max(dr)), 10 * float(np.max(dt))
    hr, ht = 1e-7, 1e-7 * t_p
    mg = _boundary_margin(p, fam, pats, rho_p, t_p)
    with np.errstate(all="ignore"):
        gr = (_boundary_margin(p, fam, pats, rho_p + hr, t_p) - mg) / hr
        gt = (_boundary_margin(p, fam, pats, rho_p, t_p + ht) - mg) / ht
        bound = mg + np.abs(gr) * er + np.abs(gt) * et
    skip = np.isfinite(bound) & (bound < -SCREEN_TOL) & (pats >= 2)
    skip[pk] = False
    return {idxs[k_] for k_ in np.flatnonzero(skip)}


def find_roots(p: Prob, families: list[Family], n_t: int = 40, n_r: int = 40,
               tol_valid: float = 1e-10, validate: bool = True,
               max_points: int | None = None) -> list[Root]:
    """All roots of the reduced system for the given pattern families, validated (every
    coordinate inside its branch's region) unless ``validate`` is False; at most ``max_points``
    (then ``find_roots.truncated`` is set True).

    With validation, the seeds of a nested family that share one start (for large d, hundreds
    of neighbouring supports seed the same cell) are screened by :func:`_screen_batch`: a
    seed is solved only if its root may pass validation."""
    roots: list[Root] = []
    find_roots.truncated = False  # type: ignore[attr-defined]
    for fam in families:
        if max_points is not None and len(roots) >= max_points:
            find_roots.truncated = True  # type: ignore[attr-defined]
            break
        seeds = _seeds(p, fam, n_t, n_r)
        sols: dict[int, tuple[float, float, float] | None] = {}

        def solve(q: int, fam: Family = fam, seeds: list[Seed] = seeds,
                  sols: dict[int, tuple[float, float, float] | None] = sols
                  ) -> tuple[float, float, float] | None:
            if q not in sols:
                sols[q] = _solve_seed(p, fam, seeds[q])
            return sols[q]

        batches: dict[Any, list[int]] = {}
        if validate and fam.kind == "nested":
            for q, (_, rho, t, on_line, cell) in enumerate(seeds):
                if not on_line:
                    batches.setdefault((rho, t, cell), []).append(q)
        skipped: dict[Any, set[int]] = {}
        tried: set[int] = set()
        q = -1
        while q + 1 < len(seeds):
            q += 1
            pi, rho0, t0, on_line, cell = seeds[q]
            key = (rho0, t0, cell)
            if not on_line and len(batches.get(key, ())) >= SCREEN_MIN:
                if key not in skipped:
                    skipped[key] = _screen_batch(p, fam, seeds, batches[key], solve)
                if q in skipped[key]:
                    continue
            pat = fam.pattern(pi, p)
            sol = solve(q)
            if sol is None:
                continue
            rho_, t_, res = sol
            if res > 1e-11:
                continue
            if on_line:
                xi, codes, _, _ = xi_pattern_np(p, pat, math.exp(rho_), t_)
                ang = float(_angle_np(full_vector(p, xi, codes), p.w_star))
                if abs(ang - t_) > 1e-12:
                    continue
            root = evaluate_root(p, pat, math.exp(rho_), t_, res)
            if not np.all(np.isfinite(root.xi)):
                continue
            xfull = full_vector(p, root.xi, root.pattern)
            if abs(float(_angle_np(xfull, p.w_star)) - t_) > 1e-11:
                continue
            ok = np.where(root.pattern == PRUNED, root.margins >= -tol_valid,
                          root.margins > -tol_valid)
            if validate and not np.all(ok):
                if fam.kind == "nested":
                    tried.add(pi)
                    seeds.extend(_walk_seeds(p, fam, pi, root, tried, tol_valid))
                continue
            if any(_same(root, q_) for q_ in roots):
                continue
            roots.append(root)
            if max_points is not None and len(roots) >= max_points:
                find_roots.truncated = True  # type: ignore[attr-defined]
                return roots
            if fam.kind == "explicit":
                tried.add(pi)
                seeds.extend(_swap_seeds(p, fam, pi, root, tried))
            elif fam.kind == "nested" and validate:
                tried.add(pi)
                seeds.extend(_walk_seeds(p, fam, pi, root, tried, tol_valid))
    return roots


def band_at(p: Prob, A: float, B: float, tol: float = 1e-10) -> dict[int, tuple[str, ...]]:
    """The hysteresis band at coefficients (A, B): every coordinate (index in ``w_star``) with
    two or more valid branches, with their names (pruned, kept, kept-low for TL1, and
    kept-flipped when A < 0).  A zero of w* is never in it (keeping one needs A = 0)."""
    y = B * p.m
    codes = [PRUNED, KEPT] + ([KEPT_LOW] if p.pr.name == "tl1" else []) + (
        [FLIP] if A < 0 else [])
    valid = []
    with np.errstate(invalid="ignore"):
        for c in codes:
            mg = branch_np(c, y, np.float64(A), p.pr).margin
            valid.append(mg >= -tol if c == PRUNED else mg > tol)
    V = np.array(valid)
    V[1:, p.m == 0] = False
    many = np.flatnonzero(V.sum(0) >= 2)
    return {int(p.order[j]): tuple(BRANCH_NAMES[codes[q]] for q in np.flatnonzero(V[:, j]))
            for j in many}


WALK_MAX = 64  # nested supports a walk may visit from one invalid root


def nested_consistent_range(p: Prob, fam: Family, A: float, B: float,
                            tol_valid: float = 1e-10) -> tuple[int, int]:
    """The kept-set sizes j of ``fam`` (nested) whose every coordinate is inside its branch
    at the coefficients (A, B): j in [j_lo, j_hi], where j_hi = the number of leading
    coordinates valid on ``fam.code`` and j_lo = 1 + the last nonzero coordinate invalid when
    pruned (j_lo > j_hi: none)."""
    y = B * p.m[:p.nnz]
    with np.errstate(invalid="ignore"):
        kv = branch_np(fam.code, y, np.float64(A), p.pr).margin > -tol_valid
        pv = branch_np(PRUNED, y, np.float64(A), p.pr).margin >= -tol_valid
    j_hi = int(np.argmin(kv)) if not np.all(kv) else p.nnz
    bad = np.flatnonzero(~pv)
    j_lo = int(bad[-1]) + 1 if bad.size else 0
    return j_lo, j_hi


def _walk_seeds(p: Prob, fam: Family, pi: int, root: Root, tried: set[int],
                tol_valid: float) -> list[Seed]:
    """Seeds that walk a nested family towards its self-consistent supports.

    From a root of support size ``pi`` that fails validation: the sizes consistent with the
    root's coefficients (:func:`nested_consistent_range`) say where the valid roots lie (a
    coordinate invalid when kept asks for a smaller support, one invalid when pruned for a
    larger one); the nearest such size (the middle of the range when it is empty) is seeded
    at this root's (rho, t), and its root, if invalid, seeds the next step.  From a valid root:
    its neighbours pi - 1 and pi + 1 (in a hysteresis band every nested support between the
    band's ends is valid, and their roots lie closer together than the grid resolves).

    Found at d = 2000 and 10^4 (TL1, a = 1, k = 4, lam = 0.05): the coarse grid's cells were
    wider than the narrow strip of valid nested roots next to the kept branch's fold (the
    fold nodes stop above FOLD_MAX coordinates), so every seed's root failed validation and
    the good family came back empty while RVSM converged; the walk reaches the strip from
    those roots in a few Newton solves (limits.md, step 4)."""
    if len(tried) > WALK_MAX * (p.nnz + 1):
        return []
    ok = np.where(root.pattern == PRUNED, root.margins >= -tol_valid, root.margins > -tol_valid)
    if np.all(ok):
        targets = [pi - 1, pi + 1]
    else:
        j_lo, j_hi = nested_consistent_range(p, fam, root.A, root.B, tol_valid)
        if j_lo <= j_hi:
            targets = [min(max(pi, j_lo), j_hi)]
        else:
            targets = [(j_lo + j_hi) // 2]
    out: list[Seed] = []
    for j in targets:
        if 0 <= j <= p.nnz and j not in tried:
            tried.add(j)
            out.append((j, math.log(root.r), root.t, False, None))
    return out


NEAR_TIE = 0.05  # relative gap of |w*_i|, |w*_j| below which swapped patterns are cross-seeded


def _swap_seeds(p: Prob, fam: Family, pi: int, root: Root, tried: set[int]) -> list[Seed]:
    """Seeds at a found root's (rho, t) for the patterns of ``fam`` that swap the codes of two
    coordinates with nearly equal |w*_i|.  For an exact tie the swap is a symmetry, so both
    patterns have their roots at the same (r, t); for a near-tie the roots are close, closer
    than the grid resolves (found by the statement ``limits.complete_means_complete``: TL1,
    |w*| = 0.8018 and 0.8050), and Newton from the found root reaches the other."""
    codes = fam.codes
    base = codes[pi]
    m = p.m
    out: list[Seed] = []
    for i in range(p.nnz):
        for j in range(i + 1, p.nnz):
            if base[i] == base[j] or m[i] - m[j] > NEAR_TIE * m[i]:
                continue
            sw = base.copy()
            sw[i], sw[j] = base[j], base[i]
            hit = np.flatnonzero(np.all(codes == sw, axis=1))
            for h in hit.tolist():
                if h not in tried:
                    tried.add(h)
                    out.append((h, math.log(root.r), root.t, False, None))
    return out


def _same(a: Root, b: Root) -> bool:
    if not np.array_equal(a.pattern, b.pattern) and not (
            np.array_equal(a.pattern == FLIP, b.pattern == FLIP)):
        return False
    scale = max(1.0, float(np.max(np.abs(a.xi))))
    return (float(np.max(np.abs(a.xi - b.xi))) <= 1e-9 * scale and abs(a.r - b.r) <= 1e-9 * a.r
            and abs(a.t - b.t) <= 1e-9 * max(1.0, a.t))


# ------------------------------------------------------------------------ mp polish

def mp_vectors(w_star_mp: list[Any], order: Any) -> tuple[list[int], list[Any], list[Any], Any]:
    """The float64 path's ``order`` with mpmath magnitudes, signs (+1 at 0) and |w*|."""
    idx = [int(i) for i in order]
    return (idx, [abs(w_star_mp[i]) for i in idx],
            [mpmath.mpf(-1) if w_star_mp[i] < 0 else mpmath.mpf(1) for i in idx],
            norm_mp(w_star_mp))


def residual_F_mp(k: int, pr: Params, w_star_mp: list[Any], order: list[int], m: list[Any],
                  sig: list[Any], s: Any, codes: np.ndarray, rho: Any, t: Any
                  ) -> tuple[list[Any], Any, Any, list[Any]] | None:
    """(F1, F2) with mpmath; also A, B and the signed full vector x."""
    kern = relu_coeff_kernels()
    r = mpmath.exp(rho)
    A = kern["A"].mp(k, r, s, t)
    B = kern["B"].mp(k, t)
    x = [mpmath.mpf(0)] * len(w_star_mp)
    for j, i in enumerate(order):
        c = int(codes[j])
        b = branch_mp(c, B * m[j], A, pr)
        if b is None:
            return None
        x[i] = (-sig[j] if c == FLIP else sig[j]) * b.xi
    nx = norm_mp(x)
    if not nx:
        return None
    return [angle_mp(x, w_star_mp) - t, mpmath.log(nx) - rho], A, B, x


def newton_mp(k: int, pr: Params, w_star_mp: list[Any], codes: np.ndarray, rho0: float,
              t0: float, fix_t0: bool, order: Any) -> tuple[Any, Any, Any] | None:
    """Newton in mpmath at the working precision from a float64 root (forward-difference
    Jacobian with step 10^-(dps/2 + 2): Newton's error then squares each step up to that)."""
    order, m, sig, s = mp_vectors(w_star_mp, order)
    rho, t = mpmath.mpf(rho0), mpmath.mpf(t0)
    tiny = mpmath.eps * 64
    h = mpmath.mpf(10) ** (-(mpmath.mp.dps // 2 + 2))

    def F(a: Any, b: Any) -> Any:
        return residual_F_mp(k, pr, w_star_mp, order, m, sig, s, codes, a, b)

    last = None
    for _ in range(100):
        out = F(rho, t)
        if out is None:
            return None
        f = out[0]
        nf = max(abs(f[1]), 0 if fix_t0 else abs(f[0]))
        if nf <= tiny:
            return rho, t, nf
        fa = F(rho + h, t)
        if fa is None:
            return None
        if fix_t0:
            dd = (fa[0][1] - f[1]) / h
            if not dd:
                return None
            drho, dt = -f[1] / dd, mpmath.mpf(0)
        else:
            ht = h * max(t, mpmath.mpf("1e-4"))
            fb = F(rho, t + ht)
            if fb is None:
                ht = -ht
                fb = F(rho, t + ht)
            if fb is None:
                return None
            J = mpmath.matrix([[(fa[0][0] - f[0]) / h, (fb[0][0] - f[0]) / ht],
                               [(fa[0][1] - f[1]) / h, (fb[0][1] - f[1]) / ht]])
            try:
                st = mpmath.lu_solve(J, mpmath.matrix([-f[0], -f[1]]))
            except ZeroDivisionError:
                return None
            drho, dt = st[0], st[1]
        rho, t = rho + drho, t + dt
        if t < 0:
            return None
        size = max(abs(drho), abs(dt))
        if last is not None and size >= last and size < mpmath.mpf(10) ** (-mpmath.mp.dps + 8):
            break  # rounding-level steps stopped shrinking
        last = size
    out = F(rho, t)
    if out is None:
        return None
    f = out[0]
    return rho, t, max(abs(f[1]), 0 if fix_t0 else abs(f[0]))
