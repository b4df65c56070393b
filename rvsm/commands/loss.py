"""``rvsm loss``: population loss, gradient and angle of a model at one point."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np

from rvsm._cliutil import CliError, add_dps_json, emit, floats, fmt, parse_vector
from theory import binary, relu
from theory._validate import check_dps
from theory.geometry import angle, angle_mp


def register(sub: Any) -> None:
    p = sub.add_parser(
        "loss",
        help="population loss, gradient and angle at w",
        description="Evaluate the closed-form population loss l(w) = E[(f(w) - f(w*))^2], "
        "its gradient and the angle between w and w*.",
    )
    p.add_argument("--model", choices=sorted(MODELS), default="relu")
    p.add_argument("--k", required=True, type=int, help="number of patches (integer >= 1)")
    p.add_argument("--w", required=True, help="comma-separated vector, e.g. 1,2,3")
    p.add_argument("--w-star", required=True, help="comma-separated teacher vector")
    p.add_argument(
        "--ste", choices=binary.STES, default=None,
        help="straight-through estimator of --model binary (default relu); the expected "
        "coarse gradient is printed as coarse_grad",
    )
    add_dps_json(p)
    p.set_defaults(func=run)


def _relu_float(w: list[float], w_star: list[float], k: int) -> dict[str, Any]:
    wa, sa = np.asarray(w, dtype=np.float64), np.asarray(w_star, dtype=np.float64)
    return {
        "loss": relu.loss(wa, sa, k),
        "grad": list(relu.grad(wa, sa, k)),
        "angle": angle(wa, sa) if np.any(wa != 0) else None,
    }


def _relu_mp(w: list[str], w_star: list[str], k: int) -> dict[str, Any]:
    return {
        "loss": relu.loss_mp(w, w_star, k),
        "grad": relu.grad_mp(w, w_star, k),
        "angle": angle_mp([mpmath.mpf(x) for x in w], [mpmath.mpf(x) for x in w_star]),
    }


def _binary_float(w: list[float], w_star: list[float], k: int, ste: str) -> dict[str, Any]:
    wa, sa = np.asarray(w, dtype=np.float64), np.asarray(w_star, dtype=np.float64)
    g = binary.grad(wa, sa, k)
    return {
        "loss": binary.loss(wa, sa, k),
        # undefined (null) where w is parallel to w*: the loss has a kink there
        "grad": None if np.any(np.isnan(g)) else list(g),
        "angle": angle(wa, sa) if np.any(wa != 0) else None,
        "coarse_grad": list(binary.coarse_grad(wa, sa, k, ste)),
    }


def _binary_mp(w: list[str], w_star: list[str], k: int, ste: str) -> dict[str, Any]:
    out: dict[str, Any] = {"loss": binary.loss_mp(w, w_star, k)}  # validates the input
    try:
        out["grad"] = binary.grad_mp(w, w_star, k)
    except ValueError:  # w parallel to w*: the only error left after loss_mp and w != 0
        out["grad"] = None
    out["angle"] = angle_mp([mpmath.mpf(x) for x in w], [mpmath.mpf(x) for x in w_star])
    out["coarse_grad"] = binary.coarse_grad_mp(w, w_star, k, ste)
    return out


MODELS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[..., dict[str, Any]]]] = {
    "relu": (_relu_float, _relu_mp),
    "binary": (_binary_float, _binary_mp),
}


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    """Extra keyword arguments of the model's evaluators (``--ste`` for binary only)."""
    if args.model == "binary":
        return {"ste": args.ste or "relu"}
    if args.ste is not None:
        raise CliError("--ste applies only to --model binary")
    return {}


def run(args: argparse.Namespace) -> int:
    w = parse_vector("w", args.w)
    w_star = parse_vector("w-star", args.w_star)
    if len(w) != len(w_star):
        raise CliError(f"--w and --w-star must have the same length, got {len(w)} and {len(w_star)}")
    float_eval, mp_eval = MODELS[args.model]
    opts = _model_options(args)
    if args.dps is None:
        floats("w", w)
        floats("w-star", w_star)
        if all(float(x) == 0 for x in w):
            raise CliError("the gradient is undefined at w = 0 (the loss is not differentiable)")
        out = float_eval(floats("w", w), floats("w-star", w_star), args.k, **opts)
    else:
        dps = check_dps(args.dps)
        with mpmath.mp.workdps(dps):
            if all(mpmath.mpf(x) == 0 for x in w):
                raise CliError("the gradient is undefined at w = 0 (the loss is not differentiable)")
            out = mp_eval(w, w_star, args.k, **opts)
            out = {key: _format(val, dps) for key, val in out.items()}
        emit(out, args.json)
        return 0
    emit({key: _format(val, None) for key, val in out.items()}, args.json)
    return 0


def _format(value: Any, dps: int | None) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [fmt(v, dps) for v in value]
    return fmt(value, dps)
