r"""Stable angles and norms for batched vectors (last axis) and mpmath vectors.

The angle between :math:`u` and :math:`v` is computed as

.. math:: \theta(u, v) = 2\,\operatorname{atan2}\bigl(\lVert\hat u - \hat v\rVert,
          \lVert\hat u + \hat v\rVert\bigr), \qquad \hat u = u/\lVert u\rVert,

which is accurate to a few ulps over all of :math:`[0, \pi]`; ``arccos`` of the cosine
loses half the digits near 0 and :math:`\pi` (an absolute error of about
:math:`\sqrt{\varepsilon}`, i.e. 1e-8 in float64).  Source: the identity
:math:`\lVert\hat u-\hat v\rVert = 2\sin(\theta/2)`, :math:`\lVert\hat u+\hat v\rVert =
2\cos(\theta/2)` (derived; checked in ``tests/test_geometry.py``).

Vectors are scaled by their largest entry before squaring, so norms and angles stay
exact for entries anywhere in the floating-point range (no underflow of ``x**2`` for
subnormal entries, no overflow for entries above ``1e154``).

At ``u = 0`` or ``v = 0`` the angle is undefined: the array version returns NaN there
(so batches keep going), the mpmath version raises :class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mpmath

from theory.backends import namespace

__all__ = ["norm", "unit", "norm_unit", "angle", "unit_angle", "angle_mp", "norm_mp"]


def norm_unit(x: Any) -> tuple[Any, Any]:
    """``(|x|, x/|x|)`` along the last axis in one pass (the unit is NaN where ``x = 0``)."""
    xp = namespace(x)
    big = xp.max(xp.abs(x), axis=-1, keepdims=True)
    safe = xp.where(big > 0, big, xp.ones_like(big))
    xs = x / safe
    n = xp.linalg.vector_norm(xs, axis=-1, keepdims=True)
    # Zero rows: NaN by choice, without a 0/0 (and its warning) on the way.
    uh = xp.where(n > 0, xs / xp.where(n > 0, n, xp.ones_like(n)), xp.full_like(xs, float("nan")))
    return safe[..., 0] * n[..., 0], uh


def norm(x: Any) -> Any:
    """Euclidean norm along the last axis (NumPy or torch), without under/overflow."""
    xp = namespace(x)
    big = xp.max(xp.abs(x), axis=-1, keepdims=True)
    safe = xp.where(big > 0, big, xp.ones_like(big))
    return safe[..., 0] * xp.linalg.vector_norm(x / safe, axis=-1)


def unit(x: Any) -> Any:
    """``x / |x|`` along the last axis; NaN rows where ``x = 0``."""
    return norm_unit(x)[1]


def unit_angle(uh: Any, vh: Any) -> Any:
    """Angle in ``[0, pi]`` between rows of *unit* vectors ``uh`` and ``vh``."""
    xp = namespace(uh, vh)
    return 2 * xp.atan2(
        xp.linalg.vector_norm(uh - vh, axis=-1), xp.linalg.vector_norm(uh + vh, axis=-1)
    )


def angle(u: Any, v: Any) -> Any:
    """Angle in ``[0, pi]`` between the rows of ``u`` and ``v`` (broadcast); NaN for a zero row."""
    return unit_angle(unit(u), unit(v))


def norm_mp(x: Sequence[Any]) -> Any:
    """Euclidean norm of an mpmath vector at the working precision."""
    return mpmath.sqrt(mpmath.fsum(xi * xi for xi in x))


def angle_mp(u: Sequence[Any], v: Sequence[Any]) -> Any:
    """Angle in ``[0, pi]`` at the working precision; ValueError if either vector is zero."""
    nu, nv = norm_mp(u), norm_mp(v)
    if not nu or not nv:
        raise ValueError("the angle is undefined for a zero vector")
    uh = [x / nu for x in u]
    vh = [x / nv for x in v]
    return 2 * mpmath.atan2(
        norm_mp([a - b for a, b in zip(uh, vh, strict=True)]),
        norm_mp([a + b for a, b in zip(uh, vh, strict=True)]),
    )
