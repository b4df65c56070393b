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
  (:mod:`theory.limits.interval`).

The reduction, the proofs and what is only checked numerically are in
``proofs_notes/limits.md``.  Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

from theory.limits._common import SUPPORTED_PENALTIES, relu_coeffs, relu_coeffs_mp
from theory.limits._types import Bound, FixedPoint, FixedPointSet, NoFixedPointError
from theory.limits.binary_rvscgd import binary_fixed_points, coarse_constants
from theory.limits.bounds import binary_bound, relu_bound
from theory.limits.degenerate import ZeroSlopeFamily, zero_slope_families
from theory.limits.interval import Certificate, certify
from theory.limits.relu_rvsm import relu_fixed_points
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
    "Certificate", "ZeroSlopeFamily", "zero_slope_families",
]

MODELS = ("relu", "binary")


def fixed_points(model: str, w_star: Any, k: int, penalty: str, lam: Any, beta: Any,
                 **kwargs: Any) -> FixedPointSet:
    """:func:`relu_fixed_points` (``model="relu"``) or :func:`binary_fixed_points`
    (``model="binary"``; accepts ``ste``).  For l0 with zeros in ``w_star`` the zero-slope
    families (:mod:`theory.limits.degenerate`, float64) are added to ``families``; then
    ``unique`` is False."""
    if model == "relu":
        if "ste" in kwargs:
            raise ValueError("ste applies to the binary model only")
        fs = relu_fixed_points(w_star, k, penalty, lam, beta, **kwargs)
    elif model == "binary":
        fs = binary_fixed_points(w_star, k, penalty, lam, beta, **kwargs)
    else:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    fs = _reflections(fs, w_star)
    if penalty != "l0":
        return fs
    c = coarse_constants(k, kwargs.get("ste", "relu"))[1] if model == "binary" else None
    fams = zero_slope_families(model, np.array([float(x) for x in w_star]), k, float(lam),
                               float(beta), c=c)
    if not fams:
        return fs
    note = "; ".join(f.describe() for f in fams)
    return dataclasses.replace(fs, families=tuple(fams), unique=False,
                               message=f"{fs.message}; {note}" if fs.message else note)


def _reflections(fs: FixedPointSet, w_star: Any) -> FixedPointSet:
    r"""Close the list under the symmetry :math:`\bar w_j \mapsto -\bar w_j` for
    :math:`w^*_j = 0`: the loss depends on :math:`w` through :math:`|w|` and
    :math:`w\cdot w^*`, the penalties are even, so the reflection maps fixed points to fixed
    points with the same angle, norm, :math:`L_\beta`, residual and spectrum.  The branch
    search fixes one sign for a kept zero of :math:`w^*`; this adds the others."""
    zeros = [j for j, x in enumerate(w_star) if float(x) == 0]
    if not zeros:
        return fs
    seen = {tuple(float(x) for x in fp.w_bar) for fp in fs}
    extra = []
    for fp in fs:
        kept = [j for j in zeros if float(fp.w_bar[j]) != 0]
        for signs in itertools.product((1, -1), repeat=len(kept)):
            if all(sg == 1 for sg in signs):
                continue
            w_bar, u_bar = list(fp.w_bar), list(fp.u_bar)
            for j, sg in zip(kept, signs):
                if sg < 0:
                    w_bar[j], u_bar[j] = -w_bar[j], -u_bar[j]
            key = tuple(float(x) for x in w_bar)
            if key not in seen:
                seen.add(key)
                extra.append(dataclasses.replace(fp, w_bar=tuple(w_bar), u_bar=tuple(u_bar)))
    if not extra:
        return fs
    return dataclasses.replace(fs, fixed_points=fs.fixed_points + tuple(extra), unique=False)
