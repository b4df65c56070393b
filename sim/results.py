"""Simulation results: final iterates, traces, status, parameters and provenance.

Saved atomically (a temporary file in the target directory, flushed, fsynced and renamed
over the target), as JSON (``.json``: human-readable, NaN/inf written as ``null``) or as
NumPy ``.npz`` (any other suffix; the metadata is a JSON string inside).  :meth:`Result.load`
reads both back.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Result", "provenance", "atomic_write", "jsonable"]

STATUSES = ("converged", "max_iters", "failed")


@dataclass
class Result:
    """Outcome of :func:`sim.run` for a batch of ``B`` runs in dimension ``d``.

    ``w``, ``u`` (final iterates), ``w0``, ``w_star``: float64 arrays ``(B, d)``.
    ``status[b]``: ``converged`` (residual <= tol), ``max_iters`` or ``failed`` (NaN/inf).
    ``converged_step``/``failed_step``: the record step where that was first seen, -1 if never.
    ``trace_steps``: the recorded step numbers ``(R,)``; ``traces[name]``: ``(R, B)`` arrays.
    ``steps``: iterations performed (all runs advance together).
    """

    w: np.ndarray
    u: np.ndarray
    w0: np.ndarray
    w_star: np.ndarray
    status: list[str]
    converged_step: np.ndarray
    failed_step: np.ndarray
    steps: int
    trace_steps: np.ndarray
    traces: dict[str, np.ndarray]
    params: dict[str, Any]
    seed: int
    provenance: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = float("nan")

    @property
    def runs(self) -> int:
        return int(self.w.shape[0])

    @property
    def failed(self) -> np.ndarray:
        return np.array([s == "failed" for s in self.status])

    def final(self, name: str) -> np.ndarray:
        """Last recorded value of a trace, per run."""
        return self.traces[name][-1]

    # ---------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per run its final ``w`` and ``u``, status and traces."""
        runs = []
        for b in range(self.runs):
            runs.append({
                "w": self.w[b].tolist(), "u": self.u[b].tolist(), "w0": self.w0[b].tolist(),
                "w_star": self.w_star[b].tolist(), "status": self.status[b],
                "converged_step": int(self.converged_step[b]),
                "failed_step": int(self.failed_step[b]),
                "trace": {k: v[:, b].tolist() for k, v in self.traces.items()},
            })
        return jsonable({
            "params": self.params, "seed": self.seed, "steps": self.steps,
            "elapsed_s": self.elapsed_s, "provenance": self.provenance,
            "trace_steps": self.trace_steps.tolist(), "runs": runs,
        })

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Result:
        runs = obj["runs"]

        def arr(key: str) -> np.ndarray:
            return np.array([[np.nan if x is None else x for x in r[key]] for r in runs],
                            dtype=np.float64)

        names = list(runs[0]["trace"]) if runs else []
        traces = {n: np.array([[np.nan if x is None else x for x in r["trace"][n]] for r in runs],
                              dtype=np.float64).T for n in names}
        return cls(
            w=arr("w"), u=arr("u"), w0=arr("w0"), w_star=arr("w_star"),
            status=[r["status"] for r in runs],
            converged_step=np.array([r["converged_step"] for r in runs], dtype=np.int64),
            failed_step=np.array([r["failed_step"] for r in runs], dtype=np.int64),
            steps=int(obj["steps"]), trace_steps=np.array(obj["trace_steps"], dtype=np.int64),
            traces=traces, params=obj["params"], seed=int(obj["seed"]),
            provenance=obj.get("provenance", {}),
            elapsed_s=float("nan") if obj.get("elapsed_s") is None else obj["elapsed_s"],
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically; ``.json`` as JSON, anything else as ``.npz``."""
        path = Path(path)
        if path.suffix == ".json":
            data = (json.dumps(self.to_dict(), allow_nan=False) + "\n").encode()
        else:
            buf = io.BytesIO()
            meta = jsonable({
                "params": self.params, "seed": self.seed, "steps": self.steps,
                "status": self.status, "elapsed_s": self.elapsed_s,
                "provenance": self.provenance, "trace_names": list(self.traces),
            })
            arrays: dict[str, Any] = {f"trace_{k}": v for k, v in self.traces.items()}
            np.savez(buf, w=self.w, u=self.u, w0=self.w0, w_star=self.w_star,
                     converged_step=self.converged_step, failed_step=self.failed_step,
                     trace_steps=self.trace_steps, meta=np.array(json.dumps(meta)), **arrays)
            data = buf.getvalue()
        atomic_write(path, data)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Result:
        path = Path(path)
        if path.suffix == ".json":
            return cls.from_dict(json.loads(path.read_text()))
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return cls(
                w=z["w"], u=z["u"], w0=z["w0"], w_star=z["w_star"], status=meta["status"],
                converged_step=z["converged_step"], failed_step=z["failed_step"],
                steps=int(meta["steps"]), trace_steps=z["trace_steps"],
                traces={n: z[f"trace_{n}"] for n in meta["trace_names"]},
                params=meta["params"], seed=int(meta["seed"]), provenance=meta["provenance"],
                elapsed_s=float("nan") if meta["elapsed_s"] is None else meta["elapsed_s"],
            )


def jsonable(obj: Any) -> Any:
    """Recursively: NumPy scalars/arrays to Python, NaN/inf to ``None``."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (readers see the old file or the new, never half)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ValueError(f"out: directory {str(directory)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@functools.cache
def _git_revision() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip() != ""
        return {"git_revision": rev, "git_dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"git_revision": None, "git_dirty": None}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def provenance(device: Any = None) -> dict[str, Any]:
    """Versions, git revision, machine and time (UTC) for a saved result."""
    import torch

    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "versions": {d: _version(d) for d in ("rvsm-theory", "torch", "numpy", "sympy", "mpmath",
                                              "array-api-compat")},
        **_git_revision(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "time_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if device is not None:
        dev = torch.device(device)
        info["device"] = str(dev)
        if dev.type == "cuda":
            info["device_name"] = torch.cuda.get_device_name(dev)
    return info
