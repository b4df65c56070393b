"""Binary activation: Monte Carlo agreement of loss, true gradient and coarse gradients.

Every check uses N = 1e6 samples (fixed seeds) and a bound of 4 standard errors per
component (two-sided normal tail 6e-5; the seeds are fixed, so the outcome is
deterministic), plus, where a quantity is sampled *exactly* zero or constant, a slack
of 1e-12 for float64 summation.  The finite-difference check adds the exact truncation
error bound of the central difference (stated there).

Sampling.  Only the projections of the patches onto span(w, w*) enter the activations.
In the frame w^ = e1, n^ = e2 (in-plane normal), w*^ = (cos t, sin t, 0), a third
coordinate e3 stands for the orthogonal complement: it enters the coarse gradient only
through E[h(x1, x2) x3] = 0, which the sampled third coordinate checks exactly (its
distribution is the same for every orthogonal direction).  So 3-D Gaussians per patch
replace d-dimensional ones; ``test_direct_d_dimensional`` samples full (k, d) inputs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import pytest

from theory import binary as b

N = 1_000_000
CHUNK = 250_000
Z_BOUND = 4.0
SLACK = 1e-12
SEED = 20_240_604


def _ste_prime(ste: str, x: np.ndarray) -> np.ndarray:
    """mu'(x) written out independently of the module: 1{x>0}, 1, 1{0<x<1}."""
    if ste == "relu":
        return (x > 0).astype(np.float64)
    if ste == "identity":
        return np.ones_like(x)
    return ((x > 0) & (x < 1)).astype(np.float64)


@functools.cache
def _plane_samples(k: int) -> np.ndarray:
    return np.random.default_rng([SEED, k]).standard_normal((N, k, 3))


def _mc(z: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of fn(samples) (shape (n, m)), accumulated in chunks."""
    s = s2 = 0.0
    for i in range(0, z.shape[0], CHUNK):
        q = fn(z[i:i + CHUNK])
        s = s + q.sum(axis=0)
        s2 = s2 + (q * q).sum(axis=0)
    n = z.shape[0]
    mean = s / n
    var = np.maximum(s2 / n - mean * mean, 0.0)
    return mean, np.sqrt(var / n)


def _assert_within(name: str, mean: np.ndarray, se: np.ndarray, expected: np.ndarray,
                   extra: float | np.ndarray = 0.0) -> None:
    dev = np.abs(mean - expected)
    tol = Z_BOUND * se + SLACK + extra
    assert np.all(dev <= tol), (
        f"{name}: MC {mean} vs closed form {expected}; |dev| {dev} > tol {tol} "
        f"(z = {dev / np.maximum(se, 1e-300)})")


def _frame(r: float, t: float) -> tuple[np.ndarray, np.ndarray]:
    """w = r e1; w* at angle t in the (e1, e2) plane, exactly antiparallel at t = pi."""
    w = np.array([r, 0.0, 0.0])
    w_star = np.array([-1.0, 0.0, 0.0]) if t == math.pi else \
        np.array([math.cos(t), math.sin(t), 0.0])
    return w, w_star


# (k, r, t, v, v*) -- None: fixed layer v = v* = 1/k.  t = 0 and t = pi exactly.
_V = (np.array([0.8, -0.5, 1.2]), np.array([1.0, 0.3, -0.6]))
CASES = [
    (3, 1.0, 0.0, None), (3, 1.0, 0.7, None), (3, 0.4, math.pi / 2, None),
    (3, 2.5, 2.4, None), (3, 1.0, math.pi, None), (1, 0.8, 2.0, None),
    (3, 0.6, 0.0, _V), (3, 1.7, 1.1, _V), (3, 0.6, 2.8, _V), (3, 1.2, math.pi, _V),
    (3, 0.0, 1.0, None), (3, 0.0, 1.0, _V),  # w = 0
]


def _per_sample(k: int, r: float, w_star: np.ndarray, v: np.ndarray, vs: np.ndarray
                ) -> Callable[[np.ndarray], np.ndarray]:
    """[ (f - f*)^2, g_w(ste) for each ste (3 comps each), g_v (k comps) ] per sample."""
    ws_hat = w_star / np.linalg.norm(w_star)

    def fn(z: np.ndarray) -> np.ndarray:
        pre = r * z[..., 0]                       # w . Z_i, shape (n, k)
        pre_star = z @ ws_hat                     # w*^ . Z_i (the scale of w* is irrelevant)
        act = (pre > 0).astype(np.float64)
        d = act @ v - (pre_star > 0).astype(np.float64) @ vs   # f - f*
        cols = [d * d]
        for ste in b.STES:
            weights = v * _ste_prime(ste, pre)    # v_i mu'(w . Z_i)
            cols.append(2 * d[:, None] * np.einsum("nk,nkc->nc", weights, z))
        cols.append(2 * d[:, None] * act)
        return np.column_stack([c if c.ndim == 2 else c[:, None] for c in cols])

    return fn


@pytest.mark.parametrize(("k", "r", "t", "vv"), CASES)
def test_loss_and_coarse_gradients(k: int, r: float, t: float, vv) -> None:
    """E(f - f*)^2, E g_w for the three STEs and E g_v against the closed forms."""
    v, vs = (np.full(k, 1.0 / k), np.full(k, 1.0 / k)) if vv is None else vv
    w, w_star = _frame(r, t)
    mean, se = _mc(_plane_samples(k), _per_sample(k, r, w_star, v, vs))
    expected = [np.atleast_1d(b.loss_v(w, v, w_star, vs))]
    for ste in b.STES:
        expected.append(b.coarse_grad_v(w, v, w_star, vs, ste).w)
    expected.append(b.grad_v(w, v, w_star, vs).v)
    _assert_within("loss, coarse grads, v-grad", mean, se, np.concatenate(expected))
    if vv is None:  # the fixed-layer API gives the same numbers
        fixed = [np.atleast_1d(b.loss(w, w_star, k))]
        fixed += [b.coarse_grad(w, w_star, k, ste) for ste in b.STES]
        np.testing.assert_allclose(np.concatenate(fixed), np.concatenate(expected[:-1]),
                                   rtol=1e-13, atol=1e-15)


def test_monte_carlo_separates_the_estimators() -> None:
    """Power check: at a generic point each STE's MC mean is > 10 SE from the other two
    closed forms, so a formula swapped between estimators could not pass."""
    k, r, t = 3, 1.3, 1.2
    v, vs = _V
    w, w_star = _frame(r, t)
    mean, se = _mc(_plane_samples(k), _per_sample(k, r, w_star, v, vs))
    for i, ste in enumerate(b.STES):
        m, s = mean[1 + 3 * i: 4 + 3 * i], se[1 + 3 * i: 4 + 3 * i]
        for other in b.STES:
            if other != ste:
                dev = np.abs(m - b.coarse_grad_v(w, v, w_star, vs, other).w)
                assert np.max(dev / s) > 10, (ste, other)


_V_FD = (np.array([0.8, -0.5, 1.2]), np.array([1.0, 0.3, 0.6]))  # v.v* = 1.37
FD_CASES = [(3, 1.0, 0.9, None), (3, 0.5, 2.3, None), (2, 2.0, 1.6, None),
            (3, 0.7, 0.5, _V_FD), (3, 1.5, 2.6, _V_FD)]


@pytest.mark.parametrize(("k", "r", "t", "vv"), FD_CASES)
def test_true_w_gradient_by_central_differences(k: int, r: float, t: float, vv) -> None:
    r"""Central differences of the *sampled* loss with common random numbers, along
    e1 (radial), e2 (in-plane normal) and e3 (orthogonal), step h = 0.05 r.

    Along e2 the population difference quotient is exactly
    :math:`-\ell_t\arctan(h/r)/h` (the angle moves by :math:`\mp\arctan(h/r)`; needs
    :math:`\arctan(h/r) < t < \pi - \arctan(h/r)`), which differs from the derivative
    :math:`-\ell_t/r` by at most :math:`|\nabla\ell|(h/r)^2/3`; that is added to the
    4-SE bound.  Along e1 every sample is exactly 0 (rescaling w changes no
    activation); along e3 the expectation is 0 by symmetry.
    """
    v, vs = (np.full(k, 1.0 / k), np.full(k, 1.0 / k)) if vv is None else vv
    w, w_star = _frame(r, t)
    h = 0.05 * r
    assert math.atan(h / r) < t < math.pi - math.atan(h / r)
    ws_hat = w_star / np.linalg.norm(w_star)

    def fn(z: np.ndarray) -> np.ndarray:
        f_star = (z @ ws_hat > 0).astype(np.float64) @ vs
        cols = []
        for pre_p, pre_m in (((r + h) * z[..., 0], (r - h) * z[..., 0]),
                             (r * z[..., 0] + h * z[..., 1], r * z[..., 0] - h * z[..., 1]),
                             (r * z[..., 0] + h * z[..., 2], r * z[..., 0] - h * z[..., 2])):
            dp = (pre_p > 0).astype(np.float64) @ v - f_star
            dm = (pre_m > 0).astype(np.float64) @ v - f_star
            cols.append((dp * dp - dm * dm) / (2 * h))
        return np.column_stack(cols)

    mean, se = _mc(_plane_samples(k), fn)
    g = b.grad_v(w, v, w_star, vs).w
    trunc = np.abs(g) * (h / r) ** 2 / 3
    _assert_within("FD of the sampled loss", mean, se, g, extra=trunc)
    assert mean[0] == 0.0 and se[0] == 0.0  # radial: exact
    assert abs(g[1]) > 20 * se[1]  # the check has power: the gradient is far above noise
    if vv is None:
        np.testing.assert_allclose(b.grad(w, w_star, k), g, rtol=1e-14, atol=0)


@pytest.mark.parametrize(("k", "d", "fixed"), [(2, 5, False), (3, 4, True)])
def test_direct_d_dimensional(k: int, d: int, fixed: bool) -> None:
    """Full inputs Z ~ N(0, I_{k x d}), generic w, w*, v, v* (seeded), N = 1e6 in chunks:
    loss, every E g_w (d components) and E g_v."""
    rng = np.random.default_rng([SEED, 99, k, d])
    w, w_star = rng.standard_normal(d) * 0.8, rng.standard_normal(d) * 1.7
    v, vs = ((np.full(k, 1.0 / k),) * 2) if fixed else (rng.standard_normal(k),
                                                          rng.standard_normal(k))
    s = s2 = 0.0
    for c in range(N // CHUNK):
        z = np.random.default_rng([SEED, 7, k, d, c]).standard_normal((CHUNK, k, d))
        pre, pre_star = z @ w, z @ w_star
        act = (pre > 0).astype(np.float64)
        dd = act @ v - (pre_star > 0).astype(np.float64) @ vs
        cols = [(dd * dd)[:, None]]
        for ste in b.STES:
            cols.append(2 * dd[:, None] * np.einsum("nk,nkc->nc", v * _ste_prime(ste, pre), z))
        cols.append(2 * dd[:, None] * act)
        q = np.column_stack(cols)
        s, s2 = s + q.sum(axis=0), s2 + (q * q).sum(axis=0)
    mean = s / N
    se = np.sqrt(np.maximum(s2 / N - mean * mean, 0) / N)
    expected = [np.atleast_1d(b.loss_v(w, v, w_star, vs))]
    expected += [b.coarse_grad_v(w, v, w_star, vs, ste).w for ste in b.STES]
    expected.append(b.grad_v(w, v, w_star, vs).v)
    _assert_within(f"d = {d}", mean, se, np.concatenate(expected))
    if fixed:
        got = [np.atleast_1d(b.loss(w, w_star, k))] + [b.coarse_grad(w, w_star, k, ste)
                                                         for ste in b.STES]
        np.testing.assert_allclose(np.concatenate(got), np.concatenate(expected[:-1]),
                                   rtol=1e-13, atol=1e-15)
