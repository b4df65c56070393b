r"""Row-wise proximal maps with a per-run step :math:`\tau_b` (the batch's ``lam/beta`` etc.).

:meth:`theory.penalties.Penalty.prox` takes one scalar :math:`\tau`.  A batch whose runs
have different :math:`\tau_b` is handled, without re-implementing any prox, in one of three
ways chosen once at construction (never per step, never on tensor values):

* ``scalar``: every :math:`\tau_b` equal, one call;
* ``scaled``: penalties that are positively homogeneous of degree :math:`p`
  (:math:`P(cx) = c^p P(x)`, here l1 with :math:`p = 1` and l0 with :math:`p = 0`) use
  :math:`\operatorname{prox}_{\tau P}(y) = c\,\operatorname{prox}_{P}(y/c)` with
  :math:`c = \tau^{1/(2-p)}` (proof in ``proofs_notes/simulator.md``), one call per step;
  rows with :math:`\tau_b = 0` return ``y``;
* ``grouped``: otherwise one call per distinct value of :math:`\tau_b`, on that value's
  rows (index tensors built once; no host synchronisation per step).

The ``scaled`` form agrees with the direct call up to rounding (a few ulps of ``y``); the
only place where rounding can change the result is a tie of :math:`|y|` with a jump point
(l0: :math:`|y| = \sqrt{2\tau}`), where either minimiser is correct.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from theory.penalties import Penalty

__all__ = ["BatchedProx", "HOMOGENEITY", "penalty_sum"]

HOMOGENEITY: dict[str, float] = {"l1": 1.0, "l0": 0.0}
"""Degree :math:`p` of the positively homogeneous penalties (scaled path)."""


class BatchedProx:
    r"""``y -> prox_{tau_b P}(y_b)`` for ``y`` of shape ``(B, d)``; ``tau`` of shape ``(B,)``."""

    def __init__(self, penalty: Penalty, tau: Any, *, device: torch.device,
                 dtype: torch.dtype) -> None:
        tau_np = np.asarray(tau, dtype=np.float64).reshape(-1)
        if tau_np.size == 0 or not np.all(np.isfinite(tau_np)) or np.any(tau_np < 0):
            raise ValueError("the prox step (lam/beta, or eta*lam) must be finite and >= 0")
        self.penalty = penalty
        self.size = tau_np.size
        uniq = np.unique(tau_np)
        if uniq.size == 1:
            self.mode = "scalar"
            self._tau = float(uniq[0])
        elif penalty.name in HOMOGENEITY:
            self.mode = "scaled"
            p = HOMOGENEITY[penalty.name]
            scale = np.where(tau_np > 0, tau_np, 1.0) ** (1.0 / (2.0 - p))
            self._scale = torch.as_tensor(scale, dtype=dtype, device=device)[:, None]
            self._keep = torch.as_tensor(tau_np == 0, device=device)[:, None]
            self._any_zero = bool(np.any(tau_np == 0))
        else:
            self.mode = "grouped"
            self._groups = [
                (torch.as_tensor(np.flatnonzero(tau_np == v), device=device), float(v))
                for v in uniq
            ]

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        if self.mode == "scalar":
            return self.penalty.prox(y, self._tau)
        if self.mode == "scaled":
            out = self._scale * self.penalty.prox(y / self._scale, 1.0)
            return torch.where(self._keep, y, out) if self._any_zero else out
        out = torch.empty_like(y)
        for idx, tau in self._groups:
            out.index_copy_(0, idx, self.penalty.prox(y.index_select(0, idx), tau))
        return out


def penalty_sum(penalty: Penalty, u: torch.Tensor) -> torch.Tensor:
    """:math:`P(u)` summed over the last axis, shape ``(B,)`` (``l1-l2`` is already a row value)."""
    val = penalty.value(u)
    return val if val.ndim == u.ndim - 1 else val.sum(-1)
