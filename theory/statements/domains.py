"""Hypothesis strategies for the domains of the statements, with the edge points pinned.

``teacher_student_pairs`` draws ``(w, w_star)`` with ``w`` generic, or exactly ``w_star``
(angle 0), ``-w_star`` (angle pi), ``c * w_star`` for c > 0 or c < 0, orthogonal to
``w_star`` (angle pi/2), at tiny and huge scales.  The tests import these too
(``tests/strategies.py``), so a statement's property test and its report search draw from
the same domain.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

finite = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False, allow_infinity=False)
# float32 entries: 0 or 1e-6 <= |x| <= 10, so that squares and losses stay in float32's range.
_mag32 = st.floats(min_value=float(np.float32(1e-6)), max_value=10.0, width=32)
finite32 = st.just(0.0) | _mag32 | _mag32.map(lambda x: -x)
scales = st.sampled_from([1e-150, 1e-8, 1e-3, 1.0, 1e3, 1e8, 1e150]) | st.floats(0.05, 20.0)
ks = st.sampled_from([1, 2, 4, 16]) | st.integers(1, 64)


@st.composite
def nonzero_vectors(draw: st.DrawFn, d: int, single: bool = False) -> np.ndarray:
    """Nonzero vectors; ``single=True`` draws entries exactly representable in float32."""
    elems = finite32 if single else finite
    v = np.array(draw(st.lists(elems, min_size=d, max_size=d)), dtype=np.float64)
    if not np.any(v):
        v[draw(st.integers(0, d - 1))] = draw(st.sampled_from([1.0, -1.0, 0.3]))
    return v


@st.composite
def teacher_student_pairs(draw: st.DrawFn, dims: st.SearchStrategy[int] | None = None,
                          scaled: bool = True, single: bool = False
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs in float64; with ``single=True`` (implies unscaled) both are float32-exact."""
    d = draw(dims if dims is not None else st.integers(2, 8))
    w_star = draw(nonzero_vectors(d, single))
    kind = draw(st.sampled_from(["generic", "equal", "opposite", "parallel", "orthogonal"]))
    if kind == "generic":
        w = draw(nonzero_vectors(d, single))
    elif kind == "equal":
        w = w_star.copy()
    elif kind == "opposite":
        w = -w_star
    elif kind == "parallel":
        w = draw(st.sampled_from([0.5, 2.0, -0.3, -3.0]) | st.floats(-5, 5).filter(bool)) * w_star
    else:
        v = draw(nonzero_vectors(d))
        unit = w_star / np.max(np.abs(w_star))  # scaled first: w_star @ w_star may underflow
        unit = unit / np.linalg.norm(unit)
        w = v - (v @ unit) * unit
        if not np.any(np.abs(w) > 1e-12 * np.abs(v).max()):
            j = int(np.argmax(np.abs(w_star)))
            w = np.zeros(d)
            w[(j + 1) % d] = 1.0
            w[j] = -w_star[(j + 1) % d] / w_star[j]
    if single:
        return w.astype(np.float32), w_star
    if scaled:
        sc = draw(scales)
        if np.any(w_star * sc):  # a scale that underflows the teacher to 0 is not drawn
            w, w_star = w * sc, w_star * sc
    return w, w_star
