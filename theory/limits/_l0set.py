r"""The whole solution set of ReLU RVSM with l0, parametrised by one scalar
(``proofs_notes/limits.md``, "The solution set of l0").

With l0 every coordinate's preimage is linear in :math:`|w^*_i|`: a kept (or, for
:math:`A < 0`, kept-against-its-sign) coordinate is :math:`\bar w_i = \sigma_i B m_i/A`, a pruned
one :math:`\sigma_i B m_i/(A + \beta)` (:math:`m_i = |w^*_i|`).  So the two consistency equations
see the kept set :math:`S` only through :math:`K = \sum_{i\in S} m_i^2` (with
:math:`P = |w^*|^2 - K`), and they are the equations of the 2-dimensional instance
:math:`w^*_{rep} = (\sqrt K, \sqrt P)`:

.. math:: t = \operatorname{atan2}\bigl(\sqrt{KP}\,|1/A - 1/(A+\beta)|,\ K/A + P/(A+\beta)\bigr),
          \qquad g(A; K) = B(t)\sqrt{K/A^2 + P/(A+\beta)^2}\,(A_0 - A) - A_1(t)\,s = 0

(the first is the angle of :math:`x(A)` to :math:`w^*`, the second :math:`|x| = r(A, t)`).  For
each :math:`K` the roots :math:`A \in (0, A_0)` (kept, the good family) and
:math:`A \in (-\beta, 0)` (kept against the sign) are found by a scan and bisection; as
:math:`K` varies they trace *curves*.  On a curve, :math:`S` is consistent iff every
:math:`i \in S` has :math:`m_i > lo(K) = |A| z/B` and every :math:`i \notin S` has
:math:`m_i \le hi(K) = (A + \beta) z/B` (:math:`z = \sqrt{2\lambda/\beta}`): the coordinates above
``hi`` are forced in, those at or below ``lo`` forced out, those between are free.  Between
two consecutive *breakpoints* (a threshold crossing some :math:`m_i`, a change of stability,
a fold of the curve) the classification is constant: a *region*.  Its fixed points are the
sets :math:`S = F \cup T`, :math:`T \subseteq M` (forced in :math:`F`, free :math:`M`) with
:math:`K(F) + \sum_T m_i^2` inside the region's :math:`K`-interval: their number is a count of
subsets by the sum of their weights (:func:`count_subsets`).

The spectrum of :math:`M` (limits.md step 5) depends on :math:`S` only through :math:`K`,
:math:`|S|` and :math:`n - |S|` (the diagonal takes two values, and :math:`\hat w`, :math:`\hat n`
lie in :math:`\operatorname{span}\{w^*_S, w^*_{S^c}\}`, an invariant subspace), so it is computed
exactly on a representative instance of dimension at most 4 (:func:`rep_stability`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from theory.limits._common import relu_coeff_kernels

N_K = 768          # nodes of the K grid (uniform in sqrt K)
N_A = 700          # nodes of the A scan per half of each side
MITM_MAX = 40      # exact subset counting by meeting in the middle up to this many weights
DP_MAX = 400       # rigorous bounds by a discretised count up to this many weights
DP_STATES = 1 << 17



def illinois(f: Any, lo: np.ndarray, hi: np.ndarray, flo: np.ndarray, fhi: np.ndarray,
             active: np.ndarray, close: Any, iters: int = 100) -> np.ndarray:
    """Vectorised Illinois regula falsi on the brackets ``[lo, hi]`` (modified in place) where
    ``active``: ``f(x, idx)`` evaluates the functions of brackets ``idx`` at ``x``; a bracket
    stops when ``close(lo, hi, x)``, at an exact zero, or where f is not finite.  The scalar
    iteration is :func:`theory.limits._relu._illinois`."""
    side = np.zeros(lo.shape, dtype=np.int8)
    x = 0.5 * (lo + hi)
    act = active.copy()
    for _ in range(iters):
        ia = np.flatnonzero(act)
        if ia.size == 0:
            break
        l_, h_, fl, fh = lo[ia], hi[ia], flo[ia], fhi[ia]
        with np.errstate(all="ignore"):
            xa = (l_ * fh - h_ * fl) / (fh - fl)
        bad = ~np.isfinite(xa) | (xa <= np.minimum(l_, h_)) | (xa >= np.maximum(l_, h_))
        xa = np.where(bad, 0.5 * (l_ + h_), xa)
        fx = f(xa, ia)
        x[ia] = xa
        fin = np.isfinite(fx)
        to_hi = fin & (np.sign(fx) == np.sign(fh))
        sd = side[ia]
        # Illinois: halve the value at the end that stays twice in a row
        fl = np.where(to_hi & (sd == 1), fl / 2, fl)
        fh = np.where(~to_hi & (sd == -1), fh / 2, fh)
        h_ = np.where(to_hi, xa, h_)
        fh = np.where(to_hi, fx, fh)
        l_ = np.where(to_hi | ~fin, l_, xa)
        fl = np.where(to_hi | ~fin, fl, fx)
        side[ia] = np.where(to_hi, 1, -1)
        lo[ia], hi[ia], flo[ia], fhi[ia] = l_, h_, fl, fh
        done = ~fin | (fx == 0) | close(l_, h_, xa)
        act[ia[done]] = False
    return x

class L0Curves:
    """The root curves :math:`A(K)` of one l0 instance (float64)."""

    def __init__(self, w_star: np.ndarray, k: int, lam: float, beta: float) -> None:
        kern = relu_coeff_kernels()
        self.k = int(k)
        self.kf = np.float64(k)
        self.kern = kern
        self.beta = float(beta)
        self.lam = float(lam)
        self.z = math.sqrt(2 * lam / beta)
        ws = np.asarray(w_star, dtype=np.float64)
        self.w_star = ws
        self.n = ws.size
        self.m_all = np.abs(ws)
        nz = np.flatnonzero(ws != 0)
        self.order = np.concatenate([nz[np.argsort(-self.m_all[nz], kind="stable")],
                                     np.flatnonzero(ws == 0)])
        self.m = self.m_all[self.order]            # decreasing, zeros last
        self.nnz = int(nz.size)
        self.w2 = self.m[:self.nnz] ** 2
        self.s2 = float(np.sum(self.w2))
        self.s = math.sqrt(self.s2)
        self.A0 = float(kern["A0"](self.kf))
        # the NumPy kernels themselves (the Compiled wrapper's dispatch costs more than the
        # arithmetic on the short arrays of the root solves)
        self._Bf = kern["B"]._get("numpy")
        self._A1f = kern["A1"]._get("numpy")
        self.curves: list[Curve] = []
        self._build()

    # ------------------------------------------------------------------ the equation
    def scalars(self, A: Any, K: Any) -> tuple[np.ndarray, ...]:
        """(g, t, B, r) at (A, K), broadcast."""
        A = np.asarray(A, dtype=np.float64)
        K = np.clip(np.asarray(K, dtype=np.float64), 0.0, self.s2)
        P = np.maximum(self.s2 - K, 0.0)
        with np.errstate(all="ignore"):
            ai, ao = 1.0 / A, 1.0 / (A + self.beta)
            n2 = K * ai * ai + P * ao * ao
            t = np.arctan2(np.sqrt(K * P) * np.abs(ai - ao), K * ai + P * ao)
            B = self._Bf(self.kf, t)
            a1 = self._A1f(self.kf, t)
            r = B * np.sqrt(n2)
            g = r * (self.A0 - A) - a1 * self.s
        return g, t, B, r

    def g(self, A: Any, K: Any) -> np.ndarray:
        return self.scalars(A, K)[0]

    def _a_nodes(self, side: int) -> np.ndarray:
        geo = np.geomspace(1e-13, 0.5, N_A)
        u = np.concatenate([geo, 1.0 - geo[::-1][1:]])
        return self.A0 * u if side > 0 else -self.beta * u[::-1]

    def roots_at(self, K: np.ndarray, side: int) -> list[np.ndarray]:
        """All roots A of g(.; K) on one side (ascending), for each K (scan + bisection)."""
        K = np.atleast_1d(np.asarray(K, dtype=np.float64))
        nodes = self._a_nodes(side)
        G = self.g(nodes[None, :], K[:, None])
        fin = np.isfinite(G)
        ch = fin[:, :-1] & fin[:, 1:] & (np.sign(G[:, :-1]) * np.sign(G[:, 1:]) < 0)
        ki, ai = np.nonzero(ch)
        lo, hi = nodes[ai], nodes[ai + 1]
        roots = self._bisect(lo, hi, K[ki])
        out: list[list[float]] = [[] for _ in range(K.size)]
        for q, kk in enumerate(ki.tolist()):
            out[kk].append(float(roots[q]))
        if side > 0:
            # A = A0 solves A = A0 - A1(t) s/r for every r where A1(t) = 0: k = 1 at t = 0
            # (x parallel to w*: K = 0 or K = |w*|^2), an end of the scan, not a sign change
            g0 = self.g(np.full(K.shape, self.A0), K)
            for kk in np.flatnonzero(np.abs(g0) <= 1e-13 * self.s).tolist():
                out[kk].append(self.A0)
        return [np.array(sorted(v)) for v in out]

    def _bisect(self, lo: np.ndarray, hi: np.ndarray, K: np.ndarray, iters: int = 100
                ) -> np.ndarray:
        """Vectorised Illinois regula falsi of g(.; K) on brackets [lo, hi] with a sign
        change, to a relative 4e-16."""
        lo, hi = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
        K = np.broadcast_to(np.asarray(K, dtype=np.float64), lo.shape)
        return illinois(lambda x, ia: self.g(x, K[ia]), lo, hi, self.g(lo, K), self.g(hi, K),
                        np.ones(lo.shape, dtype=bool),
                        lambda l_, h_, x: np.abs(h_ - l_) <= 4e-16 * np.maximum(np.abs(x), 1e-300),
                        iters)

    # ------------------------------------------------------------------------ curves
    def _build(self) -> None:
        if self.nnz == 0:
            return
        k_min = float(np.min(self.w2))
        q = np.linspace(math.sqrt(k_min), self.s, N_K)
        Kg = np.unique(np.concatenate([q * q, [k_min, self.s2]]))
        Kg = Kg[(Kg >= k_min) & (Kg <= self.s2)]
        for side in (1, -1):
            roots = self.roots_at(Kg, side)
            counts = np.array([r.size for r in roots])
            j = 0
            while j < Kg.size:
                c = counts[j]
                e = j
                while e + 1 < Kg.size and counts[e + 1] == c:
                    e += 1
                if c:
                    k_lo = Kg[j] if j == 0 else self._fold(Kg[j - 1], Kg[j], side, c)
                    k_hi = Kg[e] if e == Kg.size - 1 else self._fold(Kg[e], Kg[e + 1], side, c)
                    Kc = Kg[j:e + 1]
                    Ac = np.array([roots[q_] for q_ in range(j, e + 1)])
                    # the fold ends themselves, when the scan still sees c roots there
                    for kk, first in ((k_lo, True), (k_hi, False)):
                        if kk in (Kc[0], Kc[-1]):
                            continue
                        rs = self.roots_at(np.array([kk]), side)[0]
                        if rs.size == c:
                            Kc = np.concatenate([[kk], Kc] if first else [Kc, [kk]])
                            Ac = np.concatenate([rs[None, :], Ac] if first else [Ac, rs[None, :]])
                    for i in range(c):
                        self.curves.append(Curve(len(self.curves), side, i, c, k_lo, k_hi,
                                                 Kc.copy(), Ac[:, i].copy(), j > 0,
                                                 e < Kg.size - 1))
                j = e + 1

    def _fold(self, ka: float, kb: float, side: int, c: int) -> float:
        """The K between ka and kb where the number of roots stops being c (bisection);
        returns the end on the side of the c roots."""
        ca = self.roots_at(np.array([ka]), side)[0].size
        for _ in range(60):
            mid = 0.5 * (ka + kb)
            if self.roots_at(np.array([mid]), side)[0].size == ca:
                ka = mid
            else:
                kb = mid
            if kb - ka <= 1e-14 * max(self.s2, ka):
                break
        return ka if ca == c else kb

    def curve_root(self, cv: Curve, K: Any) -> np.ndarray:
        """A on curve ``cv`` at each K of its domain (vectorised: bracket from the grid
        roots around K, bisection; a full scan where the bracket fails)."""
        K = np.atleast_1d(np.asarray(K, dtype=np.float64))
        # a K within rounding of an end of the domain (a sum of the same weights in another
        # order) is at that end
        slack = 1e-12 * self.s2
        K = np.where((K < cv.k_lo) & (K >= cv.k_lo - slack), cv.k_lo, K)
        K = np.where((K > cv.k_hi) & (K <= cv.k_hi + slack), cv.k_hi, K)
        j = np.clip(np.searchsorted(cv.K, K) - 1, 0, max(cv.K.size - 2, 0))
        if cv.K.size == 1:
            a0 = a1 = np.full(K.shape, cv.A[0])
        else:
            a0, a1 = cv.A[j], cv.A[j + 1]
        lo_side, hi_side = (1e-300, self.A0) if cv.side > 0 else (-self.beta, -1e-300)
        w = np.abs(a1 - a0) + 1e-7 * np.maximum(np.abs(a0), 1e-3)
        lo = np.clip(np.minimum(a0, a1) - w, lo_side, hi_side)
        hi = np.clip(np.maximum(a0, a1) + w, lo_side, hi_side)
        glo, ghi = self.g(lo, K), self.g(hi, K)
        ok = np.isfinite(glo) & np.isfinite(ghi) & (np.sign(glo) * np.sign(ghi) < 0)
        out = np.full(K.shape, np.nan)
        if np.any(ok):
            out[ok] = self._bisect(lo[ok], hi[ok], K[ok])
        bad = np.flatnonzero(~ok & (K >= cv.k_lo) & (K <= cv.k_hi))
        if bad.size:  # next to a fold (both roots in the bracket): a full scan
            for q, rs in zip(bad.tolist(), self.roots_at(K[bad], cv.side)):
                if rs.size == cv.count:
                    out[q] = rs[cv.index]
        return out

    def state(self, cv: Curve, K: Any) -> dict[str, np.ndarray]:
        """A, t, B, r and the thresholds lo, hi on ``cv`` at K."""
        K = np.atleast_1d(np.asarray(K, dtype=np.float64))
        A = self.curve_root(cv, K)
        _, t, B, r = self.scalars(A, K)
        with np.errstate(all="ignore"):
            lo = np.abs(A) * self.z / B
            hi = (A + self.beta) * self.z / B
        return {"K": K, "A": A, "t": t, "B": B, "r": r, "lo": lo, "hi": hi}


@dataclass
class Curve:
    """One root curve: ``side`` +1 (A > 0) or -1 (A < 0); the ``index``-th of ``count``
    roots on that side for K in [k_lo, k_hi]; grid nodes ``K``, ``A``; ``fold_lo``/``fold_hi``:
    the curve ends at a fold (not at the end of the K range)."""

    id: int
    side: int
    index: int
    count: int
    k_lo: float
    k_hi: float
    K: np.ndarray
    A: np.ndarray
    fold_lo: bool
    fold_hi: bool


# ------------------------------------------------------------------------ counting

def count_subsets(weights: np.ndarray, lo: float, hi: float, tol: float) -> tuple[int, int]:
    r"""Bounds ``(low, high)`` on :math:`\#\{T : lo \le \sum_{i\in T} w_i < hi\}` over the
    subsets of ``weights`` (non-negative), exact (``low == high``) when no subset sum lies
    within ``tol`` of ``lo`` or ``hi`` (such a sum is a fixed point with a coordinate on its
    threshold to rounding accuracy: float64 cannot decide it).

    Trivial when the interval holds every sum or none; otherwise by meeting in the middle
    (all sums of each half, sorted) up to :data:`MITM_MAX` weights; up to :data:`DP_MAX`,
    rigorous bounds from a count over weights rounded down to a grid (each sum known to
    within ``n`` grid steps); beyond, ``(0, 2^n)``.  Counting subsets by their sum in an
    interval is #P-hard in general (a counting knapsack problem), so no exact method is
    tried beyond these sizes."""
    w = np.asarray(weights, dtype=np.float64)
    n = w.size
    total = float(np.sum(w))
    if lo - tol <= 0 and total < hi - tol:
        return 1 << n, 1 << n
    if hi + tol <= 0 or lo - tol > total:
        return 0, 0
    if n <= MITM_MAX:
        return _mitm(w, lo, hi, tol)
    if n <= DP_MAX:
        return _dp_bounds(w, lo, hi, tol)
    return 0, 1 << n


def _sums(w: np.ndarray) -> np.ndarray:
    s = np.zeros(1)
    for x in w:
        s = np.concatenate([s, s + x])
    return s


def _mitm(w: np.ndarray, lo: float, hi: float, tol: float) -> tuple[int, int]:
    h = w.size // 2
    left, right = _sums(w[:h]), np.sort(_sums(w[h:]))

    def count(a: float, b: float) -> int:
        return int(np.sum(np.searchsorted(right, b - left, side="left")
                          - np.searchsorted(right, a - left, side="left")))

    return count(lo + tol, hi - tol), count(lo - tol, hi + tol)


def _dp_bounds(w: np.ndarray, lo: float, hi: float, tol: float) -> tuple[int, int]:
    return count_many(w, [(0, w.size, lo, hi)], tol)[0]


def count_many(w: np.ndarray, specs: list[tuple[int, int, float, float]], tol: float
               ) -> list[tuple[int, int]]:
    r""":func:`count_subsets` of ``w[a:b]`` in ``[lo, hi)`` for every ``(a, b, lo, hi)`` of
    ``specs`` (the regions of one curve, in order of K: consecutive free sets differ in a few
    coordinates).  The discretised counts share one generating polynomial
    :math:`\prod_i (1 + x^{q_i})`, :math:`q_i = \lfloor w_i/\delta\rfloor`, updated by
    multiplying in and dividing out :math:`(1 + x^{q_i})` (exact in residues modulo primes);
    a subset with :math:`\sum q_i = Q` has its sum in :math:`[\delta Q, \delta Q + R)`, R the
    sum of the free coordinates' remainders."""
    w = np.asarray(w, dtype=np.float64)
    pre = np.concatenate([[0.0], np.cumsum(w)])
    out: list[tuple[int, int] | None] = [None] * len(specs)
    dp: list[int] = []
    for q_, (a, b, lo, hi) in enumerate(specs):
        n = b - a
        total = float(pre[b] - pre[a])
        if (lo - tol <= 0 and total < hi - tol) or hi + tol <= 0 or lo - tol > total \
                or n <= MITM_MAX or n > DP_MAX:
            out[q_] = count_subsets(w[a:b], lo, hi, tol)
        else:
            dp.append(q_)
    if dp:
        u0 = min(specs[q_][0] for q_ in dp)
        u1 = max(specs[q_][1] for q_ in dp)
        delta = max(float(pre[u1] - pre[u0]) / DP_STATES, 1e-300)
        qs = np.floor(w / delta).astype(np.int64)
        rem = np.maximum(w - qs * delta, 0.0)
        rpre = np.concatenate([[0.0], np.cumsum(rem)])
        size = int(np.sum(qs[u0:u1])) + 1
        n_max = max(specs[q_][1] - specs[q_][0] for q_ in dp)
        primes = _primes((n_max + 2) // 30 + 2)
        polys = [np.zeros(size, dtype=np.int64) for _ in primes]
        for c in polys:
            c[0] = 1
        cur = np.zeros(w.size, dtype=bool)
        Qd = np.arange(size) * delta
        for q_ in dp:
            a, b, lo, hi = specs[q_]
            want = np.zeros(w.size, dtype=bool)
            want[a:b] = True
            for i in np.flatnonzero(cur & ~want):
                for c, p_ in zip(polys, primes):
                    _divide(c, int(qs[i]), p_)
            for i in np.flatnonzero(want & ~cur):
                for c, p_ in zip(polys, primes):
                    _multiply(c, int(qs[i]), p_)
            cur = want
            R = float(rpre[b] - rpre[a])
            sure = (Qd >= lo + tol) & (Qd + R < hi - tol)
            maybe = (Qd + R >= lo - tol) & (Qd < hi + tol)
            out[q_] = (_crt([int(np.sum(c[sure]) % p_) for c, p_ in zip(polys, primes)], primes),
                       _crt([int(np.sum(c[maybe]) % p_) for c, p_ in zip(polys, primes)],
                            primes))
    return [o if o is not None else (0, 0) for o in out]


def _multiply(c: np.ndarray, q: int, p_: int) -> None:
    """c <- c (1 + x^q) mod p_ (degree kept below len(c))."""
    if q == 0:
        c *= 2
    elif q < c.size:
        c[q:] += c[:-q].copy()
    c %= p_


def _divide(c: np.ndarray, q: int, p_: int) -> None:
    """c <- c / (1 + x^q) mod p_ (exact: c holds the factor).  Along each residue class
    mod q the quotient is the alternating prefix sum (-1)^k sum_{j <= k} (-1)^j c_j."""
    if q == 0:
        c *= pow(2, -1, p_)
        c %= p_
        return
    n = c.size
    rows = -(-n // q)
    buf = np.zeros(rows * q, dtype=np.int64)
    buf[:n] = c
    mat = buf.reshape(rows, q)
    sgn = np.where(np.arange(rows) % 2 == 0, 1, -1)[:, None]
    out = (np.cumsum(mat * sgn, axis=0) * sgn) % p_
    c[:] = out.reshape(-1)[:n]


@functools.cache
def _primes(count: int) -> tuple[int, ...]:
    """The ``count`` largest primes below 2^31 (residues of sums of two stay in int64)."""
    import sympy

    out = [sympy.prevprime(1 << 31)]
    while len(out) < count:
        out.append(sympy.prevprime(out[-1]))
    return tuple(out)


def _crt(res: list[int], primes: list[int]) -> int:
    x, mod = 0, 1
    for r, p_ in zip(res, primes):
        t = ((r - x) * pow(mod, -1, p_)) % p_
        x += mod * t
        mod *= p_
    return x


# ------------------------------------------------------------------------ stability

def rep_stability(k: int, s2: float, K: float, A: float, B: float, beta: float, n_s: int,
                  n_p: int, eta: float | None) -> tuple[tuple[float, float], float | None,
                                                        bool | None, float | None]:
    """Curvature (min, max eigenvalue of M), spectral radius, attracting and eta_max of every
    l0 fixed point with kept set of weight K, |S| = n_s and n - |S| = n_p (the
    representative instance of at most 4 coordinates; module docstring)."""
    from theory.limits.relu_rvsm import _stability

    P = max(s2 - K, 0.0)
    ws, wb, dphi = [], [], []
    if n_s >= 1:
        ws.append(math.sqrt(K))
        wb.append(B * math.sqrt(K) / A)
        dphi.append(A)
    if n_p >= 1:
        ws.append(math.sqrt(P))
        wb.append(B * math.sqrt(P) / (A + beta))
        dphi.append(A + beta)
    if n_s >= 2:
        ws.append(0.0)
        wb.append(0.0)
        dphi.append(A)
    if n_p >= 2:
        ws.append(0.0)
        wb.append(0.0)
        dphi.append(A + beta)
    return _stability(np.array(wb), np.array(ws), k, np.array(dphi), eta, False)
