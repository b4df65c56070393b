"""``rvsm fixed-point``: every fixed point of RVSM (ReLU) or normalised RVSCGD (binary)."""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

import mpmath

from rvsm._cliutil import CliError, add_dps_json, emit, floats, fmt, parse_vector
from theory._validate import check_dps
from theory.limits import MODELS, SUPPORTED_PENALTIES, certify, fixed_points


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
