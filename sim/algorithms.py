r"""One step function per method, all on batches ``w`` of shape ``(B, d)``.

Notation: :math:`g(w)` is the oracle's gradient (:mod:`sim.gradients`: the true gradient of
the ReLU model, or the coarse gradient of the binary model; population or sampled),
:math:`\operatorname{prox} = \operatorname{prox}_{(\lambda/\beta)P}` row-wise, and
:math:`\lambda, \beta, \eta` per run.

* ``rvsm`` (theory.md section 2, P1): :math:`u^{t+1} = \operatorname{prox}(w^t)`,
  :math:`w^{t+1} = w^t - \eta g(w^t) - \eta\beta(w^t - u^{t+1})`.
* ``rvscgd`` (section 3, P2): the same update with the binary model's coarse gradient, then
  (``normalize``, default on) :math:`w^{t+1} \leftarrow w^{t+1}/|w^{t+1}|`.
* ``proxgrad``: :math:`w^{t+1} = \operatorname{prox}_{\eta\lambda P}(w^t - \eta g(w^t))`,
  :math:`u = w`.
* ``admm`` (linearised: one gradient step replaces the exact :math:`w` minimisation):
  :math:`u^{t+1} = \operatorname{prox}(w^t + z^t/\beta)`,
  :math:`w^{t+1} = w^t - \eta(g(w^t) + z^t + \beta(w^t - u^{t+1}))`,
  :math:`z^{t+1} = z^t + \beta(w^{t+1} - u^{t+1})`.  With :math:`z \equiv 0` it is RVSM.
* ``practical`` (the authors' public training code, *not* the analysed algorithm):
  :math:`u^{t+1} = \operatorname{prox}(w^t)`,
  :math:`v^{t+1} = \mu v^t + g(w^t) + \omega w^t + \beta(w^t - u^{t+1})`,
  :math:`w^{t+1} = w^t - \eta v^{t+1}`; every ``reset_every`` steps
  :math:`u \leftarrow \operatorname{prox}(w^{t+1})`, :math:`w^{t+1} \leftarrow u`.  With
  :math:`\mu = \omega = 0` and no reset it is RVSM.

``normalize`` applies to every method.  The merit function recorded as ``lagrangian``:
:math:`L_\beta(u, w) = \ell(w) + \lambda P(u) + \tfrac\beta2|w-u|^2` for rvsm, rvscgd and
practical; :math:`\ell(w) + \lambda P(w)` for proxgrad; the augmented Lagrangian
:math:`L_\beta + z\cdot(w - u)` for admm.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from sim.gradients import Model, Oracle
from sim.names import ALGORITHMS
from sim.prox import BatchedProx, penalty_sum
from theory.geometry import unit
from theory.penalties import Penalty

__all__ = ["ALGORITHMS", "State", "Context", "PracticalOptions", "init_state", "step",
           "merit", "residual"]



@dataclass(frozen=True)
class State:
    """Iterate of one batch: ``w``, the sparse output ``u``, and ``z`` (admm) / ``v`` (practical)."""

    w: torch.Tensor
    u: torch.Tensor
    z: torch.Tensor | None = None
    v: torch.Tensor | None = None


@dataclass(frozen=True)
class PracticalOptions:
    """Options of the ``practical`` variant: momentum, weight decay, reset period (steps)."""

    momentum: float = 0.9
    weight_decay: float = 5e-4
    reset_every: int | None = None


@dataclass
class Context:
    """Everything fixed during a run: parameters as ``(B, 1)`` tensors, prox maps, oracle."""

    algorithm: str
    model: Model
    penalty: Penalty
    w_star: torch.Tensor
    k: int
    lam: torch.Tensor
    beta: torch.Tensor
    eta: torch.Tensor
    prox: BatchedProx                 # step lam/beta
    prox_pg: BatchedProx | None       # step eta*lam (proxgrad)
    oracle: Oracle
    normalize: bool
    options: PracticalOptions = field(default_factory=PracticalOptions)

    def __post_init__(self) -> None:
        self.eta_beta = self.eta * self.beta


def init_state(ctx: Context, w0: torch.Tensor) -> State:
    """:math:`u^0 = \\operatorname{prox}(w^0)` (``w^0`` itself for proxgrad), ``z = v = 0``."""
    u0 = w0 if ctx.algorithm == "proxgrad" else ctx.prox(w0)
    zero = torch.zeros_like(w0)
    return State(w0, u0, z=zero if ctx.algorithm == "admm" else None,
                 v=zero if ctx.algorithm == "practical" else None)


def _finish(ctx: Context, w: torch.Tensor) -> torch.Tensor:
    return unit(w) if ctx.normalize else w


def step(ctx: Context, s: State, t: int) -> State:
    """Advance every run by one step (``t`` is the index of the step, 0-based)."""
    alg = ctx.algorithm
    w = s.w
    if alg in ("rvsm", "rvscgd"):
        u = ctx.prox(w)
        g = ctx.oracle(w)
        w_new = torch.addcmul(torch.addcmul(w, ctx.eta, g, value=-1.0), ctx.eta_beta, u - w)
        return State(_finish(ctx, w_new), u)
    if alg == "proxgrad":
        assert ctx.prox_pg is not None
        w_new = _finish(ctx, ctx.prox_pg(torch.addcmul(w, ctx.eta, ctx.oracle(w), value=-1.0)))
        return State(w_new, w_new)
    if alg == "admm":
        assert s.z is not None
        u = ctx.prox(w + s.z / ctx.beta)
        g = ctx.oracle(w)
        w_new = _finish(ctx, w - ctx.eta * (g + s.z + ctx.beta * (w - u)))
        return State(w_new, u, z=s.z + ctx.beta * (w_new - u))
    assert s.v is not None
    opt = ctx.options
    u = ctx.prox(w)
    d = ctx.oracle(w) + ctx.beta * (w - u)
    if opt.weight_decay:
        d = d + opt.weight_decay * w
    v = d + opt.momentum * s.v if opt.momentum else d
    w_new = _finish(ctx, torch.addcmul(w, ctx.eta, v, value=-1.0))
    if opt.reset_every and (t + 1) % opt.reset_every == 0:
        u = ctx.prox(w_new)
        w_new = u
    return State(w_new, u, v=v)


def merit(ctx: Context, s: State, loss: torch.Tensor) -> torch.Tensor:
    """The recorded ``lagrangian`` (see the module docstring), shape ``(B,)``."""
    lam, beta = ctx.lam[:, 0], ctx.beta[:, 0]
    if ctx.algorithm == "proxgrad":
        return loss + lam * penalty_sum(ctx.penalty, s.w)
    diff = s.w - s.u
    out = loss + lam * penalty_sum(ctx.penalty, s.u) + beta / 2 * (diff * diff).sum(-1)
    if s.z is not None:
        out = out + (s.z * diff).sum(-1)
    return out


def residual(ctx: Context, prev: State, s: State) -> torch.Tensor:
    """Step norm :math:`|w^{t+1} - w^t|` (admm: the max with :math:`|z^{t+1} - z^t|/\\beta`)."""
    out = torch.linalg.vector_norm(s.w - prev.w, dim=-1)
    if s.z is not None and prev.z is not None:
        dz = torch.linalg.vector_norm(s.z - prev.z, dim=-1) / ctx.beta[:, 0]
        out = torch.maximum(out, dz)
    return out


def with_oracle(ctx: Context, oracle: Oracle) -> Context:
    """A copy of ``ctx`` with another gradient oracle."""
    return replace(ctx, oracle=oracle)
