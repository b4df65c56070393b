"""The batched loop: validation, seeds, recording, stopping, divergence.

:func:`run` advances ``B`` independent runs together and returns a :class:`sim.results.Result`.
Between record points the loop never synchronises with the host (no ``.item()``, no Python
branch on tensor values): recorded values stay on the device until the end.  The host is
consulted only at record points, and only when a tolerance or a progress callback asks.

Divergence: a run whose ``w`` or ``u`` is not finite at a record point is marked ``failed``
(with the step) and the batch goes on; its final iterate is the non-finite one.  A run
whose residual (step norm, :func:`sim.algorithms.residual`) is <= ``tol`` at a record point
is marked ``converged``; it keeps iterating (it is at a fixed point up to ``tol``) until
every run has converged or failed, or ``iters`` is reached.

Seeds: ``np.random.SeedSequence(seed)`` gives two streams: one CPU float64 generator for the
random starting points and the per-run auxiliary vectors (so a seed gives the same ``w0``
on every device and dtype), and one generator on the run's device for the sampled inputs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import numbers
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sim import algorithms as alg
from sim.gradients import MODELS, MODES, SAMPLERS, Model, describe, make_oracle
from sim.prox import BatchedProx
from sim.results import Result, provenance
from theory.geometry import angle, norm
from theory.penalties import PENALTIES, Penalty

__all__ = ["run", "prepare", "execute", "Prepared", "resolve_device", "resolve_dtype", "Progress",
           "tune_allocator"]

Progress = Callable[[int, int, Callable[[], dict[str, Any]]], None]
"""``progress(step, iters, info)``; ``info()`` returns counts and medians (it syncs)."""

DTYPES = {"float32": torch.float32, "float64": torch.float64}  # the names of sim.names.DTYPES

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_ALLOCATOR: dict[str, Any] = {}


def tune_allocator() -> dict[str, Any]:
    """Keep freed CPU memory in the process (glibc only; idempotent; opt out with the
    environment variable ``RVSM_NO_MALLOC_TUNING=1``).

    A batch step allocates dozens of megabyte-sized temporaries.  With glibc's defaults the
    heap top is trimmed and large blocks are ``mmap``-ed, so every step page-faults its
    temporaries in again: that, not arithmetic, dominated the CPU step (3-4x slower,
    measured in ``sim/bench.py``).  ``mallopt`` raises the mmap threshold to 32 MiB (glibc's
    maximum) and the trim threshold to 1 GiB.  Effect: memory freed by the simulator is
    reused instead of returned to the OS until the process exits.  Returns what was done.
    """
    if _ALLOCATOR:
        return dict(_ALLOCATOR)
    if os.environ.get("RVSM_NO_MALLOC_TUNING"):
        _ALLOCATOR["tuned"] = False
        _ALLOCATOR["why"] = "RVSM_NO_MALLOC_TUNING is set"
        return dict(_ALLOCATOR)
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        _ALLOCATOR.update(tuned=False, why="not glibc")
        return dict(_ALLOCATOR)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1
              and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1)
    except (OSError, AttributeError) as exc:  # pragma: no cover - exotic libc
        _ALLOCATOR.update(tuned=False, why=str(exc))
        return dict(_ALLOCATOR)
    _ALLOCATOR.update(tuned=ok, mmap_threshold=32 << 20, trim_threshold=1 << 30)
    return dict(_ALLOCATOR)


def resolve_device(device: Any) -> torch.device:
    """A usable torch device, or :class:`ValueError` saying why not (e.g. no CUDA here)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: cannot parse {device!r} ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        build = torch.__version__
        raise ValueError(f"device {device!r} requested but CUDA is not available "
                         f"(torch {build}, torch.cuda.is_available() is False); use --device cpu")
    try:
        torch.zeros(1, device=dev)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(f"device {device!r} is not usable: {exc}") from None
    return dev


def resolve_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")


def _int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _matrix(name: str, value: Any) -> np.ndarray:
    """A float64 array of shape (d,) or (B, d), finite."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a vector or a (runs, d) array of numbers") from None
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty vector or a (runs, d) array, "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or inf entries")
    return arr


def _per_run(name: str, value: Any, positive: bool) -> np.ndarray:
    """A scalar or a (B,) vector of finite numbers (> 0 or >= 0)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a vector of numbers, got {value!r}") from None
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a vector with one entry per run")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if not positive and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return arr.reshape(-1)


def _penalty(penalty: Any, params: dict[str, Any] | None) -> Penalty:
    if isinstance(penalty, Penalty):
        if params:
            raise ValueError("penalty_params apply only when penalty is given by name")
        return penalty
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {', '.join(PENALTIES)}, got {penalty!r}")
    kw = dict(params or {})
    if penalty == "tl1":
        kw.setdefault("a", 1.0)
    return Penalty(penalty, **kw)


def _batch_size(sizes: dict[str, int]) -> int:
    """The common number of runs implied by the arguments (1 if nothing says otherwise)."""
    big = {k: v for k, v in sizes.items() if v != 1}
    vals = set(big.values())
    if len(vals) > 1:
        desc = ", ".join(f"{k}: {v}" for k, v in big.items())
        raise ValueError(f"inconsistent numbers of runs ({desc})")
    return vals.pop() if vals else 1


def prepare(
    *,
    w_star: Any,
    k: int,
    lam: Any,
    beta: Any,
    eta: Any,
    model: str = "relu",
    penalty: str | Penalty = "l1",
    penalty_params: dict[str, Any] | None = None,
    algorithm: str = "auto",
    w0: Any = None,
    runs: int | None = None,
    seed: int = 0,
    iters: int = 1000,
    mode: str | None = None,
    samples: int | None = None,
    train_size: int | None = None,
    sampler: str = "projection",
    ste: str = "relu",
    normalize: bool | None = None,
    record_every: int = 10,
    tol: float | None = None,
    limit_w: Any = None,
    limit_u: Any = None,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    reset_every: int | None = None,
    device: Any = "cpu",
    dtype: Any = "float64",
) -> Prepared:
    """Validate the arguments of :func:`run` and build the batch (no step taken)."""
    dev = resolve_device(device)
    dt = resolve_dtype(dtype)
    if dev.type == "cpu":
        tune_allocator()
    k = _int("k", k, 1)
    iters = _int("iters", iters, 0)
    record_every = _int("record_every", record_every, 1)
    seed = _int("seed", seed, 0)
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if model == "relu" and ste != "relu":
        raise ValueError("ste applies to the binary model only")
    net = Model(model, ste)
    if algorithm == "auto":
        algorithm = "rvsm" if model == "relu" else "rvscgd"
    if algorithm not in alg.ALGORITHMS:
        raise ValueError(f"algorithm must be auto or one of {', '.join(alg.ALGORITHMS)}, "
                         f"got {algorithm!r}")
    if algorithm == "rvsm" and model != "relu":
        raise ValueError("algorithm rvsm uses the relu model's gradient; use rvscgd for binary")
    if algorithm == "rvscgd" and model != "binary":
        raise ValueError("algorithm rvscgd uses the binary model's coarse gradient")
    if normalize is None:
        normalize = algorithm == "rvscgd"
    pen = _penalty(penalty, penalty_params)
    if mode is None:
        mode = "train" if train_size is not None else "online" if samples is not None \
            else "population"
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "population" and (samples is not None or train_size is not None):
        raise ValueError("samples and train_size do not apply to population mode")
    if mode == "online":
        if samples is None:
            raise ValueError("samples (the minibatch size m) is required in online mode")
        if train_size is not None:
            raise ValueError("train_size applies to train mode, not online mode")
    if mode == "train" and train_size is None:
        raise ValueError("train_size is required in train mode")
    if samples is not None:
        samples = _int("samples", samples, 1)
    if train_size is not None:
        train_size = _int("train_size", train_size, 1)
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if tol is not None:
        tol = float(tol)
        if not math.isfinite(tol) or tol <= 0:
            raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    if not (math.isfinite(momentum) and 0 <= momentum < 1):
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    if reset_every is not None:
        reset_every = _int("reset_every", reset_every, 1)

    ws_np = _matrix("w_star", w_star)
    lam_np = _per_run("lam", lam, positive=False)
    beta_np = _per_run("beta", beta, positive=True)
    eta_np = _per_run("eta", eta, positive=True)
    w0_np = None if w0 is None else _matrix("w0", w0)
    sizes = {"w_star": ws_np.shape[0] if ws_np.ndim == 2 else 1,
             "lam": lam_np.size, "beta": beta_np.size, "eta": eta_np.size}
    if w0_np is not None:
        sizes["w0"] = w0_np.shape[0] if w0_np.ndim == 2 else 1
    if runs is not None:
        sizes["runs"] = _int("runs", runs, 1)
    b = _batch_size(sizes)
    d = ws_np.shape[-1]
    ws_np = np.broadcast_to(ws_np, (b, d)).copy()
    if np.any(np.all(ws_np == 0, axis=1)):
        raise ValueError("w_star must be nonzero")
    lam_np, beta_np, eta_np = (np.broadcast_to(x, (b,)).copy() for x in (lam_np, beta_np, eta_np))

    init_seed, noise_seed = (int(x) for x in np.random.SeedSequence(seed).generate_state(2))
    gen_init = torch.Generator(device="cpu").manual_seed(init_seed)
    if w0_np is None:
        direction = torch.randn(b, d, generator=gen_init, dtype=torch.float64).numpy()
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        w0_np = direction * np.linalg.norm(ws_np, axis=1, keepdims=True)
    else:
        if w0_np.shape[-1] != d:
            raise ValueError(f"w0 and w_star must have the same length, got {w0_np.shape[-1]} "
                             f"and {d}")
        w0_np = np.broadcast_to(w0_np, (b, d)).copy()
        if model == "relu" and np.any(np.all(w0_np == 0, axis=1)):
            raise ValueError("w0 must be nonzero for the relu model (the gradient is undefined "
                             "at w = 0)")
    fallback = torch.randn(b, d, generator=gen_init, dtype=torch.float64)
    for name, lim in (("limit_w", limit_w), ("limit_u", limit_u)):
        if lim is not None:
            arr = _matrix(name, lim)
            if arr.shape[-1] != d or (arr.ndim == 2 and arr.shape[0] not in (1, b)):
                raise ValueError(f"{name} must have shape ({d},) or ({b}, {d}), got {arr.shape}")

    def tens(x: Any) -> torch.Tensor:
        return torch.as_tensor(np.array(x, dtype=np.float64), dtype=dt).to(dev)

    w_star_t = tens(ws_np)
    gen_noise = torch.Generator(device=dev).manual_seed(noise_seed)
    oracle = make_oracle(net, mode, w_star_t, k, samples=samples, train_size=train_size,
                         sampler=sampler, generator=gen_noise, fallback=fallback.to(dev, dt))
    ctx = alg.Context(
        algorithm=algorithm, model=net, penalty=pen, w_star=w_star_t, k=k,
        lam=tens(lam_np)[:, None], beta=tens(beta_np)[:, None], eta=tens(eta_np)[:, None],
        prox=BatchedProx(pen, lam_np / beta_np, device=dev, dtype=dt),
        prox_pg=BatchedProx(pen, eta_np * lam_np, device=dev, dtype=dt)
        if algorithm == "proxgrad" else None,
        oracle=oracle, normalize=bool(normalize),
        options=alg.PracticalOptions(float(momentum), float(weight_decay), reset_every),
    )
    lim_w = None if limit_w is None else tens(np.broadcast_to(_matrix("limit_w", limit_w), (b, d)))
    lim_u = None if limit_u is None else tens(np.broadcast_to(_matrix("limit_u", limit_u), (b, d)))

    params = {
        "model": model, "ste": net.ste if model == "binary" else None,
        "penalty": pen.name, "penalty_params": {p: getattr(pen, p) for p in ("a", "p", "gamma",
                                                                            "alpha")
                                                if getattr(pen, p) is not None},
        "algorithm": algorithm, "normalize": bool(normalize), "k": k, "d": d, "runs": b,
        "lam": _compact(lam_np), "beta": _compact(beta_np), "eta": _compact(eta_np),
        "iters": iters, "record_every": record_every, "tol": tol,
        "dtype": str(dt).replace("torch.", ""), "device": str(dev),
        "oracle": describe(oracle), "prox_mode": ctx.prox.mode,
    }
    if algorithm == "practical":
        params["practical"] = {"momentum": momentum, "weight_decay": weight_decay,
                               "reset_every": reset_every}

    return Prepared(ctx=ctx, state=alg.init_state(ctx, tens(w0_np)), w0=w0_np, w_star=ws_np,
                    limit_w=lim_w, limit_u=lim_u, params=params, seed=seed, iters=iters,
                    record_every=record_every, tol=tol, device=dev, dtype=dt)


@dataclass
class Prepared:
    """A validated batch ready to run: context, initial state, parameters."""

    ctx: alg.Context
    state: alg.State
    w0: np.ndarray
    w_star: np.ndarray
    limit_w: torch.Tensor | None
    limit_u: torch.Tensor | None
    params: dict[str, Any]
    seed: int
    iters: int
    record_every: int
    tol: float | None
    device: torch.device
    dtype: torch.dtype


def run(*, progress: Progress | None = None, **kwargs: Any) -> Result:
    r"""Simulate ``B`` independent runs of an algorithm of :mod:`sim.algorithms`.

    Parameters (invalid values raise :class:`ValueError` naming the parameter):

    * ``w_star``: teacher, ``(d,)`` (shared) or ``(B, d)``; nonzero rows.  ``k``: patches.
    * ``lam`` (>= 0), ``beta`` (> 0), ``eta`` (> 0): scalars or ``(B,)`` per run.
    * ``model``: ``relu`` or ``binary`` (with ``ste``: relu, identity, clipped-relu).
    * ``penalty``: a name of :data:`theory.penalties.PENALTIES` (``penalty_params`` e.g.
      ``{"a": 1.0}`` for tl1, the default) or a :class:`~theory.penalties.Penalty`.
    * ``algorithm``: ``auto`` (rvsm for relu, rvscgd for binary), ``rvsm`` (relu),
      ``rvscgd`` (binary), ``proxgrad``, ``admm``, ``practical`` (with ``momentum``,
      ``weight_decay``, ``reset_every``).  ``normalize``: :math:`w \leftarrow w/|w|` after
      each step (default: on for rvscgd only).
    * ``w0``: ``(d,)`` or ``(B, d)``; default: uniform directions of radius :math:`|w^*|`
      drawn from ``seed``.  ``runs``: ``B`` when nothing else fixes it.
    * ``mode``: ``population`` (default), ``online`` (needs ``samples`` = minibatch ``m``;
      ``sampler`` projection or direct) or ``train`` (``train_size`` = n inputs drawn once;
      optional ``samples`` = minibatch size, else full batch).  Inferred when ``None``.
    * ``record_every``: trace period; step 0 and the last step are always recorded.
      ``tol``: stop when every run's residual is <= tol (or it failed).
    * ``limit_w``, ``limit_u``: predicted limits ``(d,)``/``(B, d)``; traces ``dist_w``, ``dist_u``.
    * ``device`` (any torch device; CUDA is checked), ``dtype``: float32 or float64.

    Traces (``(R, B)`` arrays): ``loss`` (population), ``lagrangian`` (the merit function of
    :mod:`sim.algorithms`), ``angle`` (:math:`\theta(w, w^*)`), ``angle_u``, ``nnz`` (nonzero
    entries of ``u``), ``norm_w``, ``residual`` (step norm; NaN at step 0), ``dist_w`` and
    ``dist_u`` if a limit is given, ``train_loss`` in ``train`` mode.
    """
    t_start = time.perf_counter()
    return execute(prepare(**kwargs), progress, t_start)


def execute(prep: Prepared, progress: Progress | None = None,
            t_start: float | None = None) -> Result:
    """Run a :class:`Prepared` batch to the end (see :func:`run`)."""
    if t_start is None:
        t_start = time.perf_counter()
    ctx, state, net, oracle = prep.ctx, prep.state, prep.ctx.model, prep.ctx.oracle
    w_star_t, k, tol, iters = ctx.w_star, ctx.k, prep.tol, prep.iters
    record_every, lim_w, lim_u = prep.record_every, prep.limit_w, prep.limit_u
    b, dev, dt = w_star_t.shape[0], prep.device, prep.dtype
    rec_steps: list[int] = []
    rec: dict[str, list[torch.Tensor]] = {}
    failed_at = torch.full((b,), -1, dtype=torch.int64, device=dev)
    conv_at = torch.full((b,), -1, dtype=torch.int64, device=dev)
    nan_b = torch.full((b,), float("nan"), dtype=dt, device=dev)

    def record(step: int, s: alg.State, prev: alg.State | None) -> None:
        nonlocal failed_at, conv_at
        loss = net.loss(s.w, w_star_t, k)
        vals = {
            "loss": loss,
            "lagrangian": alg.merit(ctx, s, loss),
            "angle": angle(s.w, w_star_t),
            "angle_u": angle(s.u, w_star_t),
            "nnz": (s.u != 0).sum(-1).to(dt),
            "norm_w": norm(s.w),
            "residual": nan_b if prev is None else alg.residual(ctx, prev, s),
        }
        if lim_w is not None:
            vals["dist_w"] = torch.linalg.vector_norm(s.w - lim_w, dim=-1)
        if lim_u is not None:
            vals["dist_u"] = torch.linalg.vector_norm(s.u - lim_u, dim=-1)
        tl = oracle.train_loss(s.w)
        if tl is not None:
            vals["train_loss"] = tl
        for key, v in vals.items():
            rec.setdefault(key, []).append(v.detach())
        rec_steps.append(step)
        bad = ~(torch.isfinite(s.w).all(-1) & torch.isfinite(s.u).all(-1))
        failed_at = torch.where(bad & (failed_at < 0), step, failed_at)
        if tol is not None:
            ok = (vals["residual"] <= tol) & (failed_at < 0)
            conv_at = torch.where(ok & (conv_at < 0), step, conv_at)

    def info() -> dict[str, Any]:
        loss = rec["loss"][-1]
        fin = loss[torch.isfinite(loss)]
        return {"failed": int((failed_at >= 0).sum()), "converged": int((conv_at >= 0).sum()),
                "runs": b, "median_loss": float(fin.median()) if fin.numel() else float("nan")}

    record(0, state, None)
    steps_done = 0
    with torch.no_grad():
        for t in range(iters):
            is_rec = (t + 1) % record_every == 0 or t + 1 == iters
            prev = state
            state = alg.step(ctx, state, t)
            steps_done = t + 1
            if is_rec:
                record(t + 1, state, prev)
                if progress is not None:
                    progress(t + 1, iters, info)
                if tol is not None and bool(((conv_at >= 0) | (failed_at >= 0)).all()):
                    break
    if steps_done and rec_steps[-1] != steps_done:  # pragma: no cover - loop records its last
        record(steps_done, state, None)

    failed_np = failed_at.cpu().numpy()
    conv_np = conv_at.cpu().numpy()
    status = ["failed" if f >= 0 else "converged" if c >= 0 else "max_iters"
              for f, c in zip(failed_np, conv_np)]
    conv_np = np.where(failed_np >= 0, -1, conv_np)
    traces = {key: torch.stack(v).cpu().to(torch.float64).numpy() for key, v in rec.items()}
    return Result(
        w=state.w.cpu().to(torch.float64).numpy(), u=state.u.cpu().to(torch.float64).numpy(),
        w0=prep.w0, w_star=prep.w_star, status=status, converged_step=conv_np, failed_step=failed_np,
        steps=steps_done, trace_steps=np.array(rec_steps, dtype=np.int64), traces=traces,
        params=prep.params, seed=prep.seed, provenance=provenance(dev),
        elapsed_s=time.perf_counter() - t_start,
    )


def _compact(x: np.ndarray) -> float | list[float]:
    """A per-run parameter for the record: a float when all runs share it."""
    return float(x[0]) if np.all(x == x[0]) else [float(v) for v in x]
