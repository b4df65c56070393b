"""The figures of ``rvsm report``: each function draws one PNG into a directory and returns its
file name.

Every plotted artist that carries a checked quantity has a ``gid`` (``tests/test_report_figures.py``
reads the figure back through it): the trajectories' angle traces end on the calculator's angle
of the limit they reach (like with like: :math:`\\theta(w_t, w^*)` against
:math:`\\theta(\\bar w, w^*)`), the limit map's :math:`\\bar u` is the prox of its :math:`\\bar w`,
every bound-tightness point lies below the diagonal, and so on.  Parameters of each figure are
module constants, so the tests recompute the same quantities.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from theory import relu

__all__ = ["FIGURES", "figure_tradeoff", "TRAJECTORIES", "LIMIT_MAP", "LIMIT_MAP_PENALTIES",
           "HYSTERESIS", "TRADEOFF_ZOOM", "TRADEOFF_METHODS", "trajectory_runs"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, out: Path, name: str) -> str:
    """Write ``fig`` to ``out/name`` atomically (temporary file, then rename) and close it."""
    plt = _pyplot()
    tmp = out / f".{name}.tmp.png"
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, out / name)
    return name


# ---------------------------------------------------------------- the ReLU landscape

LANDSCAPE_K = 3


def _figure_relu_landscape(out: Path) -> str:
    plt = _pyplot()
    k_ = LANDSCAPE_K
    xs = np.linspace(-2.0, 2.0, 301)
    ys = np.linspace(-1.5, 1.5, 241)
    gx, gy = np.meshgrid(xs, ys)
    w = np.stack([gx, gy], axis=-1)
    w_star = np.array([1.0, 0.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = relu.loss(w.reshape(-1, 2), w_star, k_).reshape(gx.shape)
    saddle = float(relu.critical_points()[1].scale.subs(relu.k, k_))
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=120)
    cs = ax.contourf(gx, gy, np.log10(z + 1e-6), levels=30, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="log10 loss")
    ax.plot([1], [0], "w*", ms=14, label="w* (global min)", gid="w_star")
    ax.plot([saddle], [0], "rs", label=f"saddle -(b/a) w* = {saddle:.3f} w*", gid="saddle")
    ax.plot([0], [0], "k^", label="0 (non-differentiable max)", gid="origin")
    ax.set_xlabel("component along w*")
    ax.set_ylabel("orthogonal component")
    ax.set_title(f"ReLU population loss, k = {k_}, |w*| = 1")
    ax.legend(loc="lower left", fontsize=8)
    return _save(fig, out, "relu_landscape.png")


# ---------------------------------------------------------------- bad random starts

RANDOM_START_DIMS = (2, 3, 10, 50)
RANDOM_START_SAMPLES = 200_000


def _figure_random_start(out: Path) -> str:
    from theory.geometry import angle

    plt = _pyplot()
    rng = np.random.default_rng(12)
    deltas = np.linspace(0.0, np.pi / 2, 41)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for d, color in zip(RANDOM_START_DIMS, ("C0", "C1", "C2", "C3")):
        formula = [float(relu.random_start_probability(float(x), d)) for x in deltas]
        ang = angle(rng.standard_normal((RANDOM_START_SAMPLES, d)), np.eye(d)[0])
        sampled = [float(np.mean(ang > np.pi - x)) for x in deltas]
        ax.plot(deltas, formula, color=color, label=f"d = {d}", gid=f"formula-d{d}")
        ax.plot(deltas[::4], sampled[::4], "o", color=color, ms=4, gid=f"sampled-d{d}")
    ax.plot(deltas, deltas / np.pi, "k--", lw=1, label="delta / pi (the bound)", gid="chord")
    ax.plot([], [], "o", color="0.4", ms=4, label=f"{RANDOM_START_SAMPLES:.0e} samples")
    ax.set_xlabel("delta")
    ax.set_ylabel("P[angle(w0, w*) > pi - delta]")
    ax.set_title("Bad random starts: (1/2) I_(sin^2 delta)((d-1)/2, 1/2) (lines) "
                 "against samples (dots)", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, out, "random_start_probability.png")


# ---------------------------------------------------------------- trajectories

TRAJECTORIES: dict[str, Any] = {
    "w_star": (1.0, 0.5, 0.0, -0.3), "k": 4, "lam": 0.05, "beta": 1.0, "eta": 0.5,
    "runs": 16, "seed": 3, "iters": 400,
    "penalties": (("l1", {}), ("l0", {}), ("tl1", {"a": 1.0})),
}
MATCH_TOL = 1e-6
"""A run reaches a listed fixed point when max_i |u_i - u_bar_i| is below this."""


def trajectory_runs(pen: str, params: dict[str, float]) -> tuple[Any, list[Any], np.ndarray]:
    """One penalty of the trajectory figure: the simulation result, the calculator's attracting
    fixed points, and per run the index of the one it reached (-1: none within
    :data:`MATCH_TOL`)."""
    import sim
    from theory.limits import fixed_points

    p = TRAJECTORIES
    w_star = np.array(p["w_star"])
    fs = fixed_points("relu", w_star, p["k"], pen, p["lam"], p["beta"], eta=p["eta"], **params)
    attracting = [fp for fp in fs if fp.attracting]
    res = sim.run(w_star=w_star, runs=p["runs"], seed=p["seed"], k=p["k"], lam=p["lam"],
                  beta=p["beta"], eta=p["eta"], penalty=pen, penalty_params=params,
                  iters=p["iters"], record_every=1)
    match = np.full(res.runs, -1)
    if attracting:
        limits = np.array([fp.u_bar for fp in attracting], dtype=float)
        dist = np.max(np.abs(res.u[:, None] - limits[None]), -1)
        best = np.argmin(dist, axis=1)
        ok = dist[np.arange(res.runs), best] < MATCH_TOL
        match[ok] = best[ok]
    return res, attracting, match


def _figure_trajectories(out: Path) -> str:
    """Per penalty: angle(w_t, w*) of each run against angle(w_bar, w*) of the attracting fixed
    point it reaches (same colour, dashed), and L_beta(u_t, w_t) minus its final value."""
    plt = _pyplot()
    p = TRAJECTORIES
    pens = p["penalties"]
    fig, axes = plt.subplots(2, len(pens), figsize=(4.3 * len(pens), 6.6), dpi=110,
                             sharex=True, squeeze=False)
    for col, (pen, params) in enumerate(pens):
        res, attracting, match = trajectory_runs(pen, params)
        top, bottom = axes[0][col], axes[1][col]
        steps = res.trace_steps
        ang = res.traces["angle"]
        lag = res.traces["lagrangian"]
        reached = sorted(set(match.tolist()) - {-1}, key=lambda j: -int(np.sum(match == j)))
        # limits at the same angle (e.g. mirror images) share one dashed line and colour
        levels: dict[float, list[int]] = {}
        for j in reached:
            levels.setdefault(round(float(attracting[j].angle), 9), []).append(j)
        colors = {j: f"C{i % 10}" for i, js in enumerate(levels.values()) for j in js}
        for b in range(res.runs):
            j = int(match[b])
            color, ls = (colors[j], "-") if j >= 0 else ("0.5", ":")
            top.plot(steps, ang[:, b], color=color, ls=ls, alpha=0.5, lw=1,
                     gid=f"angle-{pen}-run{b}")
            bottom.semilogy(steps, lag[:, b] - lag[-1, b] + 1e-16, color=color, ls=ls,
                            alpha=0.5, lw=1, gid=f"lagrangian-{pen}-run{b}")
        for level, js in levels.items():
            n = int(np.sum(np.isin(match, js)))
            text = f"{level:.3f} rad: {n} run{'s' * (n != 1)}"
            top.axhline(level, color=colors[js[0]], ls="--", lw=1.2, gid=f"limit-{pen}-{js[0]}",
                        label=text + (f", {len(js)} limits" if len(js) > 1 else ""))
        unmatched = int(np.sum(match < 0))
        if unmatched:
            top.plot([], [], color="0.5", ls=":", label=f"no listed limit ({unmatched} runs)")
        top.set_title(f"{pen}{' (a = 1)' if params else ''}: {len(attracting)} attracting "
                      f"limit{'s' * (len(attracting) != 1)}, {len(reached)} reached",
                      fontsize=10)
        top.legend(fontsize=7, title="calculator: angle(w_bar, w*)", title_fontsize=7,
                   loc="upper right")
        bottom.set_xlabel("step")
        top.set_ylabel("angle(w_t, w*)  [rad]")
        bottom.set_ylabel("L_beta(u_t, w_t) - final value")
    fig.suptitle(f"RVSM from {p['runs']} random starts, w* = {list(p['w_star'])}, k = {p['k']}, "
                 f"lam = {p['lam']}, beta = {p['beta']}, eta = {p['eta']}.\nTop: each run's "
                 "angle(w_t, w*) ends on the calculator's angle(w_bar, w*) of the limit it "
                 "reaches (dashed, same colour). Bottom: L_beta decreases monotonically.",
                 fontsize=9)
    fig.tight_layout()
    return _save(fig, out, "trajectories.png")


# ---------------------------------------------------------------- error bounds

BOUND_INSTANCES = 40
BOUND_FLOOR = 1e-5
"""Exact recoveries (l0: actual ~ 1e-16) are drawn at this height, not at 1e-16."""


def _figure_bound_tightness(out: Path) -> str:
    from theory.statements.limits import bound_tightness_sample

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    markers = {"l1": "o", "l0": "s", "tl1": "^"}
    exact = []
    for model, color in (("relu", "C0"), ("binary", "C3")):
        rows = bound_tightness_sample(model, BOUND_INSTANCES, 4)["rows"]
        exact += [r[1] for r in rows if r[2] < 1e-12]
        for pen, marker in markers.items():
            sel = [r for r in rows if r[0] == pen]
            if sel:
                b, a = np.array([(r[1], r[2]) for r in sel]).T
                med = np.median(a / b)
                keep = a >= 1e-12
                ax.loglog(b[keep], a[keep], marker, color=color, ms=4, alpha=0.6, mfc="none",
                          label=f"{model} {pen}: {med:.2f}", gid=f"points-{model}-{pen}")
    if exact:
        ax.loglog(exact, np.full(len(exact), BOUND_FLOOR), "kv", ms=4, alpha=0.5, gid="exact",
                  label=f"exact recovery ({len(exact)} points, drawn at {BOUND_FLOOR:g})")
    lim = ax.get_xlim()
    ax.plot(lim, lim, "k--", lw=1, label="actual = bound", gid="diagonal")
    ax.set_xlabel("bound on |w_bar - w*| (binary: to w*^)")
    ax.set_ylabel("actual |w_bar - w*|")
    ax.set_title(f"Error bounds against the actual distance ({BOUND_INSTANCES} random instances "
                 "per model,\nall branches; statement limits.error_bound_tightness)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", title="model penalty: median actual/bound",
              title_fontsize=7)
    return _save(fig, out, "bound_tightness.png")


# ---------------------------------------------------------------- the limit map

LIMIT_MAP_PENALTIES: tuple[tuple[str, dict[str, float]], ...] = (
    ("l1", {}), ("l0", {}), ("tl1", {"a": 1.0}))
LIMIT_MAP: dict[str, Any] = {"w_star": (-2.0, 2.0, 81), "k": 4, "lam": 0.05, "beta": 1.0,
                             "eta": 0.5}


def _figure_limit_map(out: Path) -> str:
    """w*_i -> (w_bar_i, u_bar_i) at the calculator's attracting fixed points (d = 81)."""
    from theory.limits import fixed_points

    plt = _pyplot()
    p = LIMIT_MAP
    w_star = np.linspace(*p["w_star"])
    k, lam, beta, eta = p["k"], p["lam"], p["beta"], p["eta"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6), dpi=110, sharey=True)
    for ax, (pen, params) in zip(axes, LIMIT_MAP_PENALTIES):
        fs = fixed_points("relu", w_star, k, pen, lam, beta, eta=eta, outside=False, **params)
        attracting = sorted((fp for fp in fs if fp.attracting), key=lambda fp: fp.lagrangian)
        for fp in attracting[1:]:
            ax.plot(w_star, np.array(fp.u_bar, dtype=float), color="0.75", lw=0.8)
        if attracting:
            best = attracting[0]
            ax.plot(w_star, np.array(best.w_bar, dtype=float), "C0.", ms=4, gid=f"w_bar-{pen}")
            ax.plot(w_star, np.array(best.u_bar, dtype=float), "C3-", lw=1.5, gid=f"u_bar-{pen}")
        ax.plot(w_star, w_star, "k:", lw=0.8)
        ax.set_title(f"{pen}{' a = 1' if params else ''}: {len(attracting)} attracting fixed "
                     f"point{'s' * (len(attracting) != 1)}"
                     + (f"; sparsity {attracting[0].sparsity:.2f}" if attracting else ""),
                     fontsize=10)
        ax.set_xlabel("w*_i")
    axes[0].set_ylabel("limit coordinate (clipped to [-3.5, 3.5])")
    axes[0].set_ylim(-3.5, 3.5)
    handles = [
        axes[0].plot([], [], "C0.", ms=6)[0], axes[0].plot([], [], "C3-", lw=1.5)[0],
        axes[0].plot([], [], color="0.75", lw=0.8)[0], axes[0].plot([], [], "k:", lw=0.8)[0]]
    fig.legend(handles, ["w_bar (the attracting fixed point with the smallest L_beta)",
                         "u_bar = prox(w_bar) of that point",
                         "u_bar of the other attracting fixed points", "identity"],
               loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"The limit map of ReLU RVSM, w* = 81 points on [-2, 2], k = {k}, "
                 f"lam = {lam}, beta = {beta}, eta = {eta} (calculator)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _save(fig, out, "limit_map.png")


# ---------------------------------------------------------------- hysteresis

HYSTERESIS: dict[str, Any] = {
    "d": 12, "k": 4, "beta": 1.0, "eta": 0.5, "lams": (0.01, 1.0, 24), "iters": 4000,
    "penalties": (("l1", {}), ("l0", {}), ("tl1", {"a": 0.25})),
}


def hysteresis_teacher() -> np.ndarray:
    d = HYSTERESIS["d"]
    return np.linspace(0.25, 2.0, d) * np.where(np.arange(d) % 2, -1.0, 1.0)


def _figure_hysteresis(out: Path) -> str:
    """Sparsity of every attracting fixed point against lam (calculator), with simulated
    continuations: lam swept up, then down, each run warm-started at the previous limit."""
    import sim
    from theory.limits import sparsity_path

    plt = _pyplot()
    p = HYSTERESIS
    w_star = hysteresis_teacher()
    k, beta, eta = p["k"], p["beta"], p["eta"]
    lams = np.geomspace(*p["lams"])
    pens = p["penalties"]
    fig, axes = plt.subplots(1, len(pens), figsize=(13, 4.6), dpi=110, sharey=True)
    for ax, (pen, params) in zip(axes, pens):
        path = sparsity_path("relu", w_star.tolist(), k, pen, lams.tolist(), beta,
                             a=params.get("a"))
        xs = [pt.lam for pt in path for _ in pt.sparsities]
        ys = [s for pt in path for s in pt.sparsities]
        ax.semilogx(xs, ys, "o", color="0.6", ms=7, mfc="none", gid=f"calculator-{pen}")
        w0, sweeps = w_star.copy(), {}
        for name, grid in (("up", lams), ("down", lams[::-1])):
            sps = []
            for lam in grid:
                res = sim.run(w_star=w_star, w0=w0, k=k, lam=float(lam), beta=beta, eta=eta,
                              penalty=pen, penalty_params=params, iters=p["iters"], tol=1e-12,
                              record_every=50)
                w0 = res.w[0]
                sps.append(float(np.mean(res.u[0] == 0)))
            sweeps[name] = (grid, sps)
        ax.semilogx(*sweeps["up"], "C0.-", gid=f"up-{pen}")
        ax.semilogx(*sweeps["down"], "C3.--", gid=f"down-{pen}")
        ax.set_title(f"{pen}{' a = ' + str(params['a']) if params else ''}", fontsize=10)
        ax.set_xlabel("lam")
    axes[0].set_ylabel("sparsity of u")
    handles = [axes[0].plot([], [], "o", color="0.6", ms=7, mfc="none")[0],
               axes[0].plot([], [], "C0.-")[0], axes[0].plot([], [], "C3.--")[0]]
    fig.legend(handles, ["fixed points with positive curvature (calculator)",
                         "simulation, lam increasing (warm start)",
                         "simulation, lam decreasing (warm start)"],
               loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"Hysteresis: ReLU RVSM, d = {p['d']}, k = {k}, beta = {beta}, eta = {eta}. "
                 "l0 and TL1 (a = 0.25) have several limits per lam and the path depends on the "
                 "sweep's direction;\nl1 has one, except near total sparsity (A <= 0: limits.md)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _save(fig, out, "hysteresis.png")


# ---------------------------------------------------------------- real data

TRADEOFF_ZOOM = (78.0, 100.0)
"""The sparsity range (%) of the zoomed panels, where the conclusions are drawn."""
TRADEOFF_METHODS: dict[str, tuple[str, ...]] = {
    "overview": ("rvsm-l1", "rvsm-l0", "rvsm-tl1", "prune"),
    "penalties": ("rvsm-l1", "rvsm-tl1", "rvsm-l0"),
    "alternatives": ("rvsm-tl1", "practical-l0", "prune", "admm-l0"),
}
_TRADEOFF_STYLE = {"rvsm-l1": ("tab:blue", "o", "-"), "rvsm-l0": ("tab:orange", "s", "-"),
                   "rvsm-tl1": ("tab:green", "^", "-"), "admm-l0": ("tab:red", "v", "--"),
                   "practical-l0": ("tab:purple", "D", "--"), "prune": ("tab:gray", "x", ":"),
                   "group-tl1": ("tab:brown", "P", "-.")}


def tradeoff_points(res: dict[str, Any], model: str, method: str, beta: float
                    ) -> list[dict[str, Any]]:
    """The accuracy at each target sparsity (``at_sparsity`` entries with a value), sorted."""
    return sorted((e for e in res["at_sparsity"]
                   if e["model"] == model and e["method"] == method and e["beta"] == beta
                   and e["accuracy"] is not None), key=lambda e: e["sparsity"])


def figure_tradeoff(out: Path, results: str | os.PathLike[str]) -> str:
    """Accuracy against sparsity on real data: per model, an overview of the RVSM penalties
    with magnitude pruning over 0-100% (the grid of lambdas), then two panels zoomed on
    :data:`TRADEOFF_ZOOM` at the target sparsities (lambda selected per seed): the three
    penalties, and the best RVSM penalty against the practical variant, pruning and ADMM."""
    from sim.experiments.sweep import load_results

    plt = _pyplot()
    res = load_results(results)
    summ, cfg = res["summary"], res["config"]
    models = [m for m in cfg["models"] if any(r["model"] == m for r in summ)]
    beta = 1.0 if 1.0 in cfg["betas"] else cfg["betas"][0]
    fig, axes = plt.subplots(len(models), 3, figsize=(14, 4.2 * len(models)), dpi=110,
                             squeeze=False)
    for row, model in enumerate(models):
        ax = axes[row][0]
        for method in TRADEOFF_METHODS["overview"]:
            pts = sorted((r for r in summ if r["model"] == model and r["method"] == method
                          and r["beta"] == beta and r["accuracy"]["mean"] is not None),
                         key=lambda r: r["sparsity"]["mean"])
            if not pts:
                continue
            color, marker, ls = _TRADEOFF_STYLE[method]
            ax.plot([100 * r["sparsity"]["mean"] for r in pts],
                    [100 * r["accuracy"]["mean"] for r in pts], marker=marker, ls=ls,
                    color=color, ms=4, lw=1.2, label=method, gid=f"overview-{model}-{method}")
        ax.axvspan(*TRADEOFF_ZOOM, color="0.92", zorder=0)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_title(f"{model}: overview (mean over seeds; shaded: zoomed on the right)",
                     fontsize=9)
        ax.set_ylabel(f"{model}: test accuracy (%)")
        for col, (key, title) in enumerate((("penalties", "RVSM: the three penalties"),
                                            ("alternatives", "best RVSM penalty against the "
                                             "alternatives")), start=1):
            ax = axes[row][col]
            for method in TRADEOFF_METHODS[key]:
                pts = [e for e in tradeoff_points(res, model, method, beta)
                       if 100 * e["sparsity"] >= TRADEOFF_ZOOM[0]]
                if not pts:
                    continue
                color, marker, ls = _TRADEOFF_STYLE[method]
                bars = ax.errorbar([100 * e["sparsity_mean"] for e in pts],
                                   [100 * e["accuracy"] for e in pts],
                                   yerr=[100 * (e["std"] or 0.0) for e in pts], marker=marker,
                                   ls=ls, color=color, ms=6, lw=1.5, capsize=3, label=method)
                bars.lines[0].set_gid(f"zoom-{model}-{method}")
            ax.set_xlim(*TRADEOFF_ZOOM)
            ax.set_ylim(0, 100)
            ax.set_title(f"{model}, {TRADEOFF_ZOOM[0]:g}-{TRADEOFF_ZOOM[1]:g}%: {title}",
                         fontsize=9)
        for ax in axes[row]:
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="lower left")
    for ax in axes[-1]:
        ax.set_xlabel("sparsity of u (% zero weights)")
    seeds = len(cfg["seeds"])
    fig.suptitle(f"Accuracy against sparsity on {res['dataset']['name']} ({seeds} seeds, "
                 f"{cfg['epochs']} epochs, beta = {beta:g}). Zoomed panels: lambda selected per "
                 "seed to reach each target sparsity; bars: one standard deviation over seeds",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, Path(out), "tradeoff.png")


FIGURES: list[tuple[str, Callable[[Path], str]]] = [
    ("The ReLU loss in the plane of w and w*, with its critical points", _figure_relu_landscape),
    ("Probability that a uniform start is within delta of the bad direction -w*",
     _figure_random_start),
    ("RVSM trajectories per penalty: angle(w_t, w*) against the calculator's angle of the limit "
     "each run reaches, and L_beta over time", _figure_trajectories),
    ("Error bounds against the actual distance of the limit to the teacher",
     _figure_bound_tightness),
    ("The limit map w* -> (w_bar, u_bar) for each penalty", _figure_limit_map),
    ("Hysteresis branches: the limit's sparsity against lam, swept up and down",
     _figure_hysteresis),
]

