"""Result types of the fixed-point calculator (shared by both models and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Bound:
    """An a-priori error bound evaluated for one instance, beside the actual distances.

    ``holds``: the bound's hypothesis holds for this fixed point (e.g. ``A_bar >= 0`` for ReLU,
    ``R < 1`` for binary); when it does not, the ``*_bound`` fields are ``None``.
    ``w_dist``/``u_dist``: actual :math:`|\\bar w - w^*|`, :math:`|\\bar u - w^*|` (binary: to
    :math:`\\hat w^*`); ``w_bound``/``u_bound``: the bounds; ``extra``: intermediate constants.
    """

    source: str
    holds: bool
    w_dist: Any
    w_bound: Any
    u_dist: Any
    u_bound: Any
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FixedPoint:
    """One fixed point of RVSM (ReLU) or normalised RVSCGD (binary).

    Numbers are floats (float64 path) or mpf at the requested precision (``dps``).

    * ``w_bar``, ``u_bar`` (= prox(w_bar)), ``support`` (indices where u_bar != 0),
      ``pattern`` (per coordinate: ``pruned``, ``kept`` or ``kept-low``);
    * ``angle`` = angle(w_bar, w*), ``norm`` = |w_bar|, ``coeffs`` (ReLU: ``A``, ``B``; binary:
      ``alpha``, ``c``);
    * ``lagrangian`` = L_beta(u_bar, w_bar) = l(w_bar) + lam P(u_bar) + beta/2 |w_bar - u_bar|^2;
    * ``residual``: max_i |fixed-point equation_i| relative to the largest of its terms
      (ReLU: max of |B w*|_inf, A_0 |w_bar|_inf, beta |w_bar - u_bar|_inf, with
      A = A_0 - A_1 s/r; binary: the tangential part, against max of c|w*^|_inf,
      |alpha w_bar|_inf, beta |w_bar - u_bar|_inf);
    * ``margin``: the smallest relative distance of a coordinate to the edge of its branch's
      validity region (0 means a coordinate sits on a threshold: the prox is not differentiable
      there and ``kink`` is True);
    * ``curvature``: (min, max) eigenvalue of the operator M with Jacobian J = I - eta M (ReLU)
      or of the tangent map's compressed diagonal (binary);
    * ``eta``, ``spectral_radius``, ``attracting``: for the given step (None without ``eta``,
      and ``attracting`` None at a kink); ``eta_max``: J is a contraction iff 0 < eta < eta_max
      (None if no step makes it one);
    * ``bound``: see :class:`Bound`; ``sparsity``: the fraction of zero entries of u_bar;
    * ``good``: sign-consistent (the good family: sgn w_bar_i = sgn w*_i, no false support);
      False for the fixed points outside it that can be attracting;
    * ``stable``: (mpmath) the digits agree at 2 x dps.
    """

    model: str
    penalty: str
    w_bar: tuple[Any, ...]
    u_bar: tuple[Any, ...]
    support: tuple[int, ...]
    pattern: tuple[str, ...]
    angle: Any
    norm: Any
    coeffs: dict[str, Any]
    lagrangian: Any
    residual: float
    margin: float
    kink: bool
    curvature: tuple[float, float]
    eta: float | None
    spectral_radius: float | None
    attracting: bool | None
    eta_max: float | None
    bound: Bound
    sparsity: float
    good: bool = True
    dps: int | None = None
    stable: bool | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FixedPointSet:
    """All fixed points found in the good (sign-consistent) family.

    ``unique``: exactly one fixed point; ``attracting_count``: how many are attracting for
    ``eta`` (None without ``eta``); ``complete``: the enumeration covered every branch pattern
    (exhaustive search, or a proof that other patterns cannot occur); ``enumeration``: the
    search used; ``message``: why the set is empty, or other caveats; ``families``: continua
    (or sign-symmetric sets) of fixed points that no list holds (l0's zero-slope family,
    :class:`theory.limits.degenerate.ZeroSlopeFamily`), part of what ``complete`` covers.
    """

    fixed_points: tuple[FixedPoint, ...]
    unique: bool
    attracting_count: int | None
    complete: bool
    enumeration: str
    message: str | None = None
    instance: dict[str, Any] = field(default_factory=dict)
    families: tuple[Any, ...] = ()

    def __len__(self) -> int:
        return len(self.fixed_points)

    def __iter__(self):
        return iter(self.fixed_points)

    def __getitem__(self, i: int) -> FixedPoint:
        return self.fixed_points[i]


class NoFixedPointError(ValueError):
    """No fixed point of the good family exists (or none was found) for the instance."""
