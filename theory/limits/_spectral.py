r"""Extreme eigenvalues of :math:`M = \operatorname{diag}(\delta) + \sum_j c_j u_j u_j^\top`
(at most two rank-one terms) and of the compression of :math:`\operatorname{diag}(\delta)` to
:math:`w^\perp`, in :math:`O(d)` per probe, without forming a :math:`d\times d` matrix.

Counting (Haynsworth inertia additivity, applied to the bordered matrix
:math:`\begin{pmatrix}D - \mu & U\\ U^\top & -C^{-1}\end{pmatrix}`):

.. math:: \operatorname{neg}(M - \mu) = \#\{\delta_i < \mu\} + \operatorname{neg}(S(\mu)) -
          \#\{c_j > 0\},\qquad S(\mu) = -C^{-1} - U^\top (D - \mu)^{-1} U

for :math:`\mu \notin \{\delta_i\}` (zero :math:`c_j` are dropped).  For the compression to
:math:`w^\perp` (:math:`|w| = 1`), let :math:`c \to \infty` in :math:`D + c\,ww^\top`: the count of
its :math:`d - 1` eigenvalues below :math:`\mu` is
:math:`\#\{\delta_i < \mu\} - 1 + [\sum_i w_i^2/(\delta_i - \mu) > 0]`.
Bisection on the count gives the smallest and largest eigenvalue to a relative ``1e-14``
(used above :data:`DENSE_MAX`; below it the dense matrix goes to ``numpy.linalg.eigvalsh``).
Checked against ``numpy.linalg.eigvalsh`` in ``tests/test_limits_core.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["extreme_eigenvalues", "extreme_eigenvalues_compressed", "DENSE_MAX"]

DENSE_MAX = 128
"""Up to this dimension the matrix is formed and ``eigvalsh`` used (faster than bisection)."""


def _nudge(mu: float, delta: np.ndarray) -> float:
    """Move a probe at least 1e-9 (relative) away from every delta_i (see GROUPS_MAX)."""
    scale = max(1.0, float(np.max(np.abs(delta))), abs(mu))
    gap = 1e-9 * scale
    for _ in range(64):
        near = np.abs(delta - mu) < gap
        if not np.any(near):
            return mu
        mu = float(np.max(delta[near])) + gap
    return mu


def _count_below(mu: float, delta: np.ndarray, us: Sequence[np.ndarray], cs: Sequence[float]) -> int:
    mu = _nudge(mu, delta)
    inv = 1.0 / (delta - mu)
    q = len(us)
    s = np.empty((q, q))
    for i in range(q):
        for j in range(q):
            s[i, j] = -float(np.sum(us[i] * inv * us[j]))
        s[i, i] -= 1.0 / cs[i]
    neg_s = int(np.sum(np.linalg.eigvalsh(s) < 0)) if q else 0
    return int(np.sum(delta < mu)) + neg_s - sum(1 for c in cs if c > 0)


def _bisect(count, lo: float, hi: float, target: int) -> float:
    """Smallest mu in [lo, hi] with count(mu) >= target (count nondecreasing)."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi) or hi - lo <= 1e-15 * max(abs(lo), abs(hi), 1e-300):
            break
        if count(mid) >= target:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def extreme_eigenvalues(delta: np.ndarray, us: Sequence[np.ndarray],
                        cs: Sequence[float]) -> tuple[float, float]:
    """(min, max) eigenvalue of diag(delta) + sum_j cs[j] us[j] us[j]^T (symmetric)."""
    delta = np.asarray(delta, dtype=np.float64)
    pairs = [(np.asarray(u, dtype=np.float64), float(c)) for u, c in zip(us, cs) if c != 0
             and np.any(u != 0)]
    us_ = [p[0] for p in pairs]
    cs_ = [p[1] for p in pairs]
    d = delta.size
    if d <= DENSE_MAX:
        mat = np.diag(delta)
        for u, c in pairs:
            mat += c * np.outer(u, u)
        ev = np.linalg.eigvalsh(mat)
        return float(ev[0]), float(ev[-1])
    groups = _groups(delta)
    if groups is not None:
        vals, inv = groups
        cols, extra = [], []
        for g, v in enumerate(vals):
            sel = inv == g
            block = [np.where(sel, u, 0.0) for u in us_]
            rank = np.linalg.matrix_rank(np.stack([b[sel] for b in block], 1)) if block else 0
            if sel.sum() > rank:
                extra.append(v)   # eigenvalue v on the group's part of V-perp
            cols += [b for b in block if np.any(b)]
        ev_small: list[float] = []
        if cols:
            q, sv, _ = np.linalg.svd(np.stack(cols, 1), full_matrices=False)
            q = q[:, sv > 1e-13 * max(1.0, float(sv[0]))]
            h = q.T @ (delta[:, None] * q)
            for u, c in pairs:
                z = q.T @ u
                h += c * np.outer(z, z)
            ev_small = list(np.linalg.eigvalsh((h + h.T) / 2))
        allv = ev_small + extra
        return float(min(allv)), float(max(allv))
    spread = sum(abs(c) * float(u @ u) for u, c in pairs)
    lo = float(delta.min()) - spread - 1e-300
    hi = float(delta.max()) + spread + 1e-300
    pad = 1e-12 * max(1.0, abs(lo), abs(hi))
    lo, hi = lo - pad, hi + pad

    def count(mu: float) -> int:
        return _count_below(mu, delta, us_, cs_)

    mn = _bisect(count, lo, hi, 1)
    mx = _bisect(count, lo, hi, d)
    return mn, mx


GROUPS_MAX = 256
"""Above DENSE_MAX, up to this many distinct diagonal values use the exact invariant-subspace
reduction; beyond, Haynsworth bisection (probes kept 1e-9 away from every delta_i, where the
2 x 2 Schur complement loses its small eigenvalue to cancellation)."""


def _groups(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Distinct values of delta (equal to a relative 1e-13) and the group of each entry."""
    scale = max(1.0, float(np.max(np.abs(delta))))
    key = np.round(delta / (scale * 1e-13))
    vals_key, inv = np.unique(key, return_inverse=True)
    if vals_key.size > GROUPS_MAX:
        return None
    vals = np.array([float(np.mean(delta[inv == g])) for g in range(vals_key.size)])
    return vals, inv


def extreme_eigenvalues_compressed(delta: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(min, max) eigenvalue of diag(delta) compressed to the orthogonal complement of ``w``.

    Above DENSE_MAX with few distinct values: V = span{P_g w} (disjoint supports, so the
    normalised P_g w are orthonormal and D q_g = v_g q_g); on V-perp the eigenvalues are the
    v_g, on V cap w-perp those of diag(v_g) compressed to omega-perp, omega_g = |P_g w|."""
    delta = np.asarray(delta, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    w = w / np.linalg.norm(w)
    d = delta.size
    if d < 2:
        raise ValueError("the compression to w-perp needs d >= 2")
    if d <= DENSE_MAX:
        q = np.linalg.svd(np.eye(d) - np.outer(w, w))[0][:, :d - 1]
        ev = np.linalg.eigvalsh(q.T @ (delta[:, None] * q))
        return float(ev[0]), float(ev[-1])
    groups = _groups(delta)
    if groups is not None:
        vals, inv = groups
        om = np.array([float(np.linalg.norm(w[inv == g])) for g in range(vals.size)])
        extra = [v for g, v in enumerate(vals) if np.sum(inv == g) > (1 if om[g] > 0 else 0)]
        nz = om > 0
        small: list[float] = []
        if nz.sum() >= 2:
            omn = om[nz] / np.linalg.norm(om[nz])
            m_ = int(nz.sum())
            q = np.linalg.svd(np.eye(m_) - np.outer(omn, omn))[0][:, :m_ - 1]
            small = list(np.linalg.eigvalsh(q.T @ (vals[nz][:, None] * q)))
        allv = small + extra
        return float(min(allv)), float(max(allv))
    lo = float(delta.min()) - 1e-12 * max(1.0, abs(float(delta.min())))
    hi = float(delta.max()) + 1e-12 * max(1.0, abs(float(delta.max())))
    w2 = w * w

    def count(mu: float) -> int:
        mu = _nudge(mu, delta)
        f = float(np.sum(w2 / (delta - mu)))
        return int(np.sum(delta < mu)) - 1 + (1 if f > 0 else 0)

    return _bisect(count, lo, hi, 1), _bisect(count, lo, hi, d - 1)
