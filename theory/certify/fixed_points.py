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
    """Enclosure of every coordinate: the fixed ones' values, the free ones' admissible |w_i|
    range (``(thr, inf)`` for kept, ``(0, thr)`` for pruned)."""

    def contains(self, w: Sequence[float], tol: float = 1e-9) -> bool:
        """Whether the unit vector ``w`` (floats) is a member, to ``tol``."""
        if abs(math.fsum(x * x for x in w) - 1) > 10 * tol:
            return False
        for i, (x, (lo, hi)) in enumerate(zip(w, self.values, strict=True)):
            v = abs(x) if i in self.free else x
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
    f = Fraction(x) if not isinstance(x, float) else Fraction(x)
    return fmpq(f.numerator, f.denominator)


def _ball(a: fmpq, b: fmpq) -> arb:
    return arb(a) if a == b else arb((a + b) / 2, (b - a) / 2)


def _lo(x: arb) -> float:
    return float(x.lower().mid()) - float(x.lower().rad())


def _hi(x: arb) -> float:
    return float(x.upper().mid()) + float(x.upper().rad())


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
        kk = int(k)
        c = 1 / (kk * (2 * arb.pi()).sqrt()) * (2 if ste == "identity" else 1)
        a_c = c  # the coefficient of w^ equals c for both constant-coefficient STEs
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
                if not sys_.zero[i] and not (br.num.is_zero()):
                    continue  # num/0 with num != 0: no solution
                if sys_.zero[i] or br.num.is_zero():
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
