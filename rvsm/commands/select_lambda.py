"""``rvsm select-lambda``: the smallest lambda whose limit u_bar reaches a target sparsity."""

from __future__ import annotations

import argparse
from typing import Any

from rvsm._cliutil import CliError, add_dps_json, emit
from rvsm.commands.fixed_point import _num, add_instance_args, instance_values
from theory._validate import check_dps
from theory.limits import select_lambda


def register(sub: Any) -> None:
    p = sub.add_parser(
        "select-lambda",
        help="smallest lambda whose limit reaches a target sparsity",
        description="The smallest lambda with sparsity(u_bar) >= S (fraction of zero entries). "
        "l1: exact along the principal branch (monotone threshold); l0/tl1: per branch (the "
        "lambda-intervals of the nested supports). --lam is not used.",
    )
    p.add_argument("--target-sparsity", required=True, help="S in [0, 1]")
    add_instance_args(p)
    p.set_defaults(lam="0")
    for act in p._actions:  # --lam is optional here (it is the unknown)
        if act.dest == "lam":
            act.required = False
    p.add_argument("--branches", type=int, default=3,
                   help="l0/tl1: number of nested branches examined below the target")
    add_dps_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.dps is not None:
        check_dps(args.dps)
        raise CliError("select-lambda computes in float64 only; --dps is not supported")
    try:
        target = float(args.target_sparsity)
    except ValueError:
        raise CliError(f"--target-sparsity must be a number in [0, 1], got "
                       f"{args.target_sparsity!r}") from None
    w, _, beta, a = instance_values(args)
    sel = select_lambda(args.model, w, args.k, args.penalty, beta, target, a=a, ste=args.ste,
                        n_branches=args.branches)
    obj = {
        "target_sparsity": sel.target, "lam": _num(sel.lam, None),
        "sparsity": sel.sparsity, "support": list(sel.support), "method": sel.method,
        "branches": [{"kept": b.j, "support": list(b.support), "sparsity": b.sparsity,
                      "lam_lo": _num(b.lam_lo, None), "lam_hi": _num(b.lam_hi, None)}
                     for b in sel.branches],
        "note": sel.note,
    }
    emit(obj, args.json)
    if sel.lam is None:
        import sys

        print("rvsm select-lambda: no lambda found that reaches the target sparsity "
              "(see 'method')", file=sys.stderr)
        return 1
    return 0
