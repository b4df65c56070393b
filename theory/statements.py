"""The registry of checked statements: each claim stated once, with its check and evidence.

A :class:`Statement` names its hypotheses and conclusion, where it comes from (``source``:
``quoted`` from a paper, ``derived`` here, or ``conjecture``), the proof note that explains
it, and a ``check`` that returns :class:`Evidence` (numbers, a counterexample), never a bare
boolean, so the tests, the report and the notebooks show the same thing.  Checks that need
the simulator register themselves from :mod:`sim`; the ones here need only mathematics.

``expected`` says what the toolkit believes: ``"holds"`` (a failure is a bug or a false
claim and makes ``rvsm report`` exit non-zero) or ``"refuted"`` (the check must keep
finding its counterexample).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import sympy as sp

from theory import relu
from theory.geometry import angle

Status = Literal["verified", "refuted", "failed"]


@dataclass(frozen=True)
class Evidence:
    """What a check found: ``ok`` (the conclusion held on everything tried), numbers, notes."""

    ok: bool
    details: dict[str, Any] = field(default_factory=dict)
    counterexample: dict[str, Any] | None = None


@dataclass(frozen=True)
class Statement:
    name: str
    hypotheses: str
    conclusion: str
    source: Literal["quoted", "derived", "conjecture"]
    note: str
    check: Callable[[str], Evidence]
    expected: Literal["holds", "refuted"] = "holds"

    def run(self, profile: str = "quick") -> tuple[Status, Evidence]:
        """Run the check; ``verified`` if it held as expected, ``refuted`` if a counterexample
        was expected and found, ``failed`` otherwise."""
        ev = self.check(profile)
        if self.expected == "holds":
            return ("verified" if ev.ok else "failed"), ev
        return ("refuted" if not ev.ok and ev.counterexample else "failed"), ev


REGISTRY: dict[str, Statement] = {}


def register(statement: Statement) -> Statement:
    if statement.name in REGISTRY:
        raise ValueError(f"statement {statement.name!r} is registered twice")
    REGISTRY[statement.name] = statement
    return statement


def _samples(profile: str) -> int:
    return 1_000_000 if profile == "quick" else 4_000_000


def _check_relu_loss_monte_carlo(profile: str) -> Evidence:
    rng = np.random.default_rng(20261121)
    k_, n = 3, _samples(profile)
    w, w_star = np.array([1.0, -0.4, 0.7, 0.2]), np.array([0.3, 0.9, -0.5, 1.0])
    total = total_sq = 0.0
    for start in range(0, n, 200_000):
        z = rng.standard_normal((min(200_000, n - start), k_, w.size))
        diff = (np.maximum(z @ w, 0).sum(1) - np.maximum(z @ w_star, 0).sum(1)) / k_
        total += float(np.sum(diff**2))
        total_sq += float(np.sum(diff**4))
    mean = total / n
    se = float(np.sqrt((total_sq / n - mean**2) / n))
    closed = float(relu.loss(w, w_star, k_))
    z_score = abs(mean - closed) / se
    return Evidence(z_score <= 4, {"samples": n, "closed_form": closed, "monte_carlo": mean,
                                   "standard_error": se, "z": z_score, "bound": 4})


def _check_relu_critical_points(profile: str) -> Evidence:
    k_ = sp.Symbol("k", positive=True, integer=True)
    kinds = {cp.kind: str(cp.scale) for cp in relu.critical_points()}
    a_, b_ = relu.grad_coeffs_expr()
    residuals = []
    for kk in (1, 2, 3, 8, 64):
        aa = float(relu.a_coeff().subs(k_, kk))
        bb = float(relu.b_coeff().subs(k_, kk))
        w_star = np.array([0.6, -0.8, 0.0])
        # For k = 1, b = 0: the saddle merges with the non-differentiable origin.
        for w in (w_star, -(bb / aa) * w_star) if kk > 1 else (w_star,):
            residuals.append(float(np.max(np.abs(relu.grad(w, w_star, kk)))))
    worst = max(residuals)
    # float64 gradient of O(1) terms: the residual is rounding, below 1e-14.
    return Evidence(worst < 1e-14 and sp.solve(b_, relu.t) == [sp.pi],
                    {"critical_points": kinds, "max_float64_residual": worst})


def _check_angle_monotone_gd(profile: str) -> Evidence:
    rng = np.random.default_rng(5)
    trials = 2000 if profile == "quick" else 20000
    worst = -np.inf
    for _ in range(trials):
        k_ = int(rng.integers(1, 10))
        d = int(rng.integers(2, 8))
        bound = float(relu.angle_monotone_step_bound().subs(relu.k, k_))
        eta = bound * rng.uniform(0.01, 0.999)
        w_star = rng.standard_normal(d)
        w = rng.standard_normal(d) * rng.choice([0.01, 1, 100])
        before = angle(w, w_star)
        w_next = w - eta * relu.grad(w, w_star, k_)
        worst = max(worst, float(angle(w_next, w_star) - before))
    return Evidence(worst <= 1e-14, {"trials": trials, "max_angle_increase": worst,
                                     "tolerance": "1e-14 (float64 angle accuracy)"})


def _check_angle_monotone_gd_large_step(profile: str) -> Evidence:
    """Above the bound the angle can increase: search for a witness."""
    rng = np.random.default_rng(6)
    for trial in range(10000):
        k_ = int(rng.integers(1, 6))
        bound = float(relu.angle_monotone_step_bound().subs(relu.k, k_))
        eta = bound * rng.uniform(1.01, 3.0)
        w_star = rng.standard_normal(3)
        w = rng.standard_normal(3) * rng.uniform(0.5, 50)
        rise = float(angle(w - eta * relu.grad(w, w_star, k_), w_star) - angle(w, w_star))
        if rise > 1e-6:
            return Evidence(False, {"trials": trial + 1}, {
                "k": k_, "eta": eta, "eta_bound": bound, "w": w.tolist(),
                "w_star": w_star.tolist(), "angle_increase": rise})
    return Evidence(True, {"trials": 10000})


def _check_random_start_probability(profile: str) -> Evidence:
    rng = np.random.default_rng(8)
    n = _samples(profile)
    rows = []
    ok = True
    for d, delta in ((3, 1.0), (10, 1.2), (50, 1.4)):
        x = rng.standard_normal((n, d))
        frac = float(np.mean(angle(x, np.eye(d)[0]) > np.pi - delta))
        p = float(relu.random_start_probability(delta, d))
        se = float(np.sqrt(p * (1 - p) / n))
        ok &= abs(frac - p) <= 4 * se and p <= delta / np.pi
        rows.append({"d": d, "delta": delta, "formula": p, "sampled": frac, "se": se,
                     "delta_over_pi": delta / np.pi})
    return Evidence(bool(ok), {"samples": n, "rows": rows})


def _check_lipschitz(profile: str) -> Evidence:
    rng = np.random.default_rng(9)
    worst = 0.0
    for _ in range(2000):
        k_ = int(rng.integers(1, 10))
        w_star = rng.standard_normal(4)
        w = rng.standard_normal(4)
        m_ = float(np.linalg.norm(w)) * rng.uniform(0.1, 1.0)
        bound = relu.lipschitz_bound(m_, float(np.linalg.norm(w_star)), k_)
        e = relu.hessian_eigen(w, w_star, k_)
        worst = max(worst, max(abs(e.along_w), abs(e.along_normal), abs(e.orthogonal)) / bound)
    return Evidence(worst <= 1 + 1e-12, {"max_hessian_norm_over_bound": worst, "points": 2000})


register(Statement(
    "relu.closed_form_loss", "x ~ N(0, I) patches, k >= 1, w* != 0",
    "l(w) = [a(|w|^2+|w*|^2) - 2k g(w,w*) - 2b|w||w*|]/k^2 with g the arc-cosine kernel",
    "derived", "relu_closed_form.md", _check_relu_loss_monte_carlo))
register(Statement(
    "relu.critical_points", "w != 0", "critical points are w* (min) and -(b/a)w* (saddle)",
    "derived", "relu_closed_form.md", _check_relu_critical_points))
register(Statement(
    "relu.gd_angle_monotone", "plain GD, eta < pi k/(k + pi - 1)",
    "theta(w_{t+1}, w*) <= theta(w_t, w*)", "derived", "relu_closed_form.md",
    _check_angle_monotone_gd))
register(Statement(
    "relu.gd_angle_monotone_any_step", "plain GD, any eta > 0",
    "theta(w_{t+1}, w*) <= theta(w_t, w*)", "conjecture", "relu_closed_form.md",
    _check_angle_monotone_gd_large_step, expected="refuted"))
register(Statement(
    "relu.random_start_probability", "w0 uniform on the sphere, d >= 2, 0 <= delta <= pi/2",
    "P[theta(w0, w*) > pi - delta] = I_{sin^2 delta}((d-1)/2, 1/2)/2 <= delta/pi",
    "derived", "relu_closed_form.md", _check_random_start_probability))
register(Statement(
    "relu.hessian_bound", "|w| >= m > 0",
    "||Hess l(w)|| <= L(m) = max{2a, (k^2+k)|w*|/(pi m) - 2a}/k^2", "derived",
    "relu_closed_form.md", _check_lipschitz))
