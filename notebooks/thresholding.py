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
# # Thresholding operators
#
# `theory.penalties.Penalty`: prox of $\tau P$, thresholds, continuity, Moreau envelope, for
# l1, l0, TL1, $\ell_{1/2}$, $\ell_{2/3}$, MCP, SCAD, $\ell_1 - \alpha\ell_2$ and group versions.
# Derivations: `proofs_notes/thresholding.md`. Each cell asserts what it shows.

# %%
import mpmath
import numpy as np

from theory.penalties import Penalty

tau = 1.0
pens = {
    "l1": Penalty("l1"), "l0": Penalty("l0"), "tl1 a=0.5": Penalty("tl1", a=0.5),
    "tl1 a=3": Penalty("tl1", a=3.0), "l1/2": Penalty("lp", p="1/2"),
    "l2/3": Penalty("lp", p="2/3"), "mcp g=3": Penalty("mcp", gamma=3.0),
    "scad a=3.7": Penalty("scad", a=3.7),
}
for name, pen in pens.items():
    th = pen.threshold(tau)
    print(f"{name:11s} zero={th.zero:.6f} jump_at={th.jump_at} jump={th.jump:.6f} "
          f"continuous={th.continuous}")
assert pens["l0"].threshold(tau).zero == np.sqrt(2.0)        # not tau
assert pens["l1/2"].threshold(tau).zero == 1.5                 # 1.5 tau^(2/3)
assert abs(pens["l2/3"].threshold(tau).zero - 2 * (2 / 3) ** 0.75) < 1e-15
assert pens["tl1 a=3"].is_continuous(tau) and not pens["tl1 a=0.5"].is_continuous(tau)

# %% [markdown]
# ## Tie rule: at an exact tie the smaller minimiser, in every backend
# TL1 with $a = 2$, $\tau = 3/2$: $s = \sqrt{2\tau(a+1)} = 3$, tie at $y = s - a/2 = 2$
# between $0$ and $s - a = 1$.

# %%
import torch  # noqa: E402

pen = Penalty("tl1", a=2.0)
y = np.array([2.0, -2.0, np.nextafter(2.0, 3.0)])
print(pen.prox(y, 1.5), pen.prox(torch.tensor(y), 1.5))
assert pen.prox(y, 1.5)[0] == 0 and pen.prox(y, 1.5)[2] > 1
with mpmath.mp.workdps(50):
    assert pen.prox(mpmath.mpf(2), 1.5) == 0

# %% [markdown]
# ## TL1 for a = 1e8 in float32: stable form vs the naive arccos form

# %%
a, tau, y32 = 1e8, 1.0, np.array([3.0], dtype=np.float32)
stable = Penalty("tl1", a=a).prox(y32, tau)[0]
Y = np.float32(3.0)
phi = np.arccos(np.float32(1) - np.float32(27 * tau * a * (a + 1) / 2) / (np.float32(a) + Y) ** 3)
naive = np.float32(2 / 3) * (np.float32(a) + Y) * np.cos(phi / 3) - np.float32(2 * a / 3) + Y / 3
with mpmath.mp.workdps(50):
    ref = float(Penalty("tl1", a=a).prox(mpmath.mpf(3), tau))
print(f"stable {stable!r}  naive {naive!r}  50 digits {ref!r}")
assert abs(stable - ref) <= 4 * np.finfo(np.float32).eps * 3
assert abs(naive - ref) >= 0.5  # the naive form is off by 50%

# %% [markdown]
# ## The maps (optional plot)

# %%
ys = np.linspace(-4, 4, 801)
xs = {name: pen.prox(ys, tau) for name, pen in pens.items()}
for x in xs.values():
    assert np.all(np.diff(x) >= -1e-12) and np.all(np.abs(x) <= np.abs(ys))
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for name, x in xs.items():
        ax.plot(ys, x, label=name)
    ax.plot(ys, ys, "k:", lw=0.8)
    ax.set(xlabel="y", ylabel="prox(y)", title=f"prox of tau P, tau = {tau}")
    ax.legend(fontsize=8)
except ImportError:  # pragma: no cover
    pass
