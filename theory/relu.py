r"""The one-hidden-layer no-overlap ReLU CNN with Gaussian input (P1, P3).

Model.  Input :math:`Z \in \mathbb R^{k\times d}` with iid :math:`N(0,1)` entries; its rows
:math:`Z_i` are the non-overlapping patches.  One filter :math:`w`, output
:math:`f(Z, w) = \frac1k\sum_i \mathrm{relu}(w\cdot Z_i)`, teacher :math:`w^* \ne 0`.

Convention.  :math:`\ell(w) = E[(f(Z,w) - f(Z,w^*))^2]` (P3's, no 1/2).  Under the
:math:`\tfrac12` convention every quantity that is linear in the loss halves (loss,
gradient, :math:`A`, :math:`B`, Hessian eigenvalues, :math:`L(m)`, :math:`\mu`), every step
size bound doubles (:func:`angle_monotone_step_bound`), and the critical points and the
random-start probability are unchanged.

Everything below is *derived* in SymPy (:func:`loss_expr` from the Gaussian kernel of
:mod:`theory.gaussian`; gradient, Hessian, critical points and constants from the loss)
and then compiled to NumPy / torch / mpmath by :mod:`theory.backends`.  The scalar
unknowns are :data:`r` = :math:`|w|`, :data:`s` = :math:`|w^*|` and :data:`t` =
:math:`\theta(w, w^*)`; the derivation is in ``proofs_notes/relu_closed_form.md``.

Behaviour at the special points (tested in ``tests/test_relu.py``):

* ``w = 0``: the loss is finite and continuous, :math:`\ell(0) = a|w^*|^2/k^2`; the
  loss is not differentiable there, so :func:`grad` returns NaN in array kernels and
  :func:`grad_mp` raises :class:`ValueError`.  The angle is undefined (NaN).
* ``t = 0`` and ``t = pi``: the loss is :math:`C^2` there; every formula is continuous
  and evaluated without special cases (the angle itself is computed stably, see
  :mod:`theory.geometry`).  Autograd through the torch loss is exact for
  :math:`0 < t < \pi`; at exactly ``t = 0`` or ``pi`` the derivative of the angle is
  undefined, use :func:`grad`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import mpmath
import numpy as np
import sympy as sp

from theory import gaussian
from theory._validate import (
    check_dps,
    check_finite_array,
    check_k,
    check_nonzero_rows,
    check_same_length,
    to_mpf_vector,
)
from theory.backends import Compiled, namespace, t_minus_sin  # noqa: F401 - Compiled re-exported
from theory.geometry import angle_mp, norm, norm_mp, norm_unit, unit_angle

__all__ = [
    "k", "r", "s", "t", "m",
    "loss_expr", "loss_stable_expr", "a_coeff", "b_coeff", "grad_coeffs_expr", "grad_split_expr",
    "hessian_eigenvalues_expr", "critical_points", "lipschitz_expr",
    "constants", "grad_term_scale", "lipschitz_bound", "angle_monotone_step_bound",
    "monotone_descent_step", "random_start_probability",
    "loss", "grad", "hessian", "hessian_eigen", "loss_mp", "grad_mp", "HessianEigen",
    "Teacher", "teacher",
]

k = sp.Symbol("k", positive=True, integer=True)
"""Number of patches (the width of the hidden layer)."""
_K = k  # the symbol, for functions whose argument ``k`` is the number
r = sp.Symbol("r", positive=True)
r""":math:`|w|`."""
s = sp.Symbol("s", positive=True)
r""":math:`|w^*|`."""
t = gaussian.t
r""":math:`\theta(w, w^*) \in [0, \pi]`."""
m = sp.Symbol("m", positive=True)
r"""Lower bound on :math:`|w|` in :func:`lipschitz_expr`."""


def _no_abs_sin(expr: sp.Expr) -> sp.Expr:
    """On [0, pi], |sin t| = sin t and acos(cos t) = t."""
    return expr.replace(sp.Abs(sp.sin(t)), sp.sin(t)).replace(sp.acos(sp.cos(t)), t)


@functools.cache
def loss_expr() -> sp.Expr:
    r"""The population loss :math:`\ell(r, s, t)`, derived.

    With :math:`G(p, q, \vartheta) = E[f(Z, u) f(Z, v)]` for :math:`|u| = p`, :math:`|v| = q`
    at angle :math:`\vartheta`: the :math:`k` diagonal patch pairs share the input and
    give :math:`pq\,\kappa_1(\vartheta)`; the :math:`k^2 - k` off-diagonal pairs are
    independent and give :math:`pq\,(E\,\mathrm{relu}(z))^2`.  Then
    :math:`\ell = G(r, r, 0) - 2G(r, s, t) + G(s, s, 0)`.
    """
    kappa1 = gaussian.relu_kernel()
    mean = gaussian.relu_mean()

    def cross(p: sp.Expr, q: sp.Expr, angle_: sp.Expr) -> sp.Expr:
        return (k * p * q * kappa1.subs(t, angle_) + (k**2 - k) * p * q * mean**2) / k**2

    return sp.simplify(cross(r, r, 0) - 2 * cross(r, s, t) + cross(s, s, 0))


@functools.cache
def a_coeff() -> sp.Expr:
    r""":math:`a = (k^2 + (\pi - 1)k)/(2\pi)`, the coefficient of :math:`r^2` in :math:`k^2\ell`."""
    return sp.factor(sp.expand(k**2 * loss_expr()).coeff(r, 2))


@functools.cache
def b_coeff() -> sp.Expr:
    r""":math:`b = (k^2 - k)/(2\pi)`: :math:`k^2\ell = a(r^2 + s^2) - 2k\,rs\,\kappa_1(t) - 2b\,rs`."""
    kappa1 = gaussian.relu_kernel()
    rest = sp.expand(k**2 * loss_expr() - a_coeff() * (r**2 + s**2) + 2 * k * r * s * kappa1)
    return sp.factor(sp.simplify(-rest / (2 * r * s)))


@functools.cache
def loss_stable_expr() -> sp.Expr:
    r"""The loss as a sum of non-negative terms, for evaluation without cancellation.

    .. math:: k^2\ell = a(r - s)^2 + \frac{k r s}{\pi}\Bigl(2(\pi - t)\sin^2\tfrac t2
              + (t - \sin t)\Bigr),

    using :math:`2a - 2b = k`.  Every term is :math:`\ge 0` on :math:`[0,\pi]`, so the
    loss near its minimum :math:`w = w^*` keeps its relative accuracy; ``t - sin t`` is
    :class:`theory.backends.t_minus_sin`.  Equal to :func:`loss_expr` (symbolic identity
    checked in ``tests/test_relu.py::test_stable_loss_is_the_derived_loss``).
    """
    h = 2 * (sp.pi - t) * sp.sin(t / 2) ** 2 + t_minus_sin(t)
    return (a_coeff() * (r - s) ** 2 + k * r * s * h / sp.pi) / k**2


@functools.cache
def grad_coeffs_expr() -> tuple[sp.Expr, sp.Expr]:
    r"""The coefficients of :math:`\nabla\ell(w) = A\,w - B\,w^*`, derived.

    The loss depends on :math:`w` through :math:`r = |w|` and :math:`t`; with
    :math:`\nabla r = \hat w` and :math:`\nabla t = (\cos t\,\hat w - \hat w^*)/(r\sin t)`,

    .. math:: A = \frac{\ell_r}{r} + \frac{\cos t\,\ell_t}{r^2\sin t}, \qquad
              B = \frac{\ell_t}{r s \sin t}.

    Result: :math:`A = [2a - (2b + \tfrac{k}{\pi}\sin t)\,s/r]/k^2`,
    :math:`B = (\pi - t)/(\pi k)`.  Checked against Cartesian differentiation of the
    loss in three dimensions (``tests/test_relu.py::test_gradient_matches_cartesian``).
    """
    ell = loss_expr()
    ell_r, ell_t = sp.diff(ell, r), sp.diff(ell, t)
    a_ = sp.simplify(ell_r / r + sp.cos(t) * ell_t / (r**2 * sp.sin(t)))
    b_ = sp.simplify(ell_t / (r * s * sp.sin(t)))
    return _no_abs_sin(a_), _no_abs_sin(b_)


@functools.cache
def grad_split_expr() -> tuple[sp.Expr, sp.Expr]:
    r""":math:`A = A_0 - A_1\,s/r` split so that :math:`A w = A_0 w - A_1 s\,\hat w`.

    Evaluating :math:`A` itself overflows when :math:`s/r` exceeds the float range
    (a subnormal :math:`w`); the split form never divides by :math:`r`.
    :math:`A_0 = 2a/k^2`, :math:`A_1 = (2b + 	frac{k}{\pi}\sin t)/k^2`.
    """
    a_, _ = grad_coeffs_expr()
    a0 = sp.simplify(sp.limit(a_, s, 0))
    a1 = sp.simplify((a0 - a_) * r / s)
    if a1.has(r) or a1.has(s):  # pragma: no cover - would mean A is not affine in s/r
        raise ArithmeticError(f"A is not of the form A0 - A1 s/r: A1 = {a1}")
    return a0, a1


@functools.cache
def hessian_eigenvalues_expr() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""Eigenvalues of :math:`\nabla^2\ell(w)` for :math:`w \ne 0`, derived.

    :math:`\nabla^2\ell = A I + \hat w\,(\nabla A)^\top r - w^*(\nabla B)^\top`
    acts as :math:`A` on the :math:`d-2` directions orthogonal to
    :math:`\operatorname{span}(w, w^*)`.  In the plane, in the polar frame
    :math:`(\hat w, \hat n)` with :math:`\hat n` the unit direction of increasing :math:`t`:
    :math:`H_{ww} = \ell_{rr}`, :math:`H_{wn} = \ell_{rt}/r - \ell_t/r^2`,
    :math:`H_{nn} = \ell_r/r + \ell_{tt}/r^2`.  :math:`H_{wn}` vanishes identically
    (:math:`\ell` is quadratic-plus-homogeneous in :math:`r`), so the frame diagonalises it.

    Returns ``(along_w, along_normal, orthogonal)``:
    :math:`2a/k^2`, :math:`[2a - (2b + \tfrac{2k}{\pi}\sin t)s/r]/k^2`, :math:`A`.
    Checked against the Cartesian Hessian (``tests/test_relu.py``).
    """
    ell = loss_expr()
    ell_r, ell_t = sp.diff(ell, r), sp.diff(ell, t)
    h_ww = sp.simplify(sp.diff(ell, r, 2))
    h_wn = sp.simplify(sp.diff(ell, r, t) / r - ell_t / r**2)
    if h_wn != 0:  # pragma: no cover - would mean the derivation above is wrong
        raise ArithmeticError(f"polar frame does not diagonalise the Hessian: H_wn = {h_wn}")
    h_nn = sp.simplify(ell_r / r + sp.diff(ell, t, 2) / r**2)
    return h_ww, _no_abs_sin(h_nn), grad_coeffs_expr()[0]


class CriticalPoint(NamedTuple):
    """A critical point :math:`w = c\\,w^*` (``scale`` = c) and its type."""

    scale: sp.Expr
    kind: str
    note: str


@functools.cache
def critical_points() -> tuple[CriticalPoint, ...]:
    r"""All critical points of :math:`\ell`, derived by solving :math:`A w = B w^*`.

    If :math:`w \not\parallel w^*`, both :math:`A = 0` and :math:`B = 0`; :math:`B = 0`
    forces :math:`t = \pi`, a contradiction, so critical points are parallel to
    :math:`w^*`: at :math:`t = 0`, :math:`A r = B s` gives :math:`w = w^*`; at
    :math:`t = \pi`, :math:`A = 0` gives :math:`w = -(b/a) w^*`.  Types:
    :math:`w^*` is the global minimum (:math:`\ell = 0`, Hessian eigenvalues
    :math:`2a/k^2, 1/k, 1/k`); :math:`-(b/a)w^*` is a saddle whose Hessian is only
    positive *semi*-definite (eigenvalues :math:`2a/k^2, 0, 0`): the loss decreases at
    third order in the angle.  :math:`w = 0` is not differentiable; for :math:`k \ge 2`
    every directional derivative there is negative (strict local maximum); for
    :math:`k = 1`, :math:`b = 0` and the saddle merges with the origin.
    """
    a_, b_ = grad_coeffs_expr()
    (t_b,) = sp.solve(b_, t)
    r_zero_angle = sp.solve(sp.Eq(a_.subs(t, 0) * r, b_.subs(t, 0) * s), r)
    r_pi = sp.solve(a_.subs(t, t_b), r)
    return (
        CriticalPoint(sp.simplify(r_zero_angle[0] / s), "global minimum", "loss 0"),
        CriticalPoint(
            sp.simplify(-r_pi[0] / s), "saddle", "degenerate: two zero Hessian eigenvalues"
        ),
        CriticalPoint(sp.S.Zero, "local maximum (k >= 2)", "non-differentiable point"),
    )


@functools.cache
def lipschitz_expr() -> sp.Expr:
    r""":math:`L(m) = \sup\{\lVert\nabla^2\ell(w)\rVert : |w| \ge m\}`, derived.

    Each eigenvalue of :func:`hessian_eigenvalues_expr` is :math:`(2a - c\,s/r)/k^2`
    with :math:`c` increasing in :math:`\sin t`; the extremes are :math:`2a/k^2` and the
    normal eigenvalue at :math:`t = \pi/2`, :math:`r = m`.  Hence
    :math:`L(m) = \max\{2a, (k^2 + k)s/(\pi m) - 2a\}/k^2`.  Caveat: the set
    :math:`\{|w| \ge m\}` is not convex, so this bounds the gradient's variation along
    segments that stay in the set, not between arbitrary pairs of its points.
    """
    lam_w, lam_n, _ = hessian_eigenvalues_expr()
    lam_min = lam_n.subs({t: sp.pi / 2, r: m})
    return sp.Max(lam_w, sp.simplify(-lam_min))


def constants(k: int) -> tuple[float, float]:
    """``(a, b)`` of :func:`a_coeff` and :func:`b_coeff` in float64 at ``k``."""
    kk = check_k(k)
    return float(a_coeff().subs(_K, kk)), float(b_coeff().subs(_K, kk))


def grad_term_scale(w: Any, w_star: Any, k: int) -> float:
    r"""A bound on the size of the terms of :math:`A w - B w^*` (float64 rounding scale).

    :math:`M = (2a|w| + (2b + k)|w^*|)/k^2 + |w^*|/k`, using :math:`|\sin t| \le 1` and
    :math:`0 \le B \le 1/k`; a float64 gradient carries an error of a few ``eps * M``.
    """
    a_, b_ = constants(k)
    return float((2 * a_ * norm(w) + (2 * b_ + k) * norm(w_star)) / k**2 + norm(w_star) / k)


def lipschitz_bound(m: float, w_star_norm: float, k: int) -> float:
    """:func:`lipschitz_expr` evaluated in float64 at ``m``, ``|w*|`` and ``k``."""
    k = check_k(k)
    return float(_scalar_kernels()["lipschitz"](k, np.float64(w_star_norm), np.float64(m)))


@functools.cache
def _scalar_kernels() -> dict[str, Compiled]:
    return {"lipschitz": Compiled((k, s, m), lipschitz_expr())}


@functools.cache
def angle_monotone_step_bound() -> sp.Expr:
    r"""Step size below which plain GD never increases :math:`\theta(w, w^*)`.

    :math:`w^+ = (1 - \eta A)w + \eta B w^*` with :math:`B \ge 0`: if :math:`1 - \eta A > 0`
    the new point is a positive combination of :math:`w` and :math:`w^*`, so its angle
    to :math:`w^*` is at most :math:`t`.  Since :math:`\sup A = \lim_{r\to\infty} A =
    2a/k^2`, the bound is :math:`\eta < k^2/(2a) = \pi k/(k + \pi - 1)`.
    """
    a_, _ = grad_coeffs_expr()
    return sp.simplify(1 / sp.limit(a_, r, sp.oo))


def monotone_descent_step(frac: float, w0: Any, w_star: Any, k: int, beta: float) -> float:
    r"""``frac`` times the largest step of both guarantees from a start ``w0``:
    :math:`\eta = \mathrm{frac}\cdot\min\{\pi k/(k + \pi - 1),\ 2/(L(|w^0|/2) + \beta)\}`
    (:func:`angle_monotone_step_bound` and :func:`lipschitz_bound` at :math:`m = |w^0|/2`), the
    step of the angle-monotonicity statements (``sim/checks.py``) and of their interval replay
    (:mod:`theory.certify.counterexamples`)."""
    s = float(norm(np.asarray(w_star, dtype=float)))
    m0 = float(norm(np.asarray(w0, dtype=float))) / 2
    bound = float(angle_monotone_step_bound().subs(_K, k))
    return float(frac * min(bound, 2 / (lipschitz_bound(m0, s, k) + beta)))


def random_start_probability(delta: float | str, d: int, dps: int = 30) -> mpmath.mpf:
    r""":math:`P[\theta(w_0, w^*) > \pi - \delta]` for :math:`w_0` uniform on the sphere.

    The cosine :math:`c` of a uniform direction has density
    :math:`\propto (1 - c^2)^{(d-3)/2}`, so :math:`1 - c^2 \sim \mathrm{Beta}((d-1)/2, 1/2)`
    and, for :math:`0 \le \delta \le \pi/2`,
    :math:`P = \tfrac12 I_{\sin^2\delta}\bigl(\tfrac{d-1}{2}, \tfrac12\bigr) \le \delta/\pi`
    (equality at :math:`d = 2`); for :math:`\delta > \pi/2` it is one minus the value at
    :math:`\pi - \delta`.  Requires :math:`d \ge 2`.  Checked against the integral of
    :math:`\sin^{d-2}` in SymPy and against sampling (``tests/test_relu.py``).
    """
    dps = check_dps(dps)
    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise ValueError(f"d must be an integer >= 2, got {d!r}")
    with mpmath.mp.workdps(dps):
        dl = mpmath.mpf(delta)
        if not mpmath.isfinite(dl) or dl < 0 or dl > mpmath.pi:
            raise ValueError(f"delta must be in [0, pi], got {delta!r}")
        if dl > mpmath.pi / 2:
            return 1 - random_start_probability(mpmath.pi - dl, d, dps)
        return mpmath.betainc((d - 1) / mpmath.mpf(2), 0.5, 0, mpmath.sin(dl) ** 2,
                              regularized=True) / 2


# ---------------------------------------------------------------- numeric evaluators

@functools.cache
def _kernels() -> dict[str, Compiled]:
    a_, b_ = grad_coeffs_expr()
    a0, a1 = grad_split_expr()
    lam_w, lam_n, lam_o = hessian_eigenvalues_expr()
    args = (k, r, s, t)
    return {
        "loss": Compiled(args, loss_stable_expr()),
        "A": Compiled(args, a_),
        "A0": Compiled(args, a0),
        "A1": Compiled(args, a1),
        "B": Compiled(args, b_),
        "lam_w": Compiled(args, lam_w),
        "lam_n": Compiled(args, lam_n),
        "lam_o": Compiled(args, lam_o),
    }


class Teacher(NamedTuple):
    r"""A teacher vector with its norm and direction precomputed (:func:`teacher`).

    Every array function of this module accepts a :class:`Teacher` wherever it takes
    ``w_star``; repeated evaluations at one teacher (the simulator's loop) then skip
    recomputing :math:`|w^*|` and :math:`\hat w^*`.
    """

    vector: Any
    norm: Any
    unit: Any


def teacher(w_star: Any, *, validate: bool = True) -> Teacher:
    r"""Precompute :math:`|w^*|` and :math:`\hat w^*` for rows of ``w_star``."""
    if isinstance(w_star, Teacher):
        return w_star
    if validate:
        check_finite_array("w_star", w_star)
        check_nonzero_rows("w_star", w_star)
    nn, uu = norm_unit(w_star)
    return Teacher(w_star, nn, uu)


def _check_arrays(w: Any, w_star: Any, k_: Any) -> int:
    ws = w_star.vector if isinstance(w_star, Teacher) else w_star
    check_same_length("w", w, "w_star", ws)
    check_finite_array("w", w)
    check_finite_array("w_star", ws)
    check_nonzero_rows("w_star", ws)
    return check_k(k_)


def _plane(w: Any, w_star: Any) -> tuple[Any, Any, Any, Any, Teacher]:
    """``(r, s, t, w_unit, teacher)``; ``w_unit`` is NaN where ``w = 0``."""
    tch = teacher(w_star, validate=False)
    xp = namespace(w, tch.vector)
    rr, uh = norm_unit(w)
    # At w = 0 the angle is undefined but enters only multiplied by r = 0: measure it
    # against w* itself there (t = 0) rather than produce and then mask a NaN.
    tt = unit_angle(xp.where(rr[..., None] > 0, uh, tch.unit), tch.unit)
    return rr, tch.norm, tt, uh, tch


def _scalars(w: Any, w_star: Any) -> tuple[Any, Any, Any]:
    rr, ss, tt, _, _ = _plane(w, w_star)
    return rr, ss, tt


def loss(w: Any, w_star: Any, k: int, *, validate: bool = True) -> Any:
    r""":math:`\ell(w)` for arrays ``w``, ``w_star`` of shape ``(..., d)`` (NumPy or torch).

    Broadcasts over leading axes and keeps the dtype and device.  ``validate=False``
    skips the input checks (they synchronise with the host; the simulator's hot path
    validates once up front).
    """
    if validate:
        k = _check_arrays(w, w_star, k)
    return _kernels()["loss"](k, *_scalars(w, w_star))


def grad(w: Any, w_star: Any, k: int, *, validate: bool = True) -> Any:
    r""":math:`\nabla\ell(w) = A\,w - B\,w^*` (shape ``(..., d)``); NaN rows where ``w = 0``.

    Evaluated as :math:`A_0 w - A_1 s\,\hat w - B w^*` (:func:`grad_split_expr`), which
    neither overflows nor loses accuracy for any nonzero float ``w``.
    """
    if validate:
        k = _check_arrays(w, w_star, k)
    rr, ss, tt, uh, tch = _plane(w, w_star)
    kern = _kernels()
    a0 = kern["A0"](k, rr, ss, tt) + 0 * rr
    a1s = kern["A1"](k, rr, ss, tt) * ss
    b_ = kern["B"](k, rr, ss, tt)
    return a0[..., None] * w - a1s[..., None] * uh - b_[..., None] * tch.vector


class HessianEigen(NamedTuple):
    """Eigen-decomposition of the Hessian at ``w``: eigenvalues and the in-plane frame.

    ``along_w`` has eigenvector ``w_dir``; ``along_normal`` has eigenvector ``normal_dir``
    (unit, in span(w, w*), orthogonal to w, pointing away from w*; zero vector when
    t is 0 or pi, where ``along_normal == orthogonal``); ``orthogonal`` has the d-2
    directions orthogonal to span(w, w*).
    """

    along_w: Any
    along_normal: Any
    orthogonal: Any
    w_dir: Any
    normal_dir: Any


def hessian_eigen(w: Any, w_star: Any, k: int, *, validate: bool = True) -> HessianEigen:
    """Eigenvalues and in-plane eigenvectors of the Hessian (see :func:`hessian_eigenvalues_expr`)."""
    if validate:
        k = _check_arrays(w, w_star, k)
    xp = namespace(w, w_star)
    rr, ss, tt, w_dir, tch = _plane(w, w_star)
    kern = _kernels()
    ws_dir = tch.unit
    inplane = xp.sum(w_dir * ws_dir, axis=-1, keepdims=True) * w_dir - ws_dir
    n_len = norm(inplane)[..., None]
    normal = xp.where(n_len > 0, inplane / xp.where(n_len > 0, n_len, 1.0), 0.0 * inplane)
    return HessianEigen(
        kern["lam_w"](k, rr, ss, tt) + 0 * rr,
        kern["lam_n"](k, rr, ss, tt),
        kern["lam_o"](k, rr, ss, tt),
        w_dir,
        normal,
    )


def hessian(w: Any, w_star: Any, k: int, *, validate: bool = True) -> Any:
    r"""The full Hessian, shape ``(..., d, d)``: :math:`\lambda_\perp I + (\lambda_w -
    \lambda_\perp)\hat w\hat w^\top + (\lambda_n - \lambda_\perp)\hat n\hat n^\top`."""
    e = hessian_eigen(w, w_star, k, validate=validate)
    xp = namespace(w, w_star)
    d = w.shape[-1]
    eye = xp.eye(d, dtype=w.dtype, device=getattr(w, "device", None)) if hasattr(w, "device") \
        else xp.eye(d, dtype=w.dtype)

    def outer(v: Any) -> Any:
        return v[..., :, None] * v[..., None, :]

    lo = e.orthogonal[..., None, None]
    return (lo * eye + (e.along_w[..., None, None] - lo) * outer(e.w_dir)
            + (e.along_normal[..., None, None] - lo) * outer(e.normal_dir))


def _mp_inputs(w: Sequence[Any], w_star: Sequence[Any], k_: Any) -> tuple[Any, ...]:
    wv, sv = to_mpf_vector("w", w), to_mpf_vector("w_star", w_star)
    if len(wv) != len(sv):
        raise ValueError(f"w and w_star must have the same length, got {len(wv)} and {len(sv)}")
    k_ = check_k(k_)
    ss = norm_mp(sv)
    if not ss:
        raise ValueError("w_star must be nonzero")
    rr = norm_mp(wv)
    tt = angle_mp(wv, sv) if rr else mpmath.mpf(0)
    return wv, sv, k_, rr, ss, tt


def loss_mp(w: Sequence[Any], w_star: Sequence[Any], k: int, dps: int | None = None) -> Any:
    """:math:`\\ell(w)` with mpmath, at ``dps`` digits (or the current working precision).

    Entries may be strings (parsed at the working precision), numbers or mpf.
    """
    with mpmath.mp.workdps(check_dps(dps) if dps is not None else mpmath.mp.dps):
        _, _, k_, rr, ss, tt = _mp_inputs(w, w_star, k)
        return _kernels()["loss"].mp(k_, rr, ss, tt)


def grad_mp(w: Sequence[Any], w_star: Sequence[Any], k: int, dps: int | None = None) -> list[Any]:
    """:math:`\\nabla\\ell(w)` with mpmath; ValueError at ``w = 0`` (not differentiable)."""
    with mpmath.mp.workdps(check_dps(dps) if dps is not None else mpmath.mp.dps):
        wv, sv, k_, rr, ss, tt = _mp_inputs(w, w_star, k)
        if not rr:
            raise ValueError("the loss is not differentiable at w = 0")
        kern = _kernels()
        a_ = kern["A"].mp(k_, rr, ss, tt)
        b_ = kern["B"].mp(k_, rr, ss, tt)
        return [a_ * wi - b_ * si for wi, si in zip(wv, sv, strict=True)]
