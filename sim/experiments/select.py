r"""Choosing :math:`\lambda` for a prescribed sparsity of :math:`u` (in the style of Shen et al., P6).

The characterisation (the analogue of P6's for RVSM): at the end of a training, a unit
(a weight, or a group of weights for the channel penalty) of :math:`u = \operatorname{prox}_{(\lambda/\beta)P}(w)`
is zero iff its magnitude :math:`m` is at most the zero-threshold of the prox,
:math:`m \le z(c\,\lambda/\beta)` (:meth:`theory.penalties.Penalty.threshold`; ``zero``;
:math:`c = 1` for a weight, :math:`c = \sqrt{|g|}` for a group, :math:`m = \lVert w_g\rVert`).
So a unit is pruned iff :math:`\lambda \ge \lambda_j = \beta\, z^{-1}(m_j)/c_j`, and given
:math:`w` the :math:`\lambda` that would give exactly the target count of zeros lies between
two consecutive sorted :math:`\lambda_j`.

**Rule** (:func:`select_lambda`; ``trial(lam) -> Trial`` is one training, from scratch with a
fixed seed, or any map ``lam -> (sparsity of u, w)``):

1. Train at :math:`\lambda_0 > 0` (the caller's scale; the experiment uses the middle of its
   sweep grid).
2. Stop if :math:`|s_k - s^*| \le` ``tol``.  Otherwise update the bracket, assuming (as P6 and
   the exact Gaussian map, ``theory.limits.sparsity``) that the sparsity increases with
   :math:`\lambda`: :math:`s_k < s^*` raises the lower end to :math:`\lambda_k`, else the upper
   end drops to :math:`\lambda_k`.
3. *Proposal* (the characterisation applied to the current :math:`w`, P6's step): sort the
   :math:`\lambda_j`, take the smallest count of pruned units (weighted by their sizes) that
   reaches the target, and propose the geometric midpoint of the two :math:`\lambda_j` around
   that count (so that the proposal has a margin on both sides).  It assumes that :math:`w`
   does not move when :math:`\lambda` changes, which holds only locally: it is used only if
   the trial is not degenerate (:math:`0 < s_k < 1`), the proposal lies strictly inside the
   bracket, within a factor :data:`LOCAL` = 4 of :math:`\lambda_k`, was not tried before,
   and the previous characterisation step (if the previous step was one) at least halved the
   distance to the target (otherwise it overshoots back and forth: seen on real data).
4. *Safeguard* otherwise: with both bracket ends known, the secant (regula falsi) point of
   :math:`s` against :math:`\log\lambda` between them, kept within the middle 60% of the
   bracket in :math:`\log\lambda` (so the bracket shrinks by at least 20% per trial); with one
   end known, a factor of 4 away from it.
5. Repeat from 2, at most ``max_trials`` trainings.

On the Gaussian model (population RVSM) the characterisation is exact at the limit and the
rule is checked against the fixed-point calculator (:mod:`sim.experiments.gaussian`).  On a
network trained by SGD the weights move with :math:`\lambda` (pilot: from the dense network the
proposal for 50% overshoots to a collapsed network), hence the locality condition.

Each trial is a full training, so the answer is reproducible: training once more at the
returned :math:`\lambda` with the same seed gives the same sparsity.  If the sparsity jumps
across the tolerance band (a discontinuity in :math:`\lambda`, e.g. a layer collapsing at
once), no :math:`\lambda` may exist; the rule then returns the trial closest to the target
with ``reached=False``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from theory.penalties import Penalty

__all__ = ["Trial", "Selection", "select_lambda", "zero_threshold_inverse", "proposal"]


@dataclass
class Trial:
    """One training at ``lam``: the sparsity of ``u``; ``magnitudes``, ``scales`` (``c``),
    ``sizes`` of the units of ``w`` (see the module docstring); anything else in ``extra``."""

    lam: float
    sparsity: float
    magnitudes: np.ndarray = field(repr=False)
    scales: np.ndarray | None = field(default=None, repr=False)
    sizes: np.ndarray | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Selection:
    """Outcome of :func:`select_lambda`: the chosen ``lam`` and its trial, all trials."""

    target: float
    tol: float
    lam: float
    sparsity: float
    reached: bool
    trials: list[Trial]
    steps: list[str]

    def record(self) -> dict[str, Any]:
        return {"target": self.target, "tol": self.tol, "lam": self.lam,
                "sparsity": self.sparsity, "reached": self.reached, "trainings": len(self.trials),
                "path": [{"lam": t.lam, "sparsity": t.sparsity, "how": how,
                          **{k: v for k, v in t.extra.items() if np.isscalar(v)}}
                         for t, how in zip(self.trials, self.steps)]}


def zero_threshold_inverse(penalty: Penalty, t: float) -> float:
    r"""The step :math:`\tau \ge 0` with ``penalty.threshold(tau).zero == t`` (the zero-threshold
    is continuous and increasing in :math:`\tau` for l1, l0, TL1, lp, MCP, SCAD): closed form
    for l1 (:math:`\tau = t`) and l0 (:math:`t^2/2`), else bisection on :math:`\log\tau` to a
    relative 1e-12."""
    t = float(t)
    if not (math.isfinite(t) and t >= 0):
        raise ValueError(f"threshold must be finite and >= 0, got {t!r}")
    if t == 0:
        return 0.0
    if penalty.name == "l1":
        return t
    if penalty.name == "l0":
        return t * t / 2

    def z(tau: float) -> float:
        return float(penalty.threshold(tau).zero)

    lo, hi = t, t
    while z(lo) > t:
        lo /= 4
    while z(hi) < t:
        hi *= 4
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if hi - lo <= 1e-12 * hi or mid in (lo, hi):
            break
        if z(mid) < t:
            lo = mid
        else:
            hi = mid
    return hi


def proposal(penalty: Penalty, beta: float, trial: Trial, target: float) -> float | None:
    """Step 3 of the rule: the :math:`\\lambda` the characterisation gives for ``target`` at
    the trial's ``w`` (``None`` if the target needs no pruned unit, or is unreachable)."""
    m = np.asarray(trial.magnitudes, dtype=np.float64).reshape(-1)
    if m.size == 0:
        return None
    c = np.ones_like(m) if trial.scales is None else np.asarray(trial.scales, np.float64)
    n = np.ones_like(m) if trial.sizes is None else np.asarray(trial.sizes, np.float64)
    if np.all(c == c[0]):
        # z^{-1} is increasing: the order of m is the order of lambda_j; invert two values only
        order = np.argsort(m, kind="stable")
        key = m[order]

        def lam_at(i: int) -> float:
            return beta * zero_threshold_inverse(penalty, key[i]) / c[0]
    else:
        lams = np.array([beta * zero_threshold_inverse(penalty, x) / y for x, y in zip(m, c)])
        order = np.argsort(lams, kind="stable")

        def lam_at(i: int) -> float:
            return float(lams[order[i]])
    cum = np.cumsum(n[order]) / float(n.sum())
    j = int(np.searchsorted(cum, target - 1e-12))   # first count of pruned units >= target
    if target <= 0 or j >= m.size:
        return None
    lo = lam_at(j)
    hi = lam_at(j + 1) if j + 1 < m.size else 2 * lo
    if lo <= 0:
        return hi / 2 if hi > 0 else None
    return math.sqrt(lo * hi) if hi > lo else lo * (1 + 1e-9)


def select_lambda(trial: Callable[[float], Trial], target: float, *, penalty: Penalty,
                  beta: float, lam0: float, tol: float = 0.01, max_trials: int = 12,
                  progress: Callable[[str], None] | None = None) -> Selection:
    """The rule of the module docstring.  ``target`` and ``tol`` are fractions in [0, 1];
    ``lam0 > 0`` is the first lambda tried."""
    target, tol = float(target), float(tol)
    if not 0 <= target <= 1 or math.isnan(target):
        raise ValueError(f"target sparsity must be in [0, 1], got {target!r}")
    if not 0 <= tol < 1 or math.isnan(tol):
        raise ValueError(f"tol must be in [0, 1), got {tol!r}")
    if int(max_trials) != max_trials or max_trials < 1:
        raise ValueError(f"max_trials must be an integer >= 1, got {max_trials!r}")
    if not (math.isfinite(lam0) and lam0 > 0):
        raise ValueError(f"lam0 must be a finite number > 0, got {lam0!r}")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a finite number > 0, got {beta!r}")
    trials: list[Trial] = []
    steps: list[str] = []
    lo: Trial | None = None          # largest lam known to give a sparsity below the target
    hi: Trial | None = None          # smallest lam known to give a sparsity above it
    lam, how = float(lam0), "start"
    while True:
        tr = trial(lam)
        trials.append(tr)
        steps.append(how)
        if progress is not None:
            progress(f"trial {len(trials)}: lam={lam:.6g} sparsity={tr.sparsity:.4f} ({how})")
        if abs(tr.sparsity - target) <= tol or len(trials) >= max_trials:
            break
        if tr.sparsity < target:
            if lo is None or tr.lam > lo.lam:
                lo = tr
        elif hi is None or tr.lam < hi.lam:
            hi = tr
        stalled = (len(trials) >= 2 and steps[-1] == "characterisation"
                   and abs(tr.sparsity - target) > 0.5 * abs(trials[-2].sparsity - target))
        nxt, how = _next(penalty, beta, tr, target, lo, hi, trials, stalled)
        if nxt is None:
            break
        lam = nxt
    best = min(trials, key=lambda t: (abs(t.sparsity - target), t.lam))
    return Selection(target, tol, best.lam, best.sparsity, abs(best.sparsity - target) <= tol,
                     trials, steps)


LOCAL = 4.0
"""The characterisation's proposal is trusted within a factor ``LOCAL`` of the current lambda."""


def _next(penalty: Penalty, beta: float, tr: Trial, target: float, lo: Trial | None,
          hi: Trial | None, trials: list[Trial], stalled: bool) -> tuple[float | None, str]:
    lo_l = lo.lam if lo is not None else 0.0
    hi_l = hi.lam if hi is not None else math.inf
    if 0 < tr.sparsity < 1 and not stalled:
        p = proposal(penalty, beta, tr, target)
        if (p is not None and lo_l < p < hi_l and tr.lam / LOCAL <= p <= tr.lam * LOCAL
                and all(p != t.lam for t in trials)):
            return p, "characterisation"
    if lo is not None and hi is not None:
        la, lb = math.log(lo.lam), math.log(hi.lam)
        if lb - la < 1e-12:
            return None, "bracket exhausted"
        sa, sb = lo.sparsity, hi.sparsity
        frac = (target - sa) / (sb - sa) if sb > sa else 0.5
        frac = min(0.8, max(0.2, frac))
        return math.exp(la + frac * (lb - la)), "secant"
    if lo is not None:
        return lo.lam * LOCAL, "expand"
    assert hi is not None
    return hi.lam / LOCAL, "expand"
