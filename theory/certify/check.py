r"""Independent checker of ``rvsm-certificate/1`` certificates (``FORMAT.md``).

The checker replays a certificate written by the prover without sharing any of its code: it
imports only the standard library, SymPy, mpmath and, to compare the certificate with the
statement it claims to prove, :mod:`theory.certify.claims`.  Interval arithmetic is
``mpmath.iv`` (outward-rounded intervals); the evaluator of SymPy expressions below is this
module's own.

What :func:`check` verifies
---------------------------

* the format tag; ``undecided`` certificates are never accepted;
* every identity: ``simplify(lhs - rhs) == 0``;
* for every inequality: the box (``lo <= hi``), the symbols (box variables get the assumptions
  their box implies: positive if ``lo > 0`` or ``lo == 0`` open, nonnegative if ``lo >= 0``,
  else real, whatever the certificate's ``srepr`` says), that every symbol of ``original`` is
  substituted or a box variable, ``expr - multiplier*original.subs(substitution)``
  simplifies to 0, the multiplier is positive by SymPy's assumptions, the product of the
  factors equals ``expr``, the factor signs imply the relation (an even number of non-positive
  factors; every factor strict for ``>``), every ``symbolic`` sign is confirmed by SymPy's
  assumptions, and every ``boxes`` factor's tree: the root box is the variables' box, every
  split point lies strictly inside its box and the two children are exactly the halves, every
  leaf re-verifies in interval arithmetic (``enclosure``, ``mean_value``, ``monotone`` with its
  face, ``exact_zero``), and no stored enclosure contradicts its leaf or misses the replay;
* for a ``refuted`` certificate: the counterexample lies in the domain's box (not on an open
  end), the multiplier is positive there and the interval enclosure of ``expr`` at the point is
  certainly of the wrong sign (``hi < 0`` for ``>=``, ``hi <= 0`` for ``>``);
* when the statement has a registered claim (:func:`theory.certify.claims.get_claim`): every
  registered inequality and identity is in the certificate, with the same relation, the same
  ``original`` (identical ``srepr`` or ``simplify`` of the difference is 0), the same box and the
  same substitution; otherwise a note says that the comparison could not be made.

Not verified (stated, not machine-checked): the ``lemmas``, and that the substitution maps the
box onto the ``domain`` text; both are the registered claim's responsibility.

Interval evaluator
------------------

Numbers are exact (``Integer``, ``Rational``, ``Float`` by its binary value, rounded outward
only if wider than the working precision); ``pi`` and ``E`` are ``mpmath.iv`` constants.
``Add``, ``Mul`` and integer powers are ``mpmath.iv`` operations; a division (negative power)
by an enclosure that contains 0, ``log`` of an enclosure that is not positive, ``sqrt`` of one
with a negative part, ``asin``/``acos`` outside ``[-1, 1]`` are *domain errors*: the leaf fails
(the expression is not known to be defined on the box; no argument is ever clamped into a
domain).  Half-integer powers go through ``iv.sqrt``, other real powers through
``exp(e log b)`` (base positive; base 0 allowed for a positive constant exponent).  ``sin``,
``cos``, ``tan``, ``exp``, ``log`` are ``mpmath.iv``'s; ranges are clamped where that is
mathematics (``sin``, ``cos``, ``erf`` in ``[-1, 1]``, ``exp > 0``, ``|x| >= 0``, ``erfc`` in
``[0, 2]``).  The other functions are monotone and evaluated at the two ends of the argument:

* ``atan(p)``: mpmath's ``atan`` at 40 extra bits, padded by a relative ``2^-prec``, then
  *verified* with ``iv.tan`` (``tan(lo) <= p <= tan(hi)``), falling back to ``-pi/2``/``pi/2``;
* ``asin(p) = 2 atan(p / (1 + sqrt(1 - p^2)))`` (exact for ``|p| <= 1``, no singularity);
  ``acos(p) = 2 atan(sqrt((1 - p)/(1 + p)))`` for ``p > -1`` and ``pi`` at ``p = -1``;
* ``atan2(y, x)`` is ``atan(y/x)`` for ``x > 0``, ``+-pi/2 - atan(x/y)`` for ``y`` of one sign,
  otherwise a domain error (branch cut);
* ``erf``, ``erfc``: mpmath at 64 extra bits, padded outward by a relative ``2^-prec``;
* ``t_minus_sin(x) = x - sin x`` (increasing) and ``exp_m1(x) = e^x - 1`` (increasing): Taylor
  series with a rigorous remainder near 0 (``|x| <= 1``, resp. ``1/2``), ``iv`` otherwise;
* ``erf_ratio(x, y)`` is ``erf(x/y)`` for ``y > 0`` and ``sign(x)`` for ``y <= 0`` (the limit
  ``y -> 0+``, as in :mod:`theory.binary`): ``erf(X/Y)`` if ``Y > 0``, otherwise the hull of
  ``[erf(X.lo/Y.hi) or -1, erf(X.hi/Y.hi) or 1]`` and ``sign(X)``;
* ``Abs``, ``sign``, ``Heaviside``, ``Max``, ``Min``; ``Piecewise`` takes a branch whose
  condition is certainly true on the box, skips one certainly false, joins the others.

Derivative-based leaves (``mean_value``, ``monotone``) need ``g`` continuous on the box: a
``Piecewise`` condition that is undecided there, ``sign``/``Heaviside`` of an argument whose
enclosure meets 0, or ``erf_ratio`` with a denominator not positive make such a leaf fail.
(``Abs``, ``Max``, ``Min`` are Lipschitz; the interval extensions of their SymPy derivatives
contain the Clarke gradient, so the mean-value and monotonicity arguments hold.)
"""

from __future__ import annotations

import functools
import json
import math
import sys
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import mpmath
import sympy as sp
from mpmath import iv, libmp
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.logic.boolalg import BooleanFalse, BooleanTrue

__all__ = ["CheckReport", "check", "check_file", "enclose", "FORMAT",
           "t_minus_sin", "exp_m1", "erf_ratio"]

FORMAT = "rvsm-certificate/1"

_TOL = Fraction(1, 10**290)
"""Slack for a stored decimal end that is an outward rounding of 0 (the prover writes
``lo - 1e-300`` for ``lo = 0``): a stored lower end ``>= -_TOL`` does not contradict ``>= 0``."""

_MAX_TREE_REASONS = 20
"""At most this many failing nodes are listed per factor tree (then a count of the rest)."""


# --------------------------------------------------------------------------- the report

@dataclass(frozen=True)
class CheckReport:
    """Outcome of :func:`check`.

    ``ok``: every check passed (for a ``refuted`` certificate: the refutation is verified);
    ``reasons``: every reason for rejection, naming the inequality, factor (0-based index in
    ``factors``) and node path (``children[0].face``...); ``leaves``: leaves replayed;
    ``seconds``: wall time; ``status``: the certificate's status; ``notes``: what could not be
    compared (no registered claim) and other remarks that do not reject.
    """

    ok: bool
    reasons: list[str]
    leaves: int
    seconds: float
    status: str = ""
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------- the toolkit's functions, own definitions
# Deliberately not imported from theory.backends / theory.binary: a certificate names these
# functions, and the checker gives them its own meaning (elementary rewrites, its own interval
# extensions), so that a bug in the toolkit's versions cannot make a wrong certificate pass.

class t_minus_sin(sp.Function):
    """``x - sin(x)`` (the checker's own definition of the toolkit's function)."""

    nargs = 1

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        if arg.is_zero:
            return sp.S.Zero
        if arg.is_Number:
            return arg - sp.sin(arg)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 - sp.cos(self.args[0])

    def _eval_rewrite_as_sin(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return arg - sp.sin(arg)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_is_positive(self) -> bool | None:  # x - sin x has the sign of x (x real)
        a = self.args[0]
        return True if a.is_positive else (False if a.is_nonpositive else None)

    def _eval_is_negative(self) -> bool | None:
        a = self.args[0]
        return True if a.is_negative else (False if a.is_nonnegative else None)

    def _eval_is_zero(self) -> bool | None:
        a = self.args[0]
        return a.is_zero if a.is_real else None


class exp_m1(sp.Function):
    """``exp(x) - 1`` (the checker's own definition of the toolkit's function)."""

    nargs = 1

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return sp.S.Zero if arg.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.exp(self.args[0])

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.exp(arg) - 1

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_is_positive(self) -> bool | None:
        a = self.args[0]
        return True if a.is_positive else (False if a.is_nonpositive else None)

    def _eval_is_negative(self) -> bool | None:
        a = self.args[0]
        return True if a.is_negative else (False if a.is_nonnegative else None)

    def _eval_is_zero(self) -> bool | None:
        a = self.args[0]
        return a.is_zero if a.is_real else None


class erf_ratio(sp.Function):
    """``erf(x/y)`` for ``y > 0`` and ``sign(x)`` for ``y <= 0`` (the limit ``y -> 0+``; the
    checker's own definition of the toolkit's function)."""

    nargs = 2

    @classmethod
    def eval(cls, x: sp.Expr, y: sp.Expr) -> sp.Expr | None:
        if y.is_positive:
            if x.is_Number and y.is_Number:
                return sp.erf(x / y)
            return None
        if y.is_nonpositive:
            return sp.sign(x)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:  # valid for y > 0 (the only smooth part)
        x, y = self.args
        gauss = 2 / sp.sqrt(sp.pi) * sp.exp(-(x / y) ** 2)
        return gauss / y if argindex == 1 else -gauss * x / y**2

    def _eval_rewrite_as_erf(self, x: sp.Expr, y: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.erf(x / y)

    def _eval_is_real(self) -> bool | None:
        x, y = self.args
        return True if (x.is_real and y.is_real) else None

    def _eval_is_positive(self) -> bool | None:  # erf(x/y) (y > 0) and sign(x): sign of x
        x, y = self.args
        if not y.is_real:
            return None
        return True if x.is_positive else (False if x.is_nonpositive else None)

    def _eval_is_negative(self) -> bool | None:
        x, y = self.args
        if not y.is_real:
            return None
        return True if x.is_negative else (False if x.is_nonnegative else None)

    def _eval_is_zero(self) -> bool | None:
        x, y = self.args
        return x.is_zero if (x.is_real and y.is_real) else None


_CUSTOM = {"t_minus_sin": t_minus_sin, "exp_m1": exp_m1, "erf_ratio": erf_ratio}


def _elementary(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the toolkit's functions written out (``erf_ratio(x, y) -> erf(x/y)``, its
    ``y > 0`` branch): used only as a second try when comparing expressions."""
    def query(a: sp.Basic) -> bool:
        return isinstance(a, sp.Function) and a.func.__name__ in _CUSTOM

    def value(a: sp.Basic) -> sp.Expr:
        name, args = a.func.__name__, a.args
        if name == "t_minus_sin":
            return args[0] - sp.sin(args[0])
        if name == "exp_m1":
            return sp.exp(args[0]) - 1
        return sp.erf(args[0] / args[1])

    return expr.replace(query, value)


# ----------------------------------------------------------------------- parsing srepr

def _build_namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {}
    for name in sp.__all__:
        obj = getattr(sp, name, None)
        if obj is not None and not isinstance(obj, types.ModuleType):
            ns[name] = obj
    ns.update(ExprCondPair=ExprCondPair, BooleanTrue=BooleanTrue, BooleanFalse=BooleanFalse,
              true=sp.true, false=sp.false)
    ns.update(_CUSTOM)
    ns["__builtins__"] = {}
    return ns


_NAMESPACE = _build_namespace()


class _Malformed(ValueError):
    """The certificate does not follow the format."""


def _parse_expr(src: Any, what: str, extra: Mapping[str, Any] | None = None) -> sp.Expr:
    """Evaluate a SymPy ``srepr`` (or SymPy source) string in SymPy's namespace only."""
    if isinstance(src, sp.Basic):
        return src
    if not isinstance(src, str) or not src.strip():
        raise _Malformed(f"{what}: expected an srepr string, got {src!r:.80}")
    if "__" in src:
        raise _Malformed(f"{what}: '__' is not allowed in an expression")
    ns = dict(_NAMESPACE)
    if extra:
        ns.update(extra)
    try:
        out = eval(src, ns)  # noqa: S307 - namespace is SymPy's public names, no builtins
    except Exception as exc:
        raise _Malformed(f"{what}: cannot parse {src!r:.120} ({type(exc).__name__}: {exc})") \
            from None
    if not isinstance(out, sp.Basic):
        raise _Malformed(f"{what}: {src!r:.120} is not a SymPy expression")
    return out


def _parse_rational(v: Any, what: str) -> Fraction:
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise _Malformed(f"{what}: expected an exact rational 'p/q', got {v!r:.60}")
    try:
        return Fraction(v)
    except (ValueError, ZeroDivisionError):
        raise _Malformed(f"{what}: {v!r:.60} is not a rational 'p/q'") from None


def _parse_decimal(v: Any, what: str) -> Fraction | float:
    """A stored decimal end: an exact Fraction, or +-inf."""
    if isinstance(v, bool):
        raise _Malformed(f"{what}: {v!r} is not a number")
    if isinstance(v, float):
        if math.isnan(v):
            raise _Malformed(f"{what}: NaN")
        return v if math.isinf(v) else Fraction(v)
    if isinstance(v, int):
        return Fraction(v)
    if isinstance(v, str):
        t = v.strip().lower()
        if t in ("inf", "+inf", "infinity", "+infinity"):
            return math.inf
        if t in ("-inf", "-infinity"):
            return -math.inf
        try:
            return Fraction(t)
        except (ValueError, ZeroDivisionError):
            pass
    raise _Malformed(f"{what}: {v!r:.60} is not a decimal number")


def _box_symbol(name: str, lo: Fraction, lo_open: bool) -> sp.Symbol:
    """The symbol with the assumptions the box implies (as in ``FORMAT.md``)."""
    if lo > 0 or (lo == 0 and lo_open):
        return sp.Symbol(name, positive=True)
    if lo >= 0:
        return sp.Symbol(name, nonnegative=True)
    return sp.Symbol(name, real=True)


def _canon(expr: sp.Expr, by_name: Mapping[str, sp.Symbol]) -> sp.Expr:
    """``expr`` with every symbol named like a box variable replaced by the box's symbol."""
    rep = {s: by_name[s.name] for s in expr.free_symbols
           if isinstance(s, sp.Symbol) and s.name in by_name and s != by_name[s.name]}
    return expr.xreplace(rep) if rep else expr


def _assumption_words(s: sp.Symbol) -> str:
    for key in ("positive", "nonnegative", "negative", "nonpositive", "real"):
        if s.assumptions0.get(key):
            return key
    return "no assumptions"


def _is_zero(expr: sp.Expr) -> bool:
    """``simplify(expr) == 0`` (then once more with the toolkit's functions written out)."""
    if expr == 0:
        return True
    try:
        if sp.simplify(expr) == 0:
            return True
        alt = _elementary(expr)
        return alt != expr and sp.simplify(alt) == 0
    except Exception:  # SymPy can fail on exotic input: then it is not proved to be 0
        return False


# ------------------------------------------------------------- interval helpers (mpmath.iv)

class _DomainError(ArithmeticError):
    """The expression is not known to be defined (real, finite) on the box."""


class _Unsupported(ValueError):
    """No interval extension for a part of the expression."""


_Iv = Any  # an mpmath.iv interval (ivmpf)
_Fn = Callable[..., _Iv]  # (box intervals[, shared memo]) -> interval
_Raw = tuple  # mpmath's raw mpf tuple

_FLOOR, _CEIL = libmp.round_floor, libmp.round_ceiling
_SPECIAL = (libmp.finf, libmp.fninf, libmp.fnan)


def _mk(lo: _Raw, hi: _Raw) -> _Iv:
    return iv.make_mpf((lo, hi))


def _ends(x: _Iv) -> tuple[_Raw, _Raw]:
    return x._mpi_


def _from_fraction(q: Fraction, rnd: str) -> _Raw:
    return libmp.from_rational(q.numerator, q.denominator, iv.prec, rnd)


def _to_fraction(raw: _Raw) -> Fraction:
    if raw in _SPECIAL:
        raise _DomainError("non-finite enclosure")
    p, q = libmp.to_rational(raw)
    return Fraction(p, q)


def _exact(q: Fraction) -> _Iv:
    """The (tightest outward) interval of the rational ``q``."""
    return _mk(_from_fraction(q, _FLOOR), _from_fraction(q, _CEIL))


def _range(lo: Fraction, hi: Fraction) -> _Iv:
    return _mk(_from_fraction(lo, _FLOOR), _from_fraction(hi, _CEIL))


def _sgn(raw: _Raw) -> int:
    return libmp.mpf_sign(raw)


def _finite(x: _Iv) -> bool:
    lo, hi = x._mpi_
    return lo not in _SPECIAL and hi not in _SPECIAL


def _fmt(x: _Iv) -> str:
    lo, hi = x._mpi_
    return f"[{libmp.to_str(lo, 8)}, {libmp.to_str(hi, 8)}]"


def _hull(a: _Iv, b: _Iv) -> _Iv:
    (al, ah), (bl, bh) = a._mpi_, b._mpi_
    return _mk(al if libmp.mpf_le(al, bl) else bl, ah if libmp.mpf_ge(ah, bh) else bh)


def _clamp(x: _Iv, lo: _Raw | None = None, hi: _Raw | None = None) -> _Iv:
    """``x`` intersected with ``[lo, hi]`` (a mathematically valid range of the function)."""
    xl, xh = x._mpi_
    if xl in _SPECIAL or xh in _SPECIAL:
        raise _DomainError("non-finite enclosure")
    if lo is not None and libmp.mpf_lt(xl, lo):
        xl = lo
    if hi is not None and libmp.mpf_gt(xh, hi):
        xh = hi
    if libmp.mpf_gt(xl, xh):
        raise _DomainError("empty enclosure after clamping to the function's range")
    return _mk(xl, xh)


_ONE = libmp.fone
_MONE = libmp.mpf_neg(libmp.fone)
_ZERO = libmp.fzero
_TWO = libmp.from_int(2)


def _contains_zero(x: _Iv) -> bool:
    lo, hi = x._mpi_
    return _sgn(lo) <= 0 <= _sgn(hi)


def _recip(x: _Iv) -> _Iv:
    if _contains_zero(x):
        raise _DomainError(f"division by an enclosure {_fmt(x)} that contains 0")
    return 1 / x


def _sqrt(x: _Iv) -> _Iv:
    lo, _ = x._mpi_
    if _sgn(lo) < 0:
        raise _DomainError(f"sqrt of an enclosure {_fmt(x)} with a negative part")
    return iv.sqrt(x)


def _ipow(x: _Iv, n: int) -> _Iv:
    if n < 0:
        return _recip(_ipow(x, -n))
    if n == 0:
        return _mk(_ONE, _ONE)
    out = x**n
    return _clamp(out, _ZERO) if n % 2 == 0 else out


def _exp(x: _Iv) -> _Iv:
    return _clamp(iv.exp(x), _ZERO)


def _log(x: _Iv) -> _Iv:
    if _sgn(x._mpi_[0]) <= 0:
        raise _DomainError(f"log of an enclosure {_fmt(x)} that is not positive")
    return iv.ln(x)


def _pi() -> _Iv:
    return _mk(*iv.pi._mpi_)


def _point(raw: _Raw) -> _Iv:
    return _mk(raw, raw)


def _pad(v: _Raw, prec: int) -> tuple[_Raw, _Raw]:
    """``v`` widened by a relative ``2^-prec`` and rounded outward to ``iv.prec`` bits."""
    pad = libmp.mpf_shift(libmp.mpf_abs(v), -prec)
    return (libmp.mpf_sub(v, pad, iv.prec, _FLOOR), libmp.mpf_add(v, pad, iv.prec, _CEIL))


def _atan_point(p: _Raw) -> tuple[_Raw, _Raw]:
    """Rigorous ends of ``atan(p)``: mpmath's value padded, then verified with ``iv.tan``."""
    if p == _ZERO:
        return _ZERO, _ZERO
    prec = iv.prec
    with mpmath.mp.workprec(prec + 40):
        a = mpmath.mp.atan(mpmath.mp.make_mpf(p))._mpf_
    lo, hi = _pad(a, prec)
    half_pi_hi = libmp.mpf_shift(iv.pi._mpi_[1], -1)
    t = iv.tan(_point(lo))
    if not (_finite(t) and libmp.mpf_le(t._mpi_[1], p)):  # then tan(lo) <= p is not shown
        lo = libmp.mpf_neg(half_pi_hi)
    t = iv.tan(_point(hi))
    if not (_finite(t) and libmp.mpf_ge(t._mpi_[0], p)):
        hi = half_pi_hi
    return lo, hi


def _atan(x: _Iv) -> _Iv:
    lo, hi = x._mpi_
    return _mk(_atan_point(lo)[0], _atan_point(hi)[1])


def _erf_point(p: _Raw, comp: bool) -> tuple[_Raw, _Raw]:
    """Ends of ``erf(p)`` (``erfc(p)`` if ``comp``): mpmath at 64 extra bits, padded."""
    if p == _ZERO:
        return (_ONE, _ONE) if comp else (_ZERO, _ZERO)
    prec = iv.prec
    with mpmath.mp.workprec(prec + 64):
        x = mpmath.mp.make_mpf(p)
        v = (mpmath.mp.erfc(x) if comp else mpmath.mp.erf(x))._mpf_
    lo, hi = _pad(v, prec)
    if comp:
        lo = lo if _sgn(lo) > 0 else _ZERO
        hi = hi if libmp.mpf_le(hi, _TWO) else _TWO
    else:
        if _sgn(p) > 0:
            lo = lo if _sgn(lo) >= 0 else _ZERO
        else:
            hi = hi if _sgn(hi) <= 0 else _ZERO
        lo = lo if libmp.mpf_ge(lo, _MONE) else _MONE
        hi = hi if libmp.mpf_le(hi, _ONE) else _ONE
    return lo, hi


def _erf(x: _Iv) -> _Iv:
    lo, hi = x._mpi_
    return _mk(_erf_point(lo, False)[0], _erf_point(hi, False)[1])


def _erfc(x: _Iv) -> _Iv:  # decreasing
    lo, hi = x._mpi_
    return _mk(_erf_point(hi, True)[0], _erf_point(lo, True)[1])


@functools.lru_cache(maxsize=64)
def _terms_needed(prec: int, odd: bool) -> int:
    """Smallest m (odd if ``odd``) with ``log2(m!) >= prec + 12``."""
    m = 3 if odd else 2
    while math.lgamma(m + 1) / math.log(2) < prec + 12:
        m += 2 if odd else 1
    return m


def _tms_point(p: _Raw) -> _Iv:
    """``p - sin p`` at a point: the alternating Taylor series with its first omitted term as
    the error bound for ``|p| <= 1`` (terms decrease there), ``iv`` otherwise."""
    x = _point(p)
    if libmp.mpf_gt(libmp.mpf_abs(p), _ONE):
        return x - iv.sin(x)
    m = _terms_needed(iv.prec, odd=True)  # first omitted power
    x2 = x * x
    term = x * x2 / 6
    s = term
    k = 3
    while k + 2 < m:
        term = term * (-x2) / ((k + 1) * (k + 2))
        s = s + term
        k += 2
    r = (abs(x) ** m / math.factorial(m))._mpi_[1]
    return s + _mk(libmp.mpf_neg(r), r)


def _tms(x: _Iv) -> _Iv:
    lo, hi = x._mpi_
    out = _mk(_tms_point(lo)._mpi_[0], _tms_point(hi)._mpi_[1])
    return _clamp(out, _ZERO if _sgn(lo) >= 0 else None, _ZERO if _sgn(hi) <= 0 else None)


_HALF = libmp.from_rational(1, 2, 53, _FLOOR)


def _em1_point(p: _Raw) -> _Iv:
    """``e^p - 1`` at a point: Taylor series for ``|p| <= 1/2`` with the tail bounded by
    ``2 |p|^m / m!`` (``m`` the first omitted power), ``iv.exp(p) - 1`` otherwise."""
    x = _point(p)
    if libmp.mpf_gt(libmp.mpf_abs(p), _HALF):
        return iv.exp(x) - 1
    m = _terms_needed(iv.prec, odd=False)
    term = x
    s = x
    for k in range(2, m):
        term = term * x / k
        s = s + term
    r = (2 * abs(x) ** m / math.factorial(m))._mpi_[1]
    return s + _mk(libmp.mpf_neg(r), r)


def _em1(x: _Iv) -> _Iv:
    lo, hi = x._mpi_
    out = _mk(_em1_point(lo)._mpi_[0], _em1_point(hi)._mpi_[1])
    return _clamp(out, _ZERO if _sgn(lo) >= 0 else _MONE, _ZERO if _sgn(hi) <= 0 else None)


def _sign(x: _Iv, guard: bool) -> _Iv:
    lo, hi = x._mpi_
    a, b = _sgn(lo), _sgn(hi)
    if guard and a <= 0 <= b and not a == b == 0:
        raise _DomainError(f"sign of an enclosure {_fmt(x)} that meets 0 (not continuous)")
    return _mk(libmp.from_int(a), libmp.from_int(b))


def _erf_ratio(x: _Iv, y: _Iv, guard: bool) -> _Iv:
    ylo, yhi = y._mpi_
    if _sgn(ylo) > 0:
        return _erf(x / y)
    if guard:
        raise _DomainError(f"erf_ratio with a denominator {_fmt(y)} that is not positive")
    out = _sign(x, False)  # the y <= 0 part
    if _sgn(yhi) > 0:  # y in (0, yhi]: erf(x/y) between erf(x/yhi) and sign(x)
        xlo, xhi = x._mpi_
        top = _point(yhi)
        lo = _erf(_point(xlo) / top)._mpi_[0] if _sgn(xlo) >= 0 else _MONE
        hi = _erf(_point(xhi) / top)._mpi_[1] if _sgn(xhi) <= 0 else _ONE
        out = _hull(out, _mk(lo, hi))
    return out


def _asin_point(p: _Raw) -> _Iv:
    x = _point(p)
    root = iv.sqrt(_clamp(1 - x * x, _ZERO))  # 1 - p^2 >= 0 exactly for |p| <= 1
    return 2 * _atan(x / (1 + root))


def _acos_point(p: _Raw) -> _Iv:
    if p == _MONE:
        return _pi()
    x = _point(p)
    return 2 * _atan(iv.sqrt(_clamp((1 - x) / (1 + x), _ZERO)))


def _unit_domain(x: _Iv, name: str) -> None:
    lo, hi = x._mpi_
    if libmp.mpf_lt(lo, _MONE) or libmp.mpf_gt(hi, _ONE):
        raise _DomainError(f"{name} of an enclosure {_fmt(x)} not inside [-1, 1]")


def _asin(x: _Iv) -> _Iv:
    _unit_domain(x, "asin")
    lo, hi = x._mpi_
    half_pi = libmp.mpf_shift(iv.pi._mpi_[1], -1)
    return _clamp(_mk(_asin_point(lo)._mpi_[0], _asin_point(hi)._mpi_[1]),
                  libmp.mpf_neg(half_pi), half_pi)


def _acos(x: _Iv) -> _Iv:  # decreasing
    _unit_domain(x, "acos")
    lo, hi = x._mpi_
    return _clamp(_mk(_acos_point(hi)._mpi_[0], _acos_point(lo)._mpi_[1]),
                  _ZERO, iv.pi._mpi_[1])


def _atan2(y: _Iv, x: _Iv) -> _Iv:
    if _sgn(x._mpi_[0]) > 0:
        return _atan(y / x)
    half_pi = _pi() / 2
    if _sgn(y._mpi_[0]) > 0:
        return half_pi - _atan(x / y)
    if _sgn(y._mpi_[1]) < 0:
        return -half_pi - _atan(x / y)
    raise _DomainError(f"atan2 on its branch cut (y in {_fmt(y)}, x in {_fmt(x)})")


# ---------------------------------------------------------------------------- compiler

_Node = Callable[[Sequence[_Iv], dict[int, _Iv]], _Iv]
"""A compiled node: (box intervals, per-evaluation memo of shared subexpressions) -> interval."""
_Cond = Callable[[Sequence[_Iv], dict[int, _Iv]], bool | None]


class _Compiler:
    """Compiles SymPy expressions once into closures over a sequence of intervals.

    The tree is walked at compile time; every distinct non-trivial subexpression gets a slot,
    and one evaluation computes each slot at most once (``sin(z)`` shared by many terms is
    evaluated once per box).  Constants are evaluated once, at compile time.  Expressions
    compiled by the same compiler (a factor and its derivatives) share slots.

    ``guard``: the expression must be continuous on the box (derivative-based leaves): an
    undecided ``Piecewise`` condition, ``sign``/``Heaviside`` meeting 0 and ``erf_ratio`` with
    a non-positive denominator raise :class:`_DomainError`.
    """

    def __init__(self, index: Mapping[sp.Symbol, int], guard: bool) -> None:
        self.index = dict(index)
        self.guard = guard
        self.memo: dict[sp.Basic, _Node] = {}

    def build(self, e: sp.Basic) -> _Node:
        f = self.memo.get(e)
        if f is None:
            raw = self._build(e)
            if isinstance(e, sp.Symbol) or e.is_Number or e in (sp.pi, sp.E):
                f = raw
            elif not e.free_symbols:
                f = self._const(raw((), {}))  # domain errors of constants surface here
            else:
                f = self._cached(raw, len(self.memo))
            self.memo[e] = f
        return f

    @staticmethod
    def _cached(raw: _Node, k: int) -> _Node:
        def node(xs: Sequence[_Iv], memo: dict[int, _Iv]) -> _Iv:
            v = memo.get(k)
            if v is None:
                v = memo[k] = raw(xs, memo)
            return v
        return node

    @staticmethod
    def _const(v: _Iv) -> _Node:
        return lambda xs, memo: v

    def _unary(self, fu: Callable[[_Iv], _Iv], arg: sp.Basic) -> _Node:
        fa = self.build(arg)
        return lambda xs, memo: fu(fa(xs, memo))

    def _build(self, e: sp.Basic) -> _Node:  # noqa: C901 - one branch per supported function
        guard = self.guard
        if isinstance(e, sp.Symbol):
            if e not in self.index:
                raise _Unsupported(f"free symbol {e} is not a box variable")
            i = self.index[e]
            return lambda xs, memo: xs[i]
        if e.is_Rational:
            return self._const(_exact(Fraction(int(e.p), int(e.q))))
        if e.is_Float:
            return self._const(_exact(_to_fraction(e._mpf_)))
        if e is sp.pi:
            return self._const(_pi())
        if e is sp.E:
            return self._const(_mk(*iv.e._mpi_))
        if isinstance(e, sp.Add | sp.Mul):
            fs = tuple(self.build(a) for a in e.args)
            if isinstance(e, sp.Add):
                def add(xs: Sequence[_Iv], memo: dict[int, _Iv]) -> _Iv:
                    r = fs[0](xs, memo)
                    for f in fs[1:]:
                        r = r + f(xs, memo)
                    return r
                return add

            def mul(xs: Sequence[_Iv], memo: dict[int, _Iv]) -> _Iv:
                r = fs[0](xs, memo)
                for f in fs[1:]:
                    r = r * f(xs, memo)
                return r
            return mul
        if isinstance(e, sp.Pow):
            return self._pow(e)
        if isinstance(e, sp.Piecewise):
            return self._piecewise(e)
        name = e.func.__name__
        if name in _CUSTOM:
            fs = tuple(self.build(a) for a in e.args)
            if name == "t_minus_sin":
                return self._unary(_tms, e.args[0])
            if name == "exp_m1":
                return self._unary(_em1, e.args[0])
            return lambda xs, memo: _erf_ratio(fs[0](xs, memo), fs[1](xs, memo), guard)
        unary: dict[type, Callable[[_Iv], _Iv]] = {
            sp.sin: lambda x: _clamp(iv.sin(x), _MONE, _ONE),
            sp.cos: lambda x: _clamp(iv.cos(x), _MONE, _ONE),
            sp.tan: lambda x: _clamp(iv.tan(x)),  # a pole gives [-inf, inf]: domain error
            sp.exp: _exp, sp.log: _log, sp.Abs: lambda x: _clamp(abs(x), _ZERO),
            sp.atan: _atan, sp.asin: _asin, sp.acos: _acos, sp.erf: _erf, sp.erfc: _erfc,
            sp.sign: lambda x: _sign(x, guard), sp.Heaviside: self._heaviside,
        }
        if e.func is sp.Heaviside and len(e.args) == 2 and not (
                e.args[1].is_number and 0 <= e.args[1] <= 1):
            raise _Unsupported(f"Heaviside with H(0) = {e.args[1]} outside [0, 1]")
        if e.func in unary and (len(e.args) == 1 or e.func is sp.Heaviside):
            return self._unary(unary[e.func], e.args[0])
        if e.func is sp.atan2:
            fy, fx = self.build(e.args[0]), self.build(e.args[1])
            return lambda xs, memo: _atan2(fy(xs, memo), fx(xs, memo))
        if e.func in (sp.Max, sp.Min):
            fs = tuple(self.build(a) for a in e.args)
            better = libmp.mpf_gt if e.func is sp.Max else libmp.mpf_lt

            def extremum(xs: Sequence[_Iv], memo: dict[int, _Iv]) -> _Iv:
                vals = [f(xs, memo)._mpi_ for f in fs]
                lo, hi = vals[0]
                for a, b in vals[1:]:
                    lo = a if better(a, lo) else lo
                    hi = b if better(b, hi) else hi
                return _mk(lo, hi)
            return extremum
        raise _Unsupported(f"no interval extension for {name}")

    def _heaviside(self, x: _Iv) -> _Iv:
        lo, hi = x._mpi_
        if _sgn(lo) > 0:
            return _mk(_ONE, _ONE)
        if _sgn(hi) < 0:
            return _mk(_ZERO, _ZERO)
        if self.guard and not (lo == _ZERO and hi == _ZERO):
            raise _DomainError(f"Heaviside of an enclosure {_fmt(x)} that meets 0")
        return _mk(_ZERO, _ONE)  # contains H(0) = 1/2 (SymPy's default)

    def _pow(self, e: sp.Pow) -> _Node:
        b, x = e.args
        fb = self.build(b)
        if x.is_Integer:
            n = int(x)
            return lambda xs, memo: _ipow(fb(xs, memo), n)
        if x.is_Rational and x.q == 2:
            p = int(x.p)
            return lambda xs, memo: _ipow(_sqrt(fb(xs, memo)), p)
        fx = self.build(x)
        positive_exponent = bool(x.is_positive) and not x.free_symbols

        def power(xs: Sequence[_Iv], memo: dict[int, _Iv]) -> _Iv:
            base, ex = fb(xs, memo), fx(xs, memo)
            lo, hi = base._mpi_
            if _sgn(lo) > 0:
                return _exp(ex * iv.ln(base))
            if positive_exponent and _sgn(lo) == 0:  # b^e, e > 0, b in [0, hi]: increasing
                if _sgn(hi) == 0:
                    return _mk(_ZERO, _ZERO)
                top = _exp(ex * iv.ln(_point(hi)))
                return _mk(_ZERO, top._mpi_[1])
            raise _DomainError(f"real power of an enclosure {_fmt(base)} that is not positive")
        return power

    def _piecewise(self, e: sp.Piecewise) -> _Node:
        branches = [(self.build(pair.expr), self._cond(pair.cond)) for pair in e.args]
        guard = self.guard

        def piecewise(xs: Sequence[_Iv], memo: dict[int, _Iv]) -> _Iv:
            out = None
            for val, cond in branches:
                c = cond(xs, memo)
                if c is False:
                    continue
                if c is None and guard:
                    raise _DomainError("a Piecewise condition is undecided on the box "
                                       "(not known to be continuous)")
                v = val(xs, memo)
                out = v if out is None else _hull(out, v)
                if c is True:
                    break
            if out is None:
                raise _DomainError("no Piecewise branch applies on the box")
            return out
        return piecewise

    def _cond(self, c: sp.Basic) -> _Cond:
        if c is sp.true or isinstance(c, BooleanTrue):
            return lambda xs, memo: True
        if c is sp.false or isinstance(c, BooleanFalse):
            return lambda xs, memo: False
        if isinstance(c, sp.And | sp.Or):
            parts = [self._cond(a) for a in c.args]
            is_and = isinstance(c, sp.And)

            def combine(xs: Sequence[_Iv], memo: dict[int, _Iv]) -> bool | None:
                vals = [p(xs, memo) for p in parts]
                if is_and:
                    return False if False in vals else (True if all(vals) else None)
                return True if True in vals else (False if all(v is False for v in vals)
                                                  else None)
            return combine
        if isinstance(c, sp.Not):
            inner = self._cond(c.args[0])

            def negate(xs: Sequence[_Iv], memo: dict[int, _Iv]) -> bool | None:
                v = inner(xs, memo)
                return None if v is None else not v
            return negate
        if isinstance(c, sp.core.relational.Relational):
            fd = self.build(c.lhs - c.rhs)
            op = c.rel_op
            if op not in ("<", "<=", ">", ">=", "==", "!="):
                raise _Unsupported(f"relation {op}")

            def rel(xs: Sequence[_Iv], memo: dict[int, _Iv]) -> bool | None:
                lo, hi = fd(xs, memo)._mpi_
                a, b = _sgn(lo), _sgn(hi)
                if op == "<":
                    return True if b < 0 else (False if a >= 0 else None)
                if op == "<=":
                    return True if b <= 0 else (False if a > 0 else None)
                if op == ">":
                    return True if a > 0 else (False if b <= 0 else None)
                if op == ">=":
                    return True if a >= 0 else (False if b < 0 else None)
                if op == "==":
                    return True if a == b == 0 else (False if a > 0 or b < 0 else None)
                return False if a == b == 0 else (True if a > 0 or b < 0 else None)
            return rel
        raise _Unsupported(f"condition {type(c).__name__}")

    def compile(self, expr: sp.Expr) -> _Fn:
        """``expr`` as a function of the box intervals (own memo); a non-finite result is a
        domain error."""
        f = self.build(expr)

        def checked(xs: Sequence[_Iv], memo: dict[int, _Iv] | None = None) -> _Iv:
            v = f(xs, {} if memo is None else memo)
            if not _finite(v):
                raise _DomainError(f"non-finite enclosure {_fmt(v)}")
            return v
        return checked


def _compile(expr: sp.Expr, symbols: Sequence[sp.Symbol], guard: bool = False) -> _Fn:
    return _Compiler({s: i for i, s in enumerate(symbols)}, guard).compile(expr)


def enclose(expr: sp.Expr | str, box: Mapping[str | sp.Symbol, tuple[Any, Any]], *,
            prec: int = 128) -> tuple[Fraction, Fraction]:
    """A rigorous enclosure ``(lo, hi)`` (exact binary rationals) of ``expr`` over ``box``
    (variable name or symbol -> ``(lo, hi)`` rationals), with this module's evaluator at
    ``prec`` bits.  Raises :class:`ArithmeticError` where the expression is not known to be
    defined on the box and :class:`ValueError` for unsupported functions."""
    e = _parse_expr(expr, "expression") if isinstance(expr, str) else expr
    names = [str(k) for k in box]
    syms = sorted((s for s in e.free_symbols if isinstance(s, sp.Symbol)), key=str)
    if any(s.name not in names for s in syms):
        raise ValueError(f"box lacks {[s.name for s in syms if s.name not in names]}")
    order = {n: i for i, n in enumerate(names)}
    symbols: list[sp.Symbol] = [sp.Dummy()] * len(names)
    for s in syms:
        symbols[order[s.name]] = s
    saved = iv.prec
    try:
        iv.prec = prec
        xs = [_range(Fraction(str(a)), Fraction(str(b))) for a, b in box.values()]
        v = _compile(e, symbols)(xs)
        lo, hi = v._mpi_
        return _to_fraction(lo), _to_fraction(hi)
    finally:
        iv.prec = saved


# ------------------------------------------------------------------------ the certificate

@dataclass
class _Var:
    name: str
    lo: Fraction
    hi: Fraction
    lo_open: bool
    hi_open: bool
    symbol: sp.Symbol


@dataclass
class _Ineq:
    name: str
    relation: str
    variables: list[_Var]
    original: sp.Expr
    original_src: str
    substitution: dict[str, sp.Expr]
    multiplier: sp.Expr
    expr: sp.Expr
    raw: dict[str, Any]

    @property
    def symbols(self) -> list[sp.Symbol]:
        return [v.symbol for v in self.variables]

    @property
    def box(self) -> list[tuple[Fraction, Fraction]]:
        return [(v.lo, v.hi) for v in self.variables]


Box = list[tuple[Fraction, Fraction]]


def _parse_box(raw: Any, n: int) -> Box:
    if not isinstance(raw, list) or len(raw) != n:
        raise _Malformed(f"a box needs {n} [lo, hi] pairs, got {raw!r:.80}")
    out = []
    for pair in raw:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise _Malformed(f"box entry {pair!r:.60} is not a [lo, hi] pair")
        out.append((_parse_rational(pair[0], "box"), _parse_rational(pair[1], "box")))
    return out


def _fmt_box(box: Box) -> str:
    return "[" + ", ".join(f"[{a}, {b}]" for a, b in box) + "]"


class _FactorReplay:
    """Replays the proof tree of one ``boxes`` factor: ``g >= 0`` (``> 0`` if strict)."""

    def __init__(self, g: sp.Expr, symbols: Sequence[sp.Symbol], strict: bool) -> None:
        self.g = g
        self.symbols = list(symbols)
        self.strict = strict
        self.rel = ">" if strict else ">="
        self._compiler = _Compiler({x: i for i, x in enumerate(self.symbols)}, guard=False)
        self._compiled: dict[Any, _Fn | Exception] = {}
        self._zero: dict[tuple[Fraction, ...], bool] = {}
        self.needs_guard = bool(g.has(sp.Piecewise, sp.sign, sp.Heaviside)) or any(
            a.func.__name__ == "erf_ratio" for a in g.atoms(sp.Function))

    def _get(self, key: Any, make: Callable[[], _Fn]) -> _Fn:
        """Compile once per factor; a compile failure is remembered and raised again."""
        f = self._compiled.get(key)
        if f is None:
            try:
                f = make()
            except (_DomainError, _Unsupported) as exc:
                f = exc
            self._compiled[key] = f
        if isinstance(f, Exception):
            raise f
        return f

    def fn(self) -> _Fn:
        return self._get("g", lambda: self._compiler.compile(self.g))

    def guard(self, xs: Sequence[_Iv]) -> None:
        if self.needs_guard:
            self._get("guard", lambda: _compile(self.g, self.symbols, guard=True))(xs)

    def grad(self, i: int) -> _Fn:
        def make() -> _Fn:
            d = sp.diff(self.g, self.symbols[i])
            if d.has(sp.Derivative, sp.Subs):
                raise _Unsupported(f"SymPy leaves d/d{self.symbols[i]} unevaluated")
            return self._compiler.compile(d)  # shares subexpression slots with g
        return self._get(i, make)

    def leaf(self, node: dict[str, Any], box: Box) -> tuple[list[str], list[tuple[Any, Box, str]]]:
        """Reasons the leaf fails (empty if it verifies) and the face node to replay."""
        method = node.get("method")
        xs = [_range(a, b) for a, b in box]
        try:
            if method == "enclosure":
                v = self.fn()(xs)
                out = self._stored(node, v, "g")
                if not self._proves(v):
                    out.append(f"replayed enclosure {_fmt(v)} does not prove {self.rel} 0")
                return out, []
            if method == "mean_value":
                return self._mean_value(node, box, xs), []
            if method == "monotone":
                return self._monotone(node, box, xs)
            if method == "exact_zero":
                return self._exact_zero(node, box, xs), []
        except (_DomainError, _Unsupported, ZeroDivisionError) as exc:
            return [f"{method}: cannot evaluate on the box: {exc}"], []
        return [f"unknown leaf method {method!r}"], []

    def _proves(self, v: _Iv) -> bool:
        s = _sgn(v._mpi_[0])
        return s > 0 if self.strict else s >= 0

    def _stored(self, node: dict[str, Any], replay: _Iv, kind: str) -> list[str]:
        raw = node.get("enclosure")
        if raw is None:
            return []
        try:
            if not isinstance(raw, list | tuple) or len(raw) != 2:
                raise _Malformed(f"{raw!r:.80} is not a [lo, hi] pair")
            a, b = _parse_decimal(raw[0], "stored enclosure"), \
                _parse_decimal(raw[1], "stored enclosure")
        except _Malformed as exc:
            return [f"malformed stored enclosure: {exc}"]
        shown = f"[{raw[0]}, {raw[1]}]"
        if a > b:
            return [f"stored enclosure {shown} is empty (lo > hi)"]
        out = []
        if kind == "g" and (a < -_TOL or (self.strict and b <= 0)):
            out.append(f"stored enclosure {shown} contradicts g {self.rel} 0")
        elif kind == "increasing" and a < -_TOL:
            out.append(f"stored derivative enclosure {shown} contradicts 'increasing'")
        elif kind == "decreasing" and b > _TOL:
            out.append(f"stored derivative enclosure {shown} contradicts 'decreasing'")
        elif kind == "zero" and (a > _TOL or b < -_TOL):
            out.append(f"stored enclosure {shown} contradicts g = 0 at the point")
        lo, hi = replay._mpi_
        if b < _to_fraction(lo) or a > _to_fraction(hi):
            out.append(f"stored enclosure {shown} disagrees with the replay {_fmt(replay)}")
        return out

    def _mean_value(self, node: dict[str, Any], box: Box, xs: Sequence[_Iv]) -> list[str]:
        raw = node.get("center")
        if not isinstance(raw, list) or len(raw) != len(box):
            return [f"mean_value: 'center' must list {len(box)} rationals"]
        try:
            c = [_parse_rational(v, "center") for v in raw]
        except _Malformed as exc:
            return [f"mean_value: {exc}"]
        if any(not a <= ci <= b for ci, (a, b) in zip(c, box)):
            return [f"mean_value: center {[str(v) for v in c]} is not in the box"]
        self.guard(xs)
        total = self.fn()([_exact(ci) for ci in c])
        memo: dict[int, _Iv] = {}  # shared by the partial derivatives over the box
        for i, (ci, (a, b)) in enumerate(zip(c, box)):
            if a < b:  # a pinned variable contributes exactly 0
                total = total + self.grad(i)(xs, memo) * _range(a - ci, b - ci)
        if not _finite(total):
            raise _DomainError(f"non-finite mean-value bound {_fmt(total)}")
        out = self._stored(node, total, "g")
        if not self._proves(total):
            out.append(f"replayed mean-value bound {_fmt(total)} does not prove {self.rel} 0")
        return out

    def _monotone(self, node: dict[str, Any], box: Box,
                  xs: Sequence[_Iv]) -> tuple[list[str], list[tuple[Any, Box, str]]]:
        i, direction = node.get("variable"), node.get("direction")
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(box):
            return [f"monotone: variable index {i!r} out of range"], []
        if direction not in ("increasing", "decreasing"):
            return [f"monotone: unknown direction {direction!r}"], []
        a, b = box[i]
        if not a < b:
            return [f"monotone: variable {i} is already pinned in this box"], []
        self.guard(xs)
        d = self.grad(i)(xs)
        lo, hi = d._mpi_
        out = self._stored(node, d, direction)
        if direction == "increasing" and _sgn(lo) < 0:
            out.append(f"replayed d/d{self.symbols[i]} enclosure {_fmt(d)} is not >= 0")
        if direction == "decreasing" and _sgn(hi) > 0:
            out.append(f"replayed d/d{self.symbols[i]} enclosure {_fmt(d)} is not <= 0")
        pin = a if direction == "increasing" else b
        face_box = list(box)
        face_box[i] = (pin, pin)
        if "face" not in node:
            out.append("monotone: the face node is missing")
            return out, []
        return out, [(node["face"], face_box, ".face")]

    def _exact_zero(self, node: dict[str, Any], box: Box, xs: Sequence[_Iv]) -> list[str]:
        if self.strict:
            return ["exact_zero is not allowed for a strict sign"]
        if any(a != b for a, b in box):
            return [f"exact_zero on a box {_fmt_box(box)} that is not a single point"]
        try:  # a numeric safety net; the proof is the exact simplification below
            v = self.fn()(xs)
        except _DomainError:
            v, out = None, []
        else:
            out = self._stored(node, v, "zero")
            if not _contains_zero(v):
                out.append(f"g at the point is enclosed in {_fmt(v)}, which excludes 0")
                return out
        pt = tuple(a for a, _ in box)
        ok = self._zero.get(pt)
        if ok is None:
            rep = {s: sp.Rational(q.numerator, q.denominator) for s, q in zip(self.symbols, pt)}
            ok = self._zero[pt] = _is_zero(self.g.xreplace(rep))
        if not ok:
            out.append("g at the point does not simplify to exactly 0")
        return out


class _Checker:
    def __init__(self, expected: Any) -> None:
        self.expected = expected
        self.reasons: list[str] = []
        self.notes: list[str] = []
        self.leaves = 0
        self.status = ""

    # ---------------------------------------------------------------- top level
    def run(self, cert: Any) -> None:
        if not isinstance(cert, dict):
            self.reasons.append("the certificate is not a JSON object")
            return
        if cert.get("format") != FORMAT:
            self.reasons.append(f"unknown format {cert.get('format')!r} (expected {FORMAT!r})")
            return
        self.status = status = cert.get("status")
        if status == "undecided":
            self.reasons.append(f"the certificate is undecided: {cert.get('reason')}")
            return
        if status not in ("certified", "refuted"):
            self.reasons.append(f"unknown status {status!r}")
            return
        bits = cert.get("precision_bits")
        if isinstance(bits, bool) or not isinstance(bits, int) or bits < 1:
            self.notes.append(f"precision_bits {bits!r} is not a positive integer: "
                              "replayed at 128 bits")
            bits = 64
        iv.prec = max(2 * bits, 128)
        ineqs: list[_Ineq] = []
        raw_ineqs = cert.get("inequalities")
        if not isinstance(raw_ineqs, list):
            self.reasons.append("'inequalities' is not a list")
            return
        names = [q.get("name") if isinstance(q, dict) else None for q in raw_ineqs]
        if any(not isinstance(n, str) for n in names):
            self.reasons.append("every inequality needs a string 'name'")
        elif len(set(names)) != len(names):
            self.reasons.append("inequality names are not unique")
        for k, raw in enumerate(raw_ineqs):
            try:
                ineqs.append(self._parse_inequality(raw, k))
            except _Malformed as exc:
                self.reasons.append(str(exc))
        if status == "certified":
            if cert.get("counterexample") is not None:
                self.reasons.append("a certified certificate carries a counterexample")
            self._identities(cert.get("identities", []))
            for q in ineqs:
                self._inequality(q)
            self._compare_claim(cert, ineqs, None)
        else:
            self._refutation(cert, ineqs)
        self._compare_expected(ineqs)

    # ------------------------------------------------------------------ parsing
    def _parse_inequality(self, raw: Any, k: int) -> _Ineq:
        if not isinstance(raw, dict):
            raise _Malformed(f"inequality {k} is not an object")
        name = raw.get("name")
        where = f"inequality {name!r}"
        relation = raw.get("relation")
        if relation not in (">=", ">"):
            raise _Malformed(f"{where}: unknown relation {relation!r}")
        rvars = raw.get("variables")
        if not isinstance(rvars, list):
            raise _Malformed(f"{where}: 'variables' is not a list")
        variables = []
        for v in rvars:
            if not isinstance(v, dict) or not isinstance(v.get("name"), str):
                raise _Malformed(f"{where}: malformed variable {v!r:.80}")
            lo = _parse_rational(v.get("lo"), f"{where}: variable {v['name']}")
            hi = _parse_rational(v.get("hi"), f"{where}: variable {v['name']}")
            if lo > hi:
                raise _Malformed(f"{where}: variable {v['name']} has lo > hi")
            lo_open, hi_open = v.get("lo_open", False), v.get("hi_open", False)
            if not isinstance(lo_open, bool) or not isinstance(hi_open, bool):
                raise _Malformed(f"{where}: variable {v['name']}: lo_open/hi_open must be "
                                 "true or false")
            variables.append(_Var(v["name"], lo, hi, lo_open, hi_open,
                                  _box_symbol(v["name"], lo, lo_open)))
        by_name = {v.name: v.symbol for v in variables}
        if len(by_name) != len(variables):
            raise _Malformed(f"{where}: variable names are not unique")
        original = _parse_expr(raw.get("original"), f"{where}: original")
        subst_raw = raw.get("substitution") or {}
        if not isinstance(subst_raw, dict):
            raise _Malformed(f"{where}: 'substitution' is not an object")
        # Symbols other than the box variables are *parameters* (a scale m > 0 with
        # r = m/(1 - nu), kept free): they keep their srepr assumptions; see _algebra.
        substitution = {}
        for key, src in subst_raw.items():
            substitution[str(key)] = _canon(_parse_expr(src, f"{where}: substitution[{key}]"),
                                            by_name)
        multiplier = _canon(_parse_expr(raw.get("multiplier", "Integer(1)"),
                                        f"{where}: multiplier"), by_name)
        expr = _canon(_parse_expr(raw.get("expr"), f"{where}: expr"), by_name)
        return _Ineq(str(name), relation, variables, original, str(raw.get("original")),
                     substitution, multiplier, expr, raw)

    # ---------------------------------------------------------------- identities
    def _identities(self, raw: Any) -> None:
        if not isinstance(raw, list):
            self.reasons.append("'identities' is not a list")
            return
        for k, ident in enumerate(raw):
            try:
                lhs, rhs = self._parse_identity(ident, k)
            except _Malformed as exc:
                self.reasons.append(str(exc))
                continue
            if not _is_zero(lhs - rhs):
                self.reasons.append(f"identity {ident.get('name')!r}: lhs - rhs does not "
                                    "simplify to 0")

    @staticmethod
    def _parse_identity(ident: Any, k: int) -> tuple[sp.Expr, sp.Expr]:
        if not isinstance(ident, dict):
            raise _Malformed(f"identity {k} is not an object")
        where = f"identity {ident.get('name')!r}"
        lhs = _parse_expr(ident.get("lhs"), f"{where}: lhs")
        rhs = _parse_expr(ident.get("rhs"), f"{where}: rhs")
        syms = ident.get("symbols") or {}
        if isinstance(syms, dict) and syms:
            by_name = {}
            for name, assumptions in syms.items():
                kw = {a: v for a, v in (assumptions or {}).items() if isinstance(v, bool)}
                try:
                    by_name[str(name)] = sp.Symbol(str(name), **kw)
                except Exception as exc:
                    raise _Malformed(f"{where}: bad assumptions for {name}: {exc}") from None
            lhs, rhs = _canon(lhs, by_name), _canon(rhs, by_name)
        return lhs, rhs

    # --------------------------------------------------------------- inequalities
    def _algebra(self, q: _Ineq) -> None:
        """expr == multiplier * original.subs(substitution); multiplier positive."""
        where = f"inequality {q.name!r}"
        by_name = {v.name: v.symbol for v in q.variables}
        rep: dict[sp.Basic, sp.Expr] = {}
        for s in q.original.free_symbols:
            if isinstance(s, sp.Symbol) and s.name in q.substitution:
                rep[s] = q.substitution[s.name]
            elif isinstance(s, sp.Symbol) and s.name in by_name:
                rep[s] = by_name[s.name]
        moved = q.original.xreplace(rep)
        params = (moved.free_symbols | q.multiplier.free_symbols | q.expr.free_symbols) \
            - set(by_name.values())
        if params:
            shown = ", ".join(f"{p} ({_assumption_words(p)})"
                              for p in sorted(params, key=str))
            self.notes.append(f"{where}: free parameters {shown}: the proof holds for every "
                              "value their assumptions allow (no 'boxes' factor may depend on "
                              "them)")
        if not _is_zero(q.expr - q.multiplier * moved):
            self.reasons.append(f"{where}: expr - multiplier*original.subs(substitution) does "
                                "not simplify to 0")
        if q.multiplier.is_positive is not True:
            self.reasons.append(f"{where}: the multiplier {q.multiplier} is not positive by "
                                "SymPy's assumptions on the box variables")

    def _inequality(self, q: _Ineq) -> None:
        where = f"inequality {q.name!r}"
        self._algebra(q)
        raw_factors = q.raw.get("factors")
        if not isinstance(raw_factors, list):
            self.reasons.append(f"{where}: 'factors' is not a list")
            return
        strict = q.relation == ">"
        by_name = {v.name: v.symbol for v in q.variables}
        parsed = []
        for k, f in enumerate(raw_factors):
            fw = f"{where}, factor {k}"
            if not isinstance(f, dict):
                self.reasons.append(f"{fw}: not an object")
                return
            try:
                fe = _canon(_parse_expr(f.get("expr"), fw), by_name)
            except _Malformed as exc:
                self.reasons.append(str(exc))
                return
            sign, method = f.get("sign"), f.get("method")
            if sign not in (">=0", ">0", "<=0", "<0"):
                self.reasons.append(f"{fw}: unknown sign {sign!r}")
                return
            if method not in ("symbolic", "boxes"):
                self.reasons.append(f"{fw}: unknown method {method!r}")
                return
            parsed.append((k, fe, sign, method, f.get("tree")))
        if not _is_zero(sp.Mul(*[p[1] for p in parsed]) - q.expr):
            self.reasons.append(f"{where}: the product of the factors does not equal expr")
        signs = [p[2] for p in parsed]
        if sum(s.startswith("<") for s in signs) % 2:
            self.reasons.append(f"{where}: the factor signs {signs} give a non-positive product")
        if strict and any("=" in s for s in signs):
            self.reasons.append(f"{where}: relation '>' needs every factor strictly signed, got "
                                f"{signs}")
        for k, fe, sign, method, tree in parsed:
            fw = f"{where}, factor {k}"
            if method == "symbolic":
                known = {">=0": fe.is_nonnegative, ">0": fe.is_positive,
                         "<=0": fe.is_nonpositive, "<0": fe.is_negative}[sign]
                if known is not True:
                    self.reasons.append(f"{fw}: symbolic sign {sign} of {fe} is not confirmed "
                                        "by SymPy's assumptions")
                continue
            if tree is None:
                self.reasons.append(f"{fw}: a 'boxes' factor without a tree")
                continue
            extra = fe.free_symbols - set(q.symbols)
            if extra:
                self.reasons.append(f"{fw}: a 'boxes' factor depends on {sorted(map(str, extra))}"
                                    ", which are not box variables")
                continue
            g = fe if sign.startswith(">") else -fe
            self._replay(fw, _FactorReplay(g, q.symbols, sign in (">0", "<0")), tree, q.box)

    def _replay(self, label: str, fac: _FactorReplay, root: Any, root_box: Box) -> None:
        n = len(root_box)
        stack: list[tuple[Any, Box, str]] = [(root, root_box, "")]
        failures: list[str] = []
        while stack:
            node, box, path = stack.pop()
            shown = path or "root"
            if not isinstance(node, dict):
                failures.append(f"node {shown}: not an object")
                continue
            try:
                nbox = _parse_box(node.get("box"), n)
            except _Malformed as exc:
                failures.append(f"node {shown}: malformed box ({exc})")
                continue
            if nbox != box:
                if not path:
                    what = "the root box is not the variables' box"
                elif path.endswith("face"):
                    what = "the face is not the box with the variable pinned"
                else:
                    what = "a gap or overlap in the cover: the children are not the halves"
                failures.append(f"node {shown}: box {_fmt_box(nbox)} is not the expected "
                                f"{_fmt_box(box)} ({what})")
                continue
            if "split" in node:
                failures.extend(f"node {shown}: {r}" for r in
                                self._split(node, box, path, stack))
            elif "method" in node:
                self.leaves += 1
                reasons, more = fac.leaf(node, box)
                failures.extend(f"leaf {shown} ({node.get('method')}): {r}" for r in reasons)
                for child, cbox, suffix in more:
                    stack.append((child, cbox, (path + suffix).lstrip(".")))
            else:
                failures.append(f"node {shown}: neither a split nor a leaf")
        for r in failures[:_MAX_TREE_REASONS]:
            self.reasons.append(f"{label}, {r}")
        if len(failures) > _MAX_TREE_REASONS:
            self.reasons.append(f"{label}: and {len(failures) - _MAX_TREE_REASONS} more failing "
                                "nodes")

    @staticmethod
    def _split(node: dict[str, Any], box: Box, path: str,
               stack: list[tuple[Any, Box, str]]) -> list[str]:
        split = node.get("split")
        if not isinstance(split, dict):
            return ["'split' is not an object"]
        i = split.get("variable")
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(box):
            return [f"split variable {i!r} out of range"]
        try:
            at = _parse_rational(split.get("at"), "split point")
        except _Malformed as exc:
            return [str(exc)]
        a, b = box[i]
        if not a < at < b:
            return [f"split point {at} is not strictly inside [{a}, {b}]"]
        children = node.get("children")
        if not isinstance(children, list) or len(children) != 2:
            count = len(children) if isinstance(children, list) else 0
            return [f"a split needs 2 children, found {count} (a missing leaf leaves part of "
                    "the box unproved)"]
        lower, upper = list(box), list(box)
        lower[i], upper[i] = (a, at), (at, b)
        prefix = (path + ".") if path else ""
        stack.append((children[1], upper, f"{prefix}children[1]"))
        stack.append((children[0], lower, f"{prefix}children[0]"))
        return []

    # ----------------------------------------------------------------- refutation
    def _refutation(self, cert: dict[str, Any], ineqs: list[_Ineq]) -> None:
        ce = cert.get("counterexample")
        if not isinstance(ce, dict):
            self.reasons.append("a refuted certificate needs a counterexample object")
            return
        name = ce.get("inequality")
        match = [q for q in ineqs if q.name == name]
        if not match:
            self.reasons.append(f"the counterexample names an unknown inequality {name!r}")
            return
        q = match[0]
        where = f"inequality {q.name!r}, counterexample"
        self._algebra(q)
        point = ce.get("point")
        if not isinstance(point, dict) or set(point) != {v.name for v in q.variables}:
            self.reasons.append(f"{where}: 'point' must give every box variable")
            return
        try:
            pt = [_parse_rational(point[v.name], f"{where}: {v.name}") for v in q.variables]
        except _Malformed as exc:
            self.reasons.append(str(exc))
            return
        for v, p in zip(q.variables, pt):
            if not v.lo <= p <= v.hi or (p == v.lo and v.lo_open) or (p == v.hi and v.hi_open):
                self.reasons.append(f"{where}: {v.name} = {p} is outside the domain's box "
                                    f"{'(' if v.lo_open else '['}{v.lo}, {v.hi}"
                                    f"{')' if v.hi_open else ']'}")
                return
        xs = [_exact(p) for p in pt]
        strict = q.relation == ">"
        try:
            val = _compile(q.expr, q.symbols)(xs)
            mult = _compile(q.multiplier, q.symbols)(xs)
        except (_DomainError, _Unsupported, ZeroDivisionError) as exc:
            self.reasons.append(f"{where}: cannot evaluate at the point: {exc}")
            return
        hi = _sgn(val._mpi_[1])
        if not (hi <= 0 if strict else hi < 0):
            self.reasons.append(f"{where}: expr at the point is enclosed in {_fmt(val)}, which "
                                f"does not violate {q.relation} 0")
        if _sgn(mult._mpi_[0]) <= 0:
            self.reasons.append(f"{where}: the multiplier at the point ({_fmt(mult)}) is not "
                                "certainly positive")
        stored = ce.get("enclosure")
        if stored is not None:
            try:
                a = _parse_decimal(stored[0], "stored enclosure")
                b = _parse_decimal(stored[1], "stored enclosure")
            except (_Malformed, TypeError, IndexError, KeyError) as exc:
                self.reasons.append(f"{where}: malformed stored enclosure ({exc})")
            else:
                if a > b or b > _TOL:
                    self.reasons.append(f"{where}: stored enclosure [{stored[0]}, {stored[1]}] "
                                        f"contradicts the violation of {q.relation} 0")
                lo_r, hi_r = val._mpi_
                if b < _to_fraction(lo_r) or a > _to_fraction(hi_r):
                    self.reasons.append(f"{where}: stored enclosure [{stored[0]}, {stored[1]}] "
                                        f"disagrees with the replay {_fmt(val)}")
        self._compare_claim(cert, ineqs, q.name)

    # ------------------------------------------------------------ registered claim
    def _compare_claim(self, cert: dict[str, Any], ineqs: list[_Ineq],
                       only: str | None) -> None:
        statement = cert.get("statement")
        try:
            from theory.certify import claims as registry

            claim = registry.get_claim(str(statement))
        except KeyError:
            self.notes.append(f"statement {statement!r} has no registered claim: could not "
                              "compare the certificate with it")
            return
        except Exception as exc:  # the registry itself failed to load
            self.notes.append(f"could not load the registered claim of {statement!r} "
                              f"({type(exc).__name__}: {exc}): could not compare")
            return
        by_name = {q.name: q for q in ineqs}
        for reg in claim.inequalities:
            if only is not None and reg.name != only:
                continue
            q = by_name.get(reg.name)
            if q is None:
                self.reasons.append(f"registered inequality {reg.name!r} is missing from the "
                                    "certificate")
                continue
            self._compare_inequality(q, reg)
        if only is None:
            reg_names = {r.name for r in claim.inequalities}
            for q in ineqs:
                if q.name not in reg_names:
                    self.reasons.append(f"inequality {q.name!r} is not in the registered claim "
                                        f"of {statement!r}")
            self._compare_identities(cert, claim)

    def _compare_inequality(self, q: _Ineq, reg: Any) -> None:
        where = f"inequality {q.name!r}"
        if reg.relation != q.relation:
            self.reasons.append(f"{where}: relation {q.relation!r} differs from the registered "
                                f"claim ({reg.relation!r})")
        if sp.srepr(reg.original) != q.original_src:
            try:
                theirs = _parse_expr(sp.srepr(reg.original), "registered original")
                same = _is_zero(theirs - q.original)
            except _Malformed:
                same = False
            if not same:
                self.reasons.append(f"{where}: original {q.original} differs from the "
                                    f"registered claim ({reg.original})")
        regvars = [(str(v.symbol), Fraction(str(v.lo)), Fraction(str(v.hi)), bool(v.lo_open),
                    bool(v.hi_open)) for v in reg.variables]
        ours = [(v.name, v.lo, v.hi, v.lo_open, v.hi_open) for v in q.variables]
        if regvars != ours:
            self.reasons.append(f"{where}: the box {ours} differs from the registered claim "
                                f"({regvars})")
            return
        by_name = {v.name: v.symbol for v in q.variables}
        reg_sub = {str(k): v for k, v in dict(reg.substitution).items()}
        if set(reg_sub) != set(q.substitution):
            self.reasons.append(f"{where}: substituted symbols {sorted(q.substitution)} differ "
                                f"from the registered claim ({sorted(reg_sub)})")
            return
        for key, val in reg_sub.items():
            try:
                theirs = _canon(_parse_expr(sp.srepr(val), "registered substitution"), by_name)
                same = _is_zero(theirs - q.substitution[key])
            except _Malformed:
                same = False
            if not same:
                self.reasons.append(f"{where}: substitution for {key} differs from the "
                                    "registered claim")

    def _compare_identities(self, cert: dict[str, Any], claim: Any) -> None:
        raw = cert.get("identities") or []
        ours = {i.get("name"): i for i in raw if isinstance(i, dict)}
        for k, reg in enumerate(claim.identities):
            ident = ours.get(reg.name)
            if ident is None:
                self.reasons.append(f"registered identity {reg.name!r} is missing from the "
                                    "certificate")
                continue
            try:
                lhs, rhs = self._parse_identity(ident, k)
                rl = _parse_expr(sp.srepr(reg.lhs), "registered lhs")
                rr = _parse_expr(sp.srepr(reg.rhs), "registered rhs")
                same = _is_zero((lhs - rhs) - (rl - rr))
            except _Malformed:
                same = False
            if not same:
                self.reasons.append(f"identity {reg.name!r} differs from the registered claim")

    def _compare_expected(self, ineqs: list[_Ineq]) -> None:
        if self.expected is None:
            return
        for q in ineqs:
            exp = self.expected
            if isinstance(exp, Mapping):
                if q.name not in exp:
                    continue
                exp = exp[q.name]
            names = {s.name: s for s in q.original.free_symbols if isinstance(s, sp.Symbol)}
            try:
                e = exp if isinstance(exp, sp.Basic) else _parse_expr(exp, "expected", names)
                e = _canon(e, names)
                same = _is_zero(e - q.original)
            except _Malformed as exc:
                self.reasons.append(f"inequality {q.name!r}: {exc}")
                continue
            if not same:
                self.reasons.append(f"inequality {q.name!r}: original {q.original} differs from "
                                    f"the expected expression {e}")


# ------------------------------------------------------------------------------ entry

def _load(cert: dict[str, Any] | str | Path) -> Any:
    if isinstance(cert, dict):
        return cert
    if isinstance(cert, str) and cert.lstrip().startswith("{"):
        return json.loads(cert)
    return json.loads(Path(cert).read_text())


def check(cert: dict[str, Any] | str | Path, *, expected: Any = None) -> CheckReport:
    """Replay a certificate and say whether it proves (or refutes) what it claims.

    ``cert``: the certificate as a dict, as JSON text (a string starting with ``{``) or a path
    to the JSON file.  ``expected``: optionally the expected ``original`` of the inequalities
    (SymPy source or ``srepr`` using the original's symbol names, or a SymPy expression, or a
    mapping inequality name -> either); each must simplify to the certificate's ``original``.

    All interval arithmetic runs at ``iv.prec = max(2 * precision_bits, 128)``: the prover
    accepts a leaf whose arb enclosure clears 0 by a margin that can be close to its own
    rounding (``2^-precision_bits`` relative); outward-rounded intervals at the same or lower
    precision could lose that margin, so the replay is at least twice as precise, which makes
    its rounding negligible next to the prover's.  Precision affects tightness only, never
    soundness.  ``iv.prec`` is restored on return.

    See the module docstring for the list of what is verified.  Every failure is collected in
    ``reasons``; an internal error of the checker rejects the certificate.
    """
    t0 = time.perf_counter()
    checker = _Checker(expected)
    try:
        data = _load(cert)
    except (OSError, ValueError) as exc:
        return CheckReport(False, [f"cannot read the certificate: {exc}"], 0,
                           time.perf_counter() - t0)
    saved = iv.prec
    try:
        checker.run(data)
    except Exception as exc:  # fail closed
        checker.reasons.append(f"internal error of the checker: {type(exc).__name__}: {exc}")
    finally:
        iv.prec = saved
    return CheckReport(not checker.reasons, checker.reasons, checker.leaves,
                       time.perf_counter() - t0, str(checker.status or ""), checker.notes)


def check_file(path: str | Path) -> CheckReport:
    """:func:`check` of the certificate stored at ``path``."""
    return check(Path(path))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m theory.certify.check FILE...``: replay each file; exit 1 if any fails."""
    args = list(sys.argv[1:] if argv is None else argv)
    bad = 0
    for a in args:
        rep = check_file(a)
        print(f"{a}: {'OK' if rep.ok else 'REJECTED'} ({rep.status}, {rep.leaves} leaves, "
              f"{rep.seconds:.2f} s)")
        for line in rep.reasons + [f"note: {n}" for n in rep.notes]:
            print(f"  {line}")
        bad += not rep.ok
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
