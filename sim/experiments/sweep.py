r"""Sweeps over :math:`\lambda` (and :math:`\beta`) and seeds: the accuracy-against-sparsity curves,
and the accuracy at matched sparsities.

A sweep is a set of *points* ``(model, method, beta, lam, seed)``; each point is one
:func:`sim.experiments.training.train`.  :func:`run_tradeoff` writes every finished point at
once, atomically, to ``OUT/points/<key>.json`` with a hash of everything that determines it
(dataset, split, training configuration), so an interrupted sweep loses no finished point;
on restart the points already present with the same hash are not trained again.

Phases:

1. *grid*: every method over its lambda grid (``prune``: over target sparsities), every
   seed, every beta (the RVSM methods; the baselines use the first beta).
2. *matched* (``SweepConfig.matched``, the full preset): for every lambda-swept method, seed
   and target sparsity, :func:`sim.experiments.select.select_lambda` (tolerance
   ``matched_tol``) starting from the lambda interpolated (in :math:`\log\lambda`) between the
   seed's own grid points around the target.  Every trial is stored as a point (so a restart
   replays the finished trials from disk) and the outcome in ``OUT/matched/<key>.json``.

Outputs: ``OUT/tradeoff.json`` (configuration, provenance, every point, the per-``lam``
summary of the grid with mean and spread over the seeds, the matched results, the table of
accuracy at given sparsities), ``OUT/tradeoff.md`` (tables) and ``OUT/tradeoff.png``
(:func:`plot_tradeoff`).  Spread: the sample standard deviation over seeds (``ddof=1``) and
the min-max range.

Accuracy at a sparsity :math:`s` (:func:`accuracy_at`), per ``(model, method, beta)``:
``prune``: the points pruned to :math:`s`; with a matched phase: the networks the rule selected
for :math:`s` (mean and std over the seeds where it reached :math:`s` within the tolerance);
otherwise per seed the linear interpolation of accuracy against sparsity between the seed's
two grid points around :math:`s`, used only if they are at most ``max_gap`` apart in sparsity
(else missing), then mean and std over the seeds that have a value (``n`` is reported).

Lambda grids (:data:`GRIDS`, :data:`QUICK_GRIDS`) per model and method, from pilot runs on
digits (30 epochs): from about 10-20% sparsity to the collapse of the network (every weight
pruned; the quick grids stop before it).  At a fixed point of RVSM a pruned weight has
:math:`\beta|w_j| = |\partial_j\ell|`, so it is pruned iff :math:`|\partial_j\ell| \le \lambda`
(l1), :math:`\le \lambda(a+1)/a` (TL1, small step), :math:`\le \sqrt{2\lambda\beta}` (l0): the
l1/TL1 grids do not depend on :math:`\beta`; the l0 grids are given for :math:`\beta = 1` and
divided by :math:`\beta`.
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

__all__ = ["SweepConfig", "GRIDS", "QUICK_GRIDS", "SPARSITIES", "preset", "run_tradeoff",
           "load_results", "summarize", "accuracy_at", "table_markdown", "plot_tradeoff",
           "point_key", "with_overrides"]

SPARSITIES: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
"""Sparsities of the table (accuracy at matched sparsity)."""

# Lambda grids at beta = 1 (prune: target sparsities), per model; see the module docstring.
GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "cnn": {
        "rvsm-l1": (5e-4, 1e-3, 2e-3, 3e-3, 4e-3, 4.7e-3, 5.5e-3, 7e-3),
        "rvsm-l0": (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 4.5e-3, 6e-3, 8e-3),
        "rvsm-tl1": (3e-4, 6e-4, 1e-3, 1.7e-3, 2.4e-3, 2.8e-3, 3.3e-3, 4.3e-3),
        "admm-l0": (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 4.5e-3, 6e-3, 8e-3),
        "practical-l0": (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 7e-3, 9e-3),
        "group-tl1": (5e-4, 1e-3, 2e-3, 3e-3, 3.4e-3, 3.7e-3, 4.3e-3, 5e-3),
        "prune": (0.2, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
    },
    "patch": {
        "rvsm-l1": (1e-3, 2e-3, 4e-3, 7e-3, 1e-2, 1.3e-2, 1.5e-2, 1.7e-2),
        "rvsm-l0": (1e-4, 3e-4, 1e-3, 2e-3, 4e-3, 7e-3, 1e-2, 1.4e-2),
        "rvsm-tl1": (5e-4, 1e-3, 2e-3, 3e-3, 4.5e-3, 6e-3, 7.5e-3, 9e-3),
        "admm-l0": (1e-4, 3e-4, 1e-3, 2e-3, 4e-3, 7e-3, 1e-2, 1.4e-2),
        "practical-l0": (1e-4, 3e-4, 1e-3, 3e-3, 6e-3, 1e-2, 1.5e-2, 2e-2),
        "group-tl1": (2e-3, 3e-3, 4.5e-3, 6e-3, 7.5e-3, 8.5e-3, 9.5e-3),
        "prune": (0.2, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
    },
}

QUICK_GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "cnn": {
        "rvsm-l1": (1e-3, 2e-3, 3e-3, 4e-3, 4.7e-3),
        "rvsm-l0": (1e-4, 1e-3, 3e-3, 4.5e-3, 6e-3),
        "rvsm-tl1": (3e-4, 1e-3, 1.7e-3, 2.4e-3, 2.8e-3),
        "admm-l0": (1e-4, 1e-3, 3e-3, 4.5e-3, 6e-3),
        "practical-l0": (1e-4, 1e-3, 3e-3, 5e-3, 7e-3),
        "group-tl1": (1e-3, 2e-3, 3e-3, 3.4e-3),
        "prune": (0.5, 0.8, 0.9, 0.95),
    },
    "patch": {
        "rvsm-l1": (2e-3, 4e-3, 7e-3, 1e-2, 1.3e-2),
        "rvsm-l0": (1e-4, 1e-3, 3e-3, 7e-3, 1.2e-2),
        "rvsm-tl1": (1e-3, 2e-3, 4e-3, 6e-3, 8e-3),
        "admm-l0": (1e-4, 1e-3, 3e-3, 7e-3, 1.2e-2),
        "practical-l0": (1e-3, 3e-3, 6e-3, 1e-2, 2e-2),
        "group-tl1": (3e-3, 6e-3, 7.5e-3, 8.5e-3),
        "prune": (0.5, 0.8, 0.9, 0.95),
    },
}

ALL_METHODS = ("rvsm-l1", "rvsm-l0", "rvsm-tl1", "admm-l0", "practical-l0", "prune",
               "group-tl1")


@dataclass(frozen=True)
class SweepConfig:
    """What a sweep runs.

    ``lams``: per method, a grid that replaces the built-in one (for every model);
    ``quick_grids``: use :data:`QUICK_GRIDS`; ``betas``: beta values for the ``rvsm-*`` and
    ``group-*`` methods (the baselines use ``betas[0]``); ``matched``: target sparsities of
    the matched phase (empty: none), with ``matched_tol`` and ``matched_trials`` (trainings
    per target); ``epochs``/``limit``: training epochs and a cap on the dataset size."""

    models: tuple[str, ...] = ("cnn", "patch")
    methods: tuple[str, ...] = ALL_METHODS
    seeds: tuple[int, ...] = (0, 1, 2)
    betas: tuple[float, ...] = (1.0,)
    lams: dict[str, tuple[float, ...]] = field(default_factory=dict)
    quick_grids: bool = False
    matched: tuple[float, ...] = ()
    matched_tol: float = 0.01
    matched_trials: int = 10
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
        if any(isinstance(s, bool) or int(s) != s or s < 0 for s in self.seeds):
            raise ValueError("seeds must be integers >= 0")
        if any(not (math.isfinite(b) and b > 0) for b in self.betas):
            raise ValueError("betas must be > 0")
        for m, grid in self.lams.items():
            if m not in METHODS:
                raise ValueError(f"lams: unknown method {m!r}")
            if not grid or any(not (math.isfinite(x) and x >= 0) for x in grid):
                raise ValueError(f"lams[{m}] must be a non-empty list of numbers >= 0")
            if m == "prune" and any(x > 1 for x in grid):
                raise ValueError("lams[prune] are target sparsities, in [0, 1]")
        if any(not 0 < t < 1 for t in self.matched):
            raise ValueError("matched target sparsities must be in (0, 1)")
        if not 0 < self.matched_tol < 1 or self.matched_trials < 1:
            raise ValueError("matched_tol must be in (0, 1) and matched_trials >= 1")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")

    def train_config(self, model: str) -> Any:
        from sim.experiments.training import TrainConfig

        return TrainConfig(model=model, epochs=self.epochs, batch_size=self.batch_size,
                           eta=self.eta, finetune_epochs=self.finetune_epochs)

    def grid(self, model: str, method: str, beta: float) -> tuple[float, ...]:
        if method in self.lams:
            return tuple(_round(x) for x in self.lams[method])
        base = (QUICK_GRIDS if self.quick_grids else GRIDS)[model][method]
        if method.endswith("-l0"):
            return tuple(_round(x / beta) for x in base)
        return tuple(base)

    def betas_for(self, method: str) -> tuple[float, ...]:
        return self.betas if method.startswith(("rvsm-", "group-")) else self.betas[:1]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lams"] = {k: list(v) for k, v in self.lams.items()}
        return d


def preset(quick: bool) -> SweepConfig:
    """``quick``: both models, the 4-5 point quick grids, 3 seeds, beta = 1, no matched phase
    (a few minutes on 2 cores).  Full: the 7-8 point grids, 5 seeds, beta in {1, 0.3, 3}, and
    the matched phase at 50, 80, 90, 95% sparsity."""
    workers = max(1, min(2, os.cpu_count() or 1))
    if quick:
        return SweepConfig(quick_grids=True, seeds=(0, 1, 2), workers=workers)
    return SweepConfig(seeds=(0, 1, 2, 3, 4), betas=(1.0, 0.3, 3.0), matched=SPARSITIES,
                       workers=workers)


def _round(lam: float) -> float:
    """Lambdas are kept to 10 significant digits, the precision of the point keys."""
    return float(f"{float(lam):.10g}")


def point_key(model: str, method: str, beta: float, lam: float, seed: int) -> str:
    return f"{model}__{method}__b{beta:.6g}__l{lam:.10g}__s{seed}"


def _config_hash(cfg: SweepConfig, model: str, data_info: dict[str, Any]) -> str:
    blob = json.dumps({"train": cfg.train_config(model).to_dict(), "data": data_info},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _load_data(cfg: SweepConfig) -> Any:
    from sim.experiments.data import load_dataset

    return load_dataset(cfg.dataset, limit=cfg.limit, split_seed=cfg.split_seed)


@dataclass
class _Task:
    """Grid phase: ``lams`` of one (model, method, beta, seed).  Matched phase: ``targets``,
    with ``lam0s`` (one starting lambda per target)."""

    model: str
    method: str
    beta: float
    seed: int
    lams: list[float] = field(default_factory=list)
    targets: list[float] = field(default_factory=list)
    lam0s: list[float] = field(default_factory=list)


class _Store:
    """The points directory: read and write single points atomically."""

    def __init__(self, out: Path, hashes: dict[str, str]) -> None:
        self.points = out / "points"
        self.matched = out / "matched"
        self.points.mkdir(parents=True, exist_ok=True)
        self.matched.mkdir(parents=True, exist_ok=True)
        self.hashes = hashes

    def get(self, key: str, model: str, folder: Path | None = None) -> dict[str, Any] | None:
        p = (folder or self.points) / f"{key}.json"
        if not p.is_file():
            return None
        try:
            obj = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return obj.get("value") if obj.get("hash") == self.hashes[model] else None

    def put(self, key: str, model: str, value: dict[str, Any], folder: Path | None = None) -> None:
        blob = json.dumps(jsonable({"key": key, "hash": self.hashes[model], "value": value}),
                          allow_nan=False)
        atomic_write((folder or self.points) / f"{key}.json", (blob + "\n").encode())


def _train_point(cfg: SweepConfig, store: _Store, data: Any, model: str, method: str,
                 beta: float, lam: float, seed: int, phase: str) -> tuple[dict[str, Any], Any]:
    """A stored point, or train it and store it.  Returns (record, Outcome or None)."""
    from sim.experiments.training import train

    key = point_key(model, method, beta, lam, seed)
    old = store.get(key, model)
    if old is not None:
        return old, None
    o = train(data, method, lam, beta, seed, cfg.train_config(model))
    rec = {"model": model, "phase": phase, **o.record()}
    store.put(key, model, rec)
    return rec, o


def _run_task(cfg: SweepConfig, task: _Task, out: str, hashes: dict[str, str],
              data: Any = None) -> dict[str, Any]:
    """Run one task (in this process or a worker); every point is stored when done."""
    if data is None:
        data = _load_data(cfg)
    store = _Store(Path(out), hashes)
    recs = [_train_point(cfg, store, data, task.model, task.method, task.beta, lam, task.seed,
                         "grid")[0] for lam in task.lams]
    matched = [_select(cfg, store, data, task, t, l0) for t, l0 in zip(task.targets, task.lam0s)]
    return {"points": recs, "matched": matched}


def matched_key(model: str, method: str, beta: float, seed: int, target: float) -> str:
    return f"{model}__{method}__b{beta:.6g}__s{seed}__t{target:.6g}"


def _select(cfg: SweepConfig, store: _Store, data: Any, task: _Task, target: float,
            lam0: float) -> dict[str, Any]:
    from sim.experiments.gaussian import penalty_for
    from sim.experiments.select import Trial, select_lambda
    from sim.experiments.training import magnitudes, method

    key = matched_key(task.model, task.method, task.beta, task.seed, target)
    old = store.get(key, task.model, store.matched)
    if old is not None:
        return old
    m = method(task.method)
    pen = penalty_for(m.penalty or "l1", dict(m.penalty_params).get("a"))
    records: dict[float, dict[str, Any]] = {}

    def trial(lam: float) -> Trial:
        lam = _round(lam)
        rec, o = _train_point(cfg, store, data, task.model, task.method, task.beta, lam,
                              task.seed, "matched")
        records[lam] = rec
        if o is None:   # replayed from disk: the magnitudes are not stored; no proposal
            return Trial(lam, rec["sparsity"], np.zeros(0))
        mags, sizes = magnitudes(o.prox_input, o.layout, m.group)
        return Trial(lam, o.sparsity, mags, np.sqrt(sizes) if m.group else None,
                     sizes if m.group else None)

    sel = select_lambda(trial, target, penalty=pen, beta=task.beta, lam0=_round(lam0),
                        tol=cfg.matched_tol, max_trials=cfg.matched_trials)
    chosen = records[_round(sel.lam)]
    value = {"model": task.model, "method": task.method, "beta": task.beta, "seed": task.seed,
             "target": target, "lam": sel.lam, "sparsity": sel.sparsity,
             "accuracy": chosen["accuracy"], "channel_sparsity": chosen["channel_sparsity"],
             "reached": sel.reached, "trainings": len(sel.trials),
             "path": [[t.lam, t.sparsity, how] for t, how in zip(sel.trials, sel.steps)]}
    store.put(key, task.model, value, store.matched)
    return value


def _lam0(points: list[dict[str, Any]], target: float) -> float:
    """Starting lambda for ``target`` from one seed's grid points: log-linear interpolation
    between the two around it, else the grid end nearest to it."""
    pts = sorted((p["lam"], p["sparsity"]) for p in points if p["lam"] > 0)
    for (la, sa), (lb, sb) in zip(pts, pts[1:]):
        if sa <= target <= sb and sb > sa:
            f = (target - sa) / (sb - sa)
            return math.exp(math.log(la) + f * (math.log(lb) - math.log(la)))
    if not pts:
        return 1e-3
    return pts[-1][0] if pts[-1][1] < target else pts[0][0]


def run_tradeoff(out_dir: str | os.PathLike[str], cfg: SweepConfig | None = None, *,
                 progress: Callable[[str], None] | None = None, plot: bool = True) -> Path:
    """Run (or resume) the sweep; returns the path of ``tradeoff.json``."""
    cfg = cfg or preset(quick=True)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} exists and is not a directory")
    if not out.parent.is_dir():
        raise ValueError(f"out: parent directory {str(out.parent)!r} does not exist")
    say = progress or (lambda s: None)
    t0 = time.perf_counter()
    data = _load_data(cfg)
    hashes = {m: _config_hash(cfg, m, data.info) for m in cfg.models}
    store = _Store(out, hashes)
    points: dict[str, dict[str, Any]] = {}
    matched: dict[str, dict[str, Any]] = {}

    # phase 1: grid
    tasks: list[_Task] = []
    total = 0
    for model in cfg.models:
        for meth in cfg.methods:
            for beta in cfg.betas_for(meth):
                for seed in cfg.seeds:
                    todo = []
                    for lam in cfg.grid(model, meth, beta):
                        total += 1
                        key = point_key(model, meth, beta, lam, seed)
                        old = store.get(key, model)
                        if old is None:
                            todo.append(lam)
                        else:
                            points[key] = old
                    if todo:
                        tasks.append(_Task(model, meth, beta, int(seed), lams=todo))
    say(f"grid: {total} points, {len(points)} already done, {total - len(points)} to train "
        f"in {len(tasks)} tasks ({cfg.workers} worker(s))")

    def finished(task: _Task, res: dict[str, Any]) -> None:
        for r in res["points"]:
            points[point_key(task.model, task.method, task.beta, r["lam"], task.seed)] = r
        for v in res["matched"]:
            matched[matched_key(v["model"], v["method"], v["beta"], v["seed"], v["target"])] = v
        what = ", ".join(f"s={r['sparsity']:.3f}/acc={r['accuracy']:.3f}" for r in res["points"])
        what += ", ".join(f"target {v['target']:g}: lam={v['lam']:.4g} s={v['sparsity']:.3f}/"
                          f"acc={v['accuracy']:.3f}" + ("" if v["reached"] else " (not reached)")
                          for v in res["matched"])
        _write_aggregate(out, cfg, data.info, points, matched, time.perf_counter() - t0, False)
        say(f"{task.model} {task.method} beta={task.beta:g} seed={task.seed}: {what}  "
            f"({time.perf_counter() - t0:.0f} s)")

    _execute(cfg, tasks, out, hashes, data, finished)

    # phase 2: matched sparsities
    if cfg.matched:
        tasks = []
        n_sel = 0
        for model in cfg.models:
            for meth in cfg.methods:
                if meth == "prune":
                    continue
                beta = cfg.betas[0]
                for seed in cfg.seeds:
                    task = _Task(model, meth, beta, int(seed))
                    mine = [p for p in points.values() if p["model"] == model
                            and p["method"] == meth and p["beta"] == beta and p["seed"] == seed
                            and p.get("phase") == "grid"]
                    for tgt in cfg.matched:
                        n_sel += 1
                        key = matched_key(model, meth, beta, seed, tgt)
                        old = store.get(key, model, store.matched)
                        if old is not None:
                            matched[key] = old
                            continue
                        task.targets.append(tgt)
                        task.lam0s.append(_lam0(mine, tgt))
                    if task.targets:
                        tasks.append(task)
        say(f"matched: {n_sel} selections, {len(matched)} already done, "
            f"{sum(len(t.targets) for t in tasks)} to run in {len(tasks)} tasks")
        _execute(cfg, tasks, out, hashes, data, finished)
        for p in store.points.glob("*.json"):      # the trials of the selections
            key, model = p.stem, p.stem.split("__", 1)[0]
            if key not in points and model in hashes:
                v = store.get(key, model)
                if v is not None and v["method"] in cfg.methods and v["seed"] in cfg.seeds:
                    points[key] = v

    path = _write_aggregate(out, cfg, data.info, points, matched, time.perf_counter() - t0, True)
    (out / "tradeoff.md").write_text(table_markdown(load_results(path)))
    if plot:
        plot_tradeoff(path, out / "tradeoff.png")
    say(f"done in {time.perf_counter() - t0:.1f} s -> {path}")
    return path


def _execute(cfg: SweepConfig, tasks: list[_Task], out: Path, hashes: dict[str, str],
             data: Any, finished: Callable[[_Task, dict[str, Any]], None]) -> None:
    if cfg.workers == 1 or len(tasks) <= 1:
        for task in tasks:
            finished(task, _run_task(cfg, task, str(out), hashes, data))
        return
    import multiprocessing as mp

    with ProcessPoolExecutor(min(cfg.workers, len(tasks)),
                             mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(_run_task, cfg, t, str(out), hashes): t for t in tasks}
        try:
            for fut in as_completed(futs):
                finished(futs[fut], fut.result())
        except BaseException:
            for f in futs:
                f.cancel()
            raise


def _write_aggregate(out: Path, cfg: SweepConfig, data_info: dict[str, Any],
                     points: dict[str, dict[str, Any]], matched: dict[str, dict[str, Any]],
                     elapsed: float, complete: bool) -> Path:
    order = {m: i for i, m in enumerate(cfg.methods)}

    def sort_key(r: dict[str, Any]) -> tuple[Any, ...]:
        return (r["model"], order.get(r["method"], 99), r["beta"], r.get("target", 0),
                r["lam"], r["seed"])

    pts = sorted(points.values(), key=sort_key)
    mt = sorted(matched.values(), key=sort_key)
    summ = summarize([p for p in pts if p.get("phase", "grid") == "grid"])
    obj = {
        "kind": "rvsm-experiment-tradeoff", "format": 1, "complete": complete,
        "config": cfg.to_dict(), "dataset": data_info, "provenance": _provenance(),
        "elapsed_s": elapsed, "points": pts, "summary": summ, "matched": mt,
        "at_sparsity": accuracy_at(pts, SPARSITIES, matched=mt),
    }
    path = out / "tradeoff.json"
    atomic_write(path, (json.dumps(jsonable(obj), allow_nan=False, indent=1) + "\n").encode())
    return path


def _provenance() -> dict[str, Any]:
    """:func:`sim.results.provenance` plus the versions this experiment also depends on."""
    from importlib import metadata

    info = provenance("cpu")
    for dist in ("scikit-learn", "matplotlib"):
        try:
            info["versions"][dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info["versions"][dist] = None
    return info


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


def _stats(xs: Sequence[float | None]) -> dict[str, Any]:
    a = np.array([np.nan if x is None else x for x in xs], dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {"n": 0, "mean": None, "std": None, "min": None, "max": None}
    return {"n": int(a.size), "mean": float(a.mean()),
            "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
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


def _interp_seed(rows: list[dict[str, Any]], s: float, max_gap: float) -> float | None:
    rows = sorted(rows, key=lambda r: (r["sparsity"], r["lam"]))
    for a, b in zip(rows, rows[1:]):
        sa, sb = a["sparsity"], b["sparsity"]
        if sa <= s <= sb and sb - sa <= max_gap:
            f = 0.5 if sb == sa else (s - sa) / (sb - sa)
            return (1 - f) * a["accuracy"] + f * b["accuracy"]
    return None


def accuracy_at(points: Sequence[dict[str, Any]], sparsities: Sequence[float], *,
                matched: Sequence[dict[str, Any]] = (), max_gap: float = 0.15
                ) -> list[dict[str, Any]]:
    """Accuracy of each ``(model, method, beta)`` at the given sparsities (module docstring).
    ``points``: the points (grid phase used for interpolation); ``matched``: outcomes of the
    matched phase."""
    grid = [p for p in points if p.get("phase", "grid") == "grid"
            and p.get("status", "ok") == "ok"]
    combos: list[tuple[str, str, float]] = []
    for p in grid:
        c = (p["model"], p["method"], p["beta"])
        if c not in combos:
            combos.append(c)
    out = []
    for model, method, beta in combos:
        mine = [p for p in grid if (p["model"], p["method"], p["beta"]) == (model, method, beta)]
        seeds = sorted({p["seed"] for p in mine})
        for s in sparsities:
            entry: dict[str, Any] = {"model": model, "method": method, "beta": beta,
                                     "sparsity": s, "how": None, "seeds": len(seeds)}
            mt = [v for v in matched if (v["model"], v["method"], v["beta"]) == (model, method,
                                                                                   beta)
                  and abs(v["target"] - s) < 1e-12]
            if method == "prune":
                vals = [p["accuracy"] for p in mine if abs(p["lam"] - s) < 1e-12]
                sps = [p["sparsity"] for p in mine if abs(p["lam"] - s) < 1e-12]
                how = "pruned to this sparsity"
            elif mt:
                ok = [v for v in mt if v["reached"]]
                vals = [v["accuracy"] for v in ok]
                sps = [v["sparsity"] for v in ok]
                how = f"lambda selected per seed (reached in {len(ok)}/{len(mt)} seeds)"
            else:
                vals, sps = [], []
                for seed in seeds:
                    v = _interp_seed([p for p in mine if p["seed"] == seed], s, max_gap)
                    if v is not None:
                        vals.append(v)
                        sps.append(s)
                how = (f"interpolated per seed between grid points at most {max_gap:g} apart "
                       f"({len(vals)}/{len(seeds)} seeds)")
            st = _stats(vals)
            entry.update(accuracy=st["mean"], std=st["std"], n=st["n"],
                         sparsity_mean=_stats(sps)["mean"], how=how if vals else None)
            out.append(entry)
    return out


def _pm(st: dict[str, Any], pct: bool = True) -> str:
    if st["mean"] is None:
        return "-"
    k = 100 if pct else 1
    return f"{k * st['mean']:.1f} ± {k * st['std']:.1f}"


def table_markdown(results: dict[str, Any]) -> str:
    """The tables of the report: accuracy at given sparsities, and every grid point."""
    cfg = results["config"]
    lines = [f"Dataset: {results['dataset']['name']} (train {results['dataset']['n_train']}, "
             f"test {results['dataset']['n_test']}); {cfg['epochs']} epochs; seeds per point: "
             f"{len(cfg['seeds'])}; mean ± sample std over seeds, in percent.", "",
             "Test accuracy of the network with u at given sparsities (n = seeds with a value; "
             "prune: pruned to it; " + (f"beta = {cfg['betas'][0]:g}: lambda selected per "
                                       f"seed to within {100 * cfg['matched_tol']:g} point(s); "
                                       if cfg["matched"] else "")
             + "'interp.': interpolated per seed between neighbouring grid points at most 15 "
             "points apart; '-': no such points):", ""]
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
            mark = ", interp." if e["how"] and e["how"].startswith("interp") else ""
            cells.append("-" if e["accuracy"] is None else
                         f"{100 * e['accuracy']:.1f} ± {100 * e['std']:.1f} (n={e['n']}{mark})")
        lines.append(f"| {k[0]} | {k[1]} | {k[2]:g} | " + " | ".join(cells) + " |")
    if results.get("matched"):
        lines += ["", "Lambda selection (matched phase): target, seeds reached within the "
                  "tolerance, trainings per selection (mean), sparsity reached:", "",
                  "| model | method | target | reached | trainings | sparsity % |",
                  "|---|---|---|---|---|---|"]
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for v in results["matched"]:
            groups.setdefault((v["model"], v["method"], v["target"]), []).append(v)
        for (model, method, tgt), vs in groups.items():
            lines.append(f"| {model} | {method} | {100 * tgt:g}% | "
                         f"{sum(v['reached'] for v in vs)}/{len(vs)} | "
                         f"{np.mean([v['trainings'] for v in vs]):.1f} | "
                         f"{_pm(_stats([v['sparsity'] for v in vs]))} |")
    lines += ["", "Every grid point:", "",
              "| model | method | beta | lam (prune: target) | seeds | sparsity % | "
              "accuracy % | channels zero % |", "|---|---|---|---|---|---|---|---|"]
    for r in results["summary"]:
        lines.append(f"| {r['model']} | {r['method']} | {r['beta']:g} | {r['lam']:.4g} | "
                     f"{len(r['seeds'])} | {_pm(r['sparsity'])} | {_pm(r['accuracy'])} | "
                     f"{_pm(r['channel_sparsity'])} |")
    return "\n".join(lines) + "\n"


STYLES = {"rvsm-l1": "o-", "rvsm-l0": "s-", "rvsm-tl1": "^-", "admm-l0": "v--",
          "practical-l0": "D--", "prune": "x:", "group-tl1": "P-."}
COLORS = {"rvsm-l1": "tab:blue", "rvsm-l0": "tab:orange", "rvsm-tl1": "tab:green",
          "admm-l0": "tab:red", "practical-l0": "tab:purple", "prune": "tab:gray",
          "group-tl1": "tab:brown"}
BETA_STYLES = ("-", "--", ":", "-.")


def plot_tradeoff(results_path: str | os.PathLike[str], out_png: str | os.PathLike[str]) -> Path:
    """The accuracy-against-sparsity figure.  Top row, one panel per model: every method at
    the first beta, through the grid points (error bars: sample std over seeds in both
    directions), and, with a matched phase, the mean accuracy of the networks selected at each
    target sparsity (large hollow markers, std bars).  With several betas, a second row: the
    RVSM methods at every beta (line style = beta)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = load_results(results_path)
    summ = res["summary"]
    cfg = res["config"]
    models = [m for m in cfg["models"] if any(r["model"] == m for r in summ)] or \
        sorted({r["model"] for r in summ})
    betas = list(cfg["betas"])
    rows = 2 if len(betas) > 1 else 1
    n = max(1, len(models))
    fig, axes = plt.subplots(rows, n, figsize=(6.4 * n, 4.8 * rows), squeeze=False)

    def curve(ax: Any, model: str, method: str, beta: float, fmt: str, label: str) -> None:
        pts = sorted((r for r in summ if r["model"] == model and r["method"] == method
                      and r["beta"] == beta and r["accuracy"]["mean"] is not None),
                     key=lambda r: r["sparsity"]["mean"])
        if not pts:
            return
        ax.errorbar([100 * r["sparsity"]["mean"] for r in pts],
                    [100 * r["accuracy"]["mean"] for r in pts],
                    xerr=[100 * r["sparsity"]["std"] for r in pts],
                    yerr=[100 * r["accuracy"]["std"] for r in pts],
                    fmt=fmt, capsize=2, ms=4, lw=1, label=label,
                    color=COLORS.get(method), elinewidth=0.6)

    def frame(ax: Any, title: str) -> None:
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("sparsity of u (% zero weights)")
        ax.set_ylabel("test accuracy of the network with u (%)")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")

    seeds = len(cfg["seeds"])
    for j, model in enumerate(models):
        ax = axes[0][j]
        for method in cfg["methods"]:
            curve(ax, model, method, betas[0], STYLES.get(method, "o-"),
                  method if method == "prune" or not method.startswith(("rvsm-", "group-"))
                  or len(betas) == 1 else f"{method} (beta={betas[0]:g})")
        for e in res["at_sparsity"]:
            if (e["model"] == model and e["beta"] == betas[0] and e["accuracy"] is not None
                    and e["how"] and e["how"].startswith("lambda selected")):
                ax.errorbar([100 * e["sparsity_mean"]], [100 * e["accuracy"]],
                            yerr=[100 * e["std"]], fmt=STYLES.get(e["method"], "o")[0], ms=9,
                            mfc="none", capsize=3, color=COLORS.get(e["method"]))
        extra = "; hollow: lambda selected per seed" if res.get("matched") else ""
        frame(ax, f"{model} on {res['dataset']['name']}: {seeds} seeds, {cfg['epochs']} "
                  f"epochs{extra}")
        if rows == 2:
            ax = axes[1][j]
            for method in cfg["methods"]:
                if not method.startswith(("rvsm-", "group-")):
                    continue
                for i, beta in enumerate(betas):
                    curve(ax, model, method, beta,
                          STYLES.get(method, "o-")[0] + BETA_STYLES[i % len(BETA_STYLES)],
                          f"{method} beta={beta:g}")
            frame(ax, f"{model}: the beta sweep (RVSM penalties)")
    fig.tight_layout()
    out = Path(out_png)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, out)
    return out


def with_overrides(cfg: SweepConfig, **kw: Any) -> SweepConfig:
    """``cfg`` with some fields replaced (``None`` values are ignored)."""
    return replace(cfg, **{k: v for k, v in kw.items() if v is not None})
