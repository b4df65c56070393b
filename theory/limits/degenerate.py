r"""The l0 fixed points with zero slope: a continuum off the support of :math:`w^*`.

Found by simulation (statement ``rvsm.l0_no_off_support_limit``), derived here
(``proofs_notes/limits.md``, "Limits off the support").  Under l0 a kept coordinate has
:math:`P'(\bar u_i) = 0`, so for :math:`w^*_i = 0` the fixed-point equation reads

* ReLU RVSM: :math:`\bar A\,\bar w_i = \bar B w^*_i = 0`;
* normalised RVSCGD: :math:`\alpha\,\bar w_i = c\,\hat w^*_i = 0`.

A kept zero of :math:`w^*` therefore forces :math:`\bar A = 0` (:math:`\alpha = 0`).  Then no
coordinate of :math:`\operatorname{supp} w^*` can be kept (it would need
:math:`0 = \bar B w^*_i`), the pruned ones are :math:`\bar w_i = \bar B w^*_i/\beta`
(:math:`c\hat w^*_i/\beta`), and the kept part :math:`v` (on zeros of :math:`w^*`) is free up to
its norm :math:`\rho`:

* ReLU: :math:`\bar A = A_0 - A_1(t)s/r = 0` and :math:`\cos t = \bar w\cdot w^*/(rs) =
  \bar B s/(\beta r)` give the scalar equation
  :math:`h(t) = \beta A_1(t)\cos t - A_0 B(t) = 0` on :math:`(0, \pi/2)`, then
  :math:`r = A_1(t)s/A_0` and :math:`\rho = r\sin t`;
* binary: :math:`|\bar w| = 1` gives :math:`\rho = \sqrt{1 - c^2/\beta^2}` (needs :math:`c < \beta`).

The pattern is self-consistent iff every pruned :math:`|\bar w_i| \le z = \sqrt{2\lambda/\beta}`
and every kept :math:`|v_j| > z`; a kept set of size :math:`m` fits on the sphere iff
:math:`\rho^2 > m z^2`.  For :math:`m = 1` the points are isolated (:math:`v_j = \pm\rho`); for
:math:`m \ge 2` they form a continuum, which no list of points can hold, so the calculator
reports the family itself.  Its stability is not computed (it is neutral along the sphere);
simulations from random starts converge to it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from theory.geometry import norm
from theory.limits import _relu as R
from theory.limits._common import relu_coeff_kernels
from theory.limits._types import FixedPointSet

__all__ = ["ZeroSlopeFamily", "zero_slope_families", "complete_set"]


@dataclass(frozen=True)
class ZeroSlopeFamily:
    r"""The fixed points with :math:`\bar A = 0` (ReLU) or :math:`\alpha = 0` (binary) of l0.

    ``w_base``: :math:`\bar w` on :math:`\operatorname{supp} w^*` (pruned, so :math:`\bar u` is 0
    there), 0 elsewhere; ``zeros``: indices with :math:`w^*_i = 0`; ``radius``: :math:`\rho`, the
    norm of the kept part; ``max_kept``: the largest :math:`m` with :math:`\rho^2 > m z^2`;
    ``zero``: the l0 threshold :math:`z`; ``angle``, ``norm``: of :math:`\bar w` (the same for
    every member); ``coeffs``: ``A``, ``B`` (ReLU) or ``alpha``, ``c`` (binary).
    """

    model: str
    w_base: tuple[float, ...]
    zeros: tuple[int, ...]
    radius: float
    max_kept: int
    zero: float
    angle: float
    norm: float
    coeffs: dict[str, float]

    def contains(self, u_bar: Any, rtol: float = 1e-7) -> bool:
        r"""Whether ``u_bar`` is a member: zero on :math:`\operatorname{supp} w^*`, kept part on
        zeros of :math:`w^*` of norm ``radius`` (relative ``rtol``), each kept entry above
        ``zero`` and between 1 and ``max_kept`` of them."""
        u = np.asarray(u_bar, dtype=float)
        on_zeros = np.zeros(u.size, dtype=bool)
        on_zeros[list(self.zeros)] = True
        kept = u != 0
        m = int(np.count_nonzero(kept))
        if np.any(kept & ~on_zeros) or not 1 <= m <= self.max_kept:
            return False
        if np.any(np.abs(u[kept]) <= self.zero):
            return False
        return abs(float(np.linalg.norm(u)) - self.radius) <= rtol * self.radius

    def describe(self) -> str:
        kind = "isolated points" if self.max_kept == 1 else \
            f"a continuum (up to {self.max_kept} kept coordinates on a sphere)"
        return (f"{self.model} l0 zero-slope family: supp(w*) pruned, kept part on the zeros "
                f"{list(self.zeros)} of w* with norm {self.radius:.6g}: {kind}")


def _relu_angles(k: int, beta: float) -> list[float]:
    """Roots of h(t) = beta A1(t) cos t - A0 B(t) on (0, pi/2): scan, then bisection."""
    kern = relu_coeff_kernels()
    a0 = float(kern["A0"](np.float64(k)))

    def h(t: Any) -> Any:
        t = np.asarray(t, dtype=np.float64)
        return beta * kern["A1"](np.float64(k), t) * np.cos(t) - a0 * kern["B"](np.float64(k), t)

    ts = np.linspace(0.0, math.pi / 2, 2049)[1:-1]
    hs = h(ts)
    roots = []
    for i in np.flatnonzero(np.sign(hs[:-1]) * np.sign(hs[1:]) < 0):
        t = R._illinois(lambda x: float(h(x)), float(ts[i]), float(ts[i + 1]), float(hs[i]),
                        float(hs[i + 1]), 1e-15)
        if t is not None:
            roots.append(t)
    return roots


def zero_slope_families(model: str, w_star: Any, k: int, lam: float, beta: float,
                        c: float | None = None) -> list[ZeroSlopeFamily]:
    """The self-consistent zero-slope families of an l0 instance (float64); empty when
    :math:`w^*` has no zero entry.  ``c``: the binary coarse constant (required for binary)."""
    w = np.asarray(w_star, dtype=float)
    zeros = tuple(int(i) for i in np.flatnonzero(w == 0))
    if not zeros or not np.any(w):
        return []
    z = math.sqrt(2 * lam / beta)
    s = float(norm(w))  # overflow/underflow-safe
    out = []
    if model == "binary":
        if c is None:
            raise ValueError("the binary model needs the coarse constant c")
        if not c < beta:
            return []
        cands = [(c / beta * w / s, math.sqrt(1 - (c / beta) ** 2), {"alpha": 0.0, "c": c})]
    else:
        kern = relu_coeff_kernels()
        a0 = float(kern["A0"](np.float64(k)))
        cands = []
        for t in _relu_angles(k, beta):
            b = float(kern["B"](np.float64(k), np.float64(t)))
            r = float(kern["A1"](np.float64(k), np.float64(t))) * s / a0
            cands.append((b * w / beta, r * math.sin(t), {"A": 0.0, "B": b}))
    for base, rho, coeffs in cands:
        if np.max(np.abs(base)) > z or not rho > z:
            continue
        max_kept = min(len(zeros), int(math.ceil(rho * rho / (z * z))) - 1) if z > 0 \
            else len(zeros)
        norm_ = math.hypot(float(np.linalg.norm(base)), rho)
        ang = math.acos(min(1.0, float(np.dot(base, w)) / (norm_ * s)))
        out.append(ZeroSlopeFamily(model, tuple(float(x) for x in base), zeros, rho,
                                   max(max_kept, 1), z, ang, norm_, coeffs))
    return out


def complete_set(fs: FixedPointSet, model: str, w_star: Any, k: int, penalty: str, lam: Any,
                 beta: Any, c: float | None = None) -> FixedPointSet:
    r"""What the branch search cannot list, added to its result (both models):

    * the reflections :math:`\bar w_j \mapsto -\bar w_j` for :math:`w^*_j = 0`: the loss
      depends on :math:`w` through :math:`|w|` and :math:`w\cdot w^*`, the penalties are even,
      so a reflection maps fixed points to fixed points with the same angle, norm,
      :math:`L_\beta`, residual and spectrum; the search fixes one sign for a kept zero of
      :math:`w^*`;
    * for l0, the zero-slope families (:func:`zero_slope_families`, float64) in ``families``.

    ``unique`` becomes False when anything is added; ``attracting_count`` counts the reflections.
    """
    zeros = [j for j, x in enumerate(w_star) if float(x) == 0]
    seen = {tuple(float(x) for x in fp.w_bar) for fp in fs}
    extra = []
    for fp in fs:
        kept = [j for j in zeros if float(fp.w_bar[j]) != 0]
        for signs in itertools.product((1, -1), repeat=len(kept)):
            w_bar, u_bar = list(fp.w_bar), list(fp.u_bar)
            for j, sg in zip(kept, signs):
                if sg < 0:
                    w_bar[j], u_bar[j] = -w_bar[j], -u_bar[j]
            key = tuple(float(x) for x in w_bar)
            if key not in seen:
                seen.add(key)
                extra.append(dataclasses.replace(fp, w_bar=tuple(w_bar), u_bar=tuple(u_bar)))
    fams = zero_slope_families(model, np.array([float(x) for x in w_star]), k, float(lam),
                               float(beta), c=c) if penalty == "l0" else []
    if not extra and not fams:
        return fs
    points = fs.fixed_points + tuple(extra)
    att = None if fs.attracting_count is None else sum(1 for f in points if f.attracting)
    msg = fs.message
    if fams:
        note = "; ".join(f.describe() for f in fams)
        msg = f"{msg}; {note}" if msg else note
    return dataclasses.replace(fs, fixed_points=points, unique=False, attracting_count=att,
                               message=msg, families=tuple(fams))
