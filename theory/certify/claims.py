r"""What a certificate proves: claims made of inequalities on compact boxes and exact identities.

A :class:`Claim` belongs to one registry statement (same name).  It lists

* :class:`Identity` objects, ``lhs == rhs`` proved by exact SymPy simplification;
* :class:`Inequality` objects, ``original >= 0`` (or ``> 0``) on the statement's domain, proved by
  the branch-and-bound prover (:mod:`theory.certify.prover`) on a *compact* box after a declared
  change of variables (``substitution``) and an optional positive ``multiplier``;
* ``lemmas``: the steps of the argument that are mathematics rather than computation (for
  example "a convex function below its chord"), stated so a reader can check them.

The expressions come from the modules that derive them (:mod:`theory.relu`,
:mod:`theory.binary`, ...): a claim never re-types a formula it can import.  Claims register in
:data:`CLAIMS` through :func:`claim`; :mod:`theory.certify.library` defines them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import sympy as sp

__all__ = ["Var", "box_var", "Inequality", "Identity", "Claim", "CLAIMS", "claim", "get_claim"]


@dataclass(frozen=True)
class Var:
    """A box variable: a SymPy symbol and its closed range ``[lo, hi]`` (rational ends).

    ``lo_open``/``hi_open`` record that the statement's domain excludes that end (the proof on
    the closed box covers it anyway); they decide the symbol's SymPy assumptions.
    """

    symbol: sp.Symbol
    lo: sp.Rational
    hi: sp.Rational
    lo_open: bool = False
    hi_open: bool = False


def box_var(name: str, lo: int | str | sp.Rational, hi: int | str | sp.Rational, *,
            lo_open: bool = False, hi_open: bool = False) -> Var:
    """A :class:`Var` whose symbol carries the assumptions its range implies (positive if
    ``lo > 0`` or ``lo == 0`` open, nonnegative if ``lo >= 0``, else real)."""
    lo_r, hi_r = sp.Rational(lo), sp.Rational(hi)
    if not lo_r < hi_r:
        raise ValueError(f"box variable {name}: need lo < hi, got [{lo_r}, {hi_r}]")
    if lo_r > 0 or (lo_r == 0 and lo_open):
        sym = sp.Symbol(name, positive=True)
    elif lo_r >= 0:
        sym = sp.Symbol(name, nonnegative=True)
    else:
        sym = sp.Symbol(name, real=True)
    return Var(sym, lo_r, hi_r, lo_open, hi_open)


@dataclass(frozen=True)
class Inequality:
    r"""``original (relation) 0`` for every point of ``domain``.

    The prover works on ``expr = multiplier * original.subs(substitution)`` over the box of
    ``variables``; ``substitution`` maps every free symbol of ``original`` to an expression of
    the box variables (the change of variables that makes an unbounded domain compact, e.g.
    :math:`k = 1/u`, :math:`u \in (0, 1]`), and ``multiplier`` must be positive on the box's
    interior.  An ``original`` with a free symbol that ``substitution`` does not map is an
    unbounded or undeclared domain: the prover refuses it (status ``tested``, never
    ``certified``).
    """

    name: str
    original: sp.Expr
    domain: str
    variables: tuple[Var, ...]
    substitution: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    relation: Literal[">=", ">"] = ">="
    multiplier: sp.Expr = sp.S.One
    form: sp.Expr | None = None
    """The same function of the box variables written so that its sign is visible to interval
    arithmetic (e.g. a sum of non-negative terms); certified equal to the transformed
    ``original`` by exact simplification before it is used."""

    @functools.cached_property
    def transformed(self) -> sp.Expr:
        """``multiplier * original.subs(substitution)``, simplified."""
        return sp.simplify(self.multiplier * self.original.subs(dict(self.substitution)))

    @functools.cached_property
    def expr(self) -> sp.Expr:
        """The prover's function of the box variables: ``form`` if given, else
        :attr:`transformed`."""
        return self.form if self.form is not None else self.transformed


@dataclass(frozen=True)
class Identity:
    """``lhs == rhs`` identically; proved by ``sympy.simplify(lhs - rhs) == 0``."""

    name: str
    lhs: sp.Expr
    rhs: sp.Expr


@dataclass(frozen=True)
class Claim:
    """The certifiable content of one registry statement."""

    statement: str
    text: str
    inequalities: tuple[Inequality, ...] = ()
    identities: tuple[Identity, ...] = ()
    lemmas: tuple[str, ...] = ()


CLAIMS: dict[str, Callable[[], Claim]] = {}
"""Statement name -> a function building its :class:`Claim` (built lazily: SymPy is slow)."""


def claim(name: str) -> Callable[[Callable[[], Claim]], Callable[[], Claim]]:
    """Register the decorated builder as the claim of statement ``name``."""
    def deco(fn: Callable[[], Claim]) -> Callable[[], Claim]:
        if name in CLAIMS:
            raise ValueError(f"claim {name!r} is registered twice")
        CLAIMS[name] = functools.cache(fn)
        return CLAIMS[name]
    return deco


def get_claim(name: str) -> Claim:
    """The claim of statement ``name`` (imports :mod:`theory.certify.library` first)."""
    import theory.certify.library  # noqa: F401 - registers the claims

    if name not in CLAIMS:
        raise KeyError(f"no certifiable claim for statement {name!r}")
    return CLAIMS[name]()
