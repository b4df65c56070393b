"""Batched torch simulation of RVSM / RVSCGD and baselines (imports :mod:`theory`, never
the reverse).  Every gradient comes from :mod:`theory`'s closed forms.

Entry point: :func:`run` (``sim.run(w_star=..., k=..., lam=..., beta=..., eta=..., ...)``)
advances ``B`` independent runs at once and returns a :class:`Result` with final iterates,
traces, status, parameters and provenance; :meth:`Result.save` / :meth:`Result.load`.

Modules: :mod:`sim.gradients` (population / online sampled / fixed training set oracles),
:mod:`sim.algorithms` (one step per method: rvsm, rvscgd, proxgrad, admm, practical),
:mod:`sim.prox` (per-run prox steps on top of :mod:`theory.penalties`), :mod:`sim.runner`
(loop, recording, stopping, divergence, seeds), :mod:`sim.results` (atomic save/load with
provenance), :mod:`sim.bench` (the benchmarks of ``rvsm bench``).  The exact algorithms and
the sampling identity are in ``proofs_notes/simulator.md``.
"""

from typing import Any

from sim.names import ALGORITHMS, MODELS, MODES, SAMPLERS

__all__ = ["run", "Result", "ALGORITHMS", "MODELS", "MODES", "SAMPLERS"]


def __getattr__(name: str) -> Any:
    """``sim.run`` and ``sim.Result`` load torch on first use, not on ``import sim``."""
    if name == "run":
        from sim.runner import run

        return run
    if name == "Result":
        from sim.results import Result

        return Result
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
