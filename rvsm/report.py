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
import sys
import time
from pathlib import Path
from typing import Any

from rvsm.figures import FIGURES, figure_tradeoff
from sim.results import atomic_write, jsonable
from theory import __version__
from theory.statements import STATUSES, Evidence, Statement, load_all


def _json(obj: Any, indent: int | None = 2) -> bytes:
    """JSON of evidence: NumPy and NaN handled by :func:`sim.results.jsonable`, the rest
    (SymPy expressions, mpf) by their text."""
    return json.dumps(jsonable(obj), indent=indent, default=str).encode()


EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "digits"


def _experiment_section(out: Path) -> str:
    """The real-data trade-off (issue 8) from its saved results: 21 minutes to recompute
    (`rvsm experiment tradeoff --out experiments/digits`), so the report reads them."""
    results = EXPERIMENT / "tradeoff.json"
    if not results.is_file():
        return ""
    figure_tradeoff(out, results)
    table = (EXPERIMENT / "tradeoff.md").read_text()
    return ("\n## Real data: accuracy against sparsity (handwritten digits)\n\n"
            "Saved results in `experiments/digits/` (recompute with `rvsm experiment tradeoff "
            "--out experiments/digits`, about 21 minutes on 2 cores).\n\n"
            "![accuracy against sparsity](tradeoff.png)\n\n" + table)


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
