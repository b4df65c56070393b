"""The real-data experiment of the papers: accuracy against sparsity for l1, l0 and TL1 (and
baselines), and lambda for a prescribed sparsity (issue 8; ``proofs_notes/experiments.md``).

Modules
-------
* :mod:`sim.experiments.data`: :func:`load_dataset` (``"digits"``: scikit-learn's 8x8 digits,
  offline; or a local ``.npz`` with ``X``, ``y``), fixed stratified split.
* :mod:`sim.experiments.models`: :class:`SmallCNN`, :class:`PatchNet` (the no-overlap
  one-hidden-layer network on image patches), :class:`Layout` (flat parameter vector).
* :mod:`sim.experiments.training`: :func:`train` with a method of :data:`METHODS` (RVSM l1 /
  l0 / TL1, group TL1, ADMM, the authors' practical variant, magnitude pruning), every update
  rule taken from :mod:`sim.algorithms`; the evaluated network uses the sparse ``u``.
* :mod:`sim.experiments.sweep`: :func:`run_tradeoff` (resumable sweep over lambda, beta and
  seeds, saved with provenance), :func:`plot_tradeoff` (the figure), tables.
* :mod:`sim.experiments.select`: :func:`select_lambda`, the rule that reaches a target sparsity.
* :mod:`sim.experiments.gaussian`: the rule on the Gaussian model against the exact map of
  :mod:`theory.limits`.

Names are imported lazily (``import sim.experiments`` does not import torch).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Dataset": "data", "load_dataset": "data", "load_digits": "data", "load_npz": "data",
    "SmallCNN": "models", "PatchNet": "models", "Layout": "models", "build_model": "models",
    "MODEL_NAMES": "models",
    "METHODS": "training", "TrainConfig": "training", "Outcome": "training", "train": "training",
    "make_trial": "training", "FlatProx": "training",
    "SweepConfig": "sweep", "preset": "sweep", "run_tradeoff": "sweep", "plot_tradeoff": "sweep",
    "load_results": "sweep", "summarize": "sweep", "accuracy_at": "sweep",
    "table_markdown": "sweep", "SPARSITIES": "sweep",
    "Trial": "select", "Selection": "select", "select_lambda": "select",
    "zero_threshold_inverse": "select",
    "check_rule": "gaussian", "gaussian_trial": "gaussian",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'sim.experiments' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sim.experiments.{mod}"), name)
