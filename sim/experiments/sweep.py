r"""Sweeps over :math:`\lambda` (and :math:`\beta`) and seeds: the accuracy-against-sparsity curves.

A sweep is a grid of *points* ``(model, method, beta, lam, seed)``; each point is one
:func:`sim.experiments.training.train`.  :func:`run_tradeoff` writes every finished point at
once, atomically, to ``OUT/points/<key>.json`` (with a hash of everything that determines it:
dataset, split, training configuration), so an interrupted sweep loses no finished point; on
restart the points already present with the same hash are skipped.  At the end (and after each
finished task) it writes the aggregate ``OUT/tradeoff.json`` (configuration, provenance, every
point, the per-``lam`` summary with mean and spread over the seeds, the table of accuracy at
given sparsities), the table ``OUT/tradeoff.md`` and the figure ``OUT/tradeoff.png``
(:func:`plot_tradeoff`).

Spread: the sample standard deviation over the seeds (``ddof=1``) and the min-max range.
Accuracy at a given sparsity :math:`s` (:func:`accuracy_at`): for ``prune``, the point whose
target is :math:`s`; for the lambda-swept methods, linear interpolation of the mean accuracy
against the mean sparsity between the two grid points that bracket :math:`s` (``None`` when no
pair brackets it, or when they differ by more than ``max_gap`` in sparsity); the spread is
interpolated the same way.

Lambda grids: per model and method (:data:`GRIDS`, chosen from pilot runs so that the grid
spans sparsities from about 0.2 to the collapse of the network, where every weight is pruned).
At a fixed point of RVSM a pruned weight has :math:`\beta|w_j| = |\partial_j\ell|`, so it is
pruned iff :math:`|\partial_j\ell| \le \lambda` (l1), :math:`\le \lambda(a+1)/a` (TL1 with a small
step), :math:`\le \sqrt{2\lambda\beta}` (l0): the l1/TL1 grids do not depend on :math:`\beta`,
the l0 grids are given for :math:`\beta = 1` and divided by :math:`\beta`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim.results import atomic_write, jsonable, provenance

__all__ = ["SweepConfig", "GRIDS", "preset", "run_tradeoff", "load_results", "summarize",
           "accuracy_at", "table_markdown", "plot_tradeoff", "point_key", "SPARSITIES"]

SPARSITIES: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
"""Sparsities of the table (accuracy at matched sparsity)."""

# Lambda grids at beta = 1 (prune: target sparsities), per model; see the module docstring.
GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "cnn": {
        "rvsm-l1": (5e-4, 1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3),
        "rvsm-l0": (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 4.5e-3, 6e-3, 8e-3),
        "rvsm-tl1": (3e-4, 6e-4, 1e-3, 1.7e-3, 2.4e-3, 3e-3, 3.6e-3, 4.3e-3),
        "admm-l0": (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 4.5e-3, 6e-3, 8e-3),
        "practical-l0": (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 7e-3, 9e-3),
        "group-tl1": (5e-4, 1e-3, 2e-3, 3e-3, 3.7e-3, 4.3e-3, 5e-3),
        "prune": (0.2, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
    },
    "patch": {
        "rvsm-l1": (1e-3, 2e-3, 4e-3, 6e-3, 9e-3, 1.15e-2, 1.4e-2, 1.6e-2),
        "rvsm-l0": (1e-4, 3e-4, 1e-3, 2e-3, 4e-3, 7e-3, 1e-2, 1.4e-2),
        "rvsm-tl1": (5e-4, 1e-3, 2e-3, 3e-3, 4.5e-3, 6e-3, 7.5e-3, 9e-3),
        "admm-l0": (1e-4, 3e-4, 1e-3, 2e-3, 4e-3, 7e-3, 1e-2, 1.4e-2),
        "practical-l0": (1e-4, 3e-4, 1e-3, 3e-3, 6e-3, 1e-2, 1.5e-2, 2e-2),
        "group-tl1": (2e-3, 3e-3, 4.5e-3, 6e-3, 7.5e-3, 9e-3),
        "prune": (0.2, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
    },
}


@dataclass(frozen=True)
class SweepConfig:
    """What a sweep runs.  ``lams``: per method, overrides :data:`GRIDS` (same for every
    model); ``betas``: the beta values for the ``rvsm-*`` and ``group-*`` methods (the
    baselines use ``betas[0]``); ``epochs``/``limit``: training epochs and a cap on the
    dataset size (``None``: all)."""

    models: tuple[str, ...] = ("cnn", "patch")
    methods: tuple[str, ...] = ("rvsm-l1", "rvsm-l0", "rvsm-tl1", "admm-l0", "practical-l0",
                                "prune", "group-tl1")
    seeds: tuple[int, ...] = (0, 1, 2)
    betas: tuple[float, ...] = (1.0,)
    lams: dict[str, tuple[float, ...]] = field(default_factory=dict)
    grid_points: int | None = None      # keep only this many points of each grid (spread out)
    epochs: int = 30
    batch_size: int | None = 128
    eta: float = 0.2
    finetune_epochs: int = 15
    dataset: str = "digits"
    limit: int | None = None
    split_seed: int = 0
    workers: int = 1

    def __post_init__(self) -> None:
        from sim.experiments.models import MODEL_NAMES
        from sim.experiments.training import METHODS

        for m in self.models:
            if m not in MODEL_NAMES:
                raise ValueError(f"model must be one of {', '.join(MODEL_NAMES)}, got {m!r}")
        for m in self.methods:
            if m not in METHODS:
                raise ValueError(f"method must be one of {', '.join(METHODS)}, got {m!r}")
        if not self.models or not self.methods or not self.seeds or not self.betas:
            raise ValueError("models, methods, seeds and betas must not be empty")
        if any(int(s) != s or s < 0 for s in self.seeds):
            raise ValueError("seeds must be integers >= 0")
        if any(not (math.isfinite(b) and b > 0) for b in self.betas):
            raise ValueError("betas must be > 0")
        for m, grid in self.lams.items():
            if m not in METHODS:
                raise ValueError(f"lams: unknown method {m!r}")
            if not grid or any(not (math.isfinite(x) and x >= 0) for x in grid):
                raise ValueError(f"lams[{m}] must be a non-empty list of numbers >= 0")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.grid_points is not None and self.grid_points < 1:
            raise ValueError(f"grid_points must be >= 1, got {self.grid_points}")

    def train_config(self, model: str) -> Any:
        from sim.experiments.training import TrainConfig

        return TrainConfig(model=model, epochs=self.epochs, batch_size=self.batch_size,
                           eta=self.eta, finetune_epochs=self.finetune_epochs)

    def grid(self, model: str, method: str, beta: float) -> tuple[float, ...]:
        if method in self.lams:
            return tuple(float(x) for x in self.lams[method])
        base = GRIDS[model][method]
        if self.grid_points is not None and self.grid_points < len(base):
            idx = np.unique(np.round(np.linspace(0, len(base) - 1, self.grid_points)).astype(int))
            base = tuple(base[i] for i in idx)
        if method.endswith("-l0"):
            return tuple(x / beta for x in base)
        return tuple(base)

    def betas_for(self, method: str) -> tuple[float, ...]:
        return self.betas if method.startswith(("rvsm-", "group-")) else self.betas[:1]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lams"] = {k: list(v) for k, v in self.lams.items()}
        return d


def preset(quick: bool) -> SweepConfig:
    """``quick``: both models, 5 grid points per method, 3 seeds, beta = 1, 2 workers (a few
    minutes on 2 cores).  Full: 8 grid points, 5 seeds, beta in {0.3, 1, 3}."""
    workers = max(1, min(2, os.cpu_count() or 1))
    if quick:
        return SweepConfig(grid_points=5, seeds=(0, 1, 2), betas=(1.0,), workers=workers)
    return SweepConfig(seeds=(0, 1, 2, 3, 4), betas=(1.0, 0.3, 3.0), workers=workers)


def point_key(model: str, method: str, beta: float, lam: float, seed: int) -> str:
    return f"{model}__{method}__b{beta:.6g}__l{lam:.6g}__s{seed}"


def _config_hash(cfg: SweepConfig, model: str, data_info: dict[str, Any]) -> str:
    blob = json.dumps({"train": cfg.train_config(model).to_dict(), "data": data_info},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _load_data(cfg: SweepConfig) -> Any:
    from sim.experiments.data import load_dataset

    return load_dataset(cfg.dataset, limit=cfg.limit, split_seed=cfg.split_seed)


@dataclass
class _Task:
    model: str
    method: str
    beta: float
    seed: int
    lams: list[float]


def _run_task(cfg: SweepConfig, task: _Task, points_dir: str, chash: str,
              data: Any = None) -> list[dict[str, Any]]:
    """Train the task's points one after the other, writing each when it is done."""
    from sim.experiments.training import train

    if data is None:
        data = _load_data(cfg)
    out = []
    for lam in task.lams:
        o = train(data, task.method, lam, task.beta, task.seed, cfg.train_config(task.model))
        rec = {"model": task.model, **o.record()}
        key = point_key(task.model, task.method, task.beta, lam, task.seed)
        blob = json.dumps(jsonable({"key": key, "hash": chash, "point": rec}), allow_nan=False)
        atomic_write(Path(points_dir) / f"{key}.json", (blob + "\n").encode())
        out.append(rec)
    return out


def _existing(points_dir: Path, key: str, chash: str) -> dict[str, Any] | None:
    p = points_dir / f"{key}.json"
    if not p.is_file():
        return None
    try:
        obj = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return obj["point"] if obj.get("hash") == chash else None


def run_tradeoff(out_dir: str | os.PathLike[str], cfg: SweepConfig | None = None, *,
                 progress: Callable[[str], None] | None = None, plot: bool = True) -> Path:
    """Run (or resume) the sweep; returns the path of ``tradeoff.json``."""
    cfg = cfg or preset(quick=True)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} exists and is not a directory")
    points_dir = out / "points"
    points_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda s: None)
    t0 = time.perf_counter()
    data = _load_data(cfg)
    hashes = {m: _config_hash(cfg, m, data.info) for m in cfg.models}
    done: dict[str, dict[str, Any]] = {}
    tasks: list[_Task] = []
    total = 0
    for model in cfg.models:
        for method in cfg.methods:
            for beta in cfg.betas_for(method):
                for seed in cfg.seeds:
                    todo = []
                    for lam in cfg.grid(model, method, beta):
                        total += 1
                        key = point_key(model, method, beta, lam, seed)
                        old = _existing(points_dir, key, hashes[model])
                        if old is not None:
                            done[key] = old
                        else:
                            todo.append(lam)
                    if todo:
                        tasks.append(_Task(model, method, beta, int(seed), todo))
    say(f"tradeoff: {total} points, {len(done)} already done, "
        f"{total - len(done)} to train in {len(tasks)} tasks ({cfg.workers} worker(s))")

    def finished(task: _Task, recs: list[dict[str, Any]]) -> None:
        for r in recs:
            done[point_key(task.model, task.method, task.beta, r["lam"], task.seed)] = r
        say(f"[{len(done)}/{total}] {task.model} {task.method} beta={task.beta:g} "
            f"seed={task.seed}: " + ", ".join(f"s={r['sparsity']:.3f}/acc={r['accuracy']:.3f}"
                                             for r in recs)
            + f"  ({time.perf_counter() - t0:.0f} s)")
        _write_aggregate(out, cfg, data.info, list(done.values()), time.perf_counter() - t0,
                         complete=False)

    if cfg.workers == 1 or len(tasks) <= 1:
        for task in tasks:
            finished(task, _run_task(cfg, task, str(points_dir), hashes[task.model], data))
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(cfg.workers, mp_context=mp.get_context("spawn")) as pool:
            futs = {pool.submit(_run_task, cfg, t, str(points_dir), hashes[t.model]): t
                    for t in tasks}
            try:
                for fut in as_completed(futs):
                    finished(futs[fut], fut.result())
            except BaseException:
                for f in futs:
                    f.cancel()
                raise
    path = _write_aggregate(out, cfg, data.info, list(done.values()),
                            time.perf_counter() - t0, complete=True)
    (out / "tradeoff.md").write_text(table_markdown(load_results(path)))
    if plot:
        plot_tradeoff(path, out / "tradeoff.png")
    say(f"tradeoff: done in {time.perf_counter() - t0:.1f} s -> {path}")
    return path


def _write_aggregate(out: Path, cfg: SweepConfig, data_info: dict[str, Any],
                     points: list[dict[str, Any]], elapsed: float, complete: bool) -> Path:
    order = {m: i for i, m in enumerate(cfg.methods)}
    points = sorted(points, key=lambda r: (r["model"], order.get(r["method"], 99), r["beta"],
                                           r["lam"], r["seed"]))
    summ = summarize(points)
    obj = {
        "kind": "rvsm-experiment-tradeoff", "format": 1, "complete": complete,
        "config": cfg.to_dict(), "dataset": data_info, "provenance": provenance("cpu"),
        "elapsed_s": elapsed, "points": points, "summary": summ,
        "at_sparsity": accuracy_at(summ, SPARSITIES),
    }
    path = out / "tradeoff.json"
    atomic_write(path, (json.dumps(jsonable(obj), allow_nan=False, indent=1) + "\n").encode())
    return path


def load_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``tradeoff.json`` (or a directory holding it)."""
    p = Path(path)
    if p.is_dir():
        p = p / "tradeoff.json"
    if not p.is_file():
        raise ValueError(f"no results file at {str(p)!r}")
    obj = json.loads(p.read_text())
    if obj.get("kind") != "rvsm-experiment-tradeoff":
        raise ValueError(f"{str(p)!r} is not a tradeoff results file")
    return obj


def _stats(xs: Sequence[float]) -> dict[str, float | None]:
    a = np.array([np.nan if x is None else x for x in xs], dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max())}


def summarize(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per ``(model, method, beta, lam)``: seeds, and mean/std/min/max of sparsity,
    accuracy and channel sparsity over the seeds (failed runs count as missing)."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in points:
        groups.setdefault((r["model"], r["method"], r["beta"], r["lam"]), []).append(r)
    out = []
    for (model, method, beta, lam), rs in groups.items():
        out.append({
            "model": model, "method": method, "beta": beta, "lam": lam,
            "seeds": sorted(r["seed"] for r in rs),
            "failed": sum(r.get("status") != "ok" for r in rs),
            "sparsity": _stats([r["sparsity"] for r in rs]),
            "accuracy": _stats([r["accuracy"] for r in rs]),
            "channel_sparsity": _stats([r["channel_sparsity"] for r in rs]),
        })
    return out


def accuracy_at(summary: Sequence[dict[str, Any]], sparsities: Sequence[float],
                max_gap: float = 0.25) -> list[dict[str, Any]]:
    """Accuracy of each ``(model, method, beta)`` at the given sparsities (module docstring)."""
    curves: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in summary:
        if row["sparsity"]["mean"] is None or row["accuracy"]["mean"] is None:
            continue
        curves.setdefault((row["model"], row["method"], row["beta"]), []).append(row)
    out = []
    for (model, method, beta), rows in curves.items():
        rows = sorted(rows, key=lambda r: (r["sparsity"]["mean"], r["lam"]))
        for s in sparsities:
            entry: dict[str, Any] = {"model": model, "method": method, "beta": beta,
                                     "sparsity": s, "accuracy": None, "std": None, "how": None}
            if method == "prune":
                hit = [r for r in rows if abs(r["lam"] - s) < 1e-12]
                if hit:
                    entry.update(accuracy=hit[0]["accuracy"]["mean"],
                                 std=hit[0]["accuracy"]["std"], how="pruned to this sparsity")
            else:
                for a, b in zip(rows, rows[1:]):
                    sa, sb = a["sparsity"]["mean"], b["sparsity"]["mean"]
                    if sa <= s <= sb and sb - sa <= max_gap:
                        f = 0.5 if sb == sa else (s - sa) / (sb - sa)
                        acc = (1 - f) * a["accuracy"]["mean"] + f * b["accuracy"]["mean"]
                        sd = (1 - f) * a["accuracy"]["std"] + f * b["accuracy"]["std"]
                        entry.update(accuracy=acc, std=sd,
                                     how=f"interpolated: lam {a['lam']:.4g}..{b['lam']:.4g}, "
                                         f"sparsity {sa:.3f}..{sb:.3f}")
                        break
            out.append(entry)
    return out


def _pm(st: dict[str, Any], pct: bool = True) -> str:
    if st["mean"] is None:
        return "-"
    k = 100 if pct else 1
    return f"{k * st['mean']:.1f} ± {k * st['std']:.1f}"


def table_markdown(results: dict[str, Any]) -> str:
    """The two tables of the report: accuracy at given sparsities, and every swept point."""
    lines = [f"Dataset: {results['dataset']['name']} (train {results['dataset']['n_train']}, "
             f"test {results['dataset']['n_test']}); seeds per point: "
             f"{len(results['config']['seeds'])}; mean ± sample std over seeds (percent).", ""]
    at = results["at_sparsity"]
    sps = sorted({e["sparsity"] for e in at})
    lines += ["| model | method | beta | " + " | ".join(f"acc @ {100 * s:.0f}%" for s in sps)
              + " |", "|---|---|---|" + "---|" * len(sps)]
    keys: list[tuple[Any, ...]] = []
    for e in at:
        k = (e["model"], e["method"], e["beta"])
        if k not in keys:
            keys.append(k)
    for k in keys:
        cells = []
        for s in sps:
            e = next(x for x in at if (x["model"], x["method"], x["beta"]) == k
                     and x["sparsity"] == s)
            cells.append("-" if e["accuracy"] is None
                         else f"{100 * e['accuracy']:.1f} ± {100 * e['std']:.1f}")
        lines.append(f"| {k[0]} | {k[1]} | {k[2]:g} | " + " | ".join(cells) + " |")
    lines += ["", "| model | method | beta | lam (prune: target) | seeds | sparsity % | "
              "accuracy % | channels zero % |", "|---|---|---|---|---|---|---|---|"]
    for r in results["summary"]:
        lines.append(f"| {r['model']} | {r['method']} | {r['beta']:g} | {r['lam']:.4g} | "
                     f"{len(r['seeds'])} | {_pm(r['sparsity'])} | {_pm(r['accuracy'])} | "
                     f"{_pm(r['channel_sparsity'])} |")
    return "\n".join(lines) + "\n"


def plot_tradeoff(results_path: str | os.PathLike[str], out_png: str | os.PathLike[str]) -> Path:
    """The accuracy-against-sparsity figure: one panel per model, one curve per method (and
    beta), error bars = sample std over seeds in both directions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = load_results(results_path)
    summ = res["summary"]
    models = [m for m in res["config"]["models"] if any(r["model"] == m for r in summ)] or \
        sorted({r["model"] for r in summ})
    fig, axes = plt.subplots(1, max(1, len(models)), figsize=(6.2 * max(1, len(models)), 4.6),
                             squeeze=False)
    styles = {"rvsm-l1": "o-", "rvsm-l0": "s-", "rvsm-tl1": "^-", "admm-l0": "v--",
              "practical-l0": "D--", "prune": "x:", "group-tl1": "P-."}
    for ax, model in zip(axes[0], models):
        curves: dict[tuple[str, float], list[dict[str, Any]]] = {}
        for r in summ:
            if r["model"] == model and r["accuracy"]["mean"] is not None:
                curves.setdefault((r["method"], r["beta"]), []).append(r)
        for (method, beta), rows in curves.items():
            rows.sort(key=lambda r: r["sparsity"]["mean"])
            label = method if len(res["config"]["betas"]) == 1 or not method.startswith(
                ("rvsm-", "group-")) else f"{method} beta={beta:g}"
            ax.errorbar([100 * r["sparsity"]["mean"] for r in rows],
                        [100 * r["accuracy"]["mean"] for r in rows],
                        xerr=[100 * r["sparsity"]["std"] for r in rows],
                        yerr=[100 * r["accuracy"]["std"] for r in rows],
                        fmt=styles.get(method, "o-"), capsize=2, ms=4, lw=1, label=label)
        ax.set_title(f"{model} on {res['dataset']['name']} "
                     f"({len(res['config']['seeds'])} seeds)")
        ax.set_xlabel("sparsity of u (% zero weights)")
        ax.set_ylabel("test accuracy of the network with u (%)")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    out = Path(out_png)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, out)
    return out


def with_overrides(cfg: SweepConfig, **kw: Any) -> SweepConfig:
    """``cfg`` with some fields replaced (``None`` values are ignored)."""
    return replace(cfg, **{k: v for k, v in kw.items() if v is not None})
