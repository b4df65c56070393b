"""Benchmark of the certification package (issue 12): prints measured figures side by side.

Run:  .venv/bin/python benchmarks/bench_certify.py [--quick]

1. Leaf evaluations per second: every factor the prover puts on boxes (the registered claims),
   plus three expressions with erf, atan and sqrt, each enclosed over the same random sub-boxes of
   its domain by (a) the prover's compiled python-flint ``arb`` closure and (b) the independent
   checker's compiled ``mpmath.iv`` closure (the same expression tree, endpoint intervals,
   compiled once: what a competent mpmath user writes), both at 64 bits.  Ratio = (a)/(b) in
   evaluations per second.  Both are compiled once before timing; times are CPU seconds.
2. Wall time to certify every certifiable statement (claim construction in SymPy, identities,
   prover) in this process, and the checker's replay time of the written certificates.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import sympy as sp
from flint import ctx, fmpq
from mpmath import iv

from theory.certify import certifiable, certify
from theory.certify import check as checker
from theory.certify.arb_eval import ball, compile_arb
from theory.certify.claims import box_var, get_claim
from theory.certify.prover import split_factors


def _cases() -> list[tuple[str, sp.Expr, list]]:
    out = []
    for name in certifiable():
        for ineq in get_claim(name).inequalities:
            for f in split_factors(ineq.expr):
                # A bare variable or a constant costs nothing to enclose: not a leaf evaluation.
                if (f.free_symbols and not isinstance(f, sp.Symbol)
                        and f.free_symbols <= {v.symbol for v in ineq.variables}):
                    out.append((f"{name}:{ineq.name}", f, list(ineq.variables)))
    x, y = box_var("x", 0, 1), box_var("y", 0, 1)
    out.append(("erf/atan", sp.erf(3 * x.symbol - 1) * sp.atan(y.symbol + x.symbol**2), [x, y]))
    out.append(("sqrt/log", sp.sqrt(1 + x.symbol * y.symbol) * sp.log(2 + y.symbol), [x, y]))
    out.append(("trig poly", sp.sin(sp.pi * x.symbol) ** 3 - x.symbol * sp.cos(y.symbol) ** 2,
                [x, y]))
    return out


def _boxes(variables: list, n: int, seed: int) -> list[list[tuple[fmpq, fmpq]]]:
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(n):
        box = []
        for v in variables:
            lo, hi = float(v.lo), float(v.hi)
            depth = int(rng.integers(2, 12))
            j = int(rng.integers(0, 2**depth))
            w = fmpq(int((hi - lo) * 2**20), 2 ** (20 + depth))
            a = fmpq(int(lo * 2**20), 2**20) + j * w
            box.append((a, a + w))
        boxes.append(box)
    return boxes


def bench_evaluations(n: int) -> list[tuple[str, float, float]]:
    rows = []
    for label, expr, variables in _cases():
        syms = [v.symbol for v in variables]
        boxes = _boxes(variables, n, seed=len(rows))
        f_arb = compile_arb(expr, syms)
        f_iv = checker._compile(checker._elementary(expr), syms)
        with ctx.workprec(64):
            balls = [[ball(a, b) for a, b in box] for box in boxes]
            t0 = time.process_time()
            for b in balls:
                f_arb(b)
            t_arb = time.process_time() - t0
        saved = iv.prec
        try:
            iv.prec = 64
            ivs = [[checker._range(a_, b_) for a_, b_ in
                    ((_frac(a), _frac(b)) for a, b in box)] for box in boxes]
            t0 = time.process_time()
            for b in ivs:
                try:
                    f_iv(b)
                except ArithmeticError:
                    pass
            t_iv = time.process_time() - t0
        finally:
            iv.prec = saved
        rows.append((label, n / t_arb, n / t_iv))
    return rows


def _frac(q: fmpq):
    from fractions import Fraction
    return Fraction(int(q.p), int(q.q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="500 boxes per expression, not 5000")
    args = ap.parse_args()
    n = 500 if args.quick else 5000
    print(f"1. Leaf evaluations per second ({n} random sub-boxes per expression, CPU time)")
    print(f"{'expression':70s} {'arb (64 bit)':>13s} {'iv (64 bit)':>11s} {'ratio':>7s}")
    rows = bench_evaluations(n)
    for label, a, b in rows:
        print(f"{label[:70]:70s} {a:13.0f} {b:11.0f} {a / b:7.1f}")
    ratios = [a / b for _, a, b in rows]
    print(f"median ratio {statistics.median(ratios):.1f}, min {min(ratios):.1f}, "
          f"max {max(ratios):.1f}")

    print("\n2. Certify every certifiable statement, then replay with the checker (wall seconds)")
    print(f"{'statement':40s} {'status':10s} {'leaves':>7s} {'certify':>8s} {'replay':>7s}")
    total_c = total_r = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        t_all = time.perf_counter()
        for name in certifiable():
            t0 = time.perf_counter()
            res = certify(name, out_dir=Path(tmp))
            tc = time.perf_counter() - t0
            t0 = time.perf_counter()
            rep = checker.check(res.path)
            tr = time.perf_counter() - t0
            total_c += tc
            total_r += tr
            print(f"{name:40s} {res.status:10s} {res.leaves:7d} {tc:8.2f} {tr:7.2f}"
                  + ("" if rep.ok else f"  REJECTED: {rep.reasons[0]}"))
        print(f"{'total':40s} {'':10s} {'':7s} {total_c:8.2f} {total_r:7.2f}   "
              f"(wall {time.perf_counter() - t_all:.1f} s)")


if __name__ == "__main__":
    main()
