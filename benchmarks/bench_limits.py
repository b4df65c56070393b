"""Benchmark of the fixed-point calculator (issue 5): prints measured figures.

Run:  .venv/bin/python benchmarks/bench_limits.py [--quick]

1. float64 solve, d = 10^4 (l1: unique limit; l0/TL1: nested supports, capped at max_points);
2. 50-digit solve, d = 100;
3. against simulation to the same accuracy: the population iteration (a NumPy float64 loop of
   RVSM with theory.relu.grad and Penalty.prox; normalised RVSCGD with theory.binary.coarse_grad)
   from a random start until max|w - w_bar| <= 1e-12 max|w_bar| (float64), and, for 50 digits,
   the same loop in mpmath: its cost per step is measured and multiplied by the number of steps
   the contraction needs, n = log(1e-50)/log(rho), with rho the spectral radius the solver reports.

Times are CPU seconds (time.process_time), the median of ``repeat`` runs after one warm-up (the
first call compiles the SymPy expressions).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import mpmath
import numpy as np

from theory import binary, relu
from theory.limits import fixed_points
from theory.penalties import Penalty


def timed(fn, repeat: int) -> tuple[float, object]:
    out = fn()
    ts = []
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        ts.append(time.process_time() - t0)
    return statistics.median(ts), out


def simulate_float(model: str, w_star: np.ndarray, k: int, pen: Penalty, lam: float, beta: float,
                   eta: float, w_bar: np.ndarray, tol: float, max_steps: int, seed: int
                   ) -> tuple[float, int]:
    rng = np.random.default_rng(seed)
    w = w_star + 0.3 * float(np.linalg.norm(w_star)) / math.sqrt(w_star.size) \
        * rng.standard_normal(w_star.size)
    if model == "binary":
        w = w / np.linalg.norm(w)
    target = tol * float(np.max(np.abs(w_bar)))
    t0 = time.process_time()
    for n in range(1, max_steps + 1):
        u = pen.prox(w, lam / beta)
        if model == "relu":
            w = w - eta * relu.grad(w, w_star, k, validate=False) - eta * beta * (w - u)
        else:
            w = w - eta * binary.coarse_grad(w, w_star, k, validate=False) - eta * beta * (w - u)
            w = w / np.linalg.norm(w)
        if float(np.max(np.abs(w - w_bar))) <= target:
            return time.process_time() - t0, n
    return math.inf, max_steps


def mp_step_cost(w_star: list[str], k: int, lam: str, beta: str, eta: float, dps: int,
                 steps: int = 5) -> float:
    """CPU seconds per step of the RVSM iteration in mpmath (l1, ReLU) at dps digits."""
    pen = Penalty("l1")
    with mpmath.mp.workdps(dps):
        ws = [mpmath.mpf(x) for x in w_star]
        w = [x * mpmath.mpf("0.9") for x in ws]
        tau = mpmath.mpf(lam) / mpmath.mpf(beta)
        b, e = mpmath.mpf(beta), mpmath.mpf(eta)
        t0 = time.process_time()
        for _ in range(steps):
            u = pen.prox(w, tau)
            g = relu.grad_mp(w, ws, k)
            w = [wi - e * gi - e * b * (wi - ui) for wi, gi, ui in zip(w, g, u)]
        return (time.process_time() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    repeat = 1 if args.quick else 3
    rng = np.random.default_rng(0)
    d = 10_000
    w = rng.standard_normal(d)
    k, beta = 4, 1.0
    print(f"# fixed-point calculator benchmark (CPU seconds, median of {repeat})")
    print(f"\n## 1. float64, d = {d}, Gaussian w*, k = {k}, beta = {beta}")
    rows = [("relu", "l1", None, 0.02), ("binary", "l1", None, 0.002),
            ("relu", "l0", None, 0.02), ("binary", "l0", None, 0.002),
            ("relu", "tl1", 1.0, 0.02), ("binary", "tl1", 1.0, 0.002)]
    res64 = {}
    for model, pen, a, lam in rows:
        kw = dict(a=a, outside=False, eta=0.5)
        if model == "relu":
            kw["max_points"] = 32
        t, fs = timed(lambda m=model, p=pen, lm=lam, kw=kw: fixed_points(m, w, k, p, lm, beta, **kw),
                      repeat if pen == "l1" else 1)
        res64[(model, pen)] = (t, fs)
        print(f"{model:7s} {pen:4s} lam={lam:<6} {t:8.3f} s  fixed points: {len(fs):4d}  "
              f"({fs.enumeration[:48]}{'; truncated' if fs.message and 'max_points' in fs.message else ''})")
    t, fs = timed(lambda: fixed_points("relu", w, k, "l1", 0.02, beta, eta=0.5), 1)
    print(f"relu    l1   with the outside-the-good-family search: {t:8.3f} s")

    print("\n## 2. 50 digits, d = 100 (w* given as 6-digit decimal strings)")
    w100 = [f"{x:.6f}" for x in rng.standard_normal(100)]
    for model, lam in (("relu", "0.02"), ("binary", "0.002")):
        t, fs = timed(lambda m=model, lm=lam: fixed_points(m, w100, k, "l1", lm, "1", dps=50,
                                                          outside=False), repeat)
        fp = fs[0]
        print(f"{model:7s} l1  {t:8.3f} s  stable at 100 digits: {fp.stable}  "
              f"residual {fp.residual:.1e}")

    print("\n## 3. against simulating the iteration to the same accuracy")
    for model, lam in (("relu", 0.02), ("binary", 0.002)):
        t_solve, fs = res64[(model, "l1")]
        fp = fs[0]
        wb = np.array(fp.w_bar)
        for eta in (0.5, 0.1):
            fse = fixed_points(model, w, k, "l1", lam, beta, eta=eta, outside=False)
            rho = fse[0].spectral_radius
            t_sim, n = simulate_float(model, w, k, Penalty("l1"), lam, beta, eta, wb, 1e-12,
                                      100_000, 1)
            print(f"{model:7s} float64 d={d} eta={eta}: rho={rho:.4f}; simulation to 1e-12: "
                  f"{n} steps, {t_sim:.3f} s; solve {t_solve:.3f} s; ratio {t_sim / t_solve:.0f}x")
    t_mp, fs = timed(lambda: fixed_points("relu", w100, k, "l1", "0.02", "1", dps=50,
                                          outside=False, eta=0.5), 1)
    rho = fs[0].spectral_radius
    n = math.ceil(math.log(1e-50) / math.log(rho))
    cost = mp_step_cost(w100, k, "0.02", "1", 0.5, 50)
    print(f"relu    mpmath d=100 50 digits eta=0.5: rho={rho:.4f}; simulation needs >= {n} steps "
          f"x {cost * 1e3:.1f} ms = {n * cost:.1f} s; solve {t_mp:.2f} s; ratio "
          f"{n * cost / t_mp:.0f}x")


if __name__ == "__main__":
    main()
