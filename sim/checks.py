"""Statements whose checks need the simulator (registered into :mod:`theory.statements`).

Imported by ``rvsm report`` and the tests through :func:`theory.statements.load_all`
(``extra=("sim.checks",)``).  Each check runs the analysed algorithm itself (:func:`sim.run`,
population gradients, float64) and returns the evidence; the mathematics it compares with
comes from :mod:`theory`.  Proof notes: ``proofs_notes/rvsm_dynamics.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import sim
from theory import relu
from theory.statements import Evidence, Statement, register
from theory.statements.domains import nonzero_vectors

NOTE = "rvsm_dynamics.md"
EPS64 = float(np.finfo(np.float64).eps)
PENALTY_PARAMS = {"l1": {}, "l0": {}, "tl1": {"a": 1.0}}


def _instances() -> st.SearchStrategy[dict[str, Any]]:
    """RVSM instances: teacher, start, k, penalty, lam, beta, and a step-size fraction."""
    return st.integers(2, 6).flatmap(lambda d: st.fixed_dictionaries({
        "w_star": nonzero_vectors(d), "w0": nonzero_vectors(d),
        "k": st.integers(1, 8), "penalty": st.sampled_from(sorted(PENALTY_PARAMS)),
        "lam": st.sampled_from([0.0, 1e-3, 0.05]) | st.floats(0.0, 0.5),
        "beta": st.sampled_from([0.1, 1.0]) | st.floats(0.05, 5.0),
        "frac": st.floats(0.05, 0.999),
    }))


def _run(p: dict[str, Any], eta: float, iters: int, model: str = "relu") -> Any:
    return sim.run(w_star=np.asarray(p["w_star"]), w0=np.asarray(p["w0"]), k=p["k"],
                   lam=p["lam"], beta=p["beta"], eta=eta, model=model, penalty=p["penalty"],
                   penalty_params=PENALTY_PARAMS[p["penalty"]], iters=iters, record_every=1)


def _descent(p: dict[str, Any], enforce_step_bound: bool = True) -> Evidence:
    r"""Per step: :math:`L_\beta^{t+1} - L_\beta^t \le -(1/\eta - (L_t + \beta)/2)|\Delta w|^2`.

    :math:`L_t = L(m_t)` of :func:`theory.relu.lipschitz_bound`, with :math:`m_t` a lower
    bound of :math:`|w|` on the segment :math:`[w^t, w^{t+1}]`:
    :math:`m_t^2 \ge \min(|w^t|^2, |w^{t+1}|^2) - |\Delta w|^2/4` (the squared norm is a
    quadratic in the segment parameter with second derivative :math:`2|\Delta w|^2`).  The step
    is :math:`\eta = \mathrm{frac}\cdot 2/(L(m_0) + \beta)`, :math:`m_0 = |w^0|/2`; steps where
    :math:`\eta \ge 2/(L_t + \beta)` (the hypothesis fails) are skipped and counted unless
    ``enforce_step_bound`` is False (then the plain decrease :math:`\Delta L_\beta \le 0` is
    tested).  Tolerance: 64 eps times the magnitude of the terms (float64 evaluation of
    :math:`L_\beta` from sums of O(1) terms).
    """
    s = float(np.linalg.norm(p["w_star"]))
    m0 = float(np.linalg.norm(p["w0"])) / 2
    eta = p["frac"] * 2 / (relu.lipschitz_bound(m0, s, p["k"]) + p["beta"])
    if not enforce_step_bound:
        eta = p["frac"]
    res = _run(p, eta, 40)
    lag = res.traces["lagrangian"][:, 0]
    nw = res.traces["norm_w"][:, 0]
    dw = res.traces["residual"][1:, 0]
    if not np.all(np.isfinite(lag)):
        return Evidence(not enforce_step_bound, {"eta": eta, "diverged": True})
    worst, skipped = -np.inf, 0
    for t in range(len(dw)):
        m_sq = min(nw[t], nw[t + 1]) ** 2 - dw[t] ** 2 / 4
        lip = relu.lipschitz_bound(float(np.sqrt(m_sq)), s, p["k"]) if m_sq > 0 else np.inf
        in_hypothesis = eta < 2 / (lip + p["beta"])
        if enforce_step_bound and not in_hypothesis:
            skipped += 1
            continue
        gain = (1 / eta - (lip + p["beta"]) / 2) * dw[t] ** 2 if in_hypothesis else 0.0
        tol = 64 * EPS64 * (abs(lag[t]) + abs(lag[t + 1]) + 1.0)
        worst = max(worst, float(lag[t + 1] - lag[t] + gain - tol))
    return Evidence(worst <= 0, {"eta": eta, "steps": len(dw), "steps_outside_hypothesis": skipped,
                                 "max_violation": worst})


register(Statement(
    name="rvsm.descent_lagrangian",
    hypotheses="RVSM on the ReLU loss, any penalty with an exact prox, eta < 2/(L + beta) with "
               "L the Lipschitz constant of grad l along the step",
    conclusion="L_beta(u^{t+1}, w^{t+1}) <= L_beta(u^t, w^t) - (1/eta - (L+beta)/2)|w^{t+1} - w^t|^2",
    source="derived", note=NOTE, instance=_descent, domain=_instances, examples=60,
    pinned=[{"w_star": np.array([1.0, 0.5, 0.0, -0.3]), "w0": np.array([-0.2, 1.0, 0.4, 0.1]),
             "k": 4, "penalty": pen, "lam": 0.05, "beta": 1.0, "frac": 0.99}
            for pen in ("l1", "l0", "tl1")],
))

register(Statement(
    name="rvsm.descent_any_step",
    hypotheses="RVSM as above with any eta > 0 (the step-size condition dropped)",
    conclusion="L_beta(u^t, w^t) is non-increasing",
    source="conjecture", note=NOTE, instance=lambda p: _descent(p, enforce_step_bound=False),
    domain=lambda: _instances().map(lambda p: {**p, "frac": 5 * p["frac"] + 1.0}),
    expected="refuted",
    # Found by `search` and shrunk by Hypothesis: eta = 3.5 with lam = 0 is plain GD plus a
    # pull towards u = w; it overshoots and L_beta grows without bound.
    counterexample={"w_star": np.array([0.0, 1.0]), "w0": np.array([1.0, 0.0]), "k": 1,
                    "penalty": "l0", "lam": 0.0, "beta": 0.1, "frac": 3.5},
))


def _angle_monotone(p: dict[str, Any], model: str) -> Evidence:
    """Along 60 steps at eta = frac * min(pi k/(k + pi - 1), 2/(L(|w0|/2) + beta)), the angle
    theta(w^t, w*) never increases by more than its float64 accuracy (16 eps)."""
    s = float(np.linalg.norm(p["w_star"]))
    m0 = float(np.linalg.norm(p["w0"])) / 2
    bound = float(relu.angle_monotone_step_bound().subs(relu.k, p["k"]))
    eta = p["frac"] * min(bound, 2 / (relu.lipschitz_bound(m0, s, p["k"]) + p["beta"]))
    res = _run(p, eta, 60, model=model)
    ang = res.traces["angle"][:, 0]
    rise = float(np.max(np.diff(ang))) if np.all(np.isfinite(ang)) else np.inf
    return Evidence(rise <= 16 * EPS64, {"eta": eta, "max_angle_increase": rise,
                                         "angle_start": float(ang[0]), "angle_end": float(ang[-1])})


register(Statement(
    name="rvsm.angle_monotone",
    hypotheses="RVSM (ReLU), step below the plain-GD angle bound and the descent bound",
    conclusion="theta(w^t, w*) is non-increasing (as for plain GD)",
    source="conjecture", note=NOTE, instance=lambda p: _angle_monotone(p, "relu"),
    domain=_instances, examples=60, expected="refuted",
    # Found by `search`: the l0 prox zeroes the small coordinates of w on the way, the pull
    # towards u turns w away from w* (the angle rises by 5.6e-4 at one step).
    counterexample={"w_star": np.array([0.0, 1.0, 2.0]), "w0": np.array([1.0, 0.0, 0.0]),
                    "k": 1, "penalty": "l0", "lam": 0.05, "beta": 0.1, "frac": 0.5},
))
register(Statement(
    name="rvscgd.angle_monotone",
    hypotheses="normalised RVSCGD (binary, relu STE), the same step sizes",
    conclusion="theta(w^t, w*) is non-increasing",
    source="conjecture", note=NOTE, instance=lambda p: _angle_monotone(p, "binary"),
    domain=_instances, examples=60, expected="refuted",
    # Found by `search`: the iterates overshoot the limit's own (nonzero) angle and come back;
    # the sparsified limit is not parallel to w*, so monotone decrease to it cannot hold.
    counterexample={"w_star": np.array([0.0, 1.0, 2.0]), "w0": np.array([1.0, 0.0, 0.0]),
                    "k": 1, "penalty": "l1", "lam": 0.001, "beta": 0.1, "frac": 0.5},
))
