"""Large-d instances of issue #13 (item 4): k = 4, lam = 0.05, beta = 1, eta = 0.5,
w* = numpy.random.default_rng(d).standard_normal(d) written with 6 significant digits.

* TL1 (a = 1): the nested search came back empty at d >= 2000 (the coarse grid's cells were
  wider than the strip of valid nested roots next to the kept branch's fold); the search now
  walks from invalid roots to the self-consistent supports (``_relu._walk_seeds``).

The simulations here are plain NumPy loops of the RVSM iteration (theory.relu.grad and
Penalty.prox), independent of the reduction they check.
"""

from __future__ import annotations

import numpy as np
import pytest

from theory import relu
from theory.limits import _relu as R
from theory.limits import relu_fixed_points
from theory.penalties import Penalty

K, LAM, BETA, ETA = 4, 0.05, 1.0, 0.5


def teacher(d: int) -> np.ndarray:
    """The issue's w*: standard normal draws of default_rng(d), 6 significant digits."""
    return np.array([float(f"{x:.6g}") for x in np.random.default_rng(d).standard_normal(d)])


def simulate(w: np.ndarray, ws: np.ndarray, pen: Penalty, n: int = 20_000) -> np.ndarray:
    """RVSM from w (rows: independent runs) until every run's step is below 1e-14 max|w|."""
    tau = LAM / BETA
    w = np.array(w, dtype=float)
    for _ in range(n):
        u = pen.prox(w, tau)
        w2 = w - ETA * relu.grad(w, ws, K, validate=False) - ETA * BETA * (w - u)
        step = np.max(np.abs(w2 - w), axis=-1)
        w = w2
        if np.all(step <= 1e-14 * np.maximum(1.0, np.max(np.abs(w), axis=-1))):
            return w
    raise AssertionError("the iteration did not converge")


TL1 = Penalty("tl1", a=1.0)


def test_tl1_d2000_lists_the_simulated_limit() -> None:
    """d = 2000 shows the miss of d = 10^4 in the default profile: before the walk the list
    held no sign-consistent point (exit 1 of rvsm fixed-point) while RVSM from a random start
    converges (~1800 steps).  Now the limit is listed: max-abs distance below 1e-9 (the last
    step is below 1e-14 max|w| and rho(J) < 0.995, so the iterate is within ~1e-11 of its
    limit); the set says it is not complete, naming the hysteresis band."""
    ws = teacher(2000)
    fs = relu_fixed_points(ws, K, "tl1", LAM, BETA, a=1.0, eta=ETA)
    good = [f for f in fs if f.good]
    assert good and not fs.complete
    assert fs.message and "hysteresis band" in fs.message
    lim = simulate(np.random.default_rng(1).standard_normal(ws.size), ws, TL1)
    dist = min(float(np.max(np.abs(np.asarray(f.w_bar) - lim))) for f in good)
    assert dist < 1e-9


def test_tl1_d2000_without_the_walk_lists_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root cause, kept as a test: with the walk switched off, every seed of the coarse
    (20 x 16) grid converges to a nested support that fails validation, and the good family
    comes back empty."""
    monkeypatch.setattr(R, "_walk_seeds", lambda *args: [])
    fs = relu_fixed_points(teacher(2000), K, "tl1", LAM, BETA, a=1.0, eta=ETA, outside=False)
    assert not any(f.good for f in fs)
