r"""Rigorous evaluation of SymPy expressions in ball arithmetic (python-flint ``arb``).

:func:`compile_arb` turns an expression into a closure over ``arb`` balls: the tree is walked
once, at compile time, so a leaf evaluation is a chain of ball operations.  Each operation is
python-flint's (outward-rounded midpoint-radius arithmetic, rigorous for every point of the input
balls); on top of it, results that are mathematically non-negative (even powers, ``|x|``,
``sqrt``, ``exp``) are clipped with ``nonnegative_part`` and sines, cosines and ``erf`` with
``[-1, 1]``, which only removes points the function cannot take.

Supported: numbers (``Integer``, ``Rational``, ``Float`` by their exact binary value, ``pi``,
``E``), ``Add``, ``Mul``, ``Pow`` (integer, half-integer and general real exponents), ``sin``,
``cos``, ``tan``, ``exp``, ``log``, ``sqrt``, ``Abs``, ``sign``, ``asin``, ``acos``, ``atan``,
``atan2``, ``erf``, ``erfc``, ``Max``, ``Min``, ``Piecewise`` (a branch is taken when its
condition is certainly true on the ball, skipped when certainly false, joined otherwise), and the
toolkit's own functions ``t_minus_sin`` (monotone, evaluated at the end points of the ball),
``exp_m1`` and ``erf_ratio``.  Anything else raises :class:`Unsupported` at compile time, with the
name of the function.

Precision is the caller's: wrap evaluations in ``flint.ctx.workprec(bits)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp
from flint import arb, fmpq

from theory.backends import t_minus_sin
from theory.binary import erf_ratio, exp_m1

__all__ = ["Unsupported", "compile_arb", "ArbFn", "to_fmpq", "ball", "point"]

ArbFn = Callable[[Sequence[arb]], arb]


class Unsupported(ValueError):
    """The expression uses a function the evaluator has no rigorous extension for."""


def to_fmpq(q: sp.Rational | int | str) -> fmpq:
    """A SymPy rational (or int, or ``"p/q"``) as an exact ``fmpq``."""
    q = sp.Rational(q)
    return fmpq(int(q.p), int(q.q))


def ball(lo: fmpq, hi: fmpq) -> arb:
    """The smallest python-flint ball containing ``[lo, hi]`` (exact when ``lo == hi``)."""
    if lo == hi:
        return arb(lo)
    return arb((lo + hi) / 2, (hi - lo) / 2)


def point(x: fmpq) -> arb:
    """The exact ball of the rational ``x`` (rounded outward if it has too many bits)."""
    return arb(x)


_ONE = fmpq(1)


def _unit(x: arb) -> arb:
    """Clip to [-1, 1]: the range of sin, cos and erf."""
    return x.max(arb(-1)).min(arb(1))


def _nonneg(x: arb) -> arb:
    return x.nonnegative_part()


def _even_pow(x: arb, n: int) -> arb:
    return _nonneg(abs(x) ** n)


def _real_pow(base: arb, ex: arb) -> arb:
    """``base ** ex`` for real ``ex``: ``exp(ex log base)`` on the positive part of the base;
    a base that may be 0 gives ``[0, hi^ex]`` for ``ex > 0``."""
    if base > 0:
        return (ex * base.log()).exp()
    if base >= 0 and ex > 0:
        hi = arb(base.upper())
        top = (ex * hi.log()).exp() if hi > 0 else arb(0)
        return arb.union(arb(0), top).nonnegative_part()
    return arb.nan()


def _t_minus_sin(x: arb) -> arb:
    """t - sin t is increasing (derivative 1 - cos t >= 0) and 0 at 0: its values at the ends
    enclose it, and it has the sign of t."""
    lo, hi = arb(x.lower()), arb(x.upper())
    out = arb.union(lo - lo.sin(), hi - hi.sin())
    if x >= 0:
        return out.nonnegative_part()
    if x <= 0:
        return -((-out).nonnegative_part())
    return out


def _erf_ratio(x: arb, y: arb) -> arb:
    """erf(x/y) for y > 0, and sign(x) as y -> 0+ (the definition in :mod:`theory.binary`)."""
    yp = y.nonnegative_part()
    if yp > 0:
        return _unit((x / yp).erf())
    if x >= 0:
        return arb(0.5, 0.5)
    if x <= 0:
        return arb(-0.5, 0.5)
    return arb(0, 1)


def _sign(x: arb) -> arb:
    if x > 0:
        return arb(1)
    if x < 0:
        return arb(-1)
    if x.is_exact() and x.is_zero():
        return arb(0)
    return arb(0.5, 0.5) if x >= 0 else (arb(-0.5, 0.5) if x <= 0 else arb(0, 1))


def _cond(rel: sp.Basic, index: dict[sp.Symbol, int]) -> Callable[[Sequence[arb]], bool | None]:
    """A relational or boolean combination as a three-valued test on balls."""
    if rel is sp.true:
        return lambda xs: True
    if rel is sp.false:
        return lambda xs: False
    if isinstance(rel, sp.And | sp.Or):
        parts = [_cond(a, index) for a in rel.args]
        is_and = isinstance(rel, sp.And)

        def combine(xs: Sequence[arb]) -> bool | None:
            vals = [p(xs) for p in parts]
            if is_and:
                return False if False in vals else (True if all(vals) else None)
            return True if True in vals else (False if all(v is False for v in vals) else None)
        return combine
    if isinstance(rel, sp.Not):
        inner = _cond(rel.args[0], index)
        return lambda xs: None if (v := inner(xs)) is None else not v
    if isinstance(rel, sp.core.relational.Relational):
        diff = _build(rel.lhs - rel.rhs, index)
        op = rel.rel_op

        def test(xs: Sequence[arb]) -> bool | None:
            d = diff(xs)
            yes = {">": d > 0, ">=": d >= 0, "<": d < 0, "<=": d <= 0}.get(op)
            no = {">": d <= 0, ">=": d < 0, "<": d >= 0, "<=": d > 0}.get(op)
            if yes is None:
                raise Unsupported(f"relation {op}")
            return True if yes else (False if no else None)
        return test
    raise Unsupported(f"condition {type(rel).__name__}")


def _piecewise(expr: sp.Piecewise, index: dict[sp.Symbol, int]) -> ArbFn:
    branches = [(_build(e, index), _cond(c, index)) for e, c in expr.args]

    def f(xs: Sequence[arb]) -> arb:
        out: arb | None = None
        for val, cond in branches:
            c = cond(xs)
            if c is False:
                continue
            v = val(xs)
            out = v if out is None else arb.union(out, v)
            if c is True:
                return out
        return out if out is not None else arb.nan()
    return f


_UNARY: dict[type, Callable[[arb], arb]] = {
    sp.sin: lambda x: _unit(x.sin()),
    sp.cos: lambda x: _unit(x.cos()),
    sp.tan: lambda x: x.tan(),
    sp.exp: lambda x: _nonneg(x.exp()),
    sp.log: lambda x: x.log(),
    sp.Abs: lambda x: _nonneg(abs(x)),
    sp.asin: lambda x: x.asin(),
    sp.acos: lambda x: x.acos(),
    sp.atan: lambda x: x.atan(),
    sp.erf: lambda x: _unit(x.erf()),
    sp.erfc: lambda x: x.erfc(),
    sp.sign: _sign,
    t_minus_sin: _t_minus_sin,
    exp_m1: lambda x: x.expm1(),
}


def _number(expr: sp.Expr) -> arb:
    if expr is sp.pi:
        return arb.pi()
    if expr is sp.E:
        return arb(1).exp()
    if expr.is_Rational:
        return point(to_fmpq(expr))
    if expr.is_Float:
        return point(to_fmpq(sp.Rational(expr)))
    raise Unsupported(f"number {expr}")


def _build(expr: sp.Expr, index: dict[sp.Symbol, int]) -> ArbFn:
    if isinstance(expr, sp.Symbol):
        if expr not in index:
            raise Unsupported(f"free symbol {expr} is not a box variable")
        i = index[expr]
        return lambda xs: xs[i]
    if expr.is_Number or expr in (sp.pi, sp.E):
        c = _number(expr)
        return lambda xs: c
    if isinstance(expr, sp.NumberSymbol):
        raise Unsupported(f"constant {expr}")
    if isinstance(expr, sp.Add):
        parts = [_build(a, index) for a in expr.args]

        def add(xs: Sequence[arb]) -> arb:
            vals = [p(xs) for p in parts]
            out = vals[0]
            for v in vals[1:]:
                out = out + v
            # A sum of non-negative balls is non-negative (ball addition may lose it).
            return out.nonnegative_part() if all(v >= 0 for v in vals) else out
        return add
    if isinstance(expr, sp.Mul):
        parts = [_build(a, index) for a in expr.args]

        def mul(xs: Sequence[arb]) -> arb:
            vals = [p(xs) for p in parts]
            out = vals[0]
            for v in vals[1:]:
                out = out * v
            # A product of non-negative balls is non-negative (ball products may lose it).
            return out.nonnegative_part() if all(v >= 0 for v in vals) else out
        return mul
    if isinstance(expr, sp.Pow):
        base_e, ex_e = expr.args
        base = _build(base_e, index)
        if ex_e.is_Integer:
            n = int(ex_e)
            if n == 0:
                return lambda xs: arb(1)
            if n % 2 == 0:
                return (lambda xs: _even_pow(base(xs), n)) if n > 0 \
                    else (lambda xs: 1 / _even_pow(base(xs), -n))
            return (lambda xs: base(xs) ** n) if n > 0 else (lambda xs: 1 / base(xs) ** (-n))
        if ex_e == sp.S.Half:
            return lambda xs: _nonneg(base(xs).nonnegative_part().sqrt())
        if ex_e == -sp.S.Half:
            return lambda xs: base(xs).rsqrt()
        if ex_e.is_Rational and ex_e.q == 2:
            n2 = int(ex_e.p)
            if n2 > 0:
                return lambda xs: _nonneg(base(xs).nonnegative_part().sqrt() ** n2)
            return lambda xs: base(xs).rsqrt() ** (-n2)
        ex = _build(ex_e, index)
        return lambda xs: _real_pow(base(xs), ex(xs))
    if isinstance(expr, sp.Piecewise):
        return _piecewise(expr, index)
    if isinstance(expr, sp.Max | sp.Min):
        parts = [_build(a, index) for a in expr.args]
        is_max = isinstance(expr, sp.Max)

        def ext(xs: Sequence[arb]) -> arb:
            out = parts[0](xs)
            for p in parts[1:]:
                out = out.max(p(xs)) if is_max else out.min(p(xs))
            return out
        return ext
    if isinstance(expr, sp.atan2):
        y, x = (_build(a, index) for a in expr.args)
        return lambda xs: arb.atan2(y(xs), x(xs))
    if isinstance(expr, erf_ratio):
        num, den = (_build(a, index) for a in expr.args)
        return lambda xs: _erf_ratio(num(xs), den(xs))
    fn = _UNARY.get(expr.func)
    if fn is not None and len(expr.args) == 1:
        arg = _build(expr.args[0], index)
        return lambda xs: fn(arg(xs))
    raise Unsupported(f"no rigorous ball extension for {expr.func.__name__}")


_METHOD = {sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.log: "log", sp.asin: "asin",
           sp.acos: "acos", sp.atan: "atan", sp.erfc: "erfc", exp_m1: "expm1"}


class _CodeGen:
    """Straight-line Python over ``arb`` values: one assignment per node of the expression.

    A product or sum whose operands SymPy knows to be non-negative (from the box variables'
    assumptions) is clipped to its non-negative part, decided at compile time, so the hot path
    has no sign tests; nodes without a method-call translation are delegated to the closure
    builder above.
    """

    def __init__(self, index: dict[sp.Symbol, int]) -> None:
        self.index = index
        self.lines: list[str] = []
        self.consts: dict[str, object] = {"arb": arb}
        self.memo: dict[sp.Basic, str] = {}

    def const(self, value: object) -> str:
        name = f"c{len(self.consts)}"
        self.consts[name] = value
        return name

    def emit(self, code: str) -> str:
        name = f"t{len(self.lines)}"
        self.lines.append(f"    {name} = {code}")
        return name

    def node(self, e: sp.Expr) -> str:
        if e in self.memo:
            return self.memo[e]
        out = self._node(e)
        self.memo[e] = out
        return out

    def _node(self, e: sp.Expr) -> str:
        if isinstance(e, sp.Symbol):
            if e not in self.index:
                raise Unsupported(f"free symbol {e} is not a box variable")
            return f"xs[{self.index[e]}]"
        if e.is_Number or e in (sp.pi, sp.E):
            return self.const(_number(e))
        nonneg = bool(e.is_nonnegative)
        if isinstance(e, sp.Add | sp.Mul):
            args = [self.node(a) for a in e.args]
            op = " + " if isinstance(e, sp.Add) else " * "
            code = op.join(args)
            return self.emit(f"({code}).nonnegative_part()" if nonneg else code)
        if isinstance(e, sp.Pow) and e.args[1].is_Integer:
            n = int(e.args[1])
            b = self.node(e.args[0])
            if n % 2 == 0:
                p = self.emit(f"abs({b}) ** {abs(n)}")
                p = self.emit(f"{p}.nonnegative_part()")
                return self.emit(f"1 / {p}") if n < 0 else p
            if n == 1:
                return b
            return self.emit(f"{b} ** {n}" if n > 0 else f"1 / {b} ** {-n}")
        if isinstance(e, sp.Pow) and e.args[1] == sp.S.Half:
            return self.emit(f"{self.node(e.args[0])}.nonnegative_part().sqrt()")
        if isinstance(e, sp.Pow) and e.args[1] == -sp.S.Half:
            return self.emit(f"{self.node(e.args[0])}.rsqrt()")
        if isinstance(e, sp.exp):
            return self.emit(f"{self.node(e.args[0])}.exp().nonnegative_part()")
        if isinstance(e, sp.Abs):
            return self.emit(f"abs({self.node(e.args[0])}).nonnegative_part()")
        if e.func in _METHOD and len(e.args) == 1:
            return self.emit(f"{self.node(e.args[0])}.{_METHOD[e.func]}()")
        fn = self.const(_build(e, self.index))
        return self.emit(f"{fn}(xs)")


def compile_arb(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> ArbFn:
    """A function ``f(balls) -> arb`` enclosing ``expr`` for every point of the balls.

    ``balls[i]`` is the ball of ``symbols[i]``.  Raises :class:`Unsupported` (a
    :class:`ValueError`) for a function without a rigorous extension or a free symbol that is
    not in ``symbols``.  The expression is translated once into straight-line Python
    (:class:`_CodeGen`); evaluation is a sequence of python-flint calls.
    """
    index = {s: i for i, s in enumerate(symbols)}
    gen = _CodeGen(index)
    result = gen.node(sp.sympify(expr))
    src = "def f(xs):\n" + "\n".join(gen.lines) + f"\n    return {result}\n"
    namespace = dict(gen.consts)
    exec(compile(src, "<arb_eval>", "exec"), namespace)  # noqa: S102 - generated from SymPy
    return namespace["f"]  # type: ignore[return-value]
