"""Sampled (``tested``) evidence for a claim: its inequalities at random points of their boxes.

The certificate is the proof; this is the cheap independent look a reader expects beside it,
and what a statement reports when certification is undecided.  Points are drawn uniformly in
each inequality's box (seeded) plus its corners, and ``original`` is evaluated through the
change of variables with mpmath at 30 digits; a value below ``-1e-25`` (30-digit rounding of
O(1) terms) counts as a violation.
"""

from __future__ import annotations

import itertools
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from theory.certify.certificate import elementary
from theory.certify.claims import get_claim

__all__ = ["sample_claim"]


def sample_claim(name: str, n: int = 200, seed: int = 0) -> dict[str, Any]:
    """Evaluate every inequality of claim ``name`` at ``n`` random points and the box corners.

    Returns ``{"points": N, "violations": V, "min_value": {ineq: value}, "worst": point}``.
    Scale symbols that the multiplier divides out are set to 1 (the transformed expression does
    not depend on them).
    """
    rng = np.random.default_rng(seed)
    claim = get_claim(name)
    out: dict[str, Any] = {"points": 0, "violations": 0, "min_value": {}, "worst": None}
    for ineq in claim.inequalities:
        syms = [v.symbol for v in ineq.variables]
        f = sp.lambdify(syms, elementary(ineq.transformed), modules="mpmath")
        lo = np.array([float(v.lo) for v in ineq.variables])
        hi = np.array([float(v.hi) for v in ineq.variables])
        pts = [lo + (hi - lo) * rng.random(len(syms)) for _ in range(n)]
        pts += [np.array(c) for c in itertools.product(*zip(lo, hi, strict=True))]
        worst = mpmath.inf
        with mpmath.mp.workdps(30):
            for x in pts:
                # Open ends are nudged inside: the statement's domain excludes them.
                x = np.clip(x, lo + 1e-12 * (hi - lo), hi - 1e-12 * (hi - lo))
                try:
                    val = f(*(mpmath.mpf(float(c)) for c in x))
                except (ZeroDivisionError, ValueError):
                    continue
                out["points"] += 1
                if val < worst:
                    worst = val
                bad = val <= 0 if ineq.relation == ">" else val < -mpmath.mpf("1e-25")
                if bad:
                    out["violations"] += 1
                    out["worst"] = {"inequality": ineq.name, "point": x.tolist(),
                                    "value": float(val)}
        out["min_value"][ineq.name] = float(worst)
    return out
