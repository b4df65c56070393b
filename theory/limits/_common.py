r"""Shared pieces of the fixed-point calculator: parameters, derived coefficients, and the
per-coordinate inverse maps of the scalar map :math:`\varphi(x) = (A+\beta)x - \beta\,p(x)`.

Both models reduce to the same coordinatewise equation (``proofs_notes/limits.md``, step 1):

.. math:: (A + \beta)\,\bar w_i - \beta\,\operatorname{prox}(\bar w_i) = y_i,
          \qquad y_i = B\,w^*_i \ \text{(ReLU)},\quad y_i = c\,\hat w^*_i \ \text{(binary, } A = \alpha).

For a *sign-consistent* fixed point (the "good family": :math:`\operatorname{sgn}\bar w_i =
\operatorname{sgn} w^*_i`, no false support) write :math:`\bar w_i = \sigma_i\xi_i` with
:math:`\sigma_i = \operatorname{sgn} w^*_i` and :math:`\xi_i \ge 0` a non-negative preimage of
:math:`y = |y_i|`.  The preimages come in *branches* (codes below):

* ``PRUNED`` (0): :math:`\xi = y/(A+\beta)`, valid iff :math:`A + \beta > 0` and :math:`\xi \le z`
  (:math:`z` = the prox's zero threshold at :math:`\tau = \lambda/\beta`; the tie goes to 0);
* ``KEPT`` (1): on the support, :math:`u = p(\xi) > 0`.  l1: :math:`\xi = (y - \lambda)/A`;
  l0: :math:`\xi = y/A`; TL1: :math:`u` the larger root of :math:`h(u) = Au + (A+\beta)\tau\rho'(u) = y`
  (where :math:`h' > 0`), :math:`\xi = u + \tau\rho'(u)`;
* ``KEPT_LOW`` (2, TL1 only): the root of :math:`h(u) = y` where :math:`h' < 0` (for :math:`A < 0`
  the only root).  On this branch :math:`\varphi' < 0`.
* ``FLIP`` (3): outside the good family: kept with the sign *opposite* to :math:`w^*_i` (for
  :math:`w^*_i = 0`: a false support, sign +), i.e. the kept branch at :math:`-y`; exists only for
  :math:`A < 0` (for :math:`A > 0`, :math:`\varphi(x) > 0` for :math:`x > 0`), where
  :math:`\varphi' < 0`.

Validity of a kept branch: :math:`\xi > z`, :math:`u > 0` and (TL1) :math:`1 + \tau\rho''(u) > 0`
(``u`` is then the prox's value at :math:`\xi`, the largest stationary point of the prox objective).

The TL1 roots are the roots of a cubic.  With :math:`v = a + u`, :math:`Y = Aa + y`,
:math:`K = (A+\beta)\tau a(a+1)` and, for :math:`A > 0`, :math:`v = (Y/A) z`:
:math:`z^2(1-z) = \kappa = KA^2/Y^3`, two positive roots iff :math:`\kappa \le 4/27`:
:math:`1 - z_{high} = \tfrac43\sin^2(\phi/6)`, :math:`\phi = 2\arcsin\sqrt{27\kappa/4}`, and by
Vieta :math:`z_{low} = \tfrac12[(1-z_{high}) + \sqrt{(1-z_{high})^2 + 4\kappa/z_{high}}]`
(both forms free of cancellation; derived here).  For :math:`A < 0` the cubic
:math:`Av^3 - Yv^2 + K` has exactly one positive root (bisection).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from theory import relu
from theory._validate import check_k
from theory.backends import Compiled
from theory.penalties import Penalty

__all__ = ["PRUNED", "KEPT", "KEPT_LOW", "FLIP", "BRANCH_NAMES", "SUPPORTED_PENALTIES", "Params",
           "make_params", "branch_np", "branch_possible", "branch_mp", "tl1_rho_expr",
           "relu_coeff_kernels", "relu_scalar_fns", "relu_coeffs", "relu_coeffs_mp",
           "check_instance"]

PRUNED, KEPT, KEPT_LOW, FLIP = 0, 1, 2, 3
BRANCH_NAMES = {PRUNED: "pruned", KEPT: "kept", KEPT_LOW: "kept-low", FLIP: "kept-flipped"}
SUPPORTED_PENALTIES = ("l1", "l0", "tl1")

_u = sp.Symbol("u", nonnegative=True)
_a = sp.Symbol("a", positive=True)


# ------------------------------------------------------------------ derived expressions

@functools.cache
def tl1_rho_expr() -> sp.Expr:
    r""":math:`\rho_a(u) = (a+1)u/(a+u)` for :math:`u \ge 0` (checked against
    :meth:`theory.penalties.Penalty.value` in the tests; only its derivatives are used here)."""
    return (_a + 1) * _u / (_a + _u)


@functools.cache
def _tl1_kernels() -> dict[str, Compiled]:
    rho = tl1_rho_expr()
    d1 = sp.simplify(sp.diff(rho, _u))
    d2 = sp.simplify(sp.diff(rho, _u, 2))
    return {"d1": Compiled((_a, _u), d1), "d2": Compiled((_a, _u), d2),
            "d1_0": Compiled((_a,), sp.simplify(d1.subs(_u, 0)))}


_A = sp.Symbol("A", real=True)
_Bv = sp.Symbol("B", real=True)


@functools.cache
def relu_coeff_kernels() -> dict[str, Compiled]:
    r"""Compiled evaluators derived from :func:`theory.relu.grad_coeffs_expr`.

    ``A``, ``B`` at :math:`(k, r, s, t)`; ``A0``, ``A1`` with :math:`A = A_0 - A_1 s/r`;
    ``t_of_B`` (the inverse of :math:`B(t)`) and ``r_of_A`` (:math:`r = A_1 s/(A_0 - A)`), both
    solved by SymPy, never typed.
    """
    k, r, s, t = relu.k, relu.r, relu.s, relu.t
    a_expr, b_expr = relu.grad_coeffs_expr()
    a0, a1 = relu.grad_split_expr()
    (t_sol,) = sp.solve(sp.Eq(b_expr, _Bv), t)
    (r_sol,) = sp.solve(sp.Eq(_A, a0 - a1 * s / r), r)
    return {
        "A": Compiled((k, r, s, t), a_expr),
        "B": Compiled((k, t), b_expr),
        "A0": Compiled((k,), a0),
        "A1": Compiled((k, t), a1),
        "t_of_B": Compiled((k, _Bv), t_sol),
        "r_of_A": Compiled((k, s, t, _A), r_sol),
    }


@functools.cache
def relu_scalar_fns() -> tuple[Any, Any]:
    """``A(k, r, s, t)`` and ``B(k, t)`` lambdified with the ``math`` module (Python floats; the
    hot loop of the float64 Newton iteration), from the same derived expressions."""
    k, r, s, t = relu.k, relu.r, relu.s, relu.t
    a_expr, b_expr = relu.grad_coeffs_expr()
    return (sp.lambdify((k, r, s, t), a_expr, modules="math"),
            sp.lambdify((k, t), b_expr, modules="math"))


def relu_coeffs(r: float, s: float, t: float, k: int) -> tuple[float, float]:
    r""":math:`(A, B)` of :math:`\nabla\ell(w) = Aw - Bw^*` at scalars :math:`r = |w|`,
    :math:`s = |w^*|`, :math:`t = \theta(w, w^*)` (float64)."""
    kern = relu_coeff_kernels()
    k = check_k(k)
    return (float(kern["A"](k, np.float64(r), np.float64(s), np.float64(t))),
            float(kern["B"](np.float64(k), np.float64(t))))


def relu_coeffs_mp(r: Any, s: Any, t: Any, k: int) -> tuple[Any, Any]:
    """:func:`relu_coeffs` with mpmath at the working precision."""
    kern = relu_coeff_kernels()
    k = check_k(k)
    return kern["A"].mp(k, mpmath.mpf(r), mpmath.mpf(s), mpmath.mpf(t)), kern["B"].mp(k, mpmath.mpf(t))


# ------------------------------------------------------------------------ parameters

@dataclass(frozen=True)
class Params:
    """Penalty parameters at one precision (floats, or mpf when ``mp``)."""

    name: str
    lam: Any
    beta: Any
    tau: Any
    a: Any
    zero: Any          # the prox is 0 exactly for |x| <= zero
    delta: Any         # max_x |x - prox(x)|: tau (l1), sqrt(2 tau) (l0), tau (a+1)/a (tl1)
    penalty: Penalty
    mp: bool


def check_instance(penalty: Any, lam: Any, beta: Any, a: Any) -> Penalty:
    """Validate the penalty parameters (ValueError naming the argument)."""
    if penalty not in SUPPORTED_PENALTIES:
        raise ValueError(f"penalty must be one of {', '.join(SUPPORTED_PENALTIES)}, got {penalty!r}")
    for name, v, lo in (("lam", lam, "lam >= 0"), ("beta", beta, "beta > 0")):
        try:
            fv = mpmath.mpf(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a real number, got {v!r}") from None
        if isinstance(v, bool) or not mpmath.isfinite(fv):
            raise ValueError(f"{name} must be a finite real number, got {v!r}")
        if (name == "lam" and fv < 0) or (name == "beta" and fv <= 0):
            raise ValueError(f"{name} must satisfy {lo}, got {v!r}")
    if penalty == "tl1":
        if a is None:
            raise ValueError("penalty tl1 needs the parameter a (> 0)")
        return Penalty("tl1", a=a)
    if a is not None:
        raise ValueError(f"parameter a does not apply to penalty {penalty}")
    return Penalty(penalty)


def make_params(pen: Penalty, lam: Any, beta: Any, *, mp: bool) -> Params:
    """Thresholds through :meth:`Penalty.threshold` (never re-derived here)."""
    if mp:
        lam_, beta_ = mpmath.mpf(lam), mpmath.mpf(beta)
        a_ = mpmath.mpf(pen.a) if pen.a is not None else None
    else:
        lam_, beta_ = float(lam), float(beta)
        a_ = float(pen.a) if pen.a is not None else None
    tau = lam_ / beta_
    thr = pen.threshold(tau, mp=mp)
    zero = thr.zero
    if pen.name == "l1":
        delta = tau
    elif pen.name == "l0":
        delta = zero  # sqrt(2 tau)
    else:
        d1_0 = _tl1_kernels()["d1_0"]
        delta = tau * (d1_0.mp(a_) if mp else float(d1_0(np.float64(a_))))
    return Params(pen.name, lam_, beta_, tau, a_, zero, delta, pen, mp)


# ------------------------------------------------------------------------ branch maps

class Branch:
    """Per-coordinate result of a branch map: preimage ``xi``, prox value ``u`` (magnitudes),
    validity ``margin`` (> 0 valid; PRUNED also at 0, the tie), ``dphi`` = phi'(xi)."""

    __slots__ = ("xi", "u", "margin", "dphi")

    def __init__(self, xi: Any, u: Any, margin: Any, dphi: Any) -> None:
        self.xi, self.u, self.margin, self.dphi = xi, u, margin, dphi


def _tl1_root_pos_np(y: np.ndarray, A: np.ndarray, pr: Params, high: bool) -> np.ndarray:
    """u_high (``high``) or u_low for A > 0 (NaN where no root / not positive); only the root
    asked for is computed (the search grid needs u_high alone)."""
    a, tau, beta = pr.a, pr.tau, pr.beta
    with np.errstate(all="ignore"):
        Y = A * a + y
        K = (A + beta) * tau * a * (a + 1)
        kappa = (K / Y) * (A / Y) ** 2
        ok = (kappa <= 4 / 27) & (Y > 0) & (A > 0)
        phi = 2 * np.arcsin(np.sqrt(np.clip(27 * kappa / 4, 0, 1)))
        omz = 4 * np.sin(phi / 6) ** 2 / 3
        if high:
            u = y / A - (Y / A) * omz
        else:
            zh = 1 - omz
            zl = (omz + np.sqrt(omz * omz + 4 * kappa / zh)) / 2
            u = (Y / A) * zl - a
        # one Newton step on h(u) = A u + c rho'(u) - y (rounding of the closed form)
        c = (A + beta) * tau
        v = a + u
        f = A * u + c * a * (a + 1) / (v * v) - y
        fp = A - 2 * c * a * (a + 1) / (v * v * v)
        u = u - np.where(fp != 0, f / fp, 0.0)
    return np.where(ok, u, np.nan)


def _tl1_root_neg_np(y: np.ndarray, A: np.ndarray, pr: Params) -> np.ndarray:
    """The unique positive-v root of A v^3 - Y v^2 + K for A < 0, as u = v - a (NaN if u <= 0).

    f(a) > 0 is required (else u <= 0); the bracket [a, hi] is grown by doubling until f(hi) <= 0
    (robust for tiny |A|, where the root is near sqrt(K/Y) although Y/|A| is huge), then
    bisection and a safeguarded Newton polish."""
    a, tau, beta = pr.a, pr.tau, pr.beta
    with np.errstate(all="ignore"):
        Y = A * a + y
        K = (A + beta) * tau * a * (a + 1)
        ok = (A < 0) & (K > 0)
        shape = np.broadcast(y, A).shape
        lo = np.full(shape, float(a))
        A_, Y_, K_ = (np.broadcast_to(v, shape) for v in (A, Y, K))

        def f(v: np.ndarray) -> np.ndarray:
            return A_ * v**3 - Y_ * v**2 + K_

        ok = ok & (f(lo) > 0)
        width = np.ones(shape)
        for _ in range(200):
            hi = lo + width
            grow = ok & (f(hi) > 0)
            if not np.any(grow):
                break
            width = np.where(grow, 2 * width, width)
        hi = lo + width
        for _ in range(60):
            mid = (lo + hi) / 2
            fm = f(mid)
            lo = np.where(fm > 0, mid, lo)
            hi = np.where(fm > 0, hi, mid)
        v = (lo + hi) / 2
        for _ in range(3):
            fv = f(v)
            fp = 3 * A_ * v**2 - 2 * Y_ * v
            nv = np.where(fp != 0, v - fv / fp, v)
            v = np.where((nv >= lo) & (nv <= hi), nv, v)
    return np.where(ok, v - a, np.nan)


CHUNK = 1 << 14  # elements per piece of branch_np: its temporaries stay in the CPU cache


def branch_np(code: int, y: Any, A: Any, pr: Params) -> Branch:
    """Branch map ``code`` at magnitudes ``y >= 0`` (arrays broadcast with ``A``), float64.

    Elementwise, so large inputs are evaluated in pieces of about ``CHUNK`` elements along the
    first axis (the same numbers, about 2.5 times faster than one pass over a 10^5-element
    block, whose two dozen temporaries would not fit in the cache)."""
    y = np.asarray(y, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    shape = np.broadcast_shapes(y.shape, A.shape)
    size = math.prod(shape)
    if size <= 2 * CHUNK or not shape:
        return _branch_np(code, y, A, pr)
    step = max(1, CHUNK * shape[0] // size)

    def piece(v: np.ndarray, i: int) -> np.ndarray:
        # slice along the first axis only where v varies along it (a broadcast copy would
        # cost the scalar fast paths of the ufuncs)
        return v[i:i + step] if v.ndim == len(shape) and v.shape[0] > 1 else v

    out = [np.empty(shape) for _ in Branch.__slots__]
    for i in range(0, shape[0], step):
        b = _branch_np(code, piece(y, i), piece(A, i), pr)
        for o, f in zip(out, Branch.__slots__):
            o[i:i + step] = getattr(b, f)
    return Branch(*out)


def branch_possible(code: int, A: np.ndarray, pr: Params) -> np.ndarray:
    """False where the preimage and the margin of :func:`branch_np` for ``code`` are NaN at every
    ``y >= 0``: pruned needs A + beta > 0, kept-flipped A < 0, TL1's kept A > 0 (True
    elsewhere: the branch may exist)."""
    with np.errstate(invalid="ignore"):
        if code == PRUNED:
            return A + pr.beta > 0
        if code == FLIP:
            return A < 0
        if code == KEPT and pr.name == "tl1":
            return A > 0
        return ~np.isnan(A)


def _branch_np(code: int, y: np.ndarray, A: np.ndarray, pr: Params) -> Branch:
    if code == FLIP:
        inner = KEPT_LOW if pr.name == "tl1" else KEPT
        b = _branch_np(inner, -y, A, pr)
        neg = A < 0
        return Branch(np.where(neg, b.xi, np.nan), np.where(neg, b.u, np.nan),
                      np.where(neg, b.margin, np.nan), b.dphi)
    beta, lam, tau, z = pr.beta, pr.lam, pr.tau, pr.zero
    zs = z if z > 0 else 1.0
    with np.errstate(all="ignore"):
        if code == PRUNED:
            ok = A + beta > 0
            xi = np.where(ok, y / (A + beta), np.nan)
            return Branch(xi, 0 * xi, (z - xi) / zs, A + beta + 0 * xi)
        if pr.name == "l1":
            if code != KEPT:
                raise ValueError("l1 has no kept-low branch")
            xi = np.where(A != 0, (y - lam) / A, np.nan)
            return Branch(xi, xi - tau, (xi - z) / zs, A + 0 * xi)
        if pr.name == "l0":
            if code != KEPT:
                raise ValueError("l0 has no kept-low branch")
            xi = np.where(A != 0, y / A, np.nan)
            return Branch(xi, xi, (xi - z) / zs, A + 0 * xi)
        # tl1
        kern = _tl1_kernels()
        a = pr.a
        if code == KEPT:
            u = _tl1_root_pos_np(y, A, pr, high=True)
        else:
            ul = _tl1_root_pos_np(y, A, pr, high=False)
            if np.any(A < 0):
                un = _tl1_root_neg_np(y, A, pr)
                u = np.where(A > 0, ul, un)
            else:
                u = np.where(A > 0, ul, np.nan)
        d1 = kern["d1"](np.float64(a), np.maximum(u, 0.0))
        d2 = kern["d2"](np.float64(a), np.maximum(u, 0.0))
        xi = u + tau * d1
        q = 1 + tau * d2  # > 0: u is the prox value at xi
        margin = np.minimum(np.minimum((xi - z) / zs, q), u / zs)
        dphi = A + beta - beta / q
        margin = np.where(np.isnan(u), np.nan, margin)
        return Branch(xi, u, margin, dphi)


def _tl1_roots_mp(y: Any, A: Any, pr: Params, code: int) -> Any:
    """u on branch ``code`` with mpmath (guard digits for the trigonometric form), or None."""
    a, tau, beta = pr.a, pr.tau, pr.beta
    with mpmath.mp.workprec(mpmath.mp.prec + 40):
        Y = A * a + y
        K = (A + beta) * tau * a * (a + 1)
        if A > 0:
            if Y <= 0:
                return None
            kappa = (K / Y) * (A / Y) ** 2
            if kappa > mpmath.mpf(4) / 27:
                return None
            phi = 2 * mpmath.asin(mpmath.sqrt(27 * kappa / 4))
            omz = 4 * mpmath.sin(phi / 6) ** 2 / 3
            if code == KEPT:
                u = y / A - (Y / A) * omz
            else:
                zh = 1 - omz
                zl = (omz + mpmath.sqrt(omz * omz + 4 * kappa / zh)) / 2
                u = (Y / A) * zl - a
        elif A < 0:
            if code == KEPT or K <= 0:
                return None
            f = lambda v: A * v**3 - Y * v**2 + K  # noqa: E731
            if f(a) <= 0:
                return None
            guess = _tl1_root_neg_np(np.asarray(float(y)), np.asarray(float(A)),
                                     _float_params(pr))
            v = mpmath.mpf(float(guess)) + a if np.isfinite(guess) else None
            lo, hi = mpmath.mpf(a), mpmath.mpf(a) + 1
            while f(hi) > 0:
                hi = a + 2 * (hi - a)
            if v is None or not (lo < v < hi):
                v = (lo + hi) / 2
            for _ in range(400):
                fv = f(v)
                if fv > 0:
                    lo = v
                else:
                    hi = v
                fp = 3 * A * v * v - 2 * Y * v
                nv = v - fv / fp if fp else (lo + hi) / 2
                if not (lo < nv < hi):
                    nv = (lo + hi) / 2
                if abs(nv - v) <= abs(v) * mpmath.eps * 4:
                    v = nv
                    break
                v = nv
            u = v - a
        else:
            return None
        return +u


@functools.lru_cache(maxsize=64)
def _float_params_cached(name: str, lam: float, beta: float, a: float | None) -> Params:
    pen = Penalty(name, a=a) if name == "tl1" else Penalty(name)
    return make_params(pen, lam, beta, mp=False)


def _float_params(pr: Params) -> Params:
    return _float_params_cached(pr.name, float(pr.lam), float(pr.beta),
                                None if pr.a is None else float(pr.a))


def branch_mp(code: int, y: Any, A: Any, pr: Params) -> Branch | None:
    """Branch map ``code`` at one magnitude ``y >= 0`` with mpmath; ``None`` if it does not exist."""
    if code == FLIP:
        if not A < 0:
            return None
        return branch_mp(KEPT_LOW if pr.name == "tl1" else KEPT, -y, A, pr)
    beta, lam, tau, z = pr.beta, pr.lam, pr.tau, pr.zero
    zs = z if z > 0 else mpmath.mpf(1)
    if code == PRUNED:
        if A + beta <= 0:
            return None
        xi = y / (A + beta)
        return Branch(xi, mpmath.mpf(0), (z - xi) / zs, A + beta)
    if pr.name == "l1":
        if A == 0:
            return None
        xi = (y - lam) / A
        return Branch(xi, xi - tau, (xi - z) / zs, A)
    if pr.name == "l0":
        if A == 0:
            return None
        xi = y / A
        return Branch(xi, xi, (xi - z) / zs, A)
    u = _tl1_roots_mp(y, A, pr, code)
    if u is None:
        return None
    kern = _tl1_kernels()
    uu = u if u > 0 else mpmath.mpf(0)
    xi = u + tau * kern["d1"].mp(pr.a, uu)
    q = 1 + tau * kern["d2"].mp(pr.a, uu)
    margin = min((xi - z) / zs, q, u / zs)
    # q = 0 at the critical TL1 step with u = 0: phi' -> -inf there (and margin = 0: invalid)
    return Branch(xi, u, margin, A + beta - beta / q if q else mpmath.ninf)


def prox_derivative_np(pr: Params, u: np.ndarray) -> np.ndarray:
    r""":math:`p'(x)` at a point whose prox value has magnitude ``u`` (0 off the support):
    1 for l1 and l0, :math:`1/(1 + \tau\rho''(u))` for TL1 (implicit function theorem on
    :math:`x = u + \tau\rho'(u)`)."""
    u = np.asarray(u, dtype=np.float64)
    if pr.name in ("l1", "l0"):
        return np.where(u > 0, 1.0, 0.0)
    d2 = _tl1_kernels()["d2"](np.float64(pr.a), np.maximum(u, 0.0))
    return np.where(u > 0, 1.0 / (1 + float(pr.tau) * d2), 0.0)


def tl1_d1_np(a: float, u: Any) -> Any:
    """rho_a'(u) (float64)."""
    return _tl1_kernels()["d1"](np.float64(a), np.asarray(u, dtype=np.float64))

