"""``rvsm report``: run every registered statement and write the verification report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="run every registered statement and write the report",
                       description="Check every statement of the registry and write report.md, "
                       "summary.json and figures. Exit status 1 if a statement expected to hold "
                       "failed.")
    p.add_argument("--profile", choices=["quick", "full"], default="quick")
    p.add_argument("--out", type=Path, default=Path("report"), metavar="DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rvsm.report import write_report

    failed = write_report(args.out, args.profile)
    print(f"report written to {args.out / 'report.md'}; {failed} failed", file=sys.stderr)
    return 1 if failed else 0
