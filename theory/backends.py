"""One place that turns SymPy expressions into numeric callables.

Backends
--------
* **array** — NumPy (float32 or float64) and torch (any device and dtype; autograd
  flows through).  The callable dispatches on the namespace of its array arguments
  (:func:`array_api_compat.array_namespace`), so this module never imports torch;
  ``sympy.lambdify`` loads the torch printer only when a tensor is passed.
* **mpmath** — any precision; the caller scopes the precision with
  ``mpmath.mp.workdps`` (see :func:`mp_eval`).

Formulas are not re-typed here: a :class:`Compiled` holds a SymPy expression and
generates each backend from it on first use.  The few primitives that need a
numerically stable evaluation (``t - sin t`` for small ``t``) are SymPy functions
with one implementation per backend, each tested against the plain expression at
high precision (``tests/test_backends.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import mpmath
import sympy as sp
from array_api_compat import array_namespace, is_torch_namespace

__all__ = ["Compiled", "t_minus_sin", "mp_eval", "namespace"]

# Taylor coefficients of t - sin t = sum_{n>=1} (-1)^(n+1) t^(2n+1)/(2n+1)!, enough terms
# for full float64 accuracy on |t| <= _TMS_SERIES_CUT (next term < 1e-17 relative).
_TMS_SERIES_CUT = 0.5
_TMS_COEFFS = tuple(
    float((-1) ** (n + 1) / sp.factorial(2 * n + 1)) for n in range(1, 9)
)


class t_minus_sin(sp.Function):  # noqa: N801 - SymPy function names are lower case
    r"""``t - sin(t)``, evaluated without cancellation near ``t = 0``.

    For :math:`|t|` small, :math:`t - \sin t \approx t^3/6` while both terms are
    :math:`\approx t`, so the direct difference loses :math:`\log_{10}(6/t^2)` digits.
    The array backends switch to the Taylor series below ``|t| = 0.5``; the mpmath
    backend raises the working precision by the number of bits that cancel.
    """

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        if arg.is_zero:
            return sp.S.Zero
        if arg.is_Number:
            return arg - sp.sin(arg)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 - sp.cos(self.args[0])

    def _eval_rewrite_as_sin(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return arg - sp.sin(arg)

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return (self.args[0] - sp.sin(self.args[0]))._eval_evalf(prec + 64)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _torchcode(self, printer: Any) -> str:
        # The torch printer refuses unknown functions; the name resolves to _ARRAY_PRIMITIVES.
        return f"t_minus_sin({printer._print(self.args[0])})"


def _tms_array(t: Any) -> Any:
    xp = array_namespace(t)
    t2 = t * t
    series = xp.zeros_like(t)
    for c in reversed(_TMS_COEFFS):
        series = series * t2 + c
    series = series * t2 * t
    return xp.where(xp.abs(t) < _TMS_SERIES_CUT, series, t - xp.sin(t))


def _tms_mp(t: Any) -> Any:
    t = mpmath.mpf(t)
    if not t:
        return mpmath.mpf(0)
    extra = max(0, -2 * int(mpmath.mag(t))) + 10
    with mpmath.mp.workprec(mpmath.mp.prec + extra):
        out = t - mpmath.sin(t)
    return +out


_ARRAY_PRIMITIVES: dict[str, Callable[..., Any]] = {"t_minus_sin": _tms_array}
_MP_PRIMITIVES: dict[str, Callable[..., Any]] = {"t_minus_sin": _tms_mp}


def namespace(*arrays: Any) -> Any:
    """The array-API namespace of the array arguments (Python scalars are ignored)."""
    arrs = [a for a in arrays if hasattr(a, "shape") and hasattr(a, "dtype")]
    if not arrs:
        raise TypeError("expected at least one NumPy array or torch tensor")
    return array_namespace(*arrs)


def _weak_constants(expr: sp.Expr) -> sp.Expr:
    """Replace irrational constant subexpressions (``sqrt(2)``, ``exp(1/2)``...) by floats.

    The NumPy printer writes ``numpy.sqrt(2)``, a float64 *scalar* that promotes float32
    arrays, and ``torch.sqrt(2)`` is a TypeError; a Python float literal is a weak scalar
    in both.  The mpmath backend keeps the exact constants (evaluated at working precision).
    """
    return expr.replace(
        lambda e: e.is_number and not e.is_Atom and e.is_real is True,
        lambda e: sp.Float(e.evalf(30), 30),
    )


@dataclass(frozen=True)
class Compiled:
    """A SymPy expression in named scalar arguments, callable on every backend.

    ``c(*arrays)`` evaluates elementwise on NumPy arrays or torch tensors (broadcasting,
    dtype of the arrays kept); ``c.mp(*numbers)`` evaluates with mpmath at the current
    working precision.  Python ints and floats may be mixed with arrays (they are weak
    scalars and do not promote float32).
    """

    args: tuple[sp.Symbol, ...]
    expr: sp.Expr
    _cache: dict[str, Callable[..., Any]] = field(default_factory=dict, compare=False, repr=False)

    def _get(self, kind: str) -> Callable[..., Any]:
        fn = self._cache.get(kind)
        if fn is None:
            expr = self.expr
            if kind == "mpmath":
                modules: list[Any] = [_MP_PRIMITIVES, "mpmath"]
            else:
                modules = [_ARRAY_PRIMITIVES, kind]
                expr = _weak_constants(expr)
            fn = sp.lambdify(self.args, expr, modules=modules, cse=True)
            self._cache[kind] = fn
        return fn

    def __call__(self, *values: Any) -> Any:
        xp = namespace(*values)
        if is_torch_namespace(xp):
            # torch.pow(int, int) is not defined and a Python float combined with a 0-d
            # tensor rounds to the default dtype: scalars become tensors of the arrays' dtype.
            ref = next(v for v in values if hasattr(v, "dtype"))
            values = tuple(
                v if hasattr(v, "dtype") else xp.asarray(v, dtype=ref.dtype, device=ref.device)
                for v in values
            )
            return self._get("torch")(*values)
        return self._get("numpy")(*values)

    def mp(self, *values: Any) -> Any:
        """Evaluate with mpmath at the working precision (scope it with ``mp.workdps``)."""
        return self._get("mpmath")(*values)


@contextmanager
def mp_eval(dps: int) -> Iterator[None]:
    """Scoped mpmath precision: ``with mp_eval(50): ...`` (never a global side effect)."""
    with mpmath.mp.workdps(dps):
        yield


@functools.cache
def compiled(args: Sequence[sp.Symbol], expr: sp.Expr) -> Compiled:
    """Memoised :class:`Compiled` for an expression (expressions are hashable)."""
    return Compiled(tuple(args), expr)
