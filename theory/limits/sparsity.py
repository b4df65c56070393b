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
to a relative 1e-13.  At the returned :math:`\lambda` either the last pruned coordinate sits on
the soft threshold (pruned: the prox's tie goes to 0), or the denser principal fixed point has
just ceased to exist (a fold, below).

**l0, TL1** (per branch).  Fixed points are not unique (hysteresis), so the answer is per branch:
:func:`branch_lambda_range` gives the interval of :math:`\lambda` on which the nested support
:math:`S_j` (the :math:`j` largest :math:`|w^*_i|`) is self-consistent; the smallest
:math:`\lambda` reaching a sparsity is the smallest left end over the branches sparse enough.

**Precision** (``dps``).  The breakpoints reported (l1: the selected :math:`\lambda`; l0/TL1:
the ends of the branch intervals) are of two kinds.  At a *threshold crossing* one coordinate
:math:`j` of a fixed point with a *fixed* branch pattern sits on the prox's threshold: its
validity margin :math:`\mu_j(\lambda)` (``branch_mp``: :math:`(z - \xi_j)/z` pruned,
:math:`(\xi_j - z)/z` kept, :math:`z` the zero threshold of ``Penalty.threshold``) vanishes.
Along the pattern the fixed point is a smooth function of :math:`\lambda` (the solvers of
:mod:`theory.limits.relu_rvsm` and :mod:`theory.limits.binary_rvscgd` at the working
precision, continued from the float64 root: Newton in :math:`(\log r, t)`, resp. the secant in
:math:`\alpha`), so :math:`\mu_j(\lambda) = 0` is solved by the Illinois method from a bracket
around the float64 :math:`\lambda`, at ``dps + 10`` and at ``2 dps + 10`` digits; the result is
accepted (``stable``) only if both agree to :math:`10^{-\mathrm{dps}}` relative and the pattern
is strictly valid at the reported value.  The value reported is the ``dps``-digit decimal next
to the breakpoint on the side where the pattern is valid (l1: rounded up, so that the printed
:math:`\lambda` itself reaches the target; an upper end: rounded down).

The other kind is a *fold*: the pattern's fixed point ceases to exist (two fixed points merge;
no coordinate is on a threshold), e.g. the l1 point with one kept coordinate and :math:`A < 0`
before the all-pruned one, or the densest :math:`A > 0` point at a fold of the branch
(limits.md step 4).  With the one-dimensional reduced equation :math:`G(v; \lambda) = 0` of
the pattern (binary :math:`v = \alpha`, :math:`G = \log|x(\alpha)|`; ReLU :math:`v = t`,
:math:`G = F_1(\rho^*(t), t)`), a fold is a double zero: the extremum value of :math:`G` over
:math:`v` vanishes, which is solved the same way (the extremum by the secant method on a
central difference) and rounded to the side where the sparser fixed point is the principal one.

Not refined (``stable`` False, and a note says why): coordinates whose :math:`|w^*_i|` agree
to float64 rounding only; breakpoints of neither kind (a TL1 branch end where a kept coordinate
reaches the fold of its own branch, :math:`\varphi' \to 0`, and goes on as ``kept-low``: the
support does not change there); the ends of the scanned range.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import mpmath
import numpy as np

from theory._validate import check_k, to_mpf_vector
from theory.geometry import norm, norm_mp
from theory.limits import _relu as R
from theory.limits._common import KEPT, PRUNED, branch_mp, check_instance, make_params
from theory.limits._types import NoFixedPointError
from theory.limits.relu_rvsm import GUARD_DPS, check_w_star

__all__ = ["SparsityPoint", "LambdaSelection", "BranchRange", "sparsity_path", "select_lambda",
           "branch_lambda_range", "check_select_dps", "MIN_DPS", "MAX_DPS"]

MIN_DPS = 15   # below, float64 is at least as accurate (the refinement starts from it)
MAX_DPS = 400  # the check at 2 dps + 10 digits takes seconds per breakpoint there
SMALL_MARGIN = 1e-6  # a float64 margin this small marks the coordinate on the threshold


def check_select_dps(dps: Any) -> int | None:
    """``dps`` for the inverse problem: None (float64), or an integer in
    [:data:`MIN_DPS`, :data:`MAX_DPS`] (ValueError naming the range otherwise)."""
    if dps is None:
        return None
    if isinstance(dps, bool) or not isinstance(dps, numbers.Integral) \
            or not MIN_DPS <= dps <= MAX_DPS:
        raise ValueError(f"dps must be an integer in [{MIN_DPS}, {MAX_DPS}], got {dps!r}")
    return int(dps)


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
    self-consistent fixed point (None if it never is on the scanned range).

    With ``dps``: ``lam_lo``, ``lam_hi`` and ``sparsity`` are mpf (``dps`` digits; the ends
    rounded inwards, so the printed interval lies inside the true one); ``stable_lo`` /
    ``stable_hi``: the end is a threshold crossing, refined, and the same at ``2 dps`` digits
    (False for an end that is not refined: the end of the scanned range, or where the fixed
    point ceases to exist); ``stable``: both; ``notes`` say why an end is not.
    """

    j: int
    support: tuple[int, ...]
    sparsity: Any
    lam_lo: Any
    lam_hi: Any
    dps: int | None = None
    stable: bool | None = None
    notes: tuple[str, ...] = ()
    stable_lo: bool | None = None
    stable_hi: bool | None = None


@dataclass(frozen=True)
class LambdaSelection:
    """The answer of :func:`select_lambda`: the smallest ``lam`` reaching ``target`` (and the
    sparsity and support there), how it was found, and (l0/TL1) the branches examined.

    With ``dps``: ``lam`` and ``sparsity`` are mpf at ``dps`` digits (``lam`` the smallest
    ``dps``-digit decimal reaching the target), and ``stable`` says whether ``lam`` was
    accepted (the same at ``2 dps`` digits; module docstring); ``note`` says why not.
    """

    target: float
    lam: Any
    sparsity: Any
    support: tuple[int, ...]
    method: str
    branches: tuple[BranchRange, ...] = ()
    note: str | None = None
    dps: int | None = None
    stable: bool | None = None


class _Rt(NamedTuple):
    """One float64 root: branch codes and margins on ``Prob.order``, A (binary: alpha), B
    (binary: c), phi', and the solver's own root (ReLU: :class:`_relu.Root`; binary: alpha)."""

    codes: np.ndarray
    A: float
    B: float
    margins: np.ndarray
    dphi: np.ndarray | None
    raw: Any


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
        self.w_in = list(w_star)       # as given (decimal strings are parsed at each precision)
        self.pen = check_instance(penalty, 0.0, beta, a)
        self.beta_in = beta
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

    def roots(self, lam: float, fams: list[R.Family], validate: bool = True) -> list[_Rt]:
        """The float64 roots of the pattern families at ``lam`` (binary: A = alpha, B = c)."""
        p = self.prob(lam)
        out = []
        if self.model == "relu":
            for rt in R.find_roots(p, fams, validate=validate):
                out.append(_Rt(rt.pattern, rt.A, rt.B, rt.margins, rt.dphi, rt))
            return out
        from theory.limits import binary_rvscgd as BR

        for pat, alpha in BR._roots(p, fams, self.c, 64):
            xi, codes = BR._xi(p, pat, alpha, self.c)
            if not np.all(np.isfinite(xi)):
                continue
            y = self.c * p.m
            margins, dphi = np.ones(p.n), np.zeros(p.n)
            for code in np.unique(codes):
                sel = codes == code
                b = BR.branch_np(int(code), y[sel], np.float64(alpha), p.pr)
                margins[sel], dphi[sel] = b.margin, b.dphi
            ok = np.where(codes == PRUNED, margins >= -1e-10, margins > -1e-10)
            if validate and not np.all(ok):
                continue
            out.append(_Rt(codes, alpha, self.c, margins, dphi, alpha))
        return out

    def margin_fn(self, rt: _Rt, lam0: float) -> Callable[[Any], list[Any] | None]:
        """At the working precision: ``lam -> `` the margins (on ``order``) of the fixed point
        with ``rt``'s pattern, continued from the float64 root ``rt`` at ``lam0`` by the
        calculator's own mpmath solvers (None where the pattern has no fixed point nearby).  The
        margins are smooth in ``lam`` on both sides of a threshold crossing (the pattern is
        fixed; validity is not required)."""
        from theory.limits import binary_rvscgd as BR
        from theory.limits import relu_rvsm as RV

        ws = to_mpf_vector("w_star", self.w_in)
        p = self.prob(lam0)
        if self.model == "relu":
            def f(lam: Any) -> list[Any] | None:
                try:
                    sol = RV._mp_solution(ws, self.k, self.pen, lam, self.beta_in, rt.raw, p.order)
                except (ZeroDivisionError, ValueError):
                    return None
                return None if sol is None else list(sol["margins"])
            return f
        s = norm_mp(ws)
        w_hat = [v / s for v in ws]
        _, c = BR.coarse_constants(self.k, self.ste, mpmath.mp.dps)

        def fb(lam: Any) -> list[Any] | None:
            pr = make_params(self.pen, lam, self.beta_in, mp=True)
            try:
                sol = BR._mp_alpha(p, w_hat, pr, rt.codes, float(rt.raw), c)
            except (ZeroDivisionError, ValueError, AttributeError):  # a branch vanished
                return None
            return None if sol is None else list(sol[2])
        return fb

    def reduced_fn(self, rt: _Rt, lam0: float) -> tuple[Callable[[Any, Any], Any], Any]:
        """At the working precision: ``(G, v0)``, ``G(v, lam)`` the one-dimensional reduced
        equation of ``rt``'s pattern (zero exactly at its fixed points; None where a branch does
        not exist) and ``v0`` the float64 root's coordinate.  Binary: ``v = alpha``,
        ``G = log|x(alpha)|`` (``|w_bar| = 1`` closes (3) of limits.md).  ReLU: ``v = t``,
        ``G(t) = F1(rho*(t), t)`` with ``F2(rho*(t), t) = 0`` (the continuation of limits.md
        step 4; ``rho*`` by the secant method, warm-started).  A fold of the pattern in lam, where
        its fixed point ceases to exist, is a double zero of ``G`` (for ReLU where
        ``dF2/drho != 0``: then ``det J = dF2/drho * dG/dt``)."""
        ws = to_mpf_vector("w_star", self.w_in)
        p = self.prob(lam0)
        codes = rt.codes
        if self.model == "binary":
            from theory.limits.binary_rvscgd import coarse_constants

            s = norm_mp(ws)
            order, m, _, _ = R.mp_vectors([v / s for v in ws], p.order)
            _, c = coarse_constants(self.k, self.ste, mpmath.mp.dps)

            def g_bin(al: Any, lam: Any) -> Any:
                pr = make_params(self.pen, lam, self.beta_in, mp=True)
                x = []
                for j in range(len(order)):
                    b = branch_mp(int(codes[j]), c * m[j], al, pr)
                    if b is None:
                        return None
                    x.append(b.xi)
                nx = norm_mp(x)
                return mpmath.log(nx) if nx else None
            return g_bin, mpmath.mpf(float(rt.raw))
        order, m, sig, s = R.mp_vectors(ws, p.order)
        state = {"rho": mpmath.log(mpmath.mpf(rt.raw.r))}
        tol = 8 * mpmath.eps

        def g_relu(t: Any, lam: Any) -> Any:
            pr = make_params(self.pen, lam, self.beta_in, mp=True)

            def F(rho: Any) -> Any:
                out = R.residual_F_mp(self.k, pr, ws, order, m, sig, s, codes, rho, t)
                return None if out is None else out[0]

            r0, r1 = state["rho"], state["rho"] + mpmath.mpf("1e-8")
            f0, f1 = F(r0), F(r1)
            for _ in range(100):
                if f0 is None or f1 is None or f1[1] == f0[1]:
                    break
                r0, r1, f0 = r1, r1 - f1[1] * (r1 - r0) / (f1[1] - f0[1]), f1
                f1 = F(r1)
                if abs(r1 - r0) <= tol * max(abs(r1), 1):
                    break
            if f1 is None or abs(f1[1]) > mpmath.mpf(10) ** (-mpmath.mp.dps + 5):
                return None
            state["rho"] = r1
            return f1[0]
        return g_relu, mpmath.mpf(rt.raw.t)

    def magnitudes_tied(self, positions: Sequence[int]) -> bool:
        """Are |w*_i| at these positions of ``order`` exactly equal at the working precision?"""
        ws = to_mpf_vector("w_star", self.w_in)
        order = self.prob(1.0).order
        vals = {abs(ws[int(order[j])]) for j in positions}
        return len(vals) <= 1


def _principal(ctx: _Ctx, lam: float) -> tuple[float | None, float, np.ndarray]:
    """l1: (theta, A, codes) of the principal fixed point at lam (:func:`_principal_root`)."""
    theta, rt = _principal_root(ctx, lam)
    return theta, float(rt.A), rt.codes


def _principal_root(ctx: _Ctx, lam: float) -> tuple[float | None, _Rt]:
    """l1: (theta, root) of the principal fixed point at lam: the one with A > 0 (Huber
    family; theta = (A + beta) lam/(beta B)), the densest if a fold gives several; where none
    exists, its continuation through A = 0, one kept coordinate with A <= 0 (theta None); else
    the all-pruned one."""
    p = ctx.prob(lam)
    fams = [R.Family("auto"), R.single_family(p, PRUNED, np.array([0]), math.pi / 2)]
    roots = ctx.roots(lam, fams)
    pos = [r for r in roots if r.A > 0 and np.any(r.codes != PRUNED)]
    if pos:
        # several A > 0 points (a fold of the branch, limits.md step 4): the continuation from
        # small lam stays on the densest one until its fold
        best = max(pos, key=lambda r: (int(np.sum(r.codes != PRUNED)), r.A))
        return float((best.A + ctx.beta) * lam / (ctx.beta * best.B)), best
    one = ctx.roots(lam, [R.single_family(p, KEPT, np.arange(p.nnz), math.pi / 2)])
    one = [r for r in one if r.A <= 0]
    if one:
        best = max(one, key=lambda r: float(np.max(np.abs(r.margins))))  # deterministic choice
        if len(one) > 1:
            best = min(one, key=lambda r: int(np.flatnonzero(r.codes != PRUNED)[0]))
        return None, best
    pruned = [r for r in roots if not np.any(r.codes != PRUNED)]
    if not pruned:
        raise NoFixedPointError(f"no principal l1 fixed point found at lam = {lam}")
    return None, pruned[0]


def _sparsity_of(codes: np.ndarray, d: int) -> float:
    return 1.0 - float(np.sum(codes != PRUNED)) / d


# ------------------------------------------------------------------ mpmath refinement

class _Refined(NamedTuple):
    lam: Any            # mpf at dps digits, or None
    stable: bool
    note: str | None
    kind: str = ""      # "threshold" or "fold" when refined


def _decimal_neighbours(x: Any, n: int) -> tuple[str, str]:
    """The ``n``-significant-digit decimals just below and just above ``x > 0`` (equal when
    ``x`` is one), as strings (parsed exactly at any precision)."""
    e = int(mpmath.floor(mpmath.log10(x))) - n + 1
    q = x / mpmath.mpf(10) ** e
    if q < mpmath.mpf(10) ** (n - 1):   # log10 rounded across a power of 10
        e, q = e - 1, q * 10
    elif q >= mpmath.mpf(10) ** n:
        e, q = e + 1, q / 10
    return f"{int(mpmath.floor(q))}e{e}", f"{int(mpmath.ceil(q))}e{e}"


def _illinois_mp(f: Callable[[Any], Any], lam0: float) -> Any | None:
    """A zero of ``f`` near ``lam0 > 0`` at the working precision: a sign change is bracketed
    by ``lam0 (1 -+ h)``, ``h = 1e-9`` widened tenfold up to ``1e-2``, then the Illinois method
    runs until the bracket is 8 ulp wide.  None if there is no sign change or ``f`` fails."""
    lam0 = mpmath.mpf(lam0)
    h = mpmath.mpf("1e-9")
    while True:
        lo, hi = lam0 * (1 - h), lam0 * (1 + h)
        flo, fhi = f(lo), f(hi)
        if flo is not None and fhi is not None and (flo > 0) != (fhi > 0):
            break
        h *= 10
        if h > mpmath.mpf("0.011"):
            return None
    tol = 8 * mpmath.eps * lam0

    def g(x: Any) -> Any:
        fx = f(x)
        return mpmath.nan if fx is None else fx

    return R._illinois(g, lo, hi, flo, fhi, tol, iters=400)


def _valid(codes: np.ndarray, margins: Sequence[Any]) -> bool:
    """Strict validity of a pattern (as the calculator's mpmath check): pruned coordinates on or
    inside the threshold (the tie goes to 0), the others strictly outside."""
    return all((mg >= 0) if int(c) == PRUNED else (mg > 0) for c, mg in zip(codes, margins))


def _refine(ctx: _Ctx, rt: _Rt, lam0: float, positions: Sequence[int], dps: int) -> _Refined:
    """The breakpoint near ``lam0`` where the coordinates at ``positions`` (of ``order``; their
    ``|w*_i|`` must be equal at the working precision, else they cross at different ``lam``) of
    ``rt``'s pattern sit on their threshold: ``mu_j(lam) = 0`` at ``dps + 10`` and
    ``2 dps + 10`` digits (module docstring), then the ``dps``-digit decimal next to it on the
    side where the whole pattern is strictly valid (checked at ``2 dps + 10`` digits)."""
    j = int(positions[0])
    coord = int(ctx.prob(lam0).order[j])
    sols = []
    for prec in (dps + GUARD_DPS, 2 * dps + GUARD_DPS):
        with mpmath.mp.workdps(prec):
            if not ctx.magnitudes_tied(positions):
                return _Refined(None, False, "coordinates with different |w*_i| reach the "
                                "threshold within float64 resolution; not refined")
            f = ctx.margin_fn(rt, lam0)

            def fj(lam: Any, f: Callable[[Any], Any] = f) -> Any:
                mg = f(lam)
                return None if mg is None else mg[j]

            lam = _illinois_mp(fj, lam0)
            if lam is None:
                return _Refined(None, False, f"no threshold crossing of coordinate {coord} "
                                f"found near lam = {lam0!r} at {prec} digits")
            sols.append(lam)
    with mpmath.mp.workdps(2 * dps + GUARD_DPS):
        lo_, hi_ = sols
        stable = bool(abs(lo_ - hi_) <= abs(hi_) * mpmath.mpf(10) ** (-dps))
        f = ctx.margin_fn(rt, lam0)
        chosen = None
        for cand in _decimal_neighbours(hi_, dps):
            mg = f(mpmath.mpf(cand))
            if mg is not None and _valid(rt.codes, mg):
                chosen = cand
                break
    if chosen is None:
        return _Refined(None, False, f"the pattern is valid on neither {dps}-digit decimal "
                        "next to the breakpoint")
    with mpmath.mp.workdps(dps):
        out = mpmath.mpf(chosen)
    note = None if stable else f"the breakpoint changed between {dps} and {2 * dps} digits"
    return _Refined(out, stable, note, "threshold")


def _extremum(G: Callable[[Any, Any], Any], lam: Any, v0: Any) -> tuple[Any, Any] | None:
    """``(v*, G(v*, lam))`` at the extremum of ``G(., lam)`` nearest ``v0``: the secant method
    on ``dG/dv`` by central differences with step ``h = scale 10^(-dps/3)`` (error
    ``O(h^2) + O(eps/h)``, so ``v*`` to ``~eps^(2/3)`` and, ``G`` being flat there, its value to
    ``~eps``)."""
    scale = max(abs(v0), mpmath.mpf(1))
    h = scale * mpmath.mpf(10) ** (-(mpmath.mp.dps // 3))

    def dG(v: Any) -> Any:
        a, b = G(v + h, lam), G(v - h, lam)
        return None if a is None or b is None else (a - b) / (2 * h)

    v_a, v_b = v0, v0 + scale * mpmath.mpf("1e-7")
    d_a, d_b = dG(v_a), dG(v_b)
    stop = scale * mpmath.eps ** mpmath.mpf("0.6")
    for _ in range(60):
        if d_a is None or d_b is None:
            return None
        if d_b == d_a:
            break
        v_a, v_b, d_a = v_b, v_b - d_b * (v_b - v_a) / (d_b - d_a), d_b
        d_b = dG(v_b)
        if abs(v_b - v_a) <= stop:
            break
    else:
        return None
    val = G(v_b, lam)
    return None if val is None else (v_b, val)


def _refine_fold(ctx: _Ctx, rt: _Rt, lam0: float, inside: int, dps: int,
                 check: Callable[[Any], bool] | None = None) -> _Refined:
    """The ``lam`` near ``lam0`` where ``rt``'s pattern's fixed point ceases to exist (a fold:
    a double zero of the reduced equation ``G(v; lam)`` of :meth:`_Ctx.reduced_fn`, i.e. the
    extremum value of ``G`` over ``v`` vanishes; solved by the Illinois method in ``lam``) at
    ``dps + 10`` and ``2 dps + 10`` digits; reported as the ``dps``-digit decimal on the side
    ``inside`` (+1 above, -1 below), where ``check`` (evaluated at ``2 dps + 10`` digits) must
    hold."""
    sols = []
    for prec in (dps + GUARD_DPS, 2 * dps + GUARD_DPS):
        with mpmath.mp.workdps(prec):
            G, v0 = ctx.reduced_fn(rt, lam0)
            state = {"v": v0}

            def ext(lam: Any, G: Callable[[Any, Any], Any] = G, state: dict = state) -> Any:
                out = _extremum(G, lam, state["v"])
                if out is None:
                    return None
                state["v"] = out[0]
                return out[1]

            lam = _illinois_mp(ext, lam0)
            if lam is None:
                return _Refined(None, False, "no coordinate crosses a threshold here and no "
                                "fold of the fixed point was found (A -> 0, or the float64 search "
                                "lost the fixed point); the float64 value is reported, not "
                                "refined")
            sols.append(lam)
    with mpmath.mp.workdps(2 * dps + GUARD_DPS):
        lo_, hi_ = sols
        stable = bool(abs(lo_ - hi_) <= abs(hi_) * mpmath.mpf(10) ** (-dps))
        below, above = _decimal_neighbours(hi_, dps)
        cand = above if inside > 0 else below
        if mpmath.mpf(cand) == hi_:  # exactly on the fold: step off it to the inside
            with mpmath.mp.workdps(dps):
                step = mpmath.mpf(cand) * mpmath.mpf(10) ** (1 - dps)
            cand = mpmath.nstr(mpmath.mpf(cand) + inside * step, dps + 2)
        if check is not None and not check(mpmath.mpf(cand)):
            return _Refined(None, False, f"the fold was found, but the expected fixed point is "
                            f"not valid at the {dps}-digit decimal next to it")
    with mpmath.mp.workdps(dps):
        out = mpmath.mpf(cand)
    note = None if stable else f"the fold changed between {dps} and {2 * dps} digits"
    return _Refined(out, stable, note, "fold")


def _on_threshold(rt: _Rt) -> np.ndarray:
    """Positions (on ``order``) of the coordinates on a threshold at a float64 breakpoint."""
    return np.flatnonzero(np.abs(rt.margins) <= SMALL_MARGIN)


def _mp_float(x: float, dps: int) -> Any:
    with mpmath.mp.workdps(dps):
        return mpmath.mpf(x)


def _mp_sparsity(n_zero: int, d: int, dps: int) -> Any:
    with mpmath.mp.workdps(dps):
        return mpmath.mpf(n_zero) / d


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
                  n_branches: int = 3, dps: int | None = None) -> LambdaSelection:
    """The smallest lam with sparsity(u_bar) >= ``target_sparsity`` (module docstring).

    ``dps`` (None, or in [:data:`MIN_DPS`, :data:`MAX_DPS`]): refine the answer with mpmath at
    ``dps`` digits, accepted only if it agrees at ``2 dps`` (``LambdaSelection.stable``); then
    ``w_star``, ``beta`` and ``a`` may be decimal strings (parsed exactly at each precision).
    """
    dps = check_select_dps(dps)
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
        support = tuple(int(i) for i in np.flatnonzero(ctx.w))
        method = "already reached at lam = 0 (zeros of w*)"
        if dps is None:
            return LambdaSelection(tgt, 0.0, z0 / d, support, method)
        return LambdaSelection(tgt, _mp_float(0.0, dps), _mp_sparsity(z0, d, dps), support,
                               method, dps=dps, stable=True)
    p0 = ctx.prob(1.0)
    order = p0.order
    nnz = p0.nnz
    keep = nnz - (n0 - z0)                          # kept coordinates on the target support
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
        _, rt_hi = _principal_root(ctx, hi)
        codes = rt_hi.codes
        sp_ = _sparsity_of(codes, d)
        sup = tuple(sorted(int(order[i]) for i in np.flatnonzero(codes != PRUNED)))
        note = None
        if reached(lo) or (lo > 0 and not reached(hi)):
            note = "the sparsity is not monotone near the returned lam"
        method = ("l1: bisection on lam of sparsity >= target along the principal branch "
                  "(monotone: limits.md step 8), to a relative 1e-13")
        if dps is None:
            return LambdaSelection(tgt, hi, sp_, sup, method, note=note)
        ref = _refine_l1(ctx, lo, hi, rt_hi, dps)
        notes = [n for n in (note, ref.note) if n]
        method += {"threshold": f"; then mpmath at {dps} digits: the lam where the last pruned "
                   "coordinate reaches the soft threshold, rounded up to the next decimal",
                   "fold": f"; then mpmath at {dps} digits: the lam where the denser principal "
                   "fixed point ceases to exist (a fold), rounded up to the next decimal",
                   }.get(ref.kind, f"; not refined at {dps} digits (see note): the float64 "
                         "value is reported")
        return LambdaSelection(tgt, ref.lam if ref.lam is not None else _mp_float(hi, dps),
                               _mp_sparsity(d - int(np.sum(codes != PRUNED)), d, dps), sup,
                               method, note="; ".join(notes) or None, dps=dps,
                               stable=ref.stable)
    branches = []
    for j in range(keep, max(-1, keep - n_branches), -1):
        branches.append(branch_lambda_range(model, w_star, k, penalty, beta, j, a=a, ste=ste,
                                            dps=dps, _ctx=ctx))
    found = [b for b in branches if b.lam_lo is not None]
    if not found:
        return LambdaSelection(tgt, None, None, (), "per branch: no nested branch with at most "
                               f"{keep} kept coordinates is self-consistent on the scanned range",
                               tuple(branches), dps=dps, stable=None if dps is None else False)
    best = min(found, key=lambda b: b.lam_lo)
    note = "other (non-nested) supports are not examined"
    if dps is not None:  # the notes on the selected value (its branch's left end)
        note = "; ".join([note, *(n for n in best.notes if n.startswith("lam_lo"))])
    return LambdaSelection(tgt, best.lam_lo, best.sparsity, best.support,
                           f"per branch ({penalty} has several fixed points): the smallest left "
                           "end of the lam-intervals of the nested supports examined"
                           + ("" if dps is None else f"; ends refined with mpmath at {dps} "
                              "digits, rounded inwards"),
                           tuple(branches), note=note, dps=dps,
                           stable=None if dps is None else best.stable_lo)


def _refine_l1(ctx: _Ctx, lo: float, hi: float, rt_hi: _Rt, dps: int) -> _Refined:
    """l1 at ``dps``: the float64 bisection ends with the principal pattern ``P_lo`` at ``lo``
    and ``P_hi`` at ``hi``.  If ``P_hi`` is ``P_lo`` with the coordinates ``D`` pruned and the
    coordinates of ``D`` sit on the threshold at ``hi``, the breakpoint is a threshold crossing
    (:func:`_refine`); otherwise ``P_lo`` ceases to exist there (a fold of the principal branch,
    e.g. the one-kept point with ``A < 0`` before the all-pruned one): :func:`_refine_fold`,
    rounded up, where ``P_hi`` must be valid."""
    if not lo > 0:
        return _Refined(None, False, "no float64 bracket below the answer; not refined")
    _, rt_lo = _principal_root(ctx, lo)
    kept_lo, kept_hi = rt_lo.codes != PRUNED, rt_hi.codes != PRUNED
    dropped = np.flatnonzero(kept_lo & ~kept_hi)
    if not np.any(kept_hi & ~kept_lo) and dropped.size \
            and np.all(np.abs(rt_hi.margins[dropped]) <= SMALL_MARGIN):
        return _refine(ctx, rt_hi, hi, dropped, dps)

    def sparser_valid(lam: Any) -> bool:  # P_hi is a strictly valid fixed point there
        mg = ctx.margin_fn(rt_hi, hi)(lam)
        return mg is not None and _valid(rt_hi.codes, mg)

    # no threshold crossing: the principal fixed point P_lo ceases to exist (a fold)
    return _refine_fold(ctx, rt_lo, hi, +1, dps, sparser_valid)


def branch_lambda_range(model: str, w_star: Sequence[Any], k: int, penalty: str, beta: Any,
                        j: int, *, a: Any = None, ste: str = "relu",
                        lam_grid: Sequence[float] | None = None, dps: int | None = None,
                        _ctx: _Ctx | None = None) -> BranchRange:
    """The lam-interval on which the nested support of the ``j`` largest |w*_i| is a
    self-consistent fixed point (scan of ``lam_grid``, then bisection of both ends; the set is
    assumed to be one interval, which the scan checks on its grid).  ``dps``: refine each end
    that is a threshold crossing with mpmath (module docstring); ends of the scanned range are
    reported as they are, with a note."""
    dps = check_select_dps(dps)
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
    sp_out: Any = sparsity if dps is None else _mp_sparsity(ctx.d - j, ctx.d, dps)
    if not any(flags):
        return BranchRange(j, support, sp_out, None, None, dps)
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
    if dps is None:
        return BranchRange(j, support, sp_out, lo, hi)
    ends, notes = [], []
    for name, lam, scan_end in (("lam_lo", lo, first == 0), ("lam_hi", hi, last == len(grid) - 1)):
        if scan_end:
            notes.append(f"{name} is the end of the scanned range (the branch is valid there), "
                         "not a breakpoint; not refined")
            ends.append(_Refined(_mp_float(lam, dps), False, None))
            continue
        rt = min(ctx.roots(lam, fam), key=lambda r: float(np.min(np.abs(r.margins))))
        on = _on_threshold(rt)
        # the coordinate nearest to its threshold bounds the interval (a near tie that crosses
        # first at dps digits makes the pattern invalid at the result: _refine rejects it)
        on = on[np.argsort(np.abs(rt.margins[on]), kind="stable")][:1]
        # no coordinate on a threshold: a TL1 kept coordinate at its own branch fold (phi' -> 0:
        # it goes on as kept-low, the support unchanged), or the fixed point ceases to exist
        flat = penalty == "tl1" and rt.dphi is not None and bool(np.any(
            (rt.codes == KEPT) & (np.abs(rt.dphi) <= 1e-3 * (abs(float(rt.A)) + ctx.beta))))
        if on.size:
            ref = _refine(ctx, rt, lam, on, dps)
        elif flat:
            ref = _Refined(None, False, "a kept coordinate reaches the fold of its TL1 branch "
                           "here (phi' -> 0; the fixed point goes on with it kept-low, the same "
                           "support): not refined, the float64 value is reported")
        else:
            ref = _refine_fold(ctx, rt, lam, +1 if name == "lam_lo" else -1, dps)
        if ref.note:
            notes.append(f"{name}: {ref.note}")
        ends.append(ref if ref.lam is not None else _Refined(_mp_float(lam, dps), False, None))
    return BranchRange(j, support, sp_out, ends[0].lam, ends[1].lam, dps,
                       ends[0].stable and ends[1].stable, tuple(notes), ends[0].stable,
                       ends[1].stable)
