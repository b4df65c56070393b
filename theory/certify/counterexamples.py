r"""Rigorous re-checks of the recorded counterexamples of refuted statements (``mpmath.iv``).

A refuted statement records a counterexample that its float64 check rejects.  This module
re-checks it in interval arithmetic (``mpmath.iv``, outward rounding; the precision is scoped
and restored), so that a refutation does not rest on rounding:

``relu.gd_angle_monotone_any_step``
    one plain GD step at the recorded point, :math:`w^+ = w - \eta(Aw - Bw^*)` with :math:`A, B`
    the SymPy closed forms of :func:`theory.relu.grad_coeffs_expr`; the angle before and after
    is enclosed and ``after > before`` is proved.
``rvsm.descent_any_step``, ``rvsm.angle_monotone``, ``rvscgd.angle_monotone``
    the recorded run (the check's step size, number of steps and start) is replayed step by
    step: :math:`u^{t+1} = \operatorname{prox}(w^t)`, :math:`w^{t+1} = w^t - \eta g(w^t) -
    \eta\beta(w^t - u^{t+1})` (then :math:`w^{t+1}/|w^{t+1}|` for RVSCGD), with :math:`g` from
    the SymPy closed forms (:func:`theory.relu.grad_coeffs_expr`,
    :func:`theory.binary.coarse_coeffs_expr`) and the prox from the shared formulas of
    :mod:`theory.penalties` evaluated on intervals.  A threshold comparison that an interval
    cannot decide stops the replay (``undecided``, with the step, coordinate and enclosures).
    The replay stops at the first step where the violation is proved (:math:`L_\beta`
    increases, resp. the angle increases) and reports both enclosures.  For the angle
    statements the step-size hypotheses (:math:`\eta < \pi k/(k + \pi - 1)` and
    :math:`\eta < 2/(L(|w^0|/2) + \beta)`) are proved for the step that was used.
``binary.loss_continuous_at_zero``
    the limit of the loss along the recorded direction (exact SymPy limit of
    :func:`theory.binary.loss_expr`) against :func:`theory.binary.loss_at_zero_expr`; the
    difference is enclosed in interval arithmetic (or is exactly 0).

The refuted statements about limits of long runs (random-start limits, uniqueness, off-support
limits) need certified fixed points: :func:`recheck` returns ``{"rigorous": False, "reason":
"needs certified fixed points (issue #13)"}`` for them.

Conventions.  Recorded parameters (``lam``, ``beta``, entries of ``w0``, ``w_star``, ...) are
exact rationals: the verdict is for the exact values of the floats the recorded run used
(``reading: "float64"``), and :func:`recheck` repeats it with each entry read as its decimal
literal (``readings["decimal"]``: ``0.1`` as 1/10); the prox step ``lam/beta`` is formed exactly
from the two rationals, so ``0.05/0.1`` is exactly 1/2 in both readings.  Step sizes the check
*computes* (``eta``) are taken exactly as the float64 value the recorded run used, and the
step-size hypotheses are proved for that value.  Elementary functions without a rigorous
``mpmath.iv`` version (``atan2``, ``erf``) are monotone on the arguments used and evaluated at
both ends with 40 extra bits, padded outward by :math:`2^{-p}` relative (the convention of
:func:`theory.binary.prove_nonnegative`; it trusts mpmath's accuracy to 2^40 ulps).  The
working precision tries :data:`PRECISIONS` in turn (the interval widths grow about 3x per
replayed step; 128 bits suffice for the recorded runs).  At an exact tie of an l0 threshold the prox has two
minimisers; the replay takes the toolkit's tie rule (the smaller one, 0), as the recorded run
does, and lists the tie.

Enclosures are reported as ``"[lo, hi]"`` decimal strings with ``lo`` rounded down and ``hi``
rounded up (20 significant digits).  ``theory`` never imports ``sim``: counterexamples of
statements registered by :mod:`sim.checks` are read from :data:`theory.statements.REGISTRY`
(registered once ``sim.checks`` is imported) or passed as ``point``.
"""

from __future__ import annotations

import decimal
import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from mpmath import iv

from theory import binary, penalties, relu
from theory.backends import t_minus_sin

__all__ = ["RIGOROUS", "NOT_RIGOROUS", "PRECISIONS", "Undecided", "recheck", "gd_angle_step",
           "replay_run", "loss_jump_at_zero"]

PRECISIONS: tuple[int, ...] = (128, 256, 512)
"""Working precisions (bits) tried in turn until a verdict is reached."""

FIXED_POINTS_REASON = "needs certified fixed points (issue #13)"
NOT_RIGOROUS: dict[str, str] = {
    "rvsm.l1_unique_limit_any_start": FIXED_POINTS_REASON,
    "p1.global_limit_from_random_starts": FIXED_POINTS_REASON,
    "p2.global_limit_from_random_starts": FIXED_POINTS_REASON,
    "rvsm.l0_no_off_support_limit": FIXED_POINTS_REASON,
}
"""Refuted statements whose counterexample is a limit of long runs: not re-checked here."""

_DIGITS = 20


class Undecided(Exception):
    """Interval arithmetic cannot decide a comparison the re-check needs (the message says which)."""


# ---------------------------------------------------------------- interval helpers

@contextmanager
def _precision(bits: int) -> Iterator[None]:
    """``iv.prec = bits`` for the block, restored afterwards (also on error)."""
    old = iv.prec
    iv.prec = bits
    try:
        yield
    finally:
        iv.prec = old


def _ends(x: Any) -> tuple[mpmath.mpf, mpmath.mpf]:
    """The exact end points of an interval as mpf."""
    a, b = iv.mpf(x)._mpi_
    return mpmath.mp.make_mpf(a), mpmath.mp.make_mpf(b)


def _iv(lo: Any, hi: Any) -> Any:
    return iv.mpf([lo, hi])


def _exact(x: Any) -> Any:
    """A float / int as the exact point interval of its binary value."""
    return iv.mpf(x) if isinstance(x, int) else iv.mpf(mpmath.mpf(float(x)))


READINGS: tuple[str, ...] = ("float64", "decimal")
"""How a recorded parameter is read: the exact value of the float64 the run used, or its
shortest decimal literal (``0.1`` as 1/10)."""


def _fraction(x: Any, reading: str) -> Fraction:
    """A recorded parameter as an exact rational in the given reading."""
    if isinstance(x, bool):
        raise TypeError("a boolean is not a parameter")
    if isinstance(x, int | np.integer):
        return Fraction(int(x))
    if isinstance(x, str):
        return Fraction(x)
    f = float(x)
    return Fraction(f) if reading == "float64" else Fraction(repr(f))


def _rational(q: Fraction) -> Any:
    """The tightest interval of a rational (a point when it is dyadic and short enough)."""
    return iv.mpf(q.numerator) / iv.mpf(q.denominator)


def _literal(x: Any, reading: str = "float64") -> Any:
    return _rational(_fraction(x, reading))


def _vector(v: Any, reading: str = "float64") -> list[Any]:
    return [_literal(x, reading) for x in np.asarray(v, dtype=float).tolist()]


def _pad(f: Callable[..., Any], *args: Any) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Bounds of ``f(*args)`` (mpf arguments): ``f`` evaluated with 40 extra bits, the value
    padded outward by 2^-prec relative (the convention of :func:`theory.binary._iv_erf`)."""
    with mpmath.mp.workprec(iv.prec + 40):
        v = f(*args)
        pad = abs(v) * mpmath.ldexp(1, -iv.prec)
        return v - pad, v + pad


def _erf(x: Any) -> Any:
    """erf is increasing: its values at the two ends, padded, clipped to [-1, 1]."""
    lo, hi = _ends(x)
    return _iv(max(_pad(mpmath.erf, lo)[0], -1), min(_pad(mpmath.erf, hi)[1], 1))


def _max(*xs: Any) -> Any:
    ends = [_ends(x) for x in xs]
    return _iv(max(e[0] for e in ends), max(e[1] for e in ends))


def _min(*xs: Any) -> Any:
    ends = [_ends(x) for x in xs]
    return _iv(min(e[0] for e in ends), min(e[1] for e in ends))


def _lo(x: Any) -> mpmath.mpf:
    return _ends(x)[0]


def _hi(x: Any) -> mpmath.mpf:
    return _ends(x)[1]


def _dec(x: mpmath.mpf, rounding: str, digits: int = _DIGITS) -> str:
    """``x`` as a decimal string, rounded in the direction ``rounding`` (exact when short)."""
    if mpmath.isinf(x):
        return "inf" if x > 0 else "-inf"
    sign, man, exp, _ = x._mpf_ if x else (0, 0, 0, 0)
    num = (-1) ** sign * int(man) * (2 ** exp if exp > 0 else 1)
    den = 2 ** (-exp) if exp < 0 else 1
    ctx = decimal.Context(prec=digits, rounding=rounding)
    out = ctx.divide(decimal.Decimal(num), decimal.Decimal(den)).normalize(ctx)
    return format(out, "f") if -5 < out.adjusted() < 12 else str(out)


def enclosure(x: Any) -> str:
    """``"[lo, hi]"`` with ``lo`` rounded down and ``hi`` rounded up."""
    lo, hi = _ends(x)
    return f"[{_dec(lo, decimal.ROUND_FLOOR)}, {_dec(hi, decimal.ROUND_CEILING)}]"


# ---------------------------------------------------------------- SymPy expressions on intervals

def _iv_expr(expr: sp.Expr, env: dict[sp.Symbol, Any]) -> Any:
    """Rigorous enclosure of a SymPy expression over the intervals ``env`` (outward rounding)."""
    if expr in env:
        return env[expr]
    if isinstance(expr, sp.Symbol):
        raise KeyError(f"no value for {expr}")
    if expr.is_Integer:
        return iv.mpf(int(expr))
    if expr.is_Rational:
        return iv.mpf(int(expr.p)) / iv.mpf(int(expr.q))
    if isinstance(expr, sp.Float):
        return iv.mpf(mpmath.mp.make_mpf(expr._mpf_))
    if expr is sp.pi:
        return iv.pi
    if expr is sp.E:
        return iv.e
    ev = functools.partial(_iv_expr, env=env)
    if isinstance(expr, sp.Add):
        out = iv.mpf(0)
        for a in expr.args:
            out = out + ev(a)
        return out
    if isinstance(expr, sp.Mul):
        out = iv.mpf(1)
        for a in expr.args:
            out = out * ev(a)
        return out
    if isinstance(expr, sp.Pow):
        base, ex = expr.args
        b = ev(base)
        if ex.is_Integer:
            return b ** int(ex)
        if ex == sp.S.Half:
            return iv.sqrt(b)
        if ex == -sp.S.Half:
            return 1 / iv.sqrt(b)
        return b ** ev(ex)
    simple = {sp.sin: iv.sin, sp.cos: iv.cos, sp.exp: iv.exp, sp.log: iv.log}
    if expr.func in simple:
        return simple[expr.func](ev(expr.args[0]))
    if isinstance(expr, sp.Abs):
        return abs(ev(expr.args[0]))
    if isinstance(expr, sp.Max):
        return _max(*(ev(a) for a in expr.args))
    if isinstance(expr, sp.Min):
        return _min(*(ev(a) for a in expr.args))
    if isinstance(expr, sp.erf):
        return _erf(ev(expr.args[0]))
    if isinstance(expr, sp.erfc):
        return 1 - _erf(ev(expr.args[0]))
    if isinstance(expr, t_minus_sin):
        a = ev(expr.args[0])
        return a - iv.sin(a)
    if isinstance(expr, binary.exp_m1):
        return iv.exp(ev(expr.args[0])) - 1
    if isinstance(expr, binary.erf_ratio):
        den = ev(expr.args[1])
        if not _lo(den) > 0:
            raise Undecided(f"erf_ratio with a denominator not proved > 0: {enclosure(den)}")
        return _erf(ev(expr.args[0]) / den)
    raise Undecided(f"no interval extension for {expr.func}")


# ---------------------------------------------------------------- geometry

def _norm(v: Sequence[Any]) -> Any:
    out = iv.mpf(0)
    for x in v:
        out = out + x**2
    return iv.sqrt(out)


def _atan2_first_quadrant(p: Any, q: Any) -> Any:
    """atan2(p, q) for p, q >= 0: increasing in p, decreasing in q."""
    p_lo, p_hi = (max(e, 0) for e in _ends(p))
    q_lo, q_hi = (max(e, 0) for e in _ends(q))
    half_pi = _hi(iv.pi / 2)
    lo = mpmath.mpf(0) if p_lo == 0 else _pad(mpmath.atan2, p_lo, q_hi)[0]
    hi = half_pi if q_lo == 0 else _pad(mpmath.atan2, p_hi, q_lo)[1]
    return _iv(max(lo, 0), min(hi, half_pi))


def _angle(u: Sequence[Any], v: Sequence[Any]) -> Any:
    r""":math:`\theta(u, v) = 2\operatorname{atan2}(|\hat u - \hat v|, |\hat u + \hat v|)`
    (:mod:`theory.geometry`'s stable formula) on intervals."""
    nu, nv = _norm(u), _norm(v)
    if not (_lo(nu) > 0 and _lo(nv) > 0):
        raise Undecided(f"a vector may be 0 (norm {enclosure(nu)}): the angle is undefined")
    uh = [x / nu for x in u]
    vh = [x / nv for x in v]
    p = _norm([a - b for a, b in zip(uh, vh, strict=True)])
    q = _norm([a + b for a, b in zip(uh, vh, strict=True)])
    t = 2 * _atan2_first_quadrant(p, q)
    return _iv(max(_lo(t), 0), min(_hi(t), _hi(iv.pi)))


# ---------------------------------------------------------------- closed forms on intervals

def _plane(w: Sequence[Any], w_star: Sequence[Any]) -> tuple[Any, Any, Any]:
    r = _norm(w)
    if not _lo(r) > 0:
        raise Undecided(f"w may be 0 (|w| in {enclosure(r)}): the gradient is undefined there")
    return r, _norm(w_star), _angle(w, w_star)


def _relu_grad(w: Sequence[Any], w_star: Sequence[Any], k: int) -> list[Any]:
    r""":math:`\nabla\ell = A w - B w^*`, :math:`A, B` from :func:`theory.relu.grad_coeffs_expr`."""
    r, s, t = _plane(w, w_star)
    env = {relu.k: iv.mpf(k), relu.r: r, relu.s: s, relu.t: t}
    a_expr, b_expr = relu.grad_coeffs_expr()
    a, b = _iv_expr(a_expr, env), _iv_expr(b_expr, env)
    return [a * x - b * y for x, y in zip(w, w_star, strict=True)]


def _coarse_grad(w: Sequence[Any], w_star: Sequence[Any], k: int, ste: str) -> list[Any]:
    r""":math:`E g = \alpha\hat w + \beta\hat w^*`, :math:`\alpha, \beta` from
    :func:`theory.binary.coarse_coeffs_expr` (``w != 0``)."""
    r, s, t = _plane(w, w_star)
    env = {binary.k: iv.mpf(k), binary.r: r, binary.t: t}
    al_expr, be_expr = binary.coarse_coeffs_expr(ste)
    al, be = _iv_expr(al_expr, env), _iv_expr(be_expr, env)
    return [al * (x / r) + be * (y / s) for x, y in zip(w, w_star, strict=True)]


def _loss(model: str, w: Sequence[Any], w_star: Sequence[Any], k: int) -> Any:
    r, s, t = _plane(w, w_star)
    if model == "relu":
        return _iv_expr(relu.loss_expr(), {relu.k: iv.mpf(k), relu.r: r, relu.s: s, relu.t: t})
    return _iv_expr(binary.loss_expr(), {binary.k: iv.mpf(k), binary.r: r, binary.t: t})


# ---------------------------------------------------------------- prox on intervals

class _IvNamespace:
    """The array-API functions :mod:`theory.penalties`' shared formulas use, on intervals.

    ``where`` needs a decided condition: an interval comparison that is undecided (``None``)
    raises :class:`Undecided`."""

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        if cond is None:
            raise Undecided("threshold comparison undecided")
        return a if cond else b

    @staticmethod
    def clip(x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002 - array-API names
        lo, hi = _ends(x)
        if min is not None:
            m = _ends(min)
            lo, hi = (lo if lo >= m[0] else m[0]), (hi if hi >= m[1] else m[1])
        if max is not None:
            m = _ends(max)
            lo, hi = (lo if lo <= m[0] else m[0]), (hi if hi <= m[1] else m[1])
        return _iv(lo, hi)

    @staticmethod
    def minimum(a: Any, b: Any) -> Any:
        return _min(a, b)

    @staticmethod
    def zeros_like(x: Any) -> Any:
        return iv.mpf(0)

    @staticmethod
    def ones_like(x: Any) -> Any:
        return iv.mpf(1)

    @staticmethod
    def abs(x: Any) -> Any:
        return abs(x)

    @staticmethod
    def sign(x: Any) -> Any:
        lo, hi = _ends(x)
        return iv.mpf(1) if lo > 0 else iv.mpf(-1) if hi < 0 else iv.mpf(0) if lo == hi == 0 \
            else _iv(-1 if lo < 0 else 0, 1 if hi > 0 else 0)


_IV = _IvNamespace()
_IV_PROX = ("l1", "l0")


def _plan(name: str, tau: Any) -> Any:
    """The thresholds of :func:`theory.penalties._plan_mp` for l1 and l0, on intervals."""
    z = iv.mpf(0)
    if name == "l1":
        return penalties._Plan(tau, None, z, (tau,), True, z)
    t = iv.sqrt(2 * tau)
    return penalties._Plan(t, t, t, (t,), False, z)


def _prox(name: str, y: Sequence[Any], tau: Any, where: str) -> tuple[list[Any], list[int]]:
    r""":math:`\operatorname{prox}_{\tau P}(y)` coordinatewise: ``sign(y) * |prox|(|y|)`` with
    :func:`theory.penalties._magnitude` on intervals; returns the value and the coordinates
    at an exact tie with the l0 threshold (decided by the tie rule ``|y| > t``)."""
    if _ends(tau) == (0, 0):
        return list(y), []  # prox_0 = identity (Penalty.prox)
    if name not in _IV_PROX:
        raise Undecided(f"no interval prox for penalty {name} (l1 and l0 only)")
    if not _lo(tau) > 0:
        raise Undecided(f"prox step lam/beta = {enclosure(tau)} not proved > 0 or = 0")
    plan = _plan(name, tau)
    out, ties = [], []
    for i, yi in enumerate(y):
        ay = abs(yi)
        try:
            mag = penalties._magnitude(_IV, name, ay, tau, {}, plan)
        except Undecided:
            raise Undecided(f"{where}, coordinate {i}: |y| = {enclosure(ay)} against the "
                            f"threshold {enclosure(plan.zero)}: comparison undecided") from None
        if name == "l0" and _hi(ay) == _lo(plan.jump_at) and _ends(mag) == (0, 0):
            ties.append(i)
        out.append(_IV.sign(yi) * mag)
    return out, ties


def _penalty_sum(name: str, u: Sequence[Any]) -> Any:
    out = iv.mpf(0)
    for x in u:
        try:
            out = out + penalties._value(_IV, name, x, {})
        except Undecided:
            raise Undecided(f"P(u) undecided at u = {enclosure(x)}") from None
    return out


# ---------------------------------------------------------------- the re-checks

def _result(rigorous: bool, method: str | None, reason: str | None, violation: dict[str, Any] | None,
            **extra: Any) -> dict[str, Any]:
    return {"rigorous": bool(rigorous), "method": method, "reason": reason,
            "violation": violation, **extra}


def _at_precisions(fn: Callable[[], dict[str, Any]], method: str) -> dict[str, Any]:
    """Run ``fn`` at each of :data:`PRECISIONS` until it is rigorous or says more precision
    cannot help (``retry`` False); an :class:`Undecided` comparison is retried too.  Returns the
    last result with ``precision_bits``."""
    res: dict[str, Any] = {}
    for bits in PRECISIONS:
        with _precision(bits):
            try:
                res = fn()
            except Undecided as exc:
                res = _result(False, method, f"undecided: {exc}", None, retry=True)
        res["precision_bits"] = bits
        if res.pop("retry", False) is False or res["rigorous"]:
            break
    return res


def gd_angle_step(point: Any, reading: str = "float64") -> dict[str, Any]:
    """One plain GD step at ``point = ((w, w_star), k, frac)`` with the check's step
    ``eta = frac * float(pi k/(k + pi - 1))``: is the angle increase proved?  ``reading``:
    how the recorded entries are read (:data:`READINGS`)."""
    (w, w_star), k, frac = point
    eta = float(frac) * float(relu.angle_monotone_step_bound().subs(relu.k, k))
    method = ("mpmath.iv: one GD step, grad = A w - B w* with A, B from "
              "theory.relu.grad_coeffs_expr, angle 2 atan2(|u^ - v^|, |u^ + v^|)")

    def once() -> dict[str, Any]:
        wv, sv, e = _vector(w, reading), _vector(w_star, reading), _exact(eta)
        before = _angle(wv, sv)
        g = _relu_grad(wv, sv, int(k))
        after = _angle([x - e * gi for x, gi in zip(wv, g, strict=True)], sv)
        proved = _lo(after) > _hi(before)
        viol = {"eta": _dec(mpmath.mpf(eta), decimal.ROUND_HALF_EVEN, 17),
                "angle_before": enclosure(before), "angle_after": enclosure(after),
                "increase": enclosure(after - before)}
        if proved:
            return _result(True, method, None, viol)
        never = _hi(after) <= _lo(before)
        return _result(False, method, "the angle does not increase (proved)" if never else
                       "the enclosures overlap: the angle increase is not proved", viol,
                       retry=not never)

    return _at_precisions(once, method)


_RUNS: dict[str, dict[str, Any]] = {
    # mirrors sim/checks.py: _descent(enforce_step_bound=False) and _angle_monotone
    "rvsm.descent_any_step": {"model": "relu", "quantity": "L_beta", "iters": 40,
                              "eta": "frac"},
    "rvsm.angle_monotone": {"model": "relu", "quantity": "angle", "iters": 60,
                            "eta": "angle_and_descent_bound"},
    "rvscgd.angle_monotone": {"model": "binary", "quantity": "angle", "iters": 60,
                              "eta": "angle_and_descent_bound"},
}


def _step_size(p: dict[str, Any], rule: str) -> float:
    """The float64 step the check computes (:func:`theory.relu.monotone_descent_step`, shared
    with sim/checks.py), taken as an exact number."""
    if rule == "frac":
        return float(p["frac"])
    return relu.monotone_descent_step(p["frac"], p["w0"], p["w_star"], p["k"], p["beta"])


def _step_hypotheses(p: dict[str, Any], eta: Any, beta: Any, reading: str) -> dict[str, Any]:
    r""":math:`\eta < \pi k/(k + \pi - 1)` and :math:`\eta < 2/(L(|w^0|/2) + \beta)`, on intervals."""
    k = int(p["k"])
    bound = _iv_expr(relu.angle_monotone_step_bound(), {relu.k: iv.mpf(k)})
    m0 = _norm(_vector(p["w0"], reading)) / 2
    s = _norm(_vector(p["w_star"], reading))
    lip = _iv_expr(relu.lipschitz_expr(), {relu.k: iv.mpf(k), relu.s: s, relu.m: m0})
    descent = 2 / (lip + beta)
    return {"angle_bound": enclosure(bound), "descent_bound": enclosure(descent),
            "holds": bool(_hi(eta) < _lo(bound) and _hi(eta) < _lo(descent))}


def replay_run(name: str, point: dict[str, Any], reading: str = "float64") -> dict[str, Any]:
    """Replay the run of statement ``name`` (one of ``rvsm.descent_any_step``,
    ``rvsm.angle_monotone``, ``rvscgd.angle_monotone``) from ``point`` in interval arithmetic;
    rigorous when some step's increase of the watched quantity is proved.  ``reading``: how
    the recorded entries are read (:data:`READINGS`); the prox step ``lam/beta`` is formed
    exactly from the two rationals."""
    spec = _RUNS[name]
    model, quantity, iters = spec["model"], spec["quantity"], spec["iters"]
    pen = point["penalty"]
    eta_f = _step_size(point, spec["eta"])
    alg = "RVSCGD (normalised, relu STE)" if model == "binary" else "RVSM"
    grad_src = ("theory.binary.coarse_coeffs_expr('relu')" if model == "binary"
                else "theory.relu.grad_coeffs_expr")
    method = (f"mpmath.iv replay of {alg} ({pen} prox from theory.penalties on intervals, "
              f"gradient from {grad_src}), {quantity} enclosed at every step")

    def once() -> dict[str, Any]:
        k = int(point["k"])
        ws, w = _vector(point["w_star"], reading), _vector(point["w0"], reading)
        lam_q, beta_q = _fraction(point["lam"], reading), _fraction(point["beta"], reading)
        lam, beta, eta = _rational(lam_q), _rational(beta_q), _exact(eta_f)
        tau = _rational(lam_q / beta_q)
        hyp = None
        if spec["eta"] != "frac":
            hyp = _step_hypotheses(point, eta, beta, reading)
            if not hyp["holds"]:
                return _result(False, method, "the step-size hypotheses are not proved for the "
                               "recorded step", {"hypotheses": hyp})
        ties: list[dict[str, int | str]] = []

        def prox(y: list[Any], step: int | str) -> list[Any]:
            out, tied = _prox(pen, y, tau, f"prox at step {step}")
            ties.extend({"step": step, "coordinate": i} for i in tied)
            return out

        def watched(w_: list[Any], u_: list[Any]) -> Any:
            if quantity == "angle":
                return _angle(w_, ws)
            diff = iv.mpf(0)
            for a, b in zip(w_, u_, strict=True):
                diff = diff + (a - b) ** 2
            return _loss(model, w_, ws, k) + lam * _penalty_sum(pen, u_) + beta / 2 * diff

        u = prox(w, "u0")  # u^0 = prox(w^0) (sim.algorithms.init_state)
        cur = watched(w, u)
        overlaps = 0
        for step in range(iters):
            u = prox(w, step)
            g = (_coarse_grad(w, ws, k, "relu") if model == "binary"
                 else _relu_grad(w, ws, k))
            w = [x - eta * gi - eta * beta * (x - ui) for x, gi, ui in zip(w, g, u, strict=True)]
            if model == "binary":
                r = _norm(w)
                if not _lo(r) > 0:
                    raise Undecided(f"step {step}: |w| may be 0 before normalisation")
                w = [x / r for x in w]
            nxt = watched(w, u)
            if _lo(nxt) > _hi(cur):
                viol = {"quantity": quantity, "step": step,
                        "eta": _dec(mpmath.mpf(eta_f), decimal.ROUND_HALF_EVEN, 17),
                        "before": enclosure(cur), "after": enclosure(nxt),
                        "increase": enclosure(nxt - cur), "w_after": [enclosure(x) for x in w]}
                if hyp is not None:
                    viol["hypotheses"] = hyp
                if ties:
                    viol["ties"] = ties
                    viol["tie_rule"] = ("at these l0 ties both 0 and y minimise; the replay takes "
                                        "the toolkit's rule (0), as the recorded run does")
                return _result(True, method, None, viol)
            if _hi(nxt) > _lo(cur):
                overlaps += 1
            cur = nxt
        reason = (f"no increase of {quantity} proved in {iters} steps"
                  + (f" ({overlaps} steps with overlapping enclosures)" if overlaps else
                     " (every step proved non-increasing)"))
        return _result(False, method, reason, None, retry=overlaps > 0)

    return _at_precisions(once, method)


def _sympy_number(x: Any) -> sp.Expr:
    """Exact SymPy value of a float (its binary value), a string (``"pi/2"``) or an expression."""
    if isinstance(x, sp.Basic):
        return x
    if isinstance(x, str):
        return sp.sympify(x)
    return sp.Rational(float(x))


def loss_jump_at_zero(point: Any) -> dict[str, Any]:
    r"""``point = (t_e, k)``: the limit of the binary loss along the ray at angle ``t_e`` to
    :math:`w^*` (exact SymPy limit :math:`r \to 0^+` of :func:`theory.binary.loss_expr`) against
    :math:`\ell(0)` (:func:`theory.binary.loss_at_zero_expr`)."""
    t_e, k = point
    te = _sympy_number(t_e)
    along = sp.limit(binary.loss_expr().subs({binary.k: int(k), binary.t: te}), binary.r, 0, "+")
    at_zero = binary.loss_at_zero_expr().subs(binary.k, int(k))
    diff = sp.simplify(along - at_zero)
    method = "exact SymPy limit along the ray; the jump enclosed in mpmath.iv"
    if diff == 0:
        return _result(False, "exact SymPy", "the limit along this direction equals l(0) "
                       "(exactly)", {"limit": str(along), "value_at_zero": str(at_zero),
                                     "limit_minus_value_at_zero": "0"})

    def once() -> dict[str, Any]:
        jump = _iv_expr(diff, {})
        viol = {"limit": str(along), "value_at_zero": str(at_zero),
                "limit_enclosure": enclosure(_iv_expr(along, {})),
                "value_at_zero_enclosure": enclosure(_iv_expr(at_zero, {})),
                "limit_minus_value_at_zero": enclosure(jump)}
        proved = _lo(jump) > 0 or _hi(jump) < 0
        return _result(proved, method, None if proved else "the jump's enclosure contains 0",
                       viol, retry=not proved)

    return _at_precisions(once, method)


_HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {
    "relu.gd_angle_monotone_any_step": gd_angle_step,
    "binary.loss_continuous_at_zero": loss_jump_at_zero,
    **{name: functools.partial(replay_run, name) for name in _RUNS},
}


def _recorded(name: str) -> Any:
    from theory.statements import REGISTRY, load_all

    if name not in REGISTRY:
        load_all()
    if name not in REGISTRY:
        raise LookupError(f"{name} is not registered (a sim.checks statement needs sim.checks "
                          "imported first; theory does not import sim)")
    stmt = REGISTRY[name]
    if stmt.expected != "refuted" or stmt.counterexample is None:
        raise LookupError(f"{name} has no recorded counterexample")
    return stmt.counterexample


def _summary(res: dict[str, Any]) -> dict[str, Any]:
    viol = res.get("violation") or {}
    out = {"rigorous": res["rigorous"], "reason": res["reason"],
           "precision_bits": res.get("precision_bits")}
    out.update({k: viol[k] for k in ("step", "increase") if k in viol})
    return out


def recheck(name: str, point: Any = None) -> dict[str, Any]:
    """Re-check the counterexample of refuted statement ``name`` (the recorded one, or
    ``point``) in interval arithmetic.

    Returns ``{"rigorous": bool, "method": str | None, "reason": str | None,
    "violation": dict | None, ...}``: ``violation`` holds the enclosures (decimal strings,
    outward rounded).  The verdict is for the recorded floats' exact values
    (``reading: "float64"``); ``readings["decimal"]`` repeats it with the entries read as their
    decimal literals.  Statements about limits of long runs return ``rigorous: False`` with
    the reason ``needs certified fixed points (issue #13)``.
    """
    if name in NOT_RIGOROUS:
        return _result(False, None, NOT_RIGOROUS[name], None)
    handler = _HANDLERS.get(name)
    if handler is None:
        return _result(False, None, "no interval re-check for this statement", None)
    try:
        pt = _recorded(name) if point is None else point
    except LookupError as exc:
        return _result(False, None, str(exc), None)
    if handler is loss_jump_at_zero:
        return handler(pt)
    res = handler(pt, "float64")
    res["reading"] = "float64"
    res["readings"] = {"decimal": _summary(handler(pt, "decimal"))}
    return res


RIGOROUS: dict[str, Callable[[], dict[str, Any]]] = {
    name: functools.partial(recheck, name) for name in _HANDLERS}
"""The statements whose recorded counterexample is re-checked here: name -> re-check."""
