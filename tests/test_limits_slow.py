"""Completeness of the enumeration against the dynamics (slow: ``-m slow``).

For random instances (all penalties, both models), the float64 iteration is run from random
starts; every run that converges (a step below 1e-14 |w|) must end at a fixed point the
calculator listed (to 1e-8: the last step bounds the distance by ~1e-14/(1 - rho), and runs with
rho > 0.999 are discarded as too slow to decide).  This is the evidence behind limits.md step 4
("completeness is checked, not proved"); the development sweeps ran 800 + 800 such runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from theory import binary, relu
from theory.limits import fixed_points
from theory.penalties import Penalty


def _limit(model: str, w: np.ndarray, ws: np.ndarray, k: int, pen: Penalty, lam: float,
           beta: float, eta: float, n: int) -> np.ndarray | None:
    tau = lam / beta
    for _ in range(n):
        u = pen.prox(w, tau)
        if model == "relu":
            wn = w - eta * relu.grad(w, ws, k, validate=False) - eta * beta * (w - u)
        else:
            wt = w - eta * binary.coarse_grad(w, ws, k, validate=False) - eta * beta * (w - u)
            wn = wt / np.linalg.norm(wt)
        if not np.all(np.isfinite(wn)):
            return None
        if float(np.max(np.abs(wn - w))) < 1e-14 * max(1.0, float(np.max(np.abs(wn)))):
            return wn
        w = wn
    return None  # not converged


@pytest.mark.slow
@pytest.mark.parametrize("model", ["relu", "binary"])
def test_every_limit_of_the_iteration_is_listed(model: str) -> None:
    rng = np.random.default_rng(2026 if model == "relu" else 2027)
    checked = 0
    for trial in range(60):
        d = int(rng.integers(1, 6))
        k = int(rng.choice([1, 2, 3, 5, 16]))
        ws = rng.standard_normal(d) * np.exp(rng.uniform(-1, 1))
        if trial % 4 == 0:
            ws = np.round(ws, 1)
        if not np.any(ws):
            ws[0] = 1.0
        name = ["l1", "l0", "tl1"][trial % 3]
        a = float(np.exp(rng.uniform(-1.5, 1.5))) if name == "tl1" else None
        beta = float(np.exp(rng.uniform(-2, 2)))
        lam = float(np.exp(rng.uniform(-5, 0))) * float(np.max(np.abs(ws)))
        pen = Penalty(name, a=a) if a else Penalty(name)
        eta = 0.3 / (1 + beta)
        fs = fixed_points(model, ws, k, name, lam, beta, a=a, eta=eta)
        listed = [np.array(f.w_bar, dtype=float) for f in fs]
        for _ in range(4):
            w0 = rng.standard_normal(d) * float(np.linalg.norm(ws))
            if model == "binary":
                w0 /= np.linalg.norm(w0)
            lim = _limit(model, w0, ws, k, pen, lam, beta, eta, 60_000)
            if lim is None or float(np.max(np.abs(lim))) < 1e-8:
                continue  # not converged, or w -> 0 (not a fixed point: l is not smooth there)
            dist = min((float(np.max(np.abs(lim - x))) for x in listed), default=np.inf)
            assert dist < 1e-8, (model, name, d, k, beta, lam, a, ws.tolist(), lim.tolist())
            checked += 1
    assert checked > 100
