r"""Training a network on real data with RVSM, its baselines and the group variant.

Every method except ``prune`` is one step function of :mod:`sim.algorithms` (the analysed
RVSM update, linearised ADMM, the authors' practical variant) applied to the *flat* parameter
vector of the network (:class:`sim.experiments.models.Layout`), with a gradient oracle that
returns the minibatch gradient of the cross-entropy loss (autograd).  Nothing of the update
rule is re-typed here.  The prox is :class:`FlatProx`: :class:`sim.prox.BatchedProx` (scalar
penalties) or :meth:`theory.penalties.Penalty.group_prox` (channel groups) on the penalised
block, the identity on the biases.

Methods (:data:`METHODS`; ``lam`` is :math:`\lambda`, except for ``prune`` where it is the
target sparsity):

* ``rvsm-l1``, ``rvsm-l0``, ``rvsm-tl1``: RVSM, :math:`u = \operatorname{prox}_{(\lambda/\beta)P}(w)`,
  :math:`w \leftarrow w - \eta g(w) - \eta\beta(w - u)`; the evaluated network uses ``u``.
* ``group-tl1``: RVSM with the channel penalty :math:`P(w) = \sum_g \sqrt{|g|}\,\rho_a(\lVert w_g\rVert)`
  (nonconvex sparse group lasso of P7 with the TL1 scalar penalty; groups = output channels /
  units of each weight tensor, :math:`|g|` its size; prox = group prox of
  :mod:`theory.penalties` with step :math:`\sqrt{|g|}\lambda/\beta`).
* ``admm-l0``: linearised ADMM of :mod:`sim.algorithms` (multiplier ``z``) with the l0 penalty.
* ``practical-l0``: the authors' public variant (momentum 0.9, weight decay 5e-4, reset
  :math:`w \leftarrow u` at the end of every epoch), l0 as in their code.
* ``prune``: dense training (the same loop with :math:`\lambda = 0`, i.e. plain SGD), then
  global magnitude pruning of the penalised weights with ``torch.nn.utils.prune`` to the
  sparsity ``lam``, then fine-tuning with the mask for ``finetune_epochs`` (SGD, same step).

Sparsity = fraction of zero entries of ``u`` over the penalised weights (biases excluded).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from sim import algorithms as alg
from sim.experiments.data import Dataset
from sim.experiments.models import Layout, build_model
from sim.prox import BatchedProx
from theory.penalties import Penalty

__all__ = ["METHODS", "Method", "TrainConfig", "Outcome", "FlatProx", "method", "train",
           "sparsity_of", "accuracy", "magnitudes", "make_trial"]


@dataclass(frozen=True)
class Method:
    """A training method: ``algorithm`` of :mod:`sim.algorithms` (or ``prune``), penalty."""

    name: str
    algorithm: str
    penalty: str | None
    penalty_params: tuple[tuple[str, float], ...] = ()
    group: bool = False

    def make_penalty(self) -> Penalty | None:
        return None if self.penalty is None else Penalty(self.penalty, **dict(self.penalty_params))

    @property
    def sweeps(self) -> str:
        """What ``lam`` means: ``lambda`` or ``sparsity`` (prune)."""
        return "sparsity" if self.algorithm == "prune" else "lambda"


TL1_A = 1.0
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("rvsm-l1", "rvsm", "l1"),
    Method("rvsm-l0", "rvsm", "l0"),
    Method("rvsm-tl1", "rvsm", "tl1", (("a", TL1_A),)),
    Method("admm-l0", "admm", "l0"),
    Method("practical-l0", "practical", "l0"),
    Method("prune", "prune", None),
    Method("group-tl1", "rvsm", "tl1", (("a", TL1_A),), group=True),
)}


def method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {name!r}") from None


@dataclass(frozen=True)
class TrainConfig:
    """Training budget and step sizes (shared by every method of a sweep)."""

    model: str = "cnn"
    model_options: dict[str, Any] = field(default_factory=dict)
    epochs: int = 30
    batch_size: int | None = 128        # None: full batch
    eta: float = 0.2
    momentum: float = 0.9               # practical only
    weight_decay: float = 5e-4          # practical only
    finetune_epochs: int = 15           # prune only
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not (math.isfinite(self.eta) and self.eta > 0):
            raise ValueError(f"eta must be > 0, got {self.eta}")
        if self.finetune_epochs < 0:
            raise ValueError(f"finetune_epochs must be >= 0, got {self.finetune_epochs}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outcome:
    """Result of one training: the sparse output ``u`` and its quality."""

    method: str
    lam: float
    beta: float
    seed: int
    sparsity: float             # zero fraction of u over penalised weights
    channel_sparsity: float     # fraction of output channels/units of u that are all zero
    accuracy: float             # test accuracy of the network with parameters u
    train_accuracy: float
    test_loss: float
    status: str                 # ok | failed (non-finite)
    steps: int
    elapsed_s: float
    u: torch.Tensor = field(repr=False)
    w: torch.Tensor = field(repr=False)
    prox_input: torch.Tensor = field(repr=False)   # u = prox(prox_input)
    layout: Layout = field(repr=False)

    def record(self) -> dict[str, Any]:
        """JSON-ready summary (no tensors)."""
        skip = ("u", "w", "prox_input", "layout")
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in skip}


class FlatProx:
    r"""Prox of :math:`\tau P` on the penalised block of a flat ``(1, D)`` vector, identity on
    the rest.  Scalar penalties use :class:`sim.prox.BatchedProx`; ``group`` uses
    :meth:`Penalty.group_prox` per weight tensor with rows as groups and step
    :math:`\tau\sqrt{|g|}`."""

    def __init__(self, penalty: Penalty, tau: float, layout: Layout, *, group: bool,
                 dtype: torch.dtype, device: Any = "cpu") -> None:
        self.layout, self.group, self.penalty, self.tau = layout, group, penalty, float(tau)
        self.n = layout.n_penalised
        self._scalar = BatchedProx(penalty, [tau], device=torch.device(device), dtype=dtype)

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        if self.tau == 0:
            return y * 1
        if not self.group:
            head = self._scalar(y[:, :self.n])
        else:
            parts = []
            for s in self.layout.penalised:
                gs = s.group_size
                v = y[:, s.start:s.stop].reshape(y.shape[0], s.groups, gs)
                parts.append(self.penalty.group_prox(v, self.tau * math.sqrt(gs),
                                                     [list(range(gs))]).reshape(y.shape[0], -1))
            head = torch.cat(parts, dim=1)
        return torch.cat([head, y[:, self.n:]], dim=1)


class _Batches:
    """Minibatch indices, reshuffled every epoch from a seeded generator."""

    def __init__(self, n: int, batch_size: int | None, seed: int) -> None:
        self.n, self.bs = n, batch_size or n
        self.gen = torch.Generator().manual_seed(int(seed) + 7919)
        self.per_epoch = math.ceil(n / self.bs)
        self._perm: torch.Tensor | None = None
        self._i = 0

    def next(self) -> torch.Tensor:
        if self._perm is None or self._i >= self.per_epoch:
            self._perm = torch.randperm(self.n, generator=self.gen) if self.bs < self.n \
                else torch.arange(self.n)
            self._i = 0
        idx = self._perm[self._i * self.bs:(self._i + 1) * self.bs]
        self._i += 1
        return idx


class _Oracle:
    """``w (1, D) -> minibatch gradient of the cross-entropy at w`` (autograd)."""

    def __init__(self, layout: Layout, data: Dataset, batches: _Batches) -> None:
        self.layout, self.data, self.batches = layout, data, batches

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        idx = self.batches.next()
        with torch.enable_grad():
            flat = w[0].detach().requires_grad_(True)
            logits = self.layout.forward(flat, self.data.x_train[idx])
            loss = nn.functional.cross_entropy(logits, self.data.y_train[idx])
            (grad,) = torch.autograd.grad(loss, flat)
        return grad[None]


def sparsity_of(u: torch.Tensor, layout: Layout) -> tuple[float, float]:
    """(zero fraction over the penalised weights, fraction of all-zero output channels)."""
    head = u.reshape(-1)[:layout.n_penalised]
    zeros = float((head == 0).sum()) / max(1, layout.n_penalised)
    ch = tot = 0
    for s in layout.penalised:
        rows = u.reshape(-1)[s.start:s.stop].reshape(s.groups, -1)
        ch += int((rows == 0).all(dim=1).sum())
        tot += s.groups
    return zeros, ch / max(1, tot)


@torch.no_grad()
def accuracy(layout: Layout, flat: torch.Tensor, x: torch.Tensor, y: torch.Tensor
             ) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of the network with parameters ``flat``."""
    logits = layout.forward(flat.reshape(-1), x)
    return (float((logits.argmax(1) == y).float().mean()),
            float(nn.functional.cross_entropy(logits, y)))


def _init(config: TrainConfig, data: Dataset, seed: int) -> tuple[nn.Module, Layout]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        module = build_model(config.model, data.image_shape, data.classes,
                             **config.model_options)
    return module, Layout(module)


def _context(m: Method, layout: Layout, oracle: Callable[[torch.Tensor], torch.Tensor],
             lam: float, beta: float, config: TrainConfig, per_epoch: int,
             dtype: torch.dtype) -> alg.Context:
    pen = m.make_penalty() or Penalty("l1")
    one = torch.ones(1, 1, dtype=dtype)
    return alg.Context(
        algorithm=m.algorithm if m.algorithm != "prune" else "rvsm",
        model=None, penalty=pen, w_star=None, k=1,  # type: ignore[arg-type]
        lam=one * lam, beta=one * beta, eta=one * config.eta,
        prox=FlatProx(pen, lam / beta, layout, group=m.group, dtype=dtype),  # type: ignore[arg-type]
        prox_pg=None, oracle=oracle, normalize=False,  # type: ignore[arg-type]
        options=alg.PracticalOptions(config.momentum, config.weight_decay, per_epoch),
    )


def _run_steps(ctx: alg.Context, w0: torch.Tensor, steps: int) -> tuple[alg.State, torch.Tensor]:
    """The final state, and the argument of the last prox (``w`` before the last step; admm:
    ``w + z/beta``; practical with a reset at the last step: ``w`` before it, approximately)."""
    state = alg.init_state(ctx, w0[None])
    prev = state
    with torch.no_grad():
        for t in range(steps):
            prev = state
            state = alg.step(ctx, state, t)
    arg = prev.w if prev.z is None else prev.w + prev.z / ctx.beta
    return state, arg


_DENSE_CACHE: dict[tuple[Any, ...], torch.Tensor] = {}


def _dense(config: TrainConfig, data: Dataset, seed: int, beta: float) -> torch.Tensor:
    """Dense training (lam = 0), cached per (config, data, seed) within the process."""
    key = (repr(sorted(config.to_dict().items())), data.info["sha256"], data.info["split_seed"],
           data.info["n_train"], seed)
    if key not in _DENSE_CACHE:
        _, layout = _init(config, data, seed)
        batches = _Batches(data.x_train.shape[0], config.batch_size, seed)
        ctx = _context(METHODS["rvsm-l1"], layout, _Oracle(layout, data, batches), 0.0, beta,
                       config, batches.per_epoch, data.x_train.dtype)
        state, _ = _run_steps(ctx, layout.flatten(), config.epochs * batches.per_epoch)
        if len(_DENSE_CACHE) > 64:
            _DENSE_CACHE.clear()
        _DENSE_CACHE[key] = state.u[0].clone()
    return _DENSE_CACHE[key]


def _prune(config: TrainConfig, data: Dataset, sparsity: float, seed: int, beta: float
           ) -> tuple[torch.Tensor, int]:
    import torch.nn.utils.prune as tprune

    if not 0 <= sparsity <= 1:
        raise ValueError(f"prune: lam is the target sparsity, in [0, 1]; got {sparsity!r}")
    module, layout = _init(config, data, seed)
    layout.load(_dense(config, data, seed, beta))
    owners = {n: mod for n, mod in module.named_modules()}
    targets = []
    for s in layout.penalised:
        owner, _, pname = s.name.rpartition(".")
        targets.append((owners[owner], pname))
    amount = int(round(sparsity * layout.n_penalised))
    tprune.global_unstructured(targets, pruning_method=tprune.L1Unstructured, amount=amount)
    batches = _Batches(data.x_train.shape[0], config.batch_size, seed + 1)
    params = list(module.parameters())      # weight_orig (masked in forward) and biases
    steps = config.finetune_epochs * batches.per_epoch
    for _ in range(steps):                  # plain SGD (torch.optim would import dynamo: 5 s)
        idx = batches.next()
        loss = nn.functional.cross_entropy(module(data.x_train[idx]), data.y_train[idx])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(config.eta * g)
    for mod, pname in targets:
        tprune.remove(mod, pname)
    return layout.flatten(module), steps


def train(data: Dataset, method_name: str, lam: float, beta: float = 1.0, seed: int = 0,
          config: TrainConfig | None = None, *, w0: torch.Tensor | None = None) -> Outcome:
    """Train once and evaluate the network with parameters ``u`` on the test split.

    ``lam``: :math:`\\lambda \\ge 0` (``prune``: target sparsity in [0, 1]); ``beta > 0``;
    ``seed``: initial weights and minibatch order; ``w0``: a flat starting point (warm start)
    instead of the seeded initialisation.
    """
    config = config or TrainConfig()
    m = method(method_name)
    lam, beta = float(lam), float(beta)
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a finite number > 0, got {beta!r}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    seed = int(seed)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    t0 = time.perf_counter()
    try:
        module, layout = _init(config, data, seed)
        if m.algorithm == "prune":
            u, steps = _prune(config, data, lam, seed, beta)
            w = v = u
            steps += config.epochs * math.ceil(data.x_train.shape[0] / (config.batch_size or
                                                                       data.x_train.shape[0]))
        else:
            batches = _Batches(data.x_train.shape[0], config.batch_size, seed)
            ctx = _context(m, layout, _Oracle(layout, data, batches), lam, beta, config,
                           batches.per_epoch, data.x_train.dtype)
            start = layout.flatten() if w0 is None else w0.detach().reshape(-1).to(
                data.x_train.dtype)
            if start.numel() != layout.size:
                raise ValueError(f"w0 must have {layout.size} entries, got {start.numel()}")
            steps = config.epochs * batches.per_epoch
            state, arg = _run_steps(ctx, start, steps)
            u, w, v = state.u[0], state.w[0], arg[0]
    finally:
        torch.set_num_threads(threads)
    elapsed = time.perf_counter() - t0
    finite = bool(torch.isfinite(u).all() and torch.isfinite(w).all())
    sp, ch = sparsity_of(u, layout)
    if finite:
        acc, tl = accuracy(layout, u, data.x_test, data.y_test)
        tr_acc, _ = accuracy(layout, u, data.x_train, data.y_train)
    else:
        acc = tl = tr_acc = float("nan")
    return Outcome(m.name, lam, beta, seed, sp, ch, acc, tr_acc, tl,
                   "ok" if finite else "failed", steps, elapsed, u.detach().clone(),
                   w.detach().clone(), v.detach().clone(), layout)


def magnitudes(w: torch.Tensor, layout: Layout, group: bool) -> tuple[np.ndarray, np.ndarray]:
    """What the prox thresholds, per unit, and the unit sizes: ``|w_j|`` per penalised weight
    (size 1), or for the group penalty the norm ``|w_g|`` per group (size ``|g|``; the group
    prox zeroes it iff ``|w_g| <= zero(tau sqrt|g|)``)."""
    flat = w.detach().reshape(-1).to(torch.float64)
    if not group:
        return flat[:layout.n_penalised].abs().numpy(), np.ones(layout.n_penalised)
    mags, sizes = [], []
    for s in layout.penalised:
        rows = flat[s.start:s.stop].reshape(s.groups, -1)
        mags.append(torch.linalg.vector_norm(rows, dim=1).numpy())
        sizes.append(np.full(s.groups, s.group_size, dtype=np.float64))
    return np.concatenate(mags), np.concatenate(sizes)


def make_trial(data: Dataset, method_name: str, beta: float = 1.0, seed: int = 0,
               config: TrainConfig | None = None,
               on_outcome: Callable[[Outcome], None] | None = None) -> Callable[[float], Any]:
    """``lam -> Trial`` for :func:`sim.experiments.select.select_lambda`: one training from
    the seeded start; the magnitudes are those of the last prox's argument (so that the
    characterisation "pruned iff magnitude <= zero threshold" holds exactly for that ``u``)."""
    from sim.experiments.select import Trial

    m = method(method_name)
    if m.algorithm == "prune":
        raise ValueError("prune is set by its sparsity directly; lambda selection applies to "
                         "the penalised methods")

    def trial(lam: float) -> Trial:
        o = train(data, method_name, lam, beta, seed, config)
        if on_outcome is not None:
            on_outcome(o)
        mags, sizes = magnitudes(o.prox_input, o.layout, m.group)
        scales = np.sqrt(sizes) if m.group else None
        return Trial(float(lam), o.sparsity, mags, scales, sizes if m.group else None,
                     extra={"accuracy": o.accuracy, "channel_sparsity": o.channel_sparsity,
                            "elapsed_s": o.elapsed_s, "status": o.status})

    return trial
