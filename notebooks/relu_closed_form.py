# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The ReLU no-overlap closed form, derived
#
# Every expression below is derived by SymPy inside `theory.relu` from the Gaussian
# integral of `theory.gaussian`; this notebook re-displays the derivation and checks it
# numerically. The step-by-step argument is in `proofs_notes/relu_closed_form.md`.

# %%
import numpy as np
import sympy as sp

from theory import gaussian, relu

t = relu.t
kappa1 = gaussian.relu_kernel()
kappa1

# %% [markdown]
# The arc-cosine kernel at the special angles: 1/2 at t = 0, 1/(2 pi) at pi/2, 0 at pi.

# %%
assert kappa1.subs(t, 0) == sp.Rational(1, 2)
assert sp.simplify(kappa1.subs(t, sp.pi / 2) - 1 / (2 * sp.pi)) == 0
assert kappa1.subs(t, sp.pi) == 0

# %% [markdown]
# The loss and its gradient coefficients, grad l = A w - B w*:

# %%
loss = relu.loss_expr()
A, B = relu.grad_coeffs_expr()
display_items = {"loss": loss, "A": A, "B": B, "a": relu.a_coeff(), "b": relu.b_coeff()}
for name, expr in display_items.items():
    print(f"{name} = {expr}")
assert sp.simplify(2 * relu.a_coeff() - 2 * relu.b_coeff() - relu.k) == 0

# %% [markdown]
# Critical points: w*, the degenerate saddle -(b/a) w*, and the origin.

# %%
for cp in relu.critical_points():
    print(cp.kind, "at", cp.scale, "* w*;", cp.note)
assert sp.simplify(relu.critical_points()[0].scale - 1) == 0

# %% [markdown]
# A Monte Carlo spot check (1e5 samples, so a 4-standard-error band).

# %%
rng = np.random.default_rng(0)
w, w_star, k = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, 1.0]), 3
z = rng.standard_normal((100_000, k, 3))
diff = (np.maximum(z @ w, 0).sum(1) - np.maximum(z @ w_star, 0).sum(1)) / k
est, se = np.mean(diff**2), np.std(diff**2) / np.sqrt(diff.size)
closed = relu.loss(w, w_star, k)
print(f"closed form {closed:.6f}, Monte Carlo {est:.6f} +- {se:.6f}")
assert abs(est - closed) <= 4 * se
