"""Certified verdicts: rigorous proofs of the registry's inequalities in ball arithmetic.

* :mod:`theory.certify.claims` says what is proved (inequalities on compact boxes, identities);
* :mod:`theory.certify.library` builds the claims from the derived SymPy expressions;
* :mod:`theory.certify.arb_eval` evaluates SymPy expressions rigorously with python-flint ``arb``;
* :mod:`theory.certify.prover` is the branch-and-bound prover (enclosure, mean-value form,
  monotonicity onto exact faces, exact zeros) that returns a proof tree or a checked
  counterexample;
* :mod:`theory.certify.certificate` runs it for a statement and writes the JSON certificate
  (``FORMAT.md``);
* :mod:`theory.certify.check` is the independent checker: it replays a certificate in
  ``mpmath.iv`` and shares no code with the search.

Vocabulary: ``certified`` (proved on the stated domain), ``refuted`` (a counterexample, checked in
interval arithmetic), ``undecided`` (with the reason; the statement then stays ``tested``).
"""

from __future__ import annotations

from theory.certify.certificate import CertificateResult, certifiable, certify

__all__ = ["CertificateResult", "certifiable", "certify"]
