"""``rvsm``: the command line.

Each subcommand is a module in :mod:`rvsm.commands` exposing ``register(subparsers)``;
the module list is discovered, so adding a command never edits this file.  Bad input
(:class:`ValueError` from the API, or a usage error) prints one line to stderr and exits
2; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import rvsm.commands
from rvsm._cliutil import CliError, normalize_argv
from theory import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rvsm",
        description="Theory checking for relaxed variable splitting (RVSM / RVSCGD).",
    )
    parser.add_argument("--version", action="version", version=f"rvsm-theory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(rvsm.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"rvsm.commands.{info.name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rvsm`` console script; returns the exit status."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(normalize_argv(args_in))
    try:
        return int(args.func(args) or 0)
    except (CliError, ValueError) as exc:
        print(f"rvsm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rvsm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
