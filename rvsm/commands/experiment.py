"""``rvsm experiment``: the papers' real-data experiment (issue 8).

* ``rvsm experiment tradeoff [--quick] [--out DIR] [--json]``: accuracy against sparsity for
  RVSM under l1, l0, TL1 and the baselines, over lambda (and beta) and seeds; resumable.
* ``rvsm experiment select-lambda --target S [--penalty P] [--quick] [--json]``: the lambda
  that gives a prescribed sparsity of u (real data, or ``--gaussian``: the Gaussian model
  checked against the exact map of the fixed-point calculator).

Progress goes to stderr (``--quiet`` silences it).  See ``proofs_notes/experiments.md``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

from rvsm._cliutil import CliError, emit

SELECT_PENALTIES = ("l1", "l0", "tl1", "group-tl1")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "experiment",
        help="real-data experiment: accuracy vs sparsity, lambda for a target sparsity",
        description="The papers' experiment on real data (scikit-learn digits, offline): "
        "the accuracy-against-sparsity trade-off of RVSM under l1, l0, TL1 and baselines, "
        "and the choice of lambda for a prescribed sparsity.",
    )
    ss = p.add_subparsers(dest="experiment_command", metavar="WHAT", required=True)

    t = ss.add_parser("tradeoff", help="sweep lambda/beta/seeds; table and figure",
                      description="Sweep lambda (and beta) over seeds for every method; writes "
                      "DIR/tradeoff.json (points, summary, provenance), DIR/tradeoff.md, "
                      "DIR/tradeoff.png, and each finished point to DIR/points/ (a rerun skips "
                      "them).")
    t.add_argument("--quick", action="store_true",
                   help="4-5 lambdas per method, 3 seeds, beta=1, no matched phase (about 3 minutes "
                   "on 2 cores)")
    t.add_argument("--out", default="experiment-tradeoff", metavar="DIR",
                   help="output directory (default ./experiment-tradeoff)")
    t.add_argument("--models", help="comma list of cnn, patch (default both)")
    t.add_argument("--methods", help="comma list (default all): rvsm-l1, rvsm-l0, rvsm-tl1, "
                   "admm-l0, practical-l0, prune, group-tl1")
    t.add_argument("--seeds", type=int, metavar="N", help="number of seeds (0..N-1)")
    t.add_argument("--betas", help="comma list of beta values for the RVSM methods")
    t.add_argument("--lams", help="comma list of lambdas used for every lambda-swept method "
                   "(prune: target sparsities), instead of the built-in grids")
    t.add_argument("--matched", help="comma list of target sparsities for the matched phase "
                   "(lambda selected per seed; default: none with --quick, else 0.5,0.8,0.9,0.95)")
    t.add_argument("--epochs", type=int, help="training epochs (default 30)")
    t.add_argument("--limit", type=int, metavar="N", help="use at most N samples of the data")
    t.add_argument("--dataset", default="digits",
                   help="'digits' (scikit-learn, offline) or a local .npz with X and y")
    t.add_argument("--workers", type=int, help="parallel worker processes (default 2 or 1)")
    t.add_argument("--no-plot", action="store_true", help="do not draw the figure")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    t.set_defaults(func=run_tradeoff)

    s = ss.add_parser("select-lambda", help="lambda for a target sparsity of u",
                      description="Adjust lambda between trainings until the sparsity of u is "
                      "within --tol of the target (rule: proofs_notes/experiments.md).")
    s.add_argument("--target", required=True, help="target sparsity in [0, 1], or a comma list")
    s.add_argument("--penalty", choices=SELECT_PENALTIES, default="l1")
    s.add_argument("--model", choices=("cnn", "patch"), default="cnn")
    s.add_argument("--beta", type=float, default=1.0)
    s.add_argument("--tol", type=float, default=0.01, help="tolerance (fraction, default 0.01)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--lam0", type=float, help="first lambda (default: middle of the sweep grid)")
    s.add_argument("--max-trials", type=int, help="trainings per target (default 16; quick 12)")
    s.add_argument("--epochs", type=int, help="training epochs (default 30; quick 20)")
    s.add_argument("--limit", type=int, metavar="N", help="use at most N samples of the data")
    s.add_argument("--dataset", default="digits")
    s.add_argument("--quick", action="store_true", help="20 epochs, at most 12 trainings")
    s.add_argument("--gaussian", action="store_true",
                   help="the Gaussian model instead (population RVSM, compared with the exact "
                   "map of the fixed-point calculator); --penalty l1, l0 or tl1")
    s.add_argument("--d", type=int, default=20, help="--gaussian: dimension of w* (default 20)")
    s.add_argument("--k", type=int, default=4, help="--gaussian: patches (default 4)")
    s.add_argument("--w-seed", type=int, default=1, help="--gaussian: seed of w* ~ N(0, I)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    s.set_defaults(func=run_select)


def _say(quiet: bool, label: str) -> Any:
    if quiet:
        return None
    return lambda msg: print(f"{label}: {msg}", file=sys.stderr, flush=True)


def _list(name: str, text: str | None, kind: type = str) -> tuple[Any, ...] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(p == "" for p in parts):
        raise CliError(f"--{name} must be a comma-separated list, got {text!r}")
    try:
        vals = tuple(kind(p) for p in parts)
    except ValueError:
        raise CliError(f"--{name} has an entry that is not a {kind.__name__}: {text!r}") from None
    if kind is float and not all(math.isfinite(v) for v in vals):
        raise CliError(f"--{name} has NaN or inf entries")
    return vals


def _positive(name: str, v: int | None) -> None:
    if v is not None and v < 1:
        raise CliError(f"--{name} must be >= 1, got {v}")


def run_tradeoff(args: argparse.Namespace) -> int:
    for name in ("seeds", "epochs", "limit", "workers"):
        _positive(name, getattr(args, name))
    models = _list("models", args.models)
    methods = _list("methods", args.methods)
    betas = _list("betas", args.betas, float)
    lams = _list("lams", args.lams, float)
    matched = _list("matched", args.matched, float)
    if matched is not None and not all(0 < v < 1 for v in matched):
        raise CliError(f"--matched targets must be in (0, 1), got {args.matched!r}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {args.out!r} exists and is not a directory")
    if not out.parent.is_dir() and str(out.parent) != "":
        raise CliError(f"--out: parent directory {str(out.parent)!r} does not exist")
    if args.dataset != "digits" and not Path(args.dataset).is_file():
        raise CliError(f"--dataset {args.dataset!r} is neither 'digits' nor an existing file")
    from sim.experiments.sweep import load_results, preset, with_overrides

    cfg = preset(args.quick)
    cfg = with_overrides(
        cfg, models=models, methods=methods, betas=betas,
        seeds=tuple(range(args.seeds)) if args.seeds else None, epochs=args.epochs,
        workers=args.workers, dataset=args.dataset, limit=args.limit, matched=matched,
        lams={m: lams for m in (methods or cfg.methods)} if lams else None)
    from sim.experiments.sweep import run_tradeoff as sweep

    t0 = time.perf_counter()
    path = sweep(out, cfg, progress=_say(args.quiet, "rvsm experiment tradeoff"),
                 plot=not args.no_plot)
    res = load_results(path)
    obj = {"results": str(path), "table": str(out / "tradeoff.md"),
           "figure": None if args.no_plot else str(out / "tradeoff.png"),
           "points": len(res["points"]), "seeds": len(res["config"]["seeds"]),
           "elapsed_s": time.perf_counter() - t0, "at_sparsity": res["at_sparsity"]}
    if args.json:
        emit(obj, True)
    else:
        print((out / "tradeoff.md").read_text(), end="")
        print(f"\nresults: {path}\ntable: {obj['table']}\nfigure: {obj['figure']}\n"
              f"elapsed: {obj['elapsed_s']:.1f} s")
    return 0


def _targets(text: str) -> tuple[float, ...]:
    vals = _list("target", text, float)
    assert vals is not None
    if not all(0 <= v <= 1 for v in vals):
        raise CliError(f"--target must be in [0, 1], got {text!r}")
    return vals


def run_select(args: argparse.Namespace) -> int:
    targets = _targets(args.target)
    if not (math.isfinite(args.beta) and args.beta > 0):
        raise CliError(f"--beta must be > 0, got {args.beta}")
    if not (math.isfinite(args.tol) and 0 <= args.tol < 1):
        raise CliError(f"--tol must be in [0, 1), got {args.tol}")
    if args.lam0 is not None and not (math.isfinite(args.lam0) and args.lam0 > 0):
        raise CliError(f"--lam0 must be > 0, got {args.lam0}")
    if args.seed < 0:
        raise CliError(f"--seed must be >= 0, got {args.seed}")
    for name in ("max_trials", "epochs", "limit"):
        _positive(name.replace("_", "-"), getattr(args, name))
    say = _say(args.quiet, "rvsm experiment select-lambda")
    if args.gaussian:
        return _select_gaussian(args, targets, say)
    if args.dataset != "digits" and not Path(args.dataset).is_file():
        raise CliError(f"--dataset {args.dataset!r} is neither 'digits' nor an existing file")
    from sim.experiments.data import load_dataset
    from sim.experiments.gaussian import penalty_for
    from sim.experiments.select import select_lambda
    from sim.experiments.sweep import GRIDS
    from sim.experiments.training import TrainConfig, make_trial

    method = args.penalty if args.penalty.startswith("group-") else f"rvsm-{args.penalty}"
    pen = penalty_for(args.penalty.removeprefix("group-"))
    epochs = args.epochs or (20 if args.quick else 30)
    max_trials = args.max_trials or (12 if args.quick else 16)
    config = TrainConfig(model=args.model, epochs=epochs)
    data = load_dataset(args.dataset, limit=args.limit)
    grid = GRIDS[args.model][method]
    lam0 = args.lam0 or math.sqrt(grid[len(grid) // 2 - 1] * grid[len(grid) // 2])
    if method.endswith("-l0"):
        lam0 = args.lam0 or lam0 / args.beta
    rows = []
    t_all = time.perf_counter()
    for tgt in targets:
        t0 = time.perf_counter()
        if say:
            say(f"target {tgt:g} ({method}, {args.model}, beta={args.beta:g}, seed={args.seed})")
        sel = select_lambda(make_trial(data, method, args.beta, args.seed, config), tgt,
                            penalty=pen, beta=args.beta, lam0=lam0, tol=args.tol,
                            max_trials=max_trials, progress=say)
        best = next(t for t in sel.trials if t.lam == sel.lam)
        rows.append({**sel.record(), "accuracy": best.extra["accuracy"],
                     "channel_sparsity": best.extra["channel_sparsity"],
                     "elapsed_s": time.perf_counter() - t0})
    obj = {"model": args.model, "method": method, "beta": args.beta, "seed": args.seed,
           "epochs": epochs, "dataset": data.info["name"], "tol": args.tol, "targets": rows,
           "elapsed_s": time.perf_counter() - t_all}
    if args.json:
        emit(obj, True)
    else:
        print(f"{method} on {args.model} ({data.info['name']}), beta={args.beta:g}, "
              f"seed={args.seed}, {epochs} epochs, tol={args.tol:g}")
        for r in rows:
            print(f"target {r['target']:.4g}: lam={r['lam']:.6g} sparsity={r['sparsity']:.4f} "
                  f"accuracy={r['accuracy']:.4f} reached={r['reached']} "
                  f"trainings={r['trainings']} ({r['elapsed_s']:.1f} s)")
    return 0 if all(r["reached"] for r in rows) else 1


def _select_gaussian(args: argparse.Namespace, targets: tuple[float, ...], say: Any) -> int:
    if args.penalty not in ("l1", "l0", "tl1"):
        raise CliError("--gaussian takes --penalty l1, l0 or tl1")
    if args.d < 1 or args.k < 1:
        raise CliError("--d and --k must be >= 1")
    import numpy as np

    from sim.experiments.gaussian import check_rule

    w_star = np.random.default_rng(args.w_seed).normal(size=args.d)
    rows = []
    for tgt in targets:
        t0 = time.perf_counter()
        r = check_rule(w_star, args.k, args.penalty, args.beta, tgt, seed=args.seed,
                       lam0=args.lam0 or 0.01, max_trials=args.max_trials or 20)
        r["elapsed_s"] = time.perf_counter() - t0
        if say:
            say(f"target {tgt:g}: lam={r['lam_rule']:.6g} sparsity={r['sparsity_sim']:.4f} "
                f"({r['trainings']} runs)")
        rows.append(r)
    obj = {"model": "gaussian relu", "penalty": args.penalty, "d": args.d, "k": args.k,
           "beta": args.beta, "w_seed": args.w_seed, "w_star": w_star.tolist(), "targets": rows}
    ok = all(r["reached"] and r["in_exact_set"] and (r["match"] or args.penalty != "l1")
             for r in rows)
    if args.json:
        emit(obj, True)
    else:
        print(f"Gaussian ReLU model, d={args.d}, k={args.k}, beta={args.beta:g}, "
              f"penalty {args.penalty}; exact map: theory.limits")
        for r in rows:
            extra = (f" exact smallest lam {r['lam_exact_min']:.6g}, exact sparsity at lam "
                     f"{r['sparsity_principal']:.4f}, same interval: {r['in_exact_interval']}"
                     ) if "lam_exact_min" in r else ""
            print(f"target {r['target']:.4g}: lam={r['lam_rule']:.6g} "
                  f"sparsity={r['sparsity_sim']:.4f} reached={r['reached']} "
                  f"in exact set={r['in_exact_set']} u matches a fixed point={r['match']}"
                  f"{extra} ({r['trainings']} runs, {r['elapsed_s']:.1f} s)")
    return 0 if ok else 1
