r"""The lambda-selection rule on the Gaussian model, checked against the exact map.

The trainer is the simulator (:func:`sim.run`, population RVSM run to convergence): a trial at
:math:`\lambda` returns the sparsity of the limit :math:`u` and the magnitudes :math:`|w|`.  The
exact answer comes from the fixed-point calculator (:mod:`theory.limits`): for l1 the principal
fixed point (unique with :math:`A > 0`) and :func:`theory.limits.select_lambda` (the smallest
:math:`\lambda` reaching the target); for l0/TL1, whose limits are not unique, the set of fixed
points at :math:`\lambda`.

Agreement (:func:`check_rule`): the simulated limit at the rule's :math:`\lambda` is one of the
calculator's fixed points at that :math:`\lambda` (``max |u_sim - u_bar|`` small), with the
target sparsity; for l1 that fixed point is the principal one, so the exact map gives the
target at the rule's :math:`\lambda`, and the rule's :math:`\lambda` is at least the exact
smallest one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sim.experiments.select import Selection, Trial, select_lambda
from theory.penalties import Penalty

__all__ = ["gaussian_trial", "check_rule", "penalty_for"]


def penalty_for(name: str, a: float | None = None) -> Penalty:
    """``Penalty`` for l1, l0 or tl1 (``a`` default 1)."""
    if name == "tl1":
        return Penalty("tl1", a=1.0 if a is None else a)
    return Penalty(name)


def gaussian_trial(w_star: Any, k: int, penalty: str, beta: float, *, eta: float = 0.5,
                   a: float | None = None, seed: int = 0, iters: int = 20000,
                   tol: float = 1e-12) -> Callable[[float], Trial]:
    """``lam -> Trial``: one population RVSM run (float64) from the seeded start."""
    import sim

    params = {"a": 1.0 if a is None else a} if penalty == "tl1" else None

    def trial(lam: float) -> Trial:
        res = sim.run(w_star=w_star, k=k, lam=lam, beta=beta, eta=eta, penalty=penalty,
                      penalty_params=params, seed=seed, iters=iters, tol=tol,
                      record_every=50)
        u, w = res.u[0], res.w[0]
        return Trial(float(lam), float(np.mean(u == 0)), np.abs(w),
                     extra={"status": res.status[0], "steps": res.steps, "u": u})

    return trial


def check_rule(w_star: Any, k: int, penalty: str, beta: float, target: float, *,
               lam0: float = 0.01, eta: float = 0.5, a: float | None = None, seed: int = 0,
               max_trials: int = 20, u_tol: float = 1e-6, enumeration: str = "auto"
               ) -> dict[str, Any]:
    """Run the rule (exact target: tolerance below 1/d) with the simulator as trainer, and
    compare with the fixed-point calculator at the chosen lambda (see the module docstring).

    Keys of the answer: ``in_exact_set`` (the simulated sparsity is the sparsity of one of the
    calculator's fixed points at the rule's lambda, to 1e-12); ``match`` (the simulated ``u``
    is within ``u_tol`` of one of them; ``enumeration_complete`` says whether the calculator
    listed every fixed point: l0/TL1 with ``enumeration="auto"`` and large ``d`` list only
    nested supports, and the simulator may reach a non-nested one); for l1
    ``sparsity_principal`` (the exact map: sparsity of the principal fixed point at the rule's
    lambda) and ``in_exact_interval`` (the rule's lambda is at least the exact smallest lambda
    ``lam_exact_min`` reaching the target, and the principal sparsity there equals the one at
    ``lam_exact_min``: the rule's lambda lies in the exact map's interval of that sparsity,
    the map being nondecreasing)."""
    from theory.limits import fixed_points
    from theory.limits import select_lambda as exact_select

    ws = np.asarray(w_star, dtype=np.float64)
    d = ws.size
    pen = penalty_for(penalty, a)
    sel: Selection = select_lambda(
        gaussian_trial(ws, k, penalty, beta, eta=eta, a=a, seed=seed), target, penalty=pen,
        beta=beta, lam0=lam0, tol=0.25 / d, max_trials=max_trials)
    best = next(t for t in sel.trials if t.lam == sel.lam)
    u_sim = best.extra["u"]
    fset = fixed_points("relu", ws, k, penalty, sel.lam, beta, enumeration=enumeration,
                        max_patterns=10**6 if enumeration == "exhaustive" else 256,
                        **({"a": pen.a} if penalty == "tl1" else {}))
    fps = fset.fixed_points
    dists = [float(np.max(np.abs(np.asarray(f.u_bar, dtype=np.float64) - u_sim))) for f in fps]
    j = int(np.argmin(dists)) if dists else -1
    match = j >= 0 and dists[j] <= u_tol
    out: dict[str, Any] = {
        "penalty": penalty, "target": target, "d": d, "k": k, "beta": beta,
        "lam_rule": sel.lam, "sparsity_sim": sel.sparsity, "reached": sel.reached,
        "trainings": len(sel.trials), "status": best.extra["status"],
        "path": [(t.lam, t.sparsity, how) for t, how in zip(sel.trials, sel.steps)],
        "fixed_points": len(fps), "u_dist": dists[j] if dists else None,
        "sparsity_exact": fps[j].sparsity if j >= 0 else None, "match": bool(match),
        "in_exact_set": any(abs(f.sparsity - sel.sparsity) <= 1e-12 for f in fps),
        "enumeration_complete": bool(fset.complete),
    }
    if penalty == "l1":
        from theory.limits import sparsity_path

        wl = ws.tolist()
        out["sparsity_principal"] = sparsity_path("relu", wl, k, "l1", [sel.lam], beta)[0].principal
        ex = exact_select("relu", wl, k, "l1", beta, target)
        out.update(lam_exact_min=ex.lam,
                   in_exact_interval=bool(ex.lam is not None and ex.lam <= sel.lam * (1 + 1e-9)
                                          and out["sparsity_principal"] == ex.sparsity))
    return out
