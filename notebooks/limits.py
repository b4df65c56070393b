# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The limits of RVSM, computed from the theory
#
# `theory.limits` reduces the fixed-point system of RVSM (ReLU) and RVSCGD (binary) to two
# scalars (|w|, angle) resp. one (alpha) and enumerates every branch pattern.  The argument is in
# `proofs_notes/limits.md`; here we look at three findings and check each with the plain
# float64 iteration.

# %%
import numpy as np

from theory import relu
from theory.limits import relu_fixed_points
from theory.penalties import Penalty

display = globals().get("display", print)  # injected by tests/test_layout.py; print otherwise


def iterate(w, w_star, k, pen, lam, beta, eta, n):
    for _ in range(n):
        u = pen.prox(w, lam / beta)
        w = w - eta * relu.grad(w, w_star, k, validate=False) - eta * beta * (w - u)
    return w


# %% [markdown]
# ## 1. l0: every support is a limit (hysteresis)
# The example `w* = (1, -0.8, 0.5)`, `k = 3`, `lam = 0.1`, `beta = 1`, `eta = 0.5`.

# %%
ws = np.array([1.0, -0.8, 0.5])
fs = relu_fixed_points(ws, 3, "l0", 0.1, 1.0, eta=0.5)
for f in fs:
    display(f"{'good' if f.good else 'outside'} support={f.support} "
            f"w_bar={np.round(f.w_bar, 4)} rho={f.spectral_radius:.3f} attracting={f.attracting}")
good = [f for f in fs if f.good]
assert len(good) == 8 and all(f.attracting for f in good)

# %% [markdown]
# Started 1e-4 away from each good point, the iteration returns to it (to 1e-12).

# %%
rng = np.random.default_rng(0)
pen0 = Penalty("l0")
for f in good:
    wb = np.array(f.w_bar)
    w = iterate(wb + 1e-4 * rng.standard_normal(3), ws, 3, pen0, 0.1, 1.0, 0.5, 400)
    assert np.max(np.abs(w - wb)) < 1e-12

# %% [markdown]
# ## 2. l1 is not unique for large lam
# Three attracting good limits: support {1} with A > 0, and {3}, {0} with A < 0 (a smaller
# |w*_i| kept).

# %%
ws1 = np.array([0.1, 2.5, 0.7, 0.4, 1.7])
lam1, beta1 = 0.3629119507373795, 1.4458839716722613
fs1 = relu_fixed_points(ws1, 5, "l1", lam1, beta1, eta=0.5)
att = [f for f in fs1 if f.attracting]
for f in att:
    display(f"good={f.good} support={f.support} A={f.coeffs['A']:.4f} L={f.lagrangian:.5f}")
assert sorted(f.support for f in att if f.good) == [(0,), (1,), (3,)]
pen1 = Penalty("l1")
for f in att:
    wb = np.array(f.w_bar)
    w = iterate(wb + 1e-5 * rng.standard_normal(5), ws1, 5, pen1, lam1, beta1, 0.5, 3000)
    assert np.max(np.abs(w - wb)) < 1e-10

# %% [markdown]
# ## 3. TL1 without a jump can also be non-unique
# Subcritical TL1 (`tau = 0.63 tau_crit`, continuous prox): two attracting limits, both with
# A > 0 (the `kept-low` side of phi makes the band; limits.md step 5).

# %%
ws2 = np.array([-0.48, -0.72, -0.52])
a2, beta2, lam2 = 0.8, 1.37, 0.1532
assert lam2 / beta2 < a2**2 / (2 * (a2 + 1))  # subcritical
fs2 = relu_fixed_points(ws2, 2, "tl1", lam2, beta2, a=a2, eta=0.05, outside=False)
att2 = [f for f in fs2 if f.attracting]
for f in att2:
    display(f"support={f.support} A={f.coeffs['A']:.4f} w_bar={np.round(f.w_bar, 4)}")
assert len(att2) >= 2 and all(f.coeffs["A"] > 0 for f in att2)
pen2 = Penalty("tl1", a=a2)
for f in att2:
    wb = np.array(f.w_bar)
    w = iterate(wb + 1e-5 * rng.standard_normal(3), ws2, 2, pen2, lam2, beta2, 0.05, 4000)
    assert np.max(np.abs(w - wb)) < 1e-9

# %% [markdown]
# ## 4. The derived ReLU bound beside the actual distance

# %%
for lam in (0.3, 0.1, 0.01, 0.001):
    f = relu_fixed_points(ws, 3, "l1", lam, 1.0)[0]
    b = f.bound
    display(f"lam={lam:<6} |w_bar - w*|={b.w_dist:.3e}  bound={b.w_bound:.3e}  "
            f"ratio={b.w_bound / b.w_dist:.2f}")
    assert b.w_dist <= b.w_bound
