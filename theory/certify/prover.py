r"""Branch-and-bound prover: ``g >= 0`` (or ``> 0``) on a box, in ball arithmetic.

For one inequality ``expr (relation) 0`` over the box of its variables
(:class:`theory.certify.claims.Inequality`), :func:`prove_inequality`

1. splits ``expr`` into factors (:func:`sympy.factor_terms` of :func:`sympy.together`); a factor
   whose sign SymPy's assumptions decide (a positive variable, ``pi``, a square) is settled
   symbolically, every other factor gets a sign target (the sign at the box centre) and is proved
   by boxes; the factors' signs must multiply to the relation;
2. proves each boxed factor ``g`` (``g = -factor`` for a non-positive target) on its box, one box
   at a time, trying in order

   * **enclosure**: the natural ball extension of ``g`` has lower end ``>= 0`` (``> 0``);
   * **mean value**: ``g(c) + sum_i dg/dx_i(B) (B_i - c_i)`` with ``c`` the centre and the partial
     derivatives (SymPy) enclosed over the box: first order, so it closes near a point where
     the bound is approached with a non-zero slope;
   * **monotone**: a partial derivative of definite sign on the box reduces the box to the face
     where ``g`` is smallest, which is proved recursively with that variable pinned to an exact
     rational (so a bound touched at the edge of the domain, ``g = 0`` there, is proved exactly);
   * **exact zero**: on a single point, ``g`` simplifies to 0 in SymPy (allowed for ``>= 0``);

   and otherwise bisects the box along its widest variable (relative to the domain);
3. returns a proof tree (``FORMAT.md``), or a counterexample: a point where ``expr`` itself is
   certainly of the wrong sign (enclosed in ball arithmetic), or ``undecided`` with the reason
   (leaf budget, a box narrower than ``min_width`` without a decision, an unsupported function).

Ball arithmetic is python-flint's ``arb`` at ``prec`` bits (:mod:`theory.certify.arb_eval`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sympy as sp
from flint import arb, ctx, fmpq

from theory.certify.arb_eval import ArbFn, Unsupported, ball, compile_arb, point, to_fmpq
from theory.certify.claims import Inequality

__all__ = ["FactorProof", "InequalityProof", "prove_inequality", "Budget"]

Sign = Literal[">=0", ">0", "<=0", "<0"]


@dataclass
class Budget:
    """Limits of one proof: ``max_leaves`` per factor, ``min_width`` (relative to the domain)
    below which an undecided box is given up, ``face_leaves`` for one monotone face attempt."""

    max_leaves: int = 200_000
    min_width: float = 2.0**-40
    face_leaves: int = 4000
    max_seconds: float = 60.0


@dataclass
class FactorProof:
    expr: sp.Expr
    sign: Sign
    method: Literal["symbolic", "boxes"]
    tree: dict[str, Any] | None = None
    leaves: int = 0


@dataclass
class InequalityProof:
    """Outcome for one inequality: ``status`` with the factor proofs, or the reason, or the
    counterexample point (box variables, exact rationals) with the enclosure of ``expr`` there."""

    status: Literal["certified", "refuted", "undecided"]
    factors: list[FactorProof] = field(default_factory=list)
    reason: str | None = None
    counterexample: dict[str, Any] | None = None
    leaves: int = 0
    evaluations: int = 0
    seconds: float = 0.0


class _Undecided(Exception):
    pass


class _Counterexample(Exception):
    def __init__(self, pt: list[fmpq]) -> None:
        super().__init__("counterexample")
        self.point = pt


def _fmt(q: fmpq) -> str:
    return str(q)


def _end(e: arb, up: bool) -> float:
    """A float on the outer side of the ball ``e`` (an end point of an enclosure)."""
    if e.is_exact():
        v = float(e.mid())
        if arb(v) == e:
            return v
    v = float(e.mid()) + (float(e.rad()) if up else -float(e.rad()))
    return math.nextafter(math.nextafter(v, math.inf if up else -math.inf),
                          math.inf if up else -math.inf)


def _decimal_ends(x: arb) -> list[str]:
    """The enclosure's end points as decimal strings, rounded outward (informative: the checker
    recomputes its own enclosure and compares)."""
    if not x.is_finite():
        return ["-inf", "inf"]
    return [repr(_end(x.lower(), False)), repr(_end(x.upper(), True))]


class _FactorProver:
    """Proves ``g >= 0`` (``strict``: ``> 0``) on boxes of ``symbols``."""

    def __init__(self, g: sp.Expr, symbols: Sequence[sp.Symbol], strict: bool,
                 domain: Sequence[tuple[fmpq, fmpq]], budget: Budget) -> None:
        self.g_expr = g
        self.symbols = list(symbols)
        self.strict = strict
        self.budget = budget
        self.domain = list(domain)
        self.g = compile_arb(g, symbols)
        self._grad: list[ArbFn | None] | None = None
        self.leaves = 0
        self.evaluations = 0
        self.deadline = time.perf_counter() + budget.max_seconds

    @property
    def grad(self) -> list[ArbFn | None]:
        if self._grad is None:
            out: list[ArbFn | None] = []
            for s in self.symbols:
                try:
                    out.append(compile_arb(sp.diff(self.g_expr, s), self.symbols))
                except (Unsupported, TypeError, ValueError, NotImplementedError):
                    out.append(None)
            self._grad = out
        return self._grad

    def ok(self, v: arb) -> bool:
        return bool(v > 0) if self.strict else bool(v >= 0)

    def bad(self, v: arb) -> bool:
        return bool(v <= 0) if self.strict else bool(v < 0)

    def eval(self, box: Sequence[tuple[fmpq, fmpq]]) -> arb:
        self.evaluations += 1
        return self.g(self.balls(box))

    @staticmethod
    def balls(box: Sequence[tuple[fmpq, fmpq]]) -> list[arb]:
        """The balls of a box; a range inside [0, inf) is clipped to its non-negative part
        (python-flint widens a ball's radius by a relative 2^-30, which would otherwise put a
        bound touched at a variable's zero end out of reach)."""
        return [ball(a, b).nonnegative_part() if a >= 0 and b > a else ball(a, b)
                for a, b in box]

    def _leaf(self, box: list[tuple[fmpq, fmpq]], method: str, encl: arb,
              **extra: Any) -> dict[str, Any]:
        self.leaves += 1
        if self.leaves > self.budget.max_leaves:
            raise _Undecided(f"leaf budget of {self.budget.max_leaves} exhausted")
        if self.leaves % 256 == 0 and time.perf_counter() > self.deadline:
            raise _Undecided(f"time budget of {self.budget.max_seconds:g} s exhausted after "
                             f"{self.leaves} leaves")
        return {"box": [[_fmt(a), _fmt(b)] for a, b in box], "method": method,
                "enclosure": _decimal_ends(encl), **extra}

    def prove(self, box: list[tuple[fmpq, fmpq]], depth: int = 0,
              leaf_cap: int | None = None) -> dict[str, Any]:
        """A proof tree of ``g >= 0`` on ``box``; raises _Undecided or _Counterexample."""
        if self.evaluations > 8 * self.budget.max_leaves:
            raise _Undecided(f"evaluation budget of {8 * self.budget.max_leaves} exhausted "
                             f"({self.leaves} leaves proved)")
        if self.evaluations % 1024 == 0 and time.perf_counter() > self.deadline:
            raise _Undecided(f"time budget of {self.budget.max_seconds:g} s exhausted after "
                             f"{self.leaves} leaves")
        v = self.eval(box)
        if self.ok(v):
            return self._leaf(box, "enclosure", v)
        widths = [b - a for a, b in box]
        center = [(a + b) / 2 for a, b in box]
        gc = self.g([point(c) for c in center])
        self.evaluations += 1
        if self.bad(gc):
            raise _Counterexample(center)
        if all(w == 0 for w in widths):
            return self._point(box, gc)
        grads = None
        if v.is_finite() or gc.is_finite():
            grads = self._gradients(box)
            if grads is not None:
                mv = gc
                for gi, (a, b), c in zip(grads, box, center, strict=True):
                    if b > a:
                        mv = mv + gi * ball(a - c, b - c)
                if self.ok(mv):
                    return self._leaf(box, "mean_value", mv,
                                      center=[_fmt(c) for c in center])
        if grads is not None:
            for i, gi in enumerate(grads):
                if widths[i] == 0:
                    continue
                direction = "increasing" if gi >= 0 else ("decreasing" if gi <= 0 else None)
                if direction is None:
                    continue
                face = list(box)
                pin = box[i][0] if direction == "increasing" else box[i][1]
                face[i] = (pin, pin)
                saved = self.leaves
                cap = self.budget.face_leaves
                try:
                    sub = self.prove(face, depth + 1, leaf_cap=saved + cap)
                except _Undecided:
                    self.leaves = saved
                    continue
                return self._leaf(box, "monotone", gi, variable=i, direction=direction,
                                  face=sub)
        if leaf_cap is not None and self.leaves >= leaf_cap:
            raise _Undecided("face budget exhausted")
        rel = [float(w / max(hi - lo, fmpq(1, 2**60))) if hi > lo else 0.0
               for w, (lo, hi) in zip(widths, self.domain, strict=True)]
        j = max(range(len(rel)), key=lambda m: rel[m])
        if rel[j] < self.budget.min_width:
            raise _Undecided(
                "no decision on a box narrower than the minimum width: "
                + ", ".join(f"{s} in [{float(a):.17g}, {float(b):.17g}]"
                            for s, (a, b) in zip(self.symbols, box, strict=True))
                + f"; g there in [{_decimal_ends(v)[0]}, {_decimal_ends(v)[1]}] "
                  "(a bound touched there needs a symbolic factor or a monotone face; a margin "
                  "smaller than the rounding needs more precision)")
        mid = center[j]
        lo_box, hi_box = list(box), list(box)
        lo_box[j] = (box[j][0], mid)
        hi_box[j] = (mid, box[j][1])
        children = [self.prove(lo_box, depth + 1, leaf_cap), self.prove(hi_box, depth + 1, leaf_cap)]
        return {"box": [[_fmt(a), _fmt(b)] for a, b in box],
                "split": {"variable": j, "at": _fmt(mid)}, "children": children}

    def _gradients(self, box: list[tuple[fmpq, fmpq]]) -> list[arb] | None:
        fns = self.grad
        if any(f is None for f, (a, b) in zip(fns, box, strict=True) if b > a):
            return None
        balls = self.balls(box)
        self.evaluations += 1
        out = []
        for f, (a, b) in zip(fns, box, strict=True):
            out.append(f(balls) if (f is not None and b > a) else arb(0))
        if any(not x.is_finite() for x in out):
            return None
        return out

    def _point(self, box: list[tuple[fmpq, fmpq]], gc: arb) -> dict[str, Any]:
        if not self.strict:
            subs = {s: sp.Rational(int(a.p), int(a.q)) for s, (a, _) in zip(self.symbols, box,
                                                                             strict=True)}
            val = sp.simplify(self.g_expr.subs(subs))
            if val == 0:
                return self._leaf(box, "exact_zero", gc)
        raise _Undecided("the bound is touched at a point where g does not simplify to an exact "
                         "zero: " + ", ".join(f"{s} = {a}" for s, (a, _) in
                                              zip(self.symbols, box, strict=True)))


def _sym_sign(f: sp.Expr) -> Sign | None:
    if f.is_positive:
        return ">0"
    if f.is_negative:
        return "<0"
    if f.is_nonnegative:
        return ">=0"
    if f.is_nonpositive:
        return "<=0"
    return None


def split_factors(expr: sp.Expr) -> list[sp.Expr]:
    """The factors the prover treats separately: ``factor_terms(together(expr))``, with
    constant numeric factors merged."""
    e = sp.factor_terms(sp.together(expr))
    return list(sp.Mul.make_args(e))


def prove_inequality(ineq: Inequality, *, prec: int = 64, budget: Budget | None = None,
                     progress: Callable[[str], None] | None = None) -> InequalityProof:
    """Prove ``ineq`` on its box, or find a counterexample, or say why neither (see module)."""
    budget = budget or Budget()
    t0 = time.perf_counter()
    symbols = [v.symbol for v in ineq.variables]
    domain = [(to_fmpq(v.lo), to_fmpq(v.hi)) for v in ineq.variables]
    expr = ineq.expr
    strict = ineq.relation == ">"
    out = InequalityProof("undecided")
    if ineq.form is not None:
        from theory.certify.certificate import identity_holds

        if not identity_holds(ineq.form, ineq.transformed):
            out.reason = ("the declared form does not simplify to multiplier * "
                          "original(substitution)")
            return out
    try:
        with ctx.workprec(prec):
            factors = split_factors(expr)
            negatives = 0
            for f in factors:
                if not f.free_symbols:
                    s = _sym_sign(f)
                    if s is None:
                        raise Unsupported(f"constant factor {f} of unknown sign")
                else:
                    s = _sym_sign(f)
                if s is not None:
                    if f.is_zero:
                        raise _Undecided(f"the expression has a zero factor {f}")
                    out.factors.append(FactorProof(f, s, "symbolic"))
                    negatives += s.startswith("<")
                    if strict and "=" in s:
                        raise _Undecided(f"factor {f} is only known to be {s[:-1]} 0")
                    continue
                extra = f.free_symbols - set(symbols)
                if extra:
                    names = ", ".join(sorted(map(str, extra)))
                    raise _Undecided(f"the domain of {names} is not mapped to a compact box "
                                     f"(declare a change of variables): it appears in the factor "
                                     f"{f}, whose sign SymPy cannot decide")
                centre = [(a + b) / 2 for a, b in domain]
                fc = compile_arb(f, symbols)([point(c) for c in centre])
                target_neg = bool(fc < 0)
                sign: Sign = ("<0" if strict else "<=0") if target_neg \
                    else (">0" if strict else ">=0")
                g = -f if target_neg else f
                prover = _FactorProver(g, symbols, strict, domain, budget)
                try:
                    tree = prover.prove(list(domain))
                except _Counterexample as ce:
                    out.evaluations += prover.evaluations
                    val = compile_arb(expr, symbols)([point(c) for c in ce.point])
                    violated = bool(val <= 0) if strict else bool(val < 0)
                    if violated:
                        out.status = "refuted"
                        out.counterexample = {
                            "point": {str(s_): _fmt(c) for s_, c in zip(symbols, ce.point,
                                                                        strict=True)},
                            "enclosure": _decimal_ends(val)}
                        return out
                    raise _Undecided(f"factor {f} changes sign at "
                                     + ", ".join(f"{s_} = {float(c):.17g}" for s_, c in
                                                 zip(symbols, ce.point, strict=True))
                                     + " without the whole expression being violated there") from None
                finally:
                    out.leaves += prover.leaves
                    out.evaluations += prover.evaluations
                out.factors.append(FactorProof(f, sign, "boxes", tree, prover.leaves))
                negatives += target_neg
                if progress:
                    progress(f"{ineq.name}: factor {f} {sign} on {prover.leaves} leaves")
            if negatives % 2:
                raise _Undecided("the factors' signs multiply to a negative expression")
            out.status = "certified"
    except _Undecided as exc:
        out.status, out.reason = "undecided", str(exc)
    except Unsupported as exc:
        out.status, out.reason = "undecided", f"unsupported by the ball evaluator: {exc}"
    out.seconds = time.perf_counter() - t0
    return out
