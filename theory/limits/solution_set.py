r"""The whole set of fixed points of ReLU RVSM, described rather than listed, and where a given
limit sits in it (``proofs_notes/limits.md``, "The solution set").

With hysteresis (l0, and TL1 below its monotonicity bound) a coordinate whose
:math:`B|w^*_i|` lies in a band is a valid preimage on two or three branches, and every
combination of choices can be a fixed point: their number grows like :math:`2^{band}`, and a list
(:func:`theory.limits.relu_fixed_points`, capped at ``max_points``) cannot hold them.
:func:`describe_solution_set` returns a :class:`SolutionSet` instead:

* **l0** (exact reduction, :mod:`theory.limits._l0set`): the fixed points with :math:`A \ne 0,
  -\beta` are the kept sets :math:`S` whose weight :math:`K = \sum_S |w^*_i|^2` lies on a root
  curve :math:`A(K)` with every coordinate of :math:`S` above ``lo(K)`` and every other at or
  below ``hi(K)``.  Each :class:`Region` is a :math:`K`-interval of one curve on which the
  coordinates forced in (ranks ``[0, a)`` of ``order``), free (ranks ``[a, b)``) and forced out
  are fixed; its ``count`` is the number of subsets of the free ones that put :math:`K` inside
  the interval (exact, or rigorous bounds: :func:`theory.limits._l0set.count_subsets`), and
  ``attracting`` the verdict of the exact spectrum (the same for every pattern of the region
  with at least two kept and two pruned coordinates; the others are enumerated one by one).
  The degenerate points (:math:`A = 0`, :math:`A = -\beta`) and the zero-slope families are
  listed beside the regions.
* **TL1, l1**: the listed fixed points (:func:`theory.limits.relu_fixed_points`), grouped into
  regions: the coordinates with two or more valid branches at a listed point form its band,
  and the region holds every choice of branches in the band (``count_estimate``: the
  product of the numbers of choices; not verified pattern by pattern, so ``count`` is None).

:meth:`SolutionSet.locate` places a point (e.g. a simulation's limit) in the set: its pattern
is read off the prox, the fixed point with that pattern is polished by Newton on the reduced
system (:func:`polish`) and checked (residual of the fixed-point equation), and the region
holding it is named.  :func:`population_limit` runs the float64 population iteration (NumPy, no
torch) from a start to convergence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from theory import relu
from theory._validate import check_k
from theory.geometry import angle as angle_np
from theory.geometry import norm
from theory.limits import _l0set as L0
from theory.limits import _relu as R
from theory.limits._common import (
    BRANCH_NAMES,
    FLIP,
    KEPT,
    KEPT_LOW,
    PRUNED,
    branch_np,
    check_instance,
    make_params,
)
from theory.limits._types import FixedPoint

__all__ = ["Region", "SolutionSet", "Location", "describe_solution_set", "polish",
           "population_limit", "IterationResult"]


@dataclass(frozen=True)
class Region:
    r"""One region of the solution set.

    ``kind``: ``l0-curve`` (an interval ``k_range`` of :math:`K` on root curve ``curve``),
    ``all-pruned``, ``band`` (TL1/l1: listed points and their band) or ``point`` (one listed
    fixed point without a band).  ``side``: ``kept`` (:math:`A > 0`, the good family) or
    ``flipped`` (:math:`A < 0`, kept coordinates against the sign of :math:`w^*_i`).
    ``A_range``, ``t_range``, ``r_range``: the scalars over the region.  ``ranks`` (l0):
    ``(a, b)``: the coordinates ``order[:a]`` are forced in, ``order[a:b]`` free, the rest forced
    out (:meth:`SolutionSet.forced_in` ...); ``thresholds``: ``(lo, hi)`` at the region's middle.
    ``band`` (TL1/l1): ``(i, branch names)`` of every coordinate with several valid branches;
    ``pattern``: the branches at the region's first listed point.
    ``count``: the number of fixed points in the region (None when not exact; then
    ``count_bounds`` brackets it, an upper end None meaning unknown); ``count_log2``: log2 of
    the count, or of an estimate when it is not exact (l0: the middle of the bounds, or a
    normal approximation of the distribution of the subset sums when the bounds are trivial); ``attracting_count`` likewise for ``eta``;
    ``attracting``: the verdict shared by the region's generic patterns (None: no ``eta``, or
    not uniform).
    """

    index: int
    kind: str
    side: str
    A_range: tuple[float, float]
    t_range: tuple[float, float]
    r_range: tuple[float, float]
    count: int | None
    count_bounds: tuple[int, int | None]
    attracting: bool | None
    attracting_count: int | None
    attracting_bounds: tuple[int, int | None] | None
    curvature: tuple[float, float] | None = None
    spectral_radius: float | None = None
    curve: int | None = None
    k_range: tuple[float, float] | None = None
    ranks: tuple[int, int] | None = None
    thresholds: tuple[float, float] | None = None
    band: tuple[tuple[int, tuple[str, ...]], ...] = ()
    pattern: tuple[str, ...] = ()
    count_estimate: float | None = None
    count_log2: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Location:
    """Where a point sits in a :class:`SolutionSet`: ``found`` iff it is (to ``distance`` in
    max-abs) the fixed point ``fixed_point`` of the described set; ``kind`` ``region``
    (``region`` its index), ``special`` (a degenerate point, ``special`` its index),
    ``family`` (a zero-slope family) or ``none``; ``residual``: the fixed-point equation at
    the polished point, relative (:attr:`FixedPoint.residual`)."""

    found: bool
    kind: str
    region: int | None
    special: int | None
    pattern: tuple[str, ...]
    fixed_point: FixedPoint | None
    distance: float
    residual: float | None
    message: str


@dataclass(frozen=True)
class SolutionSet:
    r"""Every fixed point of one ReLU RVSM instance, described (module docstring).

    ``regions``; ``special``: isolated degenerate fixed points (:class:`FixedPoint`,
    :math:`A = 0` or :math:`-\beta`); ``families``: continua (zero-slope, l0); ``order``: the
    coordinates by decreasing :math:`|w^*_i|` (zeros last), on which ``Region.ranks`` count;
    ``count``: the number of isolated fixed points (regions + special), None unless exact, with
    ``count_bounds`` (an upper end None: unknown) and ``count_log2`` (log2 of the count or of
    the sum of the regions' estimates); ``attracting_count`` / ``attracting_bounds`` for ``eta``; ``exact``: every
    count is exact; ``complete``: the description covers every fixed point by construction
    (l0: every kept set on every root curve; the root curves themselves are found by a scan in
    :math:`A`, checked, not proved); ``method`` and ``notes`` say how and what is left out.
    """

    model: str
    penalty: str
    instance: dict[str, Any]
    order: tuple[int, ...]
    regions: tuple[Region, ...]
    special: tuple[FixedPoint, ...]
    families: tuple[Any, ...]
    count: int | None
    count_bounds: tuple[int, int | None]
    attracting_count: int | None
    attracting_bounds: tuple[int, int | None] | None
    exact: bool
    complete: bool
    method: str
    notes: tuple[str, ...] = ()
    count_log2: float | None = None
    _ctx: Any = field(default=None, repr=False, compare=False)

    def forced_in(self, region: Region) -> tuple[int, ...]:
        if region.ranks is None:
            return tuple(i for i, c in enumerate(region.pattern) if c != "pruned"
                         and i not in dict(region.band))
        return self.order[:region.ranks[0]]

    def free(self, region: Region) -> tuple[int, ...]:
        if region.ranks is None:
            return tuple(i for i, _ in region.band)
        return self.order[region.ranks[0]:region.ranks[1]]

    def forced_out(self, region: Region) -> tuple[int, ...]:
        if region.ranks is None:
            return tuple(i for i, c in enumerate(region.pattern) if c == "pruned"
                         and i not in dict(region.band))
        return self.order[max(region.ranks):]

    def locate(self, w: Any, tol: float = 1e-8) -> Location:
        """Place ``w`` (e.g. the limit of a run) in the set: the fixed point with the pattern
        ``w`` has (:func:`polish`), its region, and its distance to ``w`` (found iff the
        distance is at most ``tol`` times max(1, max|w|) and the point is valid)."""
        return _locate(self, np.asarray(w, dtype=np.float64), tol)

    def summary(self) -> dict[str, Any]:
        """JSON-able overview (counts as decimal strings when they exceed 2^53)."""
        return {
            "method": self.method, "exact": self.exact, "complete": self.complete,
            "count": big(self.count), "count_bounds": [big(v) for v in self.count_bounds],
            "attracting_count": big(self.attracting_count),
            "attracting_bounds": None if self.attracting_bounds is None
            else [big(v) for v in self.attracting_bounds],
            "regions": len(self.regions), "special": len(self.special),
            "families": len(self.families), "count_log2": self.count_log2,
            "notes": list(self.notes),
        }

    def region_dict(self, region: Region, indices: bool = True) -> dict[str, Any]:
        """One region as a JSON-able dict (index lists only with ``indices``)."""
        out: dict[str, Any] = {
            "index": region.index, "kind": region.kind, "side": region.side,
            "A_range": list(region.A_range), "t_range": list(region.t_range),
            "r_range": list(region.r_range), "count": big(region.count),
            "count_bounds": [big(v) for v in region.count_bounds],
            "attracting": region.attracting, "attracting_count": big(region.attracting_count),
            "curvature": None if region.curvature is None else list(region.curvature),
            "spectral_radius": region.spectral_radius,
            "n_forced_in": len(self.forced_in(region)), "n_free": len(self.free(region)),
            "n_forced_out": len(self.forced_out(region)), "notes": list(region.notes),
        }
        if region.k_range is not None:
            out["k_range"] = list(region.k_range)
            out["thresholds"] = None if region.thresholds is None else list(region.thresholds)
        if region.count_estimate is not None:
            out["count_estimate"] = region.count_estimate
        if region.count_log2 is not None:
            out["count_log2"] = region.count_log2
        if indices:
            out["forced_in"] = list(self.forced_in(region))
            out["free"] = list(self.free(region))
            if region.band:
                out["band"] = {str(i): list(o) for i, o in region.band}
        return out


def big(v: int | None) -> Any:
    """A count for JSON: an int below 2^53, else its decimal string (None stays None)."""
    return None if v is None else (v if abs(v) < 2**53 else str(v))


# ----------------------------------------------------------------------------- API

def describe_solution_set(w_star: Sequence[Any], k: int, penalty: str, lam: Any, beta: Any, *,
                          a: Any = None, eta: Any = None, max_points: int | None = 256
                          ) -> SolutionSet:
    """The solution set of ReLU RVSM for the instance (module docstring); ``max_points``
    bounds the list behind TL1/l1 regions."""
    from theory.limits.relu_rvsm import check_eta, check_w_star

    k = check_k(k)
    w64 = check_w_star(w_star)
    pen = check_instance(penalty, lam, beta, a)
    eta_ = check_eta(eta)
    pr = make_params(pen, lam, beta, mp=False)
    p = R.prepare(w64, k, pr)
    inst = {"model": "relu", "penalty": penalty, "k": k, "lam": float(lam), "beta": float(beta),
            "a": None if a is None else float(a), "eta": eta_, "d": int(w64.size)}
    ctx = _Ctx(p, w64, k, penalty, float(lam), float(beta), a, eta_)
    if penalty == "l0":
        return _describe_l0(ctx, inst)
    return _describe_listed(ctx, inst, max_points)


@dataclass
class _Ctx:
    p: R.Prob
    w_star: np.ndarray
    k: int
    penalty: str
    lam: float
    beta: float
    a: Any
    eta: float | None
    curves: L0.L0Curves | None = None


# ---------------------------------------------------------------------------- l0

COUNT_TOL = 256  # ulps of |w*|^2: subset sums this close to a region's end are undecided


def _describe_l0(ctx: _Ctx, inst: dict[str, Any]) -> SolutionSet:
    from theory.limits.degenerate import zero_slope_families
    from theory.limits.relu_rvsm import _antiparallel, _assemble_float

    p, eta = ctx.p, ctx.eta
    cv = L0.L0Curves(ctx.w_star, ctx.k, ctx.lam, ctx.beta)
    ctx.curves = cv
    w2 = cv.w2
    pre = np.concatenate([[0.0], np.cumsum(w2)])
    tol = COUNT_TOL * np.finfo(float).eps * max(cv.s2, 1e-300)
    small = _small_patterns(cv, eta)
    regions: list[Region] = []
    notes: list[str] = []
    for c in cv.curves:
        for reg in _curve_regions(cv, c, pre, tol, eta, small):
            regions.append(_reindex(reg, len(regions)))
    ap = _all_pruned(cv, eta)
    if ap is not None:
        regions.append(_reindex(ap, len(regions)))
    special: list[FixedPoint] = []
    anti = _antiparallel(p, ctx.w_star, ctx.k, p.pr.penalty, ctx.lam, ctx.beta, eta, None)
    if anti is not None:
        special.append(anti)
    for root in R.l0_zero_a_roots(p):
        special.append(_assemble_float(p, root, eta))
    # reflections of the single false supports (w*_j = 0: the sign of w_bar_j is free)
    for fp in list(special):
        if any(nm == "kept-false-support" for nm in fp.pattern):
            w_bar = tuple(-v if nm == "kept-false-support" else v
                          for v, nm in zip(fp.w_bar, fp.pattern))
            u_bar = tuple(-v if nm == "kept-false-support" else v
                          for v, nm in zip(fp.u_bar, fp.pattern))
            import dataclasses
            special.append(dataclasses.replace(fp, w_bar=w_bar, u_bar=u_bar))
    fams = tuple(zero_slope_families("relu", ctx.w_star, ctx.k, ctx.lam, ctx.beta))
    lo_c = sum(r.count_bounds[0] for r in regions) + len(special)
    hi_c = sum(r.count_bounds[1] for r in regions) + len(special)
    exact = lo_c == hi_c
    att_b: tuple[int, int] | None = None
    att: int | None = None
    if eta is not None:
        sa = sum(1 for f in special if f.attracting)
        att_lo = sum((r.attracting_bounds or (0, 0))[0] for r in regions) + sa
        att_hi = sum((r.attracting_bounds or (0, 0))[1] for r in regions) + sa
        att_b = (att_lo, att_hi)
        att = att_lo if att_lo == att_hi else None
    near = 1e-12 * cv.s2
    folds = [c.id for c in cv.curves if c.fold_lo or (c.fold_hi and c.k_hi < cv.s2 - near)]
    ends = [c.id for c in cv.curves if c.fold_hi and c.k_hi >= cv.s2 - near]
    if folds:
        notes.append(f"curves {folds} end at folds (two roots merge; located by bisection in "
                     "K to 1e-14 relative)")
    if ends:
        notes.append(f"curves {ends} approach K = |w*|^2 (all coordinates kept against their "
                     "sign: t -> pi, B -> 0) without a root there")
    if not exact:
        big = max((r for r in regions), key=lambda r: r.count_bounds[1] - r.count_bounds[0])
        notes.append("the count is bounded, not exact: counting the subsets of the free "
                     "coordinates whose sum of |w*_i|^2 falls in a region's K-interval is a "
                     f"counting knapsack problem; exact up to {L0.MITM_MAX} free coordinates, "
                     f"bounded up to {L0.DP_MAX}; the widest region has "
                     f"{big.ranks[1] - big.ranks[0] if big.ranks else 0} free coordinates")
    if fams:
        notes.append("zero-slope families (continua, not counted): "
                     + "; ".join(f.describe() for f in fams))
    method = (f"l0 reduction to K = sum_S |w*_i|^2: {len(cv.curves)} root curves A(K) "
              f"(scan of {2 * L0.N_A - 1} nodes in A per side at {L0.N_K} values of K), "
              f"{len(regions)} regions between threshold crossings, stability changes and "
              "folds; degenerate points at A = 0 and A = -beta listed")
    count = lo_c if exact else None
    logs = [r.count_log2 for r in regions if r.count_log2 is not None]
    if special:
        logs.append(math.log2(len(special)))
    top = max(logs, default=None)
    log2 = None if top is None else top + math.log2(sum(2.0 ** (v - top) for v in logs))
    return SolutionSet("relu", "l0", inst, tuple(int(i) for i in cv.order), tuple(regions),
                       tuple(special), fams, count, (lo_c, hi_c), att, att_b, exact,
                       True, method, tuple(notes), log2, _ctx=ctx)


def _reindex(reg: Region, i: int) -> Region:
    import dataclasses
    return dataclasses.replace(reg, index=i)


@dataclass
class _Small:
    """A kept set with at most one kept or at most one pruned coordinate (the patterns whose
    spectrum lacks the eigenvalue A or A + beta): its root, consistency and stability."""

    curve: int
    K: float
    attracting: bool | None


def _small_patterns(cv: L0.L0Curves, eta: float | None) -> list[_Small]:
    """Every consistent kept set with |S| = 1, or (when w* has at most one zero) with at
    most one nonzero coordinate pruned (m sorted decreasingly: the test against the
    thresholds needs only the largest or smallest of the others)."""
    out: list[_Small] = []
    n, nnz = cv.n, cv.nnz
    if nnz == 0:
        return out
    m, w2 = cv.m[:nnz], cv.w2
    j = np.arange(nnz)
    other_max = np.where(j == 0, m[1] if nnz > 1 else 0.0, m[0])
    other_min = np.where(j == nnz - 1, m[nnz - 2] if nnz > 1 else np.inf, m[nnz - 1])
    # (K, |S|, predicate(lo, hi), key) for the kinds of small sets (keys: the same set can be
    # of two kinds, e.g. {j} = all with one nonzero coordinate)
    full = frozenset(range(nnz))
    kinds: list[tuple[np.ndarray, np.ndarray, Any, list[frozenset[int]]]] = [
        (w2.copy(), np.ones(nnz, dtype=np.int64),
         lambda lo, hi, q: (m[q] > lo) & (other_max[q] <= hi),
         [frozenset((j_,)) for j_ in range(nnz)])]
    if n - nnz <= 1:
        kinds.append((np.array([cv.s2]), np.array([nnz]),
                      lambda lo, hi, q: (m[-1] > lo) & np.full(np.shape(lo), True), [full]))
        if n - nnz == 0 and nnz > 2:
            kinds.append((cv.s2 - w2, np.full(nnz, nnz - 1),
                          lambda lo, hi, q: (other_min[q] > lo) & (m[q] <= hi),
                          [full - {j_} for j_ in range(nnz)]))
    seen: set[tuple[int, frozenset[int]]] = set()
    for Ks, sizes, pred, keys in kinds:
        for c in cv.curves:
            sel = np.flatnonzero((Ks >= c.k_lo - 1e-14 * cv.s2) & (Ks <= c.k_hi + 1e-14 * cv.s2))
            if sel.size == 0:
                continue
            st = cv.state(c, Ks[sel])
            with np.errstate(invalid="ignore"):
                good = np.isfinite(st["A"]) & pred(st["lo"], st["hi"], sel)
            for q in np.flatnonzero(good).tolist():
                i = int(sel[q])
                if (c.id, keys[i]) in seen:
                    continue
                seen.add((c.id, keys[i]))
                _, _, att, _ = L0.rep_stability(cv.k, cv.s2, float(Ks[i]), float(st["A"][q]),
                                                float(st["B"][q]), cv.beta, int(sizes[i]),
                                                n - int(sizes[i]), eta)
                out.append(_Small(c.id, float(Ks[i]), att))
    return out


def _curve_regions(cv: L0.L0Curves, c: L0.Curve, pre: np.ndarray, tol: float,
                   eta: float | None, small: list[_Small]) -> list[Region]:
    nnz = cv.nnz
    m = cv.m[:nnz]
    k_lo = max(c.k_lo, float(np.min(cv.w2)) if nnz else 0.0)
    k_hi = c.k_hi
    if k_hi < k_lo:
        return []
    if k_hi - k_lo <= 4 * tol:  # one achievable K (one nonzero coordinate): a point region
        k_hi = k_lo + 8 * tol
    Kn = c.K[(c.K > k_lo) & (c.K < k_hi)]
    Kn = np.concatenate([[k_lo], Kn, [k_hi]])
    st = cv.state(c, Kn)
    brk = [Kn[0], Kn[-1]]
    asc = np.sort(np.unique(m))
    for key in ("lo", "hi"):
        f = st[key]
        jj, vv = [], []
        for j in range(Kn.size - 1):
            a_, b_ = f[j], f[j + 1]
            if not (np.isfinite(a_) and np.isfinite(b_)):
                continue
            lo_v, hi_v = min(a_, b_), max(a_, b_)
            i0, i1 = np.searchsorted(asc, lo_v, "left"), np.searchsorted(asc, hi_v, "right")
            for v in asc[i0:i1]:
                jj.append(j)
                vv.append(v)
        if jj:
            brk += _solve_crossings(cv, c, key, Kn, np.array(jj), np.array(vv)).tolist()
    if eta is not None:
        brk += _stability_changes(cv, c, Kn, st, eta)
    bk = np.unique(np.array(brk, dtype=np.float64))
    bk = bk[(bk >= k_lo) & (bk <= k_hi)]
    if bk.size < 2:
        return []
    ka, kb = bk[:-1], bk[1:]
    keep = kb > ka
    ka, kb = ka[keep], kb[keep]
    if ka.size == 0:
        return []
    mid = 0.5 * (ka + kb)
    # patterns sit exactly at the ends of the K range (the lightest coordinate alone, all of
    # them): such an end is closed when the curve has its root there, and kept clear of the
    # pattern otherwise (e.g. the curves A < 0 approach K = s^2, where t -> pi and B -> 0,
    # without reaching it)
    for end, sgn in ((float(np.min(cv.w2)), -1.0), (cv.s2, 1.0)):
        at = ka[0] if sgn < 0 else kb[-1]
        if abs(at - end) > 4 * tol:
            continue
        rs = cv.roots_at(np.array([end]), c.side)[0]
        inside = rs.size == c.count and bool(np.isfinite(cv.curve_root(c, end)[0]))
        new = end + sgn * 4 * tol if inside else end - sgn * 4 * tol
        if sgn < 0:
            ka[0] = new
        else:
            kb[-1] = new
    sm = cv.state(c, np.clip(mid, c.k_lo, c.k_hi))
    # classification at the middle: forced in = m > hi, allowed = m > lo (m decreasing)
    a_in = np.searchsorted(-m, -sm["hi"], side="left")     # #{m > hi}
    b_al = np.searchsorted(-m, -sm["lo"], side="left")     # #{m > lo}
    side = "kept" if c.side > 0 else "flipped"
    out: list[Region] = []
    ends = cv.state(c, np.clip(np.concatenate([ka, kb]), c.k_lo, c.k_hi))
    nreg = ka.size
    live, specs = [], []
    for q in range(nreg):
        a, b = int(a_in[q]), int(b_al[q])
        if not (np.isfinite(sm["A"][q]) and np.isfinite(sm["hi"][q])) or a > b:
            continue  # a > b: a coordinate would be forced in and out (no pattern)
        kf = float(pre[a])
        if kf + float(pre[b] - pre[a]) < ka[q] - tol or kf >= kb[q] + tol:
            continue
        live.append(q)
        specs.append((a, b, float(ka[q]) - kf, float(kb[q]) - kf))
    counts = L0.count_many(cv.w2, specs, tol)
    for q, (a, b, spec_lo, spec_hi), (lo_c, hi_c) in zip(live, specs, counts):
        if hi_c == 0:
            continue
        A_q, B_q = float(sm["A"][q]), float(sm["B"][q])
        curv, rho, att_g, _ = L0.rep_stability(cv.k, cv.s2, float(mid[q]), A_q, B_q, cv.beta,
                                               2, 2, eta)
        smalls = [s_ for s_ in small if s_.curve == c.id and ka[q] <= s_.K < kb[q]]
        att_b = None
        att_count = None
        if eta is not None:
            s_att = sum(1 for s_ in smalls if s_.attracting)
            gen_lo, gen_hi = max(lo_c - len(smalls), 0), max(hi_c - len(smalls), 0)
            att_b = ((gen_lo if att_g else 0) + s_att, (gen_hi if att_g else 0) + s_att)
            att_count = att_b[0] if att_b[0] == att_b[1] else None
        e_a = (float(ends["A"][q]), float(ends["A"][nreg + q]))
        e_t = (float(ends["t"][q]), float(ends["t"][nreg + q]))
        e_r = (float(ends["r"][q]), float(ends["r"][nreg + q]))
        notes = []
        if lo_c != hi_c:
            notes.append(f"count bounded: {b - a} free coordinates cut by the K-interval")
        out.append(Region(0, "l0-curve", side, (min(e_a), max(e_a)), (min(e_t), max(e_t)),
                          (min(e_r), max(e_r)), lo_c if lo_c == hi_c else None, (lo_c, hi_c),
                          att_g, att_count, att_b, curv, rho, c.id,
                          (float(ka[q]), float(kb[q])), (a, b),
                          (float(sm["lo"][q]), float(sm["hi"][q])),
                          count_log2=_log2_estimate(cv.w2[a:b], lo_c, hi_c, spec_lo, spec_hi),
                          notes=tuple(notes)))
    return out


def _log2_estimate(w: np.ndarray, lo_c: int, hi_c: int, lo: float, hi: float) -> float | None:
    """log2 of the count (exact), of the middle of its bounds, or, when the bounds are the
    trivial (0, 2^n), of 2^n times the normal approximation of P(lo <= sum_T w < hi) for a
    uniformly random subset T (mean sum(w)/2, variance sum(w^2)/4)."""
    if hi_c == 0:
        return None
    n = w.size
    if lo_c == hi_c or lo_c > 0:
        return math.log2((lo_c + hi_c) / 2)
    mu, sd = float(np.sum(w)) / 2, math.sqrt(float(np.sum(w * w))) / 2
    if sd == 0:
        return None
    p = 0.5 * (math.erfc((lo - mu) / (sd * math.sqrt(2))) - math.erfc((hi - mu) / (sd * math.sqrt(2))))
    return n + math.log2(p) if p > 0 else None


def _solve_crossings(cv: L0.L0Curves, c: L0.Curve, key: str, Kn: np.ndarray, jj: np.ndarray,
                     vv: np.ndarray) -> np.ndarray:
    """K in [Kn[j], Kn[j + 1]] where the threshold ``key`` equals v (vectorised Illinois)."""
    lo, hi = Kn[jj].copy(), Kn[jj + 1].copy()
    flo = cv.state(c, lo)[key] - vv
    fhi = cv.state(c, hi)[key] - vv
    act = np.isfinite(flo) & np.isfinite(fhi) & (np.sign(flo) * np.sign(fhi) < 0)
    return L0.illinois(lambda x, ia: cv.state(c, x)[key] - vv[ia], lo, hi, flo, fhi, act,
                       lambda l_, h_, x: np.abs(h_ - l_) <= 1e-15 * np.maximum(cv.s2, np.abs(x)))


def _stability_changes(cv: L0.L0Curves, c: L0.Curve, Kn: np.ndarray, st: dict[str, np.ndarray],
                       eta: float) -> list[float]:
    """K where the generic pattern's spectrum crosses mu_min = 0 or eta mu_max = 2."""
    def h(K: float) -> tuple[float, float]:
        s_ = cv.state(c, K)
        (mn, mx), _, _, _ = L0.rep_stability(cv.k, cv.s2, K, float(s_["A"][0]),
                                             float(s_["B"][0]), cv.beta, 2, 2, None)
        return mn, 2.0 - eta * mx

    def h_node(j: int) -> tuple[float, float]:
        if not (np.isfinite(st["A"][j]) and np.isfinite(st["B"][j])):
            return math.nan, math.nan
        (mn, mx), _, _, _ = L0.rep_stability(cv.k, cv.s2, float(Kn[j]), float(st["A"][j]),
                                             float(st["B"][j]), cv.beta, 2, 2, None)
        return mn, 2.0 - eta * mx

    vals = np.array([h_node(j) for j in range(Kn.size)])
    out = []
    for col in range(2):
        v = vals[:, col]
        for j in np.flatnonzero(np.sign(v[:-1]) * np.sign(v[1:]) < 0):
            a_, b_ = float(Kn[j]), float(Kn[j + 1])
            fa = v[j]
            for _ in range(60):
                mid = 0.5 * (a_ + b_)
                fm = h(mid)[col]
                if np.sign(fm) == np.sign(fa):
                    a_, fa = mid, fm
                else:
                    b_ = mid
            out.append(0.5 * (a_ + b_))
    return out


def _all_pruned(cv: L0.L0Curves, eta: float | None) -> Region | None:
    """S empty (K = 0): x parallel to w*, t = 0, one equation in A on (-beta, A0)."""
    if cv.nnz == 0:
        return None
    nodes = np.concatenate([cv._a_nodes(-1), cv._a_nodes(1)])
    g = cv.g(nodes, 0.0)
    fin = np.isfinite(g)
    ch = np.flatnonzero(fin[:-1] & fin[1:] & (np.sign(g[:-1]) * np.sign(g[1:]) < 0))
    if ch.size == 1:
        A = float(cv._bisect(nodes[ch], nodes[ch + 1], np.zeros(1))[0])
    elif ch.size == 0 and abs(float(cv.g(cv.A0, 0.0))) <= 1e-13 * cv.s:
        A = cv.A0  # k = 1: A1(0) = 0, so A = A0 for every r at t = 0
    else:
        return None
    _, t, B, r = (float(v) for v in cv.scalars(A, 0.0))
    hi = (A + cv.beta) * cv.z / B
    if not (A + cv.beta > 0 and cv.m[0] <= hi):
        return None
    curv, rho, att, _ = L0.rep_stability(cv.k, cv.s2, 0.0, A, B, cv.beta, 0, cv.n, eta)
    ab = None if eta is None else ((1, 1) if att else (0, 0))
    return Region(0, "all-pruned", "kept" if A > 0 else "flipped", (A, A), (t, t), (r, r), 1,
                  (1, 1), att, None if ab is None else ab[0], ab, curv, rho, None, (0.0, 0.0),
                  (0, 0), (0.0, hi))


# ------------------------------------------------------------------- TL1 and l1

def _describe_listed(ctx: _Ctx, inst: dict[str, Any], max_points: int | None) -> SolutionSet:
    from theory.limits.relu_rvsm import relu_fixed_points

    p = ctx.p
    fs = relu_fixed_points(ctx.w_star, ctx.k, ctx.penalty, ctx.lam, ctx.beta, a=ctx.a,
                           eta=ctx.eta, max_points=max_points)
    groups: dict[Any, list[tuple[FixedPoint, dict[int, tuple[str, ...]]]]] = {}
    special: list[FixedPoint] = []
    for fp in fs:
        if any(nm not in _NAME_CODE for nm in fp.pattern):
            special.append(fp)
            continue
        band = R.band_at(p, float(fp.coeffs["A"]), float(fp.coeffs["B"]))
        key = tuple(nm if i not in band else "*" for i, nm in enumerate(fp.pattern))
        side = bool(fp.good) and float(fp.coeffs["A"]) > 0
        groups.setdefault((side, key, tuple(sorted(band.items()))), []).append((fp, band))
    regions: list[Region] = []
    for members in groups.values():
        fps = [f for f, _ in members]
        band = members[0][1]
        As = [float(f.coeffs["A"]) for f in fps]
        ts = [float(f.angle) for f in fps]
        rs = [float(f.norm) for f in fps]
        side = "kept" if fps[0].good else "flipped"
        att = [f.attracting for f in fps]
        if not band:
            n_att = None if ctx.eta is None else int(bool(att[0]))
            regions.append(Region(len(regions), "point", side, (As[0], As[0]), (ts[0], ts[0]),
                                  (rs[0], rs[0]), 1, (1, 1), att[0], n_att,
                                  None if n_att is None else (n_att, n_att), fps[0].curvature,
                                  fps[0].spectral_radius, pattern=fps[0].pattern))
            continue
        est = float(np.prod([len(o) for o in band.values()]))
        listed_att = sum(1 for a_ in att if a_)
        notes = (f"{len(fps)} listed fixed points; every choice of branches for the "
                 f"{len(band)} band coordinates is counted in count_estimate but not solved "
                 "(TL1's reduced system depends on the choice through two sums, not one)",)
        regions.append(Region(len(regions), "band", side, (min(As), max(As)), (min(ts), max(ts)),
                              (min(rs), max(rs)), None, (len(fps), None), None, None,
                              None if ctx.eta is None else (listed_att, None), None, None,
                              band=tuple(sorted(band.items())), pattern=fps[0].pattern,
                              count_estimate=est, notes=notes))
    # count_bounds (listed, unknown): the upper end is not known
    lo_c = sum(r.count_bounds[0] for r in regions) + len(special)
    exact = all(r.kind == "point" for r in regions) and fs.complete
    notes_: list[str] = []
    if fs.message:
        notes_.append(fs.message)
    if not exact:
        notes_.append("count not exact: " + ("hysteresis bands (regions of kind 'band')"
                                              if any(r.kind == "band" for r in regions)
                                              else "the list is not complete"))
    est = sum(r.count_estimate if r.count_estimate is not None else (r.count or 0)
              for r in regions) + len(special)
    log2 = math.log2(est) if est > 0 else None
    att_c = None
    if ctx.eta is not None and exact:
        att_c = sum(r.attracting_count or 0 for r in regions) + sum(1 for f in special
                                                                     if f.attracting)
    return SolutionSet("relu", ctx.penalty, inst, tuple(int(i) for i in p.order),
                       tuple(regions), tuple(special), tuple(fs.families),
                       lo_c if exact else None, (lo_c, lo_c) if exact else (lo_c, None),
                       att_c, None if att_c is None else (att_c, att_c), exact,
                       bool(fs.complete), f"listed fixed points ({fs.enumeration}) grouped "
                       "by their hysteresis bands", tuple(notes_), log2, _ctx=ctx)


_NAME_CODE = {v: k for k, v in BRANCH_NAMES.items()}


# ---------------------------------------------------------------------- locating

def polish(p: R.Prob, w: np.ndarray, eta: float | None) -> tuple[FixedPoint | None, str]:
    """The fixed point with the branch pattern of ``w``: pruned where prox(w_i) = 0,
    kept-flipped where w_i is kept against the sign of w*_i, else the kept branch nearest to
    |w_i| (TL1: kept or kept-low); Newton on the reduced system (r, t) from |w|, angle(w, w*),
    then validated (every coordinate strictly inside its branch).  (FixedPoint, '') or
    (None, why)."""
    from theory.limits.relu_rvsm import _assemble_float

    pr = p.pr
    r = float(norm(w))
    if not r > 0:
        return None, "w = 0 is not a fixed point"
    t = float(angle_np(w, p.w_star))
    A, B = (float(v) for v in R.coeffs_np(p, r, t))
    x = w[p.order]
    u = pr.penalty.prox(x, pr.tau)
    codes = np.full(p.n, PRUNED, dtype=np.int8)
    kept = u != 0
    flip = kept & ((p.m == 0) | (np.sign(x) != p.sig))
    codes[kept & ~flip] = KEPT
    codes[flip] = FLIP
    if pr.name == "tl1":
        sel = np.flatnonzero(kept & ~flip)
        if sel.size:
            y = B * p.m[sel]
            with np.errstate(invalid="ignore"):
                xh = branch_np(KEPT, y, np.float64(A), pr).xi
                xl = branch_np(KEPT_LOW, y, np.float64(A), pr).xi
            dh = np.where(np.isfinite(xh), np.abs(xh - np.abs(x[sel])), np.inf)
            dl = np.where(np.isfinite(xl), np.abs(xl - np.abs(x[sel])), np.inf)
            codes[sel[dl < dh]] = KEPT_LOW
    if np.any(kept & (p.m == 0)) and pr.name == "l0":
        return None, "a kept zero of w* under l0: the A = 0 family (not a branch pattern)"
    on_line = t < 1e-12
    sol = R.newton_float(p, codes, math.log(r), t, math.pi, fix_t0=on_line)
    if sol is None or not sol[2] < 1e-11:
        return None, "Newton on the reduced system did not converge from this point"
    root = R.evaluate_root(p, codes, math.exp(sol[0]), sol[1], sol[2])
    if not np.all(np.isfinite(root.xi)):
        return None, "a branch does not exist at the polished (r, t)"
    ok = np.where(root.pattern == PRUNED, root.margins >= -1e-10, root.margins > -1e-10)
    if not np.all(ok):
        return None, "the pattern of this point is not self-consistent at its root"
    return _assemble_float(p, root, eta), ""


def _locate(ss: SolutionSet, w: np.ndarray, tol: float) -> Location:
    ctx = ss._ctx
    p = ctx.p
    if w.shape != p.w_star.shape or not np.all(np.isfinite(w)):
        raise ValueError(f"w must be a finite vector of length {p.n}")
    scale = max(1.0, float(np.max(np.abs(w))))
    # the degenerate points and the families first (the branch patterns divide by A)
    for i, fp in enumerate(ss.special):
        dist = float(np.max(np.abs(np.asarray(fp.w_bar, dtype=float) - w)))
        if dist <= tol * scale:
            return Location(True, "special", None, i, fp.pattern, fp, dist, fp.residual,
                            "a degenerate fixed point (A = 0 or A = -beta)")
    u = p.pr.penalty.prox(w, p.pr.tau)
    for fam in ss.families:
        if fam.contains(u):
            return Location(True, "family", None, None, (), None, 0.0, None,
                            "on a zero-slope family: " + fam.describe())
    fp, why = polish(p, w, ctx.eta)
    if fp is None:
        return Location(False, "none", None, None, (), None, math.inf, None, why)
    dist = float(np.max(np.abs(np.asarray(fp.w_bar, dtype=float) - w)))
    reg = _region_of(ss, fp)
    found = dist <= tol * scale and reg is not None
    if reg is None:
        msg = "a fixed point, but no region of the description holds it"
    elif dist > tol * scale:
        msg = f"the fixed point with this pattern is {dist:.3g} away (tolerance {tol:g})"
    else:
        msg = f"region {reg} ({ss.regions[reg].kind}, {ss.regions[reg].side})"
    return Location(found, "region" if reg is not None else "none", reg, None, fp.pattern, fp,
                    dist, fp.residual, msg)


def _region_of(ss: SolutionSet, fp: FixedPoint) -> int | None:
    ctx = ss._ctx
    p = ctx.p
    A = float(fp.coeffs["A"])
    if ss.penalty == "l0":
        cv = ctx.curves
        kept = np.array([nm != "pruned" for nm in fp.pattern])
        K = float(np.sum(cv.m_all[kept] ** 2))
        side = "kept" if not any(nm == "kept-flipped" for nm in fp.pattern) else "flipped"
        if not kept.any():
            for r in ss.regions:
                if r.kind == "all-pruned" and abs(r.A_range[0] - A) <= 1e-8 * max(1.0, abs(A)):
                    return r.index
            return None
        best = None
        for r in ss.regions:
            if r.kind != "l0-curve" or r.side != side or r.k_range is None:
                continue
            ka, kb = r.k_range
            slack = 1e-12 * max(1.0, kb)
            if not ka - slack <= K <= kb + slack:
                continue
            a_c = float(cv.curve_root(cv.curves[r.curve], K)[0])
            err = abs(a_c - A)
            if err <= 1e-7 * max(1.0, abs(A)) and (best is None or err < best[0]):
                best = (err, r.index)
        return None if best is None else best[1]
    names = fp.pattern
    for r in ss.regions:
        if r.kind == "point":
            if r.pattern == names and abs(r.A_range[0] - A) <= 1e-8 * max(1.0, abs(A)):
                return r.index
            continue
        band = dict(r.band)
        if any(names[i] != r.pattern[i] for i in range(p.n) if i not in band):
            continue
        if any(names[i] not in opts for i, opts in band.items()):
            continue
        wa = max(r.A_range[1] - r.A_range[0], 1e-9 * max(1.0, abs(A)))
        if r.A_range[0] - 2 * wa <= A <= r.A_range[1] + 2 * wa:
            return r.index
    return None


# -------------------------------------------------------------------- iteration

@dataclass(frozen=True)
class IterationResult:
    """The float64 population iteration from ``w0``: the last iterate ``w`` (rows for a
    batch), ``steps`` taken, ``converged`` (per row), ``last_step`` (max-abs of the last
    change, per row)."""

    w: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    last_step: np.ndarray


def population_limit(w_star: Any, k: int, penalty: str, lam: float, beta: float, eta: float,
                     w0: Any, *, a: Any = None, max_steps: int = 200_000,
                     tol: float = 1e-14) -> IterationResult:
    r"""RVSM on the population loss, :math:`w \leftarrow w - \eta\nabla\ell(w) -
    \eta\beta(w - \operatorname{prox}(w))` (``theory.relu.grad``, ``Penalty.prox``), from
    ``w0`` (a vector or a batch of rows) until the step is below ``tol`` max(1, max|w|) (a
    row stops there), or ``max_steps``."""
    ws = np.asarray(w_star, dtype=np.float64)
    pen = check_instance(penalty, lam, beta, a)
    tau = float(lam) / float(beta)
    w = np.array(w0, dtype=np.float64, copy=True)
    single = w.ndim == 1
    W = w[None, :] if single else w
    n_rows = W.shape[0]
    steps = np.zeros(n_rows, dtype=np.int64)
    done = np.zeros(n_rows, dtype=bool)
    last = np.full(n_rows, np.inf)
    for it in range(1, max_steps + 1):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        x = W[act]
        u = pen.prox(x, tau)
        xn = x - eta * relu.grad(x, ws, k, validate=False) - eta * beta * (x - u)
        stp = np.max(np.abs(xn - x), axis=-1)
        W[act] = xn
        last[act] = stp
        steps[act] = it
        fin = np.all(np.isfinite(xn), axis=-1)
        conv = fin & (stp <= tol * np.maximum(1.0, np.max(np.abs(xn), axis=-1)))
        done[act[conv | ~fin]] = True
    conv_all = np.isfinite(last) & (last <= tol * np.maximum(1.0, np.max(np.abs(W), axis=-1)))
    if single:
        return IterationResult(W[0], steps, conv_all, last)
    return IterationResult(W, steps, conv_all, last)
