"""``rvsm select-lambda``: the smallest lambda whose limit u_bar reaches a target sparsity."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import mpmath

from rvsm._cliutil import CliError, emit
from rvsm.commands.fixed_point import _num, add_instance_args, instance_values
from theory.limits import select_lambda
from theory.limits.sparsity import MAX_DPS, MIN_DPS, check_select_dps


def register(sub: Any) -> None:
    p = sub.add_parser(
        "select-lambda",
        help="smallest lambda whose limit reaches a target sparsity",
        description="The smallest lambda with sparsity(u_bar) >= S (fraction of zero entries). "
        "l1: exact along the principal branch (monotone threshold); l0/tl1: per branch (the "
        "lambda-intervals of the nested supports). --lam is not used. With --dps N every "
        "breakpoint is refined with mpmath at N digits and accepted only if it is the same at "
        "2N digits (exit status 1 if the answer is not accepted); lambda is the N-digit decimal "
        "next to the breakpoint on the side where the limit reaches the target.",
    )
    p.add_argument("--target-sparsity", required=True, help="S in [0, 1]")
    add_instance_args(p)
    p.set_defaults(lam="0")
    for act in p._actions:  # --lam is optional here (it is the unknown)
        if act.dest == "lam":
            act.required = False
    p.add_argument("--branches", type=int, default=3,
                   help="l0/tl1: number of nested branches examined below the target")
    # --dps is parsed here (not by argparse's int) so that bad values get the one-line message
    p.add_argument("--dps", default=None, metavar="N",
                   help=f"refine with mpmath at N significant digits, N in [{MIN_DPS}, "
                   f"{MAX_DPS}]; numbers print as decimal strings")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _dps(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return check_select_dps(int(text))
    except ValueError:
        raise CliError(f"--dps must be an integer in [{MIN_DPS}, {MAX_DPS}], got {text!r}") \
            from None


def run(args: argparse.Namespace) -> int:
    dps = _dps(args.dps)
    args.dps = dps  # instance_values keeps decimal strings when dps is set
    try:
        target = float(args.target_sparsity)
    except ValueError:
        raise CliError(f"--target-sparsity must be a number in [0, 1], got "
                       f"{args.target_sparsity!r}") from None
    if args.model != "binary" and args.ste != "relu":
        raise CliError("--ste applies to --model binary only")
    w, _, beta, a = instance_values(args)
    sel = select_lambda(args.model, w, args.k, args.penalty, beta, target, a=a, ste=args.ste,
                        n_branches=args.branches, dps=dps)
    if dps is None:
        obj = _as_dict(sel, target, None)
    else:
        with mpmath.mp.workdps(dps):  # the formatter rounds to the working precision
            obj = _as_dict(sel, mpmath.mpf(args.target_sparsity), dps)
    emit(obj, args.json)
    if sel.lam is None:
        print("rvsm select-lambda: no lambda found that reaches the target sparsity "
              "(see 'method')", file=sys.stderr)
        return 1
    if dps is not None and not sel.stable:
        print(f"rvsm select-lambda: lambda is not accepted at {dps} digits: {sel.note}",
              file=sys.stderr)
        return 1
    return 0


def _as_dict(sel: Any, target: Any, dps: int | None) -> dict[str, Any]:
    branches = []
    for b in sel.branches:
        entry = {"kept": b.j, "support": list(b.support), "sparsity": _num(b.sparsity, dps),
                 "lam_lo": _num(b.lam_lo, dps), "lam_hi": _num(b.lam_hi, dps)}
        if dps is not None:
            entry["stable_at_double_precision"] = [b.stable_lo, b.stable_hi]
            entry["notes"] = list(b.notes)
        branches.append(entry)
    obj = {
        "target_sparsity": target if dps is None else _num(target, dps),
        "lam": _num(sel.lam, dps), "sparsity": _num(sel.sparsity, dps) if dps else sel.sparsity,
        "support": list(sel.support), "method": sel.method, "branches": branches,
        "note": sel.note,
    }
    if dps is not None:
        obj["dps"] = dps
        obj["stable_at_double_precision"] = sel.stable
    return obj
