"""Statements about the fixed-point calculator's error bounds (proofs_notes/limits.md, step 6).

The bounds of :mod:`theory.limits.bounds` are checked per instance by
``relu.l1_error_bound`` and ``rvscgd.l1_limit_matches_calculator`` (:mod:`sim.checks`); here
they are checked over a random sample of instances, both models and the three penalties, and
the sample's *tightness* (actual distance / bound) is the evidence: a bound that holds with a
ratio of 1e-3 everywhere says little about the limit.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from theory.statements import Evidence, Statement, register

EPS64 = float(np.finfo(np.float64).eps)
PENALTIES = (("l1", None), ("l0", None), ("tl1", 1.0))


@functools.cache
def bound_tightness_sample(model: str, n: int, seed: int) -> dict[str, Any]:
    r"""Every good fixed point (l1, l0, TL1 with a = 1; all branches) of ``n`` random instances
    whose bound hypothesis holds: rows ``(penalty, w_bound, w_dist, u_bound, u_dist, slack)``.

    Instances: :math:`d \in [3, 7]`, entries N(0, 1) zeroed with probability 0.3, :math:`k \in
    [1, 5]`, :math:`\beta \in [0.5, 2]`, :math:`\lambda` log-uniform on [1e-3, 5e-2] (binary:
    [1e-4, 5e-3], since its bound needs :math:`R = \beta\sqrt{s_0}\delta_P/c < 1` with
    :math:`c \approx 0.1`).  ``slack`` is the float64 rounding allowance of a distance: 64 ulps
    of the scale of the vectors (|w*| for ReLU, 1 for binary, whose distances are to the unit
    :math:`\hat w^*`).  Cached: the report's figure reuses the statement's sample.
    """
    from theory.limits import NoFixedPointError, fixed_points

    rng = np.random.default_rng(seed)
    rows: list[tuple[str, float, float, float, float, float]] = []
    points = holds = 0
    lo, hi = (1e-4, 5e-3) if model == "binary" else (1e-3, 5e-2)
    for _ in range(n):
        d = int(rng.integers(3, 8))
        w_star = rng.standard_normal(d) * (rng.random(d) > 0.3)
        if not np.any(w_star):
            w_star[0] = 1.0
        k, beta = int(rng.integers(1, 6)), float(rng.uniform(0.5, 2.0))
        lam = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        scale = 1.0 if model == "binary" else float(np.linalg.norm(w_star))
        for pen, a in PENALTIES:
            try:
                fs = fixed_points(model, w_star, k, pen, lam, beta, a=a, outside=False)
            except NoFixedPointError:
                continue
            for fp in fs:
                if not fp.good:
                    continue
                points += 1
                b = fp.bound
                if b.holds:
                    holds += 1
                    rows.append((pen, float(b.w_bound), float(b.w_dist), float(b.u_bound),
                                 float(b.u_dist), 64 * EPS64 * scale))
    return {"rows": rows, "good_fixed_points": points, "hypothesis_holds": holds}


def _quantiles(x: np.ndarray) -> dict[str, float]:
    q = np.quantile(x, [0.0, 0.1, 0.5, 0.9, 1.0]) if x.size else [float("nan")] * 5
    return dict(zip(("min", "p10", "median", "p90", "max"), (float(v) for v in q)))


def _tightness(p: dict[str, Any]) -> Evidence:
    """Every sampled distance is within its bound (up to ``slack``); the evidence is the
    distribution of actual/bound per penalty."""
    sample = bound_tightness_sample(p["model"], p["n"], p["seed"])
    rows = sample["rows"]
    if not rows:
        return Evidence(False, {"error": "no fixed point of the sample satisfies the bound's "
                                         "hypothesis: the sample says nothing", **sample})
    pen = np.array([r[0] for r in rows])
    wb, wd, ub, ud, slack = (np.array([r[i] for r in rows]) for i in range(1, 6))
    w_ok = wd <= wb * (1 + 1e-12) + slack
    u_ok = ud <= ub * (1 + 1e-12) + slack
    worst = int(np.argmax(np.maximum(wd / wb, ud / ub)))
    by_pen = {}
    for name, _ in PENALTIES:
        sel = pen == name
        by_pen[name] = {"fixed_points": int(sel.sum()),
                        "w_actual_over_bound": _quantiles(wd[sel] / wb[sel]),
                        "u_actual_over_bound": _quantiles(ud[sel] / ub[sel])}
    ok = bool(np.all(w_ok) and np.all(u_ok))
    bad = np.flatnonzero(~(w_ok & u_ok))
    return Evidence(ok, {
        "model": p["model"], "instances": p["n"], "good_fixed_points": sample["good_fixed_points"],
        "hypothesis_holds": sample["hypothesis_holds"], "violations": int(bad.size),
        "tightest": {"penalty": str(pen[worst]), "w_actual_over_bound": float(wd[worst] / wb[worst]),
                     "u_actual_over_bound": float(ud[worst] / ub[worst])},
        "by_penalty": by_pen}, None if ok else rows[int(bad[0])])


register(Statement(
    name="limits.error_bound_tightness",
    hypotheses="random instances (d in [3, 7], k in [1, 5], beta in [0.5, 2], small lam); every "
               "good fixed point for l1, l0 and TL1 (a = 1) whose bound hypothesis holds "
               "(ReLU: A_bar >= 0; binary: R < 1)",
    conclusion="|w_bar - w*| and |u_bar - w*| (binary: to w*^) are within the bounds of "
               "limits.md step 6 at every sampled fixed point; the evidence gives the "
               "distribution of actual/bound",
    source="derived", note="limits.md", instance=_tightness, domain=None,
    pinned=[{"model": "relu", "n": 40, "seed": 4}, {"model": "binary", "n": 40, "seed": 4}],
))


def _sampled_steps(p: dict[str, Any]) -> Evidence:
    """The scalar inequalities of step 6 at random points of their domains (mpmath, 30 digits)."""
    from theory.certify.sampled import sample_claim

    res = sample_claim("limits.error_bound_inequalities", p["n"], p["seed"])
    return Evidence(res["violations"] == 0, res, res["worst"])


register(Statement(
    name="limits.error_bound_inequalities",
    hypotheses="t in [0, pi] (ReLU: k >= 1), phi = asin R in [0, pi/2] (binary)",
    conclusion="the scalar inequalities the error bounds of limits.md step 6 rest on: "
               "D = A1 + B - A0 = (sin t - t)/(pi k) <= 0 and decreasing; s B(t) sin t concave on "
               "[0, pi/2] with value s/(2k) at pi/2; 2 sin(phi/2) <= sqrt(2) sin(phi)",
    source="derived", note="limits.md", instance=_sampled_steps, domain=None,
    pinned=[{"n": 200, "seed": 6}],
))
