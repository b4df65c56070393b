"""``rvsm report``: run every registered statement and write the verification report.

Output in ``DIR`` (default ``report/``):

* ``report.md``: the findings first (what holds, what fails, under which hypotheses, with the
  key numbers; generated from this run's evidence), the status table, then one section per
  statement: a one-sentence verdict, hypotheses and conclusion in LaTeX, the key numbers, the
  counterexample in readable form, the figure that shows it, and links to its proof note,
  certificate and evidence file; the real-data trade-off last.
* ``report.html``: the same page, self-contained (formulas as MathML, figures embedded).
* ``summary.json`` (``{"counts", "statements": [{"name", "status", "certificate", "tested",
  "rigorous", "evidence", ...}], "figures", "real_data"}``: the full evidence) and
  ``evidence/<name>.json`` per statement; the certificates ``certificates/<name>.json``.
* the PNG figures, and ``notes/``: the proof notes the sections link to (Markdown and HTML),
  so every link is valid wherever ``DIR`` is.

Statuses are the registry's (:data:`theory.statements.Status`): ``certified``, ``tested``,
``refuted``, ``failed``.  Files are written atomically (temporary file, then rename) with the
user's umask, so an interrupted run never leaves a half-written report.  The proof notes and the
saved real-data results are package data (``rvsm/data/``), so an installed package writes the
same report as a source checkout.  Progress (statements, certification, figures, real data,
files) goes to stderr.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rvsm.figures import FIGURES, TRADEOFF_METHODS, figure_tradeoff
from rvsm.report_text import THEMES, effect, key_numbers, num, presentation, vec
from rvsm.report_text import P as PRESENTED
from sim.results import jsonable
from theory import __version__
from theory.statements import STATUSES, Evidence, Statement, load_all

DATA = Path(__file__).resolve().parent / "data"
"""Package data: ``proofs_notes/`` and ``digits/`` (the saved real-data results)."""
NOTES = DATA / "proofs_notes"
EXPERIMENT = DATA / "digits"
RECOMPUTE = "rvsm experiment tradeoff --out experiments/digits"
"""Recomputes the saved real-data results (about 21 minutes on 2 cores)."""

Row = dict[str, Any]


def _json(obj: Any, indent: int | None = 2) -> bytes:
    """JSON of evidence: NumPy and NaN handled by :func:`sim.results.jsonable`, the rest
    (SymPy expressions, mpf) by their text."""
    return json.dumps(jsonable(obj), indent=indent, default=str).encode()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the mode a plain ``open`` would give."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def load_registry() -> dict[str, Statement]:
    """Every statement: theory's, and the simulator's checks when they exist."""
    extra = ("sim.checks",) if importlib.util.find_spec("sim.checks") is not None else ()
    return load_all(extra)


# ---------------------------------------------------------------- the run


def write_report(out: Path, profile: str = "quick", progress: bool = True,
                 certify: bool = True) -> int:
    """Run the registry, write the report into ``out``; return the number of failed statements.

    Statements with a claim in :mod:`theory.certify` are also certified (``certify``): the
    certificate goes to ``out/certificates/<name>.json`` and is replayed by the independent
    checker; one progress line per certification goes to stderr.
    """
    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    registry = load_registry()
    names = sorted(registry)
    cert_dir = out / "certificates"
    _say(progress, f"checking {len(names)} statements (profile {profile}"
         f"{', with certification' if certify else ', no certification'}) into {out}/")
    plain = [n for n in names if n not in PRESENTED]
    if plain:
        _say(progress, f"{len(plain)} statement(s) shown from their registry text (no LaTeX "
             f"in rvsm/report_text.py yet): {', '.join(plain)}")
    for i, name in enumerate(names, 1):
        st = registry[name]
        t0 = time.perf_counter()
        try:
            status, ev = st.run(profile, certify=certify, certify_dir=cert_dir)
        except Exception as exc:  # a crashing check is a failed statement, not a crashed report
            status, ev = "failed", Evidence(False, {"error": f"{type(exc).__name__}: {exc}"})
        secs = time.perf_counter() - t0
        row = _row(st, status, ev, secs, out)
        if row["certificate"] is not None:
            _say(progress,
                 f"[{i}/{len(names)}] {name}: certification {_cert_line(row['certificate'])}")
        _say(progress, f"[{i}/{len(names)}] {name}: {status} ({secs:.1f} s)")
        rows.append(row)
        _write(out / "summary.json", _json(
            {"version": __version__, "profile": profile, "partial": True, "statements": rows}))
    _readable_certificates(rows, out)
    figures = []
    for j, (caption, fn) in enumerate(FIGURES, 1):
        t0 = time.perf_counter()
        name = fn(out)
        figures.append({"file": name, "caption": caption})
        _say(progress, f"[figure {j}/{len(FIGURES)}] {name} ({time.perf_counter() - t0:.1f} s)")
    real = _real_data(out, progress)
    notes = _copy_notes(out, {r["note"] for r in rows}, progress)
    evidence = out / "evidence"
    evidence.mkdir(exist_ok=True)
    for r in rows:
        r["evidence_file"] = f"evidence/{r['name']}.json"
        _write(out / r["evidence_file"], _json(r))
    summary = {"version": __version__, "profile": profile,
               "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
               "seconds": round(time.perf_counter() - t_start, 1), "counts": _counts(rows),
               "statements": rows, "figures": figures, "real_data": real, "notes": notes}
    _write(out / "summary.json", _json(summary))
    md = render_markdown(summary)
    _write(out / "report.md", md.encode())
    _write(out / "report.html", render_html(md, out, "rvsm-theory verification report").encode())
    _say(progress, f"wrote {out}/report.md, report.html, summary.json and evidence/ "
         f"({len(rows)} files) in {summary['seconds']:.0f} s")
    return sum(r["status"] == "failed" for r in rows)


def _readable_certificates(rows: list[Row], out: Path) -> None:
    """Certificates are written by :mod:`theory.statements` through ``mkstemp`` (mode 0600);
    give the ones in this report the mode of a plain ``open``."""
    mode = 0o666 & ~_umask()
    for r in rows:
        path = (r.get("certificate") or {}).get("path")
        if path and (out / path).is_file():
            os.chmod(out / path, mode)


def _copy_notes(out: Path, wanted: set[str], progress: bool) -> list[str]:
    """Copy every proof note (the statements link to ``wanted``; the notes link to each other)
    into ``out/notes``, with an HTML rendering of each."""
    if not NOTES.is_dir():
        _say(progress, f"proof notes: not found at {NOTES}; the report's note links will be "
             "dangling")
        return []
    from rvsm.html import md_links_to_html, page, to_html

    dest = out / "notes"
    dest.mkdir(exist_ok=True)
    names = sorted(p.name for p in NOTES.glob("*.md"))
    link = md_links_to_html(set(names))
    for n in names:
        text = (NOTES / n).read_text()
        _write(dest / n, text.encode())
        title = next((ln.lstrip("# ").strip() for ln in text.splitlines()
                      if ln.startswith("# ")), n)
        _write(dest / n.replace(".md", ".html"),
               page(title, to_html(text, link=link)).encode())
    missing = sorted(wanted - set(names))
    _say(progress, f"proof notes: {len(names)} copied to {dest}/ (Markdown and HTML)"
         + (f"; missing: {', '.join(missing)}" if missing else ""))
    return names


# ---------------------------------------------------------------- real data


def _real_data(out: Path, progress: bool) -> dict[str, Any] | None:
    """The real-data trade-off from its saved results (package data; recomputing takes 21
    minutes, so the report reads them): the figure, a compact table, and the findings."""
    results = EXPERIMENT / "tradeoff.json"
    if not results.is_file():
        _say(progress, f"real data: no saved results at {results}; section left out "
             f"(recompute with {RECOMPUTE}, about 21 minutes)")
        return None
    t0 = time.perf_counter()
    res = json.loads(results.read_text())
    cfg = res["config"]
    beta = 1.0 if 1.0 in cfg["betas"] else cfg["betas"][0]
    fig = figure_tradeoff(out, results)
    methods = list(dict.fromkeys(m for ms in TRADEOFF_METHODS.values() for m in ms))
    at = [{"model": e["model"], "method": e["method"], "target": e["sparsity"],
           "accuracy": e["accuracy"], "std": e["std"], "n": e["n"], "seeds": e["seeds"]}
          for e in res["at_sparsity"]
          if e["beta"] == beta and e["method"] in methods and e["accuracy"] is not None]
    tables = None
    if (EXPERIMENT / "tradeoff.md").is_file():
        tables = "real_data_tables.md"
        _write(out / tables, (EXPERIMENT / "tradeoff.md").read_bytes())
    real = {"dataset": res["dataset"]["name"], "n_train": res["dataset"].get("n_train"),
            "n_test": res["dataset"].get("n_test"), "seeds": len(cfg["seeds"]),
            "epochs": cfg["epochs"], "beta": beta, "models": cfg["models"], "methods": methods,
            "figure": fig, "tables": tables, "at_sparsity": at,
            "source": "experiments/digits/tradeoff.json"}
    real["findings"] = real_data_findings(real)
    _say(progress, f"real data: {real['dataset']} results read from {results}; {fig} drawn "
         f"({time.perf_counter() - t0:.1f} s)")
    return real


def _acc(real: dict[str, Any], model: str, method: str, target: float) -> dict[str, Any] | None:
    return next((e for e in real["at_sparsity"] if e["model"] == model and e["method"] == method
                 and abs(e["target"] - target) < 1e-9), None)


def _pct(e: dict[str, Any] | None) -> str:
    if e is None:
        return "-"
    text = f"{100 * e['accuracy']:.1f}"
    if e.get("std") is not None and (e.get("n") or 0) > 1:
        text += f" ± {100 * e['std']:.1f}"
    if e.get("n") is not None and e.get("seeds") and e["n"] < e["seeds"]:
        text += f" ({e['n']}/{e['seeds']} seeds)"
    return text


def real_data_findings(real: dict[str, Any]) -> list[str]:
    """Sentences computed from the accuracies at the target sparsities >= 80%."""
    targets = sorted({e["target"] for e in real["at_sparsity"] if e["target"] >= 0.8 - 1e-9})
    pens = [m for m in real["methods"] if m.startswith("rvsm-")]
    rivals = [m for m in ("practical-l0", "prune") if m in real["methods"]]
    if not targets or not pens:
        return []
    lose = total = 0
    order: dict[tuple[str, str], list[bool]] = {}
    for model in real["models"]:
        for t in targets:
            accs = {m: _acc(real, model, m, t) for m in pens + rivals}
            best = max((accs[m]["accuracy"] for m in pens if accs[m]), default=None)
            if best is None:
                continue
            for r in rivals:
                if accs[r]:
                    total += 1
                    lose += accs[r]["accuracy"] > best
            for a, b in (("rvsm-tl1", "rvsm-l1"), ("rvsm-l1", "rvsm-l0"),
                         ("rvsm-tl1", "rvsm-l0")):
                if accs.get(a) and accs.get(b):
                    order.setdefault((a, b), []).append(
                        accs[a]["accuracy"] >= accs[b]["accuracy"])
    out = [f"Above 80% sparsity ({', '.join(f'{100 * t:.0f}%' for t in targets)}; "
           f"{' and '.join(real['models'])} networks), the best RVSM penalty is below "
           f"{' and '.join(rivals)} in {lose} of {total} comparisons."]
    for (a, b), wins in order.items():
        out.append(f"{a} is at least as accurate as {b} in {sum(wins)} of {len(wins)} "
                   "(network, sparsity) pairs.")
    t90 = min(targets, key=lambda t: abs(t - 0.9))
    for model in real["models"]:
        parts = [f"{m} {_pct(_acc(real, model, m, t90))}" for m in pens + rivals
                 if _acc(real, model, m, t90)]
        if parts:
            out.append(f"{model} at {100 * t90:.0f}% sparsity (test accuracy, %): "
                       + "; ".join(parts) + ".")
    return out


# ---------------------------------------------------------------- summary rows


def _row(st: Statement, status: str, ev: Evidence, secs: float, out: Path) -> Row:
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


def _counts(rows: list[Row]) -> dict[str, int]:
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


# ---------------------------------------------------------------- Markdown


@dataclass(frozen=True)
class Flavour:
    """How links and anchors are written: ``gfm`` for ``report.md`` (and, through it, the
    HTML page), ``myst`` for the documentation site (:func:`render_markdown`)."""

    name: str = "gfm"
    notes: str = "notes/"
    """Prefix of the proof notes' paths."""

    def anchor(self, label: str) -> str:
        return f"({label})=" if self.name == "myst" else f'<a id="{label}"></a>'

    def ref(self, text: str, label: str) -> str:
        return f"[{text}](#{label})"

    def note(self, note: str) -> str:
        return f"[{note}]({self.notes}{note})"

    def file(self, text: str, path: str) -> str:
        return f"{{download}}`{text} <{path}>`" if self.name == "myst" else f"[{text}]({path})"


GFM = Flavour()


def _label(name: str) -> str:
    return "s-" + name.replace(".", "-").replace("_", "-")


def _cell(text: Any, code: bool = False) -> str:
    text = str(text) if code else _md(str(text))
    return text.replace("|", "\\|").replace("\n", " ")


def _md(text: str) -> str:
    """Plain text for Markdown: a star (w*) is a star, never emphasis."""
    return text.replace("*", "\\*")


def _evidence_cell(r: Row, fl: Flavour = GFM) -> str:
    """The short reason for a row's status: certificate, N, rigour, or why it failed."""
    c = r.get("certificate")
    if r["status"] == "certified" and c is not None:
        where = fl.file(c["path"], c["path"]) if c.get("path") else "(not written)"
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


def _n_text(r: Row) -> str:
    t = r.get("tested") or {}
    parts = []
    if t.get("draws"):
        parts.append(f"{t['draws']} points drawn from the domain")
    if t.get("pinned"):
        sizes = [s.get("samples") or s.get("runs") for s in t.get("pinned_sizes", []) if s]
        sizes = [s for s in sizes if s]
        parts.append(f"{t['pinned']} pinned instance{'s' * (t['pinned'] != 1)}"
                     + (f" ({num(max(sizes))} samples or runs each at most)" if sizes else ""))
    return " and ".join(parts) or "the pinned instances"


def verdict(r: Row) -> str:
    """One sentence in words: the status, the claim, and what decides it."""
    claim = _md(presentation(r).claim)
    s = r["status"]
    if s == "certified":
        c = r.get("certificate") or {}
        how = (f"{c.get('leaves')} boxes" if c.get("leaves") else
               "symbolically, no boxes needed")
        return (f"**Certified**: {claim}; proved on the whole stated domain ({how}, "
                f"{c.get('seconds', 0):.1f} s) and the certificate replayed by the independent "
                "checker.")
    if s == "tested":
        why = r.get("status_reason")
        return (f"**Tested, not proved**: {claim}; no counterexample in {_n_text(r)}"
                + (f" (certification: {why})" if why else "") + ".")
    if s == "refuted":
        what = _md(effect(r) or "see the counterexample below")
        ref = r["evidence"].get("refutation") or {}
        how = ("the violation is checked in interval arithmetic" if r.get("rigorous") else
               f"not rigorous: {ref.get('reason') or 'not re-checked'}")
        return f"**Refuted**: it is false that {claim}: {what}; {how}."
    err = r.get("status_reason") or r["evidence"].get("error") or "a counterexample was found"
    return f"**Failed**: expected to hold, {claim}; but {_md(str(err))}."


def _counterexample(r: Row) -> list[tuple[str, str]]:
    ev = r["evidence"]
    if r["status"] == "refuted":
        cx = ev.get("recorded_counterexample", ev.get("counterexample"))
    elif r["status"] == "failed":
        cx = ev.get("counterexample")
    else:
        return []
    if cx is None:
        return []
    if isinstance(cx, dict):
        return [(str(k), vec(v)) for k, v in cx.items()]
    names = presentation(r).cx_names
    if isinstance(cx, list) and names and len(names) == len(cx):
        return [(n, vec(v)) for n, v in zip(names, cx)]
    return [("point", vec(cx))]


def _status_tables(rows: list[Row], counts: dict[str, int], fl: Flavour) -> list[str]:
    lines = [
        "| status | statements | meaning |", "|---|---|---|",
        f"| certified | {counts['certified']} | proved on the stated domain; certificate "
        "replayed by the independent checker |",
        f"| tested | {counts['tested']} | no counterexample in N draws (N per statement below) |",
        f"| refuted | {counts['refuted']} (of which rigorous: {counts['refuted_rigorous']}) | "
        "counterexample recorded, as expected; rigorous when checked in interval arithmetic |",
        f"| failed | {counts['failed']} | expected to hold, but a counterexample was found |",
        "", "| statement | status | evidence | source |", "|---|---|---|---|"]
    lines += [f"| {fl.ref('`' + r['name'] + '`', _label(r['name']))} | {r['status']} | "
              f"{_cell(_evidence_cell(r, fl))} | {r['source']} |" for r in rows]
    return lines


def _findings(summary: dict[str, Any], fl: Flavour) -> list[str]:
    rows, counts = summary["statements"], summary["counts"]
    lines = ["## Findings", "",
             f"**{len(rows)} statements: {counts['certified']} certified, {counts['tested']} "
             f"tested, {counts['refuted']} refuted ({counts['refuted_rigorous']} rigorously), "
             f"{counts['failed']} failed.**", ""]

    def bullet(r: Row) -> str:
        keys = key_numbers(r)
        head = f"; {keys[0][0]}: {keys[0][1]}" if keys else ""
        if r["status"] == "refuted":
            what = effect(r)
            head = f": {what}" if what else head
        tag = {"certified": "certified", "tested": "tested",
               "refuted": "refuted" + (", rigorous" if r.get("rigorous") else ""),
               "failed": "FAILED"}[r["status"]]
        claim = _md(presentation(r).claim)
        return (f"- {claim[:1].upper()}{claim[1:]} ({tag}{_md(head)}) "
                f"{fl.ref('→', _label(r['name']))}")

    groups = (("What holds", [r for r in rows if r["status"] in ("certified", "tested")]),
              ("What fails", [r for r in rows if r["status"] == "refuted"]))
    for title, sel in groups:
        lines += [f"### {title}", ""]
        if not sel:
            lines += ["None.", ""]
        for theme, heading in THEMES:
            in_theme = [r for r in sel if presentation(r).theme == theme]
            if in_theme:
                lines += [f"*{heading}*", ""] + [bullet(r) for r in in_theme] + [""]
    failed = [r for r in rows if r["status"] == "failed"]
    lines += ["### Unexpected failures", ""]
    lines += ([bullet(r) for r in failed] + [""] if failed else
              ["None: every statement expected to hold holds.", ""])
    real = summary.get("real_data")
    lines += ["### Real data", ""]
    if real and real.get("findings"):
        lines += [f"- {s}" for s in real["findings"]]
        lines += ["", f"Details: {fl.ref('the real-data section', 'real-data')}.", ""]
    else:
        lines += ["No saved real-data results were found; the section is left out (recompute "
                  f"with `{RECOMPUTE}`, about 21 minutes on 2 cores).", ""]
    return lines


def _statement_section(r: Row, fl: Flavour, shown: set[str], captions: dict[str, str]
                       ) -> list[str]:
    p = presentation(r)
    lines = ["", fl.anchor(_label(r["name"])), "", f"### `{r['name']}` — {r['status']}", "",
             verdict(r), "",
             f"- **Hypotheses**: ${p.hypotheses}$", f"- **Conclusion**: ${p.conclusion}$",
             f"- **Source**: {r['source']}"
             + (" (quoted from the paper)" if r["source"] == "quoted" else ""), ""]
    keys = key_numbers(r)
    if keys:
        lines += ["| key number | value |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in keys] + [""]
    cx = _counterexample(r)
    if cx:
        title = "recorded counterexample" if r["status"] == "refuted" else "counterexample"
        lines += [f"| {title} | |", "|---|---|"]
        lines += [f"| {_cell(k)} | `{_cell(v, code=True)}` |" for k, v in cx] + [""]
    if p.figure and p.figure in shown:
        lines += [f"Figure: {fl.ref(p.figure, 'fig-' + p.figure.removesuffix('.png'))} "
                  "(above).", ""]
    elif p.figure and p.figure in captions:
        shown.add(p.figure)
        lines += [fl.anchor("fig-" + p.figure.removesuffix(".png")), "",
                  f"![{captions[p.figure]}]({p.figure})", "", f"*{captions[p.figure]}*", ""]
    links = [f"proof note {fl.note(r['note'])}"]
    c = r.get("certificate")
    if c is not None and c.get("path"):
        checker = {True: "replayed by the checker", False: "rejected by the checker",
                   None: "not replayed"}[c.get("checker_ok")]
        links.append(f"certificate {fl.file(c['path'], c['path'])} ({c.get('status')}, "
                     f"{c.get('leaves')} leaves, {checker})")
    if r.get("evidence_file"):
        links.append(f"evidence {fl.file(r['evidence_file'], r['evidence_file'])}")
    lines += ["; ".join(links) + f"; checked in {r['seconds']:.1f} s.", ""]
    return lines


def _real_section(real: dict[str, Any], fl: Flavour) -> list[str]:
    lines = ["", fl.anchor("real-data"), "",
             f"## Real data: accuracy against sparsity ({real['dataset']})", "",
             f"Saved results (`{real['source']}`: {real['n_train']} training and "
             f"{real['n_test']} test images, {real['seeds']} seeds, {real['epochs']} epochs, "
             f"beta = {real['beta']:g}); recompute with `{RECOMPUTE}` (about 21 minutes on 2 "
             "cores).", "",
             f"![accuracy against sparsity]({real['figure']})", "",
             "*Accuracy against sparsity; the zoomed panels show the range where the "
             "conclusions are drawn.*", ""]
    targets = sorted({e["target"] for e in real["at_sparsity"]})
    lines += ["Test accuracy (%) at each target sparsity (lambda selected per seed; prune: "
              "pruned to it); mean ± standard deviation over seeds:", "",
              "| network | method | " + " | ".join(f"{100 * t:.0f}%" for t in targets) + " |",
              "|---|---|" + "---|" * len(targets)]
    for model in real["models"]:
        for m in real["methods"]:
            cells = [_pct(_acc(real, model, m, t)) for t in targets]
            if any(c != "-" for c in cells):
                lines.append(f"| {model} | {m} | " + " | ".join(cells) + " |")
    lines.append("")
    if real.get("tables"):
        lines += [f"Every method, beta and lambda: {fl.file(real['tables'], real['tables'])}.",
                  ""]
    return lines


def render_markdown(summary: dict[str, Any], flavour: Flavour = GFM) -> str:
    """The report as Markdown, from a ``summary.json`` object (so a saved run can be
    rendered again, e.g. by the documentation build with ``Flavour("myst", ...)``)."""
    rows = summary["statements"]
    counts = summary.get("counts") or _counts(rows)
    summary = {**summary, "counts": counts}
    captions = {f["file"]: f["caption"] for f in summary.get("figures") or []}
    when = f", {summary['generated']}" if summary.get("generated") else ""
    took = f" in {summary['seconds']:.0f} s" if summary.get("seconds") is not None else ""
    lines = ["# rvsm-theory verification report", "",
             f"Profile `{summary.get('profile')}`, rvsm-theory {summary.get('version')}{when}; "
             f"{len(rows)} statements checked{took}."]
    if flavour.name == "gfm":
        lines[-1] += (" The same report as a self-contained page: [report.html](report.html);"
                      " the full evidence: [summary.json](summary.json) and `evidence/`.")
    lines += [""] + _findings(summary, flavour)
    lines += ["## Statuses", ""] + _status_tables(rows, counts, flavour)
    lines += ["", "## Statements", "",
              "Each section: the verdict, the statement, the numbers that carry the evidence, "
              "the counterexample where there is one, the figure, and the files."]
    shown: set[str] = set()
    by_theme = {t: [r for r in rows if presentation(r).theme == t] for t, _ in THEMES}
    for theme, heading in THEMES:
        if by_theme[theme]:
            lines += ["", f"## {heading}"]
            for r in by_theme[theme]:
                lines += _statement_section(r, flavour, shown, captions)
    rest = [f for f in summary.get("figures") or [] if f["file"] not in shown]
    if rest:
        lines += ["", "## Other figures", ""]
        for f in rest:
            lines += [f"![{f['caption']}]({f['file']})", "", f"*{f['caption']}*", ""]
    if summary.get("real_data"):
        lines += _real_section(summary["real_data"], flavour)
    return "\n".join(lines).rstrip() + "\n"


def render_html(markdown: str, base: Path, title: str) -> str:
    """``report.html``: the Markdown with formulas as MathML and the figures under ``base``
    embedded; links to the proof notes go to their HTML rendering."""
    from rvsm.html import md_links_to_html, page, to_html

    notes = {f"notes/{p.name}" for p in (base / "notes").glob("*.md")}
    return page(title, to_html(markdown, base=base, link=md_links_to_html(notes)))


def report_files(summary: dict[str, Any]) -> list[str]:
    """Files of a report directory that its Markdown links to or shows (figures, certificates,
    evidence, tables): what a copy of the report must carry."""
    files = [f["file"] for f in summary.get("figures") or []]
    for r in summary["statements"]:
        c = r.get("certificate") or {}
        if c.get("path"):
            files.append(c["path"])
        if r.get("evidence_file"):
            files.append(r["evidence_file"])
    real = summary.get("real_data") or {}
    files += [f for f in (real.get("figure"), real.get("tables")) if f]
    return files

