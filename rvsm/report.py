"""``rvsm report``: run every registered statement and write the verification report.

Output in ``DIR`` (default ``report/``): ``report.md`` (a table of counts per status, then one
section per statement with its status and evidence), ``summary.json`` (``{"counts", "statements":
[{"name", "status", "certificate", "tested", "rigorous", "evidence", ...}]}``), the certificates
``certificates/<name>.json`` and PNG figures.  Statuses are the registry's
(:data:`theory.statements.Status`): ``certified``, ``tested``, ``refuted``, ``failed``.  Files
are written atomically (temporary file, then rename), so an interrupted run never leaves a
half-written report.
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
from theory.statements import STATUSES, Evidence, Statement, load_all


def _json(obj: Any, indent: int | None = 2) -> bytes:
    """JSON of evidence: NumPy and NaN handled by :func:`sim.results.jsonable`, the rest
    (SymPy expressions, mpf) by their text."""
    return json.dumps(jsonable(obj), indent=indent, default=str).encode()


def _save(fig: Any, out: Path, name: str) -> str:
    """Write ``fig`` to ``out/name`` atomically (temporary file, then rename) and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(out / f".{name}.tmp.png")
    plt.close(fig)
    os.replace(out / f".{name}.tmp.png", out / name)
    return name


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
    return _save(fig, out, "relu_landscape.png")


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
    return _save(fig, out, "random_start_probability.png")


def _figure_trajectories(out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import sim
    from theory.limits import fixed_points

    w_star, k, lam, beta, eta = np.array([1.0, 0.5, 0.0, -0.3]), 4, 0.05, 1.0, 0.5
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    for pen, color in (("l1", "C0"), ("l0", "C1"), ("tl1", "C2")):
        params = {"a": 1.0} if pen == "tl1" else {}
        fs = fixed_points("relu", w_star, k, pen, lam, beta, eta=eta, **params)
        attracting = [fp for fp in fs if fp.attracting]
        limits = np.array([fp.u_bar for fp in attracting], dtype=float)
        res = sim.run(w_star=w_star, runs=16, seed=3, k=k, lam=lam, beta=beta, eta=eta,
                      penalty=pen, penalty_params=params, iters=400, record_every=1)
        # the attracting fixed point reported by the calculator nearest to each run's end
        nearest = np.argmin(np.max(np.abs(res.u[:, None] - limits[None]), -1), axis=1)
        steps = res.trace_steps
        lag = res.traces["lagrangian"]
        for b in range(res.runs):
            axes[1].semilogy(steps, lag[:, b] - lag[-1, b] + 1e-16, color=color, alpha=0.3)
        axes[0].plot(steps, res.traces["angle_u"], color=color, alpha=0.3)
        for j in set(nearest.tolist()):
            axes[0].axhline(float(attracting[j].angle), color=color, ls="--", lw=0.8)
        axes[0].plot([], [], color=color, label=f"{pen}: {len(limits)} attracting limit(s)")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("angle(u_t, w*)")
    axes[0].set_title("16 random starts; dashed: calculator's limits")
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("L_beta(u_t, w_t) - final value")
    axes[1].set_title("L_beta decreases monotonically (eta below the bound)")
    fig.suptitle(f"RVSM, w* = {w_star.tolist()}, k = {k}, lam = {lam}, beta = {beta}, eta = {eta}")
    fig.tight_layout()
    return _save(fig, out, "trajectories.png")


def _figure_bound_tightness(out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory.statements.limits import bound_tightness_sample

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    markers = {"l1": "o", "l0": "s", "tl1": "^"}
    floor = 1e-5  # exact recoveries (l0: actual ~ 1e-16) are drawn here, not at 1e-16
    exact = []
    for model, color in (("relu", "C0"), ("binary", "C3")):
        rows = bound_tightness_sample(model, 40, 4)["rows"]
        exact += [r[1] for r in rows if r[2] < 1e-12]
        for pen, marker in markers.items():
            sel = [r for r in rows if r[0] == pen]
            if sel:
                b, a = np.array([(r[1], r[2]) for r in sel]).T
                med = np.median(a / b)
                keep = a >= 1e-12
                ax.loglog(b[keep], a[keep], marker, color=color, ms=4, alpha=0.6, mfc="none",
                          label=f"{model} {pen}: median actual/bound {med:.2f}")
    if exact:
        ax.loglog(exact, np.full(len(exact), floor), "kv", ms=4, alpha=0.5,
                  label=f"exact recovery (actual < 1e-12; {len(exact)} points), drawn at {floor:g}")
    lim = ax.get_xlim()
    ax.plot(lim, lim, "k--", lw=1, label="actual = bound")
    ax.set_xlabel("bound on |w_bar - w*| (binary: to w*^)")
    ax.set_ylabel("actual |w_bar - w*|")
    ax.set_title("Error bounds against the actual distance (statement\n"
                 "limits.error_bound_tightness: 40 random instances per model, all branches)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, out, "bound_tightness.png")


LIMIT_MAP_PENALTIES: tuple[tuple[str, dict[str, float]], ...] = (
    ("l1", {}), ("l0", {}), ("tl1", {"a": 1.0}))


def _figure_limit_map(out: Path) -> str:
    """w*_i -> (w_bar_i, u_bar_i) at the calculator's attracting fixed points (d = 81)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory.limits import fixed_points

    w_star, k, lam, beta, eta = np.linspace(-2.0, 2.0, 81), 4, 0.05, 1.0, 0.5
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), dpi=110, sharey=True)
    for ax, (pen, params) in zip(axes, LIMIT_MAP_PENALTIES):
        fs = fixed_points("relu", w_star, k, pen, lam, beta, eta=eta, outside=False, **params)
        attracting = sorted((fp for fp in fs if fp.attracting), key=lambda fp: fp.lagrangian)
        for fp in attracting[1:]:
            ax.plot(w_star, np.array(fp.u_bar, dtype=float), color="0.75", lw=0.8)
        if attracting:
            best = attracting[0]
            ax.plot(w_star, np.array(best.w_bar, dtype=float), "C0.", ms=4, label="w_bar")
            ax.plot(w_star, np.array(best.u_bar, dtype=float), "C3-", lw=1.5,
                    label=f"u_bar (smallest L_beta; sparsity {best.sparsity:.2f})")
        ax.plot(w_star, w_star, "k:", lw=0.8, label="identity")
        if len(attracting) > 1:
            ax.plot([], [], color="0.75", label=f"u_bar of the other {len(attracting) - 1} "
                                                 "attracting fixed points")
        ax.set_title(f"{pen}{' a = 1' if params else ''}: {len(attracting)} attracting "
                     "fixed point(s)", fontsize=10)
        ax.set_xlabel("w*_i")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("limit coordinate (clipped to [-3.5, 3.5])")
    axes[0].set_ylim(-3.5, 3.5)
    fig.suptitle(f"The limit map of ReLU RVSM, w* = 81 points on [-2, 2], k = {k}, "
                 f"lam = {lam}, beta = {beta}, eta = {eta} (calculator)", fontsize=10)
    fig.tight_layout()
    return _save(fig, out, "limit_map.png")


def _figure_hysteresis(out: Path) -> str:
    """Sparsity of every attracting fixed point against lam (calculator), with simulated
    continuations: lam swept up, then down, each run warm-started at the previous limit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import sim
    from theory.limits import sparsity_path

    w_star = np.linspace(0.25, 2.0, 12) * np.where(np.arange(12) % 2, -1.0, 1.0)
    k, beta, eta = 4, 1.0, 0.5
    lams = np.geomspace(0.01, 1.0, 24)
    pens: tuple[tuple[str, dict[str, float]], ...] = (("l1", {}), ("l0", {}), ("tl1", {"a": 0.25}))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), dpi=110, sharey=True)
    for ax, (pen, params) in zip(axes, pens):
        path = sparsity_path("relu", w_star.tolist(), k, pen, lams.tolist(), beta,
                             a=params.get("a"))
        xs = [p.lam for p in path for _ in p.sparsities]
        ys = [s for p in path for s in p.sparsities]
        ax.semilogx(xs, ys, "o", color="0.6", ms=7, mfc="none",
                    label="fixed points with positive curvature (calculator)")
        w0, sweeps = w_star.copy(), {}
        for name, grid in (("up", lams), ("down", lams[::-1])):
            sps = []
            for lam in grid:
                res = sim.run(w_star=w_star, w0=w0, k=k, lam=float(lam), beta=beta, eta=eta,
                              penalty=pen, penalty_params=params, iters=4000, tol=1e-12,
                              record_every=50)
                w0 = res.w[0]
                sps.append(float(np.mean(res.u[0] == 0)))
            sweeps[name] = (grid, sps)
        ax.semilogx(*sweeps["up"], "C0.-", label="simulation, lam increasing (warm start)")
        ax.semilogx(*sweeps["down"], "C3.--", label="simulation, lam decreasing (warm start)")
        ax.set_title(f"{pen}{' a = ' + str(params['a']) if params else ''}", fontsize=10)
        ax.set_xlabel("lam")
    axes[0].legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("sparsity of u")
    fig.suptitle(f"Hysteresis: ReLU RVSM, d = 12, k = {k}, beta = {beta}, eta = {eta}. l0 and "
                 "TL1 (a = 0.25) have several limits per lam and the path depends on the sweep's "
                 "direction;\nl1 has one, except near total sparsity (A <= 0: limits.md)",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, out, "hysteresis.png")


EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "digits"


def _experiment_section(out: Path) -> str:
    """The real-data trade-off (issue 8) from its saved results: 21 minutes to recompute
    (`rvsm experiment tradeoff --out experiments/digits`), so the report reads them."""
    results = EXPERIMENT / "tradeoff.json"
    if not results.is_file():
        return ""
    from sim.experiments.sweep import plot_tradeoff

    plot_tradeoff(str(results), str(out / "tradeoff.png"))
    table = (EXPERIMENT / "tradeoff.md").read_text()
    return ("\n## Real data: accuracy against sparsity (handwritten digits)\n\n"
            "Saved results in `experiments/digits/` (recompute with `rvsm experiment tradeoff "
            "--out experiments/digits`, about 21 minutes on 2 cores).\n\n"
            "![accuracy against sparsity](tradeoff.png)\n\n" + table)


FIGURES: list[tuple[str, Callable[[Path], str]]] = [
    ("The ReLU loss in the plane of w and w*, with its critical points", _figure_relu_landscape),
    ("Probability that a uniform start is within delta of the bad direction -w*",
     _figure_random_start),
    ("RVSM trajectories against the calculator's limits, and L_beta over time",
     _figure_trajectories),
    ("Error bounds against the actual distance of the limit to the teacher",
     _figure_bound_tightness),
    ("The limit map w* -> (w_bar, u_bar) for each penalty", _figure_limit_map),
    ("Hysteresis branches: the limit's sparsity against lam, swept up and down",
     _figure_hysteresis),
]


def load_registry() -> dict[str, Statement]:
    """Every statement: theory's, and the simulator's checks when they exist."""
    extra = ("sim.checks",) if importlib.util.find_spec("sim.checks") is not None else ()
    return load_all(extra)


def write_report(out: Path, profile: str = "quick", progress: bool = True,
                 certify: bool = True) -> int:
    """Run the registry, write the report into ``out``; return the number of failed statements.

    Statements with a claim in :mod:`theory.certify` are also certified (``certify``): the
    certificate goes to ``out/certificates/<name>.json`` and is replayed by the independent
    checker; one progress line per certification goes to stderr.
    """
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    registry = load_registry()
    names = sorted(registry)
    cert_dir = out / "certificates"
    for i, name in enumerate(names, 1):
        st = registry[name]
        t0 = time.perf_counter()
        try:
            status, ev = st.run(profile, certify=certify, certify_dir=cert_dir)
        except Exception as exc:  # a crashing check is a failed statement, not a crashed report
            status, ev = "failed", Evidence(False, {"error": f"{type(exc).__name__}: {exc}"})
        secs = time.perf_counter() - t0
        row = _row(st, status, ev, secs, out)
        if progress:
            if row["certificate"] is not None:
                print(f"[{i}/{len(names)}] {name}: certification {_cert_line(row['certificate'])}",
                      file=sys.stderr)
            print(f"[{i}/{len(names)}] {name}: {status} ({secs:.1f} s)", file=sys.stderr)
        rows.append(row)
        atomic_write(out / "summary.json", _json(
            {"version": __version__, "profile": profile, "partial": True, "statements": rows}))
    figures = [(caption, fn(out)) for caption, fn in FIGURES]
    experiment = _experiment_section(out)
    summary = {"version": __version__, "profile": profile, "counts": _counts(rows),
               "statements": rows}
    atomic_write(out / "summary.json", _json(summary))
    atomic_write(out / "report.md", (_markdown(rows, figures, profile) + experiment).encode())
    return sum(r["status"] == "failed" for r in rows)


def _row(st: Statement, status: str, ev: Evidence, secs: float, out: Path) -> dict[str, Any]:
    """One ``summary.json`` entry: the status in the registry's vocabulary, the certificate
    (path relative to the report directory), what ``tested`` counted, and the evidence."""
    details = ev.details
    cert = details.get("certification")
    certificate = None
    if cert is not None:
        path = cert.get("path")
        if path is not None:
            p, base = Path(path).resolve(), out.resolve()
            path = str(p.relative_to(base)) if p.is_relative_to(base) else str(p)
        certificate = {"path": path, "status": cert.get("status"), "reason": cert.get("reason"),
                       "leaves": cert.get("leaves"), "seconds": round(cert.get("seconds", 0), 3),
                       "checker_ok": cert.get("checker_ok"),
                       "checker_reasons": cert.get("checker_reasons", []),
                       "checker_seconds": round(cert.get("checker_seconds", 0), 3)}
    refutation = details.get("refutation")
    return {"name": st.name, "status": status, "expected": st.expected, "source": st.source,
            "note": st.note, "hypotheses": st.hypotheses, "conclusion": st.conclusion,
            "seconds": round(secs, 3), "status_reason": details.get("status_reason"),
            "certificate": certificate, "tested": details.get("tested"),
            "rigorous": None if refutation is None else bool(refutation.get("rigorous")),
            "evidence": {**details, "counterexample": ev.counterexample}}


def _cert_line(c: dict[str, Any]) -> str:
    checker = {True: "checker ok", False: "checker rejected", None: "not replayed"}
    return (f"{c['status']} ({c['leaves']} leaves, {c['seconds']:.1f} s), "
            f"{checker[c['checker_ok']]}" + (f": {c['reason']}" if c.get("reason") else ""))


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    counts["refuted_rigorous"] = sum(r["status"] == "refuted" and bool(r.get("rigorous"))
                                     for r in rows)
    return counts


def _tested_text(t: dict[str, Any] | None) -> str:
    if not t:
        return ""
    text = f"{t['draws']} draws, {t['pinned']} pinned"
    sizes = [s.get("samples") or s.get("runs") for s in t.get("pinned_sizes", []) if s]
    sizes = [s for s in sizes if s is not None]
    if sizes:
        text += f" (sample sizes {', '.join(str(s) for s in sizes)})"
    return text


def _evidence_cell(r: dict[str, Any]) -> str:
    """The short reason for a row's status: certificate, N, rigour, or why it failed."""
    c = r.get("certificate")
    if r["status"] == "certified" and c is not None:
        where = f"[{c['path']}]({c['path']})" if c.get("path") else "(not written)"
        return f"certificate {where}: {c['leaves']} leaves, {c['seconds']:.1f} s"
    if r["status"] == "tested":
        text = _tested_text(r.get("tested"))
        return text + (f"; {r['status_reason']}" if r.get("status_reason") else "")
    if r["status"] == "refuted":
        rig = (r["evidence"].get("refutation") or {})
        if r.get("rigorous"):
            return f"counterexample, rigorous ({rig.get('method')})"
        return f"counterexample, not rigorous ({rig.get('reason') or 'no reason'})"
    return str(r.get("status_reason") or r["evidence"].get("error") or "counterexample found")


def _markdown(rows: list[dict[str, Any]], figures: list[tuple[str, str]], profile: str) -> str:
    counts = _counts(rows)
    lines = [
        f"# rvsm-theory verification report (profile `{profile}`, version {__version__})", "",
        "| status | statements | meaning |", "|---|---|---|",
        f"| certified | {counts['certified']} | proved on the stated domain; certificate "
        "replayed by the independent checker |",
        f"| tested | {counts['tested']} | no counterexample in N draws (N per statement below) |",
        f"| refuted | {counts['refuted']} (of which rigorous: {counts['refuted_rigorous']}) | "
        "counterexample recorded, as expected; rigorous when checked in interval arithmetic |",
        f"| failed | {counts['failed']} | expected to hold, but a counterexample was found |",
        "",
        "| statement | status | evidence | source | proof note |", "|---|---|---|---|---|",
    ]
    lines += [f"| `{r['name']}` | {r['status']} | {_evidence_cell(r).replace('|', chr(92) + '|')} "
              f"| {r['source']} | "
              f"[{r['note']}](../proofs_notes/{r['note']}) |" for r in rows]
    for r in rows:
        lines += ["", f"## `{r['name']}` — {r['status']}", "",
                  f"- hypotheses: {r['hypotheses']}", f"- conclusion: {r['conclusion']}"]
        c = r.get("certificate")
        if c is not None:
            where = f"[{c['path']}]({c['path']})" if c.get("path") else "not written"
            lines.append(f"- certificate: {where}, {c['status']}, {c['leaves']} leaves, "
                         f"{c['seconds']:.1f} s; independent checker: "
                         + {True: "accepted", False: "rejected", None: "not replayed"}[
                             c["checker_ok"]]
                         + (f" ({'; '.join(c['checker_reasons'])})" if c["checker_reasons"]
                            else ""))
        if r.get("tested"):
            lines.append(f"- tested: {r['tested']['counts']}")
        if r["status"] == "refuted":
            lines.append(f"- rigorous: {'yes' if r.get('rigorous') else 'no'}")
        if r.get("status_reason"):
            lines.append(f"- status reason: {r['status_reason']}")
        lines += [f"- time: {r['seconds']} s", "", "```json", _json(r["evidence"]).decode(),
                  "```"]
    lines += ["", "## Figures", ""]
    lines += [f"![{cap}]({name})\n\n*{cap}*\n" for cap, name in figures]
    return "\n".join(lines) + "\n"
