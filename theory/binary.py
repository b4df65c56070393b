r"""The no-overlap CNN with binarized activation, and its coarse (straight-through) gradients.

Model (P2, P4).  Input :math:`Z \in \mathbb R^{k\times d}` with iid :math:`N(0,1)` entries,
rows :math:`Z_i` the patches; :math:`\sigma(x) = 1\{x > 0\}` (so :math:`\sigma(0) = 0`).

* fixed second layer (P2): :math:`f(Z, w) = \frac1k\sum_i \sigma(w\cdot Z_i)`;
* trainable second layer (P4, Yin et al. ICLR 2019):
  :math:`f(Z, w, v) = \sum_i v_i\,\sigma(w\cdot Z_i)`; the fixed layer is :math:`v = \mathbf 1/k`.

Teacher :math:`(w^*, v^*)`, :math:`w^* \ne 0`.  Loss, P3's convention (as
:mod:`theory.relu`): :math:`\ell = E[(f(Z, w, v) - f(Z, w^*, v^*))^2]`, no 1/2.

Coarse gradient.  The per-sample gradient of :math:`f` in :math:`w` is zero almost
everywhere; a straight-through estimator (STE) :math:`\mu` replaces :math:`\sigma'` by
:math:`\mu'` in it: :math:`g_w(Z) = 2(f - f^*)\sum_i v_i\,\mu'(w\cdot Z_i)\,Z_i` with
``relu``: :math:`\mu' = 1\{x>0\}`, ``identity``: :math:`\mu' = 1`, ``clipped-relu``:
:math:`\mu' = 1\{0<x<1\}` (so :math:`\mu'(0) = 0, 1, 0`).  The gradient in :math:`v`,
:math:`g_v(Z)_i = 2(f - f^*)\sigma(w\cdot Z_i)`, involves no STE; its expectation *is*
:math:`\nabla_v\ell` (derived twice and compared in the tests).

The 1/2 convention (:math:`\tfrac12 E[\cdot]`, P2/P4's): the loss, both gradients and
every expected coarse gradient halve (:math:`c = 1/(k\sqrt{2\pi})` becomes
:math:`1/(2k\sqrt{2\pi})`); correlations (inner products of two of them) are quartered;
signs and zero sets are unchanged.

Notation of the closed forms: :data:`r` = :math:`|w|`, :data:`t` = :math:`\theta(w, w^*)`,
:math:`\hat w = w/|w|`, and the second-layer invariants :data:`v_sq` =
:math:`|v|^2`, :data:`v_dot` = :math:`v\cdot v^*`, :data:`vs_sq` = :math:`|v^*|^2`,
:data:`v_sum` = :math:`\mathbf 1\cdot v`, :data:`vs_sum` = :math:`\mathbf 1\cdot v^*`.
Nothing depends on :math:`|w^*|` (:math:`\sigma` is scale-invariant).

Results (all derived below by integration in SymPy; ``proofs_notes/binary_coarse_gradient.md``):

* :math:`\ell = t/(\pi k)` (fixed layer), general :math:`v`:
  :math:`\ell = \tfrac14[v_{sq} + v_{sum}^2 - 2((1 - 2t/\pi)v_{dot} + v_{sum}vs_{sum})
  + vs_{sq} + vs_{sum}^2]`;
* :math:`\nabla_w\ell = -(\ell_t/r)\,\hat n`, :math:`\hat n` the unit vector of
  :math:`\operatorname{span}(w, w^*)` orthogonal to :math:`w`, towards :math:`w^*`;
  :math:`\ell_t = v_{dot}/\pi`.  :math:`|\nabla_w\ell|` does *not* vanish as
  :math:`t \to 0` or :math:`\pi`: the loss is not differentiable there (a kink, like
  :math:`|x|`), so the true gradient is undefined at :math:`t \in \{0, \pi\}`;
* :math:`E g_w = \alpha\,\hat w + \beta\,\hat w^*` (:func:`coarse_coeffs_v_expr`);
  fixed layer: relu :math:`c(\hat w - \hat w^*)`, identity :math:`2c(\hat w - \hat w^*)`,
  clipped relu :math:`c[1 - e^{-1/(2r^2)}\operatorname{erfc}(\cot t/(\sqrt2 r))]\hat w
  - c\operatorname{erf}(1/(\sqrt2 r\sin t))\hat w^*`, :math:`c = 1/(k\sqrt{2\pi})`;
* :math:`\langle E g_w, \nabla_w\ell\rangle = 2v_{dot}^2\,q_b\sin t/(\pi r)`
  (:func:`correlation_v_expr`), :math:`\ge 0` for all three estimators; proved by
  :func:`prove_nonnegative` (interval arithmetic + SymPy sign facts).

Special points (tested in ``tests/test_binary*.py``):

* ``w = 0``: :math:`f(Z, 0) = 0`, so :math:`\ell(0) = E[f^{*2}]` (fixed layer
  :math:`(k+1)/(4k)`), *not* the limit of :math:`\ell` (which depends on the direction of
  approach: the loss is discontinuous at 0).  :math:`\nabla_w\ell` is undefined (NaN in
  array kernels, :class:`ValueError` in mpmath).  Coarse gradients use
  :math:`\mu'(0)`: relu and clipped relu give 0, identity gives
  :math:`-2\,v_{dot}\,\hat w^*/\sqrt{2\pi}` (fixed layer :math:`-2c\,\hat w^*`); :math:`g_v = 0`.
* ``t = 0`` and ``t = pi`` (w parallel to w*): the loss and every coarse gradient are
  continuous there (clipped relu: the ``erf`` of :math:`1/\sin t` takes its limit);
  :math:`\nabla_w\ell` is NaN / :class:`ValueError` unless :math:`v_{dot} = 0` (then 0);
  :func:`correlation` returns the closed form's limit, 0.  At :math:`t = \pi` every
  expected coarse gradient is parallel to :math:`\hat w`: coarse gradient descent cannot
  rotate :math:`w` away from :math:`-w^*`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

import mpmath
import numpy as np
import sympy as sp
from array_api_compat import array_namespace, is_torch_namespace
from mpmath import iv

from theory import gaussian
from theory._validate import (
    check_dps,
    check_finite_array,
    check_k,
    check_nonzero_rows,
    check_same_length,
    to_mpf_vector,
)
from theory.backends import Compiled, namespace
from theory.geometry import angle, angle_mp, norm, norm_mp, unit

__all__ = [
    "k", "r", "t", "v_sq", "v_dot", "vs_sq", "v_sum", "vs_sum", "STES", "FIXED_LAYER",
    "check_ste", "ste_derivative", "step_mean", "SteMoments", "ste_moments",
    "loss_expr", "loss_at_zero_expr", "loss_v_expr", "loss_v_at_zero_expr",
    "grad_w_coeff_expr", "grad_w_coeff_v_expr", "grad_v_coeffs_expr",
    "coarse_grad_v_coeffs_expr", "coarse_coeffs_expr", "coarse_coeffs_v_expr",
    "coarse_at_zero_v_expr", "correlation_expr", "correlation_v_expr",
    "erf_ratio", "exp_m1", "SignCertificate", "prove_nonnegative", "correlation_certificate",
    "loss", "grad", "coarse_grad", "correlation",
    "loss_v", "grad_v", "coarse_grad_v", "correlation_v", "VGrad",
    "loss_mp", "grad_mp", "coarse_grad_mp", "correlation_mp",
    "loss_v_mp", "grad_v_mp", "coarse_grad_v_mp", "correlation_v_mp",
]

# ---------------------------------------------------------------------------- symbols

k = sp.Symbol("k", positive=True, integer=True)
"""Number of patches."""
r = sp.Symbol("r", positive=True)
r""":math:`|w|`."""
t = gaussian.t
r""":math:`\theta(w, w^*) \in [0, \pi]`."""
v_sq = sp.Symbol("v_sq", nonnegative=True)
r""":math:`|v|^2`."""
v_dot = sp.Symbol("v_dot", real=True)
r""":math:`v\cdot v^*`."""
vs_sq = sp.Symbol("vs_sq", nonnegative=True)
r""":math:`|v^*|^2`."""
v_sum = sp.Symbol("v_sum", real=True)
r""":math:`\mathbf 1\cdot v`."""
vs_sum = sp.Symbol("vs_sum", real=True)
r""":math:`\mathbf 1\cdot v^*`."""

FIXED_LAYER: dict[sp.Symbol, sp.Expr] = {
    v_sq: 1 / k, v_dot: 1 / k, vs_sq: 1 / k, v_sum: sp.S.One, vs_sum: sp.S.One,
}
r"""The invariants of :math:`v = v^* = \mathbf 1/k` (P2's fixed second layer)."""

STES: tuple[str, ...] = ("relu", "identity", "clipped-relu")
"""The straight-through estimators, by name."""

_x = sp.Symbol("x", real=True)          # a generic pre-activation
_x1 = sp.Symbol("x1", real=True)        # coordinate along w^
_x2 = sp.Symbol("x2", real=True)        # coordinate along n^ (in-plane normal towards w*^)
_c = sp.Symbol("c", real=True)          # cot t
_g = sp.Symbol("g", positive=True)      # 1/sin t = sqrt(1 + c^2)
_a = sp.Symbol("a", positive=True)      # 1/r: the clipped window in x1 is (0, a)


def check_ste(ste: Any) -> str:
    """The estimator's name, or :class:`ValueError` listing the valid ones."""
    if ste not in STES:
        raise ValueError(f"ste must be one of {', '.join(STES)}; got {ste!r}")
    return str(ste)


def ste_derivative(ste: str) -> sp.Expr:
    r""":math:`\mu'(x)` of the estimator as a SymPy expression in the symbol ``x``."""
    check_ste(ste)
    if ste == "relu":
        return sp.Piecewise((1, _x > 0), (0, True))
    if ste == "identity":
        return sp.S.One
    return sp.Piecewise((1, sp.And(_x > 0, _x < 1)), (0, True))


# ------------------------------------------------------------ Gaussian expectations

def _phi(z: sp.Expr) -> sp.Expr:
    return sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)


def _definite(antiderivative: sp.Expr, x: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    def at(b: sp.Expr) -> sp.Expr:
        if b in (sp.oo, -sp.oo):
            return sp.limit(antiderivative, x, b)
        return antiderivative.subs(x, b)

    return at(hi) - at(lo)


def _integrate(f: sp.Expr, x: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """Definite integral through SymPy's antiderivative (much faster than ``integrate``
    with limits on these Gaussian integrands; the antiderivative is checked by the tests
    through the values it produces)."""
    return _definite(sp.integrate(f, x), x, lo, hi)


@functools.cache
def step_mean() -> sp.Expr:
    r""":math:`E[\sigma(z)] = P(z > 0) = 1/2`, :math:`z \sim N(0,1)`."""
    return _integrate(_phi(_x), _x, 0, sp.oo)


class SteMoments(NamedTuple):
    r"""Per-patch Gaussian moments of an estimator, for :math:`x \sim N(0, I_d)`:

    * ``m``: :math:`E[\mu'(w\cdot x)\,x] = m\,\hat w`;
    * ``p``: :math:`E[\sigma(w\cdot x)\mu'(w\cdot x)\,x] = p\,\hat w`;
    * ``qa``, ``qb``: :math:`E[\sigma(w^*\cdot x)\mu'(w\cdot x)\,x] = q_a\hat w + q_b\hat w^*`.

    Expressions in :data:`r` and :data:`t` (for ``w != 0``).
    """

    m: sp.Expr
    p: sp.Expr
    qa: sp.Expr
    qb: sp.Expr


_WINDOWS: dict[str, tuple[sp.Expr, sp.Expr]] = {
    # {x1 : mu'(r x1) = 1} for r > 0, an interval (lo, hi)
    "relu": (sp.S.Zero, sp.oo),
    "identity": (-sp.oo, sp.oo),
    "clipped-relu": (sp.S.Zero, _a),
}


def _no_tan(expr: sp.Expr) -> sp.Expr:
    return expr.replace(sp.tan, lambda z: sp.sin(z) / sp.cos(z)).replace(
        sp.cot, lambda z: sp.cos(z) / sp.sin(z))


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Expanded, exponentials combined (no exp(1/(2 r^2)) * exp(-1/(2 r^2)), which
    overflows for small r), tan/cot written as sin and cos, common factors pulled out."""
    out = sp.powsimp(sp.expand(_no_tan(expr)), combine="exp")
    return sp.factor_terms(_no_tan(out))


def _on_angle(expr: sp.Expr) -> sp.Expr:
    """Substitute cot t, 1/sin t, 1/r."""
    out = expr.subs({_c: sp.cos(t) / sp.sin(t), _g: 1 / sp.sin(t), _a: 1 / r})
    return _tidy(sp.simplify(out))


@functools.cache
def ste_moments(ste: str) -> SteMoments:
    r"""The moments of :class:`SteMoments`, derived by integration.

    Coordinates: :math:`x = x_1\hat w + x_2\hat n + x_\perp` with :math:`\hat n` the unit
    in-plane normal towards :math:`\hat w^*`, so :math:`\hat w^* = \cos t\,\hat w +
    \sin t\,\hat n`; :math:`x_1, x_2, x_\perp` are independent standard Gaussians and
    :math:`x_\perp` drops out of every expectation (it multiplies a function of
    :math:`x_1, x_2` and has mean zero).  :math:`\mu'(w\cdot x) = 1\{x_1 \in W\}` with the
    window :math:`W = (0,\infty)`, :math:`(-\infty,\infty)`, :math:`(0, 1/r)`.  For
    :math:`0 < t < \pi`, :math:`\hat w^*\cdot x > 0 \iff x_2 > -x_1\cot t`, so with
    :math:`c = \cot t`:

    .. math:: q_1 = \int_W x_1\varphi(x_1)\Phi(c x_1)\,dx_1 \ \text{(by parts)},\qquad
              q_2 = \int_W \varphi(x_1)\varphi(c x_1)\,dx_1,

    :math:`Q = q_1\hat w + q_2\hat n = (q_1 - q_2\cot t)\hat w + (q_2/\sin t)\hat w^*`.
    The values at :math:`t \in \{0, \pi\}` are the limits (checked by Monte Carlo at
    exactly those angles).
    """
    check_ste(ste)
    lo, hi = _WINDOWS[ste]
    anti = _antiderivatives()
    m = _definite(anti["x phi"], _x1, lo, hi)
    p = _definite(anti["x phi"], _x1, sp.Max(lo, 0), hi)
    q1 = _definite(anti["q1 boundary"], _x1, lo, hi) + _definite(anti["q1 rest"], _x1, lo, hi)
    q2 = _definite(anti["q2"], _x1, lo, hi)
    return SteMoments(
        _on_angle(m), _on_angle(p), _on_angle(q1 - _c * q2), _on_angle(_g * q2))


@functools.cache
def _antiderivatives() -> dict[str, sp.Expr]:
    """The antiderivatives in x1 behind :func:`ste_moments` (shared by every window)."""
    inner0 = _integrate(_phi(_x2), _x2, -_c * _x1, sp.oo)          # Phi(c x1)
    inner1 = _integrate(_x2 * _phi(_x2), _x2, -_c * _x1, sp.oo)    # phi(c x1)

    def in_g(e: sp.Expr) -> sp.Expr:  # exp(-(1 + c^2) x^2/2) = exp(-g^2 x^2/2)
        return sp.simplify(sp.powsimp(sp.expand(e)).subs(_c**2, _g**2 - 1))

    # q1 by parts: u = Phi(c x1), dv = x1 phi(x1) dx1, v = x_phi
    x_phi = sp.integrate(_x1 * _phi(_x1), _x1)
    return {
        "x phi": x_phi,
        "q1 boundary": sp.expand(inner0 * x_phi),
        "q1 rest": sp.integrate(in_g(-x_phi * sp.diff(inner0, _x1)), _x1),
        "q2": sp.integrate(in_g(_phi(_x1) * inner1), _x1),
    }


# --------------------------------------------------------------------------- losses

def _cross_v(a_sq_dot: sp.Expr, a_sum: sp.Expr, b_sum: sp.Expr, angle_: sp.Expr) -> sp.Expr:
    r""":math:`E[f(Z, u, a) f(Z, u', b)] = \kappa_0\,a\cdot b + E[\sigma]^2((\mathbf 1\cdot a)
    (\mathbf 1\cdot b) - a\cdot b)`: same patch shares the input (orthant probability),
    different patches are independent."""
    kappa0 = gaussian.orthant_probability().subs(t, angle_)
    return kappa0 * a_sq_dot + step_mean() ** 2 * (a_sum * b_sum - a_sq_dot)


@functools.cache
def loss_expr() -> sp.Expr:
    r"""Fixed second layer, :math:`w \ne 0`: :math:`\ell = t/(\pi k)`, derived.

    :math:`G(\vartheta) = E[f(u)f(u')] = (k\kappa_0(\vartheta) + (k^2 - k)E[\sigma]^2)/k^2`
    and :math:`\ell = 2G(0) - 2G(t)`.
    """
    def cross(angle_: sp.Expr) -> sp.Expr:
        kappa0 = gaussian.orthant_probability().subs(t, angle_)
        return (k * kappa0 + (k**2 - k) * step_mean() ** 2) / k**2

    return sp.simplify(2 * cross(sp.S.Zero) - 2 * cross(t))


@functools.cache
def loss_at_zero_expr() -> sp.Expr:
    r""":math:`\ell(0) = E[f(Z, w^*)^2] = (k + 1)/(4k)` (because :math:`\sigma(0) = 0`)."""
    kappa0 = gaussian.orthant_probability().subs(t, 0)
    return sp.simplify((k * kappa0 + (k**2 - k) * step_mean() ** 2) / k**2)


@functools.cache
def loss_v_expr() -> sp.Expr:
    r"""General second layer, :math:`w \ne 0`, in the invariants; derived from
    :func:`_cross_v`: :math:`\ell = G(v, v, 0) - 2G(v, v^*, t) + G(v^*, v^*, 0)`."""
    return sp.expand(_cross_v(v_sq, v_sum, v_sum, sp.S.Zero)
                     - 2 * _cross_v(v_dot, v_sum, vs_sum, t)
                     + _cross_v(vs_sq, vs_sum, vs_sum, sp.S.Zero))


@functools.cache
def loss_v_at_zero_expr() -> sp.Expr:
    r""":math:`\ell(w = 0, v) = E[f^{*2}] = (|v^*|^2 + (\mathbf 1\cdot v^*)^2)/4`."""
    return sp.expand(_cross_v(vs_sq, vs_sum, vs_sum, sp.S.Zero))


@functools.cache
def grad_w_coeff_expr() -> sp.Expr:
    r""":math:`G` with :math:`\nabla_w\ell = G\,\hat n` (fixed layer): :math:`G = -\ell_t/r
    = -1/(\pi k r)`.

    From :math:`\nabla_w t = -\hat n/r` (:math:`\cos t = \hat w\cdot\hat w^*`,
    :math:`\nabla_w\cos t = (I - \hat w\hat w^\top)\hat w^*/r = \sin t\,\hat n/r`); checked
    against Cartesian differentiation in the tests.  Valid for :math:`0 < t < \pi`.
    """
    return sp.simplify(-sp.diff(loss_expr(), t) / r)


@functools.cache
def grad_w_coeff_v_expr() -> sp.Expr:
    r""":math:`G = -\ell_t/r = -v_{dot}/(\pi r)` for the general second layer."""
    return sp.simplify(-sp.diff(loss_v_expr(), t) / r)


@functools.cache
def grad_v_coeffs_expr() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r""":math:`\nabla_v\ell = c_v v + c_1\mathbf 1 + c_s v^*`, by the chain rule through the
    invariants (:math:`\partial v_{sq}/\partial v = 2v`, :math:`\partial v_{sum}/\partial
    v = \mathbf 1`, :math:`\partial v_{dot}/\partial v = v^*`).  Valid for :math:`w \ne 0`
    (at :math:`w = 0` the loss does not depend on :math:`v` and the gradient is 0)."""
    ell = loss_v_expr()
    return (sp.simplify(2 * sp.diff(ell, v_sq)), sp.simplify(sp.diff(ell, v_sum)),
            sp.simplify(sp.diff(ell, v_dot)))


@functools.cache
def coarse_grad_v_coeffs_expr() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r""":math:`E g_v = E[2(f - f^*)\sigma(w\cdot Z_i)]_i` in the form of
    :func:`grad_v_coeffs_expr`, derived by counting patch pairs: same patch
    :math:`E[\sigma(w\cdot x)\sigma(u\cdot x)] = \kappa_0`, other patches
    :math:`E[\sigma]^2`.  Equal to :math:`\nabla_v\ell` (checked symbolically)."""
    k0, kt, mu2 = (gaussian.orthant_probability().subs(t, 0), gaussian.orthant_probability(),
                   step_mean() ** 2)
    # 2 [v_i k0 + (v_sum - v_i) mu2 - v*_i kt - (vs_sum - v*_i) mu2]
    return (sp.simplify(2 * (k0 - mu2)), sp.simplify(2 * mu2 * (v_sum - vs_sum)),
            sp.simplify(-2 * (kt - mu2)))


@functools.cache
def coarse_coeffs_v_expr(ste: str) -> tuple[sp.Expr, sp.Expr]:
    r""":math:`E g_w = \alpha\hat w + \beta\hat w^*` for the general second layer, derived.

    :math:`E g_w = 2\sum_{i,j} E[(v_j\sigma(w\cdot Z_j) - v_j^*\sigma(w^*\cdot Z_j))\,
    v_i\mu'(w\cdot Z_i)Z_i]`.  Diagonal terms :math:`i = j` give
    :math:`v_i^2 P - v_iv_i^* Q` (:class:`SteMoments`); for :math:`i \ne j` the patches are
    independent and :math:`E[\sigma(\cdot)] = 1/2`, giving
    :math:`\tfrac12 v_i(v_j - v_j^*) M`.  Summed:
    :math:`\alpha = 2[v_{sq}\,p - v_{dot}\,q_a + \tfrac12(v_{sum}^2 - v_{sq} - v_{sum}vs_{sum}
    + v_{dot})\,m]`, :math:`\beta = -2v_{dot}\,q_b`.
    """
    mo = ste_moments(check_ste(ste))
    half = step_mean()
    off_diag = (v_sum**2 - v_sq) - (v_sum * vs_sum - v_dot)  # sum_{i != j} v_i (v_j - v*_j)
    alpha = 2 * (v_sq * mo.p - v_dot * mo.qa + half * off_diag * mo.m)
    beta = -2 * v_dot * mo.qb
    return _tidy(alpha), _tidy(beta)


@functools.cache
def coarse_coeffs_expr(ste: str) -> tuple[sp.Expr, sp.Expr]:
    r""":math:`(\alpha, \beta)` for the fixed second layer (:data:`FIXED_LAYER`).

    relu :math:`(c, -c)`, identity :math:`(2c, -2c)`, clipped relu
    :math:`(c[1 - e^{-1/(2r^2)}\operatorname{erfc}(\cot t/(\sqrt2 r))],
    -c\operatorname{erf}(1/(\sqrt2 r\sin t)))`, :math:`c = 1/(k\sqrt{2\pi})`.
    """
    alpha, beta = coarse_coeffs_v_expr(ste)
    return _tidy(alpha.subs(FIXED_LAYER)), _tidy(beta.subs(FIXED_LAYER))


@functools.cache
def coarse_at_zero_v_expr(ste: str) -> sp.Expr:
    r""":math:`\beta_0` with :math:`E g_w = \beta_0\hat w^*` at :math:`w = 0`.

    Every :math:`w\cdot Z_i = 0`, so :math:`f = 0` and :math:`\mu'` is the constant
    :math:`\mu'(0)`: :math:`E g_w = -2\mu'(0)\sum_i v_i v_i^* E[\sigma(w^*\cdot x)x]
    = -2\mu'(0)\,v_{dot}\,\hat w^*/\sqrt{2\pi}` (cross-patch terms vanish, :math:`E x = 0`).
    """
    mu0 = ste_derivative(ste).subs(_x, 0)
    return sp.simplify(-2 * mu0 * v_dot * gaussian.relu_mean())


@functools.cache
def correlation_v_expr(ste: str) -> sp.Expr:
    r""":math:`\langle E g_w, \nabla_w\ell\rangle` for the general second layer, derived:
    :math:`G\,\langle\alpha\hat w + \beta\hat w^*, \hat n\rangle = G\beta\sin t`
    (:math:`\hat w\perp\hat n`, :math:`\hat w^*\cdot\hat n = \sin t`).  The full
    :math:`(w, v)` correlation adds :math:`\langle E g_v, \nabla_v\ell\rangle =
    |\nabla_v\ell|^2 \ge 0`."""
    _, beta = coarse_coeffs_v_expr(ste)
    return _tidy(grad_w_coeff_v_expr() * beta * sp.sin(t))


@functools.cache
def correlation_expr(ste: str) -> sp.Expr:
    r""":math:`\langle E g, \nabla\ell\rangle` for the fixed second layer, derived as in
    :func:`correlation_v_expr`.  relu :math:`\sin t/(\sqrt{2}\pi^{3/2}k^2 r)`, identity
    twice that, clipped relu that times :math:`\operatorname{erf}(1/(\sqrt2 r\sin t))`."""
    _, beta = coarse_coeffs_expr(ste)
    return _tidy(grad_w_coeff_expr() * beta * sp.sin(t))


# ------------------------------------------------ erf(x / y) with its y -> 0+ limit

def _erf_ratio_numeric(x: Any, y: Any) -> Any:
    """erf(x / y) for y > 0 and sign(x) for y <= 0, on every backend (see :class:`erf_ratio`)."""
    arrays = [v for v in (x, y) if hasattr(v, "shape") and hasattr(v, "dtype")]
    if not arrays:  # mpmath (or plain numbers): working precision
        xm, ym = mpmath.mpf(x), mpmath.mpf(y)
        return mpmath.erf(xm / ym) if ym > 0 else mpmath.mpf(mpmath.sign(xm))
    xp = array_namespace(*arrays)
    like = arrays[-1]
    if is_torch_namespace(xp):
        x = x if hasattr(x, "dtype") else xp.asarray(x, dtype=like.dtype, device=like.device)
        y = y if hasattr(y, "dtype") else xp.asarray(y, dtype=like.dtype, device=like.device)
        pos = y > 0
        ratio = x / xp.where(pos, y, xp.ones_like(y))
        return xp.where(pos, ratio.erf(), xp.sign(x) + 0 * ratio)
    dtype = np.result_type(*(v if hasattr(v, "dtype") else v for v in (x, y)))
    xa, ya = np.asarray(x, dtype=dtype), np.asarray(y, dtype=dtype)
    pos = ya > 0
    ratio = xa / np.where(pos, ya, 1)
    vals = np.asarray(np.frompyfunc(math.erf, 1, 1)(ratio.astype(np.float64)), dtype=np.float64)
    return np.where(pos, vals, np.sign(xa)).astype(dtype)


class erf_ratio(sp.Function):  # noqa: N801 - SymPy function names are lower case
    r""":math:`\operatorname{erf}(x/y)` for :math:`y \ge 0`, with the limit
    :math:`\operatorname{sign}(x)` at :math:`y = 0`.

    The clipped-ReLU closed forms contain :math:`\operatorname{erf}(x/\sin t)`; this keeps
    them finite and continuous at :math:`t \in \{0, \pi\}`.  A :math:`y \le 0` is read as
    the limit :math:`y \to 0^+` (rounding can push :math:`\sin t` below 0 at
    :math:`t = \pi` in float32).  NumPy has no erf: the NumPy backend evaluates
    ``math.erf`` elementwise in float64 and returns the input dtype; torch uses
    ``Tensor.erf`` (autograd flows); mpmath uses ``mpmath.erf``.
    """

    nargs = 2
    _imp_ = staticmethod(_erf_ratio_numeric)

    @classmethod
    def eval(cls, x: sp.Expr, y: sp.Expr) -> sp.Expr | None:
        if y.is_positive:
            if x.is_Number and y.is_Number:
                return sp.erf(x / y)
            return None
        if y.is_zero:
            return sp.sign(x)
        return None

    def _eval_rewrite_as_erf(self, x: sp.Expr, y: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.erf(x / y)

    def _print_call(self, printer: Any) -> str:
        return f"erf_ratio({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    _numpycode = _print_call
    _torchcode = _print_call
    _mpmathcode = _print_call
    _pythoncode = _print_call


def _expm1_numeric(x: Any) -> Any:
    """exp(x) - 1 without cancellation, on every backend (see :class:`exp_m1`)."""
    if not (hasattr(x, "shape") and hasattr(x, "dtype")):
        return mpmath.expm1(mpmath.mpf(x))
    return x.expm1() if is_torch_namespace(array_namespace(x)) else np.expm1(x)


class exp_m1(sp.Function):  # noqa: N801 - SymPy function names are lower case
    r""":math:`e^x - 1`, evaluated without cancellation for small :math:`|x|` (``expm1``
    of NumPy, torch and mpmath).  The clipped-ReLU moments contain
    :math:`1 - e^{-1/(2r^2)}`, which loses :math:`\log_{10}(2r^2)` digits for large
    :math:`r` if written with ``exp``."""

    nargs = 1
    _imp_ = staticmethod(_expm1_numeric)

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        return sp.S.Zero if x.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.exp(self.args[0])

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.exp(x) - 1

    def _print_call(self, printer: Any) -> str:
        return f"exp_m1({printer._print(self.args[0])})"

    _numpycode = _print_call
    _torchcode = _print_call
    _mpmathcode = _print_call
    _pythoncode = _print_call


def _numeric_form(expr: sp.Expr) -> sp.Expr:
    """The form that is compiled: every erf(num/den), den = (positive) * sin(t), becomes
    erf_ratio(num, den), and every exp(z) becomes 1 + exp_m1(z) (then expanded, so that
    P + Q exp(z) with P = -Q turns into Q exp_m1(z) without cancellation)."""
    pos = sp.Dummy("pos", positive=True)

    def conv(arg: sp.Expr) -> sp.Expr:
        num, den = sp.fraction(sp.together(_no_tan(arg)))
        if den.free_symbols and den.subs(sp.sin(t), pos).is_positive is not True:
            raise ArithmeticError(f"cannot prove the denominator {den} >= 0")  # pragma: no cover
        return erf_ratio(num, den)

    out = expr.replace(sp.erfc, lambda z: 1 - sp.erf(z)).replace(sp.erf, conv)
    if out.has(sp.exp):
        out = sp.factor_terms(sp.expand(out.replace(sp.exp, lambda z: 1 + exp_m1(z))))
    # sin t >= 0 on [0, pi], but float32(pi) > pi has sin < 0: evaluate |sin t|
    return out.subs(sp.sin(t), sp.Abs(sp.sin(t)))


# ------------------------------------------------------------------- numeric kernels

def _hoist(expr: sp.Expr, table: dict[sp.Expr, sp.Symbol]) -> sp.Expr:
    """Replace numeric irrational subexpressions (sqrt(2), sqrt(pi), ...) by symbols.

    lambdify prints them as ``numpy.sqrt(2)`` (a float64 that promotes float32 arrays)
    or ``torch.sqrt(2)`` (a TypeError); passed as arguments they are Python floats for
    the array backends and exact mpmath values for the mpmath backend.
    """
    if expr.is_number and not (expr.is_Rational or expr is sp.pi):
        if expr not in table:
            table[expr] = sp.Symbol(f"_const{len(table)}")
        return table[expr]
    if not expr.args or isinstance(expr, sp.Symbol):
        return expr
    return expr.func(*[_hoist(a, table) for a in expr.args])


@dataclass(frozen=True)
class _Kernel:
    args: tuple[sp.Symbol, ...]
    expr: sp.Expr
    _state: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def _compiled(self) -> tuple[Compiled, tuple[sp.Expr, ...]]:
        if "c" not in self._state:
            table: dict[sp.Expr, sp.Symbol] = {}
            body = _hoist(_numeric_form(self.expr), table)
            consts = tuple(table)
            self._state["c"] = (Compiled(self.args + tuple(table[c] for c in consts), body),
                                consts)
        return self._state["c"]

    def __call__(self, *values: Any) -> Any:
        comp, consts = self._compiled()
        # IEEE semantics are intended at extreme |w| (1/r**2 -> inf, exp(-inf) -> 0);
        # NumPy would warn about them (torch does not).
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            return comp(*values, *(float(c) for c in consts))

    def mp(self, *values: Any) -> Any:
        comp, consts = self._compiled()
        if "mpc" not in self._state:
            self._state["mpc"] = sp.lambdify((), list(consts), "mpmath")
        return comp.mp(*values, *self._state["mpc"]())


_FIXED_ARGS = (k, r, t)
_V_ARGS = (v_sq, v_dot, vs_sq, v_sum, vs_sum, r, t)


@functools.cache
def _kernels() -> dict[str, _Kernel]:
    out = {
        "loss": _Kernel(_FIXED_ARGS, loss_expr()),
        "loss0": _Kernel(_FIXED_ARGS, loss_at_zero_expr()),
        "G": _Kernel(_FIXED_ARGS, grad_w_coeff_expr()),
        "loss_v": _Kernel(_V_ARGS, loss_v_expr()),
        "loss_v0": _Kernel(_V_ARGS, loss_v_at_zero_expr()),
        "G_v": _Kernel(_V_ARGS, grad_w_coeff_v_expr()),
    }
    for name, e in zip(("cv", "c1", "cs"), grad_v_coeffs_expr(), strict=True):
        out[name] = _Kernel(_V_ARGS, e)
    for ste in STES:
        al, be = coarse_coeffs_expr(ste)
        out[f"alpha:{ste}"] = _Kernel(_FIXED_ARGS, al)
        out[f"beta:{ste}"] = _Kernel(_FIXED_ARGS, be)
        out[f"beta0:{ste}"] = _Kernel(_FIXED_ARGS, coarse_at_zero_v_expr(ste).subs(FIXED_LAYER))
        out[f"corr:{ste}"] = _Kernel(_FIXED_ARGS, correlation_expr(ste))
        al, be = coarse_coeffs_v_expr(ste)
        out[f"alpha_v:{ste}"] = _Kernel(_V_ARGS, al)
        out[f"beta_v:{ste}"] = _Kernel(_V_ARGS, be)
        out[f"beta0_v:{ste}"] = _Kernel(_V_ARGS, coarse_at_zero_v_expr(ste))
        out[f"corr_v:{ste}"] = _Kernel(_V_ARGS, correlation_v_expr(ste))
    return out


# ------------------------------------------------------------------ array evaluators

def _check_w(w: Any, w_star: Any) -> None:
    check_same_length("w", w, "w_star", w_star)
    check_finite_array("w", w)
    check_finite_array("w_star", w_star)
    check_nonzero_rows("w_star", w_star)


def _check_v(v: Any, v_star: Any) -> None:
    check_same_length("v", v, "v_star", v_star)
    check_finite_array("v", v)
    check_finite_array("v_star", v_star)


class _Plane(NamedTuple):
    r: Any          # |w|
    r_safe: Any     # |w|, 1 where w = 0
    t: Any          # angle, 0 where w = 0
    w_hat: Any      # w/|w|, 0 rows where w = 0
    ws_hat: Any     # w*/|w*|
    xp: Any


def _plane(w: Any, w_star: Any) -> _Plane:
    xp = namespace(w, w_star)
    pos = xp.any(w != 0, axis=-1)
    w_safe = xp.where(pos[..., None], w, xp.ones_like(w))  # zero rows: no 0/0 in geometry
    rr = xp.where(pos, norm(w_safe), xp.zeros_like(w_safe[..., 0]))
    r_safe = xp.where(pos, rr, xp.ones_like(rr))
    tt = xp.where(pos, angle(w_safe, w_star), xp.zeros_like(rr))
    w_hat = xp.where(pos[..., None], unit(w_safe), xp.zeros_like(w))
    ws_hat = unit(w_star)
    return _Plane(rr, r_safe, tt, w_hat, ws_hat, xp)


def _normal(pl: _Plane) -> Any:
    r"""Unit in-plane normal :math:`\hat n` (towards :math:`\hat w^*`); Gram-Schmidt twice."""
    xp = pl.xp
    u = pl.ws_hat - xp.sum(pl.ws_hat * pl.w_hat, axis=-1, keepdims=True) * pl.w_hat
    u = u - xp.sum(u * pl.w_hat, axis=-1, keepdims=True) * pl.w_hat
    nu = xp.linalg.vector_norm(u, axis=-1, keepdims=True)  # O(1) entries: no scaling needed
    return u / xp.where(nu > 0, nu, xp.ones_like(nu))


def _true_w_grad(pl: _Plane, g_coeff: Any) -> Any:
    xp = pl.xp
    n = _normal(pl)
    with np.errstate(invalid="ignore", over="ignore"):  # |w| ~ 1e-308: |grad| overflows
        out = xp.where(n == 0, xp.zeros_like(n), g_coeff[..., None] * n)
    undefined = (pl.r == 0) | (((pl.t == 0) | (pl.t == math.pi)) & (g_coeff != 0))
    return xp.where(undefined[..., None], xp.full_like(out, float("nan")), out)


def _coarse_w(pl: _Plane, alpha: Any, beta: Any, beta0: Any) -> Any:
    xp = pl.xp
    zero = (pl.r == 0)[..., None]
    generic = alpha[..., None] * pl.w_hat + beta[..., None] * pl.ws_hat
    return xp.where(zero, beta0[..., None] * pl.ws_hat, generic)


def loss(w: Any, w_star: Any, k: int, *, validate: bool = True) -> Any:
    r""":math:`\ell(w) = t/(\pi k)` (fixed second layer) for arrays of shape ``(..., d)``;
    :math:`(k+1)/(4k)` at ``w = 0``.  NumPy or torch; dtype and device kept."""
    if validate:
        _check_w(w, w_star)
        k = check_k(k)
    pl = _plane(w, w_star)
    kern = _kernels()
    return pl.xp.where(pl.r > 0, kern["loss"](k, pl.r_safe, pl.t),
                       kern["loss0"](k, pl.r_safe, pl.t) + 0 * pl.r)


def grad(w: Any, w_star: Any, k: int, *, validate: bool = True) -> Any:
    r""":math:`\nabla\ell(w) = -\hat n/(\pi k|w|)`; NaN rows where ``w = 0`` or the angle
    is 0 or pi (the loss is not differentiable there).  Near those angles the direction
    :math:`\hat n` is ill-conditioned (condition number :math:`\sim 1/\sin t`); the norm
    :math:`1/(\pi k|w|)` is not."""
    if validate:
        _check_w(w, w_star)
        k = check_k(k)
    pl = _plane(w, w_star)
    return _true_w_grad(pl, _kernels()["G"](k, pl.r_safe, pl.t) + 0 * pl.r)


def coarse_grad(w: Any, w_star: Any, k: int, ste: str = "relu", *,
                validate: bool = True) -> Any:
    r"""Expected coarse gradient :math:`E g = \alpha\hat w + \beta\hat w^*` (fixed layer)."""
    if validate:
        _check_w(w, w_star)
        k = check_k(k)
        check_ste(ste)
    pl = _plane(w, w_star)
    kern = _kernels()
    args = (k, pl.r_safe, pl.t)
    z = 0 * pl.r
    return _coarse_w(pl, kern[f"alpha:{ste}"](*args) + z, kern[f"beta:{ste}"](*args) + z,
                     kern[f"beta0:{ste}"](*args) + z)


def correlation(w: Any, w_star: Any, k: int, ste: str = "relu", *,
                validate: bool = True) -> Any:
    r""":math:`\langle E g, \nabla\ell\rangle` from the closed form (its limit 0 at
    :math:`t \in \{0,\pi\}`); NaN at ``w = 0``."""
    if validate:
        _check_w(w, w_star)
        k = check_k(k)
        check_ste(ste)
    pl = _plane(w, w_star)
    val = _kernels()[f"corr:{ste}"](k, pl.r_safe, pl.t) + 0 * pl.r
    return pl.xp.where(pl.r > 0, val, pl.xp.full_like(val, float("nan")))


class VGrad(NamedTuple):
    """A gradient of the two-layer model: the ``w`` block and the ``v`` block."""

    w: Any
    v: Any


def _invariants(v: Any, v_star: Any) -> tuple[Any, ...]:
    xp = namespace(v, v_star)
    return (xp.sum(v * v, axis=-1), xp.sum(v * v_star, axis=-1),
            xp.sum(v_star * v_star, axis=-1), xp.sum(v, axis=-1), xp.sum(v_star, axis=-1))


def _v_args(w: Any, v: Any, w_star: Any, v_star: Any, validate: bool,
            ste: str | None = None) -> tuple[_Plane, tuple[Any, ...]]:
    if validate:
        _check_w(w, w_star)
        _check_v(v, v_star)
        if ste is not None:
            check_ste(ste)
    pl = _plane(w, w_star)
    inv = _invariants(v, v_star)
    z = 0 * pl.r
    return pl, tuple(x + z for x in inv) + (pl.r_safe + 0 * inv[0], pl.t + 0 * inv[0])


def loss_v(w: Any, v: Any, w_star: Any, v_star: Any, *, validate: bool = True) -> Any:
    r""":math:`\ell(w, v)` for the model :math:`\sum_i v_i\sigma(w\cdot Z_i)`; ``w``,
    ``w_star`` of shape ``(..., d)``, ``v``, ``v_star`` of shape ``(..., k)``."""
    pl, args = _v_args(w, v, w_star, v_star, validate)
    kern = _kernels()
    return pl.xp.where(pl.r > 0, kern["loss_v"](*args), kern["loss_v0"](*args) + 0 * args[0])


def grad_v(w: Any, v: Any, w_star: Any, v_star: Any, *, validate: bool = True) -> VGrad:
    r""":math:`(\nabla_w\ell, \nabla_v\ell)`; the ``w`` block is NaN where undefined
    (``w = 0``; angle 0 or pi unless :math:`v\cdot v^* = 0`); the ``v`` block is 0 at
    ``w = 0``."""
    pl, args = _v_args(w, v, w_star, v_star, validate)
    kern = _kernels()
    gw = _true_w_grad(pl, kern["G_v"](*args))
    cv, c1, cs = (kern[n](*args) + 0 * args[0] for n in ("cv", "c1", "cs"))
    gv = cv[..., None] * v + c1[..., None] + cs[..., None] * v_star
    gv = pl.xp.where((pl.r > 0)[..., None], gv, 0 * gv)
    return VGrad(gw, gv)


def coarse_grad_v(w: Any, v: Any, w_star: Any, v_star: Any, ste: str = "relu", *,
                  validate: bool = True) -> VGrad:
    r"""Expected coarse gradient :math:`(E g_w, E g_v)`; :math:`E g_v = \nabla_v\ell`."""
    pl, args = _v_args(w, v, w_star, v_star, validate, ste)
    kern = _kernels()
    gw = _coarse_w(pl, kern[f"alpha_v:{ste}"](*args), kern[f"beta_v:{ste}"](*args),
                   kern[f"beta0_v:{ste}"](*args) + 0 * args[0])
    return VGrad(gw, grad_v(w, v, w_star, v_star, validate=False).v)


def correlation_v(w: Any, v: Any, w_star: Any, v_star: Any, ste: str = "relu", *,
                  validate: bool = True) -> Any:
    r"""Full correlation :math:`\langle E g_w, \nabla_w\ell\rangle + |\nabla_v\ell|^2`, the
    ``w`` block from its closed form (limit 0 at :math:`t \in \{0,\pi\}`); NaN at ``w = 0``."""
    pl, args = _v_args(w, v, w_star, v_star, validate, ste)
    gv = grad_v(w, v, w_star, v_star, validate=False).v
    val = _kernels()[f"corr_v:{ste}"](*args) + pl.xp.sum(gv * gv, axis=-1)
    return pl.xp.where(pl.r > 0, val, pl.xp.full_like(val, float("nan")))


# ----------------------------------------------------------------- mpmath evaluators

def _collinear_mp(wv: list[Any], sv: list[Any]) -> int:
    """+1 / -1 if w is exactly a positive / negative multiple of w*, else 0 (exact test)."""
    j = max(range(len(sv)), key=lambda i: abs(sv[i]))

    def frac(x: Any) -> Fraction:  # the exact binary rational value of a finite mpf
        sign, man, exp, _ = mpmath.mpf(x)._mpf_
        return (-1) ** sign * Fraction(man) * Fraction(2) ** exp

    fw, fs = [frac(x) for x in wv], [frac(x) for x in sv]
    lam = fw[j] / fs[j]
    if lam == 0 or any(a != lam * b for a, b in zip(fw, fs, strict=True)):
        return 0
    return 1 if lam > 0 else -1


class _PlaneMp(NamedTuple):
    r: Any
    t: Any
    w_hat: list[Any] | None
    ws_hat: list[Any]
    # None where undefined: w = 0, t in {0, pi} exactly, or w parallel to w* at the working
    # precision (the unit vectors round to +-each other: the in-plane residual is exactly 0)
    n: list[Any] | None


def _plane_mp(w: Sequence[Any], w_star: Sequence[Any]) -> _PlaneMp:
    r"""|w|, the stable angle t, the unit vectors and the unit in-plane normal
    :math:`\hat n \propto \hat w^* - (\hat w^*\cdot\hat w)\hat w` (Gram-Schmidt twice).

    ``t`` is set to exactly 0 or pi when ``w`` is an exact multiple of ``w*``.  Otherwise the
    angle is the stable one, and the normal is None if the Gram-Schmidt residual is exactly 0:
    ``w = c w*`` rounded in floating point is in general not an exact multiple, but its unit
    vector can round to :math:`\pm\hat w^*`.  The loss and the coarse gradient do not need
    :math:`\hat n` (they are functions of ``(|w|, t)`` and the two unit vectors), so they are
    evaluated there as everywhere else; the true gradient, which points along :math:`\hat n`
    (undetermined at this precision), raises like at ``t`` in {0, pi}.
    """
    wv, sv = to_mpf_vector("w", w), to_mpf_vector("w_star", w_star)
    if len(wv) != len(sv):
        raise ValueError(f"w and w_star must have the same length, got {len(wv)} and {len(sv)}")
    ss = norm_mp(sv)
    if not ss:
        raise ValueError("w_star must be nonzero")
    ws_hat = [x / ss for x in sv]
    rr = norm_mp(wv)
    if not rr:
        return _PlaneMp(rr, mpmath.mpf(0), None, ws_hat, None)
    w_hat = [x / rr for x in wv]
    col = _collinear_mp(wv, sv)
    if col:
        return _PlaneMp(rr, mpmath.mpf(0) if col > 0 else +mpmath.pi, w_hat, ws_hat, None)
    tt = angle_mp(wv, sv)
    dot = mpmath.fsum(a * b for a, b in zip(w_hat, ws_hat, strict=True))
    u = [b - dot * a for a, b in zip(w_hat, ws_hat, strict=True)]
    d2 = mpmath.fsum(a * b for a, b in zip(u, w_hat, strict=True))
    u = [b - d2 * a for a, b in zip(w_hat, u, strict=True)]
    nu = norm_mp(u)
    if not nu:  # parallel at the working precision: no normal (was a ZeroDivisionError)
        return _PlaneMp(rr, tt, w_hat, ws_hat, None)
    return _PlaneMp(rr, tt, w_hat, ws_hat, [x / nu for x in u])


def _workdps(dps: int | None) -> Any:
    return mpmath.mp.workdps(check_dps(dps) if dps is not None else mpmath.mp.dps)


def loss_mp(w: Sequence[Any], w_star: Sequence[Any], k: int, dps: int | None = None) -> Any:
    """:math:`\\ell(w)` (fixed layer) with mpmath at ``dps`` digits (or the working precision)."""
    with _workdps(dps):
        k_ = check_k(k)
        pl = _plane_mp(w, w_star)
        name = "loss" if pl.r else "loss0"
        return _kernels()[name].mp(k_, pl.r or mpmath.mpf(1), pl.t)


def grad_mp(w: Sequence[Any], w_star: Sequence[Any], k: int, dps: int | None = None) -> list[Any]:
    """:math:`\\nabla\\ell(w)` (fixed layer); ValueError at ``w = 0``, at angle 0 or pi
    (decided exactly: ``w`` an exact multiple of ``w_star``), and where ``w`` is parallel to
    ``w_star`` at the working precision (the direction :math:`\\hat n` is then undetermined)."""
    with _workdps(dps):
        k_ = check_k(k)
        pl = _plane_mp(w, w_star)
        if not pl.r:
            raise ValueError("the loss is not differentiable at w = 0")
        if pl.n is None:
            raise ValueError("the loss is not differentiable where w is parallel to w_star "
                             "(angle 0 or pi; or parallel at the working precision, where the "
                             "gradient's direction is undetermined)")
        g = _kernels()["G"].mp(k_, pl.r, pl.t)
        return [g * x for x in pl.n]


def _coarse_w_mp(pl: _PlaneMp, alpha: Any, beta: Any, beta0: Any) -> list[Any]:
    if pl.w_hat is None:
        return [beta0 * b for b in pl.ws_hat]
    return [alpha * a + beta * b for a, b in zip(pl.w_hat, pl.ws_hat, strict=True)]


def coarse_grad_mp(w: Sequence[Any], w_star: Sequence[Any], k: int, ste: str = "relu",
                   dps: int | None = None) -> list[Any]:
    """Expected coarse gradient (fixed layer) with mpmath."""
    check_ste(ste)
    with _workdps(dps):
        k_ = check_k(k)
        pl = _plane_mp(w, w_star)
        kern = _kernels()
        args = (k_, pl.r or mpmath.mpf(1), pl.t)
        return _coarse_w_mp(pl, kern[f"alpha:{ste}"].mp(*args), kern[f"beta:{ste}"].mp(*args),
                            kern[f"beta0:{ste}"].mp(*args))


def correlation_mp(w: Sequence[Any], w_star: Sequence[Any], k: int, ste: str = "relu",
                   dps: int | None = None) -> Any:
    """Closed-form correlation (fixed layer) with mpmath; ValueError at ``w = 0``."""
    check_ste(ste)
    with _workdps(dps):
        k_ = check_k(k)
        pl = _plane_mp(w, w_star)
        if not pl.r:
            raise ValueError("the true gradient is undefined at w = 0")
        if pl.n is None:  # parallel (exactly, or at the working precision, where t is within
            return mpmath.mpf(0)  # a few ulps of 0 or pi): the limit (sin(pi) is not 0 in mp)
        return _kernels()[f"corr:{ste}"].mp(k_, pl.r, pl.t)


def _v_args_mp(w: Sequence[Any], v: Sequence[Any], w_star: Sequence[Any],
               v_star: Sequence[Any]) -> tuple[_PlaneMp, list[Any], list[Any], tuple[Any, ...]]:
    pl = _plane_mp(w, w_star)
    vv, vs = to_mpf_vector("v", v), to_mpf_vector("v_star", v_star)
    if len(vv) != len(vs):
        raise ValueError(f"v and v_star must have the same length, got {len(vv)} and {len(vs)}")

    def dot(a: list[Any], b: list[Any]) -> Any:
        return mpmath.fsum(x * y for x, y in zip(a, b, strict=True))

    inv = (dot(vv, vv), dot(vv, vs), dot(vs, vs), mpmath.fsum(vv), mpmath.fsum(vs))
    return pl, vv, vs, inv + (pl.r or mpmath.mpf(1), pl.t)


def loss_v_mp(w: Sequence[Any], v: Sequence[Any], w_star: Sequence[Any],
              v_star: Sequence[Any], dps: int | None = None) -> Any:
    """:math:`\\ell(w, v)` with mpmath."""
    with _workdps(dps):
        pl, _, _, args = _v_args_mp(w, v, w_star, v_star)
        return _kernels()["loss_v" if pl.r else "loss_v0"].mp(*args)


def grad_v_mp(w: Sequence[Any], v: Sequence[Any], w_star: Sequence[Any],
              v_star: Sequence[Any], dps: int | None = None) -> VGrad:
    """:math:`(\\nabla_w\\ell, \\nabla_v\\ell)` with mpmath; ValueError where the ``w`` block
    is undefined (``w = 0``; angle 0 or pi with :math:`v\\cdot v^* \\ne 0`)."""
    with _workdps(dps):
        pl, vv, vs, args = _v_args_mp(w, v, w_star, v_star)
        if not pl.r:
            raise ValueError("the loss is not differentiable at w = 0")
        kern = _kernels()
        g = kern["G_v"].mp(*args)
        if pl.n is None and g:
            raise ValueError("the loss is not differentiable where w is parallel to w_star "
                             "(angle 0 or pi) and v.v_star != 0")
        gw = [g * x for x in pl.n] if pl.n is not None else [mpmath.mpf(0)] * len(pl.ws_hat)
        cv, c1, cs = (kern[n].mp(*args) for n in ("cv", "c1", "cs"))
        return VGrad(gw, [cv * a + c1 + cs * b for a, b in zip(vv, vs, strict=True)])


def coarse_grad_v_mp(w: Sequence[Any], v: Sequence[Any], w_star: Sequence[Any],
                     v_star: Sequence[Any], ste: str = "relu", dps: int | None = None) -> VGrad:
    """Expected coarse gradient :math:`(E g_w, E g_v)` with mpmath."""
    check_ste(ste)
    with _workdps(dps):
        pl, vv, vs, args = _v_args_mp(w, v, w_star, v_star)
        kern = _kernels()
        gw = _coarse_w_mp(pl, kern[f"alpha_v:{ste}"].mp(*args), kern[f"beta_v:{ste}"].mp(*args),
                          kern[f"beta0_v:{ste}"].mp(*args))
        if pl.r:
            cv, c1, cs = (kern[n].mp(*args) for n in ("cv", "c1", "cs"))
            gv = [cv * a + c1 + cs * b for a, b in zip(vv, vs, strict=True)]
        else:
            gv = [mpmath.mpf(0)] * len(vv)
        return VGrad(gw, gv)


def correlation_v_mp(w: Sequence[Any], v: Sequence[Any], w_star: Sequence[Any],
                     v_star: Sequence[Any], ste: str = "relu", dps: int | None = None) -> Any:
    """Full closed-form correlation with mpmath; ValueError at ``w = 0``."""
    check_ste(ste)
    with _workdps(dps):
        pl, vv, vs, args = _v_args_mp(w, v, w_star, v_star)
        if not pl.r:
            raise ValueError("the true gradient is undefined at w = 0")
        kern = _kernels()
        cv, c1, cs = (kern[n].mp(*args) for n in ("cv", "c1", "cs"))
        gv = [cv * a + c1 + cs * b for a, b in zip(vv, vs, strict=True)]
        w_block = kern[f"corr_v:{ste}"].mp(*args) if pl.n is not None else mpmath.mpf(0)
        return w_block + mpmath.fsum(x * x for x in gv)


# ------------------------------------------------------------ the sign prover
# Placed last: it only consumes SymPy expressions.

class SignCertificate(NamedTuple):
    """Outcome of :func:`prove_nonnegative`.

    ``ok``: the expression is proved :math:`\\ge 0` on the whole domain.
    ``symbolic``: factors whose sign SymPy's assumptions decide (with the sign).
    ``interval``: factors decided by interval arithmetic.
    ``boxes``: number of boxes of the final cover; ``strict_boxes``: boxes on which the
    enclosure is strictly positive; ``touching_zero``: the t-ranges of the boxes whose
    enclosure reaches 0 (merged); ``zeros``: the symbolic zero set on [0, pi] of
    each factor that depends on t only; ``failure``: why the proof failed (a box and the factor
    enclosures), or None.
    """

    ok: bool
    symbolic: tuple[tuple[sp.Expr, str], ...]
    interval: tuple[sp.Expr, ...]
    boxes: int
    strict_boxes: int
    touching_zero: tuple[tuple[float, float], ...]
    zeros: tuple[tuple[sp.Expr, Any], ...]
    failure: str | None


def _raw(x: Any) -> tuple[Any, Any]:
    a, b = x._mpi_
    return mpmath.mp.make_mpf(a), mpmath.mp.make_mpf(b)


def _imul(x: Any, y: Any) -> Any:
    """Interval product with 0 * inf = 0 (infinite ends stand for unbounded finite values)."""
    ends = []
    for a in _raw(x):
        for b in _raw(y):
            if (a == 0 and mpmath.isinf(b)) or (b == 0 and mpmath.isinf(a)):
                ends.append(iv.mpf(0))
            else:
                ends.append(iv.mpf(a) * iv.mpf(b))
    lo = min(_raw(e)[0] for e in ends)
    hi = max(_raw(e)[1] for e in ends)
    return iv.mpf([lo, hi])


def _iv_erf(x: Any) -> Any:
    """Monotone enclosure of erf: endpoints by mpmath.erf at +40 bits, padded outward."""
    lo, hi = _raw(x)
    with mpmath.mp.workprec(iv.prec + 40):
        def bound(e: Any, up: bool) -> Any:
            if mpmath.isinf(e):
                return mpmath.mpf(1 if e > 0 else -1)
            val = mpmath.erf(e)
            pad = abs(val) * mpmath.ldexp(1, -iv.prec)
            # erf has the sign of its argument and lies in [-1, 1]
            if up:
                return min(val + pad, mpmath.mpf(1) if e > 0 else mpmath.mpf(0))
            return max(val - pad, mpmath.mpf(0) if e >= 0 else mpmath.mpf(-1))

        return iv.mpf([bound(lo, False), bound(hi, True)])


def _iv_eval(expr: sp.Expr, env: dict[sp.Symbol, Any]) -> Any:
    """Rigorous enclosure of ``expr`` over the box ``env`` (mpmath.iv, outward rounding)."""
    if isinstance(expr, sp.Symbol):
        return env[expr]
    if expr.is_Integer:
        return iv.mpf(int(expr))
    if expr.is_Rational:
        return iv.mpf(int(expr.p)) / iv.mpf(int(expr.q))
    if expr is sp.pi:
        return iv.pi
    if expr is sp.E:
        return iv.e
    if isinstance(expr, sp.Add):
        out = iv.mpf(0)
        for a in expr.args:
            out = out + _iv_eval(a, env)
        return out
    if isinstance(expr, sp.Mul):
        out = iv.mpf(1)
        for a in expr.args:
            out = _imul(out, _iv_eval(a, env))
        return out
    if isinstance(expr, sp.Pow):
        base, ex = expr.args
        b = _iv_eval(base, env)
        if ex.is_Integer:
            n = int(ex)
            pw = b ** abs(n) if n else iv.mpf(1)
            return iv.mpf(1) / pw if n < 0 else pw
        if ex == sp.S.Half:
            return iv.sqrt(b)
        if ex == -sp.S.Half:
            return iv.mpf(1) / iv.sqrt(b)
        return b ** _iv_eval(ex, env)
    if isinstance(expr, sp.sin):
        return iv.sin(_iv_eval(expr.args[0], env))
    if isinstance(expr, sp.cos):
        return iv.cos(_iv_eval(expr.args[0], env))
    if isinstance(expr, sp.exp):
        return iv.exp(_iv_eval(expr.args[0], env))
    if isinstance(expr, sp.erf):
        return _iv_erf(_iv_eval(expr.args[0], env))
    if isinstance(expr, sp.erfc):
        return iv.mpf(1) - _iv_erf(_iv_eval(expr.args[0], env))
    if isinstance(expr, exp_m1):
        return iv.exp(_iv_eval(expr.args[0], env)) - 1
    if isinstance(expr, erf_ratio):
        num = _iv_eval(expr.args[0], env)
        den_lo, den_hi = _raw(_iv_eval(expr.args[1], env))
        den = iv.mpf([max(den_lo, mpmath.mpf(0)), max(den_hi, mpmath.mpf(0))])
        if _raw(den)[1] == 0:
            lo, hi = _raw(num)
            return iv.mpf([mpmath.sign(lo), mpmath.sign(hi)])
        return _iv_erf(_imul(num, iv.mpf(1) / den))
    raise NotImplementedError(f"no interval extension for {expr.func}")


def _sym_sign(f: sp.Expr) -> str | None:
    if f.is_positive:
        return "> 0"
    if f.is_nonnegative:
        return ">= 0"
    if f.is_negative:
        return "< 0"
    if f.is_nonpositive:
        return "<= 0"
    return None


def _cells(lo: Any, hi: Any, n: int) -> list[tuple[Any, Any]]:
    """A cover of [lo, hi] (mpf ends, possibly infinite) by ~n cells, geometric on
    unbounded or wide ranges."""
    lo, hi = mpmath.mpf(lo), mpmath.mpf(hi)
    if lo < 0 < hi and (mpmath.isinf(lo) or mpmath.isinf(hi)):
        return _cells(lo, 0, n) + _cells(0, hi, n)
    if mpmath.isinf(lo):  # (-inf, hi] with hi <= 0: mirror of [-hi, inf)
        return [(-b, -a) for a, b in reversed(_cells(-hi, -lo, n))]
    if mpmath.isinf(hi):
        e = 24
        start = max(lo, mpmath.ldexp(1, -e))
        pts = [lo] if lo < start else []
        pts += [start * mpmath.mpf(2) ** j for j in range(0, 2 * e + 1)]
        pts = [p for p in pts if p >= lo]
        pts.append(mpmath.inf)
        return list(zip(pts[:-1], pts[1:], strict=True))
    step = (hi - lo) / n
    pts = [lo + j * step for j in range(n)] + [hi]
    return list(zip(pts[:-1], pts[1:], strict=True))


_DEFAULT_DOMAINS: dict[sp.Symbol, tuple[Any, Any]] = {
    r: (0, mpmath.inf), k: (1, mpmath.inf),
    v_sq: (0, mpmath.inf), vs_sq: (0, mpmath.inf),
    v_dot: (-mpmath.inf, mpmath.inf), v_sum: (-mpmath.inf, mpmath.inf),
    vs_sum: (-mpmath.inf, mpmath.inf),
}


def prove_nonnegative(expr: sp.Expr, *, domains: dict[sp.Symbol, tuple[Any, Any]] | None = None,
                      t_cells: int = 16, max_boxes: int = 20000,
                      min_width: float = 1e-6) -> SignCertificate:
    r"""Prove :math:`\mathrm{expr} \ge 0` for :math:`t \in [0, \pi]` and the parameters in
    their domains (default: :data:`r` :math:`\in (0, \infty)`, :data:`k` :math:`\ge 1`, the
    invariants real), or report why not.

    Method.  ``expr`` is split into factors (:func:`sympy.factor_terms`).  Factors whose
    sign follows from the symbols' assumptions (``r > 0``, ``v_dot**2``, constants) are
    decided by SymPy.  The others are enclosed by interval arithmetic (:mod:`mpmath.iv`,
    outward rounding; erf by monotonicity) on a cover of the domain, bisecting boxes
    whose enclosure of some factor contains both signs, until the product of the
    enclosures' signs is :math:`\ge 0` on every box.  To keep the zeros of
    :math:`\sin t` at the end points of the cover, :math:`[\pi/2, \pi]` is handled as
    :math:`t = \pi - u`, :math:`u \in [0, \pi/2]` (SymPy rewrites :math:`\sin(\pi - u)
    = \sin u` exactly).  Fails (``ok=False``) if a box is certified negative, if a box
    narrower than ``min_width`` in t stays undecided, or after ``max_boxes`` boxes.

    Unbounded parameter ranges are covered by geometric cells and end cells with an
    infinite end point; the enclosures there are valid for every finite value.
    """
    doms = dict(_DEFAULT_DOMAINS)
    doms.update(domains or {})
    factors = sp.Mul.make_args(sp.factor_terms(sp.sympify(expr)))
    symbolic: list[tuple[sp.Expr, str]] = []
    interval: list[sp.Expr] = []
    neg_count = 0
    for f in factors:
        sgn = _sym_sign(f)
        if sgn is None:
            interval.append(f)
        else:
            symbolic.append((f, sgn))
            neg_count += sgn.startswith("<")
            if f.is_zero:
                return SignCertificate(True, tuple(symbolic), (), 0, 0, (), (), None)
    zeros: list[tuple[sp.Expr, Any]] = []
    for f in interval:
        if f.free_symbols == {t}:
            try:
                zeros.append((f, sp.solveset(sp.Eq(f, 0), t, sp.Interval(0, sp.pi))))
            except NotImplementedError:  # pragma: no cover
                zeros.append((f, None))
    params = sorted(set().union(*(f.free_symbols for f in interval)) - {t}, key=str) \
        if interval else []
    for p in params:
        if p not in doms:
            return SignCertificate(False, tuple(symbolic), tuple(interval), 0, 0, (), tuple(zeros),
                                   f"no domain for the symbol {p}")
    u = sp.Dummy("u", nonnegative=True)
    halves = [(tuple(interval), False),
              (tuple(sp.sympify(f).subs(t, sp.pi - u) for f in interval), True)]
    half_pi = iv.pi / 2
    t_hi = _raw(half_pi)[1]
    stack: list[tuple[int, dict[Any, tuple[Any, Any]]]] = []
    for h, (_, reflected) in enumerate(halves):
        var = u if reflected else t
        for tc in _cells(0, t_hi, t_cells):
            boxes = [{var: tc}]
            for p in params:
                p_lo, p_hi = doms[p]
                boxes = [{**b, p: pc} for b in boxes for pc in _cells(p_lo, p_hi, 8)]
            stack.extend((h, b) for b in boxes)
    n_boxes = strict = 0
    touching: list[tuple[float, float]] = []
    while stack:
        if n_boxes > max_boxes:
            return SignCertificate(False, tuple(symbolic), tuple(interval), n_boxes, strict,
                                   (), tuple(zeros), f"gave up after {max_boxes} boxes")
        h, box = stack.pop()
        fs, reflected = halves[h]
        var = u if reflected else t
        env = {s_: iv.mpf([a, b]) for s_, (a, b) in box.items()}
        encl = [_iv_eval(f, env) for f in fs]
        ends = [_raw(e) for e in encl]
        undecided = [i for i, (a, b) in enumerate(ends) if a < 0 < b or mpmath.isnan(a)]
        if undecided:
            a, b = box[var]
            if b - a < min_width:
                return SignCertificate(
                    False, tuple(symbolic), tuple(interval), n_boxes, strict, (), tuple(zeros),
                    f"undecided sign of {fs[undecided[0]]} on {_box_str(box, var, reflected)}: "
                    f"{encl[undecided[0]]}")
            stack.extend((h, child) for child in _bisect(box, var))
            continue
        n_boxes += 1
        negs = neg_count + sum(1 for a, b in ends if b <= 0 and not (a == 0 and b == 0))
        if any(a == 0 and b == 0 for a, b in ends):
            negs = 0
        if negs % 2:
            return SignCertificate(
                False, tuple(symbolic), tuple(interval), n_boxes, strict, (), tuple(zeros),
                f"non-positive on {_box_str(box, var, reflected)}: enclosures "
                + ", ".join(f"{f}: {e}" for f, e in zip(fs, encl, strict=True)))
        if all(a > 0 or b < 0 for a, b in ends):
            strict += 1
        else:
            a, b = box[var]
            lo_t, hi_t = (float(mpmath.pi - b), float(mpmath.pi - a)) if reflected \
                else (float(a), float(b))
            if all(not mpmath.isinf(c) for p in params for c in box[p]):
                touching.append((lo_t, hi_t))
    return SignCertificate(True, tuple(symbolic), tuple(interval), n_boxes, strict,
                           _merge(touching), tuple(zeros), None)


def _bisect(box: dict[Any, tuple[Any, Any]], var: Any) -> list[dict[Any, tuple[Any, Any]]]:
    a, b = box[var]
    mid = (a + b) / 2
    return [{**box, var: (a, mid)}, {**box, var: (mid, b)}]


def _box_str(box: dict[Any, tuple[Any, Any]], var: Any, reflected: bool) -> str:
    parts = []
    for s_, (a, b) in box.items():
        if s_ is var and reflected:
            parts.append(f"t in [pi - {mpmath.nstr(b, 8)}, pi - {mpmath.nstr(a, 8)}]")
        else:
            name = "t" if s_ is var else str(s_)
            parts.append(f"{name} in [{mpmath.nstr(a, 8)}, {mpmath.nstr(b, 8)}]")
    return ", ".join(parts)


def _merge(spans: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1e-15:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def correlation_certificate(ste: str, *, general: bool = False, **kwargs: Any) -> SignCertificate:
    r""":func:`prove_nonnegative` applied to :func:`correlation_expr` (or, with
    ``general=True``, the ``w`` block :func:`correlation_v_expr`)."""
    expr = correlation_v_expr(ste) if general else correlation_expr(ste)
    return prove_nonnegative(expr, **kwargs)



