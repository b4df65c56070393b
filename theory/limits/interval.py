r"""Interval-arithmetic certification (``mpmath.iv``) that a box holds exactly one fixed point.

ReLU (``proofs_notes/limits.md``, step 9): with the branch pattern of a computed fixed point, the
reduced system in :math:`X = (r, t)` is

.. math:: G_1 = \frac{\sum_i \pm\xi_i |w^*_i|}{|x|\,s} - \cos t = 0,\qquad G_2 = |x|/r - 1 = 0

(``+`` for sign-consistent coordinates, ``-`` for ``FLIP``).  The Krawczyk operator
:math:`K(X) = \tilde x - Y G(\tilde x) + (I - Y J(X))(X - \tilde x)` (:math:`Y \approx J(\tilde x)^{-1}`,
:math:`J(X)` an interval enclosure of the Jacobian over the box, by forward-mode differentiation
on intervals) satisfies: :math:`K(X) \subset \operatorname{int} X` implies a unique zero of
:math:`G` in :math:`X`.  If, in addition, every coordinate stays strictly inside its branch's
validity region over the whole box (interval evaluation of the margins), that zero is a fixed
point of RVSM and it is the only one with this pattern in the box; the enclosure of
:math:`\bar w` is reported.  Patterns that keep :math:`x \parallel w^*` force :math:`t = 0` and are
certified in :math:`r` alone; binary in :math:`\alpha` alone (interval Newton).

Only l1 and l0 are certified (their branch maps are rational); TL1 (a cubic root per
coordinate) is reported as not certified.  Also not certified: a coordinate exactly on a
threshold (the prox's tie cannot be separated by intervals).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import mpmath
import sympy as sp
from mpmath import iv

from theory import relu
from theory.limits._common import BRANCH_NAMES, FLIP, KEPT, PRUNED, check_instance
from theory.limits.relu_rvsm import check_w_star

__all__ = ["Certificate", "certify"]

_CODES = {v: k for k, v in BRANCH_NAMES.items()}  # special points' names are not in it


@dataclass(frozen=True)
class Certificate:
    """``certified``: a unique fixed point (with this pattern) lies in ``box`` (variable ->
    (lo, hi)); ``w_box``: enclosures (lo, hi) of every entry of w_bar; ``reason`` otherwise."""

    certified: bool
    box: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    w_box: tuple[tuple[Any, Any], ...] = ()
    reason: str = ""
    dps: int | None = None


class _D:
    """Forward-mode dual number over mpmath intervals (value and gradient); an empty gradient
    means a constant (e.g. pi), broadcast against the other operand."""

    __slots__ = ("v", "g")

    def __init__(self, v: Any, g: tuple[Any, ...]) -> None:
        self.v, self.g = v, g

    @staticmethod
    def lift(x: Any, n: int) -> _D:
        if isinstance(x, _D):
            return x
        return _D(iv.mpf(x), (iv.mpf(0),) * n)

    def _pair(self, o: Any) -> tuple[_D, _D]:
        o = _D.lift(o, len(self.g))
        a, b = self, o
        if not a.g and b.g:
            a = _D(a.v, (iv.mpf(0),) * len(b.g))
        if not b.g and a.g:
            b = _D(b.v, (iv.mpf(0),) * len(a.g))
        return a, b

    def __add__(self, o: Any) -> _D:
        a, b = self._pair(o)
        return _D(a.v + b.v, tuple(x + y for x, y in zip(a.g, b.g)))

    __radd__ = __add__

    def __neg__(self) -> _D:
        return _D(-self.v, tuple(-x for x in self.g))

    def __sub__(self, o: Any) -> _D:
        a, b = self._pair(o)
        return a + (-b)

    def __rsub__(self, o: Any) -> _D:
        a, b = self._pair(o)
        return b + (-a)

    def __mul__(self, o: Any) -> _D:
        a, b = self._pair(o)
        return _D(a.v * b.v, tuple(x * b.v + a.v * y for x, y in zip(a.g, b.g)))

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> _D:
        a, b = self._pair(o)
        q = a.v / b.v
        return _D(q, tuple((x - q * y) / b.v for x, y in zip(a.g, b.g)))

    def __rtruediv__(self, o: Any) -> _D:
        a, b = self._pair(o)
        return b / a

    def __pow__(self, e: int) -> _D:
        if not isinstance(e, int) or e < 0:
            raise ValueError("only non-negative integer powers")
        out = _D(iv.mpf(1), ())
        for _ in range(e):
            out = out * self
        return out


class _PiConst(_D):
    """pi as a constant dual number, re-evaluated at the working interval precision."""

    def __init__(self) -> None:
        super().__init__(None, ())

    def __getattribute__(self, name: str) -> Any:
        if name == "v":
            return iv.pi
        return object.__getattribute__(self, name)


def _dsin(x: _D) -> _D:
    c = iv.cos(x.v)
    return _D(iv.sin(x.v), tuple(c * a for a in x.g))


def _dcos(x: _D) -> _D:
    s = iv.sin(x.v)
    return _D(iv.cos(x.v), tuple(-s * a for a in x.g))


def _dsqrt(x: _D) -> _D:
    r = iv.sqrt(x.v)
    return _D(r, tuple(a / (2 * r) for a in x.g))


@contextmanager
def _iv_dps(dps: int) -> Iterator[None]:
    """Scoped precision for ``mpmath.iv`` (which has no ``workdps``)."""
    old = iv.prec
    iv.dps = dps
    try:
        yield
    finally:
        iv.prec = old


def _relu_fns() -> tuple[Any, Any]:
    ns = {"sin": _dsin, "cos": _dcos, "sqrt": _dsqrt, "pi": _PiConst()}
    a_expr, b_expr = relu.grad_coeffs_expr()
    k, r, s, t = relu.k, relu.r, relu.s, relu.t
    return (sp.lambdify((k, r, s, t), a_expr, modules=[ns]),
            sp.lambdify((k, t), b_expr, modules=[ns]))


def _xi(name: str, code: int, y: _D, A: _D, beta: Any, lam: Any) -> _D:
    if code == PRUNED:
        return y / (A + beta)
    if code == FLIP:
        y = -y
    if name == "l1":
        return (y - lam) / A
    return y / A


def _contains_strictly(outer: Any, inner: Any) -> bool:
    return outer.a < inner.a and inner.b < outer.b


def _margin_ok(name: str, code: int, xi: Any, A: Any, beta: Any, zero: Any) -> bool:
    if code == PRUNED:
        return bool((A + beta).a > 0 and (zero - xi).a > 0)
    if name == "l0" and code == KEPT and not A.a > 0:
        return False
    if code == FLIP and not A.b < 0:
        return False
    return bool(not (A.a <= 0 <= A.b) and (xi - zero).a > 0)


def certify(model: str, w_star: Sequence[Any], k: int, penalty: str, lam: Any, beta: Any,
            fp: Any, *, a: Any = None, ste: str = "relu", dps: int = 30,
            radius: Any = None) -> Certificate:
    """Certify that a box around the fixed point ``fp`` (from :func:`theory.limits.fixed_points`
    on the same instance) holds exactly one fixed point with its pattern."""
    check_w_star(w_star)
    check_instance(penalty, lam, beta, a)
    if penalty == "tl1":
        return Certificate(False, reason="tl1 is not certified (its kept branch is a cubic root)",
                           dps=dps)
    if any(nm not in _CODES for nm in fp.pattern):
        return Certificate(False, reason="degenerate special point (A = 0 or A = -beta exactly; "
                           "limits.md step 5): not certified", dps=dps)
    codes = [_CODES[nm] for nm in fp.pattern]
    with _iv_dps(dps + 10), mpmath.mp.workdps(dps + 10):
        ws = [iv.mpf(str(v)) if isinstance(v, str) else iv.mpf(v) for v in w_star]
        lam_i = iv.mpf(str(lam)) if isinstance(lam, str) else iv.mpf(lam)
        beta_i = iv.mpf(str(beta)) if isinstance(beta, str) else iv.mpf(beta)
        tau = lam_i / beta_i
        zero = tau if penalty == "l1" else iv.sqrt(2 * tau)
        rad = mpmath.mpf(radius) if radius is not None else mpmath.mpf(10) ** (-(dps // 3))
        if model == "relu":
            return _certify_relu(ws, k, penalty, lam_i, beta_i, zero, codes, fp, rad, dps)
        if model == "binary":
            return _certify_binary(ws, k, penalty, lam_i, beta_i, zero, codes, fp, rad, dps, ste)
    raise ValueError(f"model must be relu or binary, got {model!r}")


def _x_of(penalty: str, codes: list[int], ws: list[Any], A: _D, B: _D, beta: Any, lam: Any
          ) -> tuple[list[_D], list[Any]]:
    xs, signs = [], []
    for code, w in zip(codes, ws):
        m = abs(w) if not (w.a <= 0 <= w.b) else w  # exact zero stays 0
        sg = 1 if w.a >= 0 else -1
        if code == FLIP:
            sg = -sg
        xs.append(_xi(penalty, code, _D.lift(m, len(A.g)) * B, A, beta, lam))
        signs.append(sg)
    return xs, signs


def _parallel(penalty: str, codes: list[int], ws: list[Any]) -> bool | None:
    """True if the pattern keeps x parallel to w* for every (r, t) (t = 0 is then forced):
    all nonzero coordinates pruned, or (l0) all kept, or all |w*_i| equal on one branch;
    False if not; None if unsure (never happens for exact inputs)."""
    nz = [(c, w) for c, w in zip(codes, ws) if not (w.a == 0 and w.b == 0)]
    if any(c == FLIP for c, _ in nz):
        return False
    cs = {c for c, _ in nz}
    if cs == {PRUNED} or (penalty == "l0" and cs == {KEPT}):
        return True
    if len(cs) == 1:
        mags = [abs(w) for _, w in nz]
        if all(m.a == mags[0].a and m.b == mags[0].b for m in mags):
            return True
    return False


def _certify_relu(ws: list[Any], k: int, penalty: str, lam: Any, beta: Any, zero: Any,
                  codes: list[int], fp: Any, rad: Any, dps: int) -> Certificate:
    fa, fb = _relu_fns()
    s = iv.sqrt(sum((w * w for w in ws), iv.mpf(0)))
    parallel = _parallel(penalty, codes, ws)
    if parallel is None:
        return Certificate(False, reason="angle 0 with a pattern that is not parallel to w*",
                           dps=dps)
    r0 = mpmath.mpf(fp.norm)
    t0 = mpmath.mpf(fp.angle)
    mabs = [abs(w) for w in ws]

    def G(r: _D, t: _D) -> tuple[list[_D], list[_D], list[int], _D, _D]:
        A = fa(k, r, _D.lift(s, len(r.g)), t)
        B = fb(k, t)
        xs, signs = _x_of(penalty, codes, ws, A, B, beta, lam)
        n2 = sum((x * x for x in xs), _D.lift(0, len(r.g)))
        nx = _dsqrt(n2)
        dm = sum((x * m * (-1 if c == FLIP else 1) for x, m, c in zip(xs, mabs, codes)),
                 _D.lift(0, len(r.g)))
        g2 = nx / r - 1
        if parallel:
            return [g2], xs, signs, A, B
        return [dm / (nx * s) - _dcos(t), g2], xs, signs, A, B

    n = 1 if parallel else 2
    center = [r0] if parallel else [r0, t0]
    radii = [rad * r0] if parallel else [rad * r0, rad * max(t0, mpmath.mpf(1))]
    box = [iv.mpf([c - h, c + h]) for c, h in zip(center, radii)]
    if not parallel and box[1].a < 0:
        box[1] = iv.mpf([0, box[1].b])

    def dual_at(vals: list[Any]) -> tuple[_D, _D]:
        r = _D(vals[0], tuple(iv.mpf(1 if j == 0 else 0) for j in range(n)))
        if parallel:
            return r, _D(iv.mpf(0), (iv.mpf(0),) * n)
        t = _D(vals[1], tuple(iv.mpf(1 if j == 1 else 0) for j in range(n)))
        return r, t

    gx = G(*dual_at([iv.mpf(c) for c in center]))[0]
    gb, xs_box, signs, A_box, _ = G(*dual_at(box))
    jm = mpmath.matrix(n, n)
    for i in range(n):
        for j in range(n):
            jm[i, j] = gb[i].g[j].mid
    try:
        y = mpmath.inverse(jm)
    except ZeroDivisionError:
        return Certificate(False, reason="singular Jacobian at the center", dps=dps)
    kx = []
    for i in range(n):
        acc = iv.mpf(center[i]) - sum((iv.mpf(y[i, j]) * gx[j].v for j in range(n)), iv.mpf(0))
        for j in range(n):
            m_ij = (1 if i == j else 0) - sum((iv.mpf(y[i, q]) * gb[q].g[j] for q in range(n)),
                                              iv.mpf(0))
            acc += m_ij * (box[j] - center[j])
        kx.append(acc)
    names = ["r"] if parallel else ["r", "t"]
    boxd = {nm: (b.a, b.b) for nm, b in zip(names, box)}
    if not all(_contains_strictly(b, kk) for b, kk in zip(box, kx)):
        return Certificate(False, boxd, reason="Krawczyk test failed (K(X) not inside X)",
                           dps=dps)
    for code, x in zip(codes, xs_box):
        if not _margin_ok(penalty, code, x.v, A_box.v, beta, zero):
            return Certificate(False, boxd, reason="a coordinate is not strictly inside its "
                               "branch over the box (at or near a threshold)", dps=dps)
    w_box = tuple(((sg * x.v).a, (sg * x.v).b) for x, sg in zip(xs_box, signs))
    return Certificate(True, boxd, w_box, "unique zero of the reduced system (Krawczyk) and "
                       "every coordinate strictly inside its branch", dps)


def _certify_binary(ws: list[Any], k: int, penalty: str, lam: Any, beta: Any, zero: Any,
                    codes: list[int], fp: Any, rad: Any, dps: int, ste: str) -> Certificate:
    from theory import binary

    a_expr, b_expr = binary.coarse_coeffs_expr(ste)
    c = iv.mpf(str(sp.N(-b_expr.subs(binary.k, k), dps + 20)))
    c = iv.mpf([c.a * (1 - mpmath.mpf(10) ** (-dps - 15)), c.b * (1 + mpmath.mpf(10) ** (-dps - 15))])
    s = iv.sqrt(sum((w * w for w in ws), iv.mpf(0)))
    wh = [w / s for w in ws]
    a0 = mpmath.mpf(fp.coeffs["alpha"])

    def G(al: _D) -> tuple[_D, list[_D], list[int]]:
        xs, signs = _x_of(penalty, codes, wh, al, _D.lift(c, 1), beta, lam)
        return sum((x * x for x in xs), _D.lift(0, 1)) - 1, xs, signs

    box = iv.mpf([a0 - rad * max(abs(a0), 1), a0 + rad * max(abs(a0), 1)])
    gx = G(_D(iv.mpf(a0), (iv.mpf(0),)))[0]
    gb, xs_box, signs = G(_D(box, (iv.mpf(1),)))
    if gb.g[0].a <= 0 <= gb.g[0].b:
        return Certificate(False, {"alpha": (box.a, box.b)}, reason="derivative encloses 0",
                           dps=dps)
    nx = iv.mpf(a0) - gx.v / gb.g[0]
    if not _contains_strictly(box, nx):
        return Certificate(False, {"alpha": (box.a, box.b)}, reason="interval Newton test failed",
                           dps=dps)
    for code, x in zip(codes, xs_box):
        if not _margin_ok(penalty, code, x.v, box, beta, zero):
            return Certificate(False, {"alpha": (box.a, box.b)}, reason="a coordinate is not "
                               "strictly inside its branch over the box", dps=dps)
    w_box = tuple(((sg * x.v).a, (sg * x.v).b) for x, sg in zip(xs_box, signs))
    return Certificate(True, {"alpha": (box.a, box.b)}, w_box, "unique zero of |x(alpha)|^2 - 1 "
                       "(interval Newton) and every coordinate strictly inside its branch", dps)
