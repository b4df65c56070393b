"""Helpers shared by the subcommands: vector arguments, number formatting, JSON."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from typing import Any

import mpmath

_NEG_VECTOR = re.compile(r"^-[\d.]")


class CliError(Exception):
    """A usage error with a one-line message (exit status 2)."""


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Let vector options take values that start with a minus sign.

    argparse reads ``--w-star -1,2`` as two options; here any ``--opt VALUE`` whose
    value looks like a negative number or vector is rewritten to ``--opt=VALUE``.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if arg.startswith("--") and "=" not in arg and nxt is not None and _NEG_VECTOR.match(nxt):
            out.append(f"{arg}={nxt}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def parse_vector(name: str, text: str) -> list[str]:
    """Split ``"1,-2.5,3e-4"`` into its entries (kept as text for exact mpmath parsing)."""
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(p == "" for p in parts):
        raise CliError(f"--{name} must be a comma-separated list of numbers, got {text!r}")
    for p in parts:
        try:
            float(p)
        except ValueError:
            raise CliError(f"--{name} has a non-number entry {p!r}") from None
    return parts


def floats(name: str, entries: Sequence[str]) -> list[float]:
    """Entries as float64, rejecting NaN and inf."""
    vals = [float(p) for p in entries]
    if not all(math.isfinite(v) for v in vals):
        raise CliError(f"--{name} has NaN or inf entries")
    return vals


def fmt(x: Any, dps: int | None) -> Any:
    """A number for output: a JSON float, or with ``dps`` a decimal string of dps digits."""
    if dps is None:
        return float(x)
    return mpmath.nstr(mpmath.mpf(x), dps, strip_zeros=False, min_fixed=-4, max_fixed=dps)


def emit(obj: dict[str, Any], as_json: bool) -> None:
    """Print a result: one JSON object, or ``key: value`` lines for people."""
    if as_json:
        json.dump(obj, sys.stdout)
        sys.stdout.write("\n")
        return
    for key, value in obj.items():
        if isinstance(value, list):
            value = "[" + ", ".join(str(v) for v in value) + "]"
        print(f"{key}: {value}")


def add_dps_json(parser: Any) -> None:
    """The ``--dps N`` and ``--json`` options every numeric command takes."""
    parser.add_argument(
        "--dps", type=int, default=None, metavar="N",
        help="evaluate with mpmath at N significant digits; numbers print as decimal strings",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
