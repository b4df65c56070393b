r"""Thresholding operators: penalties, proximal maps, thresholds, Moreau envelopes.

For a penalty :math:`P` and a step :math:`\tau \ge 0` the proximal map is

.. math:: \operatorname{prox}_{\tau P}(y) = \operatorname*{argmin}_x\ \tau P(x) + \tfrac12 (x-y)^2,
          \qquad e_\tau(y) = \min_x\ P(x) + \frac{(x-y)^2}{2\tau},

the Moreau envelope of :math:`P` with parameter :math:`\tau` (:math:`e_0 = P`), so that
:math:`e_\tau'(y) = (y - \operatorname{prox}_{\tau P}(y))/\tau` where the prox is single-valued.

Penalties (``Penalty(name, ...)``; the derivations are in ``proofs_notes/thresholding.md``)

* ``l1``  :math:`|x|`; soft threshold at :math:`\tau`.
* ``l0``  :math:`[x \ne 0]`; hard threshold at :math:`\sqrt{2\tau}` (quoted, P7; derived here).
* ``tl1`` :math:`\rho_a(x) = (a+1)|x|/(a+|x|)`, :math:`a > 0` (P5 Zhang & Xin; closed form
  re-derived here, stable form derived here).
* ``lp``  :math:`|x|^p`, :math:`p \in \{1/2, 2/3\}` (Xu et al. 2012, Cao et al. 2013; both
  re-derived here in a scale-free form).
* ``mcp`` :math:`|x| - x^2/(2\gamma)` for :math:`|x| \le \gamma`, :math:`\gamma/2` beyond
  (Zhang 2010 with :math:`\lambda = 1`), :math:`\gamma > 1`.
* ``scad`` :math:`|x|` on :math:`[0,1]`, :math:`(2a|x| - x^2 - 1)/(2(a-1))` on :math:`[1,a]`,
  :math:`(a+1)/2` beyond (Fan & Li 2001 with :math:`\lambda = 1`), :math:`a > 2`.

The threshold formulas of every case (regimes, jump points and heights) are derived here
(``proofs_notes/thresholding.md``); the ``gamma > 1`` and ``a > 2`` conditions are the
classical ones (firm / Fan-Li threshold at :math:`\tau = 1`), enforced as the issue asks.
* ``l1-l2`` :math:`\lVert x\rVert_1 - \alpha \lVert x\rVert_2` on the last axis,
  :math:`0 \le \alpha \le 1` (Lou & Yan 2018; quoted, checked against a support enumeration).

For MCP and SCAD the step :math:`\tau` multiplies the whole penalty, so the prox is the firm
(resp. Fan-Li) threshold only while :math:`\tau < \gamma` (resp. :math:`\tau < a-1`); larger steps
give a discontinuous prox, handled exactly here (the case public code gets wrong).

Group versions (``Penalty.group_*``) apply a scalar penalty to the Euclidean norms of disjoint
index groups: :math:`x_g = \operatorname{prox}_{\tau P}(\lVert y_g\rVert)\, y_g/\lVert y_g\rVert`
(0 when :math:`y_g = 0`); coordinates in no group are not penalised.

Backends
--------
NumPy (float32/float64) and torch tensors (any device) go through one generic, elementwise
code path (array-API namespace): no host synchronisation, no Python branch on tensor values,
dtype and device kept.  Python / mpmath numbers (or lists of them) go through the *same*
formulas with an mpmath adapter, at the caller's working precision (64 guard bits inside).
Thresholds and other parameter-only constants are computed once with mpmath (exact products
where a cancellation could occur) and rounded once to the working precision.

Tie rule
--------
Where two minimisers tie (``|y|`` equal to the jump point of a discontinuous prox) the map
returns the one of **smaller magnitude** (0 for l0, TL1, lp, MCP and SCAD with large steps).
The comparison is ``|y| > t`` with ``t`` the jump point rounded once to the working dtype,
identically in every backend.  For ``l1-l2`` with several maximal ``|y_i|`` in the 1-sparse
regime, the first such index is kept (``argmax`` order).

Parameters are Python/mpmath scalars (``tau``, ``a``, ``p``, ``gamma``, ``alpha``); array
parameters are not supported.  On the array path they enter the arithmetic in the dtype of
``y`` (``tau`` is rounded to float32 for float32 input, so a ``tau`` below the float32 range
acts as 0); they should be representable there.  Inputs must be finite: the array path does
not inspect ``y`` (NaN in gives NaN out, without a host sync), the mpmath path checks it.
No NaN for finite input (0, the thresholds, the critical TL1 step, ``a`` from the smallest
subnormal to 1e300, subnormal and huge ``y``); autograd through the envelope is the exact
envelope gradient, autograd through the prox itself may overflow at extreme scales.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple, TypeAlias

import array_api_compat.numpy as _NPX
import mpmath
from array_api_compat import device as _device

from theory.backends import namespace

__all__ = ["PENALTIES", "Penalty", "Threshold"]

PENALTIES: tuple[str, ...] = ("l1", "l0", "tl1", "lp", "mcp", "scad", "l1-l2")
_SCALAR = ("l1", "l0", "tl1", "lp", "mcp", "scad")
_PARAMS: dict[str, tuple[str, ...]] = {
    "l1": (), "l0": (), "tl1": ("a",), "lp": ("p",), "mcp": ("gamma",), "scad": ("a",),
    "l1-l2": ("alpha",),
}
_GUARD_BITS = 64
_PLAN_DPS = 40
_HALF, _TWO_THIRDS = Fraction(1, 2), Fraction(2, 3)

Real: TypeAlias = "float | int | str | mpmath.mpf"


# ----------------------------------------------------------------------------- adapters


class _MpNamespace:
    """The few array-API functions the shared formulas use, on mpmath scalars.

    ``where`` evaluates both branches (as the array version does), so the formulas keep
    every branch inside its domain: no division by zero, no sqrt/asin of out-of-range values.
    """

    pi = mpmath.pi

    @staticmethod
    def where(cond: bool, a: Any, b: Any) -> Any:
        return a if cond else b

    @staticmethod
    def clip(x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002 - array-API names
        if min is not None and x < min:
            x = mpmath.mpf(min)
        if max is not None and x > max:
            x = mpmath.mpf(max)
        return x

    @staticmethod
    def minimum(a: Any, b: Any) -> Any:
        return a if a <= b else b

    @staticmethod
    def divide(a: Any, b: Any) -> Any:
        return a / b

    @staticmethod
    def zeros_like(x: Any) -> Any:
        return mpmath.mpf(0)

    @staticmethod
    def ones_like(x: Any) -> Any:
        return mpmath.mpf(1)

    abs = staticmethod(mpmath.fabs)
    sign = staticmethod(mpmath.sign)
    sqrt = staticmethod(mpmath.sqrt)
    sin = staticmethod(mpmath.sin)
    cos = staticmethod(mpmath.cos)
    asin = staticmethod(mpmath.asin)
    cbrt = staticmethod(mpmath.cbrt)


_MP = _MpNamespace()

# The formulas divide a Python scalar by an array only through ``xp.divide``: torch evaluates
# ``c / t`` as ``c * reciprocal(t)``, which is inf * 0 = NaN for a subnormal t and c = 0.


def _clip(xp: Any, x: Any, lo: Any = None, hi: Any = None) -> Any:
    """``clip`` with scalar or array bounds (NumPy's ``clip`` costs ~10x ``maximum``)."""
    if xp is _NPX:
        if lo is not None:
            x = xp.maximum(x, lo)
        return x if hi is None else xp.minimum(x, hi)
    return xp.clip(x, lo, hi)


def _sqrt0(xp: Any, x: Any) -> Any:
    """``sqrt`` of ``x >= 0`` with a safe operand at 0, so that autograd gives 0, not NaN, where
    an argument underflows to exactly 0."""
    pos = x > 0
    return xp.where(pos, xp.sqrt(xp.where(pos, x, xp.ones_like(x))), xp.zeros_like(x))


def _cbrt(xp: Any, x: Any) -> Any:
    r"""Real cube root of ``x > 0``.  Torch has no ``cbrt``; ``x ** (1/3)`` is off by
    :math:`|\ln x|\,\delta` relative (:math:`\delta` = the rounding of 1/3: 47 ulp at
    :math:`10^{-243}`), so one Newton step :math:`c \leftarrow (2c + x/c^2)/3` follows."""
    f = getattr(xp, "cbrt", None)
    if f is not None:
        return f(x)
    c = x ** (1 / 3)
    return (2 * c + x / (c * c)) / 3


_NS_CACHE: dict[type, Any] = {}


def _ns(*arrays: Any) -> Any:
    """:func:`theory.backends.namespace`, memoised on the array type (it depends on nothing
    else; the lookup costs tens of microseconds, as much as a small prox)."""
    kind = type(arrays[0])
    xp = _NS_CACHE.get(kind)
    if xp is None or any(type(a) is not kind for a in arrays[1:]):
        xp = namespace(*arrays)
        if len(arrays) == 1:
            _NS_CACHE[kind] = xp
    return xp


def _is_array(v: Any) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, mpmath.mpf)


# ---------------------------------------------------------------------------- validation


def _to_mpf(name: str, value: Any) -> mpmath.mpf:
    if isinstance(value, bool) or _is_array(value) and getattr(value, "ndim", 0) != 0:
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        v = mpmath.mpf(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not mpmath.isfinite(v):
        raise ValueError(f"{name} must be finite (not NaN or inf), got {value!r}")
    return v


def _check_tau(tau: Any) -> float:
    """tau as a float (after checking it at full precision)."""
    if type(tau) is float and 0 <= tau < math.inf:
        return tau
    v = _to_mpf("tau", tau)
    if v < 0:
        raise ValueError(f"tau must be >= 0, got {tau!r}")
    return float(v)


def _check_p(p: Any) -> Fraction:
    if isinstance(p, Fraction):
        frac = p
    elif isinstance(p, str) and "/" in p:
        try:
            frac = Fraction(p.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"p must be 1/2 or 2/3, got {p!r}") from None
    else:
        v = float(_to_mpf("p", p))
        frac = _HALF if v == 0.5 else _TWO_THIRDS if v == 2 / 3 else Fraction(v)
    if frac not in (_HALF, _TWO_THIRDS):
        raise ValueError(f"p must be 1/2 or 2/3, got {p!r}")
    return frac


_RULES: dict[tuple[str, str], tuple[Callable[[mpmath.mpf], bool], str]] = {
    ("tl1", "a"): (lambda v: v > 0, "> 0"),
    ("scad", "a"): (lambda v: v > 2, "> 2"),
    ("mcp", "gamma"): (lambda v: v > 1, "> 1"),
    ("l1-l2", "alpha"): (lambda v: 0 <= v <= 1, "in [0, 1]"),
}


# --------------------------------------------------------------------------------- plans


class _Plan(NamedTuple):
    """Parameter-only constants: thresholds and the coefficient of a linear middle piece."""

    zero: Any
    jump_at: Any
    jump: Any
    knots: tuple[Any, ...]
    continuous: bool
    coef: Any


@dataclass(frozen=True)
class Threshold:
    r"""Where :math:`|y| \mapsto |\operatorname{prox}_{\tau P}(y)|` changes regime.

    ``zero``: the prox is 0 exactly for :math:`|y| \le` ``zero``.  ``jump_at``: where the prox
    jumps (``None`` if continuous); ``jump``: the height of that jump (0 if continuous).
    ``knots``: every breakpoint, ascending.  For ``l1-l2`` these refer to
    :math:`\lVert y\rVert_\infty`, for group penalties to the group norms.
    """

    zero: Any
    jump_at: Any
    jump: Any
    knots: tuple[Any, ...]
    continuous: bool


def _plan_mp(name: str, prm: dict[str, Any], tau: mpmath.mpf) -> _Plan:
    r"""Thresholds at the working precision (see ``proofs_notes/thresholding.md``, derived here).

    Differences that can cancel (e.g. :math:`2\tau(a+1) - a^2` at the critical TL1 step) are
    formed exactly (``exact=True``) and rounded once.
    """
    z = mpmath.mpf(0)
    ex = functools.partial(mpmath.fmul, exact=True)
    add = functools.partial(mpmath.fadd, exact=True)
    sub = functools.partial(mpmath.fsub, exact=True)
    if tau == 0:
        return _Plan(z, None, z, (z,), True, z)
    if name == "l1":
        return _Plan(tau, None, z, (tau,), True, z)
    if name == "l0":
        t = mpmath.sqrt(2 * tau)
        return _Plan(t, t, t, (t,), False, z)
    if name == "tl1":
        a = prm["a"]
        s2 = ex(2 * tau, add(a, 1))
        d = sub(s2, ex(a, a))
        if d <= 0:  # tau <= a^2 / (2 (a + 1)): continuous
            t = mpmath.fdiv(ex(tau, add(a, 1)), a)
            return _Plan(t, None, z, (t,), True, z)
        s = mpmath.sqrt(s2)
        t = s - a / 2
        return _Plan(t, t, d / (s + a), (t,), False, z)
    if name == "lp":
        if prm["p"] == _HALF:
            j = mpmath.cbrt(ex(tau, tau))
            t = 3 * j / 2
        else:
            j = mpmath.power(2 * tau / 3, mpmath.mpf(3) / 4)
            t = 2 * j
        return _Plan(t, t, j, (t,), False, z)
    if name == "mcp":
        g = prm["gamma"]
        if tau < g:
            return _Plan(tau, None, z, (tau, g), True, g / sub(g, tau))
        t = mpmath.sqrt(ex(tau, g))
        return _Plan(t, t, t, (t,), False, z)
    if name == "scad":
        a = prm["a"]
        if tau < sub(a, 1):
            knee = add(tau, 1)
            return _Plan(tau, None, z, (tau, +knee, a), True, tau / sub(sub(a, 1), tau))
        if tau <= add(a, 1):
            t = add(add(a, 1), tau) / 2
            return _Plan(tau, t, tau, (tau, t), False, z)
        t = mpmath.sqrt(ex(tau, add(a, 1)))
        return _Plan(t, t, t, (t,), False, z)
    # l1-l2: thresholds on ||y||_inf
    alpha = prm["alpha"]
    t0 = ex(sub(1, alpha), tau)
    return _Plan(+t0, None, z, (+t0, tau), alpha == 0, z)


@functools.lru_cache(maxsize=4096)
def _plan_float(name: str, prm_items: tuple[tuple[str, Any], ...], tau: float) -> _Plan:
    with mpmath.mp.workdps(_PLAN_DPS):
        prm = {k: (v if isinstance(v, Fraction) else mpmath.mpf(v)) for k, v in prm_items}
        pl = _plan_mp(name, prm, mpmath.mpf(tau))

    def f(v: Any) -> Any:
        return None if v is None else float(v)

    return _Plan(f(pl.zero), f(pl.jump_at), f(pl.jump), tuple(float(k) for k in pl.knots),
                 pl.continuous, f(pl.coef))


# ---------------------------------------------------------------- shared formulas (derived)


def _tl1_upper(xp: Any, y: Any, tau: Any, a: Any) -> Any:
    r"""The largest stationary point of the TL1 objective, for :math:`|y| = y \ge t > 0`.

    P5's closed form :math:`g = \tfrac23(a+y)\cos(\varphi/3) - \tfrac{2a}3 + \tfrac y3`,
    :math:`\varphi = \arccos(1 - 27\tau a(a+1)/(2(a+y)^3))`, rewritten (derived here) as

    .. math:: g(y) = y - \frac{b}{(1 - \tfrac43\sin^2(\theta/3))^2},\qquad
              b = \frac{\tau a(a+1)}{(a+y)^2},\quad
              \theta = \arcsin\sqrt{\tfrac{27}{4}\,\frac{b}{a+y}} = \varphi/2 .

    :math:`b` is the shrinkage to first order (:math:`g \approx y - \tau\rho_a'(y)`), the
    divisor a correction in :math:`[4/9, 1]`, so the shrinkage never underflows through an
    intermediate :math:`\tau a(a+1)/(a+y)^3` (float32 with :math:`a = 10^{15}`,
    :math:`\tau = 10^{-30}` lost it completely in the theory.md form
    :math:`y - \tfrac43(a+y)\sin^2(\varphi/6)`).  With :math:`h = (a+y)/2` every factor is
    a bounded ratio: no overflow for any finite input.  Rounding can push the arcsin argument
    past 1 at the critical step, hence the clip.
    """
    h = a / 2 + y / 2
    b = (tau * xp.divide((a + 1) / 2, h)) * (xp.divide(a, h) / 2)
    sig = xp.sin(xp.asin(_sqrt0(xp, _clip(xp, 27 * (b / h) / 8, 0, 1))) / 3)
    d = 1 - 4 * (sig * sig) / 3
    return y - b / (d * d)


def _lp_half_upper(xp: Any, y: Any, tau: Any) -> Any:
    r"""Largest root of :math:`\tau/(2\sqrt x) + x - y = 0` for :math:`y \ge \tfrac32\tau^{2/3}`.

    With :math:`x = s^2`: :math:`s^3 - ys + \tau/2 = 0`, trigonometric solution
    :math:`x = \tfrac43 y \cos^2(\pi/6 + \theta/3)`,
    :math:`\theta = \arcsin\kappa`, :math:`\kappa^2 = 27\tau^2/(16 y^3) \le 1/2` (derived here;
    equivalent to Xu et al. 2012 with :math:`\lambda = 2\tau`).  Scale-free: :math:`x/y`
    depends on :math:`\kappa` only.
    """
    r = xp.divide(tau, y)
    k2 = 27 * (r * r / y) / 16
    c = xp.cos(xp.pi / 6 + xp.asin(_sqrt0(xp, _clip(xp, k2, 0, 1))) / 3)
    return y * (4 * (c * c) / 3)


def _lp_two_thirds_upper(xp: Any, y: Any, tau: Any) -> Any:
    r"""Largest root of :math:`\tfrac23\tau x^{-1/3} + x - y = 0`, :math:`y \ge 2(2\tau/3)^{3/4}`.

    With :math:`x = y\,u^3` and :math:`\varepsilon = (2\tau/3)\,y^{-4/3} \le 2^{-4/3}`, Ferrari's
    resolvent :math:`\mu^3 - \varepsilon\mu - 1/8 = 0` has one real root, taken in Cardano's
    cancellation-free form :math:`\mu = w + \varepsilon/(3w)`,
    :math:`w = \sqrt[3]{1/16 + \sqrt{1/256 - \varepsilon^3/27}}`; then with
    :math:`A = \sqrt{2\mu}`: :math:`u = (A + \sqrt{2/A - A^2})/2` (derived here; equivalent to
    Cao et al. 2013 with :math:`\lambda = 2\tau`, which overflows for small :math:`\tau`).
    """
    eps = 2 * xp.divide(tau, y) / 3 / _cbrt(xp, y)
    e3 = eps * eps * eps / 27
    w = _cbrt(xp, 1 / 16 + xp.sqrt(_clip(xp, 1 / 256 - e3, 0, None)))
    mu = w + eps / (3 * w)
    big_a = xp.sqrt(2 * mu)
    u = (big_a + xp.sqrt(_clip(xp, xp.divide(2, big_a) - 2 * mu, 0, None))) / 2
    return y * (u * u * u)


def _magnitude(xp: Any, name: str, y: Any, tau: Any, prm: dict[str, Any], pl: _Plan) -> Any:
    """``|prox(y)|`` as a function of ``y = |y| >= 0`` (elementwise, every backend)."""
    zero = xp.zeros_like(y)
    if name == "l1":
        return _clip(xp, y - tau, 0, None)
    if name == "l0":
        return xp.where(y > pl.jump_at, y, zero)
    if name == "mcp" and pl.continuous:  # firm threshold; the middle piece only on [0, gamma]
        ym = _clip(xp, y, None, prm["gamma"])
        mid = xp.minimum(_clip(xp, ym - tau, 0, None) * pl.coef, ym)
        return xp.where(y > prm["gamma"], y, mid)
    if name == "scad" and pl.continuous:  # Fan-Li; the middle piece only on [0, a]
        ym = _clip(xp, y, None, prm["a"])
        mid = xp.minimum(ym + pl.coef * (ym - prm["a"]), ym)
        soft = _clip(xp, y - tau, 0, None)
        return xp.where(y > prm["a"], y, xp.where(y > pl.knots[1], mid, soft))
    if name in ("mcp", "scad"):  # discontinuous: soft (or 0) below the jump, identity above
        return xp.where(y > pl.jump_at, y, _clip(xp, y - tau, 0, None))
    t = pl.zero
    ys = _clip(xp, y, t, None)  # the upper branch is only ever evaluated on [t, inf)
    if name == "tl1":
        up = _tl1_upper(xp, ys, tau, prm["a"])
    elif prm["p"] == _HALF:
        up = _lp_half_upper(xp, ys, tau)
    else:
        up = _lp_two_thirds_upper(xp, ys, tau)
    return xp.where(y > t, xp.minimum(_clip(xp, up, 0, None), ys), zero)


def _value(xp: Any, name: str, x: Any, prm: dict[str, Any]) -> Any:
    """The scalar penalty, elementwise (every backend)."""
    ax = xp.abs(x)
    if name == "l1":
        return ax
    if name == "l0":
        return xp.where(ax > 0, xp.ones_like(ax), xp.zeros_like(ax))
    if name == "tl1":
        a = prm["a"]
        if a >= 1:  # |x| times a ratio in (0, 2]: nothing under- or overflows on the way
            return ax * xp.divide((a + 1) / 2, a / 2 + ax / 2)
        pos = ax > 0  # (a+1) < 2 times |x|/(a+|x|) in [0, 1); the guard keeps 0/0 away
        r = ax / (a + xp.where(pos, ax, xp.ones_like(ax)))
        return (a + 1) * xp.where(pos, r, xp.zeros_like(ax))
    if name == "lp":  # at 0 through a safe operand: value 0, autograd slope 0 (not inf * 0)
        pos = ax > 0
        axs = xp.where(pos, ax, xp.ones_like(ax))
        if prm["p"] == _HALF:
            return xp.where(pos, xp.sqrt(axs), xp.zeros_like(ax))
        c = _cbrt(xp, axs)
        return xp.where(pos, c * c, xp.zeros_like(ax))
    if name == "mcp":
        g = prm["gamma"]
        m = _clip(xp, ax, None, g)
        return m * (1 - m / (2 * g))
    a = prm["a"]
    m = _clip(xp, ax, None, a)  # middle piece as m - (m-1)^2/(2(a-1)): no cancellation near 1
    return xp.where(m <= 1, m, m - (m - 1) * ((m - 1) / (2 * (a - 1))))


# -------------------------------------------------------------------------------- penalty


@dataclass(frozen=True)
class Penalty:
    r"""A penalty :math:`P` with its parameters; validated on construction.

    ``Penalty("tl1", a=1.0).prox(y, tau)`` etc.  Parameters may be floats, ints, decimal
    strings (parsed at the working precision on the mpmath path) or mpf; ``p`` also
    ``"1/2"``, ``"2/3"`` or a :class:`fractions.Fraction`.  Bad input raises
    :class:`ValueError` naming the parameter.

    Backend dispatch (every method): NumPy arrays / torch tensors use the array path
    (elementwise; last axis for ``l1-l2``; dtype and device kept); Python or mpmath numbers
    return an mpf at the working precision; lists/tuples of numbers return a list of mpf.
    """

    name: str
    a: Real | None = None
    p: Real | Fraction | None = None
    gamma: Real | None = None
    alpha: Real | None = None

    def __post_init__(self) -> None:
        if self.name not in PENALTIES:
            raise ValueError(f"penalty must be one of {', '.join(PENALTIES)}, got {self.name!r}")
        wanted = _PARAMS[self.name]
        for par in ("a", "p", "gamma", "alpha"):
            v = getattr(self, par)
            if par in wanted and v is None:
                raise ValueError(f"penalty {self.name} needs parameter {par}")
            if par not in wanted and v is not None:
                raise ValueError(f"parameter {par} does not apply to penalty {self.name}")
        for par in wanted:
            if par == "p":
                _check_p(self.p)
                continue
            with mpmath.mp.workprec(256):
                v = _to_mpf(par, getattr(self, par))
                ok, text = _RULES[(self.name, par)]
                if not ok(v):
                    raise ValueError(
                        f"{par} must be {text} for penalty {self.name}, got {getattr(self, par)!r}"
                    )

    # -- parameters per backend
    def _prm_items(self) -> tuple[tuple[str, Any], ...]:
        """Parameters as floats (``p`` as a Fraction), computed once per instance."""
        cached = self.__dict__.get("_items")
        if cached is None:
            cached = tuple((par, _check_p(self.p) if par == "p" else float(_to_mpf(par, v)))
                           for par in _PARAMS[self.name] for v in [getattr(self, par)])
            object.__setattr__(self, "_items", cached)
        return cached

    def _prm_mp(self) -> dict[str, Any]:
        return {par: _check_p(self.p) if par == "p" else mpmath.mpf(getattr(self, par))
                for par in _PARAMS[self.name]}

    def _float_plan(self, tau: Any, y: Any = None) -> tuple[float, dict[str, Any], _Plan]:
        t = _check_tau(tau) if y is None else _tau_for(y, tau)
        items = self._prm_items()
        return t, dict(items), _plan_float(self.name, items, t)

    # -- public API
    def threshold(self, tau: Real, *, mp: bool | None = None) -> Threshold:
        """Thresholds of ``prox_{tau P}`` (floats, or mpf at the working precision if ``mp``;
        ``mp=None`` means: mpf iff ``tau`` is an mpf)."""
        _check_tau(tau)
        if mp is None:
            mp = isinstance(tau, mpmath.mpf)
        if not mp:
            pl = self._float_plan(tau)[2]
        else:
            prm = self._prm_mp()
            with mpmath.mp.workprec(mpmath.mp.prec + _GUARD_BITS):
                pl = _plan_mp(self.name, prm, mpmath.mpf(tau))
            pl = _Plan(_round(pl.zero), _round(pl.jump_at), _round(pl.jump),
                       tuple(+k for k in pl.knots), pl.continuous, _round(pl.coef))
        return Threshold(pl.zero, pl.jump_at, pl.jump, pl.knots, pl.continuous)

    def is_continuous(self, tau: Real) -> bool:
        """Whether ``y -> prox_{tau P}(y)`` is continuous (``l1-l2``: on vectors of length >= 2)."""
        return self.threshold(tau).continuous

    def value(self, x: Any) -> Any:
        """:math:`P(x)`: elementwise, or along the last axis for ``l1-l2``."""
        if _is_array(x):
            xp = _ns(x)
            _check_float(xp, x, "x")
            prm = dict(self._prm_items())
            if self.name == "l1-l2":
                return _l1l2_value(xp, x, prm["alpha"])
            return _value(xp, self.name, x, prm)
        prm = self._prm_mp()
        if self.name == "l1-l2":
            xs = _mp_vector("x", x)
            return _guard(lambda: _l1l2_value_mp(xs, prm["alpha"]))
        return _map_mp(lambda v: _guard(lambda: _value(_MP, self.name, v, prm)), "x", x)

    def prox(self, y: Any, tau: Real) -> Any:
        r""":math:`\operatorname{prox}_{\tau P}(y)` (see the module docstring for the tie rule)."""
        if _is_array(y):
            xp = _ns(y)
            _check_float(xp, y, "y")
            t, prm, pl = self._float_plan(tau, y)
            if t == 0:
                return y * 1
            if self.name == "l1-l2":
                return _l1l2_prox(xp, y, t, prm["alpha"], pl)
            return xp.sign(y) * _magnitude(xp, self.name, xp.abs(y), t, prm, pl)
        _check_tau(tau)
        if self.name == "l1-l2":
            return self._l1l2_prox_mp(_mp_vector("y", y), tau)
        return _map_mp(lambda v: self._prox1_mp(v, tau), "y", y)

    def moreau(self, y: Any, tau: Real) -> Any:
        r"""Moreau envelope :math:`e_\tau(y) = \min_x P(x) + (x-y)^2/(2\tau)` (summed along the
        last axis for ``l1-l2``); :math:`e_0 = P`.

        Evaluated at :math:`x = \operatorname{prox}_{\tau P}(y)` as
        :math:`P(x) + q^2`, :math:`q = (x-y)/\sqrt{2\tau}`: every term is >= 0 (no cancellation)
        and :math:`q^2` overflows only when the envelope does.  Autograd (torch) treats
        :math:`x` as a constant, so the gradient is exactly the envelope-theorem gradient
        :math:`e_\tau'(y) = (y - x)/\tau` wherever the prox is single-valued, also where
        differentiating through the closed form would overflow.
        """
        if _is_array(y):
            xp = _ns(y)
            t = _tau_for(y, tau)
            if t == 0:
                return self.value(y)
            x = _stop_gradient(self.prox(y, t))
            q = (x - y) / (math.sqrt(2.0) * math.sqrt(t))
            if self.name == "l1-l2":
                return self.value(x) + xp.sum(q * q, axis=-1)
            return self.value(x) + q * q
        _check_tau(tau)
        if mpmath.mpf(tau) == 0:
            return self.value(y)
        x = self.prox(y, tau)

        def env() -> Any:
            tm = mpmath.mpf(tau)
            if self.name == "l1-l2":
                return self.value(x) + _sqdist_mp(x, _mp_vector("y", y)) / (2 * tm)
            if isinstance(y, (list, tuple)):
                pairs = zip(x, _mp_vector("y", y), strict=True)
                return [self.value(a) + (a - b) ** 2 / (2 * tm) for a, b in pairs]
            return self.value(x) + (x - _to_mpf("y", y)) ** 2 / (2 * tm)

        return _guard(env)

    # -- group versions
    def group_value(self, x: Any, groups: Sequence[Sequence[int]]) -> Any:
        r""":math:`\sum_g P(\lVert x_g\rVert_2)` (last axis; array in, array of ``shape[:-1]``)."""
        self._scalar_only()
        if _is_array(x):
            xp = _ns(x)
            _check_float(xp, x, "x")
            gs = _check_groups(groups, x.shape[-1])
            prm = dict(self._prm_items())
            total = xp.zeros_like(x[..., 0])
            for idx in gs:
                if self.name == "lp":
                    # |m s|^p = |m|^p |s|^p: the norm m s can be subnormal, rounded to a grid far
                    # coarser than its p-th power's, while m (an entry) and s are exact enough
                    ia = xp.asarray(idx, device=_device(x))
                    m, s = _scaled_norm(xp, xp.take(x, ia, axis=-1))
                    total = total + _value(xp, "lp", m, prm) * _value(xp, "lp", s, prm)
                else:
                    total = total + _value(xp, self.name, _group_norm(xp, x, idx)[..., 0], prm)
            return total
        xs = _mp_vector("x", x)
        gs = _check_groups(groups, len(xs))
        prm = self._prm_mp()
        return _guard(lambda: mpmath.fsum(_value(_MP, self.name, _norm_mp([xs[i] for i in g]), prm)
                                          for g in gs))

    def group_prox(self, y: Any, tau: Real, groups: Sequence[Sequence[int]]) -> Any:
        r""":math:`x_g = \operatorname{prox}_{\tau P}(\lVert y_g\rVert)\,y_g/\lVert y_g\rVert`."""
        self._scalar_only()
        if _is_array(y):
            xp = _ns(y)
            _check_float(xp, y, "y")
            gs = _check_groups(groups, y.shape[-1])
            t, prm, pl = self._float_plan(tau, y)
            if t == 0:
                return y * 1
            factor = xp.ones_like(y)
            for idx in gs:
                r = _group_norm(xp, y, idx)
                pos = r > 0
                rs = xp.where(pos, r, xp.ones_like(r))
                f = xp.where(pos, _magnitude(xp, self.name, rs, t, prm, pl) / rs, xp.zeros_like(r))
                factor[..., idx] = f
            return y * factor
        ys = _mp_vector("y", y)
        gs = _check_groups(groups, len(ys))
        _check_tau(tau)

        def gprox() -> list[Any]:
            out = list(ys)
            for g in gs:
                r = _norm_mp([ys[i] for i in g])
                m = self._prox1_mp(r, tau) if r > 0 else mpmath.mpf(0)
                for i in g:
                    out[i] = m * ys[i] / r if r > 0 else mpmath.mpf(0)
            return out

        return _guard(gprox)

    def group_moreau(self, y: Any, tau: Real, groups: Sequence[Sequence[int]]) -> Any:
        r"""Moreau envelope of :math:`\sum_g P(\lVert\cdot_g\rVert)` with parameter
        :math:`\tau`, at the group prox (as :meth:`moreau`)."""
        if _is_array(y):
            xp = _ns(y)
            t = _tau_for(y, tau)
            if t == 0:
                return self.group_value(y, groups)
            x = _stop_gradient(self.group_prox(y, t, groups))
            q = (x - y) / (math.sqrt(2.0) * math.sqrt(t))
            return self.group_value(x, groups) + xp.sum(q * q, axis=-1)
        _check_tau(tau)
        ys = _mp_vector("y", y)
        if mpmath.mpf(tau) == 0:
            return self.group_value(ys, groups)
        x = self.group_prox(ys, tau, groups)
        return _guard(lambda: self.group_value(x, groups)
                      + _sqdist_mp(x, ys) / (2 * mpmath.mpf(tau)))

    # -- mpmath internals
    def _scalar_only(self) -> None:
        if self.name not in _SCALAR:
            raise ValueError(f"group versions take a scalar penalty ({', '.join(_SCALAR)}), "
                             f"got {self.name}")

    def _prox1_mp(self, y: Any, tau: Real) -> mpmath.mpf:
        prm = self._prm_mp()
        if mpmath.mpf(tau) == 0:
            return +y

        prec = mpmath.mp.prec

        def one() -> Any:
            tm = mpmath.mpf(tau)
            pl = _plan_mp(self.name, prm, tm)
            with mpmath.mp.workprec(prec):  # compare with the thresholds as threshold() reports
                pl = pl._replace(zero=+pl.zero, jump_at=_round(pl.jump_at),
                                 knots=tuple(+k for k in pl.knots))
            return mpmath.sign(y) * _magnitude(_MP, self.name, mpmath.fabs(y), tm, prm, pl)

        return _guard(one)

    def _l1l2_prox_mp(self, ys: list[mpmath.mpf], tau: Real) -> list[mpmath.mpf]:
        alpha = mpmath.mpf(self.alpha)
        with mpmath.mp.workprec(mpmath.mp.prec + _GUARD_BITS):
            tm = mpmath.mpf(tau)
            if tm == 0:
                return [+v for v in ys]
            pl = _plan_mp("l1-l2", {"alpha": alpha}, tm)
            mags = [mpmath.fabs(v) for v in ys]
            ymax = max(mags)
            if ymax > tm:
                z = [mpmath.sign(v) * max(m - tm, 0) for v, m in zip(ys, mags, strict=True)]
                nz = _norm_mp(z)
                out = [v * (1 + tm * alpha / nz) for v in z]
            else:
                i = mags.index(ymax)
                out = [mpmath.mpf(0)] * len(ys)
                out[i] = mpmath.sign(ys[i]) * max(ymax - pl.zero, 0)
        return [+v for v in out]


# ------------------------------------------------------------------------- vector helpers


def _l1l2_value(xp: Any, x: Any, alpha: Any) -> Any:
    r""":math:`\lVert x\rVert_1 - \alpha\lVert x\rVert_2` without cancellation (derived here):

    .. math:: \lVert x\rVert_1 - \alpha\lVert x\rVert_2 = \sum_j b_j\,
              \frac{2|x|_{(j)}}{\lVert x\rVert_1 + \lVert x\rVert_2}
              + (1-\alpha)\lVert x\rVert_2, \qquad b_j = \sum_{i<j} |x|_{(i)},

    (:math:`|x|_{(j)}` ascending; :math:`\lVert x\rVert_1^2 - \lVert x\rVert_2^2 =
    2\sum_{i<j}|x_i||x_j|`), all terms >= 0: the direct difference loses every digit for
    :math:`\alpha \to 1` and nearly 1-sparse :math:`x`, which is where the prox lands.  In
    ascending order each ratio carries the larger factor, so no small entry is divided by the
    largest one (which would push it into the subnormal range); entries within :math:`2^{30}`
    of the dtype's overflow are scaled by :math:`2^{-40}` first (exact), so sums cannot overflow.
    """
    u = xp.sort(xp.abs(x), axis=-1)
    big = u[..., -1:] > float(xp.finfo(u.dtype).max) * 2.0**-30
    scale = xp.where(big, xp.full_like(u[..., -1:], 2.0**-40), xp.ones_like(u[..., -1:]))
    u = u * scale
    before = xp.cumulative_sum(u, axis=-1, include_initial=True)[..., :-1]
    n1 = xp.sum(u, axis=-1, keepdims=True)
    n2 = _safe_norm(xp, u)[..., None]
    den = xp.where(n1 > 0, n1 + n2, xp.ones_like(n1))
    cross = xp.sum(before * (2 * u / den), axis=-1)
    return (cross + (1 - alpha) * n2[..., 0]) / scale[..., 0]


def _l1l2_value_mp(xs: Sequence[Any], alpha: Any) -> Any:
    """The same cancellation-free form on mpmath numbers."""
    ax = sorted(mpmath.fabs(v) for v in xs)
    n1, n2 = mpmath.fsum(ax), _norm_mp(ax)
    if n1 == 0:
        return mpmath.mpf(0)
    cross, before = mpmath.mpf(0), mpmath.mpf(0)
    for v in ax:
        cross += before * (2 * v / (n1 + n2))
        before += v
    return cross + (1 - alpha) * n2


def _l1l2_prox(xp: Any, y: Any, tau: float, alpha: float, pl: _Plan) -> Any:
    r"""Lou & Yan (2018), prox of :math:`\tau(\lVert x\rVert_1 - \alpha\lVert x\rVert_2)` (quoted):

    * :math:`\lVert y\rVert_\infty > \tau`: :math:`x = z(1 + \tau\alpha/\lVert z\rVert)`,
      :math:`z = \operatorname{sign}(y)(|y| - \tau)_+`;
    * :math:`(1-\alpha)\tau < \lVert y\rVert_\infty \le \tau`: 1-sparse,
      :math:`x_i = \operatorname{sign}(y_i)(\lVert y\rVert_\infty - (1-\alpha)\tau)` at the first
      maximal :math:`|y_i|`;
    * otherwise 0.
    """
    ay = xp.abs(y)
    ymax = xp.max(ay, axis=-1, keepdims=True)
    z = xp.sign(y) * _clip(xp, ay - tau, 0, None)
    nz = _safe_norm(xp, z)[..., None]
    big = ymax > tau
    nzs = xp.where(big, nz, xp.ones_like(nz))
    dense = z + z * xp.divide(tau * alpha, nzs)
    n = y.shape[-1]
    first = xp.argmax(ay, axis=-1, keepdims=True)
    onehot = xp.arange(n, device=_device(y)) == first
    sparse = xp.where(onehot, xp.sign(y) * _clip(xp, ymax - pl.zero, 0, None), xp.zeros_like(y))
    return xp.where(big, dense, sparse)


def _scaled_norm(xp: Any, x: Any) -> tuple[Any, Any]:
    """``(m, s)`` with the Euclidean norm along the last axis = ``m * s``: ``m`` the largest
    entry's magnitude (1 where all are 0), ``s`` in [1, sqrt(n)] (or 0)."""
    m = xp.max(xp.abs(x), axis=-1, keepdims=True)
    ms = xp.where(m > 0, m, xp.ones_like(m))
    return ms[..., 0], xp.linalg.vector_norm(x / ms, axis=-1)


def _safe_norm(xp: Any, x: Any) -> Any:
    """Euclidean norm along the last axis, scaled by the largest entry (no overflow)."""
    m, s = _scaled_norm(xp, x)
    return s * m


def _group_norm(xp: Any, y: Any, idx: list[int]) -> Any:
    ia = xp.asarray(idx, device=_device(y))
    return _safe_norm(xp, xp.take(y, ia, axis=-1))[..., None]


def _check_groups(groups: Any, n: int) -> list[list[int]]:
    try:
        gs = [[int(i) for i in g] for g in groups]
        ok = all(float(i) == int(i) and not isinstance(i, bool) for g in groups for i in g)
    except (TypeError, ValueError):
        raise ValueError("groups must be a list of lists of integer indices") from None
    if not ok:
        raise ValueError("groups must be a list of lists of integer indices")
    seen: set[int] = set()
    for g in gs:
        if not g:
            raise ValueError("groups must not contain an empty group")
        for i in g:
            if not 0 <= i < n:
                raise ValueError(f"groups: index {i} is out of range for length {n}")
            if i in seen:
                raise ValueError(f"groups must be disjoint: index {i} appears twice")
            seen.add(i)
    return gs


def _check_float(xp: Any, y: Any, name: str) -> None:
    if not xp.isdtype(y.dtype, "real floating"):
        raise ValueError(f"{name} must have a real floating dtype, got {y.dtype}")


_F32_MAX = float(struct.unpack("f", struct.pack("f", 3.4028234663852886e38))[0])


def _tau_for(y: Any, tau: Any) -> float:
    """tau rounded to the dtype of ``y`` when that is float32 (clamped to its largest finite
    value), so that a tau below the float32 range acts as 0 everywhere, consistently."""
    t = _check_tau(tau)
    if "float32" in str(y.dtype):
        t = struct.unpack("f", struct.pack("f", min(t, _F32_MAX)))[0]
    return t


def _stop_gradient(x: Any) -> Any:
    """``x`` cut from the autograd graph (torch ``detach``: no copy, no sync); NumPy as is."""
    detach = getattr(x, "detach", None)
    return detach() if detach is not None else x


def _sqdist_mp(x: Sequence[Any], y: Sequence[Any]) -> Any:
    return mpmath.fsum((a - b) ** 2 for a, b in zip(x, y, strict=True))


def _norm_mp(xs: Sequence[Any]) -> Any:
    return mpmath.sqrt(mpmath.fsum(v * v for v in xs))


def _round(v: Any) -> Any:
    return None if v is None else +v


def _guard(fn: Callable[[], Any]) -> Any:
    """``fn()`` at the working precision plus 64 guard bits, rounded once (mpf or list) to
    the working precision on the way out."""
    with mpmath.mp.workprec(mpmath.mp.prec + _GUARD_BITS):
        out = fn()
    return [+v for v in out] if isinstance(out, list) else _round(out)


def _mp_vector(name: str, v: Any) -> list[mpmath.mpf]:
    if isinstance(v, (list, tuple)):
        out = [_to_mpf(name, e) for e in v]
        if not out:
            raise ValueError(f"{name} must be a non-empty vector")
        return out
    raise ValueError(f"{name} must be an array or a list of numbers for this penalty")


def _map_mp(fn: Callable[[mpmath.mpf], Any], name: str, v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [fn(e) for e in _mp_vector(name, v)]
    return fn(_to_mpf(name, v))

