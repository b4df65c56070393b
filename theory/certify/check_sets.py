r"""Independent checker of ``rvsm-fixed-point-set/1`` certificates (binary RVSCGD, l1 and l0).

The checker replays a certificate written by :func:`theory.certify.fixed_points.certify_binary`
without sharing any of its code: it imports only the standard library, ``mpmath`` and a few
interval helpers of :mod:`theory.certify.check` (itself independent of the search).  Interval
arithmetic is ``mpmath.iv`` at ``iv.prec = max(2 * precision_bits, 128)`` (restored on return).

The mathematics (``fixed_points``'s module docstring): a unit :math:`w` is fixed iff, for one
scalar :math:`\alpha \in [-c - \beta, c]`, every coordinate solves :math:`\phi_\alpha(x_i) = y_i
= c\,w^*_i/|w^*|` on one branch (l1, :math:`\tau = \lambda/\beta`: pruned :math:`y/(\alpha +
\beta)`, :math:`|x| \le \tau`; kept :math:`(y - \lambda)/\alpha`, :math:`x > \tau`; kept-negative
:math:`(y + \lambda)/\alpha`, :math:`x < -\tau`; l0, :math:`z = \sqrt{2\tau}`: pruned
:math:`y/(\alpha + \beta)`, :math:`|x| \le z`; kept :math:`y/\alpha`, :math:`|x| > z`) and
:math:`g(\alpha) = \sum_i x_i^2 - 1 = 0`.  :math:`c = 1/(k\sqrt{2\pi})` (``relu``), twice that
(``identity``).

What :func:`check_set` verifies
-------------------------------

* the format tag, ``model == "binary"``, the penalty, the instance (exact rationals ``p/q``);
  ``status`` must be ``complete`` (``undecided`` certificates are never accepted);
* the domain ``[lo, hi]`` contains the a-priori range: ``lo <= -c - beta`` and ``hi >= c``;
* the ``cover`` tiles ``[lo, hi]`` exactly (sorted; first start ``lo``, each start the previous
  end, last end ``hi``, every interval of positive width; exact rational comparison);
* every cover interval ``[a, b]``: the branches of each coordinate are recomputed and those
  certainly invalid on it dropped (a coordinate with :math:`w^*_i = 0` has ``x = 0`` exactly on
  a branch whose numerator vanishes, off the denominator's root, i.e. off :math:`\alpha = 0` or
  :math:`-\beta`, which are checked separately below; a denominator meeting 0 gives an
  unbounded, possibly valid value with :math:`x^2 \ge (|num|_{lo}/|den|_{hi})^2`).  No fixed
  point lies in the interval when a coordinate has no branch, or the hull of
  :math:`\sum x_i^2` certainly misses 1; otherwise every pattern (one branch per coordinate) is
  *excluded* (its :math:`\sum x_i^2` certainly :math:`\ne 1`, or :math:`g'` certainly nonzero on
  the interval and :math:`g` of one strict sign at both exact ends) or *listed*.  An
  ``excluded`` interval must have no pattern left; a ``points`` interval lists exactly the
  patterns left, each with a root interval ``[ra, rb]`` inside ``[a, b]`` on which every branch
  is certainly (strictly) valid, :math:`g(ra)`, :math:`g(rb)` of strict opposite signs (or
  :math:`g(ra) = 0` exactly when ``ra == rb``), and :math:`g' = -2\sum_i x_i^2/\mathrm{den}_i`
  certainly nonzero on the whole cover interval (one root of that pattern there);
* the exact values :math:`\alpha = 0` and :math:`-\beta`: every coordinate's options are
  recomputed (a branch whose denominator vanishes there is *free* when its numerator is exactly
  0, i.e. :math:`w^*_i = 0` on the l0 kept branch at 0 or the pruned branch at
  :math:`-\beta`, and has no solution when its numerator is certainly nonzero); a choice with
  no free coordinate must have :math:`\sum x_i^2` certainly :math:`\ne 1` (no isolated point
  there), a choice with free coordinates is a family whose existence is decided from the
  achievable range of :math:`\sum x_i^2` (fixed values plus :math:`[0, thr^2]` per pruned free
  coordinate, :math:`(thr^2, \infty)` per kept one).  Every family that exists must be in
  ``families`` with ``exists: true``; every listed family must be one of the recomputed ones,
  with the recomputed verdict; an undecidable one rejects;
* ``points`` (the summary list) is the list of the cover's certified points (same patterns, in
  the order of ``alpha``, ``alpha`` the floats of the root interval's ends); each ``good`` flag
  is recomputed (pruned on :math:`w^*_i = 0`, the sign of :math:`w^*_i` elsewhere); with
  ``eta``: ``gamma_positive`` (:math:`\gamma = 1 + \eta(\alpha - c)`) and the stability verdict
  are re-proved on the root interval from the exact tangent spectrum (:math:`\alpha` if two
  coordinates are kept, :math:`\alpha + \beta` if two are pruned, :math:`\mu^* = \alpha|w_P|^2
  + (\alpha + \beta)|w_K|^2` if both sets are non-empty): ``attracting`` needs
  :math:`\max|1 - (\eta/\gamma)\mu| < 1`, ``repelling`` some :math:`|1 - (\eta/\gamma)\mu| > 1`
  (``undecided``/``null`` claim nothing).  A one-coordinate instance (:math:`S^0`) is attracting.

Not verified: the float enclosures ``w_bar``, ``spectral_radius``, a family's ``values`` (they
are summaries); ``reasons``, ``boxes``, ``seconds``.
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from mpmath import iv, libmp

from theory.certify.check import (
    _exact,
    _finite,
    _fmt,
    _ipow,
    _load,
    _Malformed,
    _mk,
    _parse_rational,
    _range,
)

__all__ = ["FORMAT", "SetCheckReport", "check_set"]

FORMAT = "rvsm-fixed-point-set/1"

_MAX_PATTERNS = 4096
"""An interval whose product of possible branches exceeds this is rejected (not replayed)."""

_MAX_REASONS = 40

_ONE, _ZERO, _FINF = libmp.fone, libmp.fzero, libmp.finf
_lt, _le, _gt, _ge = libmp.mpf_lt, libmp.mpf_le, libmp.mpf_gt, libmp.mpf_ge


@dataclass(frozen=True)
class SetCheckReport:
    """Outcome of :func:`check_set`: ``ok`` when every check passed; ``reasons`` says why not;
    ``intervals``: cover intervals replayed; ``seconds``: wall time."""

    ok: bool
    reasons: list[str]
    intervals: int
    seconds: float


def _lo(x: Any) -> tuple:
    return x._mpi_[0]


def _hi(x: Any) -> tuple:
    return x._mpi_[1]


def _ne1(s: Any) -> bool:
    """``s`` (an interval, the upper end possibly +inf) certainly misses 1."""
    return _gt(_lo(s), _ONE) or _lt(_hi(s), _ONE)


def _sign(x: Any) -> int:
    """+1 / -1 if the interval is certainly positive / negative, else 0."""
    if _gt(_lo(x), _ZERO):
        return 1
    if _lt(_hi(x), _ZERO):
        return -1
    return 0


def _f(q: Fraction) -> str:
    return f"{float(q):.12g}"


@dataclass(frozen=True)
class _Br:
    name: str
    num: Any            # the numerator (an interval)
    exact_zero: bool    # the numerator is exactly 0 (w*_i = 0 and no lam term)
    shift: Fraction     # x = num / (alpha + shift)
    kind: str           # abs_le (|x| <= thr), abs_gt (|x| > thr), gt (x > thr), lt (x < -thr)


_Opt = tuple[_Br, Any, bool | None, Any]  # (branch, x or None if unbounded, valid?, x^2 bounds)


class _Instance:
    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise _Malformed(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        if data.get("model") != "binary":
            raise _Malformed(f"model {data.get('model')!r}: only 'binary' is supported")
        self.penalty = data.get("penalty")
        if self.penalty not in ("l1", "l0"):
            raise _Malformed(f"penalty {self.penalty!r}: only l1 and l0 are supported")
        inst = data.get("instance")
        if not isinstance(inst, dict):
            raise _Malformed("no instance")
        ws = inst.get("w_star")
        if not isinstance(ws, list) or not ws:
            raise _Malformed("instance.w_star: expected a non-empty list")
        self.ws = [_parse_rational(v, f"w_star[{i}]") for i, v in enumerate(ws)]
        if not any(self.ws):
            raise _Malformed("w_star is 0")
        k = inst.get("k")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise _Malformed(f"instance.k: expected a positive integer, got {k!r:.40}")
        self.lam = _parse_rational(inst.get("lam"), "instance.lam")
        self.beta = _parse_rational(inst.get("beta"), "instance.beta")
        if self.lam < 0 or self.beta <= 0:
            raise _Malformed("need lam >= 0 and beta > 0")
        eta = inst.get("eta")
        self.eta = None if eta is None else _parse_rational(eta, "instance.eta")
        if self.eta is not None and self.eta <= 0:
            raise _Malformed("need eta > 0")
        ste = inst.get("ste", "relu")
        if ste not in ("relu", "identity"):
            raise _Malformed(f"ste {ste!r}: only relu and identity (constant coefficients)")
        prec = inst.get("precision_bits", 128)
        if isinstance(prec, bool) or not isinstance(prec, int) or prec < 1:
            raise _Malformed(f"instance.precision_bits: {prec!r:.40}")
        self.prec = max(2 * prec, 128)
        dom = inst.get("domain")
        if not isinstance(dom, list) or len(dom) != 2:
            raise _Malformed("instance.domain: expected [lo, hi]")
        self.lo = _parse_rational(dom[0], "domain[0]")
        self.hi = _parse_rational(dom[1], "domain[1]")
        self.k, self.ste = k, ste
        self.d = len(self.ws)

    def setup(self) -> None:
        """The intervals (call with iv.prec set)."""
        norm = iv.sqrt(_exact(sum((v * v for v in self.ws), Fraction(0))))
        c = 1 / (self.k * iv.sqrt(2 * iv.pi))
        self.c = 2 * c if self.ste == "identity" else c
        self.tau = self.lam / self.beta
        self.thr = _exact(self.tau) if self.penalty == "l1" else iv.sqrt(_exact(2 * self.tau))
        self.thr_sq = _exact(self.tau**2 if self.penalty == "l1" else 2 * self.tau)
        lam = _exact(self.lam)
        zero_iv = _exact(Fraction(0))
        self.branches: list[list[_Br]] = []
        for w in self.ws:
            y = zero_iv if w == 0 else self.c * _exact(w) / norm
            bs = [_Br("pruned", y, w == 0, self.beta, "abs_le")]
            if self.penalty == "l1":
                bs.append(_Br("kept", y - lam, w == 0 and self.lam == 0, Fraction(0), "gt"))
                bs.append(_Br("kept-negative", y + lam, w == 0 and self.lam == 0, Fraction(0),
                              "lt"))
            else:
                bs.append(_Br("kept", y, w == 0, Fraction(0), "abs_gt"))
            self.branches.append(bs)
        self.names = [[br.name for br in bs] for bs in self.branches]

    # ----------------------------------------------------------------- branch arithmetic

    def value(self, br: _Br, a: Fraction, b: Fraction) -> Any:
        """x on alpha in [a, b]: an interval, or None when the denominator meets 0 (for an
        exactly-zero numerator: 0, valid off the denominator's root)."""
        if br.exact_zero:
            return _exact(Fraction(0))
        da, db = a + br.shift, b + br.shift
        if da <= 0 <= db:
            return None
        return br.num / _range(da, db)

    def valid(self, br: _Br, x: Any) -> bool | None:
        """Whether x is on the branch: True/False when certain (True strictly inside), None."""
        if x is None:
            return None
        t = self.thr
        if br.kind in ("abs_le", "abs_gt"):
            ax = abs(x)
            inside = _lt(_hi(ax), _lo(t))      # certainly |x| < thr
            outside = _gt(_lo(ax), _hi(t))     # certainly |x| > thr
            if br.kind == "abs_le":
                return True if inside else (False if outside else None)
            le = _le(_hi(ax), _lo(t))          # certainly |x| <= thr
            return True if outside else (False if le else None)
        if br.kind == "gt":
            return True if _gt(_lo(x), _hi(t)) else (False if _le(_hi(x), _lo(t)) else None)
        mt = -t
        return True if _lt(_hi(x), _lo(mt)) else (False if _ge(_lo(x), _hi(mt)) else None)

    def sq(self, br: _Br, x: Any, a: Fraction, b: Fraction) -> Any:
        """Bounds of x^2 over alpha in [a, b] (upper +inf when unbounded)."""
        if x is not None:
            return _ipow(x, 2)
        dmax = max(abs(a + br.shift), abs(b + br.shift))
        if dmax == 0:
            return _mk(_ZERO, _FINF)
        low = _ipow(abs(br.num) / _exact(dmax), 2)
        return _mk(_lo(low), _FINF)

    def options(self, i: int, a: Fraction, b: Fraction) -> list[_Opt]:
        out = []
        for br in self.branches[i]:
            x = self.value(br, a, b)
            v = self.valid(br, x)
            if v is not False:
                out.append((br, x, v, self.sq(br, x, a, b)))
        return out

    def g(self, pat: Sequence[_Br], p: Fraction) -> Any:
        """g at the exact alpha p, None where a denominator vanishes."""
        s = _exact(Fraction(-1))
        for br in pat:
            x = self.value(br, p, p)
            if x is None:
                return None
            s = s + _ipow(x, 2)
        return s

    def dg_sign(self, pat: Sequence[_Br], a: Fraction, b: Fraction) -> int:
        """The certain sign of g' = -2 sum x_i^2/den_i on [a, b] (0: unknown or unbounded)."""
        s = _exact(Fraction(0))
        for br in pat:
            if br.exact_zero:
                continue
            x = self.value(br, a, b)
            if x is None:
                return 0
            s = s - 2 * _ipow(x, 2) / _range(a + br.shift, b + br.shift)
        return _sign(s) if _finite(s) else 0


class _Checker:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.intervals = 0
        self.cover_points: list[tuple[Fraction, Fraction, tuple[str, ...]]] = []

    def fail(self, msg: str) -> None:
        self.reasons.append(msg)

    def run(self, data: dict[str, Any]) -> None:
        inst = _Instance(data)
        if data.get("status") != "complete":
            self.fail(f"status is {data.get('status')!r}: only 'complete' certificates are "
                      "accepted")
        iv.prec = inst.prec
        inst.setup()
        self.inst = inst
        self.check_domain()
        cover = self.parse_cover(data.get("cover"))
        for a, b, verdict, listed in cover:
            self.intervals += 1
            self.check_interval(a, b, verdict, listed)
        for alpha0 in sorted({Fraction(0), -inst.beta}):
            self.check_special(alpha0, data.get("families"))
        self.check_families_alphas(data.get("families"))
        self.check_points(data.get("points"))

    # --------------------------------------------------------------- domain and cover

    def check_domain(self) -> None:
        inst = self.inst
        low = -inst.c - _exact(inst.beta)
        if not _le(_hi(_exact(inst.lo)), _lo(low)):
            self.fail(f"domain: lo = {_f(inst.lo)} is not certainly <= -c - beta = {_fmt(low)}")
        if not _ge(_lo(_exact(inst.hi)), _hi(inst.c)):
            self.fail(f"domain: hi = {_f(inst.hi)} is not certainly >= c = {_fmt(inst.c)}")

    def parse_cover(self, raw: Any) -> list[tuple[Fraction, Fraction, str, list]]:
        if not isinstance(raw, list) or not raw:
            raise _Malformed("cover: expected a non-empty list")
        out = []
        for j, e in enumerate(raw):
            if not isinstance(e, dict) or not isinstance(e.get("alpha"), list) \
                    or len(e["alpha"]) != 2:
                raise _Malformed(f"cover[{j}]: expected {{'alpha': [a, b], 'verdict': ...}}")
            a = _parse_rational(e["alpha"][0], f"cover[{j}].alpha[0]")
            b = _parse_rational(e["alpha"][1], f"cover[{j}].alpha[1]")
            verdict = e.get("verdict")
            if verdict not in ("excluded", "points"):
                raise _Malformed(f"cover[{j}]: verdict {verdict!r}")
            listed = e.get("points", []) if verdict == "points" else []
            if not isinstance(listed, list):
                raise _Malformed(f"cover[{j}].points: expected a list")
            if verdict == "excluded" and e.get("points"):
                self.fail(f"cover[{j}]: 'excluded' interval lists points")
            out.append((a, b, verdict, listed))
        out.sort(key=lambda t: (t[0], t[1]))
        inst = self.inst
        if out[0][0] != inst.lo:
            self.fail(f"cover: starts at {_f(out[0][0])}, not at the domain's lo {_f(inst.lo)}")
        if out[-1][1] != inst.hi:
            self.fail(f"cover: ends at {_f(out[-1][1])}, not at the domain's hi {_f(inst.hi)}")
        for (_, b0, _, _), (a1, _, _, _) in itertools.pairwise(out):
            if a1 != b0:
                what = "gap" if a1 > b0 else "overlap"
                self.fail(f"cover: {what} between {_f(b0)} and {_f(a1)}")
        for a, b, _, _ in out:
            if not a < b:
                self.fail(f"cover: interval [{_f(a)}, {_f(b)}] is empty or a point")
        return out

    # ------------------------------------------------------------------ one interval

    def parse_pattern(self, raw: Any, where: str) -> tuple[_Br, ...] | None:
        inst = self.inst
        if not isinstance(raw, list) or len(raw) != inst.d:
            self.fail(f"{where}: pattern {raw!r:.80} is not a list of {inst.d} branch names")
            return None
        pat = []
        for i, name in enumerate(raw):
            if name not in inst.names[i]:
                self.fail(f"{where}: unknown branch {name!r:.40} for coordinate {i}")
                return None
            pat.append(inst.branches[i][inst.names[i].index(name)])
        return tuple(pat)

    def excluded(self, combo: Sequence[_Opt], a: Fraction, b: Fraction) -> bool:
        """No root of this pattern in [a, b] (off the special alphas)."""
        s = _exact(Fraction(0))
        for _, _, _, sq in combo:
            s = s + sq
        if _ne1(s):
            return True
        if any(x is None for _, x, _, _ in combo):
            return False
        pat = [br for br, _, _, _ in combo]
        if self.inst.dg_sign(pat, a, b) == 0:
            return False
        ga, gb = self.inst.g(pat, a), self.inst.g(pat, b)
        if ga is None or gb is None:
            return False
        sa, sb = _sign(ga), _sign(gb)
        return sa != 0 and sa == sb

    def verify_root(self, pat: tuple[_Br, ...], entry: dict, a: Fraction, b: Fraction,
                    where: str) -> tuple[Fraction, Fraction] | None:
        inst = self.inst
        root = entry.get("root")
        if not isinstance(root, list) or len(root) != 2:
            self.fail(f"{where}: no root interval")
            return None
        ra = _parse_rational(root[0], f"{where}.root[0]")
        rb = _parse_rational(root[1], f"{where}.root[1]")
        if not a <= ra <= rb <= b:
            self.fail(f"{where}: root interval [{_f(ra)}, {_f(rb)}] is not inside the cover "
                      f"interval [{_f(a)}, {_f(b)}]")
            return None
        for i, br in enumerate(pat):
            if inst.valid(br, inst.value(br, ra, rb)) is not True:
                self.fail(f"{where}: coordinate {i} is not certainly on its branch {br.name!r} "
                          "on the root interval")
                return None
        ga, gb = inst.g(pat, ra), inst.g(pat, rb)
        if ga is None or gb is None:
            self.fail(f"{where}: g undefined at an end of the root interval")
            return None
        if ra == rb:
            if not (libmp.mpf_eq(_lo(ga), _ZERO) and libmp.mpf_eq(_hi(ga), _ZERO)):
                self.fail(f"{where}: point root {_f(ra)} with g = {_fmt(ga)}, not exactly 0")
                return None
        elif _sign(ga) * _sign(gb) != -1:
            self.fail(f"{where}: g has no certain sign change on the root interval "
                      f"[{_f(ra)}, {_f(rb)}] (g = {_fmt(ga)}, {_fmt(gb)})")
            return None
        if inst.dg_sign(pat, a, b) == 0:
            self.fail(f"{where}: g' is not certainly nonzero on the cover interval (the root "
                      "may not be unique)")
            return None
        return ra, rb

    def check_interval(self, a: Fraction, b: Fraction, verdict: str, listed: list) -> None:
        inst = self.inst
        where0 = f"cover [{_f(a)}, {_f(b)}]"
        done: set[tuple[str, ...]] = set()
        for j, entry in enumerate(listed):
            where = f"{where0} point {j}"
            if not isinstance(entry, dict):
                self.fail(f"{where}: malformed entry")
                continue
            pat = self.parse_pattern(entry.get("pattern"), where)
            if pat is None:
                continue
            names = tuple(br.name for br in pat)
            if names in done:
                self.fail(f"{where}: pattern {list(names)} listed twice")
                continue
            root = self.verify_root(pat, entry, a, b, where)
            if root is not None:
                done.add(names)
                self.cover_points.append((root[0], root[1], names))
        opts = [inst.options(i, a, b) for i in range(inst.d)]
        if any(not o for o in opts):
            return
        hull = _exact(Fraction(0))
        for o in opts:
            los = [_lo(sq) for *_, sq in o]
            his = [_hi(sq) for *_, sq in o]
            lo = los[0]
            for r in los[1:]:
                lo = r if _lt(r, lo) else lo
            hi = his[0]
            for r in his[1:]:
                hi = r if _gt(r, hi) else hi
            hull = hull + _mk(lo, hi)
        if _ne1(hull):
            return
        n_pat = math.prod(len(o) for o in opts)
        if n_pat > _MAX_PATTERNS:
            self.fail(f"{where0}: {n_pat} possible patterns, more than the {_MAX_PATTERNS} "
                      "the checker replays")
            return
        for combo in itertools.product(*opts):
            names = tuple(br.name for br, *_ in combo)
            if names in done or self.excluded(combo, a, b):
                continue
            if verdict == "excluded":
                self.fail(f"{where0}: marked excluded, but pattern {list(names)} is not "
                          "excluded there")
            else:
                self.fail(f"{where0}: pattern {list(names)} is neither excluded nor listed "
                          "with a certified root")

    # --------------------------------------------------------------- special alphas

    def special_options(self, i: int, alpha0: Fraction) -> list[tuple]:
        """("free", br) or ("point", br, x, valid) options of coordinate i at alpha0."""
        inst = self.inst
        out: list[tuple] = []
        for br in inst.branches[i]:
            den = alpha0 + br.shift
            if den == 0:
                if br.exact_zero:
                    out.append(("free", br))
                elif _sign(br.num) == 0:
                    self.fail(f"alpha = {alpha0}: coordinate {i}, branch {br.name!r}: cannot "
                              "decide whether its numerator vanishes")
                continue  # a nonzero numerator over 0: no solution
            x = inst.value(br, alpha0, alpha0)
            v = inst.valid(br, x)
            if v is not False:
                out.append(("point", br, x, v))
        return out

    def check_special(self, alpha0: Fraction, fams_raw: Any) -> None:
        inst = self.inst
        if not inst.lo <= alpha0 <= inst.hi:
            return
        per = [self.special_options(i, alpha0) for i in range(inst.d)]
        mine: dict[tuple, bool | None] = {}
        for combo in itertools.product(*per):
            free = tuple(i for i, o in enumerate(combo) if o[0] == "free")
            fixed = _exact(Fraction(0))
            uncertain = False
            for o in combo:
                if o[0] == "point":
                    fixed = fixed + _ipow(o[2], 2)
                    uncertain |= o[3] is not True
            names = [o[1].name for o in combo]
            if not free:
                if not _ne1(fixed):
                    self.fail(f"alpha = {alpha0}: an isolated fixed point may sit exactly there "
                              f"(pattern {names})")
                continue
            kinds = [combo[i][1].kind for i in free]
            n_open = sum(kd != "abs_le" for kd in kinds)
            n_closed = len(kinds) - n_open
            low = fixed + n_open * inst.thr_sq
            high = None if n_open else fixed + n_closed * inst.thr_sq
            if _gt(_lo(low), _ONE) or (n_open and _ge(_lo(low), _ONE)) \
                    or (high is not None and _lt(_hi(high), _ONE)):
                verdict: bool | None = False
            elif not uncertain and (_lt(_hi(low), _ONE) or (not n_open and _le(_hi(low), _ONE))) \
                    and (high is None or _ge(_lo(high), _ONE)):
                verdict = True
            else:
                verdict = None
            key = (free, tuple((i, names[i]) for i in range(inst.d) if i not in free))
            old = mine.get(key, False)
            mine[key] = True if (old is True or verdict is True) else (
                None if (old is None or verdict is None) else False)
        cert: dict[tuple, Any] = {}
        for j, f in enumerate(fams_raw or []):
            if not isinstance(f, dict):
                raise _Malformed(f"families[{j}]: expected an object")
            if _parse_rational(f.get("alpha"), f"families[{j}].alpha") != alpha0:
                continue
            try:
                key = (tuple(int(i) for i in f.get("free", [])),
                       tuple((int(i), str(n)) for i, n in f.get("fixed", [])))
            except (TypeError, ValueError):
                raise _Malformed(f"families[{j}]: malformed free/fixed") from None
            if key in cert and cert[key] is not f.get("exists"):
                self.fail(f"families[{j}]: listed twice, with different verdicts")
            cert[key] = f.get("exists")
        for key, v in mine.items():
            desc = f"alpha = {alpha0}, free {list(key[0])}, fixed {[list(x) for x in key[1]]}"
            if v is None:
                self.fail(f"family {desc}: the checker cannot decide whether it exists")
            elif v is True and key not in cert:
                self.fail(f"family {desc} exists but is not listed")
            elif key in cert and cert[key] is not v:
                self.fail(f"family {desc}: listed with exists = {cert[key]!r}, recomputed {v}")
        for key in cert:
            if key not in mine:
                self.fail(f"family at alpha = {alpha0}, free {list(key[0])}, fixed "
                          f"{[list(x) for x in key[1]]} is not a possible family")

    def check_families_alphas(self, fams_raw: Any) -> None:
        if fams_raw is None:
            return
        if not isinstance(fams_raw, list):
            raise _Malformed("families: expected a list")
        specials = {Fraction(0), -self.inst.beta}
        for j, f in enumerate(fams_raw):
            a = _parse_rational(f.get("alpha"), f"families[{j}].alpha")
            if a not in specials or not self.inst.lo <= a <= self.inst.hi:
                self.fail(f"families[{j}]: alpha = {a} is not 0 or -beta in the domain")

    # ------------------------------------------------------------- summary and stability

    def check_points(self, raw: Any) -> None:
        inst = self.inst
        if not isinstance(raw, list):
            raise _Malformed("points: expected a list")
        cps = sorted(self.cover_points)
        if len(raw) != len(cps):
            self.fail(f"points: {len(raw)} listed, the cover certifies {len(cps)}")
            return
        unmatched = list(cps)
        for j, p in enumerate(raw):
            where = f"points[{j}]"
            if not isinstance(p, dict):
                raise _Malformed(f"{where}: expected an object")
            names = tuple(p.get("pattern") or ())
            al = p.get("alpha")
            if not (isinstance(al, list) and len(al) == 2
                    and all(isinstance(v, int | float) for v in al)):
                raise _Malformed(f"{where}: alpha {al!r:.80} is not [lo, hi]")
            match = [t for t in unmatched if t[2] == names
                     and math.isclose(al[0], float(t[0]), rel_tol=1e-12, abs_tol=1e-300)
                     and math.isclose(al[1], float(t[1]), rel_tol=1e-12, abs_tol=1e-300)]
            if not match:
                self.fail(f"{where}: pattern {list(names)} with alpha {al} is not a point "
                          "certified by the cover")
                continue
            ra, rb, _ = match[0]
            unmatched.remove(match[0])
            pat = [inst.branches[i][inst.names[i].index(n)] for i, n in enumerate(names)]
            xs = [inst.value(br, ra, rb) for br in pat]
            good = all(
                (br.name == "pruned") if w == 0 else _sign(x) == (1 if w > 0 else -1)
                for w, br, x in zip(inst.ws, pat, xs, strict=True))
            if bool(p.get("good")) != good:
                self.fail(f"{where}: good = {p.get('good')!r}, recomputed {good}")
            self.check_stability(p, pat, xs, ra, rb, where)

    def check_stability(self, p: dict, pat: list[_Br], xs: list, ra: Fraction, rb: Fraction,
                        where: str) -> None:
        inst = self.inst
        gp, st = p.get("gamma_positive"), p.get("stability")
        if inst.eta is None:
            if gp is not None or st is not None:
                self.fail(f"{where}: a stability claim without eta")
            return
        al = _range(ra, rb)
        eta = _exact(inst.eta)
        gamma = 1 + eta * (al - inst.c)
        if gp is True and _sign(gamma) != 1:
            self.fail(f"{where}: gamma = {_fmt(gamma)} is not certainly positive")
        if gp is False and not _le(_hi(gamma), _ZERO):
            self.fail(f"{where}: gamma = {_fmt(gamma)} is not certainly <= 0")
        if st not in ("attracting", "repelling"):
            return
        if gp is not True:
            self.fail(f"{where}: stability {st!r} claimed without gamma > 0")
            return
        if inst.d == 1:
            if st != "attracting":
                self.fail(f"{where}: a one-coordinate point has no tangent direction "
                          "(attracting), not {st!r}")
            return
        beta = _exact(inst.beta)
        kept = [i for i, br in enumerate(pat) if br.name != "pruned"]
        pruned = [i for i, br in enumerate(pat) if br.name == "pruned"]
        mus = []
        if len(kept) >= 2:
            mus.append(al)
        if len(pruned) >= 2:
            mus.append(al + beta)
        if kept and pruned:
            wk = sum((_ipow(xs[i], 2) for i in kept), _exact(Fraction(0)))
            wp = sum((_ipow(xs[i], 2) for i in pruned), _exact(Fraction(0)))
            mus.append(al * wp + (al + beta) * wk)
        h = eta / gamma
        radii = [abs(1 - h * mu) for mu in mus]
        if st == "attracting" and not all(_lt(_hi(r), _ONE) for r in radii):
            self.fail(f"{where}: 'attracting' not proved (radii {[_fmt(r) for r in radii]})")
        if st == "repelling" and not any(_gt(_lo(r), _ONE) for r in radii):
            self.fail(f"{where}: 'repelling' not proved (radii {[_fmt(r) for r in radii]})")


def check_set(cert: dict[str, Any] | str | Path) -> SetCheckReport:
    """Replay a fixed-point-set certificate (a dict, JSON text or a path to a JSON file) and
    say whether it proves the complete fixed-point set it claims (module docstring).  Every
    failure is collected in ``reasons``; a malformed certificate or an internal error of the
    checker rejects it.  ``iv.prec`` is restored on return."""
    t0 = time.perf_counter()
    checker = _Checker()
    try:
        data = _load(cert)
    except (OSError, ValueError) as exc:
        return SetCheckReport(False, [f"cannot read the certificate: {exc}"], 0,
                              time.perf_counter() - t0)
    saved = iv.prec
    try:
        if not isinstance(data, dict):
            raise _Malformed("the certificate is not a JSON object")
        checker.run(data)
    except _Malformed as exc:
        checker.reasons.append(f"malformed certificate: {exc}")
    except Exception as exc:  # fail closed
        checker.reasons.append(f"internal error of the checker: {type(exc).__name__}: {exc}")
    finally:
        iv.prec = saved
    reasons = checker.reasons
    if len(reasons) > _MAX_REASONS:
        reasons = reasons[:_MAX_REASONS] + [f"... and {len(reasons) - _MAX_REASONS} more"]
    return SetCheckReport(not reasons, reasons, checker.intervals, time.perf_counter() - t0)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m theory.certify.check_sets FILE...``: replay each file; exit 1 if any fails."""
    args = list(sys.argv[1:] if argv is None else argv)
    bad = 0
    for a in args:
        rep = check_set(Path(a))
        print(f"{a}: {'OK' if rep.ok else 'REJECTED'} ({rep.intervals} intervals, "
              f"{rep.seconds:.2f} s)")
        for line in rep.reasons:
            print(f"  {line}")
        bad += not rep.ok
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
