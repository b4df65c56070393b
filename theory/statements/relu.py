"""Statements about the ReLU closed form (proofs_notes/relu_closed_form.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from theory import relu
from theory.geometry import angle, norm
from theory.statements import Evidence, Statement, register
from theory.statements.domains import ks, nonzero_vectors, teacher_student_pairs

NOTE = "relu_closed_form.md"
EPS64 = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------- closed form vs Monte Carlo

_MC_INSTANCES = (
    {"w": (1.0, 2.0, 3.0), "w_star": (0.5, 0.0, 1.0), "k": 3},
    {"w": (1.0, -0.4, 0.7, 0.2), "w_star": (0.3, 0.9, -0.5, 1.0), "k": 5},
    {"w": (-0.2, 0.1), "w_star": (1.0, 0.0), "k": 1},
)


def _loss_monte_carlo(p: dict[str, Any], n: int = 1_000_000, seed: int = 20261121) -> Evidence:
    """Sample mean of (f(w) - f(w*))^2 over n draws vs the closed form, 4 standard errors."""
    w, w_star, k = np.array(p["w"]), np.array(p["w_star"]), p["k"]
    rng = np.random.default_rng(seed)
    total = total_sq = 0.0
    for start in range(0, n, 200_000):
        z = rng.standard_normal((min(200_000, n - start), k, w.size))
        diff = (np.maximum(z @ w, 0).sum(1) - np.maximum(z @ w_star, 0).sum(1)) / k
        total += float(np.sum(diff**2))
        total_sq += float(np.sum(diff**4))
    mean = total / n
    se = float(np.sqrt((total_sq / n - mean**2) / n))
    closed = float(relu.loss(w, w_star, k))
    z_score = abs(mean - closed) / se
    return Evidence(z_score <= 4, {"samples": n, "closed_form": closed, "monte_carlo": mean,
                                   "standard_error": se, "z": z_score, "z_bound": 4})


register(Statement(
    name="relu.closed_form_loss",
    hypotheses="Z has iid N(0,1) entries, k >= 1 non-overlapping patches, w* != 0",
    conclusion="E[(f(Z,w) - f(Z,w*))^2] = [a(|w|^2+|w*|^2) - 2k|w||w*|kappa_1(t) - 2b|w||w*|]/k^2",
    source="derived", note=NOTE, instance=_loss_monte_carlo, domain=None, pinned=_MC_INSTANCES,
))


# ---------------------------------------------------------------- critical points

def _critical_points(p: tuple[np.ndarray, int]) -> Evidence:
    """The gradient vanishes at w* and (k >= 2) at -(b/a) w*, to float64 rounding."""
    w_star, k = p
    a_, b_ = relu.constants(k)
    points = [w_star] + ([-(b_ / a_) * w_star] if k > 1 else [])
    worst = max(float(np.max(np.abs(relu.grad(w, w_star, k)))) / relu.grad_term_scale(w, w_star, k)
                for w in points)
    kinds = {cp.kind: str(cp.scale) for cp in relu.critical_points()}
    return Evidence(worst <= 32 * EPS64, {"critical_points": kinds,
                                          "residual_over_scale": worst, "bound": 32 * EPS64})


register(Statement(
    name="relu.critical_points",
    hypotheses="w != 0, k >= 1",
    conclusion="grad l(w) = 0 exactly at w = w* (global min) and, for k >= 2, w = -(b/a) w* "
               "(saddle with PSD, singular Hessian); for k = 1 the saddle merges with 0",
    source="derived", note=NOTE, instance=_critical_points,
    domain=lambda: st.integers(2, 8).flatmap(nonzero_vectors).flatmap(
        lambda v: st.tuples(st.just(v), ks)),
    pinned=[(np.array([0.6, -0.8, 0.0]), k) for k in (1, 2, 3, 64)],
))


# ---------------------------------------------------------------- angle monotonicity of GD

def _gd_angle_step(p: tuple[tuple[np.ndarray, np.ndarray], int, float]) -> Evidence:
    """One plain-GD step at eta = frac * pi k/(k + pi - 1) does not increase the angle."""
    (w, w_star), k, frac = p
    if not np.any(w):
        return Evidence(True, {"skipped": "w = 0"})
    eta = frac * float(relu.angle_monotone_step_bound().subs(relu.k, k))
    w_next = w - eta * relu.grad(w, w_star, k)
    if not np.any(w_next):
        return Evidence(True, {"skipped": "the step landed on w = 0, where the angle is undefined"})
    before = float(angle(w, w_star))
    after = float(angle(w_next, w_star))
    return Evidence(after <= before + 32 * EPS64 * np.pi,
                    {"eta": eta, "angle_before": before, "angle_after": after})


register(Statement(
    name="relu.gd_angle_monotone",
    hypotheses="plain GD w <- w - eta grad l(w), 0 < eta < pi k/(k + pi - 1), w != 0",
    conclusion="theta(w_next, w*) <= theta(w, w*) (to twice the angle's float64 accuracy, "
               "2 x 16 eps pi)",
    source="derived", note=NOTE, instance=_gd_angle_step,
    domain=lambda: st.tuples(teacher_student_pairs(scaled=False), ks, st.floats(0.001, 0.999)),
    pinned=[((np.array([-1.0, 1e-3]), np.array([1.0, 0.0])), 1, 0.999),
            ((np.array([0.0, 1.0]), np.array([1.0, 0.0])), 4, 0.5)],
))

register(Statement(
    name="relu.gd_angle_monotone_any_step",
    hypotheses="plain GD with any step size eta > 0 (the bound dropped)",
    conclusion="theta(w_next, w*) <= theta(w, w*)",
    source="conjecture", note=NOTE, instance=_gd_angle_step,
    domain=lambda: st.tuples(teacher_student_pairs(scaled=False), ks, st.floats(1.0, 20.0)),
    expected="refuted",
    # Found by `search` over the domain above and shrunk by Hypothesis: w = 3 w*, k = 1,
    # eta = 2x the bound; the step overshoots through the origin and the angle jumps 0 -> pi.
    counterexample=((np.array([0.0, -3.0]), np.array([0.0, -1.0])), 1, 2.0),
    rigorous_counterexample=lambda: __import__(
        "theory.certify.counterexamples", fromlist=["recheck"]).recheck(
        "relu.gd_angle_monotone_any_step"),
))


# ---------------------------------------------------------------- Hessian / Lipschitz bound

def _hessian_bound(p: tuple[tuple[np.ndarray, np.ndarray], int, float]) -> Evidence:
    """||Hess l(w)|| <= L(m) for m = |w| / m_ratio <= |w|."""
    (w, w_star), k, m_ratio = p
    if not np.any(w):
        return Evidence(True, {"skipped": "w = 0"})
    m_ = float(norm(w)) / m_ratio
    bound = relu.lipschitz_bound(m_, float(norm(w_star)), k)
    e = relu.hessian_eigen(w, w_star, k)
    spectral = float(max(abs(e.along_w), abs(e.along_normal), abs(e.orthogonal)))
    return Evidence(spectral <= bound * (1 + 64 * EPS64),
                    {"hessian_norm": spectral, "L_m": bound, "ratio": spectral / bound})


register(Statement(
    name="relu.hessian_bound",
    hypotheses="|w| >= m > 0, k >= 1",
    conclusion="||Hess l(w)|| <= L(m) = max{2a, (k^2+k)|w*|/(pi m) - 2a}/k^2, attained at "
               "|w| = m, t = pi/2",
    source="derived", note=NOTE, instance=_hessian_bound,
    domain=lambda: st.tuples(teacher_student_pairs(scaled=False), ks, st.floats(1.0, 100.0)),
    pinned=[((np.array([0.0, 0.1]), np.array([1.0, 0.0])), 3, 1.0)],
))


# ---------------------------------------------------------------- random start

def _random_start(p: dict[str, Any], n: int = 1_000_000) -> Evidence:
    """Sampled frequency of theta(w0, w*) > pi - delta vs the incomplete-beta formula."""
    d, delta = p["d"], p["delta"]
    rng = np.random.default_rng(11 + d)
    x = rng.standard_normal((n, d))
    frac = float(np.mean(angle(x, np.eye(d)[0]) > np.pi - delta))
    prob = float(relu.random_start_probability(delta, d))
    se = float(np.sqrt(prob * (1 - prob) / n))
    ok = abs(frac - prob) <= 4 * se and prob <= delta / np.pi * (1 + 1e-12)
    return Evidence(ok, {"d": d, "delta": delta, "formula": prob, "sampled": frac, "se": se,
                         "delta_over_pi": delta / np.pi, "samples": n})


register(Statement(
    name="relu.random_start_probability",
    hypotheses="w0 uniform on the sphere S^{d-1}, d >= 2, 0 <= delta <= pi/2",
    conclusion="P[theta(w0, w*) > pi - delta] = I_{sin^2 delta}((d-1)/2, 1/2)/2 <= delta/pi",
    source="derived", note=NOTE, instance=_random_start, domain=None,
    pinned=[{"d": 3, "delta": 1.0}, {"d": 10, "delta": 1.2}, {"d": 2, "delta": 0.4}],
))


# ---------------------------------------------------------------- global curvature bound A0

def _hessian_at_most_a0(p: tuple[tuple[np.ndarray, np.ndarray], int]) -> Evidence:
    """Every Hessian eigenvalue at w is at most A0 = 2a/k^2 (to 64 ulps of A0)."""
    (w, w_star), k = p
    if not np.any(w):
        return Evidence(True, {"skipped": "w = 0"})
    a0 = 2 * relu.constants(k)[0] / k**2
    e = relu.hessian_eigen(w, w_star, k)
    top = float(max(e.along_w, e.along_normal, e.orthogonal))
    return Evidence(top <= a0 * (1 + 64 * EPS64), {"largest_eigenvalue": top, "A0": a0})


register(Statement(
    name="relu.hessian_upper_bound_a0",
    hypotheses="any w != 0, any w* != 0, any integer k >= 1",
    conclusion="every Hessian eigenvalue of the ReLU loss is at most A0 = (k + pi - 1)/(pi k), "
               "and the loss has a concave kink at 0; hence the descent lemma with constant A0 "
               "holds between any two points (no condition on the segment)",
    source="derived", note=NOTE, instance=_hessian_at_most_a0,
    domain=lambda: st.tuples(teacher_student_pairs(), ks),
    pinned=[((np.array([0.0, 1.0]), np.array([1.0, 0.0])), 1),
            ((np.array([-1.0, 1e-9]), np.array([1.0, 0.0])), 64)],
))
