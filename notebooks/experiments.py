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
# # The real-data experiment: accuracy against sparsity, and lambda for a target sparsity
#
# `sim.experiments` (issue 8; notes in `proofs_notes/experiments.md`).  Tiny settings so that
# the notebook runs in seconds: 300 digits, the no-overlap patch network, a few epochs.  The
# measured figures come from `rvsm experiment tradeoff` / `select-lambda`.  Each cell
# asserts what it shows.

# %%
import tempfile
from pathlib import Path

import numpy as np
import torch

from sim.experiments import sweep
from sim.experiments.data import load_digits
from sim.experiments.gaussian import check_rule
from sim.experiments.models import Layout, PatchNet
from sim.experiments.select import Trial, select_lambda
from sim.experiments.training import TrainConfig, train
from theory.penalties import Penalty

torch.set_num_threads(1)
data = load_digits(limit=300)
print(data.info)
assert data.x_train.shape[1:] == (1, 8, 8) and data.classes == 10

# %% [markdown]
# ## The no-overlap network on image patches
# Four disjoint 4x4 patches $Z_i$ of the 8x8 image, shared filters $w_j$, hidden units
# $\mathrm{relu}(w_j\cdot Z_i)$, a linear readout.  All parameters live in one flat vector,
# penalised weights first, so that one update rule of `sim.algorithms` drives the network.

# %%
net = PatchNet((1, 8, 8), 10, patch=4, filters=8)
lay = Layout(net)
print({"k": net.k, "d": net.d, "parameters": lay.size, "penalised": lay.n_penalised})
assert (net.k, net.d, lay.n_penalised) == (4, 16, 8 * 16 + 10 * 32)

# %% [markdown]
# ## RVSM under l1, l0, TL1: the evaluated network uses the sparse $u$
# Sparsity grows with $\lambda$; at $\lambda = 0$ RVSM is plain SGD and $u = w$.

# %%
cfg = TrainConfig(model="patch", epochs=15, batch_size=64)
rows = []
for method in ("rvsm-l1", "rvsm-l0", "rvsm-tl1"):
    sps = []
    for lam in (0.0, 0.005, 0.03):
        o = train(data, method, lam, beta=1.0, seed=0, config=cfg)
        sps.append(o.sparsity)
        rows.append(f"{method:9s} lam={lam:<6g} sparsity={o.sparsity:.3f} "
                    f"accuracy={o.accuracy:.3f}")
    assert sps[0] == 0.0 and sps[0] <= sps[1] <= sps[2], (method, sps)
print("\n".join(rows))

# %% [markdown]
# ## The lambda-selection rule
# With a "training" whose $w$ does not move with $\lambda$ the characterisation is exact
# (unit $j$ is pruned iff $\lambda \ge \beta z^{-1}(|w_j|)$), and the rule needs one step.

# %%
m = np.arange(1.0, 11.0)
pen = Penalty("l1")


def static(lam: float) -> Trial:
    return Trial(lam, float(np.mean(m <= pen.threshold(lam).zero)), m)


sel = select_lambda(static, 0.5, penalty=pen, beta=1.0, lam0=3.5, tol=0.0)
print(sel.record())
assert sel.reached and sel.steps == ["start", "characterisation"]

# %% [markdown]
# On the Gaussian model (population RVSM, the simulator as trainer) the rule's result is
# checked against the exact map of the fixed-point calculator: the simulated limit $u$ is the
# principal fixed point of `theory.limits` at the chosen $\lambda$ and has the target sparsity.

# %%
w_star = np.random.default_rng(1).normal(size=8)
r = check_rule(w_star, 4, "l1", 1.0, 0.5)
print({k: v for k, v in r.items() if k != "path"})
assert r["reached"] and r["match"] and r["sparsity_principal"] == 0.5 and r["in_exact_interval"]

# %% [markdown]
# ## A (tiny) sweep with its table and figure
# Points are written one by one (resumable); the figure is `plot_tradeoff(results, png)`.

# %%
with tempfile.TemporaryDirectory() as tmp:
    conf = sweep.SweepConfig(models=("patch",), methods=("rvsm-l1", "prune"), seeds=(0, 1, 2),
                             lams={"rvsm-l1": (0.003, 0.03), "prune": (0.5, 0.9)}, epochs=2,
                             finetune_epochs=1, limit=300, workers=1)
    path = sweep.run_tradeoff(tmp, conf)
    res = sweep.load_results(path)
    print(sweep.table_markdown(res).splitlines()[-6:])
    assert len(res["points"]) == 12 and Path(tmp, "tradeoff.png").stat().st_size > 10_000
    assert all(len(row["seeds"]) == 3 for row in res["summary"])
