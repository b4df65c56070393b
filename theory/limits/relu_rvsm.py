r"""Every fixed point of RVSM with the ReLU loss (P1), to any precision, with stability and bound.

RVSM: :math:`u^{t+1} = \operatorname{prox}_{(\lambda/\beta)P}(w^t)`,
:math:`w^{t+1} = w^t - \eta\nabla\ell(w^t) - \eta\beta(w^t - u^{t+1})`.  Fixed points:
:math:`\nabla\ell(\bar w) + \beta(\bar w - \bar u) = 0`, :math:`\bar u = \operatorname{prox}(\bar w)`.

Reduction (``proofs_notes/limits.md``): with :math:`\nabla\ell(w) = A w - B w^*`, the system is
coordinatewise given the two scalars :math:`(r, t) = (|\bar w|, \theta(\bar w, w^*))`; see
:mod:`theory.limits._relu` for the search and :mod:`theory.limits._common` for the branches.

Stability: the iteration map is :math:`T(w) = w - \eta(\nabla\ell(w) + \beta(w - p(w)))`, its
Jacobian :math:`J = I - \eta M` with
:math:`M = \nabla^2\ell + \beta(I - P') = \operatorname{diag}(\varphi'(\bar w_i)) +
(\lambda_w - A)\hat w\hat w^\top + (\lambda_n - A)\hat n\hat n^\top` (the Hessian's eigen-frame,
:func:`theory.relu.hessian_eigen`), symmetric, so :math:`\rho(J) = \max|1 - \eta\mu|` over the
extreme eigenvalues :math:`\mu` of :math:`M` (:mod:`theory.limits._spectral`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import mpmath
import numpy as np

from theory import relu
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
    check_instance,
    make_params,
    relu_coeff_kernels,
)
from theory.limits._spectral import extreme_eigenvalues
from theory.limits._types import FixedPoint, FixedPointSet
from theory.limits.bounds import relu_bound
from theory.limits.degenerate import complete_set

__all__ = ["relu_fixed_points", "check_eta", "check_w_star"]

GUARD_DPS = 10


def check_eta(eta: Any) -> float | None:
    if eta is None:
        return None
    try:
        v = float(eta)
    except (TypeError, ValueError):
        raise ValueError(f"eta must be a real number > 0, got {eta!r}") from None
    if isinstance(eta, bool) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"eta must be a finite number > 0, got {eta!r}")
    return v


def check_w_star(w_star: Any) -> np.ndarray:
    """float64 vector, finite, nonzero."""
    try:
        arr = np.asarray([float(mpmath.mpf(v)) if isinstance(v, str) else float(v) for v in w_star],
                         dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("w_star must be a vector of real numbers") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("w_star must be a non-empty vector")
    if not np.all(np.isfinite(arr)):
        raise ValueError("w_star has NaN or inf entries")
    if not np.any(arr != 0):
        raise ValueError("w_star must be nonzero")
    return arr


def families(p: R.Prob, enumeration: str, max_patterns: int, outside: bool,
             a_neg_possible: bool, screen: str) -> tuple[list[R.Family], bool, str]:
    """The pattern families searched, whether they are complete, and a description.

    Good family (sign-consistent): ``exhaustive`` = every assignment of branches to the nonzero
    coordinates; l1 ``auto``: for A > 0 the preimage is unique (one pattern, determined by
    (A, B)), and a sign-consistent point with A < 0 needs every B|w*_i| < lam, which the caller
    screens (``a_neg_possible``, with the reason ``screen``); otherwise ``nested`` supports.  Outside the good family (``outside``): the attracting candidates only,
    i.e. one coordinate kept against the sign of w*_i (or a false support) and the rest pruned
    (limits.md step 5: two coordinates with phi' < 0 make M indefinite).
    """
    name = p.pr.name
    n = p.nnz
    codes = (PRUNED, KEPT, KEPT_LOW) if name == "tl1" else (PRUNED, KEPT)
    count = len(codes) ** n
    if enumeration not in ("auto", "exhaustive", "nested"):
        raise ValueError(f"enumeration must be auto, exhaustive or nested, got {enumeration!r}")
    if enumeration == "exhaustive" or (enumeration == "auto" and count <= max_patterns):
        if count > 3**10:
            raise ValueError(f"exhaustive enumeration of {count} patterns is too large; use "
                             "enumeration='nested'")
        fams = [R.exhaustive_family(p, codes)]
        complete, how = True, f"exhaustive ({count} sign-consistent patterns)"
    elif name == "l1":
        fams = [R.Family("auto"), R.single_family(p, PRUNED, np.array([0]), math.pi / 2)]
        if a_neg_possible:
            fams.append(R.single_family(p, KEPT, np.arange(n), math.pi / 2))
            complete, how = False, ("auto (A > 0) + all pruned + one kept coordinate "
                                    "(A < 0 searched partially)")
        else:
            complete, how = True, f"auto (A > 0; A < 0 impossible since {screen})"
    else:
        fams = [R.nested_family(p, KEPT)]
        complete, how = False, f"nested ({n + 1} supports: the j largest |w*_i| kept)"
    if outside:
        fams.append(R.single_family(p, FLIP, np.arange(p.n), math.pi))
        how += "; outside the good family: one coordinate kept against its sign (A < 0)"
    return fams, complete, how


def relu_fixed_points(w_star: Sequence[Any], k: int, penalty: str, lam: Any, beta: Any, *,
                      a: Any = None, eta: Any = None, dps: int | None = None,
                      enumeration: str = "auto", max_patterns: int = 256, outside: bool = True,
                      grid: tuple[int, int] = (40, 40), max_points: int | None = 256
                      ) -> FixedPointSet:
    """All sign-consistent fixed points of ReLU RVSM for the instance (see module docstring).

    ``penalty`` in ``l1``, ``l0``, ``tl1`` (``a`` > 0 for tl1); ``lam >= 0``, ``beta > 0``;
    ``eta`` (optional) decides ``attracting``; ``dps`` switches to mpmath (results are mpf at
    ``dps`` digits, accepted only if unchanged at ``2 dps``).  ``enumeration``: ``exhaustive``
    (every branch pattern), ``nested`` (supports made of the largest ``|w*_i|``), ``auto``
    (exhaustive when at most ``max_patterns`` patterns).  ``outside``: also search the fixed
    points outside the good family that can be attracting (``FixedPoint.good`` is False for
    them).  ``max_points``: stop after that many fixed points (l0/TL1 with large d can have
    thousands: one per self-consistent support); the set is then marked incomplete.
    ``w_star`` entries may be decimal strings (parsed exactly at ``dps``).
    """
    k = check_k(k)
    w64 = check_w_star(w_star)
    pen = check_instance(penalty, lam, beta, a)
    eta_ = check_eta(eta)
    if dps is not None:
        dps = check_dps(dps)
    pr = make_params(pen, lam, beta, mp=False)
    p = R.prepare(w64, k, pr)
    fams, complete, how = families(p, enumeration, max_patterns, outside,
                                   bool(p.m[0] < 2 * k * float(pr.lam)), "max|w*| >= 2 k lam")
    if fams[0].kind == "nested" and p.n > 1000:  # (d + 1) patterns x nodes x d per row
        grid = (min(grid[0], 20), min(grid[1], 16))
        how += f"; coarse grid {grid} for d = {p.n}"
    roots = R.find_roots(p, fams, n_t=grid[0], n_r=grid[1], max_points=max_points)
    truncated = bool(getattr(R.find_roots, "truncated", False))
    if outside:
        roots += R.l0_zero_a_roots(p)
    notes: list[str] = []
    fps: list[FixedPoint] = []
    if outside:
        anti = _antiparallel(p, w_star, k, pen, lam, beta, eta_, dps)
        if anti is not None:
            fps.append(anti)
    for root in roots:
        if dps is None:
            fps.append(_assemble_float(p, root, eta_))
        else:
            fp = _assemble_mp(w_star, w64, k, pen, lam, beta, root, eta_, dps, p)
            if fp is None:
                notes.append(f"a float64 root with pattern {root.pattern.tolist()} did not survive "
                             f"the {dps}-digit check")
            else:
                fps.append(fp)
    fps.sort(key=lambda f: (float(f.lagrangian), -len(f.support)))
    inst = {"model": "relu", "penalty": penalty, "k": k, "lam": lam, "beta": beta, "a": a,
            "eta": eta_, "dps": dps, "d": int(w64.size)}
    msg = None
    if not any(f.good for f in fps):
        msg = ("no sign-consistent fixed point (the good family) was found for this instance; "
               f"search: {how}")
    if truncated:
        notes.append(f"stopped after max_points = {max_points} fixed points (more exist)")
    if not complete:
        band = _band_note(p, roots)
        if band:
            notes.append(band)
    if notes:
        msg = "; ".join(([msg] if msg else []) + notes)
    att = None if eta_ is None else sum(1 for f in fps if f.attracting)
    fs = FixedPointSet(tuple(fps), len(fps) == 1 and not truncated, att,
                       complete and not notes, how, msg, inst)
    return complete_set(fs, "relu", w_star, k, penalty, lam, beta)


def _band_note(p: R.Prob, roots: list[R.Root]) -> str | None:
    """Why a list from a partial enumeration cannot be complete: the hysteresis band (two
    or more valid branches per coordinate) at the listed roots; every mix of branches over
    the band can be a fixed point, and the nested search lists only the prefix supports."""
    band: set[int] = set()
    for root in roots:
        if root.special is None:
            band |= set(R.band_at(p, root.A, root.B))
    if not band:
        return None
    return (f"hysteresis band: {len(band)} coordinates have two or more valid branches at the "
            "listed fixed points; the patterns mixing their branches (up to "
            f"{3 if p.pr.name == 'tl1' else 2}^{len(band)}) are not listed: "
            "describe_solution_set (rvsm fixed-point --describe) describes them and locates "
            "any limit (--w0)")


# ------------------------------------------------------------------------- assembly

def _antiparallel(p: R.Prob, w_star_in: Sequence[Any], k: int, pen: Any, lam: Any, beta: Any,
                  eta: float | None, dps: int | None) -> FixedPoint | None:
    """The degenerate fixed point at t = pi with A = -beta (limits.md step 5): B(pi) = 0, so
    every pruned coordinate solves (A + beta) x - beta 0 = 0 for any x; then
    x = -(r/s) w* with r = A_1(pi) s/(A_0 + beta), valid iff every |x_i| <= z.  Outside the good
    family; attracting only for d = 1 (for d >= 2, M has the eigenvalue 0 d - 1 times)."""
    kern = relu_coeff_kernels()
    ws = p.w_star
    pr = p.pr
    r = float(kern["r_of_A"](np.float64(k), np.float64(p.s), np.float64(math.pi),
                             np.float64(-pr.beta)))
    if not r > 1e-9 * p.s:  # k = 1: A_1(pi) = sin(pi)/pi = 0, so r = 0 (w = 0: no fixed point)
        return None
    x = -(r / p.s) * ws
    if float(np.max(np.abs(x))) > float(pr.zero):
        return None
    notes = ["anti-parallel (t = pi) with A = -beta exactly: every coordinate pruned"]
    margin = float((pr.zero - np.max(np.abs(x))) / pr.zero) if pr.zero else 0.0
    kink = margin <= 1e-10
    dphi_full = np.zeros(ws.size)
    curv, rho, att, eta_max = _stability(x, ws, k, dphi_full, eta, kink)
    lag_f = float(relu.loss(x, ws, k)) + pr.beta / 2 * float(x @ x)
    B = 0.0
    vals: list[Any] = [math.pi, r, lag_f, -float(pr.beta), B, float(norm(x - ws)), p.s]
    w_out: tuple[Any, ...] = tuple(float(v) for v in x)
    u_out: tuple[Any, ...] = tuple(0.0 for _ in x)
    residual = float(np.max(np.abs(relu.grad(x, ws, k) + pr.beta * x))) / max(
        float(np.max(np.abs(pr.beta * x))), p.A0 * float(np.max(np.abs(x))), 1e-300)
    stable = None
    if dps is not None:
        with mpmath.mp.workdps(dps + GUARD_DPS):
            wsm = to_mpf_vector("w_star", w_star_in)
            prm = make_params(pen, lam, beta, mp=True)
            sm = norm_mp(wsm)
            rm = kern["r_of_A"].mp(k, sm, mpmath.pi, -prm.beta)
            xm = [-(rm / sm) * v for v in wsm]
            g = relu.grad_mp(xm, wsm, k)
            residual = float(max(abs(gi + prm.beta * xi) for gi, xi in zip(g, xm))
                             / max(abs(prm.beta * xi) for xi in xm))
            lag = relu.loss_mp(xm, wsm, k) + prm.beta / 2 * mpmath.fsum(v * v for v in xm)
            dist = norm_mp([a_ - b_ for a_, b_ in zip(xm, wsm)])
            with mpmath.mp.workdps(dps):
                w_out = tuple(+v for v in xm)
                u_out = tuple(mpmath.mpf(0) for _ in xm)
                vals = [+mpmath.pi, +rm, +lag, -(+prm.beta), mpmath.mpf(0), +dist, +sm]
            stable = True
    bound = relu_bound(p.s, p.nnz, k, float(pr.beta), float(pr.delta), -float(pr.beta), vals[5],
                       vals[6], False)
    return FixedPoint("relu", pr.name, w_out, u_out, (), tuple("pruned-flipped" if v else
                                                                  "pruned" for v in ws),
                      vals[0], vals[1], {"A": vals[3], "B": vals[4]}, vals[2], residual, margin,
                      kink, curv, eta, rho, att, eta_max, bound, 1.0, False, dps, stable,
                      tuple(notes))


def _stability(w_bar: np.ndarray, w_star: np.ndarray, k: int, dphi_full: np.ndarray,
               eta: float | None, kink: bool) -> tuple[tuple[float, float], float | None,
                                                       bool | None, float | None]:
    he = relu.hessian_eigen(w_bar, w_star, k)
    lam_o = float(he.orthogonal)
    c_w = float(he.along_w) - lam_o
    c_n = float(he.along_normal) - lam_o
    mn, mx = extreme_eigenvalues(dphi_full, [np.asarray(he.w_dir), np.asarray(he.normal_dir)],
                                 [c_w, c_n])
    eta_max = 2 / mx if mn > 0 else None
    if eta is None:
        return (mn, mx), None, None, eta_max
    rho = max(abs(1 - eta * mn), abs(1 - eta * mx))
    return (mn, mx), rho, (None if kink else bool(rho < 1)), eta_max


def _pattern_names(p: R.Prob, codes: np.ndarray) -> tuple[str, ...]:
    return R.pattern_names(p, codes, "kept-false-support")


def _assemble_float(p: R.Prob, root: R.Root, eta: float | None) -> FixedPoint:
    pr, ws, k = p.pr, p.w_star, p.k
    w_bar = R.full_vector(p, root.xi, root.pattern)
    u_bar = pr.penalty.prox(w_bar, pr.tau)
    kept = np.zeros(ws.size, dtype=bool)
    kept[p.order] = root.pattern != PRUNED
    notes: list[str] = []
    margin = float(np.min(np.abs(root.margins))) if root.margins.size else 1.0
    kink = margin <= 1e-10 or not np.array_equal(kept, u_bar != 0)
    if kink:
        notes.append("a coordinate sits on a threshold of the prox (not differentiable there)")
    g = relu.grad(w_bar, ws, k) + pr.beta * (w_bar - u_bar)
    scale = max(float(np.max(np.abs(root.B * ws))), p.A0 * float(np.max(np.abs(w_bar))),
                float(pr.beta * np.max(np.abs(w_bar - u_bar))), 1e-300)
    residual = float(np.max(np.abs(g))) / scale
    dphi_full = np.empty(ws.size)
    dphi_full[p.order] = root.dphi
    curv, rho, att, eta_max = _stability(w_bar, ws, k, dphi_full, eta, kink)
    d = w_bar - u_bar
    lag = float(relu.loss(w_bar, ws, k)) + pr.lam * float(np.sum(pr.penalty.value(u_bar))) \
        + pr.beta / 2 * float(d @ d)
    bound = relu_bound(p.s, p.nnz, k, pr.beta, pr.delta, root.A, float(norm(w_bar - ws)),
                       float(norm(u_bar - ws)), root.good)
    return FixedPoint(
        "relu", pr.name, tuple(w_bar.tolist()), tuple(u_bar.tolist()),
        tuple(np.flatnonzero(u_bar).tolist()), _pattern_names(p, root.pattern),
        float(angle_np(w_bar, ws)), float(norm(w_bar)), {"A": root.A, "B": root.B}, lag,
        residual, margin, kink, curv, eta, rho, att, eta_max, bound,
        float(np.mean(u_bar == 0)), root.good, None, None, tuple(notes))


def _mp_solution(w_star_mp: list[Any], k: int, pen: Any, lam: Any, beta: Any,
                 root: R.Root, order0: Any) -> dict[str, Any] | None:
    """Newton at the working precision; the vectors and margins, or None."""
    pr = make_params(pen, lam, beta, mp=True)
    order, m, sig, s = R.mp_vectors(w_star_mp, order0)
    if root.special is not None:
        return _special_mp(k, pr, w_star_mp, root, order, m, sig, s)
    fix0 = root.t == 0.0
    sol = R.newton_mp(k, pr, w_star_mp, root.pattern, math.log(root.r), root.t, fix0, order0)
    if sol is None:
        return None
    rho, t, res = sol
    out = R.residual_F_mp(k, pr, w_star_mp, order, m, sig, s, root.pattern, rho, t)
    if out is None:
        return None
    _, A, B, x = out
    margins, dphi, us = [], [], []
    for j, _i in enumerate(order):
        b = branch_mp(int(root.pattern[j]), B * m[j], A, pr)
        if b is None:
            return None
        margins.append(b.margin)
        dphi.append(b.dphi)
        us.append(b.u)
    return {"x": x, "A": A, "B": B, "t": t, "r": mpmath.exp(rho), "margins": margins,
            "dphi": dphi, "pr": pr, "order": order, "res": res}


def _special_mp(k: int, pr: Any, w_star_mp: list[Any], root: R.Root, order: list[int],
                m: list[Any], sig: list[Any], s: Any) -> dict[str, Any] | None:
    """The l0 A = 0 points of :func:`theory.limits._relu.l0_zero_a_roots` with mpmath."""
    kern = relu_coeff_kernels()
    a0 = kern["A0"].mp(k)
    x = [mpmath.mpf(0)] * len(w_star_mp)
    margins, dphi = [], []
    z, beta = pr.zero, pr.beta
    if root.special == "l0-anti":
        t = +mpmath.pi
        r = kern["A1"].mp(k, t) * s / a0
        for j, i in enumerate(order):
            xi = r / s * m[j]
            if int(root.pattern[j]) == FLIP:
                x[i] = -sig[j] * xi
                margins.append((xi - z) / z)
                dphi.append(mpmath.mpf(0))
            else:
                margins.append(mpmath.mpf(1))
                dphi.append(beta)
        B = mpmath.mpf(0)
    else:
        def h(t: Any) -> Any:
            r = kern["A1"].mp(k, t) * s / a0
            return kern["B"].mp(k, t) * s / (beta * r) - mpmath.cos(t)

        try:
            t = mpmath.findroot(h, mpmath.mpf(root.t), tol=mpmath.eps * 16)
        except (ValueError, ZeroDivisionError):
            return None
        r = kern["A1"].mp(k, t) * s / a0
        B = kern["B"].mp(k, t)
        rest = r * r
        free = None
        for j, i in enumerate(order):
            if int(root.pattern[j]) == FLIP:
                free = (j, i)
                continue
            xi = B * m[j] / beta
            x[i] = sig[j] * xi
            rest -= xi * xi
        if free is None or rest <= 0:
            return None
        xf = mpmath.sqrt(rest)
        for j, i in enumerate(order):
            if (j, i) == free:
                x[i] = -sig[j] * xf
                margins.append((xf - z) / z)
                dphi.append(mpmath.mpf(0))
            else:
                margins.append((z - abs(x[i])) / z)
                dphi.append(beta)
    return {"x": x, "A": mpmath.mpf(0), "B": B, "t": t, "r": r, "margins": margins,
            "dphi": dphi, "pr": pr, "order": order, "res": mpmath.mpf(0)}


def _assemble_mp(w_star_in: Sequence[Any], w64: np.ndarray, k: int, pen: Any, lam: Any,
                 beta: Any, root: R.Root, eta: float | None, dps: int,
                 p: R.Prob) -> FixedPoint | None:
    with mpmath.mp.workdps(2 * dps + GUARD_DPS):
        ws2 = to_mpf_vector("w_star", w_star_in)
        hi = _mp_solution(ws2, k, pen, lam, beta, root, p.order)
    with mpmath.mp.workdps(dps + GUARD_DPS):
        ws = to_mpf_vector("w_star", w_star_in)
        lo = _mp_solution(ws, k, pen, lam, beta, root, p.order)
        if lo is None or hi is None:
            return None
        pr = lo["pr"]
        x = lo["x"]
        xmax = max(abs(v) for v in x)
        diff = max(abs(a_ - b_) for a_, b_ in zip(x, hi["x"]))
        stable = bool(diff <= xmax * mpmath.mpf(10) ** (-dps))
        # strict validity of the pattern at this precision
        for j, mg in enumerate(lo["margins"]):
            code = int(root.pattern[j])
            if (code == PRUNED and mg < 0) or (code in (KEPT, KEPT_LOW, FLIP) and mg <= 0):
                return None
        u = pen.prox(list(x), pr.tau)
        g = relu.grad_mp(x, ws, k)
        res_vec = [gi + pr.beta * (xi - ui) for gi, xi, ui in zip(g, x, u)]
        a0 = relu_coeff_kernels()["A0"].mp(k)
        scale = max([abs(lo["B"] * v) for v in ws] + [abs(a0 * v) for v in x]
                    + [abs(pr.beta * v) for v in (xi - ui for xi, ui in zip(x, u))]
                    + [mpmath.mpf(10) ** (-10 * dps)])
        residual = float(max(abs(v) for v in res_vec) / scale)
        margin = float(min(abs(v) for v in lo["margins"])) if lo["margins"] else 1.0
        kept = [False] * len(ws)
        for j, i in enumerate(lo["order"]):
            kept[i] = int(root.pattern[j]) != PRUNED
        kink = margin <= 10.0 ** (-dps + 5) or kept != [bool(v != 0) for v in u]
        diffv = [xi - ui for xi, ui in zip(x, u)]
        lag = relu.loss_mp(x, ws, k) + pr.lam * mpmath.fsum(pen.value(list(u))) \
            + pr.beta / 2 * mpmath.fsum(v * v for v in diffv)
        ang = angle_mp(x, ws)
        nrm = norm_mp(x)
        w_dist = norm_mp([a_ - b_ for a_, b_ in zip(x, ws)])
        u_dist = norm_mp([a_ - b_ for a_, b_ in zip(u, ws)])
        A, B = lo["A"], lo["B"]
        dphi_full = np.empty(len(ws))
        for j, i in enumerate(lo["order"]):
            dphi_full[i] = float(lo["dphi"][j])
        with mpmath.mp.workdps(dps):
            rnd = lambda v: +v  # noqa: E731 - round to dps digits
            w_out = tuple(rnd(v) for v in x)
            u_out = tuple(rnd(v) for v in u)
            vals = [rnd(v) for v in (ang, nrm, lag, A, B, w_dist, u_dist)]
    w_f = np.array([float(v) for v in x])
    notes = [] if stable else [f"digits changed between {dps} and {2 * dps} digits"]
    if kink:
        notes.append("a coordinate sits on a threshold of the prox (not differentiable there)")
    curv, rho, att, eta_max = _stability(w_f, w64, k, dphi_full, eta, kink)
    pr64 = p.pr
    bound = relu_bound(p.s, p.nnz, k, pr64.beta, pr64.delta, float(vals[3]), vals[5], vals[6],
                       root.good)
    support = tuple(i for i, v in enumerate(u_out) if v != 0)
    return FixedPoint(
        "relu", pr.name, w_out, u_out, support, _pattern_names(p, root.pattern), vals[0], vals[1],
        {"A": vals[3], "B": vals[4]}, vals[2], residual, margin, kink, curv, eta, rho, att,
        eta_max, bound, 1 - len(support) / len(w_out), root.good, dps, stable, tuple(notes))
