"""``rvsm fixed-point``: every fixed point of RVSM (ReLU) or normalised RVSCGD (binary)."""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

import mpmath

from rvsm._cliutil import CliError, add_dps_json, emit, floats, fmt, parse_vector
from theory._validate import check_dps
from theory.limits import (
    MODELS,
    SUPPORTED_PENALTIES,
    certify,
    describe_solution_set,
    fixed_points,
    population_limit,
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "fixed-point",
        help="all fixed points (limits) of RVSM / RVSCGD with stability and error bounds",
        description="Compute every fixed point of RVSM (relu) or normalised RVSCGD (binary) "
        "for a penalty, from the theory (no simulation): w_bar, u_bar = prox(w_bar), support, "
        "angle, norm, the Lagrangian, attraction for --eta, and the error bound. Exit status "
        "1 if no fixed point of the good (sign-consistent) family exists.",
    )
    add_instance_args(p)
    p.add_argument("--eta", default=None, help="step size: decides 'attracting'")
    p.add_argument("--enumeration", choices=["auto", "exhaustive", "nested"], default="auto",
                   help="branch patterns searched (default: exhaustive when small)")
    p.add_argument("--certify", action="store_true",
                   help="interval-arithmetic certificate of each fixed point (l1, l0)")
    p.add_argument("--describe", action="store_true",
                   help="describe the whole solution set (relu): regions of forced and free "
                   "coordinates, the count of fixed points and of attracting ones (where "
                   "hysteresis makes a list impossible)")
    p.add_argument("--w0", default=None, metavar="W",
                   help="which limit does this start reach (relu; needs --eta): run the "
                   "population iteration from W (comma-separated, or random:SEED), polish the "
                   "landing point as a fixed point, locate it in the solution set, certify it")
    p.add_argument("--max-steps", type=int, default=200_000,
                   help="step cap of the iteration for --w0 (default 200000)")
    add_dps_json(p)
    p.set_defaults(func=run)


def add_instance_args(p: Any) -> None:
    p.add_argument("--model", choices=MODELS, default="relu")
    p.add_argument("--penalty", choices=SUPPORTED_PENALTIES, required=True)
    p.add_argument("--lam", required=True, help="penalty weight lambda >= 0")
    p.add_argument("--beta", required=True, help="splitting parameter beta > 0")
    p.add_argument("--k", required=True, type=int, help="number of patches (integer >= 1)")
    p.add_argument("--w-star", required=True, help="comma-separated teacher vector, e.g. 1,-0.8,0.5")
    p.add_argument("--a", default=None, help="TL1 parameter a > 0")
    p.add_argument("--ste", default="relu", choices=["relu", "identity"],
                   help="straight-through estimator (binary model)")


def instance_values(args: argparse.Namespace) -> tuple[list[Any], Any, Any, Any]:
    """(w_star, lam, beta, a): decimal strings with --dps, floats otherwise (NaN rejected)."""
    w = parse_vector("w-star", args.w_star)
    scalars = {"lam": args.lam, "beta": args.beta}
    if args.a is not None:
        scalars["a"] = args.a
    for name, text in scalars.items():
        try:
            v = float(text)
        except ValueError:
            raise CliError(f"--{name} must be a number, got {text!r}") from None
        if not math.isfinite(v):
            raise CliError(f"--{name} must be finite, got {text!r}")
    if args.dps is None:
        return (floats("w-star", w), float(args.lam), float(args.beta),
                None if args.a is None else float(args.a))
    floats("w-star", w)
    return w, args.lam, args.beta, args.a


def _num(x: Any, dps: int | None) -> Any:
    if x is None:
        return None
    if isinstance(x, bool):
        return x
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    return fmt(x, dps)


def _jsonable(v: Any, dps: int | None) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x, dps) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x, dps) for x in v]
    if isinstance(v, (str, bool)) or v is None:
        return v
    if isinstance(v, int):
        return v
    return _num(v, dps)


def point_dict(fp: Any, dps: int | None) -> dict[str, Any]:
    """One fixed point as a JSON-able dict (decimal strings of ``dps`` digits with ``dps``)."""
    if dps is not None:
        with mpmath.mp.workdps(dps):  # fmt rounds to the working precision
            return _point_dict(fp, dps)
    return _point_dict(fp, None)


def _point_dict(fp: Any, dps: int | None) -> dict[str, Any]:
    b = fp.bound
    out = {
        "w_bar": [_num(x, dps) for x in fp.w_bar],
        "u_bar": [_num(x, dps) for x in fp.u_bar],
        "support": list(fp.support),
        "pattern": list(fp.pattern),
        "good": fp.good,
        "angle": _num(fp.angle, dps),
        "norm": _num(fp.norm, dps),
        "lagrangian": _num(fp.lagrangian, dps),
        "coeffs": {k: _num(v, dps) for k, v in fp.coeffs.items()},
        "sparsity": fp.sparsity,
        "residual": fp.residual,
        "margin": fp.margin,
        "kink": fp.kink,
        "curvature": [_num(x, None) for x in fp.curvature],
        "eta": fp.eta,
        "spectral_radius": fp.spectral_radius,
        "attracting": fp.attracting,
        "eta_max": _num(fp.eta_max, None),
        "bound": {"source": b.source, "holds": b.holds, "w_dist": _num(b.w_dist, dps),
                  "w_bound": _num(b.w_bound, None), "u_dist": _num(b.u_dist, dps),
                  "u_bound": _num(b.u_bound, None), "extra": _jsonable(b.extra, None)},
        "notes": list(fp.notes),
    }
    if dps is not None:
        out["stable_at_double_precision"] = fp.stable
    return out


def run(args: argparse.Namespace) -> int:
    dps = None if args.dps is None else check_dps(args.dps)
    w, lam, beta, a = instance_values(args)
    if args.w0 is not None or args.describe:
        return _run_set(args, w, lam, beta, a, dps)
    kw: dict[str, Any] = {"a": a, "eta": args.eta, "dps": dps, "enumeration": args.enumeration}
    if args.model == "binary":
        kw["ste"] = args.ste
    elif args.ste != "relu":
        raise CliError("--ste applies to --model binary only")
    fs = fixed_points(args.model, w, args.k, args.penalty, lam, beta, **kw)
    points = []
    for fp in fs:
        d = point_dict(fp, dps)
        if args.certify:
            c = certify(args.model, w, args.k, args.penalty, lam, beta, fp, a=a, ste=args.ste,
                        dps=dps or 30)
            with mpmath.mp.workdps(dps or 30):
                d["certificate"] = {"certified": c.certified, "reason": c.reason,
                                    "box": {k: [_num(lo, dps or 30), _num(hi, dps or 30)]
                                            for k, (lo, hi) in c.box.items()}}
        points.append(d)
    obj = {"fixed_points": points, "unique": fs.unique,
           "attracting_count": fs.attracting_count, "complete": fs.complete,
           "enumeration": fs.enumeration, "message": fs.message,
           "families": [dataclasses.asdict(f) for f in fs.families]}
    if args.json:
        emit(obj, True)
    else:
        _print_human(obj)
    if not any(fp.good for fp in fs):
        import sys

        print(f"rvsm fixed-point: {fs.message}", file=sys.stderr)
        return 1
    return 0


def _print_human(obj: dict[str, Any]) -> None:
    n = len(obj["fixed_points"])
    print(f"fixed points: {n} (unique: {obj['unique']}; complete: {obj['complete']}; "
          f"search: {obj['enumeration']})")
    if obj["attracting_count"] is not None:
        print(f"attracting for this eta: {obj['attracting_count']}")
    for i, p in enumerate(obj["fixed_points"]):
        print(f"[{i}] {'good' if p['good'] else 'OUTSIDE the good family'}; "
              f"support {p['support']}; attracting {p['attracting']}")
        for key in ("w_bar", "u_bar", "angle", "norm", "lagrangian", "coeffs",
                    "spectral_radius", "eta_max", "residual"):
            print(f"    {key}: {p[key]}")
        b = p["bound"]
        print(f"    |w_bar - w*| = {b['w_dist']}  bound: {b['w_bound']}  ({b['source']})")
        if "certificate" in p:
            print(f"    certificate: {p['certificate']['certified']} ({p['certificate']['reason']})")
    if obj["message"]:
        print(f"note: {obj['message']}")


# ------------------------------------------------------------- --describe and --w0

def _start(text: str, w_star: list[float]) -> Any:
    """--w0: a comma-separated vector, or random:SEED (standard normal entries scaled to
    |w*|/sqrt(d), numpy.random.default_rng(SEED))."""
    import numpy as np

    d = len(w_star)
    if text.startswith("random:"):
        try:
            seed = int(text.split(":", 1)[1])
        except ValueError:
            raise CliError(f"--w0 random:SEED needs an integer seed, got {text!r}") from None
        if seed < 0:
            raise CliError(f"--w0 random:SEED needs a seed >= 0, got {text!r}")
        scale = float(np.linalg.norm(w_star)) / math.sqrt(d)
        return np.random.default_rng(seed).standard_normal(d) * scale
    w0 = floats("w0", parse_vector("w0", text))
    if len(w0) != d:
        raise CliError(f"--w0 has {len(w0)} entries, --w-star has {d}")
    if not any(w0):
        raise CliError("--w0 must be nonzero (the loss is not differentiable at 0)")
    return np.array(w0)


def _run_set(args: argparse.Namespace, w: Any, lam: Any, beta: Any, a: Any,
             dps: int | None) -> int:
    import sys

    if args.model != "relu":
        raise CliError("--describe and --w0 apply to --model relu only")
    if dps is not None:
        raise CliError("--describe and --w0 work in float64 (no --dps)")
    if args.w0 is not None and args.eta is None:
        raise CliError("--w0 needs --eta (the step of the iteration)")
    if args.max_steps < 1:
        raise CliError(f"--max-steps must be >= 1, got {args.max_steps}")
    w64 = [float(x) for x in w]
    ss = describe_solution_set(w64, args.k, args.penalty, lam, beta, a=a, eta=args.eta)
    obj: dict[str, Any] = {"solution_set": ss.summary()}
    if args.describe:
        small = len(w64) <= 200
        obj["regions"] = [ss.region_dict(r, indices=small) for r in ss.regions]
        obj["special"] = [point_dict(fp, None) for fp in ss.special]
        obj["families"] = [dataclasses.asdict(f) for f in ss.families]
    rc = 0
    if args.w0 is not None:
        w0 = _start(args.w0, w64)
        it = population_limit(w64, args.k, args.penalty, lam, beta, float(args.eta), w0, a=a,
                              max_steps=args.max_steps)
        conv = bool(it.converged[0])
        obj["start"] = args.w0
        obj["iteration"] = {"converged": conv, "steps": int(it.steps[0]),
                            "last_step": _num(float(it.last_step[0]), None),
                            "limit": [float(x) for x in it.w]}
        loc = ss.locate(it.w) if conv else None
        if not conv:
            obj["location"] = {"found": False, "message": (
                f"the iteration did not converge in {args.max_steps} steps (last step "
                f"{float(it.last_step[0]):.3g}); raise --max-steps or lower --eta")}
            rc = 1
        else:
            assert loc is not None
            obj["location"] = {"found": loc.found, "kind": loc.kind, "region": loc.region,
                               "special": loc.special, "distance": _num(loc.distance, None),
                               "residual": loc.residual, "message": loc.message}
            if loc.region is not None:
                obj["location"]["region_description"] = ss.region_dict(
                    ss.regions[loc.region], indices=len(w64) <= 200)
            fp = loc.fixed_point
            obj["fixed_point"] = None if fp is None else point_dict(fp, None)
            if fp is not None:
                c = certify("relu", w64, args.k, args.penalty, lam, beta, fp, a=a, dps=30)
                with mpmath.mp.workdps(30):
                    obj["certificate"] = {"certified": c.certified, "reason": c.reason,
                                          "box": {k: [_num(lo, 30), _num(hi, 30)]
                                                  for k, (lo, hi) in c.box.items()}}
            if not loc.found:
                rc = 1
    if args.json:
        emit(obj, True)
    else:
        _print_set(obj, ss)
    if rc:
        print(f"rvsm fixed-point: {obj['location']['message']}", file=sys.stderr)
    return rc


def _big(v: Any) -> str:
    """A count for people: digits up to 15 of them, else d.ddde+N."""
    t = str(v)
    return t if len(t) <= 15 else f"{t[0]}.{t[1:4]}e+{len(t) - 1}"


def _count_text(count: Any, bounds: Any) -> str:
    if count is not None:
        return _big(count)
    return f"between {_big(bounds[0])} and {'?' if bounds[1] is None else _big(bounds[1])}"


def _print_set(obj: dict[str, Any], ss: Any) -> None:
    s = obj["solution_set"]
    cnt = _count_text(s["count"], s["count_bounds"])
    if s["count"] is None and s.get("count_log2") is not None:
        cnt += f" (about 2^{s['count_log2']:.1f})"
    print(f"solution set: {s['regions']} regions, {s['special']} special points, "
          f"{s['families']} families; fixed points: {cnt} (exact: {s['exact']})")
    if s["attracting_count"] is not None or s["attracting_bounds"] is not None:
        att = _count_text(s["attracting_count"], s["attracting_bounds"])
        print(f"attracting: {att}")
    for note in s["notes"]:
        print(f"note: {note}")
    if "regions" in obj:
        for r in obj["regions"][:20]:
            rng = f" K in [{r['k_range'][0]:.6g}, {r['k_range'][1]:.6g})" if "k_range" in r else ""
            c = _count_text(r["count"], r["count_bounds"])
            print(f"[{r['index']}] {r['kind']} {r['side']}{rng}: {r['n_forced_in']} forced in, "
                  f"{r['n_free']} free, {r['n_forced_out']} forced out; count {c}; "
                  f"attracting {r['attracting']}")
        if len(obj["regions"]) > 20:
            print(f"... {len(obj['regions']) - 20} more regions (--json lists them)")
    if "iteration" in obj:
        it = obj["iteration"]
        print(f"iteration from {obj['start']}: "
              f"{'converged' if it['converged'] else 'NOT converged'} after {it['steps']} steps "
              f"(last step {it['last_step']:.3g})")
        loc = obj["location"]
        fp = obj.get("fixed_point")
        if fp is not None:
            print(f"fixed point: support {len(fp['support'])} of {len(fp['w_bar'])}, "
                  f"A = {fp['coeffs']['A']:.6g}, angle {fp['angle']:.6g}, norm {fp['norm']:.6g}, "
                  f"residual {fp['residual']:.2g}, attracting {fp['attracting']} "
                  f"(rho {fp['spectral_radius']})")
        if loc.get("found") is not None:
            print(f"located: {loc['found']}; {loc['message']}"
                  + (f"; distance to the iterate {loc['distance']:.2g}" if "distance" in loc
                     and isinstance(loc["distance"], float) else ""))
        if loc.get("region_description"):
            r = loc["region_description"]
            est = f" (estimate {r['count_estimate']:.6g})" if r.get("count_estimate") else ""
            print(f"its region: {r['n_forced_in']} forced in, {r['n_free']} free, "
                  f"{r['n_forced_out']} forced out; region count "
                  f"{_count_text(r['count'], r['count_bounds'])}{est}")
        if obj.get("certificate"):
            c = obj["certificate"]
            print(f"certificate: {'certified' if c['certified'] else 'not certified'} "
                  f"({c['reason']})")
