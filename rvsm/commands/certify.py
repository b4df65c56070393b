"""``rvsm certify``: prove statements' claims rigorously and replay the certificates.

``rvsm certify [NAME ...] [--out DIR]`` runs the prover of :mod:`theory.certify` on the named
statements (every certifiable one if none is named), writes ``DIR/<name>.json`` and replays each
certificate with the independent checker (:mod:`theory.certify.check`).  ``rvsm certify --check
FILE ...`` only replays existing certificates.  Exit status: 0 when every certificate is
certified (``--check``: accepted) and accepted by the checker, 1 otherwise, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from rvsm._cliutil import CliError


def register(sub: Any) -> None:
    p = sub.add_parser("certify", help="prove statements rigorously and check the certificates",
                       description="Certify the named statements (all certifiable ones if none "
                       "is named): run the ball-arithmetic prover, write DIR/<name>.json, then "
                       "replay each certificate with the independent checker. With --check, "
                       "only replay existing certificate files. Exit status 0 if every "
                       "certificate is certified and accepted, 1 if one is refuted, undecided "
                       "or rejected, 2 for bad input.")
    p.add_argument("names", nargs="*", metavar="NAME", help="statement names (default: all "
                   "certifiable ones; `rvsm statements` lists them)")
    p.add_argument("--out", type=Path, default=Path("report") / "certificates", metavar="DIR",
                   help="directory for the certificates (default report/certificates)")
    p.add_argument("--check", nargs="+", type=Path, metavar="FILE",
                   help="replay these certificate files with the checker only")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _names(requested: list[str]) -> list[str]:
    """The statements to certify; an unknown or uncertifiable name is bad input."""
    from theory.statements import certifiable

    claims = certifiable()
    if not requested:
        return claims
    bad = [n for n in requested if n not in claims]
    if bad:
        from rvsm.report import load_registry

        known = load_registry()
        name = bad[0]
        if name in known:
            raise CliError(f"statement {name!r} has no certifiable claim; certifiable: "
                           f"{', '.join(claims) or 'none yet'}")
        raise CliError(f"unknown statement {name!r}; `rvsm statements` lists them")
    return list(dict.fromkeys(requested))


def _writable(out: Path) -> None:
    """Fail (exit 2) before any work when ``out`` cannot hold the certificates."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rvsm-certify-", dir=out)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise CliError(f"--out {str(out)!r} is not a writable directory "
                       f"({exc.strerror or type(exc).__name__})") from None


def _checker_text(ok: bool | None) -> str:
    return {True: "accepted", False: "rejected", None: "not replayed"}[ok]


def run(args: argparse.Namespace) -> int:
    if args.check:
        if args.names:
            raise CliError("give statement names or --check FILE ..., not both")
        return _check_files(args.check, args.json)
    names = _names(args.names)
    _writable(args.out)
    return _certify(names, args.out, args.json)


def _certify(names: list[str], out: Path, as_json: bool) -> int:
    from theory.statements import run_checker, run_prover

    if not names:
        print("rvsm certify: no statement has a certifiable claim yet", file=sys.stderr)
    certs = []
    for i, name in enumerate(names, 1):
        cert = run_prover(name, out)
        extra = f": {cert.reason}" if cert.reason else ""
        print(f"[{i}/{len(names)}] {name}: {cert.status} ({cert.leaves} leaves, "
              f"{cert.seconds:.1f} s){extra}", file=sys.stderr)
        certs.append(cert)
    certs = [run_checker(c) for c in certs]
    ok = all(c.status == "certified" and c.checker_ok is True for c in certs)
    if as_json:
        print(json.dumps({"out": str(out), "ok": ok, "certificates": [
            {**c.as_dict(), "checker": _checker_text(c.checker_ok)} for c in certs]},
            default=str))
        return 0 if ok else 1
    for c in certs:
        where = f" -> {c.path}" if c.path else ""
        print(f"{c.statement}: {c.status}{where}; independent checker: "
              f"{_checker_text(c.checker_ok)} ({c.checker_seconds:.1f} s)")
        for reason in ([c.reason] if c.status == "undecided" and c.reason else []):
            print(f"  - undecided: {reason}")
        for reason in c.checker_reasons:
            print(f"  - {reason}")
    return 0 if ok else 1


def _check_files(files: list[Path], as_json: bool) -> int:
    from theory.statements import check_file

    missing = [f for f in files if not f.is_file()]
    if missing:
        raise CliError(f"--check: no such file {str(missing[0])!r}")
    rows = []
    for f in files:
        verdict = check_file(f)
        rows.append({"file": str(f), **_header(f), **verdict})
    ok = all(r["ok"] is True for r in rows)
    if as_json:
        print(json.dumps({"ok": ok, "files": rows}, default=str))
        return 0 if ok else 1
    for r in rows:
        label = f"{r['file']} ({r['statement']}, {r['status']})"
        if r["ok"] is True:
            print(f"{label}: ok ({r['leaves']} leaves, {r['seconds']:.1f} s)")
        else:
            print(f"{label}: {'rejected' if r['ok'] is False else 'not checked'}")
            for reason in r["reasons"] or ["no reason given"]:
                print(f"  - {reason}")
    return 0 if ok else 1


def _header(path: Path) -> dict[str, Any]:
    """The statement and status a certificate file claims (for the listing only)."""
    try:
        data = json.loads(path.read_text())
        return {"statement": str(data.get("statement")), "status": str(data.get("status"))}
    except (OSError, ValueError, AttributeError):
        return {"statement": "?", "status": "unreadable"}
