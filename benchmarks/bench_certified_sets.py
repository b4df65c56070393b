"""Benchmark of certified fixed-point sets (issue 13): certified against float64, side by side.

Run:  .venv/bin/python benchmarks/bench_certified_sets.py

Instances: w* = numpy.random.default_rng(d).standard_normal(d), k = 4, beta = 1, eta = 0.5,
lam = 0.05 (l1) or 0.01 (l0).  Wall seconds of one call each (the first call of each kind is
warmed up), the certified status and the number of isolated fixed points of both (the float64
calculator lists the good family and the attracting points outside it; the certified set lists
every fixed point, repelling ones included, whose number grows exponentially with d).
"""

from __future__ import annotations

import time

import numpy as np

from theory.certify.fixed_points import certify_binary, certify_relu
from theory.limits import fixed_points


def main() -> None:
    certify_binary([1.0, 0.5], 4, "l1", 0.05, 1.0, eta=0.5)
    certify_relu([1.0, 0.5], 4, "l1", 0.05, 1.0, eta=0.5)
    fixed_points("relu", np.array([1.0, 0.5]), 4, "l1", 0.05, 1.0, eta=0.5)
    print(f"{'model':7s} {'pen':4s} {'d':>6s} {'certified':>10s} {'status':10s} {'points':>6s} "
          f"{'float64':>8s} {'points':>6s} {'ratio':>7s}")
    cases = [("binary", "l1", 4), ("binary", "l0", 4), ("binary", "l1", 6), ("binary", "l0", 6),
             ("binary", "l1", 8), ("binary", "l0", 8), ("relu", "l1", 3), ("relu", "l0", 3),
             ("relu", "l1", 4), ("relu", "l0", 4)]
    for model, pen, d in cases:
        ws = np.random.default_rng(d).standard_normal(d)
        lam = 0.05 if pen == "l1" else 0.01
        t0 = time.perf_counter()
        if model == "binary":
            cs = certify_binary(ws.tolist(), 4, pen, lam, 1.0, eta=0.5, max_boxes=20_000)
        else:
            cs = certify_relu(ws.tolist(), 4, pen, lam, 1.0, eta=0.5, max_boxes=50_000)
        tc = time.perf_counter() - t0
        t0 = time.perf_counter()
        fs = fixed_points(model, ws, 4, pen, lam, 1.0, eta=0.5)
        tf = time.perf_counter() - t0
        print(f"{model:7s} {pen:4s} {d:6d} {tc:10.3f} {cs.status:10s} {len(cs.points):6d} "
              f"{tf:8.3f} {len(fs):6d} {tc / tf:7.1f}", flush=True)


if __name__ == "__main__":
    main()
