"""``rvsm report``: run every registered statement and write the verification report.

Output in ``DIR`` (default ``report/``): ``report.md`` (one section per statement with its
status and evidence), ``summary.json`` (``{"statements": [{"name", "status", "evidence"}]}``)
and PNG figures.  Files are written atomically (temporary file, then rename), so an
interrupted run never leaves a half-written report.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sim.results import atomic_write, jsonable
from theory import __version__, relu
from theory.statements import Evidence, Statement, load_all


def _json(obj: Any, indent: int | None = 2) -> bytes:
    """JSON of evidence: NumPy and NaN handled by :func:`sim.results.jsonable`, the rest
    (SymPy expressions, mpf) by their text."""
    return json.dumps(jsonable(obj), indent=indent, default=str).encode()


def _figure_relu_landscape(out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k_ = 3
    xs = np.linspace(-2.0, 2.0, 301)
    ys = np.linspace(-1.5, 1.5, 241)
    gx, gy = np.meshgrid(xs, ys)
    w = np.stack([gx, gy], axis=-1)
    w_star = np.array([1.0, 0.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = relu.loss(w.reshape(-1, 2), w_star, k_).reshape(gx.shape)
    saddle = float(relu.critical_points()[1].scale.subs(relu.k, k_))
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=120)
    cs = ax.contourf(gx, gy, np.log10(z + 1e-6), levels=30, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="log10 loss")
    ax.plot([1], [0], "w*", ms=14, label="w* (global min)")
    ax.plot([saddle], [0], "rs", label=f"saddle -(b/a)w* = {saddle:.3f} w*")
    ax.plot([0], [0], "k^", label="0 (non-differentiable max)")
    ax.set_xlabel("component along w*")
    ax.set_ylabel("orthogonal component")
    ax.set_title(f"ReLU population loss, k = {k_}, |w*| = 1")
    ax.legend(loc="lower left", fontsize=8)
    name = "relu_landscape.png"
    fig.savefig(out / f".{name}.tmp.png")
    plt.close(fig)
    os.replace(out / f".{name}.tmp.png", out / name)
    return name


def _figure_random_start(out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory.geometry import angle

    rng = np.random.default_rng(12)
    deltas = np.linspace(0.0, np.pi / 2, 41)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for d, color in ((2, "C0"), (3, "C1"), (10, "C2"), (50, "C3")):
        formula = [float(relu.random_start_probability(float(x), d)) for x in deltas]
        ang = angle(rng.standard_normal((200_000, d)), np.eye(d)[0])
        sampled = [float(np.mean(ang > np.pi - x)) for x in deltas]
        ax.plot(deltas, formula, color=color, label=f"d = {d}: (1/2) I_(sin^2 delta)((d-1)/2, 1/2)")
        ax.plot(deltas[::4], sampled[::4], "o", color=color, ms=4)
    ax.plot(deltas, deltas / np.pi, "k--", lw=1, label="delta / pi")
    ax.set_xlabel("delta")
    ax.set_ylabel("P[angle(w0, w*) > pi - delta]")
    ax.set_title("Bad random starts: formula (lines) vs 2e5 samples (dots)")
    ax.legend(fontsize=7)
    name = "random_start_probability.png"
    fig.savefig(out / f".{name}.tmp.png")
    plt.close(fig)
    os.replace(out / f".{name}.tmp.png", out / name)
    return name


FIGURES: list[tuple[str, Callable[[Path], str]]] = [
    ("The ReLU loss in the plane of w and w*, with its critical points", _figure_relu_landscape),
    ("Probability that a uniform start is within delta of the bad direction -w*",
     _figure_random_start),
]


def load_registry() -> dict[str, Statement]:
    """Every statement: theory's, and the simulator's checks when they exist."""
    extra = ("sim.checks",) if importlib.util.find_spec("sim.checks") is not None else ()
    return load_all(extra)


def write_report(out: Path, profile: str = "quick", progress: bool = True) -> int:
    """Run the registry, write the report into ``out``; return the number of failed statements."""
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    registry = load_registry()
    names = sorted(registry)
    for i, name in enumerate(names, 1):
        st = registry[name]
        t0 = time.perf_counter()
        try:
            status, ev = st.run(profile)
        except Exception as exc:  # a crashing check is a failed statement, not a crashed report
            status, ev = "failed", Evidence(False, {"error": f"{type(exc).__name__}: {exc}"})
        secs = time.perf_counter() - t0
        if progress:
            print(f"[{i}/{len(names)}] {name}: {status} ({secs:.1f} s)", file=sys.stderr)
        rows.append({"name": name, "status": status, "source": st.source, "note": st.note,
                     "hypotheses": st.hypotheses, "conclusion": st.conclusion,
                     "seconds": round(secs, 3),
                     "evidence": {**ev.details, "counterexample": ev.counterexample}})
        atomic_write(out / "summary.json", _json(
            {"version": __version__, "profile": profile, "partial": True, "statements": rows}))
    figures = [(caption, fn(out)) for caption, fn in FIGURES]
    summary = {"version": __version__, "profile": profile, "statements": rows}
    atomic_write(out / "summary.json", _json(summary))
    atomic_write(out / "report.md", _markdown(rows, figures, profile).encode())
    return sum(r["status"] == "failed" for r in rows)


def _markdown(rows: list[dict[str, Any]], figures: list[tuple[str, str]], profile: str) -> str:
    counts = {s: sum(r["status"] == s for r in rows) for s in ("verified", "refuted", "failed")}
    lines = [
        f"# rvsm-theory verification report (profile `{profile}`, version {__version__})", "",
        f"{counts['verified']} verified, {counts['refuted']} refuted (a counterexample was "
        f"expected and found), {counts['failed']} failed.", "",
        "| statement | status | source | proof note |", "|---|---|---|---|",
    ]
    lines += [f"| `{r['name']}` | {r['status']} | {r['source']} | "
              f"[{r['note']}](../proofs_notes/{r['note']}) |" for r in rows]
    for r in rows:
        lines += ["", f"## `{r['name']}` — {r['status']}", "",
                  f"- hypotheses: {r['hypotheses']}", f"- conclusion: {r['conclusion']}",
                  f"- time: {r['seconds']} s", "", "```json",
                  _json(r["evidence"]).decode(), "```"]
    lines += ["", "## Figures", ""]
    lines += [f"![{cap}]({name})\n\n*{cap}*\n" for cap, name in figures]
    return "\n".join(lines) + "\n"
