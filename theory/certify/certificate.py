"""Run the prover on a statement's claim and write its certificate (``FORMAT.md``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

CertStatus = Literal["certified", "refuted", "undecided"]

__all__ = ["CertificateResult", "certify", "certifiable"]


@dataclass
class CertificateResult:
    """Outcome of :func:`certify`: ``status``, ``reason`` (undecided), the certificate as a
    dict, the file it was written to (if any), leaf count and seconds."""

    statement: str
    status: CertStatus
    reason: str | None
    certificate: dict[str, Any] = field(repr=False, default_factory=dict)
    path: Path | None = None
    leaves: int = 0
    seconds: float = 0.0


def certifiable() -> list[str]:
    """Names of the statements that have a certifiable claim."""
    from theory.certify.claims import CLAIMS, get_claim

    try:
        get_claim("")
    except KeyError:
        pass
    return sorted(CLAIMS)


def certify(name: str, *, out_dir: Path | None = None, prec: int = 64,
            progress: Callable[[str], None] | None = None) -> CertificateResult:
    """Prove the claim of statement ``name``; write ``out_dir/<name>.json`` when given."""
    raise NotImplementedError  # filled in by the prover work
