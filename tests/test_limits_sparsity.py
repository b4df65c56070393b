"""The inverse problem (theory/limits/sparsity.py) and the interval certificates
(theory/limits/interval.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from theory.limits import (
    branch_lambda_range,
    certify,
    fixed_points,
    select_lambda,
    sparsity_path,
)


@st.composite
def teachers(draw: st.DrawFn) -> np.ndarray:
    d = draw(st.integers(2, 6))
    w = np.array(draw(st.lists(st.floats(0.1, 2.0), min_size=d, max_size=d)))
    signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=d, max_size=d)))
    return w * signs


@settings(max_examples=examples(30))
@given(teachers(), st.sampled_from([1, 3, 8]), st.floats(0.2, 4.0),
       st.sampled_from(["relu", "binary"]))
def test_l1_sparsity_is_monotone_along_the_principal_branch(w: np.ndarray, k: int, beta: float,
                                                           model: str) -> None:
    """limits.md step 8 (checked, not proved): along a lam grid the principal branch's sparsity
    never decreases, and where A > 0 its threshold theta(lam) never decreases."""
    scale = float(np.max(np.abs(w)))
    lams = scale * np.geomspace(1e-3, 2.0, 8) * (beta if model == "binary" else 1.0)
    pts = sparsity_path(model, w, k, "l1", lams, beta, all_points=False)
    sp = [q.principal for q in pts]
    assert all(b >= a for a, b in zip(sp, sp[1:]))
    th = [q.threshold for q in pts if q.threshold is not None]
    assert all(b >= a * (1 - 1e-12) for a, b in zip(th, th[1:]))


@pytest.mark.parametrize("model", ["relu", "binary"])
@pytest.mark.parametrize("target", [0.25, 0.75, 1.0])
def test_select_lambda_l1_is_the_smallest(model: str, target: float) -> None:
    """At the returned lam the principal sparsity reaches the target; 1e-9 below it, not
    (the bisection stops at a relative 1e-13)."""
    w = [1.0, -0.8, 0.5, 0.3]
    sel = select_lambda(model, w, 3, "l1", 1.0, target)
    assert sel.sparsity >= target and sel.note is None
    below = sparsity_path(model, w, 3, "l1", [sel.lam * (1 - 1e-9)], 1.0, all_points=False)[0]
    assert below.principal < target


def test_select_lambda_zeros_of_w_star_count() -> None:
    sel = select_lambda("relu", [1.0, 0.0, 0.0, 0.5], 2, "l1", 1.0, 0.5)
    assert sel.lam == 0.0 and sel.sparsity == 0.5


def test_l0_branches_have_overlapping_lambda_ranges() -> None:
    """l0 per branch: the nested supports' lam-intervals overlap (hysteresis: several
    supports are fixed points at the same lam), and inside each interval the support is a
    fixed point while just outside it is not."""
    w = [1.0, -0.8, 0.5, 0.3]
    grid = np.geomspace(1e-4, 10.0, 17)
    rs = [branch_lambda_range("relu", w, 3, "l0", 1.0, j, lam_grid=grid) for j in (4, 3, 2)]
    assert all(r.lam_lo is not None for r in rs)
    assert rs[0].lam_hi > rs[1].lam_lo  # overlap: hysteresis band
    for r in rs:
        mid = math.sqrt(r.lam_lo * r.lam_hi)
        sups = {f.support for f in fixed_points("relu", w, 3, "l0", mid, 1.0) if f.good}
        assert tuple(sorted(r.support)) in sups
    sel = select_lambda("relu", w, 3, "l0", 1.0, 0.5, n_branches=1)
    assert sel.lam == pytest.approx(rs[2].lam_lo, rel=1e-6)


@pytest.mark.parametrize("model", ["relu", "binary"])
@pytest.mark.parametrize("pen", ["l1", "l0"])
def test_interval_certificates(model: str, pen: str) -> None:
    """Every fixed point of the example is certified (Krawczyk / interval Newton) at 30
    digits, and its box contains the 30-digit solution; a point moved by 1e-3 is not; the
    degenerate special points (A = 0 or -beta exactly) are declined with a reason."""
    w = ["1", "-0.8", "0.5"]
    fs = fixed_points(model, w, 3, pen, "0.1", "1", dps=30)
    for fp in fs:
        c = certify(model, w, 3, pen, "0.1", "1", fp, dps=30)
        if any(nm.startswith("pruned-flipped") or "false" in nm for nm in fp.pattern):
            assert not c.certified and "degenerate" in c.reason
            continue
        assert c.certified, c.reason
        for (lo, hi), x in zip(c.w_box, fp.w_bar):
            assert lo <= x <= hi
    fp = fs[0]
    moved = type(fp)(**{**fp.__dict__, "norm": fp.norm * (1 + 1e-3),
                        "coeffs": {k: v * (1 + 1e-3) for k, v in fp.coeffs.items()}})
    assert not certify(model, w, 3, pen, "0.1", "1", moved, dps=30).certified


def test_tl1_is_not_certified() -> None:
    fs = fixed_points("relu", [1, -0.8, 0.5], 3, "tl1", 0.1, 1.0, a=1.0)
    c = certify("relu", [1, -0.8, 0.5], 3, "tl1", 0.1, 1.0, fs[0], a=1.0)
    assert not c.certified and "tl1" in c.reason
