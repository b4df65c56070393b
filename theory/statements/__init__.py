"""The registry of checked statements: each claim stated once, with its check and evidence.

A :class:`Statement` is a claim about every point of a *domain*: its ``hypotheses`` and
``conclusion`` in words, its ``source`` (``quoted`` from a paper, ``derived`` here, or a
``conjecture``), the proof note that explains it, and ``instance(params) -> Evidence``, the
check of the conclusion at one point of the domain.  The domain is a Hypothesis strategy
with the edge points ``pinned``; so one definition serves three readers:

* the property tests (``tests/test_statements.py``) draw from the domain under the active
  Hypothesis profile (``dev``/``ci``/``thorough``);
* ``rvsm report`` searches the domain for a counterexample (:func:`hypothesis.find`, which
  also shrinks it to a minimal one) and adds the statement's aggregate ``summary``
  evidence (Monte Carlo statistics, bound tightness, ...);
* notebooks and proof notes call the same functions.

``expected = "refuted"`` marks a claim the toolkit shows false: it records the minimal
``counterexample``, and the check asserts it still refutes the claim.

**Status vocabulary** (:data:`Status`, used by the registry, ``rvsm statements``, ``rvsm
report``, ``summary.json`` and ``proofs_notes/index.md``):

* ``certified``: proved on the stated domain.  The statement has a claim in
  :mod:`theory.certify`, the prover returned a ``certified`` certificate and the independent
  checker (:mod:`theory.certify.check`) accepted it; ``evidence["certification"]`` holds the
  certificate's file, leaves and seconds.  The sampled evidence is kept as well.
* ``tested``: no counterexample in N draws; ``evidence["tested"]`` says what N counts
  (``draws`` from the domain, ``pinned`` instances and their Monte Carlo sample sizes).  A
  certifiable statement whose certificate is undecided or rejected by the checker stays
  ``tested``, with the reason in ``evidence["status_reason"]``.
* ``refuted``: a statement expected to be false, with its counterexample recorded;
  ``evidence["refutation"]["rigorous"]`` is true when the violation was checked in interval
  arithmetic (by :attr:`Statement.rigorous_counterexample`, or by a ``refuted`` certificate
  that the checker accepts).
* ``failed``: a statement expected to hold where a counterexample was found (sampled, or a
  ``refuted`` certificate), or an expected-refuted one whose counterexample no longer
  refutes it; ``rvsm report`` exits 1.

Checks that need no simulation live in the modules of this package; simulation checks
register from :mod:`sim.checks` (``theory`` never imports ``sim``).
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

Status = Literal["certified", "tested", "refuted", "failed"]
STATUSES: tuple[str, ...] = ("certified", "tested", "refuted", "failed")
Source = Literal["quoted", "derived", "conjecture"]

__all__ = ["Evidence", "Statement", "Status", "STATUSES", "Certification", "REGISTRY",
           "register", "load_all", "search", "certifiable", "certification", "run_prover",
           "run_checker", "expected_status"]

NOT_RECHECKED = "not re-checked in interval arithmetic"


@dataclass(frozen=True)
class Evidence:
    """What a check found at one point or over a domain: ``ok``, numbers, and a witness."""

    ok: bool
    details: dict[str, Any] = field(default_factory=dict)
    counterexample: Any = None


@dataclass(frozen=True)
class Statement:
    """A named claim with its domain, per-point check, and optional aggregate evidence."""

    name: str
    hypotheses: str
    conclusion: str
    source: Source
    note: str
    instance: Callable[[Any], Evidence]
    domain: Callable[[], st.SearchStrategy[Any]] | None
    """``None``: the statement is about the ``pinned`` instances only (Monte Carlo checks)."""
    pinned: Sequence[Any] = ()
    expected: Literal["holds", "refuted"] = "holds"
    counterexample: Any = None
    summary: Callable[[str], dict[str, Any]] | None = None
    examples: int = 200
    """Search budget in the ``quick`` profile (``full`` uses 10x); Monte Carlo statements
    whose single instance costs seconds use a small number."""
    rigorous_counterexample: Callable[[], dict[str, Any]] | None = None
    """Expected-refuted statements: re-checks the recorded counterexample in interval
    arithmetic and returns ``{"rigorous": bool, "method": str, ...}``; ``None``: the
    refutation is not rigorous (reason :data:`NOT_RECHECKED`)."""

    def run(self, profile: str = "quick", *, certify: bool = True,
            certify_dir: Path | None = None,
            progress: Callable[[str], None] | None = None) -> tuple[Status, Evidence]:
        """Check the statement and return its :data:`Status` with the evidence.

        The sampled check runs first (always; its evidence stays in the result).  With
        ``certify`` and a claim in :mod:`theory.certify`, the prover then runs (certificate
        written to ``certify_dir/<name>.json`` when given) and the independent checker replays
        the certificate; ``progress`` receives the prover's messages.
        """
        details: dict[str, Any] = {}
        if self.summary is not None:
            details.update(self.summary(profile))
        if self.expected == "refuted":
            return self._run_refuted(details, certify, certify_dir, progress)
        budget = self.examples * (10 if profile == "full" else 1)
        details["searched_examples"] = budget
        pinned_evidence = []
        for point in self.pinned:
            ev = self.instance(point)
            if not ev.ok:
                return "failed", Evidence(False, {**details, **ev.details}, _describe(point))
            pinned_evidence.append(ev.details)
        details["pinned"] = pinned_evidence
        stats: dict[str, int] = {}
        if self.domain is None:
            details.pop("searched_examples")
        else:
            witness = search(self, budget, stats=stats)
            if witness is not None:
                ev = self.instance(witness)
                return "failed", Evidence(False, {**details, **ev.details}, _describe(witness))
        details["tested"] = _tested(self, budget, stats.get("draws", 0), pinned_evidence)
        if not (certify and self.name in certifiable()):
            return "tested", Evidence(True, details)
        cert = certification(self.name, out_dir=certify_dir, progress=progress)
        details["certification"] = cert.as_dict()
        if cert.status == "refuted":
            details["status_reason"] = ("certificate refutes the statement"
                                        + ("" if cert.checker_ok else
                                           " (not confirmed by the checker)"))
            cx = cert.counterexample
            return "failed", Evidence(False, details, cx)
        if cert.accepted:
            return "certified", Evidence(True, details)
        details["status_reason"] = cert.why_not_certified()
        return "tested", Evidence(True, details)

    def _run_refuted(self, details: dict[str, Any], certify: bool, certify_dir: Path | None,
                     progress: Callable[[str], None] | None) -> tuple[Status, Evidence]:
        ev = self.instance(self.counterexample)
        ok_refuted = not ev.ok
        details["recorded_counterexample"] = _describe(self.counterexample)
        details["counterexample_evidence"] = ev.details
        refutation: dict[str, Any] = {"rigorous": False, "method": None, "reason": NOT_RECHECKED}
        if self.rigorous_counterexample is not None:
            try:
                hook = dict(self.rigorous_counterexample())
                refutation = {"reason": None, **hook, "rigorous": bool(hook.get("rigorous"))}
                if not refutation["rigorous"] and refutation["reason"] is None:
                    refutation["reason"] = "the interval re-check did not confirm the violation"
            except Exception as exc:  # a crashing re-check leaves the refutation non-rigorous
                refutation = {"rigorous": False, "method": None,
                              "reason": f"interval re-check raised {type(exc).__name__}: {exc}"}
        status: Status = "refuted" if ok_refuted else "failed"
        if certify and self.name in certifiable():
            cert = certification(self.name, out_dir=certify_dir, progress=progress)
            details["certification"] = cert.as_dict()
            if cert.status == "refuted" and cert.checker_ok:
                refutation = {**refutation, "rigorous": True, "reason": None,
                              "method": _join(refutation.get("method"), "certificate")}
            elif cert.accepted:  # a proof of a statement the toolkit records as false
                status = "failed"
                details["status_reason"] = ("the certificate proves the statement that the "
                                            "recorded counterexample refutes")
        details["refutation"] = refutation
        if not ok_refuted:
            details["status_reason"] = "the recorded counterexample no longer refutes it"
        return status, Evidence(status == "failed", details, _describe(self.counterexample))


def _join(a: str | None, b: str) -> str:
    return b if not a else f"{a}; {b}"


_SIZE_KEYS = ("samples", "runs", "instances")


def _tested(stmt: Statement, budget: int, draws: int, pinned: list[dict[str, Any]]
            ) -> dict[str, Any]:
    """What the N of ``tested`` counts: domain draws, pinned instances, their sample sizes."""
    sizes = [{k: v for k, v in d.items() if k in _SIZE_KEYS and isinstance(v, int)}
             for d in pinned]
    out: dict[str, Any] = {"draws": draws, "pinned": len(pinned)}
    if stmt.domain is not None:
        out["budget"] = budget
        out["counts"] = (f"{draws} points drawn from the domain by Hypothesis (budget {budget}) "
                         f"and {len(pinned)} pinned edge instances, no counterexample")
    else:
        out["counts"] = (f"{len(pinned)} pinned instances (no domain to draw from), no "
                         "counterexample; pinned_sizes gives each instance's Monte Carlo "
                         "sample size (samples, runs) where it has one")
    if any(sizes):
        out["pinned_sizes"] = sizes
    return out


# ------------------------------------------------------------------------- certification


@dataclass(frozen=True)
class Certification:
    """The prover's verdict on a statement's claim and the independent checker's on that.

    ``status`` is the certificate's (``certified``, ``refuted``, ``undecided``); ``checker_ok``
    is ``None`` when the certificate was not replayed (undecided, or no checker available).
    """

    statement: str
    status: Literal["certified", "refuted", "undecided"]
    reason: str | None = None
    path: str | None = None
    leaves: int = 0
    seconds: float = 0.0
    checker_ok: bool | None = None
    checker_reasons: tuple[str, ...] = ()
    checker_seconds: float = 0.0
    counterexample: Any = None
    certificate: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """The certificate itself (not in :meth:`as_dict`: the file holds it)."""

    @property
    def accepted(self) -> bool:
        """A decided certificate that the independent checker accepts."""
        return self.status in ("certified", "refuted") and self.checker_ok is True

    def why_not_certified(self) -> str:
        if self.status == "undecided":
            return f"certification undecided: {self.reason or 'no reason given'}"
        if self.checker_ok is None:
            return f"certificate not replayed: {'; '.join(self.checker_reasons) or 'no checker'}"
        if not self.checker_ok:
            return ("certificate rejected by the independent checker: "
                    + ("; ".join(self.checker_reasons) or "no reason given"))
        return ""

    def as_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "certificate"}
        d["checker_reasons"] = list(self.checker_reasons)
        return d


def certifiable() -> list[str]:
    """Names of the statements with a claim in :mod:`theory.certify` (looked up at each call)."""
    import theory.certify as tc

    return list(tc.certifiable())


def run_prover(name: str, out_dir: Path | None = None,
               progress: Callable[[str], None] | None = None) -> Certification:
    """Run :func:`theory.certify.certify` on ``name`` and make sure the certificate is on disk
    (``out_dir/<name>.json``) when ``out_dir`` is given.  A prover that raises gives an
    ``undecided`` verdict with the error as its reason."""
    import theory.certify as tc

    t0 = time.perf_counter()
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    try:
        res = tc.certify(name, out_dir=out_dir, progress=progress)
    except Exception as exc:
        reason = f"prover raised {type(exc).__name__}" + (f": {exc}" if str(exc) else "")
        return Certification(name, "undecided", reason, seconds=time.perf_counter() - t0)
    path = res.path
    if path is None and out_dir is not None and res.certificate:
        path = Path(out_dir) / f"{name}.json"
        _atomic_write(path, json.dumps(res.certificate, indent=1, default=str).encode())
    cx = res.certificate.get("counterexample") if isinstance(res.certificate, dict) else None
    return Certification(name, res.status, res.reason, None if path is None else str(path),
                         int(res.leaves), float(res.seconds), counterexample=cx,
                         certificate=res.certificate or None)


def run_checker(cert: Certification) -> Certification:
    """Replay a decided certificate with the independent checker
    (:func:`theory.certify.check.check`), from its file when there is one."""
    if cert.status == "undecided":
        return cert
    target: Any = cert.path if cert.path is not None else cert.certificate
    if target is None:
        return replace(cert, checker_ok=None, checker_reasons=("no certificate to replay",))
    verdict = check_file(target)
    return replace(cert, checker_ok=verdict["ok"], checker_reasons=tuple(verdict["reasons"]),
                    checker_seconds=verdict["seconds"])


def check_file(target: Path | str | dict[str, Any]) -> dict[str, Any]:
    """The independent checker's verdict on a certificate (file or dict):
    ``{"ok": bool | None, "reasons": [...], "leaves": int, "seconds": float}``; ``ok`` is
    ``None`` when no checker is installed, ``False`` when the checker raises."""
    t0 = time.perf_counter()
    try:
        check = importlib.import_module("theory.certify.check").check
    except (ImportError, AttributeError) as exc:
        return {"ok": None, "reasons": [f"independent checker unavailable ({exc})"],
                "leaves": 0, "seconds": 0.0}
    try:
        rep = check(target)
    except Exception as exc:
        return {"ok": False, "reasons": [f"checker raised {type(exc).__name__}: {exc}"],
                "leaves": 0, "seconds": time.perf_counter() - t0}
    return {"ok": bool(rep.ok), "reasons": [str(r) for r in getattr(rep, "reasons", ())],
            "leaves": int(getattr(rep, "leaves", 0) or 0),
            "seconds": float(getattr(rep, "seconds", time.perf_counter() - t0))}


def certification(name: str, out_dir: Path | None = None,
                  progress: Callable[[str], None] | None = None) -> Certification:
    """Prove ``name``'s claim (:func:`run_prover`) and replay it (:func:`run_checker`)."""
    cert = run_prover(name, out_dir, progress)
    return run_checker(cert)


def expected_status(stmt: Statement, claims: Sequence[str]) -> Status:
    """The status a statement is expected to reach without running it: ``refuted`` if it is
    expected false, ``certified`` if it has a claim in ``claims``, else ``tested``."""
    if stmt.expected == "refuted":
        return "refuted"
    return "certified" if stmt.name in claims else "tested"


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------- search


def search(statement: Statement, max_examples: int, seed: int = 0,
           stats: dict[str, int] | None = None) -> Any:
    """A minimal point of the domain where the statement's conclusion fails, or None.

    ``stats["draws"]`` receives the number of points checked (generation and shrinking)."""
    if statement.domain is None:
        return None
    count = [0]

    def fails(p: Any) -> bool:
        count[0] += 1
        return not statement.instance(p).ok

    try:
        return find(
            statement.domain(),
            fails,
            settings=settings(
                max_examples=max_examples, database=None, deadline=None, derandomize=seed == 0,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            ),
        )
    except NoSuchExample:
        return None
    finally:
        if stats is not None:
            stats["draws"] = count[0]


def _describe(point: Any) -> Any:
    """A JSON-friendly rendering of a domain point (arrays become lists)."""
    if hasattr(point, "tolist"):
        return point.tolist()
    if isinstance(point, dict):
        return {k: _describe(v) for k, v in point.items()}
    if isinstance(point, list | tuple):
        return [_describe(v) for v in point]
    if isinstance(point, float | int | str | bool) or point is None:
        return point
    return str(point)


REGISTRY: dict[str, Statement] = {}

_MODULES = ("theory.statements.relu", "theory.statements.binary", "theory.statements.limits")
"""Modules that register statements; :func:`load_all` imports them (and ``sim.checks``
when torch is available, which the report does)."""


def register(statement: Statement) -> Statement:
    """Add a statement to :data:`REGISTRY` (names are unique)."""
    if statement.name in REGISTRY:
        raise ValueError(f"statement {statement.name!r} is registered twice")
    REGISTRY[statement.name] = statement
    return statement


def load_all(extra: Sequence[str] = ()) -> dict[str, Statement]:
    """Import every registering module (and ``extra`` ones) and return the registry."""
    for mod in (*_MODULES, *extra):
        importlib.import_module(mod)
    return REGISTRY
