"""Hypothesis strategies for the thresholding tests, with the edge points pinned.

A case is ``(key, prm, tau, y, dtype)``: every number is exactly representable in ``dtype``
(so the oracle sees the very inputs the array code sees).  Drawn points include y = 0, the
threshold(s) and their float neighbours, exact ties (parameters for which the jump point is
a representable number), the critical steps (TL1 tau = a^2/(2(a+1)), MCP tau = gamma, SCAD
tau = a -/+ 1), and tiny and huge scales.  No tests in this module.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from theory.penalties import Penalty

KEYS = ("l1", "l0", "tl1", "lp-half", "lp-two-thirds", "mcp", "scad")
_MAGS = {
    np.float64: [5e-324, 1e-300, 1e-150, 1e-20, 1e-8, 1e-3, 0.5, 1.0, 2.0, 3.0, 1e3, 1e8, 1e20,
                 1e150, 1e300],
    np.float32: [1e-30, 1e-8, 1e-3, 0.5, 1.0, 2.0, 3.0, 1e3, 1e8, 1e15],
}
_NEAR_ONE = [1.0, float(np.nextafter(1.0, 0.0)), float(np.nextafter(1.0, 2.0)), 1 - 1e-12,
             1 + 1e-12, 0.5, 2.0, 1e-8, 1e8]

# (key, params, tau, y): y is an exact tie between 0 (or the lower branch) and the jump value.
TIES: list[tuple[str, dict[str, Any], float, float]] = [
    *[("l0", {}, k * k / 2, k) for k in (2.0**-20, 0.5, 1.0, 3.0, 1024.0)],
    *[("tl1", {"a": 2.0 * m}, (2 * m + 1) / 2, m + 1.0) for m in (1, 2, 3, 10, 2**20)],
    *[("lp-half", {}, k**3, 1.5 * k * k) for k in (0.25, 1.0, 2.0, 4.0)],
    *[("lp-two-thirds", {}, 1.5 * k**4, 2 * k**3) for k in (0.5, 1.0, 2.0)],
    ("mcp", {"gamma": 2.0}, 8.0, 4.0), ("mcp", {"gamma": 4.0}, 9.0, 6.0),
    ("mcp", {"gamma": 2.0}, 2.0, 2.0),
    ("scad", {"a": 3.0}, 2.0, 3.0), ("scad", {"a": 3.0}, 3.0, 3.5),
    ("scad", {"a": 3.0}, 16.0, 8.0), ("scad", {"a": 3.5}, 4.5, 4.5),
]


class Case(NamedTuple):
    key: str
    prm: dict[str, Any]
    tau: float
    y: float
    dtype: Any

    @property
    def name(self) -> str:
        return "lp" if self.key.startswith("lp") else self.key

    @property
    def params(self) -> dict[str, Any]:
        """Parameters for :class:`Penalty` and for the oracle (``p`` as a Fraction)."""
        if self.key == "lp-half":
            return {"p": Fraction(1, 2)}
        if self.key == "lp-two-thirds":
            return {"p": Fraction(2, 3)}
        return dict(self.prm)

    def penalty(self) -> Penalty:
        return Penalty(self.name, **self.params)


def _rnd(v: float, dtype: Any) -> float:
    with np.errstate(over="ignore"):
        return float(dtype(v))


# Strategies are built once here (building them inside a composite costs more than drawing),
# and the discrete choices of a case are folded into one draw from a product list: every draw
# has a fixed overhead, and at 10^4 examples per penalty the overhead is most of the cost.
_F_MAG = st.floats(1e-6, 1e6)
_F_FACTOR = st.floats(0, 4)
_MAG_ST = {d: st.sampled_from(m) | _F_MAG for d, m in _MAGS.items()}
_PARAM_PINS: dict[str, dict[Any, list[float]]] = {
    "tl1": {np.float64: [*_MAGS[np.float64], 1e-12, 1e12], np.float32: [*_MAGS[np.float32], 1e-6]},
    "mcp": {d: [1 + 2.0**e, 1.5, 2.0, 3.0, 3.7, 10.0, 1e8]
            for d, e in ((np.float64, -52), (np.float32, -23))},
    "scad": {d: [2 + 2.0**e, 2.5, 3.0, 3.7, 10.0, 1e8]
             for d, e in ((np.float64, -51), (np.float32, -22))},
}
_PARAM_FREE = {"tl1": st.floats(1e-4, 1e4), "mcp": st.floats(1.001, 1e6),
               "scad": st.floats(2.001, 1e6)}
_N_SPECIAL = {"tl1": 1, "mcp": 1, "scad": 2}


def _plans(key: str, dtype: Any) -> list[tuple[Any, ...]]:
    """(param, tau, y, sign) choices; 'free' means: draw a float for it."""
    pins = _PARAM_PINS.get(key, {}).get(dtype, [])
    param = ["free"] * max(1, len(pins) // 2) + list(pins) if key in _PARAM_PINS else [None]
    tau: list[Any] = ["zero", "free", "free", *[("mag", m) for m in _MAGS[dtype]]]
    tau += [("special", i, c) for i in range(_N_SPECIAL.get(key, 0)) for c in _NEAR_ONE] * 2
    y: list[Any] = ["zero", "free", "free", *[("mag", m) for m in _MAGS[dtype]]]
    for ki in range(3):  # which knot (modulo their number)
        y += [("exact", ki, step) for step in (-1, 0, 1)]
        y += [("factor", ki, c) for c in _NEAR_ONE] + [("factor", ki, None)] * 3
    return [(p, t, v, sg) for p in param for t in tau for v in y for sg in (1.0, -1.0)]


_PLAN_ST = {(k, d): st.sampled_from(_plans(k, d)) for k in KEYS for d in _MAGS}
_TIE_ST = {k: st.sampled_from([(t, sg) for t in TIES if t[0] == k for sg in (1.0, -1.0)])
           for k in KEYS if k != "l1"}
_HEAD_ST = st.sampled_from([(np.float64, False)] * 6 + [(np.float32, False)] * 3
                           + [(np.float64, True), (np.float32, True)])


def mags(dtype: Any) -> st.SearchStrategy[float]:
    return _MAG_ST[dtype]


def _valid(key: str, prm: dict[str, Any], tau: float) -> bool:
    if not np.isfinite(tau) or any(not np.isfinite(v) for v in prm.values()):
        return False
    return {"tl1": lambda: prm["a"] > 0, "mcp": lambda: prm["gamma"] > 1,
            "scad": lambda: prm["a"] > 2}.get(key, lambda: True)()


@st.composite
def scalar_cases(draw: st.DrawFn, key: str, f64_only: bool = False) -> Case:
    dtype, tie = draw(_HEAD_ST)
    if f64_only:
        dtype = np.float64
    if tie and key in _TIE_ST:
        (_, prm, tau, y), sg = draw(_TIE_ST[key])
        return Case(key, prm, tau, y * sg, dtype)
    pc, tc, yc, sg = draw(_PLAN_ST[(key, dtype)])
    prm: dict[str, Any] = {}
    special: list[float] = []
    if key in _PARAM_PINS:
        v = draw(_PARAM_FREE[key]) if pc == "free" else pc
        name = "gamma" if key == "mcp" else "a"
        prm = {name: _rnd(v, dtype)}
        special = {"tl1": [v * (v / (2 * (v + 1)))], "mcp": [v], "scad": [v - 1, v + 1]}[key]
    if tc == "zero":
        tau = 0.0
    elif tc == "free":
        tau = draw(_F_MAG)
    elif tc[0] == "mag":
        tau = tc[1]
    else:
        tau = special[tc[1]] * tc[2]
    tau = _rnd(tau, dtype)
    assume(_valid(key, prm, tau))
    case = Case(key, prm, tau, 0.0, dtype)
    if yc == "zero":
        y = 0.0
    elif yc == "free":
        y = draw(_F_MAG)
    elif yc[0] == "mag":
        y = yc[1]
    else:
        knots = [k for k in case.penalty().threshold(tau).knots if k > 0] or [1.0]
        k = knots[yc[1] % len(knots)]
        if yc[0] == "exact":  # the threshold itself, rounded to the dtype, or a neighbour
            kk = dtype(k)
            y = float(kk if yc[2] == 0 else np.nextafter(kk, dtype(yc[2] * np.inf)))
        else:
            y = k * (draw(_F_FACTOR) if yc[2] is None else yc[2])
    y = _rnd(y, dtype) * sg
    assume(np.isfinite(y))
    return case._replace(y=y)


_ENTRY = [0.0, 1.0, 0.5, 2.0, 1.5, 1e-3, 1e3, None, None]
_ENTRY_ST = st.sampled_from([(e, sg) for e in _ENTRY for sg in (1.0, -1.0)])
_F_ENTRY = st.floats(0, 3)
_L1L2_HEAD = st.sampled_from([
    (d, tau_kind, alpha, scale_kind, n, tie)
    for d in (np.float64, np.float64, np.float32) for tau_kind in ("zero", "mag", "mag", "mag")
    for alpha in (0.0, 1.0, 0.5, 0.9921875, None, None) for scale_kind in ("tau", "mag")
    for n in (1, 2, 2, 3, 3, 4) for tie in (False, True)])
_F_ALPHA = st.floats(0, 1)


def _assignments(n: int) -> list[list[list[int]]]:
    """Every way to put indices 0..n-1 into disjoint groups or leave them ungrouped."""
    out: set[tuple[tuple[int, ...], ...]] = set()
    for labels in itertools.product(range(n + 1), repeat=n):  # label n: no group
        groups = tuple(sorted(tuple(i for i in range(n) if labels[i] == g) for g in range(n)
                              if g in labels))
        if groups:
            out.add(groups)
    return [[list(g) for g in gs] for gs in sorted(out)]


_GROUPS_ST = {n: st.sampled_from(_assignments(n)) for n in range(1, 5)}


def vectors(draw: st.DrawFn, scale: float, n: int, dtype: Any, tie: bool = False) -> list[float]:
    """Entries around ``scale`` (signed): zeros, exact multiples, (with ``tie``) two equal
    largest magnitudes; one draw per entry."""
    v = []
    for _ in range(n):
        e, sg = draw(_ENTRY_ST)
        v.append(_rnd(scale * sg * (draw(_F_ENTRY) if e is None else e), dtype))
    if tie and n > 1:
        i = max(range(n), key=lambda j: abs(v[j]))
        v[(i + 1) % n] = -v[i]  # a tie for the largest magnitude
    assume(all(np.isfinite(e) for e in v))
    return v


@st.composite
def l1l2_cases(draw: st.DrawFn) -> tuple[Any, float, float, list[float]]:
    """(dtype, tau, alpha, y) for l1 - alpha l2, y of length 1..4 around tau."""
    dtype, tau_kind, alpha, scale_kind, n, tie = draw(_L1L2_HEAD)
    tau = 0.0 if tau_kind == "zero" else _rnd(draw(_MAG_ST[dtype]), dtype)
    alpha = _rnd(draw(_F_ALPHA) if alpha is None else alpha, dtype)
    scale = tau if tau > 0 and scale_kind == "tau" else draw(_MAG_ST[dtype])
    return dtype, tau, alpha, vectors(draw, scale, n, dtype, tie)


_KEY_N_ST = st.sampled_from([(k, n, tie) for k in KEYS for n in (1, 2, 3, 4)
                             for tie in (False, True)])


@st.composite
def group_cases(draw: st.DrawFn) -> tuple[Case, list[float], list[list[int]]]:
    """A scalar case, a vector containing its y, and disjoint groups (some entries ungrouped)."""
    key, n, tie = draw(_KEY_N_ST)
    case = draw(scalar_cases(key))
    y = [case.y] + vectors(draw, max(abs(case.y), 1e-3), n - 1, case.dtype, tie)
    return case, y, draw(_GROUPS_ST[n])
