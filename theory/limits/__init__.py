r"""The fixed-point calculator: every limit of RVSM (ReLU) and normalised RVSCGD (binary).

Public API
----------
* :func:`fixed_points` (``model`` = ``relu`` or ``binary``), :func:`relu_fixed_points`,
  :func:`binary_fixed_points` -> :class:`FixedPointSet` of :class:`FixedPoint` (``w_bar``,
  ``u_bar``, ``support``, ``angle``, ``norm``, ``lagrangian``, ``attracting``,
  ``spectral_radius``, ``bound``, ...), float64 or mpmath (``dps``);
* :func:`relu_coeffs` / :func:`relu_coeffs_mp`: :math:`(A, B)` of
  :math:`\nabla\ell(w) = Aw - Bw^*` at scalars :math:`(r, s, t)`;
* :func:`relu_bound`, :func:`binary_bound`: the error bounds (:mod:`theory.limits.bounds`);
* :func:`sparsity_path`, :func:`select_lambda`, :func:`branch_lambda_range`: the inverse
  problem (:mod:`theory.limits.sparsity`);
* :func:`certify`: interval-arithmetic certificate of a unique fixed point in a box
  (:mod:`theory.limits.interval`);
* :func:`describe_solution_set` -> :class:`SolutionSet`: the whole solution set (regions of
  forced / free coordinates, counts, attracting ones) where hysteresis makes a list
  impossible, with :meth:`SolutionSet.locate`; :func:`population_limit` (the float64
  iteration from a start) and :func:`polish` (:mod:`theory.limits.solution_set`).

The reduction, the proofs and what is only checked numerically are in
``proofs_notes/limits.md``.  Nothing here imports torch.
"""

from __future__ import annotations

from typing import Any

from theory.limits._common import SUPPORTED_PENALTIES, relu_coeffs, relu_coeffs_mp
from theory.limits._types import Bound, FixedPoint, FixedPointSet, NoFixedPointError
from theory.limits.binary_rvscgd import binary_fixed_points, coarse_constants
from theory.limits.bounds import binary_bound, relu_bound
from theory.limits.degenerate import ZeroSlopeFamily, complete_set, zero_slope_families
from theory.limits.interval import Certificate, certify
from theory.limits.relu_rvsm import relu_fixed_points
from theory.limits.solution_set import (
    IterationResult,
    Location,
    Region,
    SolutionSet,
    describe_solution_set,
    polish,
    population_limit,
)
from theory.limits.sparsity import (
    BranchRange,
    LambdaSelection,
    SparsityPoint,
    branch_lambda_range,
    select_lambda,
    sparsity_path,
)

__all__ = [
    "MODELS", "SUPPORTED_PENALTIES", "fixed_points", "relu_fixed_points", "binary_fixed_points",
    "FixedPoint", "FixedPointSet", "Bound", "NoFixedPointError", "relu_coeffs", "relu_coeffs_mp",
    "coarse_constants", "relu_bound", "binary_bound", "sparsity_path", "select_lambda",
    "branch_lambda_range", "SparsityPoint", "LambdaSelection", "BranchRange", "certify",
    "Certificate", "ZeroSlopeFamily", "zero_slope_families", "complete_set",
    "describe_solution_set", "SolutionSet", "Region", "Location", "polish", "population_limit",
    "IterationResult",
]

MODELS = ("relu", "binary")


def fixed_points(model: str, w_star: Any, k: int, penalty: str, lam: Any, beta: Any,
                 **kwargs: Any) -> FixedPointSet:
    """:func:`relu_fixed_points` (``model="relu"``) or :func:`binary_fixed_points`
    (``model="binary"``; accepts ``ste``)."""
    if model == "relu":
        if "ste" in kwargs:
            raise ValueError("ste applies to the binary model only")
        return relu_fixed_points(w_star, k, penalty, lam, beta, **kwargs)
    if model == "binary":
        return binary_fixed_points(w_star, k, penalty, lam, beta, **kwargs)
    raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
