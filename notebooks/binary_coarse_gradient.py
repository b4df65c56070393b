# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Binarized activation: loss, true gradient, expected coarse gradients
#
# Model $f(Z, w) = \frac1k\sum_i 1\{w\cdot Z_i > 0\}$, loss $\ell = E[(f(w) - f(w^*))^2]$
# (no 1/2).  Everything below calls `theory.binary`; the derivations are in
# `proofs_notes/binary_coarse_gradient.md`, the tests in `tests/test_binary_*.py`.

# %%
import math

import numpy as np
import sympy as sp

from theory import binary as b

t, r, k = b.t, b.r, b.k

# %% [markdown]
# ## Loss and true gradient
# $\ell = t/(\pi k)$ depends on $w$ only through the angle; $\nabla\ell = -\hat n/(\pi k|w|)$
# with $\hat n$ the in-plane unit normal towards $w^*$.  Its norm does not vanish as
# $t \to 0$: the loss has a kink at $w \parallel w^*$.

# %%
assert sp.simplify(b.loss_expr() - t / (sp.pi * k)) == 0
assert sp.simplify(b.grad_w_coeff_expr() + 1 / (sp.pi * k * r)) == 0
b.loss_expr(), b.grad_w_coeff_expr()

# %% [markdown]
# ## Expected coarse gradients $E g = \alpha\hat w + \beta\hat w^*$
# ReLU STE: $c(\hat w - \hat w^*)$, identity: $2c(\hat w - \hat w^*)$, $c = 1/(k\sqrt{2\pi})$;
# the clipped ReLU depends on $|w|$ through $\operatorname{erf}$.

# %%
c = 1 / (k * sp.sqrt(2 * sp.pi))
for ste in b.STES:
    alpha, beta = b.coarse_coeffs_expr(ste)
    print(f"{ste:13s} alpha = {alpha}\n{'':13s} beta  = {beta}")
assert sp.simplify(b.coarse_coeffs_expr("relu")[0] - c) == 0
assert sp.simplify(b.coarse_coeffs_expr("identity")[1] + 2 * c) == 0

# %% [markdown]
# A quick Monte Carlo look (1e5 samples, 5 standard errors; the tests use 1e6 and 4).

# %%
rng = np.random.default_rng(0)
kk, rr, tt = 3, 1.4, 1.1
w, w_star = np.array([rr, 0.0, 0.0]), np.array([math.cos(tt), math.sin(tt), 0.0])
z = rng.standard_normal((100_000, kk, 3))
d = ((z[..., 0] > 0).mean(-1) - (z @ w_star > 0).mean(-1))
for ste, prime in [("relu", lambda x: x > 0), ("identity", lambda x: np.ones_like(x, bool)),
                   ("clipped-relu", lambda x: (x > 0) & (x < 1))]:
    g = 2 * d[:, None] * np.einsum("nk,nkc->nc", prime(rr * z[..., 0]) / kk, z)
    mc, se = g.mean(0), g.std(0) / math.sqrt(len(g))
    exact = b.coarse_grad(w, w_star, kk, ste)
    assert np.all(np.abs(mc - exact) <= 5 * se + 1e-12), ste
    print(ste, exact.round(4), mc.round(4))

# %% [markdown]
# ## Correlation with the true gradient, and its proof
# $\langle E g, \nabla\ell\rangle = \sin t/(\sqrt2\pi^{3/2}k^2|w|)\times\{1, 2,
# \operatorname{erf}(1/(\sqrt2|w|\sin t))\}$: the prover certifies $\ge 0$ on all of
# $[0, \pi]$ (and all $|w| > 0$), zero exactly at $t \in \{0, \pi\}$, and rejects the
# sign-flipped expression.

# %%
for ste in b.STES:
    cert = b.correlation_certificate(ste)
    assert cert.ok and b.correlation_certificate(ste, general=True).ok
    print(ste, b.correlation_expr(ste), "| boxes:", cert.boxes, "| zeros:", dict(cert.zeros))
assert not b.prove_nonnegative(-b.correlation_expr("clipped-relu")).ok

# %%
ts = np.linspace(0, np.pi, 7)
ws = np.stack([np.cos(ts), np.sin(ts)], axis=-1)
for ste in b.STES:
    vals = b.correlation(ws * 0.7, np.array([1.0, 0.0]), 2, ste)
    assert np.all(vals >= 0) and vals[0] == 0
    print(ste, vals.round(5))
