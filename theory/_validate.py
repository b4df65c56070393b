"""Input validation shared by the public API.

Every public function validates its arguments here and raises :class:`ValueError`
naming the offending argument; the CLI turns these into one-line messages (exit 2).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import mpmath
import numpy as np


def check_k(k: Any) -> int:
    """Number of patches: an integer >= 1 (``True``/``False`` and 2.5 are rejected)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        if isinstance(k, float) and k.is_integer():
            k = int(k)
        else:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return int(k)


def check_dps(dps: Any) -> int:
    """Decimal precision for mpmath: an integer >= 1."""
    if isinstance(dps, bool) or not isinstance(dps, numbers.Integral) or dps < 1:
        raise ValueError(f"dps must be an integer >= 1, got {dps!r}")
    return int(dps)


def check_finite_array(name: str, x: Any) -> Any:
    """Reject NaN and inf entries of a NumPy array or torch tensor (host sync: API use only)."""
    arr = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} must be a non-empty vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or inf entries")
    return x


def check_nonzero_rows(name: str, x: Any) -> Any:
    """Reject vectors (rows along the last axis) that are exactly zero."""
    arr = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=float)
    if np.any(np.all(arr == 0, axis=-1)):
        raise ValueError(f"{name} must be nonzero")
    return x


def check_same_length(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """The last axes of two vectors must have the same length."""
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same length, got {a.shape[-1]} and {b.shape[-1]}"
        )


def to_mpf_vector(name: str, x: Any) -> list[mpmath.mpf]:
    """A vector of mpmath numbers at the current working precision.

    Strings are parsed at the working precision (so ``"0.1"`` is exact to ``mp.dps``
    digits, not the float64 nearest to 0.1); numbers are converted exactly.
    """
    try:
        out = [mpmath.mpf(v) for v in x]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a vector of real numbers: {exc}") from None
    if not out:
        raise ValueError(f"{name} must be a non-empty vector")
    if any(not mpmath.isfinite(v) for v in out):
        raise ValueError(f"{name} has NaN or inf entries")
    return out


def check_positive(name: str, value: Any) -> float:
    """A finite real number > 0."""
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v
