"""Certified fixed-point sets of normalised RVSCGD (theory.certify.fixed_points, issue 13):
complete lists proved in ball arithmetic, compared with the float64 calculator and with long
simulations."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from theory.certify.fixed_points import certify_binary
from theory.limits import NoFixedPointError, fixed_points

P2 = {"w_star": [1.0, 0.5, 0.0, -0.3], "k": 4, "lam": 0.01, "beta": 1.0}


def _in_set(cs, w: np.ndarray, tol: float) -> bool:
    if any(all(lo - tol <= x <= hi + tol for x, (lo, hi) in zip(w, p.w_bar, strict=True))
           for p in cs.points):
        return True
    return any(f.exists and f.contains(w.tolist(), tol) for f in cs.families)


def test_recorded_p2_instance_is_certified() -> None:
    """P2's l0 instance: 14 isolated fixed points (10 attracting at eta = 0.5, 7 of them
    sign-consistent) and the zero-slope family at alpha = 0 with w_2 free; nothing else."""
    cs = certify_binary(P2["w_star"], P2["k"], "l0", P2["lam"], P2["beta"], eta=0.5)
    assert cs.status == "complete", cs.reasons
    assert len(cs.points) == 14
    assert cs.attracting == 10
    assert sum(p.good for p in cs.points if p.stability == "attracting") == 7
    assert [(f.alpha, f.free, f.exists) for f in cs.families] == [("0", (2,), True)]


def test_long_simulations_end_in_the_certified_set() -> None:
    """64 random starts, 6000 steps (step norm <= 1e-12): every converged limit lies in a
    certified box or on the family (to 1e-7, the simulation's float64 accuracy near a limit
    that contracts at rate < 1), and each attracting point reached is listed as attracting."""
    cs = certify_binary(P2["w_star"], P2["k"], "l0", P2["lam"], P2["beta"], eta=0.5)
    res = sim.run(w_star=np.array(P2["w_star"]), runs=64, seed=3, k=P2["k"], lam=P2["lam"],
                  beta=P2["beta"], eta=0.5, model="binary", penalty="l0", iters=6000,
                  tol=1e-12, record_every=1000)
    converged = np.array(res.status) == "converged"
    assert converged.mean() > 0.9
    for w in res.w[converged]:
        assert _in_set(cs, w / np.linalg.norm(w), 1e-7), w


@pytest.mark.parametrize("seed", [0, 1])
def test_random_instances_are_proved_complete_and_agree_with_float64(seed: int) -> None:
    """30 random instances (d <= 6, zeros in w*, l1 and l0): at least 95% proved complete (in
    development 200 of 200); every float64 fixed point is in the certified set; every certified
    attracting point is in the float64 list (to 1e-7)."""
    rng = np.random.default_rng(seed)
    complete = 0
    for n in range(30):
        d = int(rng.integers(1, 7))
        ws = np.round(rng.standard_normal(d) * (rng.random(d) > 0.3), 3)
        if not np.any(ws):
            ws[0] = 1.0
        k, pen = int(rng.integers(1, 6)), ("l1", "l0")[n % 2]
        beta = float(np.round(rng.uniform(0.1, 2), 3))
        lam = float(np.round(np.exp(rng.uniform(np.log(1e-3), np.log(0.3))), 4))
        cs = certify_binary(ws.tolist(), k, pen, lam, beta, eta=0.5)
        complete += cs.status == "complete"
        if cs.status != "complete":
            assert cs.reasons
            continue
        try:
            fl = list(fixed_points("binary", ws, k, pen, lam, beta, eta=0.5))
        except NoFixedPointError:
            fl = []
        for f in fl:
            assert _in_set(cs, np.array(f.w_bar, float), 1e-7), (ws, k, pen, lam, beta, f.w_bar)
        for p in cs.points:
            if p.stability == "attracting" and p.gamma_positive:
                mid = np.array([(a + b) / 2 for a, b in p.w_bar])
                assert any(np.max(np.abs(mid - np.array(f.w_bar, float))) < 1e-7 for f in fl)
    assert complete >= 0.95 * 30


def test_l1_instance_has_one_attracting_point() -> None:
    cs = certify_binary(P2["w_star"], P2["k"], "l1", P2["lam"], P2["beta"], eta=0.5)
    assert cs.status == "complete" and cs.attracting == 1
    good = [p for p in cs.points if p.good]
    assert len(good) == 1 and good[0].stability == "attracting"


def test_unsupported_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="TL1"):
        certify_binary(P2["w_star"], 4, "tl1", 0.01, 1.0)
    with pytest.raises(ValueError, match="STE"):
        certify_binary(P2["w_star"], 4, "l1", 0.01, 1.0, ste="clipped-relu")
    with pytest.raises(ValueError, match="nonzero"):
        certify_binary([0.0, 0.0], 4, "l1", 0.01, 1.0)


def test_a_tie_is_undecided_not_certified() -> None:
    """lam = 0: the l0/l1 thresholds vanish and every coordinate sits on them: the set cannot
    be separated by intervals, and the certifier says so instead of claiming completeness."""
    cs = certify_binary([1.0, 0.0], 1, "l1", 0.0, 1.0, eta=0.5, max_boxes=2000)
    assert cs.status == "undecided" and cs.reasons


# ------------------------------------------------------------------ ReLU RVSM

def _relu_in_set(cs, w: np.ndarray, tol: float) -> bool:
    if any(all(lo - tol <= x <= hi + tol for x, (lo, hi) in zip(w, p.w_bar, strict=True))
           for p in cs.points):
        return True
    return any(f.exists and f.contains(w.tolist(), tol) for f in cs.families)


def test_relu_corner_point_is_found() -> None:
    """l0, w* = (0.329, -0.259, 0), k = 3: besides the all-pruned point at t = 0, the corner
    A = -beta, t = pi holds the fixed point -r_c w*^ (every coordinate pruned); an earlier
    version skipped it and claimed a complete list of one point."""
    from theory.certify.fixed_points import certify_relu

    cs = certify_relu([0.329, -0.259, 0.0], 3, "l0", 0.198, 1.295)
    assert cs.status == "complete", cs.reasons
    mids = [np.array([(a + b) / 2 for a, b in p.w_bar]) for p in cs.points]
    assert len(mids) == 2
    assert any(np.dot(m, [0.329, -0.259, 0.0]) < 0 for m in mids)  # the antiparallel corner
    for f in fixed_points("relu", np.array([0.329, -0.259, 0.0]), 3, "l0", 0.198, 1.295):
        assert _relu_in_set(cs, np.array(f.w_bar, float), 1e-7)


@pytest.mark.parametrize("inst", [
    ([-0.618, 1.822], 3, "l1", 0.0753, 0.974),
    ([1.271, 1.32], 5, "l0", 0.151, 0.811),
    ([-0.331, -0.84, 1.449, 0.568], 5, "l0", 0.0387, 0.522),
    ([0.16, 0.0, 0.1, 0.0], 5, "l0", 0.0014, 0.95),
])
def test_relu_certified_sets_contain_every_float64_fixed_point(inst) -> None:
    """Proved complete; every float64 fixed point (good, flipped, on a zero-slope family) lies
    in a certified box or family, to 1e-7 (float64 roots polished to ~1e-12)."""
    from theory.certify.fixed_points import certify_relu

    ws, k, pen, lam, beta = inst
    cs = certify_relu(ws, k, pen, lam, beta)
    assert cs.status == "complete", cs.reasons
    for f in fixed_points("relu", np.array(ws), k, pen, lam, beta):
        assert _relu_in_set(cs, np.array(f.w_bar, float), 1e-7), f.w_bar


def test_relu_undecided_cases_say_why() -> None:
    from theory.certify.fixed_points import certify_relu

    cs = certify_relu([1.0, 0.5], 1, "l1", 0.05, 1.0)
    assert cs.status == "undecided" and "k = 1" in cs.reasons[0]
    cs = certify_relu([-0.0, -0.248, 0.42], 5, "l1", 0.0013, 0.186, max_boxes=2000)
    assert cs.status == "undecided" and "budget" in cs.reasons[0]
    with pytest.raises(ValueError, match="lam > 0"):
        certify_relu([1.0], 2, "l1", 0.0, 1.0)


def test_relu_l1_refutations_are_rigorous() -> None:
    """The hook of rvsm.l1_unique_limit_any_start and p1.global_limit_from_random_starts:
    the recorded instance has exactly 28 fixed points, 2 proved attracting."""
    from sim.checks import _relu_l1_certified

    r = _relu_l1_certified()
    assert r["rigorous"] is True, r["reason"]
    assert "exactly 28 fixed points, 2 proved attracting" in r["method"]
    assert "no independent checker" in r["method"]


def test_p2_refutation_is_replayed_by_the_independent_checker() -> None:
    from sim.checks import _p2_certified

    r = _p2_certified()
    assert r["rigorous"] is True, r["reason"]
    assert "replayed and accepted by the independent checker" in r["method"]
