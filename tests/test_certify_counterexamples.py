"""Interval re-checks of the recorded counterexamples (theory/certify/counterexamples.py).

Each recorded counterexample of a handled refuted statement is a rigorous violation, and per
method a point where the claim holds (or holds with equality) is *not* reported as one.
"""

from __future__ import annotations

import decimal
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from mpmath import iv

import sim.checks  # noqa: F401 - registers the simulation statements (their counterexamples)
from theory.certify import counterexamples as cx
from theory.statements import REGISTRY, load_all

HANDLED = sorted(cx.RIGOROUS)


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    return {name: cx.RIGOROUS[name]() for name in HANDLED}


def _ends(s: str) -> tuple[Fraction, Fraction]:
    lo, hi = s.strip("[]").split(", ")
    return Fraction(decimal.Decimal(lo)), Fraction(decimal.Decimal(hi))


def test_every_refuted_statement_is_handled_or_has_a_reason() -> None:
    load_all()
    refuted = {n for n, s in REGISTRY.items() if s.expected == "refuted"}
    assert refuted == set(cx.RIGOROUS) | set(cx.NOT_RIGOROUS)
    assert set(HANDLED) == {"relu.gd_angle_monotone_any_step", "binary.loss_continuous_at_zero",
                            "rvsm.descent_any_step", "rvsm.angle_monotone",
                            "rvscgd.angle_monotone"}
    for name in cx.NOT_RIGOROUS:
        res = cx.recheck(name)
        assert res["rigorous"] is False
        assert res["reason"] == "needs certified fixed points (issue #13)"


@pytest.mark.parametrize("name", HANDLED)
def test_recorded_counterexample_is_rigorous(results: dict[str, dict], name: str) -> None:
    res = results[name]
    assert res["rigorous"] is True, res
    assert res["reason"] is None and res["method"]
    for reading in res.get("readings", {}).values():  # the decimal reading agrees
        assert reading["rigorous"] is True, reading


def test_enclosures_of_the_violations(results: dict[str, dict]) -> None:
    gd = results["relu.gd_angle_monotone_any_step"]["violation"]
    assert _ends(gd["angle_before"]) == (0, 0)  # w = 3 w*: angle exactly 0
    lo, hi = _ends(gd["angle_after"])  # the step lands on -w*/3 ... angle pi
    pi = Fraction("3.14159265358979323846264338")  # |error| < 1e-26
    assert lo < pi < hi and hi - lo < Fraction(1, 10**15)
    for name, quantity in (("rvsm.descent_any_step", "L_beta"), ("rvsm.angle_monotone", "angle"),
                           ("rvscgd.angle_monotone", "angle")):
        v = results[name]["violation"]
        assert v["quantity"] == quantity
        assert _ends(v["after"])[0] > _ends(v["before"])[1]  # the increase is proved
        assert _ends(v["increase"])[0] > 0
    assert results["rvsm.descent_any_step"]["violation"]["step"] == 0
    # the float64 check sees the angle rise at step 7 (5.35e-4) and at step 52 (9.6e-11)
    ang = results["rvsm.angle_monotone"]["violation"]
    assert ang["step"] == 7 and ang["hypotheses"]["holds"] is True
    assert ang["ties"] == [{"step": "u0", "coordinate": 0}, {"step": 0, "coordinate": 0}]
    cg = results["rvscgd.angle_monotone"]["violation"]
    assert cg["step"] == 52 and cg["hypotheses"]["holds"] is True
    assert Fraction(9, 10**11) < _ends(cg["increase"])[0]
    jump = results["binary.loss_continuous_at_zero"]["violation"]
    assert (jump["limit"], jump["value_at_zero"]) == ("0", "1/2")


def test_hooks_are_wired_and_the_precision_is_restored() -> None:
    for name in HANDLED:
        assert REGISTRY[name].rigorous_counterexample is not None
    iv.prec = 77
    try:
        status, ev = REGISTRY["rvsm.descent_any_step"].run("quick", certify=False)
        assert iv.prec == 77
    finally:
        iv.prec = 53
    assert status == "refuted"
    assert ev.details["refutation"]["rigorous"] is True


# ---------------------------------------------------------------- negative controls

@pytest.mark.parametrize("point, why", [
    (((np.array([1.0, 0.5]), np.array([0.3, 1.0])), 2, 0.5), "does not increase"),
    (((np.array([0.0, -3.0]), np.array([0.0, -1.0])), 1, 0.5), "overlap"),  # stays at angle 0
])
def test_gd_step_below_the_bound_is_not_a_violation(point: tuple, why: str) -> None:
    res = cx.recheck("relu.gd_angle_monotone_any_step", point)
    assert res["rigorous"] is False and why in res["reason"]


@pytest.mark.parametrize("name, point", [
    # the recorded descent instance with a small step: L_beta decreases
    ("rvsm.descent_any_step", {"w_star": np.array([0.0, 1.0]), "w0": np.array([1.0, 0.0]),
                               "k": 1, "penalty": "l0", "lam": 0.0, "beta": 0.1, "frac": 0.5}),
    ("rvsm.descent_any_step", {"w_star": np.array([1.0, 0.5, 0.0]),
                               "w0": np.array([-0.2, 1.0, 0.4]), "k": 2, "penalty": "l1",
                               "lam": 0.05, "beta": 1.0, "frac": 0.5}),
    # lam = 0: plain GD (RVSM) and normalised coarse GD below the bound never turn w away
    ("rvsm.angle_monotone", {"w_star": np.array([0.0, 1.0, 2.0]), "w0": np.array([1.0, 0.0, 0.0]),
                             "k": 1, "penalty": "l0", "lam": 0.0, "beta": 0.1, "frac": 0.5}),
    ("rvscgd.angle_monotone", {"w_star": np.array([0.0, 1.0, 2.0]),
                               "w0": np.array([1.0, 0.0, 0.0]), "k": 1, "penalty": "l1",
                               "lam": 0.0, "beta": 0.1, "frac": 0.5}),
])
def test_replay_where_the_claim_holds_is_not_a_violation(name: str, point: dict) -> None:
    res = cx.replay_run(name, point)
    assert res["rigorous"] is False
    assert res["reason"].startswith("no increase")


def test_undecidable_prox_is_undecided() -> None:
    point = {"w_star": np.array([0.0, 1.0]), "w0": np.array([1.0, 0.0]), "k": 1,
             "penalty": "tl1", "lam": 0.05, "beta": 0.1, "frac": 3.5}
    res = cx.replay_run("rvsm.descent_any_step", point)
    assert res["rigorous"] is False and res["reason"].startswith("undecided: no interval prox")
    # l0 threshold sqrt(2/3) (tau = 1/3, not dyadic) against its float64 rounding y: at 53 bits
    # the threshold's enclosure contains y (undecided), at 128 bits it does not
    y = [iv.mpf(float(mpmath.sqrt(mpmath.mpf(2) / 3)))]
    with cx._precision(53), pytest.raises(cx.Undecided, match="comparison undecided"):
        cx._prox("l0", y, iv.mpf(1) / 3, "test")
    with cx._precision(128):
        out, ties = cx._prox("l0", y, iv.mpf(1) / 3, "test")
        assert ties == [] and cx._ends(out[0]) in ((0, 0), cx._ends(y[0]))
        out, ties = cx._prox("l0", [iv.mpf(1)], iv.mpf(0.5), "test")  # exact tie: the tie rule
        assert cx._ends(out[0]) == (0, 0) and ties == [0]


@pytest.mark.parametrize("direction, k", [(sp.pi / 2, 1), ("3*pi/4", 2), ("pi", 3)])
def test_loss_limit_equal_to_the_value_is_not_a_violation(direction: object, k: int) -> None:
    """Along t = pi (k+1)/4 the limit t/(pi k) equals l(0) = (k+1)/(4k) exactly."""
    res = cx.recheck("binary.loss_continuous_at_zero", (direction, k))
    assert res["rigorous"] is False and "equals l(0)" in res["reason"]
    # the float64 nearest to pi/2 is below pi/2: a (tiny, negative) jump, proved
    res = cx.recheck("binary.loss_continuous_at_zero", (float(np.pi / 2), 1))
    assert res["rigorous"] is True
    lo, hi = _ends(res["violation"]["limit_minus_value_at_zero"])
    assert -Fraction(1, 10**16) < lo <= hi < 0


def test_enclosure_strings_round_outward() -> None:
    with mpmath.workprec(200):
        third = iv.mpf(1) / 3
    lo, hi = _ends(cx.enclosure(third))
    assert lo < Fraction(1, 3) < hi
    lo, hi = _ends(cx.enclosure(-third))
    assert lo < Fraction(-1, 3) < hi
    assert cx.enclosure(iv.mpf(0)) == "[0, 0]" and cx.enclosure(iv.mpf(2)) == "[2, 2]"
