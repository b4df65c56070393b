r"""The inverse problem: :math:`\lambda \mapsto` sparsity of :math:`\bar u`, and the smallest
:math:`\lambda` reaching a prescribed sparsity (the question of Shen et al., P6).

Sparsity = the fraction of zero entries of :math:`\bar u` (zeros of :math:`w^*` included).

**l1** (``proofs_notes/limits.md``, step 8).  The principal branch: the fixed point with
:math:`A > 0` (resp. :math:`\alpha > 0`; unique for binary, and for ReLU except at folds, where
the densest is taken), on which coordinate :math:`i` is kept iff
:math:`|w^*_i| > \theta(\lambda) = (A+\beta)\lambda/(\beta B)` (binary: :math:`B = c`,
:math:`|\hat w^*_i|`), so the support is nested; where it ends (:math:`A \to 0^+`, which
generically leaves one kept coordinate) it continues as the fixed point with that single
coordinate kept and :math:`A \le 0`, then as the all-pruned one.  The sparsity along it is
nondecreasing in :math:`\lambda` (checked numerically, ``tests/test_limits_sparsity.py``; not
proved), so :func:`select_lambda` bisects the predicate "sparsity >= target" on :math:`\lambda`
to a relative 1e-13.  At the returned :math:`\lambda` the last pruned coordinate sits on the
soft threshold (pruned: the prox's tie goes to 0).

**l0, TL1** (per branch).  Fixed points are not unique (hysteresis), so the answer is per branch:
:func:`branch_lambda_range` gives the interval of :math:`\lambda` on which the nested support
:math:`S_j` (the :math:`j` largest :math:`|w^*_i|`) is self-consistent; the smallest
:math:`\lambda` reaching a sparsity is the smallest left end over the branches sparse enough.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from theory._validate import check_k
from theory.geometry import norm
from theory.limits import _relu as R
from theory.limits._common import KEPT, PRUNED, check_instance, make_params
from theory.limits._types import NoFixedPointError
from theory.limits.relu_rvsm import check_w_star

__all__ = ["SparsityPoint", "LambdaSelection", "BranchRange", "sparsity_path", "select_lambda",
           "branch_lambda_range"]


@dataclass(frozen=True)
class SparsityPoint:
    """Sparsities at one ``lam``: ``principal`` (l1: see the module docstring; None for l0/TL1),
    ``threshold`` (l1: theta(lam)), and ``sparsities`` of every sign-consistent fixed point with
    positive curvature (attracting for small enough eta)."""

    lam: float
    principal: float | None
    threshold: float | None
    sparsities: tuple[float, ...]


@dataclass(frozen=True)
class BranchRange:
    """The lam-interval [lam_lo, lam_hi] on which the nested support of size ``j`` is a
    self-consistent fixed point (None if it never is on the scanned range)."""

    j: int
    support: tuple[int, ...]
    sparsity: float
    lam_lo: float | None
    lam_hi: float | None


@dataclass(frozen=True)
class LambdaSelection:
    """The answer of :func:`select_lambda`: the smallest ``lam`` reaching ``target`` (and the
    sparsity and support there), how it was found, and (l0/TL1) the branches examined."""

    target: float
    lam: float | None
    sparsity: float | None
    support: tuple[int, ...]
    method: str
    branches: tuple[BranchRange, ...] = ()
    note: str | None = None


class _Ctx:
    """One instance at varying lam (both models)."""

    def __init__(self, model: str, w_star: Any, k: int, penalty: str, beta: Any, a: Any,
                 ste: str) -> None:
        from theory.limits.binary_rvscgd import coarse_constants

        if model not in ("relu", "binary"):
            raise ValueError(f"model must be relu or binary, got {model!r}")
        self.model = model
        self.k = check_k(k)
        self.w = check_w_star(w_star)
        check_instance(penalty, 0.0, beta, a)
        self.penalty, self.beta, self.a, self.ste = penalty, float(beta), a, ste
        if model == "binary":
            self.a_c, self.c = coarse_constants(self.k, ste)
            self.w_eff = self.w / float(norm(self.w))
            self.k_eff = 1
        else:
            self.w_eff, self.k_eff = self.w, self.k
        self.d = self.w.size

    def prob(self, lam: float) -> R.Prob:
        pen = check_instance(self.penalty, lam, self.beta, self.a)
        return R.prepare(self.w_eff, self.k_eff if self.model == "relu" else 1,
                         make_params(pen, lam, self.beta, mp=False))

    def roots(self, lam: float, fams: list[R.Family], validate: bool = True
              ) -> list[tuple[np.ndarray, float, float, np.ndarray, np.ndarray]]:
        """(codes, A, B, margins, dphi) per root (binary: A = alpha, B = c)."""
        p = self.prob(lam)
        out = []
        if self.model == "relu":
            for rt in R.find_roots(p, fams, validate=validate):
                out.append((rt.pattern, rt.A, rt.B, rt.margins, rt.dphi))
            return out
        from theory.limits import binary_rvscgd as BR

        for pat, alpha in BR._roots(p, fams, self.c, 64):
            xi, codes = BR._xi(p, pat, alpha, self.c)
            if not np.all(np.isfinite(xi)):
                continue
            y = self.c * p.m
            margins = np.ones(p.n)
            for code in np.unique(codes):
                sel = codes == code
                margins[sel] = BR.branch_np(int(code), y[sel], np.float64(alpha), p.pr).margin
            ok = np.where(codes == PRUNED, margins >= -1e-10, margins > -1e-10)
            if validate and not np.all(ok):
                continue
            out.append((codes, alpha, self.c, margins, None))
        return out

    def m(self, p: R.Prob) -> np.ndarray:
        return p.m


def _principal(ctx: _Ctx, lam: float) -> tuple[float | None, float, np.ndarray]:
    """l1: (theta, A, codes) of the principal fixed point at lam: the one with A > 0 (Huber
    family; theta = (A + beta) lam/(beta B)), the densest if a fold gives several; where none
    exists, its continuation through A = 0, one kept coordinate with A <= 0 (theta None); else
    the all-pruned one."""
    p = ctx.prob(lam)
    fams = [R.Family("auto"), R.single_family(p, PRUNED, np.array([0]), math.pi / 2)]
    roots = ctx.roots(lam, fams)
    pos = [r for r in roots if r[1] > 0 and np.any(r[0] != PRUNED)]
    if pos:
        # several A > 0 points (a fold of the branch, limits.md step 4): the continuation from
        # small lam stays on the densest one until its fold
        codes, A, B = max(pos, key=lambda r: (int(np.sum(r[0] != PRUNED)), r[1]))[:3]
        return float((A + ctx.beta) * lam / (ctx.beta * B)), float(A), codes
    one = ctx.roots(lam, [R.single_family(p, KEPT, np.arange(p.nnz), math.pi / 2)])
    one = [r for r in one if r[1] <= 0]
    if one:
        best = max(one, key=lambda r: float(np.max(np.abs(r[3]))))  # deterministic choice
        if len(one) > 1:
            best = min(one, key=lambda r: int(np.flatnonzero(r[0] != PRUNED)[0]))
        return None, float(best[1]), best[0]
    pruned = [r for r in roots if not np.any(r[0] != PRUNED)]
    if not pruned:
        raise NoFixedPointError(f"no principal l1 fixed point found at lam = {lam}")
    return None, float(pruned[0][1]), pruned[0][0]


def _sparsity_of(codes: np.ndarray, d: int) -> float:
    return 1.0 - float(np.sum(codes != PRUNED)) / d


def sparsity_path(model: str, w_star: Sequence[Any], k: int, penalty: str, lams: Sequence[float],
                  beta: Any, *, a: Any = None, ste: str = "relu",
                  all_points: bool = True) -> list[SparsityPoint]:
    """The sparsity of u_bar along ``lams`` (see :class:`SparsityPoint`); ``all_points=False``
    skips the full enumeration (``sparsities`` is then empty; l1's principal branch only)."""
    from theory.limits import fixed_points

    ctx = _Ctx(model, w_star, k, penalty, beta, a, ste)
    out = []
    for lam in lams:
        lam = float(lam)
        sps: tuple[float, ...] = ()
        if all_points or penalty != "l1":
            fs = fixed_points(model, w_star, k, penalty, lam, beta, a=a, outside=False,
                              **({"ste": ste} if model == "binary" else {}))
            sps = tuple(sorted(f.sparsity for f in fs if f.curvature[0] > 0 or
                               (model == "binary" and ctx.d == 1)))
        if penalty == "l1":
            theta, _, codes = _principal(ctx, lam)
            out.append(SparsityPoint(lam, _sparsity_of(codes, ctx.d), theta, sps))
        else:
            out.append(SparsityPoint(lam, None, None, sps))
    return out


def select_lambda(model: str, w_star: Sequence[Any], k: int, penalty: str, beta: Any,
                  target_sparsity: float, *, a: Any = None, ste: str = "relu",
                  n_branches: int = 3) -> LambdaSelection:
    """The smallest lam with sparsity(u_bar) >= ``target_sparsity`` (module docstring)."""
    try:
        tgt = float(target_sparsity)
    except (TypeError, ValueError):
        raise ValueError(f"target_sparsity must be a number in [0, 1], got {target_sparsity!r}") \
            from None
    if not (0.0 <= tgt <= 1.0) or math.isnan(tgt):
        raise ValueError(f"target_sparsity must be in [0, 1], got {target_sparsity!r}")
    ctx = _Ctx(model, w_star, k, penalty, beta, a, ste)
    d = ctx.d
    n0 = math.ceil(tgt * d - 1e-12)                 # zeros needed
    z0 = int(np.sum(ctx.w == 0))
    if n0 <= z0:
        return LambdaSelection(tgt, 0.0, z0 / d, tuple(int(i) for i in np.flatnonzero(ctx.w)),
                               "already reached at lam = 0 (zeros of w*)")
    p0 = ctx.prob(1.0)
    order, m = p0.order, p0.m
    nnz = p0.nnz
    keep = nnz - (n0 - z0)                          # kept coordinates on the target support
    del m
    if penalty == "l1":
        def reached(lam: float) -> bool:
            return _sparsity_of(_principal(ctx, lam)[2], d) >= tgt

        lo, hi = 0.0, 1.0
        while not reached(hi):
            lo, hi = hi, hi * 2
            if hi > 1e12:
                raise NoFixedPointError("no lam up to 1e12 reaches the target sparsity")
        for _ in range(200):
            mid = (lo + hi) / 2
            if mid in (lo, hi) or hi - lo <= 1e-13 * hi:
                break
            if reached(mid):
                hi = mid
            else:
                lo = mid
        _, _, codes = _principal(ctx, hi)
        sp_ = _sparsity_of(codes, d)
        sup = tuple(sorted(int(order[i]) for i in np.flatnonzero(codes != PRUNED)))
        note = None
        if reached(lo) or (lo > 0 and not reached(hi)):
            note = "the sparsity is not monotone near the returned lam"
        return LambdaSelection(tgt, hi, sp_, sup, "l1: bisection on lam of sparsity >= target "
                               "along the principal branch (monotone: limits.md step 8), to a "
                               "relative 1e-13", note=note)
    branches = []
    for j in range(keep, max(-1, keep - n_branches), -1):
        branches.append(branch_lambda_range(model, w_star, k, penalty, beta, j, a=a, ste=ste,
                                            _ctx=ctx))
    found = [b for b in branches if b.lam_lo is not None]
    if not found:
        return LambdaSelection(tgt, None, None, (), "per branch: no nested branch with at most "
                               f"{keep} kept coordinates is self-consistent on the scanned range",
                               tuple(branches))
    best = min(found, key=lambda b: b.lam_lo)
    return LambdaSelection(tgt, best.lam_lo, best.sparsity, best.support,
                           f"per branch ({penalty} has several fixed points): the smallest left "
                           "end of the lam-intervals of the nested supports examined",
                           tuple(branches),
                           note="other (non-nested) supports are not examined")


def branch_lambda_range(model: str, w_star: Sequence[Any], k: int, penalty: str, beta: Any,
                        j: int, *, a: Any = None, ste: str = "relu",
                        lam_grid: Sequence[float] | None = None, _ctx: _Ctx | None = None
                        ) -> BranchRange:
    """The lam-interval on which the nested support of the ``j`` largest |w*_i| is a
    self-consistent fixed point (scan of ``lam_grid``, then bisection of both ends; the set is
    assumed to be one interval, which the scan checks on its grid)."""
    ctx = _ctx or _Ctx(model, w_star, k, penalty, beta, a, ste)
    p0 = ctx.prob(1.0)
    if not (0 <= j <= p0.nnz):
        raise ValueError(f"j must be in [0, {p0.nnz}], got {j!r}")
    pat = np.zeros(p0.n, dtype=np.int8)
    pat[:j] = KEPT
    fam = [R.Family("explicit", codes=pat[None, :])]
    support = tuple(sorted(int(i) for i in p0.order[:j]))
    sparsity = 1 - j / ctx.d

    def valid(lam: float) -> bool:
        return bool(ctx.roots(lam, fam))

    if lam_grid is None:
        mmax = float(p0.m[0])
        scale = ctx.beta * max(mmax, mmax * mmax) * (ctx.c if model == "binary" else 1.0)
        lam_grid = scale * 10.0 ** np.linspace(-6, 3, 37)
    grid = [float(x) for x in lam_grid]
    flags = [valid(x) for x in grid]
    if not any(flags):
        return BranchRange(j, support, sparsity, None, None)
    first = flags.index(True)
    last = len(flags) - 1 - flags[::-1].index(True)

    def edge(a_: float, b_: float, inside_at_b: bool) -> float:
        for _ in range(60):
            mid = math.sqrt(a_ * b_) if a_ > 0 else (a_ + b_) / 2
            if mid in (a_, b_) or abs(b_ - a_) <= 1e-10 * b_:
                break
            if valid(mid) == inside_at_b:
                b_ = mid
            else:
                a_ = mid
        return b_

    lo = grid[first] if first == 0 else edge(grid[first - 1], grid[first], True)
    hi = grid[last] if last == len(grid) - 1 else edge(grid[last + 1], grid[last], True)
    return BranchRange(j, support, sparsity, lo, hi)
