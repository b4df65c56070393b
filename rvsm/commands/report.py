"""``rvsm report``: run every registered statement and write the verification report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="run every registered statement and write the report",
                       description="Check every statement of the registry and write report.md "
                       "(findings first, then a verdict per statement), report.html (the same, "
                       "self-contained: formulas rendered, figures embedded), summary.json and "
                       "evidence/ (the full evidence), certificates/, notes/ (the proof notes) "
                       "and figures. Each statement ends certified (proved; certificate "
                       "replayed by the independent checker), tested (no counterexample in N "
                       "draws), refuted (counterexample recorded, as expected) or failed. Exit "
                       "status 1 if a statement failed.")
    p.add_argument("--profile", choices=["quick", "full"], default="quick")
    p.add_argument("--out", type=Path, default=Path("report"), metavar="DIR")
    p.add_argument("--no-certify", action="store_true",
                   help="skip certification: certifiable statements stay tested")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rvsm.report import write_report

    failed = write_report(args.out, args.profile, certify=not args.no_certify)
    print(f"report written to {args.out / 'report.md'} (and report.html); {failed} failed",
          file=sys.stderr)
    return 1 if failed else 0
