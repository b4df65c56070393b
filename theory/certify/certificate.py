"""Run the prover on a statement's claim and write its certificate (``FORMAT.md``).

:func:`certify` proves every identity of the claim by exact SymPy simplification and every
inequality with :func:`theory.certify.prover.prove_inequality`, and assembles the JSON
certificate: expressions as SymPy ``srepr`` and LaTeX, the domain and its change of variables,
the proof trees, the precision and the versions of python-flint, mpmath and SymPy.  The status is
``certified`` only if every part is; ``refuted`` if an inequality has a counterexample (checked in
ball arithmetic); otherwise ``undecided`` with the first reason.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import sympy as sp

from theory.certify.claims import Claim, Inequality, get_claim

CertStatus = Literal["certified", "refuted", "undecided"]
FORMAT = "rvsm-certificate/1"

__all__ = ["CertificateResult", "certify", "certifiable", "certificate_of", "FORMAT"]


@dataclass
class CertificateResult:
    """Outcome of :func:`certify`: ``status``, ``reason`` (undecided), the certificate as a
    dict, the file it was written to (if any), leaf count, evaluations and seconds."""

    statement: str
    status: CertStatus
    reason: str | None
    certificate: dict[str, Any] = field(repr=False, default_factory=dict)
    path: Path | None = None
    leaves: int = 0
    evaluations: int = 0
    seconds: float = 0.0


def certifiable() -> list[str]:
    """Names of the statements that have a certifiable claim."""
    import theory.certify.library  # noqa: F401 - registers the claims
    from theory.certify.claims import CLAIMS

    return sorted(CLAIMS)


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("python-flint", "mpmath", "sympy", "rvsm-theory"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover - not installed as a package
            out[pkg] = "unknown"
    return out


def _symbols(*exprs: sp.Expr) -> dict[str, dict[str, bool]]:
    syms: set[sp.Symbol] = set().union(*(e.free_symbols for e in exprs))
    return {str(s): {k: v for k, v in s.assumptions0.items() if v is not None
                     and k in ("positive", "nonnegative", "real", "integer")}
            for s in sorted(syms, key=str)}


def elementary(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the toolkit's numerically motivated functions written out
    (``t_minus_sin(x) = x - sin x``, ``exp_m1(x) = exp(x) - 1``, ``erf_ratio(x, y) = erf(x/y)``)."""
    from theory.backends import t_minus_sin
    from theory.binary import erf_ratio, exp_m1

    return (expr.replace(t_minus_sin, lambda x: x - sp.sin(x))
            .replace(exp_m1, lambda x: sp.exp(x) - 1)
            .replace(erf_ratio, lambda x, y: sp.erf(x / y)))


def identity_holds(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """``lhs == rhs`` identically: ``simplify`` of the elementary difference is exactly 0."""
    return bool(sp.simplify(elementary(lhs - rhs)) == 0)


def _inequality_entry(ineq: Inequality) -> dict[str, Any]:
    return {
        "name": ineq.name, "relation": ineq.relation, "domain": ineq.domain,
        "original": sp.srepr(ineq.original), "original_latex": sp.latex(ineq.original),
        "variables": [{"name": str(v.symbol), "lo": str(v.lo), "hi": str(v.hi),
                       "lo_open": v.lo_open, "hi_open": v.hi_open} for v in ineq.variables],
        "substitution": {str(k): sp.srepr(v) for k, v in ineq.substitution.items()},
        "multiplier": sp.srepr(ineq.multiplier), "expr": sp.srepr(ineq.expr),
        "expr_latex": sp.latex(ineq.expr),
    }


def certificate_of(claim: Claim, *, prec: int = 64,
                   progress: Callable[[str], None] | None = None) -> CertificateResult:
    """Prove ``claim`` and return its certificate (not written anywhere)."""
    from theory.certify.prover import prove_inequality

    t0 = time.perf_counter()
    cert: dict[str, Any] = {
        "format": FORMAT, "statement": claim.statement, "claim": claim.text,
        "status": "certified", "reason": None, "versions": _versions(), "precision_bits": prec,
        "lemmas": list(claim.lemmas), "identities": [], "inequalities": [],
        "counterexample": None,
    }
    status: CertStatus = "certified"
    reason: str | None = None
    leaves = evaluations = 0
    for ident in claim.identities:
        ok = identity_holds(ident.lhs, ident.rhs)
        cert["identities"].append({"name": ident.name, "lhs": sp.srepr(ident.lhs),
                                   "rhs": sp.srepr(ident.rhs),
                                   "latex": f"{sp.latex(ident.lhs)} = {sp.latex(ident.rhs)}",
                                   "symbols": _symbols(ident.lhs, ident.rhs)})
        if progress:
            progress(f"{claim.statement}: identity {ident.name}: "
                     + ("exact" if ok else "does not simplify to 0"))
        if not ok and status == "certified":
            status, reason = "undecided", f"identity {ident.name!r} does not simplify to 0"
    for ineq in claim.inequalities:
        entry = _inequality_entry(ineq)
        proof = prove_inequality(ineq, prec=prec, progress=progress)
        leaves += proof.leaves
        evaluations += proof.evaluations
        entry["factors"] = [{"expr": sp.srepr(f.expr), "latex": sp.latex(f.expr), "sign": f.sign,
                             "method": f.method, "tree": f.tree, "leaves": f.leaves}
                            for f in proof.factors]
        entry["status"] = proof.status
        entry["seconds"] = proof.seconds
        cert["inequalities"].append(entry)
        if progress:
            progress(f"{claim.statement}: {ineq.name}: {proof.status} "
                     f"({proof.leaves} leaves, {proof.seconds:.2f} s)"
                     + (f": {proof.reason}" if proof.reason else ""))
        if proof.status == "refuted" and status != "refuted":
            ce = dict(proof.counterexample or {})
            point = {sp.Symbol(k): sp.Rational(v) for k, v in ce.get("point", {}).items()}
            by_name = {str(v.symbol): v.symbol for v in ineq.variables}
            pt = {by_name[str(k)]: v for k, v in point.items()}
            ce["original_point"] = {str(k): str(sp.N(v.subs(pt), 20))
                                    for k, v in ineq.substitution.items()}
            ce["inequality"] = ineq.name
            cert["counterexample"] = ce
            status, reason = "refuted", f"{ineq.name}: counterexample"
        elif proof.status == "undecided" and status == "certified":
            status, reason = "undecided", f"{ineq.name}: {proof.reason}"
    seconds = time.perf_counter() - t0
    cert["status"], cert["reason"] = status, reason
    cert["stats"] = {"leaves": leaves, "evaluations": evaluations, "seconds": seconds}
    return CertificateResult(claim.statement, status, reason, cert, None, leaves, evaluations,
                             seconds)


def write_certificate(cert: dict[str, Any], path: Path) -> None:
    """Write ``cert`` as JSON atomically (a temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(cert, fh, indent=1)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; results get the user's umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def certify(name: str, *, out_dir: Path | None = None, prec: int = 64,
            progress: Callable[[str], None] | None = None) -> CertificateResult:
    """Prove the claim of statement ``name``; write ``out_dir/<name>.json`` when given.

    Raises :class:`KeyError` for a statement without a certifiable claim.
    """
    res = certificate_of(get_claim(name), prec=prec, progress=progress)
    if out_dir is not None:
        path = Path(out_dir) / f"{name}.json"
        write_certificate(res.certificate, path)
        res.path = path
    return res
