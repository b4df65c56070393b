r"""Error bounds of the limits, evaluated per instance (``proofs_notes/limits.md``, step 6).

Both models: a sign-consistent fixed point has :math:`\bar w - \bar u` supported on
:math:`\operatorname{supp} w^*` (size :math:`s_0`) with entries at most
:math:`\delta_P = \max_x |x - \operatorname{prox}(x)|` (l1: :math:`\tau`; l0: :math:`\sqrt{2\tau}`;
TL1: :math:`\tau(a+1)/a`, :math:`\tau = \lambda/\beta`), so :math:`|\bar w - \bar u| \le
\sqrt{s_0}\,\delta_P`.

**Binary (theory.md section 3, re-derived):** :math:`(\alpha+\beta)\bar w = c\hat w^* + \beta\bar u`,
:math:`|\bar w| = 1`.  With :math:`R = \beta\sqrt{s_0}\delta_P/c < 1`:
:math:`c(1-R) \le \alpha \le c`, :math:`|\bar w - \hat w^*| \le \sqrt{2 - 2\sqrt{1-R^2}} \le \sqrt2 R`,
:math:`|\bar u - \hat w^*| \le |\bar w - \hat w^*| + \sqrt{s_0}\delta_P`.

**ReLU RVSM (derived here):** :math:`A\bar w - Bw^* = -\beta(\bar w - \bar u)`, so with
:math:`\varepsilon = \beta\sqrt{s_0}\delta_P`:

1. the distance from :math:`Bw^*` to the line :math:`\mathbb R\bar w` is
   :math:`B(\theta)s\sin\theta \le \varepsilon`; on :math:`[0, \pi/2]` (sign-consistent points have
   :math:`\theta \le \pi/2`) and if :math:`\varepsilon < s/(2k) = sB(\pi/2)`, this forces
   :math:`\theta \le \theta_1`, the smallest root of :math:`sB(\theta)\sin\theta = \varepsilon`
   (else only :math:`\theta \le \pi/2`);
2. if :math:`\bar A \ge 0`: :math:`|\bar A r - Bs| \le \varepsilon` and
   :math:`\bar A r = A_0 r - A_1(\theta)s` give :math:`|A_0 r - (A_1 + B)(\theta)s| \le \varepsilon`;
   :math:`D(\theta) = A_1 + B - A_0 = (\sin\theta - \theta)/(\pi k) \le 0` is decreasing, so
   :math:`r \in [s + sD(\theta_1)/A_0 - \varepsilon/A_0,\ s + \varepsilon/A_0]`;
3. :math:`|\bar w - w^*|^2 = (r - s)^2 + 4rs\sin^2(\theta/2)`, bounded by the extremes of 1-2.

To first order :math:`|\bar w - w^*| \lesssim \varepsilon\sqrt{1/A_0^2 + k^2}`.  Fixed points with
:math:`\bar A < 0` have :math:`r < A_1 s/A_0 < s` and are not covered (``holds = False``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import sympy as sp

from theory import relu
from theory.backends import Compiled
from theory.limits._common import relu_coeff_kernels
from theory.limits._types import Bound

__all__ = ["relu_bound", "binary_bound", "relu_bound_gap_expr", "relu_bound_first_order"]


@functools.cache
def relu_bound_gap_expr() -> sp.Expr:
    r""":math:`D(\theta) = A_1(\theta) + B(\theta) - A_0`, derived (= :math:`(\sin\theta-\theta)/(\pi k)`)."""
    a0, a1 = relu.grad_split_expr()
    _, b = relu.grad_coeffs_expr()
    return sp.simplify(a1 + b - a0)


@functools.cache
def _gap() -> Compiled:
    return Compiled((relu.k, relu.t), relu_bound_gap_expr())


def relu_bound_first_order(eps: float, k: int) -> float:
    r""":math:`\varepsilon\sqrt{1/A_0^2 + k^2}`, the small-:math:`\varepsilon` form of the bound."""
    a0 = float(relu_coeff_kernels()["A0"](np.float64(k)))
    return eps * math.sqrt(1 / a0**2 + k**2)


def _theta1(s: float, k: int, eps: float) -> float:
    """Smallest root of s B(t) sin t = eps on [0, pi/2]; pi/2 if eps >= s B(pi/2) sin(pi/2)."""
    kern = relu_coeff_kernels()

    def h(t: float) -> float:
        return s * float(kern["B"](np.float64(k), np.float64(t))) * math.sin(t)

    if eps >= h(math.pi / 2):
        return math.pi / 2
    # h increases on [0, t_m] (t_m: tan t = pi - t) and h(t_m) >= h(pi/2) > eps
    lo, hi = 0.0, math.pi / 2
    grid = np.linspace(0, math.pi / 2, 257)
    vals = np.array([h(float(g)) for g in grid])
    j = int(np.argmax(vals >= eps))
    lo, hi = float(grid[j - 1]), float(grid[j])
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if h(mid) >= eps:
            hi = mid
        else:
            lo = mid
    return hi


def relu_bound(s: float, s0: int, k: int, beta: float, delta: float, a_bar: float,
               w_dist: Any, u_dist: Any, good: bool = True) -> Bound:
    """The derived ReLU bound (module docstring) for one fixed point; float64."""
    kern = relu_coeff_kernels()
    a0 = float(kern["A0"](np.float64(k)))
    eps = beta * math.sqrt(s0) * delta
    th1 = _theta1(s, k, eps)
    extra = {"eps": eps, "theta_bound": th1, "A0": a0,
             "first_order": relu_bound_first_order(eps, k)}
    if a_bar < 0 or not good:
        extra["note"] = ("outside the bound's hypotheses (sign-consistent, A_bar >= 0); "
                         "A_bar < 0 implies |w_bar| < |w*|")
        return Bound("derived (ReLU, limits.md step 6)", False, w_dist, None, u_dist, None, extra)
    gap = float(_gap()(np.float64(k), np.float64(th1)))
    r_up = s + eps / a0
    r_dn = s + s * gap / a0 - eps / a0
    dr = max(s - r_dn, r_up - s, 0.0)
    wb = math.sqrt(dr * dr + 4 * r_up * s * math.sin(th1 / 2) ** 2)
    extra.update({"r_range": (max(r_dn, 0.0), r_up)})
    return Bound("derived (ReLU, limits.md step 6)", True, w_dist, wb, u_dist,
                 wb + math.sqrt(s0) * delta, extra)


def binary_bound(s0: int, c: float, beta: float, delta: float, alpha: float,
                 w_dist: Any, u_dist: Any) -> Bound:
    """theory.md section 3's bound (re-derived in limits.md step 6) for one fixed point."""
    rr = beta * math.sqrt(s0) * delta / c
    extra: dict[str, Any] = {"R": rr, "alpha_range": (c * (1 - rr), c) if rr < 1 else None,
                             "alpha_in_range": bool(rr < 1 and c * (1 - rr) * (1 - 1e-12) <= alpha
                                                    <= c * (1 + 1e-12))}
    if rr >= 1:
        extra["note"] = "R >= 1: the bound does not apply"
        return Bound("theory.md section 3", False, w_dist, None, u_dist, None, extra)
    # 2 - 2 sqrt(1 - R^2) = 2 R^2 / (1 + sqrt(1 - R^2)): cancellation-free form
    wb = math.sqrt(2 * rr * rr / (1 + math.sqrt(1 - rr * rr)))
    extra["sqrt2_R"] = math.sqrt(2) * rr
    return Bound("theory.md section 3", True, w_dist, wb, u_dist, wb + math.sqrt(s0) * delta, extra)
