"""``rvsm prox``: the proximal map (thresholding operator) of a penalty, with its thresholds."""

from __future__ import annotations

import argparse
from typing import Any

import mpmath
import numpy as np

from rvsm._cliutil import add_dps_json, emit, floats, fmt, parse_vector
from theory._validate import check_dps
from theory.penalties import PENALTIES, Penalty


def register(sub: Any) -> None:
    p = sub.add_parser(
        "prox",
        help="prox of tau * P (thresholding) and its thresholds",
        description="Evaluate x = argmin_x tau P(x) + (x - y)^2 / 2 for each entry of y "
        "(along the whole vector for l1-l2), the thresholds of the map, whether it is "
        "continuous, and the Moreau envelope min_x P(x) + (x - y)^2 / (2 tau).  At an exact "
        "tie the smaller minimiser is returned.",
    )
    p.add_argument("--penalty", required=True, choices=PENALTIES)
    p.add_argument("--tau", required=True, help="step tau >= 0")
    p.add_argument("--a", default=None, help="tl1: a > 0; scad: a > 2")
    p.add_argument("--p", default=None, help="lp: 1/2 or 2/3")
    p.add_argument("--gamma", default=None, help="mcp: gamma > 1")
    p.add_argument("--alpha", default=None, help="l1-l2: 0 <= alpha <= 1")
    p.add_argument("--y", required=True, help="comma-separated vector, e.g. 0.3,-2,5")
    add_dps_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    entries = parse_vector("y", args.y)
    params = {k: getattr(args, k) for k in ("a", "p", "gamma", "alpha")
              if getattr(args, k) is not None}
    pen = Penalty(args.penalty, **params)  # parameters stay text: parsed per backend
    if args.dps is None:
        y = np.asarray(floats("y", entries), dtype=np.float64)
        out = _result(pen, y, args.tau, mp=False)
        emit({k: _format(v, None) for k, v in out.items()}, args.json)
        return 0
    dps = check_dps(args.dps)
    with mpmath.mp.workdps(dps):
        out = _result(pen, list(entries), args.tau, mp=True)
        formatted = {k: _format(v, dps) for k, v in out.items()}
    emit(formatted, args.json)
    return 0


def _result(pen: Penalty, y: Any, tau: str, mp: bool) -> dict[str, Any]:
    th = pen.threshold(tau, mp=mp)
    x = pen.prox(y, tau)
    env = pen.moreau(y, tau)
    return {
        "penalty": pen.name,
        "x": list(x),
        "threshold": th.zero,
        "jump_at": th.jump_at,
        "jump": th.jump,
        "knots": list(th.knots),
        "continuous": th.continuous,
        "moreau": env if pen.name == "l1-l2" else list(env),
    }


def _format(value: Any, dps: int | None) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, list):
        return [_format(v, dps) for v in value]
    return fmt(value, dps) + 0.0 if dps is None else fmt(value, dps)  # (+0.0: no "-0.0")
