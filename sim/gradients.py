r"""Gradient oracles: population (closed form), online sampled, fixed training set.

The network (theory.md sections 1 and 3): :math:`f(Z, w) = \frac1k\sum_i \phi(w\cdot Z_i)`
with :math:`\phi` = relu (model ``relu``) or :math:`\sigma = 1\{x > 0\}` (model ``binary``),
loss :math:`(f(Z,w) - f(Z,w^*))^2` (no 1/2).  The per-sample (coarse) gradient is

.. math:: g(w; Z) = \frac{2}{k}\,(f(Z,w) - f(Z,w^*))\sum_i \mu'(w\cdot Z_i)\,Z_i,

with :math:`\mu' = \mathrm{relu}'` (:math:`1\{x>0\}`, the true gradient) for ``relu`` and the
straight-through estimator's :math:`\mu'` (:func:`theory.binary.ste_derivative`) for
``binary``.  Its expectation is :func:`theory.relu.grad`, resp.
:func:`theory.binary.coarse_grad` (checked in ``tests/test_sim_gradients.py``).

Modes
-----
* ``population``: the closed form from :mod:`theory` (never re-typed here).
* ``online``: a fresh Gaussian minibatch of ``m`` inputs per step and run.  Two exact
  samplers: ``direct`` draws :math:`Z \in \mathbb R^{m\times k\times d}` (cost
  :math:`O(mkd)`); ``projection`` (default) draws only the coordinates of every patch in an
  orthonormal basis :math:`(e_1, e_2)` of a plane containing :math:`w` and :math:`w^*`, plus
  one isotropic Gaussian vector for the rest (cost :math:`O(mk + d)`).  Same distribution:
  proof in ``proofs_notes/simulator.md``; tested in ``tests/test_sim_gradients.py``.
* ``train``: ``n`` inputs drawn once per run (empirical risk); full-batch gradient, or a
  minibatch of ``m`` indices drawn uniformly with replacement each step.

The hot path never synchronises with the host: no ``.item()``, no Python branch on values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
import torch

from sim.names import MODELS, MODES, SAMPLERS
from theory import binary, relu
from theory.backends import Compiled
from theory.geometry import norm, unit

__all__ = ["MODELS", "MODES", "SAMPLERS", "Model", "make_oracle", "minibatch_gradient",
           "sample_coefficients", "Oracle"]



@functools.cache
def _derivative(ste: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """:math:`\\mu'` compiled from :func:`theory.binary.ste_derivative` (its one home).

    A ``Piecewise`` of constants is evaluated as a sum of value times the indicator of its
    condition (each condition compiled by :class:`theory.backends.Compiled`); that is ~20x
    faster in torch than the ``where`` chain ``lambdify`` makes of the ``Piecewise``.
    """
    expr = binary.ste_derivative(ste)
    if not isinstance(expr, sp.Piecewise):
        const = float(expr)
        return lambda v: torch.full_like(v, const)
    pieces: list[tuple[float, Compiled | None]] = []
    for val, cond in expr.args:
        syms = sorted(cond.free_symbols, key=str)
        pieces.append((float(val), None if cond is sp.true else Compiled(tuple(syms), cond)))

    def fn(v: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor | None = None
        covered: torch.Tensor | None = None  # conditions of the earlier pieces
        for i, (val, comp) in enumerate(pieces):
            last = i == len(pieces) - 1
            if val == 0 and last:
                break
            hit = torch.ones_like(v, dtype=torch.bool) if comp is None else comp(v)
            take = hit if covered is None else hit & ~covered
            if val != 0:
                term = take.to(v.dtype) if val == 1 else val * take.to(v.dtype)
                out = term if out is None else out + term
            if not last:
                covered = hit if covered is None else covered | hit
        return torch.zeros_like(v) if out is None else out

    return fn


@dataclass(frozen=True)
class Model:
    """The network: ``relu`` (true gradient) or ``binary`` with a straight-through estimator."""

    name: str
    ste: str = "relu"

    def __post_init__(self) -> None:
        if self.name not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.name!r}")
        binary.check_ste(self.ste)
        if self.name == "relu" and self.ste != "relu":
            raise ValueError("ste applies to the binary model only (relu uses its true gradient)")

    def loss(self, w: torch.Tensor, w_star: torch.Tensor, k: int) -> torch.Tensor:
        """Population loss (closed form of :mod:`theory`)."""
        mod = relu if self.name == "relu" else binary
        return mod.loss(w, w_star, k, validate=False)

    def expected_gradient(self, w: torch.Tensor, w_star: torch.Tensor, k: int) -> torch.Tensor:
        """:func:`theory.relu.grad`, or :func:`theory.binary.coarse_grad` with the model's STE."""
        if self.name == "relu":
            return relu.grad(w, w_star, k, validate=False)
        return binary.coarse_grad(w, w_star, k, self.ste, validate=False)

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\phi`: relu, or :math:`\\sigma(x) = 1\\{x > 0\\}` (so :math:`\\sigma(0) = 0`)."""
        if self.name == "relu":
            return torch.clamp_min(x, 0)
        return (x > 0).to(x.dtype)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\mu'`: relu' (= the relu STE, :math:`\\mu'(0) = 0`) or the binary model's STE."""
        return _derivative("relu" if self.name == "relu" else self.ste)(x)


def sample_coefficients(model: Model, p: torch.Tensor, q: torch.Tensor, k: int,
                        patch_dim: int = -1) -> torch.Tensor:
    r"""Weights :math:`a_{ji}` with minibatch mean gradient :math:`\sum_{j,i} a_{ji} Z_{ji}`.

    ``p`` = :math:`w\cdot Z_{ji}`, ``q`` = :math:`w^*\cdot Z_{ji}`, shape ``(B, m, k)``
    (``patch_dim=-1``) or ``(B, k, m)`` (``patch_dim=1``):
    :math:`a_{ji} = \frac{2}{k m}(f_j - f^*_j)\,\mu'(p_{ji})`.
    """
    m = p.shape[1] if patch_dim == -1 else p.shape[2]
    act = model.activation
    resid = act(p).mean(patch_dim, keepdim=True) - act(q).mean(patch_dim, keepdim=True)
    return (2.0 / (k * m)) * resid * model.derivative(p)


def minibatch_gradient(model: Model, z: torch.Tensor, w: torch.Tensor, w_star: torch.Tensor,
                       k: int) -> torch.Tensor:
    """Mean per-sample gradient over explicit inputs ``z`` of shape ``(B, m, k, d)``."""
    p = torch.einsum("bmkd,bd->bmk", z, w)
    q = torch.einsum("bmkd,bd->bmk", z, w_star)
    return torch.einsum("bmk,bmkd->bd", sample_coefficients(model, p, q, k), z)


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(-1, keepdim=True)


def plane_basis(w: torch.Tensor, w_star_hat: torch.Tensor, fallback: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""``(e1, e2, cos, sin)``: orthonormal :math:`e_1 = \hat w`, :math:`e_2 \perp e_1` with
    :math:`\hat w^* = \cos\,e_1 + \sin\,e_2` (to rounding).

    Gram-Schmidt twice keeps :math:`e_2 \perp e_1` to rounding even for tiny angles; where
    :math:`\hat w^* \parallel \hat w` exactly, :math:`e_2` is the (unit, per-run, fixed)
    ``fallback`` orthogonalised against :math:`e_1` and ``sin = 0``.
    """
    e1 = unit(w)
    cos = _dot(w_star_hat, e1)
    u = w_star_hat - cos * e1
    u = u - _dot(u, e1) * e1
    sin = norm(u)[:, None]
    fb = fallback - _dot(fallback, e1) * e1
    fb = fb - _dot(fb, e1) * e1
    fb = fb / torch.linalg.vector_norm(fb, dim=-1, keepdim=True)
    pos = sin > 0
    e2 = torch.where(pos, u / torch.where(pos, sin, torch.ones_like(sin)), fb)
    return e1, e2, cos, sin


class Oracle:
    """Gradient oracle for a batch: ``oracle(w)`` returns the (B, d) gradient estimate."""

    mode = "population"

    def __init__(self, model: Model, w_star: torch.Tensor, k: int) -> None:
        self.model, self.w_star, self.k = model, w_star, k
        # |w*| and w*^ once per run, not once per step (theory.relu.Teacher).
        self._teacher = relu.teacher(w_star, validate=False) if model.name == "relu" else w_star

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return self.model.expected_gradient(w, self._teacher, self.k)

    def train_loss(self, w: torch.Tensor) -> torch.Tensor | None:
        """Empirical loss on the training set (``train`` mode only)."""
        return None


class OnlineOracle(Oracle):
    """Fresh Gaussian minibatch of ``m`` inputs per step (``projection`` or ``direct``)."""

    mode = "online"

    def __init__(self, model: Model, w_star: torch.Tensor, k: int, m: int, sampler: str,
                 generator: torch.Generator, fallback: torch.Tensor) -> None:
        super().__init__(model, w_star, k)
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
        self.m, self.sampler, self.gen = m, sampler, generator
        self.w_star_norm = norm(w_star)[:, None, None]
        self.w_star_hat = unit(w_star)
        self.fallback = fallback

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        b, d = w.shape
        if self.sampler == "direct":
            z = torch.randn(b, self.m, self.k, d, generator=self.gen, dtype=w.dtype,
                            device=w.device)
            return minibatch_gradient(self.model, z, w, self.w_star, self.k)
        e1, e2, cos, sin = plane_basis(w, self.w_star_hat, self.fallback)
        # coordinates of every patch in (e1, e2), laid out (B, k, m) so that the means over
        # the k patches are sums of contiguous slices
        x = torch.randn(2, b, self.k, self.m, generator=self.gen, dtype=w.dtype,
                        device=w.device)
        x1, x2 = x[0], x[1]
        p = norm(w)[:, None, None] * x1                                       # w . Z
        s_cos = (self.w_star_norm[:, :, 0] * cos)[:, :, None]
        s_sin = (self.w_star_norm[:, :, 0] * sin)[:, :, None]
        q = s_cos * x1 + s_sin * x2                                           # w* . Z
        a = sample_coefficients(self.model, p, q, self.k, patch_dim=1).reshape(b, -1)
        c1 = torch.linalg.vecdot(a, x1.reshape(b, -1))[:, None]
        c2 = torch.linalg.vecdot(a, x2.reshape(b, -1))[:, None]
        xi = torch.randn(b, d, generator=self.gen, dtype=w.dtype, device=w.device)
        xi = xi - _dot(xi, e1) * e1 - _dot(xi, e2) * e2
        return c1 * e1 + c2 * e2 + torch.linalg.vector_norm(a, dim=1)[:, None] * xi


class TrainingSetOracle(Oracle):
    """Empirical risk on ``n`` inputs per run drawn once; full batch or minibatches of ``m``."""

    mode = "train"

    def __init__(self, model: Model, w_star: torch.Tensor, k: int, n: int, m: int | None,
                 generator: torch.Generator) -> None:
        super().__init__(model, w_star, k)
        b, d = w_star.shape
        self.n, self.m, self.gen = n, m, generator
        self.z = torch.randn(b, n, k, d, generator=generator, dtype=w_star.dtype,
                             device=w_star.device)
        self.q = torch.einsum("bnkd,bd->bnk", self.z, w_star)
        self._rows = torch.arange(b, device=w_star.device)[:, None]

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        if self.m is None:
            z, q = self.z, self.q
        else:
            idx = torch.randint(self.n, (w.shape[0], self.m), generator=self.gen,
                                device=w.device)
            z, q = self.z[self._rows, idx], self.q[self._rows, idx]
        p = torch.einsum("bmkd,bd->bmk", z, w)
        return torch.einsum("bmk,bmkd->bd", sample_coefficients(self.model, p, q, self.k), z)

    def train_loss(self, w: torch.Tensor) -> torch.Tensor:
        p = torch.einsum("bnkd,bd->bnk", self.z, w)
        act = self.model.activation
        return ((act(p).mean(-1) - act(self.q).mean(-1)) ** 2).mean(-1)


def make_oracle(model: Model, mode: str, w_star: torch.Tensor, k: int, *,
                samples: int | None, train_size: int | None, sampler: str,
                generator: torch.Generator, fallback: torch.Tensor) -> Oracle:
    """The oracle for ``mode`` (arguments validated by :func:`sim.runner.run`)."""
    if mode == "population":
        return Oracle(model, w_star, k)
    if mode == "online":
        assert samples is not None
        return OnlineOracle(model, w_star, k, samples, sampler, generator, fallback)
    assert train_size is not None
    return TrainingSetOracle(model, w_star, k, train_size, samples, generator)


def describe(oracle: Any) -> dict[str, Any]:
    """Parameters of an oracle for the result's provenance."""
    out: dict[str, Any] = {"mode": oracle.mode, "model": oracle.model.name}
    if oracle.model.name == "binary":
        out["ste"] = oracle.model.ste
    for key in ("m", "sampler", "n"):
        if hasattr(oracle, key):
            out[key] = getattr(oracle, key)
    return out
