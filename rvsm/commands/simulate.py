"""``rvsm simulate``: batched RVSM / RVSCGD runs (and baselines) with recorded traces."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from rvsm._cliutil import emit, floats, parse_vector
from sim.names import ALGORITHMS, DTYPES, MODELS, SAMPLERS
from theory.binary import STES

CLI_PENALTIES = ("l1", "l0", "tl1")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate RVSM (relu) / RVSCGD (binary) runs in a batch",
        description="Run B independent runs of relaxed variable splitting (or a baseline) on "
        "the no-overlap CNN with Gaussian input, in the population, online sampled or fixed "
        "training set mode, and print the final w and u of each run with its traces.",
    )
    p.add_argument("--model", choices=MODELS, default="relu")
    p.add_argument("--penalty", choices=CLI_PENALTIES, default="l1",
                   help="(other penalties of theory.penalties: sim.run from Python)")
    p.add_argument("--tl1-a", type=float, default=1.0, metavar="A",
                   help="parameter a of the TL1 penalty (default 1)")
    p.add_argument("--lam", required=True, help="lambda >= 0, or one value per run (comma list)")
    p.add_argument("--beta", required=True, help="beta > 0, or one value per run")
    p.add_argument("--eta", required=True, help="step size eta > 0, or one value per run")
    p.add_argument("--k", required=True, type=int, help="number of patches (integer >= 1)")
    p.add_argument("--w-star", required=True, help="teacher vector, e.g. 1,0,-0.5")
    p.add_argument("--w0", help="starting point (default: random directions of radius |w*|)")
    p.add_argument("--runs", type=int, help="number of runs B (default 1, or as implied)")
    p.add_argument("--seed", type=int, default=0, help="seed of starting points and samples")
    p.add_argument("--iters", type=int, default=1000)
    p.add_argument("--samples", type=int, metavar="M",
                   help="minibatch size: online sampled mode (or SGD on the training set)")
    p.add_argument("--train-size", type=int, metavar="N",
                   help="fixed training set of N inputs per run (empirical risk)")
    p.add_argument("--sampler", choices=SAMPLERS, default="projection",
                   help="online sampler (both exact; projection costs O(mk + d) per step)")
    p.add_argument("--algorithm", choices=("auto",) + ALGORITHMS, default="auto",
                   help="auto = rvsm for relu, rvscgd for binary")
    p.add_argument("--ste", choices=STES, default="relu",
                   help="straight-through estimator of the binary model")
    p.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=None,
                   help="w <- w/|w| after each step (default: on for rvscgd only)")
    p.add_argument("--record-every", type=int, default=None, metavar="N",
                   help="trace period in steps (default iters/100)")
    p.add_argument("--tol", type=float, help="stop when every run's step norm is <= tol")
    p.add_argument("--limit-w", help="predicted limit of w (traces dist_w)")
    p.add_argument("--limit-u", help="predicted limit of u (traces dist_u)")
    p.add_argument("--momentum", type=float, default=0.9, help="practical variant only")
    p.add_argument("--weight-decay", type=float, default=5e-4, help="practical variant only")
    p.add_argument("--reset-every", type=int, help="practical variant: w <- u every N steps")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")
    p.add_argument("--dtype", choices=DTYPES, default="float64")
    p.add_argument("--out", metavar="FILE", help="save the result (.json, else .npz), atomically")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def _vector(name: str, text: str | None) -> list[float] | None:
    return None if text is None else floats(name, parse_vector(name, text))


def _param(name: str, text: str) -> float | list[float]:
    vals = floats(name, parse_vector(name, text))
    return vals[0] if len(vals) == 1 else vals


def progress_printer(label: str, stream: Any = None, every_s: float = 1.0
                     ) -> Callable[[int, int, Callable[[], dict[str, Any]]], None]:
    """A progress callback printing at most one line per ``every_s`` seconds to stderr."""
    out = stream if stream is not None else sys.stderr
    t0 = time.perf_counter()
    last = [t0]

    def cb(step: int, iters: int, info: Callable[[], dict[str, Any]]) -> None:
        now = time.perf_counter()
        if now - last[0] < every_s and step < iters:
            return
        if step == iters and now - t0 < every_s:
            return  # short runs print nothing
        last[0] = now
        i = info()
        print(f"{label}: step {step}/{iters} ({100 * step / max(iters, 1):.0f}%), "
              f"converged {i['converged']}/{i['runs']}, failed {i['failed']}, "
              f"median loss {i['median_loss']:.3e}, {now - t0:.1f} s", file=out, flush=True)

    return cb


def run(args: argparse.Namespace) -> int:
    if args.record_every is None:
        args.record_every = max(1, args.iters // 100) if args.iters > 0 else 1
    kwargs: dict[str, Any] = dict(
        model=args.model, penalty=args.penalty,
        penalty_params={"a": args.tl1_a} if args.penalty == "tl1" else None,
        lam=_param("lam", args.lam), beta=_param("beta", args.beta),
        eta=_param("eta", args.eta), k=args.k, w_star=_vector("w-star", args.w_star),
        w0=_vector("w0", args.w0), runs=args.runs, seed=args.seed, iters=args.iters,
        samples=args.samples, train_size=args.train_size, sampler=args.sampler,
        algorithm=args.algorithm, ste=args.ste, normalize=args.normalize,
        record_every=args.record_every, tol=args.tol,
        limit_w=_vector("limit-w", args.limit_w), limit_u=_vector("limit-u", args.limit_u),
        momentum=args.momentum, weight_decay=args.weight_decay, reset_every=args.reset_every,
        device=args.device, dtype=args.dtype,
    )
    from sim.runner import run as simulate  # torch loads here, not when the parser is built

    progress = None if args.quiet else progress_printer("rvsm simulate")
    result = simulate(progress=progress, **kwargs)
    if args.out:
        result.save(args.out)
    if args.json:
        emit(result.to_dict(), True)
        return 0
    _print_summary(result, args.out)
    return 0


def _fmt_vec(v: Any) -> str:
    return "[" + ", ".join(f"{x + 0.0:.6g}" for x in v) + "]"  # + 0.0: no "-0"


def _fmt_runs(runs: list[int]) -> str:
    shown = ", ".join(str(b) for b in runs[:8])
    return f"[{shown}{', ...' if len(runs) > 8 else ''}]"


def _print_summary(result: Any, out: str | None) -> None:
    p = result.params
    print(f"{p['algorithm']} on the {p['model']} model, penalty {p['penalty']}, "
          f"{p['oracle']['mode']} gradient, {result.runs} run(s), {result.steps} steps, "
          f"{p['dtype']} on {p['device']}, {result.elapsed_s:.2f} s")
    counts = {s: result.status.count(s) for s in ("converged", "max_iters", "failed")}
    print("status: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    # Runs that end at the same u (to 6 significant digits) are listed once, with a count:
    # the distinct limits and how many starts reach each is what a reader looks for.
    groups: dict[tuple[str, str], list[int]] = {}
    for b in range(result.runs):
        groups.setdefault((result.status[b], _fmt_vec(result.u[b])), []).append(b)
    print(f"{len(groups)} distinct end point(s):")
    for (status, u_txt), runs in sorted(groups.items(), key=lambda g: -len(g[1])):
        b = runs[0]
        line = (f"{len(runs)} run(s) {_fmt_runs(runs)}: {status}, loss {result.final('loss')[b]:.6g}, "
                f"angle {result.final('angle')[b]:.6g}, nnz(u) {int(result.final('nnz')[b])}")
        if status == "failed":
            line += f" (non-finite at step {result.failed_step[b]})"
        print(line)
        print(f"  u = {u_txt}")
        print(f"  w = {_fmt_vec(result.w[b])}")
    if out:
        print(f"saved: {out}")
