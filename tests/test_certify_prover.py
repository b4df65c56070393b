"""The ball evaluator and the branch-and-bound prover (theory.certify): each proof method, a
refutation with a checked counterexample, and the honest 'undecided' answers."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from flint import arb, ctx, fmpq

from theory.certify.arb_eval import Unsupported, ball, compile_arb
from theory.certify.certificate import certificate_of, identity_holds
from theory.certify.claims import Claim, Identity, Inequality, box_var
from theory.certify.prover import Budget, prove_inequality

X = box_var("x", 0, 1)
Y = box_var("y", 0, 1)
x, y = X.symbol, Y.symbol


def _methods(node: dict) -> set[str]:
    if "children" in node:
        return set().union(*(_methods(c) for c in node["children"]))
    out = {node["method"]}
    if node["method"] == "monotone":
        out |= _methods(node["face"])
    return out


@pytest.mark.parametrize("expr", [
    sp.sin(sp.pi * x) + sp.cos(x) * sp.exp(-x), sp.erf(x - sp.Rational(1, 3)) * sp.atan(3 * x),
    sp.sqrt(x + 1) * sp.log(2 + x), sp.Max(x, 1 - x) ** 3 / (1 + x**2), sp.acos(x / 2),
    sp.Piecewise((x**2, x < sp.Rational(1, 2)), (1 - x, True)),
])
def test_ball_enclosure_contains_sampled_values(expr: sp.Expr) -> None:
    """The ball over [a, b] contains the 40-digit value at 50 points inside (rigour, sampled)."""
    f = compile_arb(expr, [x])
    g = sp.lambdify([x], expr, modules="mpmath")
    for a, b in ((fmpq(0), fmpq(1)), (fmpq(1, 4), fmpq(3, 8)), (fmpq(1, 2), fmpq(1, 2))):
        with ctx.workprec(64):
            encl = f([ball(a, b)])
        with mpmath.mp.workdps(40):
            for j in range(50):
                lo = mpmath.mpf(int(a.p)) / int(a.q)
                hi = mpmath.mpf(int(b.p)) / int(b.q)
                val = g(lo + (hi - lo) * j / 49)
                # A 40-digit value is a ball of radius 1e-38: it must overlap the enclosure.
                assert encl.overlaps(arb(mpmath.nstr(val, 40), 1e-38)), (expr, j, encl, val)


def test_unsupported_function_is_a_clear_error() -> None:
    with pytest.raises(Unsupported, match="gamma"):
        compile_arb(sp.gamma(x), [x])


def _prove(expr: sp.Expr, variables=(X,), relation=">=", **kw):
    return prove_inequality(Inequality("t", expr, "test box", tuple(variables), {},
                                       relation=relation), **kw)


def test_enclosure_and_mean_value_leaves() -> None:
    res = _prove(1 + x * y - (x + y) ** 2 / 2 + y**3, (X, Y))
    assert res.status == "certified"
    methods = set().union(*(_methods(f.tree) for f in res.factors if f.tree))
    assert "enclosure" in methods


def test_bound_touched_at_the_end_uses_a_monotone_face_and_an_exact_zero() -> None:
    """sqrt(2) cos(pi x/4) - 1 >= 0 on [0, 1] is 0 at x = 1: no ball around 1 proves it."""
    res = _prove(sp.sqrt(2) * sp.cos(sp.pi * x / 4) - 1)
    assert res.status == "certified", res.reason
    methods = set().union(*(_methods(f.tree) for f in res.factors if f.tree))
    assert {"monotone", "exact_zero"} <= methods


def test_symbolic_factors_are_settled_by_sympy() -> None:
    pos = sp.Symbol("q", positive=True)
    res = _prove(pos * sp.sin(sp.pi * x) ** 2 * (2 - x))
    assert res.status == "certified"
    assert any(f.method == "symbolic" for f in res.factors)


def test_false_claim_is_refuted_with_a_checked_point() -> None:
    res = _prove(x - sp.Rational(1, 2))
    assert res.status == "refuted"
    pt = sp.Rational(res.counterexample["point"]["x"])
    assert pt < sp.Rational(1, 2)
    assert float(res.counterexample["enclosure"][1]) < 0


def test_strict_claim_touching_zero_is_not_certified() -> None:
    """x (1 - x) > 0 fails at the ends: refuted (value exactly 0 at a checked point)."""
    res = _prove(x * (1 - x) + (x - x), relation=">")
    assert res.status != "certified"


def test_unbounded_variable_without_change_of_variables_is_undecided() -> None:
    z = sp.Symbol("z", real=True)
    res = _prove(z**3 + 1)
    assert res.status == "undecided"
    assert "not mapped to a compact box" in res.reason


def test_unsupported_function_leaves_the_claim_undecided() -> None:
    res = _prove(sp.besselj(0, 3 * x) + 1)
    assert res.status == "undecided"
    assert "unsupported" in res.reason


def test_too_low_precision_is_undecided_not_certified() -> None:
    """sin^2 + cos^2 - 1 + 2^-40 > 0: its margin cannot be seen at 16 bits (undecided, with the
    reason), and is at 64 bits."""
    form = sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1 + sp.Rational(1, 2**40)
    ineq = Inequality("t", sp.Rational(1, 2**40) + 0 * x, "box", (X,), {}, relation=">",
                      form=form)
    low = prove_inequality(ineq, prec=16, budget=Budget(max_leaves=500))
    assert low.status == "undecided" and "more precision" in low.reason
    assert prove_inequality(ineq, prec=64).status == "certified"


def test_a_wrong_form_is_refused() -> None:
    ineq = Inequality("t", x**2, "box", (X,), {}, form=x**2 + sp.Rational(1, 10))
    res = prove_inequality(ineq)
    assert res.status == "undecided" and "form" in res.reason


def test_identities_need_exact_simplification() -> None:
    assert identity_holds(sp.sin(x) ** 2 + sp.cos(x) ** 2, sp.S.One)
    assert not identity_holds(sp.sin(x) ** 2, sp.S.One)
    cert = certificate_of(Claim("t", "t", (), (Identity("wrong", sp.sin(x), x),)))
    assert cert.status == "undecided"


def test_every_registered_claim_is_certified() -> None:
    """The claims of theory.certify.library: certified, with a certificate per inequality."""
    from theory.certify import certifiable, certify

    names = certifiable()
    assert len(names) >= 10
    for name in names:
        res = certify(name)
        assert res.status == "certified", (name, res.reason)
        assert res.certificate["format"] == "rvsm-certificate/1"
