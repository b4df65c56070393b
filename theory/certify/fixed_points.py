r"""Certified fixed-point sets: every fixed point, each proved to exist and be unique in its box,
and a proof that there is no other (``proofs_notes/certification.md``, "Certified limit sets").

Normalised RVSCGD (binary activation, ``relu`` or ``identity`` STE), penalties l1 and l0.  A unit
:math:`w` is fixed iff, with one scalar :math:`\alpha` (limits.md step 1),

.. math:: \phi_\alpha(w_i) := (\alpha + \beta) w_i - \beta\,p(w_i) = c\,\hat w^*_i = y_i,
          \qquad |w| = 1,

and every fixed point has :math:`\alpha \in [-c - \beta, c]` (proved: the inner product of the
equation with :math:`w` gives :math:`\alpha = c\langle \hat w^*, w\rangle - \beta(1 - \langle
p(w), w\rangle)`, and :math:`0 \le \langle p(w), w\rangle \le |w|^2 = 1` for a prox that
shrinks towards 0 keeping the sign).  For each :math:`\alpha` the solutions of
:math:`\phi_\alpha(x) = y` are given by the branches

* l1 (:math:`\tau = \lambda/\beta`): pruned :math:`x = y/(\alpha + \beta)`, :math:`|x| \le \tau`;
  kept :math:`x = (y - \lambda)/\alpha`, :math:`x > \tau`; kept negative
  :math:`x = (y + \lambda)/\alpha`, :math:`x < -\tau`;
* l0 (:math:`z = \sqrt{2\tau}`): pruned :math:`x = y/(\alpha + \beta)`, :math:`|x| \le z`; kept
  :math:`x = y/\alpha`, :math:`|x| > z`;

so a fixed point is an :math:`\alpha` with a choice of branches closing :math:`g(\alpha) =
\sum_i x_i(\alpha)^2 - 1 = 0`.  Every branch value is :math:`\mathrm{num}/(\alpha + \mathrm{const})`,
hence :math:`x_i' = -x_i/\mathrm{den}_i` and :math:`g' = -2\sum_i x_i^2/\mathrm{den}_i`.

The proof is a branch-and-bound over :math:`\alpha` in ball arithmetic (python-flint ``arb``):
a box is **excluded** when some coordinate has no branch that can be valid on it, or when the
hull of :math:`\sum x_i^2` over the branches that can be valid misses 1; a pattern on a box is
**certified** when every branch is valid on the whole box, :math:`g` changes sign between the
box's exact end points and :math:`g'` does not vanish on it (exactly one root); otherwise the
box is bisected, down to a width below which the reason is reported (``undecided``).

Two exact values of :math:`\alpha` need their own argument, because a branch denominator vanishes
there for the coordinates with :math:`w^*_i = 0`: at :math:`\alpha = 0` (l0) every such coordinate
may be kept at *any* value with :math:`|x| > z`, and at :math:`\alpha = -\beta` pruned at any
value with :math:`|x|` up to the threshold.  These are the zero-slope families (a continuum of
fixed points); each is reported with its existence proved or refuted by interval arithmetic on
the achievable range of :math:`\sum x_i^2`.

Stability for a step ``eta`` (limits.md step 5): with :math:`\gamma = 1 + \eta(\alpha - a)` (a
fixed point of the map needs :math:`\gamma > 0`), the tangent Jacobian is :math:`I - (\eta/\gamma)
P_{w^\perp} D P_{w^\perp}` with :math:`D = \mathrm{diag}(\phi'(x_i))`, :math:`\phi' = \alpha +
\beta` (pruned) or :math:`\alpha` (kept).  The compressed spectrum lies in
:math:`[\min D, \max D]` (Rayleigh quotients), and a value of :math:`D` taken by two coordinates is
an exact eigenvalue (the vector :math:`(w_j, -w_i)` on those two coordinates is tangent).  So the
point is proved **attracting** when :math:`|1 - (\eta/\gamma)\mu| < 1` on the whole hull,
**repelling** when an exact eigenvalue gives :math:`> 1`, and ``undecided`` otherwise.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from flint import arb, ctx, fmpq

__all__ = ["CertifiedPoint", "CertifiedFamily", "CertifiedSet", "certify_binary"]

Verdict = Literal["attracting", "repelling", "undecided"]


@dataclass(frozen=True)
class CertifiedPoint:
    """One fixed point: its branch per coordinate (``pruned``, ``kept``, ``kept-negative``; the
    sign is the sign of ``w_bar_i``), the box of ``alpha`` holding exactly one root of this
    pattern, enclosures of ``w_bar``, sign-consistency, and its stability verdict."""

    pattern: tuple[str, ...]
    alpha: tuple[float, float]
    w_bar: tuple[tuple[float, float], ...]
    good: bool
    gamma_positive: bool | None
    stability: Verdict | None
    spectral_radius: tuple[float, float] | None


@dataclass(frozen=True)
class CertifiedFamily:
    """A continuum of fixed points at an exact ``alpha``: the coordinates in ``free`` take any
    value in their range subject to ``|w| = 1``; ``exists`` is proved (True/False) or None."""

    alpha: str
    free: tuple[int, ...]
    ranges: str
    fixed: tuple[tuple[int, str], ...]
    exists: bool | None
    reason: str
    values: tuple[tuple[float, float], ...] = ()
    """Enclosure of every coordinate of the members divided by their norm: the fixed ones'
    values, the free ones' admissible |w_i| range."""
    norm: tuple[float, float] = (1.0, 1.0)
    """Enclosure of the members' norm (1 for the binary model)."""
    free_may_vanish: bool = False
    """A free coordinate may also be exactly 0 (pruned) instead of in its range (ReLU l0 on
    A = 0: each coordinate with w*_i = 0 is kept, |w_i| > z, or pruned, w_i = 0)."""

    def contains(self, w: Sequence[float], tol: float = 1e-9) -> bool:
        """Whether ``w`` (floats) is a member, to ``tol`` (relative to its norm)."""
        nrm = math.sqrt(math.fsum(x * x for x in w))
        if not self.norm[0] * (1 - 10 * tol) - tol <= nrm <= self.norm[1] * (1 + 10 * tol) + tol:
            return False
        w = [x / nrm for x in w]
        for i, (x, (lo, hi)) in enumerate(zip(w, self.values, strict=True)):
            v = abs(x) if i in self.free else x
            if i in self.free and self.free_may_vanish and abs(x) <= tol:
                continue
            if not lo - tol <= v <= hi + tol:
                return False
        return True


@dataclass
class CertifiedSet:
    """``status``: ``complete`` (every fixed point is listed, each certified; every family
    decided) or ``undecided`` (``reasons`` say where)."""

    model: str
    penalty: str
    status: Literal["complete", "undecided"]
    points: list[CertifiedPoint] = field(default_factory=list)
    families: list[CertifiedFamily] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    boxes: int = 0
    seconds: float = 0.0
    cover: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """The proof: every alpha interval of the a-priori domain with its verdict (``excluded``, or
    ``points`` with the certified patterns and their refined root intervals), exact ends."""
    instance: dict[str, Any] = field(default_factory=dict)

    def certificate(self) -> dict[str, Any]:
        """The set as a JSON-ready certificate (``FORMAT.md``, section "Fixed-point sets")."""
        return {
            "format": "rvsm-fixed-point-set/1", "model": self.model, "penalty": self.penalty,
            "instance": self.instance, "status": self.status, "reasons": self.reasons,
            "cover": sorted(self.cover, key=lambda e: Fraction(e["alpha"][0])),
            "points": [{"pattern": list(p.pattern), "alpha": list(p.alpha),
                        "w_bar": [list(b) for b in p.w_bar], "good": p.good,
                        "gamma_positive": p.gamma_positive, "stability": p.stability,
                        "spectral_radius": p.spectral_radius} for p in self.points],
            "families": [{"alpha": f.alpha, "free": list(f.free), "fixed": [list(x) for x in
                          f.fixed], "exists": f.exists, "values": [list(v) for v in f.values]}
                         for f in self.families],
            "boxes": self.boxes, "seconds": self.seconds,
        }

    @property
    def attracting(self) -> int | None:
        """Number of isolated points proved attracting (None if any verdict is undecided)."""
        vs = [p.stability for p in self.points if p.gamma_positive is not False]
        if any(v in (None, "undecided") for v in vs):
            return None
        return sum(v == "attracting" for v in vs)


def _q(x: Any) -> fmpq:
    f = Fraction(x)
    return fmpq(f.numerator, f.denominator)


def _ball(a: fmpq, b: fmpq) -> arb:
    return arb(a) if a == b else arb((a + b) / 2, (b - a) / 2)


def _lo(x: arb) -> float:
    """A float at or below every point of the ball (rounded outward past the conversion)."""
    v = float(x.lower().mid()) - float(x.lower().rad())
    return math.nextafter(math.nextafter(v, -math.inf), -math.inf)


def _hi(x: arb) -> float:
    """A float at or above every point of the ball."""
    v = float(x.upper().mid()) + float(x.upper().rad())
    return math.nextafter(math.nextafter(v, math.inf), math.inf)


@dataclass(frozen=True)
class _Branch:
    name: str
    num: arb          # x = num / (alpha + shift)
    shift: arb
    kind: str         # "abs_le" (|x| <= thr), "gt" (x > thr), "lt" (x < -thr), "abs_gt"


class _Binary:
    def __init__(self, y: list[arb], zero: list[bool], penalty: str, lam: fmpq, beta: fmpq,
                 thr: arb) -> None:
        self.y, self.zero, self.penalty = y, zero, penalty
        self.lam, self.beta, self.thr = arb(lam), arb(beta), thr
        self.branches: list[list[_Branch]] = []
        for yi in y:
            bs = [_Branch("pruned", yi, self.beta, "abs_le")]
            if penalty == "l1":
                bs.append(_Branch("kept", yi - self.lam, arb(0), "gt"))
                bs.append(_Branch("kept-negative", yi + self.lam, arb(0), "lt"))
            else:
                bs.append(_Branch("kept", yi, arb(0), "abs_gt"))
            self.branches.append(bs)

    def valid(self, br: _Branch, x: arb) -> bool | None:
        t = self.thr
        if br.kind == "abs_le":
            return True if abs(x) < t else (False if abs(x) > t else None)
        if br.kind == "abs_gt":
            return True if abs(x) > t else (False if abs(x) < t else None)
        if br.kind == "gt":
            return True if x > t else (False if x < t else None)
        return True if x < -t else (False if x > -t else None)

    def options(self, al: arb, i: int) -> list[tuple[_Branch, arb, bool | None]]:
        """The branches of coordinate i that may be valid for alpha in the ball ``al``."""
        out = []
        for br in self.branches[i]:
            if self.zero[i] and br.name == "pruned":
                x = arb(0)  # 0/(alpha + beta) off alpha = -beta (handled exactly elsewhere)
            elif self.zero[i] and self.penalty == "l0":
                continue  # kept: 0/alpha = 0 is never above the threshold off alpha = 0
            else:
                x = br.num / (al + br.shift)
            if not x.is_finite():
                out.append((br, x, None))
                continue
            v = self.valid(br, x)
            if v is not False:
                out.append((br, x, v))
        return out


def _sq_bounds(x: arb, br: _Branch, al: arb) -> tuple[float, float]:
    """Rigorous (lower, upper) bounds of x^2 over the ball (the upper may be inf)."""
    if x.is_finite():
        sq = x * x
        return max(0.0, _lo(sq)), _hi(sq)
    den = abs(al + br.shift)
    num = abs(br.num)
    den_hi = _hi(den)
    num_lo = max(0.0, _lo(num))
    low = (num_lo / den_hi) ** 2 if den_hi > 0 else math.inf
    return low * (1 - 1e-12), math.inf


def _coarse_coefficients(k: int, ste: str) -> tuple[arb, arb]:
    r"""Balls of :math:`(a, c)` in :math:`E g = a\hat w - c\hat w^*`, compiled from
    :func:`theory.binary.coarse_coeffs_expr` (constant for the relu and identity STEs)."""
    from theory import binary
    from theory.certify.arb_eval import compile_arb

    a_e, minus_c = binary.coarse_coeffs_expr(ste)
    return (compile_arb(a_e, [binary.k])([arb(k)]),
            -compile_arb(minus_c, [binary.k])([arb(k)]))


def certify_binary(w_star: Sequence[Any], k: int, penalty: str, lam: Any, beta: Any, *,
                   eta: Any = None, ste: str = "relu", prec: int = 128,
                   max_boxes: int = 200_000, min_width: float = 2.0**-60) -> CertifiedSet:
    """The certified fixed-point set of normalised RVSCGD (see the module docstring).

    ``w_star`` entries, ``lam``, ``beta`` and ``eta`` are read as exact rationals of their
    decimal or float values.  Raises ValueError for a penalty other than l1/l0 or an STE whose
    coefficients depend on the angle.
    """
    if penalty not in ("l1", "l0"):
        raise ValueError(f"certified sets cover l1 and l0; got {penalty!r} (TL1: not yet)")
    if ste not in ("relu", "identity"):
        raise ValueError("certified sets need an STE with constant coefficients (relu, identity)")
    t0 = time.perf_counter()
    out = CertifiedSet("binary", penalty, "complete")
    out.instance = {"w_star": [str(_q(v)) for v in w_star], "k": int(k), "lam": str(_q(lam)),
                    "beta": str(_q(beta)), "eta": None if eta is None else str(_q(eta)),
                    "ste": ste, "precision_bits": prec}
    with ctx.workprec(prec):
        ws = [_q(v) for v in w_star]
        if not any(ws):
            raise ValueError("w_star must be nonzero")
        lam_q, beta_q = _q(lam), _q(beta)
        if lam_q < 0 or beta_q <= 0:
            raise ValueError("need lam >= 0 and beta > 0")
        norm = sum((arb(v) ** 2 for v in ws), arb(0)).sqrt()
        a_c, c = _coarse_coefficients(int(k), ste)
        y = [c * arb(v) / norm for v in ws]
        zero = [v == 0 for v in ws]
        tau = arb(lam_q) / arb(beta_q)
        thr = tau if penalty == "l1" else (2 * tau).sqrt()
        sys_ = _Binary(y, zero, penalty, lam_q, beta_q, thr)
        eta_b = arb(_q(eta)) if eta is not None else None
        # the a-priori domain [-c - beta, c], widened to rational ends
        lo = _q(math.floor((-_hi(c) - float(beta_q)) * 2**20 - 1) / 2**20)
        hi = _q(math.ceil(_hi(c) * 2**20 + 1) / 2**20)
        out.instance["domain"] = [str(lo), str(hi)]
        stack = [(lo, hi)]
        width0 = float(hi - lo)
        while stack:
            a, b = stack.pop()
            out.boxes += 1
            if out.boxes > max_boxes:
                out.status = "undecided"
                out.reasons.append(f"box budget of {max_boxes} exhausted")
                break
            res = _analyse(sys_, a, b)
            if res is None:
                out.cover.append({"alpha": [str(a), str(b)], "verdict": "excluded"})
                continue
            pts, unresolved = res
            if not unresolved:
                for pat, (ra, rb) in pts:
                    out.points.append(_point(sys_, pat, ra, rb, ws, eta_b, a_c))
                out.cover.append({"alpha": [str(a), str(b)], "verdict": "points",
                                  "points": [{"pattern": [br.name for br in pat],
                                              "root": [str(ra), str(rb)]} for pat, (ra, rb)
                                             in pts]})
                continue
            if float(b - a) < min_width * width0:
                out.status = "undecided"
                out.reasons.append(
                    f"alpha in [{float(a):.17g}, {float(b):.17g}]: pattern "
                    f"{unresolved[0]} neither excluded nor certified (a root on a threshold or "
                    "a tie)")
                continue
            mid = (a + b) / 2
            stack += [(mid, b), (a, mid)]
        for alpha0 in {fmpq(0), -beta_q}:
            if lo <= alpha0 <= hi:
                fams, reason = _special(sys_, alpha0, penalty)
                out.families += fams
                if reason:
                    out.status = "undecided"
                    out.reasons.append(reason)
    if any(f.exists is None for f in out.families):
        out.status = "undecided"
    out.points.sort(key=lambda p: p.alpha[0])
    out.seconds = time.perf_counter() - t0
    return out


def _analyse(sys_: _Binary, a: fmpq, b: fmpq) -> tuple[list, list] | None:
    """None: no fixed point with alpha in [a, b] (except the exact special values); else the
    certified (pattern, x balls) and the unresolved patterns."""
    al = _ball(a, b)
    opts = [sys_.options(al, i) for i in range(len(sys_.y))]
    if any(not o for o in opts):
        return None
    s_lo = s_hi = 0.0
    for o in opts:
        bounds = [_sq_bounds(x, br, al) for br, x, _ in o]
        s_lo += min(lo_ for lo_, _ in bounds)
        s_hi += max(hi_ for _, hi_ in bounds)
    if s_lo > 1 * (1 + 1e-15) or s_hi < 1 * (1 - 1e-15):
        return None
    n_pat = math.prod(len(o) for o in opts)
    if n_pat > 4096:
        return [], ["more than 4096 patterns"]
    certified, unresolved = [], []
    for combo in itertools.product(*opts):
        s = sum((x * x for _, x, _ in combo), arb(0))
        if s.is_finite() and (s > 1 or s < 1):
            continue
        if not s.is_finite() and sum(_sq_bounds(x, br, al)[0] for br, x, _ in combo) > 1 + 1e-12:
            continue
        if any(v is not True for _, _, v in combo) or not s.is_finite():
            unresolved.append(tuple(br.name for br, _, _ in combo))
            continue
        pat = tuple(br for br, _, _ in combo)
        ga, gb = _g(sys_, pat, arb(a)), _g(sys_, pat, arb(b))
        dg = arb(0)
        for i, (br, x, _) in enumerate(combo):
            if not (sys_.zero[i] and br.name == "pruned"):
                dg -= 2 * x * x / (al + br.shift)
        if not dg.is_finite() or dg.contains(0):
            unresolved.append(tuple(br.name for br in pat))
            continue
        if (ga < 0 and gb > 0) or (ga > 0 and gb < 0):
            certified.append((pat, _refine(sys_, pat, a, b, ga < 0)))
        elif (ga > 0 and gb > 0) or (ga < 0 and gb < 0):
            continue  # monotone and no sign change: no root of this pattern in the box
        else:
            unresolved.append(tuple(br.name for br in pat))
    return certified, unresolved


def _refine(sys_: _Binary, pat: tuple[_Branch, ...], a: fmpq, b: fmpq, rising: bool
            ) -> tuple[fmpq, fmpq]:
    """Shrink [a, b] around the unique root of g (sign change kept at exact end points)."""
    for _ in range(200):
        if float(b - a) <= 2.0**-100 * max(1.0, abs(float(a))):
            break
        mid = (a + b) / 2
        gm = _g(sys_, pat, arb(mid))
        if gm.is_zero():
            return mid, mid
        if (gm < 0) == rising and (gm < 0 or gm > 0):
            a = mid
        elif gm < 0 or gm > 0:
            b = mid
        else:
            break
    return a, b


def _g(sys_: _Binary, pat: tuple[_Branch, ...], al: arb) -> arb:
    s = arb(-1)
    for i, br in enumerate(pat):
        if sys_.zero[i] and br.name == "pruned":
            continue
        x = br.num / (al + br.shift)
        s += x * x
    return s


def _point(sys_: _Binary, pat: tuple[_Branch, ...], a: fmpq, b: fmpq,
           ws: list[fmpq], eta: arb | None, a_c: arb) -> CertifiedPoint:
    al = _ball(a, b)
    xs = [arb(0) if (sys_.zero[i] and br.name == "pruned") else br.num / (al + br.shift)
          for i, br in enumerate(pat)]
    names = tuple(br.name for br in pat)
    good = all((br.name == "pruned") if ws[i] == 0
               else bool(x > 0 if ws[i] > 0 else x < 0)
               for i, (br, x) in enumerate(zip(pat, xs, strict=True)))
    w_box = tuple((_lo(x), _hi(x)) for x in xs)
    gamma_pos: bool | None = None
    verdict: Verdict | None = None
    rho: tuple[float, float] | None = None
    if eta is not None:
        gamma = 1 + eta * (al - a_c)
        gamma_pos = True if gamma > 0 else (False if gamma <= 0 else None)
        if gamma_pos:
            if len(pat) == 1:
                verdict, rho = "attracting", (0.0, 0.0)  # S^0 has no tangent direction
            else:
                verdict, rho = _stability(pat, xs, al, sys_.beta, eta / gamma)
    return CertifiedPoint(names, (float(a), float(b)), w_box, bool(good), gamma_pos, verdict,
                          rho)


def _stability(pat: tuple[_Branch, ...], xs: list[arb], al: arb, beta: arb, h: arb
               ) -> tuple[Verdict, tuple[float, float]]:
    r"""The tangent spectrum of :math:`P D P` on :math:`w^\perp`, exactly: D takes the value
    :math:`\alpha` on the kept set K and :math:`\alpha + \beta` on the pruned set P, so the
    eigenvalues are :math:`\alpha` (multiplicity |K| - 1), :math:`\alpha + \beta` (|P| - 1) and,
    if both sets are non-empty, :math:`\mu^* = \alpha|w_P|^2 + (\alpha + \beta)|w_K|^2` (the
    Rayleigh quotient of :math:`(|w_P|^2 w_K, -|w_K|^2 w_P)`, the tangent direction orthogonal
    to both eigenspaces).  Radius: :math:`\max|1 - h\mu|` with :math:`h = \eta/\gamma`."""
    kept = [i for i, br in enumerate(pat) if br.name != "pruned"]
    pruned = [i for i, br in enumerate(pat) if br.name == "pruned"]
    mus = []
    if len(kept) >= 2:
        mus.append(al)
    if len(pruned) >= 2:
        mus.append(al + beta)
    if kept and pruned:
        wk = sum((xs[i] * xs[i] for i in kept), arb(0))
        wp = sum((xs[i] * xs[i] for i in pruned), arb(0))
        mus.append(al * wp + (al + beta) * wk)
    radii = [abs(1 - h * mu) for mu in mus]
    r_lo = max((_lo(r) for r in radii), default=0.0)
    r_hi = max((_hi(r) for r in radii), default=0.0)
    if r_hi < 1:
        return "attracting", (r_lo, r_hi)
    if r_lo > 1:
        return "repelling", (r_lo, r_hi)
    return "undecided", (r_lo, r_hi)


def _special(sys_: _Binary, alpha0: fmpq, penalty: str) -> tuple[list[CertifiedFamily], str | None]:
    """Fixed points at the exact alpha0 (0 or -beta): isolated ones with every coordinate's
    value determined, and families where coordinates with w*_i = 0 are free."""
    al = arb(alpha0)
    per: list[list[tuple[str, Any]]] = []  # (name, ("point", x) | ("free", lo_sq, hi_sq))
    for i in range(len(sys_.y)):
        opts: list[tuple[str, Any]] = []
        for br in sys_.branches[i]:
            den = al + br.shift
            if den.is_zero():
                if not br.num.is_zero():
                    continue  # num = 0 * x has no solution for num != 0 (l1 kept: -+lam)
                t = sys_.thr
                if br.kind == "abs_le":
                    opts.append((br.name, ("free", arb(0), t * t)))
                else:
                    opts.append((br.name, ("free", t * t, None)))
                continue
            x = br.num / den if not (sys_.zero[i] and br.name == "pruned") else arb(0)
            if sys_.zero[i] and penalty == "l0" and br.name == "kept":
                x = arb(0)
            v = sys_.valid(br, x)
            if v is not False:
                opts.append((br.name, ("point", x, v)))
        per.append(opts)
    fams: list[CertifiedFamily] = []
    reason: str | None = None
    for combo in itertools.product(*per):
        free = [i for i, (_, o) in enumerate(combo) if o[0] == "free"]
        fixed = arb(0)
        uncertain = False
        for _, o in combo:
            if o[0] == "point":
                fixed += o[1] * o[1]
                uncertain |= o[2] is None
        if not free:
            if fixed > 1 or fixed < 1:
                continue
            reason = (f"alpha = {alpha0}: an isolated point may sit exactly there "
                      f"({[n for n, _ in combo]})")
            continue
        f_lo = fixed + sum((combo[i][1][1] for i in free), arb(0))
        unbounded = any(combo[i][1][2] is None for i in free)
        f_hi = None if unbounded else fixed + sum((combo[i][1][2] for i in free), arb(0))
        # free |x| <= thr can reach its lower end 0 (closed); free |x| > thr cannot reach thr^2
        open_low = any(combo[i][1][2] is None for i in free)
        if f_lo > 1 or (f_hi is not None and f_hi < 1):
            exists: bool | None = False
        elif (f_lo < 1 or (not open_low and f_lo <= 1)) and (f_hi is None or f_hi > 1) \
                and not uncertain:
            exists = True
        else:
            exists = None
        if exists is False:
            continue
        names = [n for n, _ in combo]
        ranges = ", ".join(
            f"|w_{i}| {'<=' if combo[i][1][2] is not None else '>'} {float(_hi(sys_.thr)):.6g}"
            for i in free)
        values = []
        for _, o in combo:
            if o[0] == "point":
                values.append((_lo(o[1]), _hi(o[1])))
            else:
                values.append((_lo(o[1].sqrt()), math.inf if o[2] is None else _hi(o[2].sqrt())))
        fams.append(CertifiedFamily(
            str(alpha0), tuple(free), ranges,
            tuple((i, names[i]) for i in range(len(names)) if i not in free), exists,
            "sum of squares of the fixed coordinates plus the free ranges "
            + ("reaches 1" if exists else "may or may not reach 1 (a tie)"), tuple(values)))
    return fams, reason


# ---------------------------------------------------------------------------------- ReLU RVSM

def _relu_scalars() -> dict[str, Any]:
    """A0, A1(t), B(t) and their t-derivatives, compiled from theory.relu's SymPy expressions."""
    import sympy as sp

    from theory import relu
    from theory.certify.arb_eval import compile_arb

    a0, a1 = relu.grad_split_expr()
    _, b = relu.grad_coeffs_expr()
    syms = [relu.k, relu.t]
    return {"A0": compile_arb(a0, syms), "A1": compile_arb(a1, syms), "B": compile_arb(b, syms),
            "dA1": compile_arb(sp.diff(a1, relu.t), syms),
            "dB": compile_arb(sp.diff(b, relu.t), syms)}


def _intersect(x: arb, lo: arb, hi: arb) -> arb:
    """A ball containing x intersected with [lo, hi] (x may be infinite)."""
    if not x.is_finite():
        return arb.union(lo, hi)
    a = x.lower().max(lo.lower())
    b = x.upper().min(hi.upper())
    if a > b:
        return arb.nan()
    return arb.union(a, b)


def certify_relu(w_star: Sequence[Any], k: int, penalty: str, lam: Any, beta: Any, *,
                 eta: Any = None, prec: int = 128, max_boxes: int = 200_000,
                 min_width: float = 2.0**-40) -> CertifiedSet:
    r"""The certified fixed-point set of ReLU RVSM, l1 and l0 (``proofs_notes/certification.md``).

    Unknowns :math:`(A, t)`: :math:`B = B(t)`, :math:`r = A_1(t)s/(A_0 - A)` (the gradient split
    of :mod:`theory.relu`), every coordinate a branch of :math:`\phi_A(x) = B w^*_i` as for the
    binary model, closed by :math:`F_1 = |x|^2 - r^2 = 0`, :math:`F_2 = \langle x, w^*\rangle -
    r s\cos t = 0`.  A-priori box: :math:`t \in [0, \pi]`, :math:`r \in [\theta, r_{\max}]` with
    :math:`\theta` the prox threshold (a kept coordinate has :math:`|x_i| > \theta`) and
    :math:`r_{\max} = ((k + \pi)s/(\pi k) + \beta\sqrt d\,\delta_P)/A_0` (the component of
    :math:`|Aw - Bw^*| \le \beta\sqrt d\,\delta_P` along :math:`\hat w`), i.e.
    :math:`A \in [A_0 - A_{1,\max} s/\theta, A_0]`.  The all-pruned pattern
    (:math:`x \parallel w^*`) is solved in closed form at :math:`t = 0`.  A pattern on a box is
    certified by the Krawczyk test (unique zero of :math:`F` in the box, every branch valid on
    it); boxes are excluded when a coordinate has no valid branch or the hulls of
    :math:`F_1, F_2` miss 0.  Roots on the lines :math:`t \in \{0, \pi\}` other than the
    all-pruned one, and the lines :math:`A \in \{0, -\beta\}` where coordinates with
    :math:`w^*_i = 0` are free, are reported ``undecided`` when a box touching them cannot be
    excluded.
    """
    if penalty not in ("l1", "l0"):
        raise ValueError(f"certified sets cover l1 and l0; got {penalty!r} (TL1: not yet)")
    t0 = time.perf_counter()
    out = CertifiedSet("relu", penalty, "complete")
    out.instance = {"w_star": [str(_q(v)) for v in w_star], "k": int(k), "lam": str(_q(lam)),
                    "beta": str(_q(beta)), "eta": None if eta is None else str(_q(eta)),
                    "precision_bits": prec}
    fns = _relu_scalars()
    with ctx.workprec(prec):
        ws_q = [_q(v) for v in w_star]
        if not any(ws_q):
            raise ValueError("w_star must be nonzero")
        lam_q, beta_q = _q(lam), _q(beta)
        if lam_q <= 0 or beta_q <= 0:
            raise ValueError("certified ReLU sets need lam > 0 and beta > 0")
        ws = [arb(v) for v in ws_q]
        s = sum((v * v for v in ws), arb(0)).sqrt()
        kb = arb(int(k))
        A0 = fns["A0"]([kb, arb(0)])
        tau = arb(lam_q) / arb(beta_q)
        thr = tau if penalty == "l1" else (2 * tau).sqrt()
        d = len(ws)
        r_max = ((kb + arb.pi()) / (arb.pi() * kb) * s + arb(beta_q) * arb(d).sqrt() * thr) / A0
        rel = _RelU(ws, [v == 0 for v in ws_q], penalty, lam_q, beta_q, thr, fns, kb, s, A0,
                    r_max)
        rel.ws_q = ws_q
        a_lo = _q(math.floor((_lo(A0) - _hi(s / (arb.pi() * thr))) * 2**20 - 1) / 2**20)
        a_hi = _q(math.ceil(_hi(A0) * 2**20 + 1) / 2**20)
        pi_hi = _q(math.ceil(_hi(arb.pi()) * 2**40) / 2**40)
        out.instance["domain"] = {"A": [str(a_lo), str(a_hi)], "t": ["0", str(pi_hi)]}
        if int(k) == 1:
            out.status = "undecided"
            out.reasons.append("k = 1: A1(t) = sin(t)/pi vanishes at t in {0, pi}, where |w| is "
                               "then free; not certified yet")
            out.seconds = time.perf_counter() - t0
            return out
        _corner(rel, out)
        _saddle(rel, out)
        _line_families(rel, out, max_boxes)
        # all-pruned patterns have no kept coordinate, so no r >= threshold: from A = -beta
        line_lo = min(a_lo, -beta_q - 1)
        _parallel_lines(rel, out, line_lo, a_hi, max_boxes)
        stack = [((a_lo, a_hi), (fmpq(0), pi_hi))]
        w0 = (float(a_hi - a_lo), float(pi_hi))
        while stack:
            (a, b), (c, e) = stack.pop()
            out.boxes += 1
            if out.boxes > max_boxes:
                out.status = "undecided"
                out.reasons.append(f"box budget of {max_boxes} exhausted")
                break
            res = rel.analyse(a, b, c, e)
            if res is None:
                out.cover.append({"A": [str(a), str(b)], "t": [str(c), str(e)],
                                  "verdict": "excluded"})
                continue
            pts, unresolved = res
            if not unresolved:
                for pat, box in pts:
                    out.points.append(rel.point(pat, box, eta))
                out.cover.append({"A": [str(a), str(b)], "t": [str(c), str(e)],
                                  "verdict": "points",
                                  "points": [{"pattern": [br.name for br in pat]} for pat, _ in
                                             pts]})
                continue
            wa, wt = float(b - a) / w0[0], float(e - c) / w0[1]
            if max(wa, wt) < min_width:
                out.status = "undecided"
                near = []
                if c == 0 or e == pi_hi:
                    near.append("on the line t = 0 or pi")
                if (a <= 0 <= b) or (a <= -beta_q <= b):
                    near.append("on a singular line A = 0 or A = -beta")
                out.reasons.append(
                    f"A in [{float(a):.12g}, {float(b):.12g}], t in [{float(c):.12g}, "
                    f"{float(e):.12g}]: pattern {unresolved[0]} neither excluded nor certified"
                    + (f" ({', '.join(near)})" if near else ""))
                if len(out.reasons) > 20:
                    break
                continue
            if wa >= wt:
                m = (a + b) / 2
                stack += [((m, b), (c, e)), ((a, m), (c, e))]
            else:
                m = (c + e) / 2
                stack += [((a, b), (m, e)), ((a, b), (c, m))]
    out.points.sort(key=lambda p: p.alpha[0])
    out.seconds = time.perf_counter() - t0
    return out


class _RelU(_Binary):
    def __init__(self, ws: list[arb], zero: list[bool], penalty: str, lam: fmpq, beta: fmpq,
                 thr: arb, fns: dict[str, Any], kb: arb, s: arb, A0: arb, r_max: arb) -> None:
        super().__init__([arb(0)] * len(ws), zero, penalty, lam, beta, thr)
        self.ws, self.fns, self.kb, self.s, self.A0, self.r_max = ws, fns, kb, s, A0, r_max
        self.lam_b = arb(lam)

    def num_den(self, name: str, wi: arb, Bb: arb, al: arb) -> tuple[arb, arb]:
        """Numerator and denominator of a coordinate's branch value at (A, B): pruned
        ``B w*_i/(A + beta)``; l1 kept ``(B w*_i -+ lam)/A``; l0 kept ``B w*_i/A``."""
        y = Bb * wi
        if name == "pruned":
            return y, al + self.beta
        if self.penalty == "l0":
            return y, al
        return (y - self.lam_b if name == "kept" else y + self.lam_b), al

    def branches_at(self, Bb: arb) -> list[list[_Branch]]:
        out = []
        for wi in self.ws:
            y = Bb * wi
            bs = [_Branch("pruned", y, self.beta, "abs_le")]
            if self.penalty == "l1":
                bs.append(_Branch("kept", y - self.lam_b, arb(0), "gt"))
                bs.append(_Branch("kept-negative", y + self.lam_b, arb(0), "lt"))
            else:
                bs.append(_Branch("kept", y, arb(0), "abs_gt"))
            out.append(bs)
        return out

    def scalars(self, al: arb, tl: arb) -> tuple[arb, arb, arb]:
        """B, A1 and r over the box; r is NaN when the box lies outside the a-priori range of r
        (r < threshold or r > r_max: then no fixed point with a kept coordinate is there)."""
        Bb = self.fns["B"]([self.kb, tl])
        a1 = self.fns["A1"]([self.kb, tl])
        den = self.A0 - al
        if den > 0:
            r = _intersect(a1 * self.s / den, self.thr, self.r_max)
            return Bb, a1, r
        den_hi = _hi(den)
        if den_hi <= 0:
            return Bb, a1, arb.nan()  # A >= A0: r would be negative or infinite
        a1_lo = max(0.0, _lo(a1))
        r_lo = a1_lo * _lo(self.s) / den_hi * (1 - 1e-15)
        if r_lo > _hi(self.r_max):
            return Bb, a1, arb.nan()
        lo = arb(r_lo).max(self.thr)
        return Bb, a1, arb.union(lo, self.r_max)

    def opts(self, al: arb, Bb: arb) -> list[list[tuple[_Branch, arb, bool | None]]]:
        """Per coordinate, the branches that may be valid on the box with their value balls.

        A pruned value is valid only with :math:`|x| \\le \theta`, so where its denominator
        :math:`A + \beta` may vanish (or, for a coordinate with :math:`w^*_i = 0`, on the line
        :math:`A = -\beta` where it is free) its ball is :math:`[-\theta, \theta]`; likewise an
        l0 kept coordinate with :math:`w^*_i = 0` is free with :math:`|x| > z` on the line
        :math:`A = 0`.  These cover the singular lines inside the box, so an excluded box
        excludes them too."""
        self.branches = self.branches_at(Bb)
        self.y = [Bb * wi for wi in self.ws]
        thr_ball = arb(0, 1) * self.thr
        out = []
        for i in range(len(self.ws)):
            o = []
            for br in self.branches[i]:
                den = al + br.shift
                if self.zero[i]:
                    # off the lines A = -beta (pruned free) and A = 0 (l0 kept free), which
                    # _line_families covers, a zero coordinate is 0 or (l0 kept) impossible
                    if br.name == "pruned":
                        o.append((br, arb(0), True))
                    elif self.penalty == "l0":
                        continue
                    else:
                        x = br.num / den
                        v = self.valid(br, x) if x.is_finite() else None
                        if v is not False:
                            o.append((br, x, v))
                    continue
                x = br.num / den
                if not x.is_finite():
                    if br.name == "pruned":
                        o.append((br, thr_ball, None))
                    else:
                        o.append((br, x, None))
                    continue
                v = self.valid(br, x)
                if v is not False:
                    o.append((br, x, v))
            out.append(o)
        return out

    def analyse(self, a: fmpq, b: fmpq, c: fmpq, e: fmpq) -> tuple[list, list] | None:
        al, tl = _ball(a, b), _ball(c, e)
        Bb, _, r = self.scalars(al, tl)
        if r.is_nan():
            return None  # r outside its a-priori range on the whole box
        opts = self.opts(al, Bb)
        if any(not o for o in opts):
            return None
        r2 = r * r
        s_lo = s_hi = 0.0
        for o in opts:
            bounds = [_sq_bounds(x, br, al) for br, x, _ in o]
            s_lo += min(lo_ for lo_, _ in bounds)
            s_hi += max(hi_ for _, hi_ in bounds)
        if s_lo > _hi(r2) * (1 + 1e-15) or s_hi < _lo(r2) * (1 - 1e-15):
            return None
        if math.prod(len(o) for o in opts) > 4096:
            return [], ["more than 4096 patterns"]
        rsc = r * self.s * tl.cos()
        certified, unresolved = [], []
        for combo in itertools.product(*opts):
            if self.parallel(tuple(br for br, _, _ in combo)):
                continue  # x parallel to w*: only on the lines t = 0 and pi (_parallel_lines)
            f1 = sum((x * x for _, x, _ in combo), arb(0)) - r2
            f2 = sum((x * wi for (_, x, _), wi in zip(combo, self.ws, strict=True)), arb(0)) - rsc
            if (f1.is_finite() and not f1.contains(0)) or (f2.is_finite() and not f2.contains(0)):
                continue
            if not f1.is_finite() and sum(_sq_bounds(x, br, al)[0] for br, x, _ in combo) \
                    > _hi(r2) * (1 + 1e-12):
                continue
            if self.eliminated(combo, r2, rsc):
                continue
            pat = tuple(br for br, _, _ in combo)
            if any(v is not True for _, _, v in combo):
                unresolved.append(tuple(br.name for br in pat))
                continue
            box = self.krawczyk(pat, a, b, c, e)
            if box is None:
                unresolved.append(tuple(br.name for br in pat))
            else:
                certified.append((pat, box))
        return certified, unresolved

    def parallel(self, pat: tuple[_Branch, ...]) -> bool:
        """Whether the pattern makes x a multiple of w* for every (A, t): every coordinate with
        w*_i = 0 pruned, and either one support coordinate, or every support coordinate on the
        same branch with x_i proportional to w*_i (l0 always; l1 pruned, or kept with equal
        |w*_i| and signs matching)."""
        supp = [i for i, z in enumerate(self.zero) if not z]
        if any(self.zero[i] and pat[i].name != "pruned" for i in range(len(pat))):
            return False
        if len(supp) == 1:
            return True
        names = {pat[i].name for i in supp}
        if self.penalty == "l0" or names == {"pruned"}:
            return len(names) == 1
        mags = {abs(self.ws_q[i]) for i in supp}
        signs_ok = all((pat[i].name == "kept") == (self.ws_q[i] > 0) for i in supp) or \
            all((pat[i].name == "kept") == (self.ws_q[i] < 0) for i in supp)
        return len(mags) == 1 and signs_ok and "pruned" not in names

    def eliminated(self, combo: tuple, r2: arb, rsc: arb) -> bool:
        """Exclusion that does not use one coordinate's branch formula: F2 = 0 gives
        x_i = (r s cos t - sum_{j != i} x_j w*_j)/w*_i, and then F1 must vanish with that x_i
        (and x_i must satisfy its branch's validity).  This excludes boxes around the points
        where the branch value of coordinate i is 0/0 (A = 0 with B w*_i = +-lam, the pruned
        value at A = -beta), which no enclosure of the formula can."""
        xs = [x for _, x, _ in combo]
        kept = [i for i, (br, _, _) in enumerate(combo) if br.name == "kept" and not self.zero[i]]
        if self.penalty == "l0" and len(kept) >= 2 and any(not xs[i].is_finite() for i in kept):
            # every kept x_i = (B/A) w*_i: one ratio q, eliminated through F2
            rest = [i for i in range(len(xs)) if i not in kept]
            if all(xs[i].is_finite() for i in rest):
                wk = sum((self.ws[i] * self.ws[i] for i in kept), arb(0))
                q = (rsc - sum((xs[i] * self.ws[i] for i in rest), arb(0))) / wk
                g = q * q * wk + sum((xs[i] * xs[i] for i in rest), arb(0)) - r2
                if g.is_finite() and not g.contains(0):
                    return True
                if any(self.valid(combo[i][0], q * self.ws[i]) is False for i in kept):
                    return True
        pruned = [i for i, (br, _, _) in enumerate(combo)
                  if br.name == "pruned" and not self.zero[i]]
        if len(pruned) >= 2 and any(_hi(abs(xs[i])) >= _hi(self.thr) for i in pruned):
            # every pruned x_i = (B/(A + beta)) w*_i: one ratio, eliminated through F2
            rest = [i for i in range(len(xs)) if i not in pruned]
            if all(xs[i].is_finite() for i in rest):
                wp = sum((self.ws[i] * self.ws[i] for i in pruned), arb(0))
                q = (rsc - sum((xs[i] * self.ws[i] for i in rest), arb(0))) / wp
                g = q * q * wp + sum((xs[i] * xs[i] for i in rest), arb(0)) - r2
                if g.is_finite() and not g.contains(0):
                    return True
                if any(self.valid(combo[i][0], q * self.ws[i]) is False for i in pruned):
                    return True
        for i, (br, x, _) in enumerate(combo):
            if x.is_finite() and _hi(abs(x)) < 1e3 * _hi(self.r_max) and _hi(x.rad()) < 1:
                continue
            wi = self.ws[i]
            if wi.is_zero() or not all(xj.is_finite() for j, xj in enumerate(xs) if j != i):
                continue
            rest = sum((xj * wj for j, (xj, wj) in enumerate(zip(xs, self.ws, strict=True))
                        if j != i), arb(0))
            xi = (rsc - rest) / wi
            if self.valid(br, xi) is False:
                return True
            g = sum((xj * xj for j, xj in enumerate(xs) if j != i), arb(0)) + xi * xi - r2
            if g.is_finite() and not g.contains(0):
                return True
        return False

    def F(self, pat: tuple[_Branch, ...], al: arb, tl: arb, jac: bool
          ) -> tuple[list[arb], list[list[arb]] | None]:
        Bb = self.fns["B"]([self.kb, tl])
        a1 = self.fns["A1"]([self.kb, tl])
        den = self.A0 - al
        r = a1 * self.s / den
        dB = self.fns["dB"]([self.kb, tl])
        xs, dxa, dxt = [], [], []
        for br, wi in zip(pat, self.ws, strict=True):
            num, dd = self.num_den(br.name, wi, Bb, al)
            x = num / dd
            xs.append(x)
            dxa.append(-x / dd)
            dxt.append(dB * wi / dd)
        cos_t = tl.cos()
        f1 = sum((x * x for x in xs), arb(0)) - r * r
        f2 = sum((x * wi for x, wi in zip(xs, self.ws, strict=True)), arb(0)) - r * self.s * cos_t
        if not jac:
            return [f1, f2], None
        dra = r / den
        drt = self.fns["dA1"]([self.kb, tl]) * self.s / den
        j11 = sum((2 * x * g for x, g in zip(xs, dxa, strict=True)), arb(0)) - 2 * r * dra
        j12 = sum((2 * x * g for x, g in zip(xs, dxt, strict=True)), arb(0)) - 2 * r * drt
        j21 = sum((wi * g for wi, g in zip(self.ws, dxa, strict=True)), arb(0)) \
            - dra * self.s * cos_t
        j22 = sum((wi * g for wi, g in zip(self.ws, dxt, strict=True)), arb(0)) \
            - self.s * (drt * cos_t - r * tl.sin())
        return [f1, f2], [[j11, j12], [j21, j22]]

    def krawczyk(self, pat: tuple[_Branch, ...], a: fmpq, b: fmpq, c: fmpq, e: fmpq
                 ) -> tuple[fmpq, fmpq, fmpq, fmpq] | None:
        """Krawczyk: K(X) = m - Y F(m) + (I - Y J(X))(X - m) inside int X proves one zero."""
        for _ in range(3):
            al, tl = _ball(a, b), _ball(c, e)
            ma, mt = (a + b) / 2, (c + e) / 2
            fm, _ = self.F(pat, arb(ma), arb(mt), False)
            _, J = self.F(pat, al, tl, True)
            assert J is not None
            if not all(v.is_finite() for row in J for v in row):
                return None
            jm = [[float(v.mid()) for v in row] for row in J]
            det = jm[0][0] * jm[1][1] - jm[0][1] * jm[1][0]
            if det == 0 or not math.isfinite(det):
                return None
            Y = [[jm[1][1] / det, -jm[0][1] / det], [-jm[1][0] / det, jm[0][0] / det]]
            Yb = [[arb(v) for v in row] for row in Y]
            dx = [al - arb(ma), tl - arb(mt)]
            K = []
            for i in range(2):
                v = arb(ma if i == 0 else mt) - (Yb[i][0] * fm[0] + Yb[i][1] * fm[1])
                for j in range(2):
                    m_ij = (1 if i == j else 0) - (Yb[i][0] * J[0][j] + Yb[i][1] * J[1][j])
                    v += m_ij * dx[j]
                K.append(v)
            inside = (K[0] > arb(a) and K[0] < arb(b) and K[1] > arb(c) and K[1] < arb(e))
            if inside:
                return self.tighten(pat, (a, b, c, e), K)
            # shrink towards K(X) ∩ X and retry (a zero, if any, lies in the intersection)
            na = max(a, _q(_lo(K[0]))) if K[0].is_finite() else a
            nb = min(b, _q(_hi(K[0]))) if K[0].is_finite() else b
            nc = max(c, _q(_lo(K[1]))) if K[1].is_finite() else c
            ne = min(e, _q(_hi(K[1]))) if K[1].is_finite() else e
            if na >= nb or nc >= ne or (na, nb, nc, ne) == (a, b, c, e):
                return None
            a, b, c, e = na, nb, nc, ne
        return None

    def tighten(self, pat: tuple[_Branch, ...], box: tuple[fmpq, fmpq, fmpq, fmpq],
                K: list[arb]) -> tuple[fmpq, fmpq, fmpq, fmpq]:
        """The unique zero lies in K(X) (inside X): iterate X <- hull(K(X)) while it shrinks."""
        a, b, c, e = box
        for _ in range(30):
            na, nb = max(a, _q(_lo(K[0]))), min(b, _q(_hi(K[0])))
            nc, ne = max(c, _q(_lo(K[1]))), min(e, _q(_hi(K[1])))
            if not (na < nb and nc < ne) or (nb - na) >= (b - a) * fmpq(9, 10) \
                    and (ne - nc) >= (e - c) * fmpq(9, 10):
                break
            a, b, c, e = na, nb, nc, ne
            K2 = self.krawczyk_image(pat, a, b, c, e)
            if K2 is None:
                break
            K = K2
        return a, b, c, e

    def krawczyk_image(self, pat: tuple[_Branch, ...], a: fmpq, b: fmpq, c: fmpq, e: fmpq
                       ) -> list[arb] | None:
        al, tl = _ball(a, b), _ball(c, e)
        ma, mt = (a + b) / 2, (c + e) / 2
        fm, _ = self.F(pat, arb(ma), arb(mt), False)
        _, J = self.F(pat, al, tl, True)
        if J is None or not all(v.is_finite() for row in J for v in row):
            return None
        jm = [[float(v.mid()) for v in row] for row in J]
        det = jm[0][0] * jm[1][1] - jm[0][1] * jm[1][0]
        if det == 0 or not math.isfinite(det):
            return None
        Y = [[arb(jm[1][1] / det), arb(-jm[0][1] / det)],
             [arb(-jm[1][0] / det), arb(jm[0][0] / det)]]
        dx = [al - arb(ma), tl - arb(mt)]
        K = []
        for i in range(2):
            v = arb(ma if i == 0 else mt) - (Y[i][0] * fm[0] + Y[i][1] * fm[1])
            for j in range(2):
                v += ((1 if i == j else 0) - (Y[i][0] * J[0][j] + Y[i][1] * J[1][j])) * dx[j]
            K.append(v)
        return K

    def point(self, pat: tuple[_Branch, ...], box: tuple[fmpq, fmpq, fmpq, fmpq],
              eta: Any) -> CertifiedPoint:
        a, b, c, e = box
        al, tl = _ball(a, b), _ball(c, e)
        Bb, _, _ = self.scalars(al, tl)
        xs = [n / d for n, d in (self.num_den(br.name, wi, Bb, al)
                                  for br, wi in zip(pat, self.ws, strict=True))]
        good = all((br.name == "pruned") if wi.is_zero() else bool(x > 0 if wi > 0 else x < 0)
                   for br, x, wi in zip(pat, xs, self.ws, strict=True))
        verdict: Verdict | None = None
        rho: tuple[float, float] | None = None
        if eta is not None:
            _, _, r = self.scalars(al, tl)
            verdict, rho = _relu_stability(self, [br.name for br in pat], al, tl, r,
                                           arb(_q(eta)))
        return CertifiedPoint(tuple(br.name for br in pat), (float(a), float(b)),
                              tuple((_lo(x), _hi(x)) for x in xs), bool(good),
                              None if eta is None else True, verdict, rho)


def _relu_stability(rel: _RelU, names: list[str], al: arb, tl: arb, r: arb, eta: arb
                    ) -> tuple[Verdict, tuple[float, float]]:
    r"""Spectral radius of :math:`J = I - \eta M`, :math:`M = D + e_w\hat w\hat w^\top + e_n
    \hat n\hat n^\top` (limits.md step 5): :math:`D = \mathrm{diag}(\phi')` with
    :math:`\phi' = A + \beta` (pruned) or A (kept), :math:`e_w = \lambda_w - A`,
    :math:`e_n = \lambda_n - A` from :func:`theory.relu.hessian_eigenvalues_expr`.  Weyl's
    inequalities put the spectrum of M in :math:`[\min D + \min(0, e_w, e_n), \max D +
    \max(0, e_w, e_n)]`, and give :math:`\lambda_{\min}(M) \le \min D + \max(0, e_w, e_n)`,
    :math:`\lambda_{\max}(M) \ge \max D + \min(0, e_w, e_n)`; a value of D taken by three
    coordinates is an exact eigenvalue (a rank-2 update leaves part of its eigenspace).
    Attracting when :math:`|1 - \eta\mu| < 1` on the whole hull; repelling when an eigenvalue
    is certainly outside :math:`(0, 2/\eta)`; else undecided."""
    fns = _relu_hessian()
    args = [rel.kb, r, rel.s, tl]
    e_w = fns["lam_w"](args) - al
    e_n = fns["lam_n"](args) - al
    ds = {"pruned": al + rel.beta, "kept": al, "kept-negative": al}
    vals = [ds[n] for n in names]
    d_lo = vals[0]
    d_hi = vals[0]
    for v in vals[1:]:
        d_lo = d_lo.min(v)
        d_hi = d_hi.max(v)
    exact = _relu_spectrum(rel, vals, xs_of(rel, names, al, tl), e_w, e_n)
    if exact is not None:
        radii = [abs(1 - eta * mu) for mu in exact]
        r_lo = max(_lo(x) for x in radii)
        r_hi = max(_hi(x) for x in radii)
        if r_hi < 1:
            return "attracting", (r_lo, r_hi)
        if r_lo > 1:
            return "repelling", (r_lo, r_hi)
    e_lo = arb(0).min(e_w).min(e_n)
    e_hi = arb(0).max(e_w).max(e_n)
    mu_lo, mu_hi = d_lo + e_lo, d_hi + e_hi
    r_hi = _hi(abs(1 - eta * mu_lo).max(abs(1 - eta * mu_hi)))
    if r_hi < 1:
        return "attracting", (0.0, r_hi)
    # Weyl: lambda_min(M) <= d_lo + e_hi and lambda_max(M) >= d_hi + e_lo
    if (d_lo + e_hi) < 0 or (d_hi + e_lo) * eta > 2:
        return "repelling", (1.0, r_hi)
    for name in set(names):
        if names.count(name) >= 3 and abs(1 - eta * ds[name]) > 1:
            return "repelling", (_lo(abs(1 - eta * ds[name])), r_hi)
    return "undecided", (0.0, r_hi)


def xs_of(rel: _RelU, names: list[str], al: arb, tl: arb) -> list[arb]:
    """The fixed point's coordinates (balls) for a pattern over the box."""
    Bb = rel.fns["B"]([rel.kb, tl])
    out = []
    for name, wi, z in zip(names, rel.ws, rel.zero, strict=True):
        if z and name == "pruned":
            out.append(arb(0))
            continue
        num, den = rel.num_den(name, wi, Bb, al)
        out.append(num / den)
    return out


def _relu_spectrum(rel: _RelU, diag: list[arb], xs: list[arb], e_w: arb, e_n: arb
                   ) -> list[arb] | None:
    r"""Enclosures of every eigenvalue of :math:`M = D + e_w\hat w\hat w^\top + e_n\hat n
    \hat n^\top` (python-flint ``acb_mat.eig`` with ``multiple=True``, Rump's algorithm for
    clusters: rigorous), or None when it cannot isolate them (e.g. n^ undefined at t = 0, pi).
    Real parts are returned (M is symmetric)."""
    from flint import acb_mat

    d = len(xs)
    nrm = sum((x * x for x in xs), arb(0)).sqrt()
    if not nrm > 0:
        return None
    wh = [x / nrm for x in xs]
    ws_hat = [wi / rel.s for wi in rel.ws]
    c = sum((a * b for a, b in zip(wh, ws_hat, strict=True)), arb(0))
    n = [b - c * a for a, b in zip(wh, ws_hat, strict=True)]
    nn = sum((v * v for v in n), arb(0)).sqrt()
    if not nn > 0:
        return None
    nh = [v / nn for v in n]
    rows = [[(diag[i] if i == j else arb(0)) + e_w * wh[i] * wh[j] + e_n * nh[i] * nh[j]
             for j in range(d)] for i in range(d)]
    try:
        eigs = acb_mat(rows).eig(multiple=True)
    except (ValueError, ArithmeticError):
        return None
    out = [e.real for e in eigs]
    if not all(x.is_finite() for x in out):
        return None
    return out


_HESS: dict[str, Any] = {}


def _relu_hessian() -> dict[str, Any]:
    if not _HESS:
        from theory import relu
        from theory.certify.arb_eval import compile_arb

        lam_w, lam_n, _ = relu.hessian_eigenvalues_expr()
        syms = [relu.k, relu.r, relu.s, relu.t]
        _HESS.update(lam_w=compile_arb(lam_w, syms), lam_n=compile_arb(lam_n, syms))
    return _HESS


def _corner(rel: _RelU, out: CertifiedSet) -> None:
    r"""The corner :math:`A = -\beta`, :math:`t = \pi`: there :math:`B = 0` and every pruned
    value is 0/0, so any x with every :math:`|x_i| \le \theta` solves the coordinate
    equations; the angle :math:`\pi` and :math:`|x| = r_c = A_1(\pi)s/(A_0 + \beta)` force
    :math:`x = -r_c \hat w^*` (the loss's saddle direction).  It is a fixed point iff every
    :math:`r_c|\hat w^*_i| \le \theta` (a kept coordinate there would need
    :math:`|x_i| > \theta` from :math:`\phi(x) = 0`: l1 gives :math:`|x| = \tau`, l0 gives 0)."""
    a1 = rel.fns["A1"]([rel.kb, arb.pi()])
    rc = a1 * rel.s / (rel.A0 + rel.beta)
    xs = [-rc * wi / rel.s for wi in rel.ws]
    valid = [rel.valid(_Branch("pruned", arb(0), rel.beta, "abs_le"), x) for x in xs]
    if all(v is True for v in valid):
        A = -rel.beta
        out.points.append(CertifiedPoint(("pruned",) * len(xs), (_lo(A), _hi(A)),
                                         tuple((_lo(x), _hi(x)) for x in xs), False, None, None,
                                         None))
    elif any(v is None for v in valid):
        out.status = "undecided"
        out.reasons.append("the corner point -r_c w*^ has a coordinate on the threshold")


def _line_families(rel: _RelU, out: CertifiedSet, max_boxes: int) -> None:
    r"""Coordinates with :math:`w^*_i = 0` are free on two lines: on :math:`A = 0` (l0) a
    kept one solves :math:`0\cdot x = 0` for any :math:`|x| > z`, and on :math:`A = -\beta`
    a pruned one any :math:`|x| \le \theta`.  On such a line every support coordinate has one
    valid kind (A = 0: pruned, :math:`x = Bw^*_i/\beta`; A = -beta: kept, the pruned value
    being :math:`y/0`), the free ones do not enter :math:`F_2`, so
    :math:`h(t) = \sum_{\mathrm{supp}} x_i w^*_i - r(A, t)s\cos t = 0` fixes t, and a family
    exists at a root iff :math:`r^2 - \sum_{\mathrm{supp}} x_i^2` lies in the free
    coordinates' range.  Roots of h are found by bisection in t (excluded by enclosure,
    certified by a sign change at exact ends with :math:`h' \ne 0` estimated by enclosure of
    h on the interval being monotone is not needed: each certified interval holds at least one
    root and the family is reported for each; an interval whose h cannot be separated from 0
    is undecided)."""
    zeros = [i for i, z in enumerate(rel.zero) if z]
    if not zeros:
        return
    lines = [arb(-1) * rel.beta]
    if rel.penalty == "l0":
        lines.append(arb(0))
    pi_hi = _q(math.ceil(_hi(arb.pi()) * 2**40) / 2**40)
    for A in lines:
        at_zero = A.is_zero()
        supp_kinds = ["pruned"] if at_zero else (
            ["kept", "kept-negative"] if rel.penalty == "l1" else ["kept"])
        combos = list(itertools.product(supp_kinds, repeat=len(rel.ws) - len(zeros)))

        def h_of(tl: arb, kinds: tuple[str, ...], A: arb = A) -> tuple[arb, arb, list[arb]]:
            Bb = rel.fns["B"]([rel.kb, tl])
            a1 = rel.fns["A1"]([rel.kb, tl])
            r = a1 * rel.s / (rel.A0 - A)
            xs = []
            it = iter(kinds)
            for i, wi in enumerate(rel.ws):
                if rel.zero[i]:
                    continue
                num, den = rel.num_den(next(it), wi, Bb, A)
                xs.append(num / den)
            supp_w = [wi for i, wi in enumerate(rel.ws) if not rel.zero[i]]
            h = sum((x * w for x, w in zip(xs, supp_w, strict=True)), arb(0)) \
                - r * rel.s * tl.cos()
            return h, r, xs

        for kinds in combos:
            stack = [(fmpq(0), pi_hi)]
            n = 0
            while stack:
                c, e = stack.pop()
                n += 1
                if n > max_boxes:
                    out.status = "undecided"
                    out.reasons.append("line families: budget exhausted")
                    return
                tl = _ball(c, e)
                h, r, xs = h_of(tl, kinds)
                kinds_ok = [rel.valid(_Branch(k_, arb(0), arb(0), "abs_le" if k_ == "pruned"
                                              else ("gt" if k_ == "kept" and rel.penalty == "l1"
                                                    else ("lt" if rel.penalty == "l1"
                                                          else "abs_gt"))), x)
                            for k_, x in zip(kinds, xs, strict=True)]
                if any(v is False for v in kinds_ok):
                    continue
                if h.is_finite() and not h.contains(0):
                    continue
                ha, _, _ = h_of(arb(c), kinds)
                hb, _, _ = h_of(arb(e), kinds)
                if all(v is True for v in kinds_ok) and ((ha < 0 and hb > 0) or
                                                          (ha > 0 and hb < 0)):
                    rising = bool(ha < 0)
                    for _ in range(120):  # shrink around a root (sign change kept)
                        m = (c + e) / 2
                        hm, _, _ = h_of(arb(m), kinds)
                        if (hm < 0) == rising and (hm < 0 or hm > 0):
                            c = m
                        elif hm < 0 or hm > 0:
                            e = m
                        else:
                            break
                    h, r, xs = h_of(_ball(c, e), kinds)
                    free2 = r * r - sum((x * x for x in xs), arb(0))
                    lo2 = rel.thr * rel.thr if at_zero else arb(0)
                    exists: bool | None
                    if at_zero:  # free kept: each |x| > z, at least one of them
                        exists = True if free2 > lo2 else (False if free2 <= lo2 else None)
                    else:  # free pruned: each |x| <= theta
                        cap = len(zeros) * rel.thr * rel.thr
                        exists = True if (free2 >= 0 and free2 <= cap) else (
                            False if (free2 < 0 or free2 > cap) else None)
                    if exists is not False:
                        # members are vectors of norm r: scale the enclosures to |w| = 1 below
                        values: list[tuple[float, float]] = []
                        it = iter(xs)
                        for i in range(len(rel.ws)):
                            if rel.zero[i]:
                                values.append((_lo(rel.thr / r) if at_zero else 0.0,
                                               math.inf if at_zero else _hi(rel.thr / r)))
                            else:
                                v = next(it) / r
                                values.append((_lo(v), _hi(v)))
                        out.families.append(CertifiedFamily(
                            f"A = {'0' if at_zero else '-beta'}, t in [{float(c):.12g}, "
                            f"{float(e):.12g}]", tuple(zeros),
                            ("|w_i| > z" if at_zero else "|w_i| <= threshold")
                            + " for the free coordinates", tuple(), exists,
                            "h(t) changes sign on the interval; the free coordinates carry "
                            "|x|^2 = r^2 - (support part)", tuple(values),
                            (_lo(r), _hi(r)), at_zero))
                        if exists is None:
                            out.status = "undecided"
                            out.reasons.append("a line family's existence is on a tie")
                    continue
                if float(e - c) < 2.0**-45:
                    out.status = "undecided"
                    out.reasons.append(f"line A = {'0' if at_zero else '-beta'}: h(t) not "
                                       f"separated from 0 near t = {float(c):.12g}")
                    break
                m = (c + e) / 2
                stack += [(m, e), (c, m)]


def _saddle(rel: _RelU, out: CertifiedSet) -> None:
    r"""l0 at :math:`A = 0`, :math:`t = \pi`: B = 0, so a kept value solves :math:`0 x = 0`
    (free) and a pruned one is 0; the angle :math:`\pi` and :math:`|x| = r_0 =
    A_1(\pi)s/A_0` force :math:`x = -r_0\hat w^*`, the loss's saddle :math:`-(b/a)w^*`, so
    every support coordinate is kept.  It is a fixed point iff every support coordinate has
    :math:`r_0|\hat w^*_i| > z`."""
    if rel.penalty != "l0":
        return
    a1 = rel.fns["A1"]([rel.kb, arb.pi()])
    r0 = a1 * rel.s / rel.A0
    xs = [-r0 * wi / rel.s for wi in rel.ws]
    valid = [True if rel.zero[i] else rel.valid(_Branch("kept", arb(0), arb(0), "abs_gt"), x)
             for i, x in enumerate(xs)]
    if all(v is True for v in valid):
        out.points.append(CertifiedPoint(
            tuple("pruned" if z else "kept" for z in rel.zero), (0.0, 0.0),
            tuple((_lo(x), _hi(x)) for x in xs), False, None, None, None))
    elif any(v is None for v in valid):
        out.status = "undecided"
        out.reasons.append("the saddle point -r_0 w*^ has a coordinate on the threshold")


def _parallel_lines(rel: _RelU, out: CertifiedSet, a_lo: fmpq, a_hi: fmpq,
                    max_boxes: int) -> None:
    r"""Patterns with :math:`x \parallel w^*` (:meth:`_RelU.parallel`) on the lines
    :math:`t = 0` (x a positive multiple of :math:`w^*`) and :math:`t = \pi` (negative): one
    unknown A, closed by :math:`g(A) = |x|^2 - r(A)^2 = 0`; bisection with exclusion by
    enclosure, and certification by validity on the interval, a sign change of g at its exact
    ends and :math:`g' \ne 0` (:math:`x_i' = -x_i/\mathrm{den}_i`, :math:`r' = r/(A_0 - A)`).
    The corner :math:`A = -\beta, t = \pi` is :func:`_corner`'s."""
    for t0 in (arb(0), arb.pi()):
        # B(pi) = 0 exactly (B = (pi - t)/(pi k), certified in relu.critical_points)
        Bb = rel.fns["B"]([rel.kb, t0]) if t0.is_zero() else arb(0)
        a1 = rel.fns["A1"]([rel.kb, t0])
        sign = 1 if t0.is_zero() else -1
        stack = [(a_lo, a_hi)]
        width0 = float(a_hi - a_lo)
        n = 0
        while stack:
            a, b = stack.pop()
            n += 1
            if n > max_boxes:
                out.status = "undecided"
                out.reasons.append("parallel patterns: box budget exhausted")
                return
            al = _ball(a, b)
            den = rel.A0 - al
            if not den > 0:
                if _hi(den) <= 0:
                    continue
                if a1 > 0 and _lo(a1) * _lo(rel.s) / _hi(den) > _hi(rel.r_max):
                    continue
            opts = rel.opts(al, Bb)
            if any(not o for o in opts):
                continue
            unresolved = []
            for combo in itertools.product(*opts):
                pat = tuple(br for br, _, _ in combo)
                if not rel.parallel(pat):
                    continue
                if sign < 0 and all(br.name == "pruned" for br in pat):
                    continue  # x = 0 off the corner
                res = _line_pattern(rel, pat, combo, a, b, Bb, a1, sign)
                if res == "excluded":
                    continue
                if isinstance(res, tuple):
                    xs = res
                    out.points.append(CertifiedPoint(
                        tuple(br.name for br in pat), (float(a), float(b)),
                        tuple((_lo(x), _hi(x)) for x in xs),
                        sign > 0 and all((br.name == "pruned") if rel.zero[i] else
                                         bool(x > 0 if rel.ws[i] > 0 else x < 0)
                                         for i, (br, x) in enumerate(zip(pat, xs, strict=True))),
                        None, None, None))
                    continue
                unresolved.append(tuple(br.name for br in pat))
            if not unresolved:
                continue
            if float(b - a) < 2.0**-50 * width0:
                out.status = "undecided"
                out.reasons.append(f"line t = {'0' if sign > 0 else 'pi'}, A in "
                                   f"[{float(a):.12g}, {float(b):.12g}]: pattern "
                                   f"{unresolved[0]} neither excluded nor certified")
                continue
            m = (a + b) / 2
            stack += [(m, b), (a, m)]


def _line_pattern(rel: _RelU, pat: tuple[_Branch, ...], combo: tuple, a: fmpq, b: fmpq,
                  Bb: arb, a1: arb, sign: int) -> str | tuple[arb, ...] | None:
    al = _ball(a, b)

    def values(A: arb) -> tuple[list[arb], arb]:
        xs = []
        for i, br in enumerate(pat):
            if rel.zero[i]:
                xs.append(arb(0))
                continue
            num, den = rel.num_den(br.name, rel.ws[i], Bb, A)
            xs.append(num / den)
        r = a1 * rel.s / (rel.A0 - A)
        return xs, r

    if Bb.is_zero() and rel.penalty == "l0" and any(
            br.name == "kept" and not rel.zero[i] for i, br in enumerate(pat)):
        return "excluded"  # kept x = 0/A = 0 is invalid off A = 0 (the saddle, _saddle)
    xs, r = values(al)
    if not all(x.is_finite() for x in xs) or not r.is_finite():
        for i, (br, x) in enumerate(zip(pat, xs, strict=True)):
            if x.is_finite() or br.name != "pruned" or rel.zero[i]:
                continue
            # |x| >= |num|/|den| over the interval; a pruned value must stay <= threshold
            num = abs(Bb * rel.ws[i])
            den_hi = _hi(abs(al + rel.beta))
            if den_hi > 0 and max(0.0, _lo(num)) / den_hi > _hi(rel.thr) * (1 + 1e-12):
                return "excluded"
        if r.is_finite():
            low = 0.0
            for i, (br, x) in enumerate(zip(pat, xs, strict=True)):
                if x.is_finite():
                    low += max(0.0, _lo(x * x))
                elif not rel.zero[i]:
                    num, den = rel.num_den(br.name, rel.ws[i], Bb, al)
                    num, den_hi = abs(num), _hi(abs(den))
                    low += (max(0.0, _lo(num)) / den_hi) ** 2 if den_hi > 0 else math.inf
            if low > _hi(r * r) * (1 + 1e-12):
                return "excluded"
        return None
    g = sum((x * x for x in xs), arb(0)) - r * r
    dot = sum((x * w for x, w in zip(xs, rel.ws, strict=True)), arb(0))
    if not g.contains(0) or (dot < 0 if sign > 0 else dot > 0):
        return "excluded"
    if any(v is False for _, _, v in combo):
        return "excluded"
    if any(v is not True for _, _, v in combo) or not (dot > 0 if sign > 0 else dot < 0):
        return None
    dg = arb(0)
    for i, (br, x) in enumerate(zip(pat, xs, strict=True)):
        if not rel.zero[i]:
            dg -= 2 * x * x / (al + (rel.beta if br.name == "pruned" else arb(0)))
    dg -= 2 * r * r / (rel.A0 - al)
    if dg.contains(0):
        return None
    ga = values(arb(a))
    gb = values(arb(b))
    g_a = sum((x * x for x in ga[0]), arb(0)) - ga[1] * ga[1]
    g_b = sum((x * x for x in gb[0]), arb(0)) - gb[1] * gb[1]
    if (g_a < 0 and g_b > 0) or (g_a > 0 and g_b < 0):
        return tuple(xs)
    if (g_a > 0 and g_b > 0) or (g_a < 0 and g_b < 0):
        return "excluded"
    return None
