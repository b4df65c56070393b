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

Checks that need no simulation live in the modules of this package; simulation checks
register from :mod:`sim.checks` (``theory`` never imports ``sim``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

Status = Literal["verified", "refuted", "failed"]
Source = Literal["quoted", "derived", "conjecture"]

__all__ = ["Evidence", "Statement", "REGISTRY", "register", "load_all", "search"]


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

    def run(self, profile: str = "quick") -> tuple[Status, Evidence]:
        """Check the statement over its domain and return its status with the evidence."""
        details: dict[str, Any] = {}
        if self.summary is not None:
            details.update(self.summary(profile))
        budget = self.examples * (10 if profile == "full" else 1)
        details["searched_examples"] = budget
        if self.expected == "refuted":
            ev = self.instance(self.counterexample)
            ok_refuted = not ev.ok
            details["recorded_counterexample"] = _describe(self.counterexample)
            details["counterexample_evidence"] = ev.details
            return ("refuted" if ok_refuted else "failed"), Evidence(
                not ok_refuted, details, _describe(self.counterexample))
        pinned_evidence = []
        for point in self.pinned:
            ev = self.instance(point)
            if not ev.ok:
                return "failed", Evidence(False, {**details, **ev.details}, _describe(point))
            pinned_evidence.append(ev.details)
        details["pinned"] = pinned_evidence
        if self.domain is None:
            details.pop("searched_examples")
            return "verified", Evidence(True, details)
        witness = search(self, budget)
        if witness is not None:
            ev = self.instance(witness)
            return "failed", Evidence(False, {**details, **ev.details}, _describe(witness))
        return "verified", Evidence(True, details)


def search(statement: Statement, max_examples: int, seed: int = 0) -> Any:
    """A minimal point of the domain where the statement's conclusion fails, or None."""
    if statement.domain is None:
        return None
    try:
        return find(
            statement.domain(),
            lambda p: not statement.instance(p).ok,
            settings=settings(
                max_examples=max_examples, database=None, deadline=None, derandomize=seed == 0,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            ),
        )
    except NoSuchExample:
        return None


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
