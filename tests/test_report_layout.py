"""The report as a reader gets it: findings first, a verdict sentence per statement, no JSON
dumps, a self-contained HTML twin, links valid wherever ``--out`` points, files created with
the user's umask, a progress line for every phase, and the same inputs from an installed
package as from a source checkout.

The registry and the prover are fakes (as in ``tests/test_report_status.py``); the real-data
section reads the saved results shipped as package data.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import strategies as hst

import rvsm.report
from rvsm.cli import main
from rvsm.report_text import P, effect, key_numbers
from tests.test_certify_cli import install_fakes
from theory.statements import Evidence, Statement

ROOT = Path(__file__).resolve().parents[1]
VERDICT = re.compile(r"^\*\*(Certified|Tested, not proved|Refuted|Failed)\*\*: ")


def _st(name: str, ok: bool = True, **kw) -> Statement:
    return Statement(name, "h", "c", "derived", "limits.md", lambda p: Evidence(ok, {"p": p}),
                     lambda: hst.integers(0, 9), pinned=[1], examples=20, **kw)


@pytest.fixture
def report(tmp_path_factory, monkeypatch, capsys):
    """``rvsm report --out <somewhere>/deep/out`` on a fake registry; its stderr is in
    ``out/../stderr.txt``."""
    fake = {s.name: s for s in (
        _st("a.proved"), _st("d.plain"),
        _st("e.false", ok=False, expected="refuted", counterexample={"w": [1.0, 0.5], "k": 3}),
        _st("g.broken", ok=False),
    )}
    monkeypatch.setattr(rvsm.report, "load_registry", lambda: fake)
    monkeypatch.setattr(rvsm.report, "FIGURES", [])
    install_fakes(monkeypatch, {"a.proved": "certified"})
    cert = rvsm.report.__dict__["_readable_certificates"]

    def secretive(rows, out):  # the real prover writes its certificates with mode 0600
        for p in (out / "certificates").glob("*.json"):
            os.chmod(p, 0o600)
        cert(rows, out)

    monkeypatch.setattr(rvsm.report, "_readable_certificates", secretive)
    out = tmp_path_factory.mktemp("elsewhere") / "deep" / "out"
    old = os.umask(0o022)
    try:
        code = main(["report", "--out", str(out)])
    finally:
        os.umask(old)
    assert code == 1  # g.broken failed
    (out.parent / "stderr.txt").write_text(capsys.readouterr().err)
    return out


def test_findings_first_and_a_verdict_per_statement(report) -> None:
    md = (report / "report.md").read_text()
    h2 = re.findall(r"^## (.+)$", md, flags=re.M)
    assert h2[0] == "Findings", h2
    findings = md.split("## Findings")[1].split("\n## ")[0]
    for part in ("### What holds", "### What fails", "### Unexpected failures", "### Real data"):
        assert part in findings
    assert "4 statements: 1 certified, 1 tested, 1 refuted (0 rigorously), 1 failed." in findings
    assert "g.broken" in findings.split("### Unexpected failures")[1].split("###")[0] or \
        "(FAILED" in findings
    sections = re.split(r"^### `", md, flags=re.M)[1:]
    assert len(sections) == 4
    for sec in sections:
        body = [ln for ln in sec.splitlines()[1:] if ln.strip()]
        assert VERDICT.match(body[0]), body[0]
        assert "- **Hypotheses**: $" in sec and "- **Conclusion**: $" in sec
    refuted = next(s for s in sections if s.startswith("e.false"))
    assert "| w | `(1, 0.5)` |" in refuted and "| k | `3` |" in refuted
    assert "ZeroDivisionError" not in md


def test_no_json_dumps(report) -> None:
    md = (report / "report.md").read_text()
    blocks = re.findall(r"^```.*?^```", md, flags=re.M | re.S)
    assert all(b.count("\n") <= 5 for b in blocks)
    assert not re.search(r'^\s*"\w+": ', md, flags=re.M), "raw JSON in the report"
    full = (report / "evidence" / "e.false.json").read_text()
    assert '"recorded_counterexample"' in full


def test_links_resolve_wherever_out_points(report) -> None:
    md = (report / "report.md").read_text()
    ids = set(re.findall(r'<a id="([^"]+)"></a>', md))
    for target in re.findall(r"\]\(([^)\s]+)\)", md):
        if target.startswith("#"):
            assert target[1:] in ids, target
        else:
            assert (report / target).is_file(), target
    html = (report / "report.html").read_text()
    for target in re.findall(r'href="([^"]+)"', html):
        if target.startswith("#"):
            assert f'id="{target[1:]}"' in html, target
        else:
            assert (report / target).is_file(), target
    assert "notes/limits.html" in html and (report / "notes" / "limits.html").is_file()
    note = (report / "notes" / "index.html").read_text()
    assert 'href="limits.html"' in note


def test_html_is_self_contained(report) -> None:
    html = (report / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<math" in html
    assert 'class="tex"' not in html, "a formula was not converted"
    assert "<script" not in html and not re.search(r'src="(?!data:)', html)
    if (report / "tradeoff.png").is_file():
        assert 'src="data:image/png;base64,' in html


def test_files_follow_the_umask(report) -> None:
    files = [p for p in report.rglob("*") if p.is_file()]
    assert {"report.md", "report.html", "summary.json", "a.proved.json"} <= {p.name for p in files}
    modes = {str(p.relative_to(report)): stat.S_IMODE(p.stat().st_mode) for p in files}
    assert all(m == 0o644 for m in modes.values()), modes
    assert not list(report.rglob(".*.tmp"))


def test_progress_for_every_phase(report) -> None:
    err = (report.parent / "stderr.txt").read_text()
    for phase in ("checking 4 statements", "[1/4] a.proved: certification", "[4/4] g.broken",
                  "proof notes:", "real data:", "wrote "):
        assert phase in err, phase


def test_real_data_from_package_data(report) -> None:
    """The saved results ship with the package; the findings are computed from them."""
    md = (report / "report.md").read_text()
    assert (rvsm.report.EXPERIMENT / "tradeoff.json").is_file()
    real = md.split("### Real data")[1].split("\n## ")[0]
    assert re.search(r"in \d+ of \d+ comparisons", real)
    assert (report / "tradeoff.png").is_file() and (report / "real_data_tables.md").is_file()
    assert "## Real data: accuracy against sparsity" in md


def test_missing_real_data_is_said(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(rvsm.report, "EXPERIMENT", tmp_path / "nowhere")
    assert rvsm.report._real_data(tmp_path, True) is None
    assert "real data: no saved results" in capsys.readouterr().err


def test_every_statement_is_presented() -> None:
    """Each statement is presented with a claim, LaTeX that converts to MathML, and evidence
    extractors that survive missing numbers; a statement registered without an entry in
    ``rvsm/report_text.py`` falls back to its registry text (and the report says so)."""
    from rvsm.html import math_to_mathml
    from rvsm.report import load_registry
    from rvsm.report_text import presentation

    rows = [{"name": n, "hypotheses": s.hypotheses, "conclusion": s.conclusion, "evidence": {}}
            for n, s in load_registry().items()]
    rows += [{"name": n, "evidence": {}} for n in P]
    rows.append({"name": "z.new", "hypotheses": "x_1 >= 0 & {y}", "conclusion": "50% of |w|^2",
                 "evidence": {}})
    for row in rows:
        p = presentation(row)
        assert p.claim and p.theme
        for tex in (p.hypotheses, p.conclusion):
            assert "<code" not in math_to_mathml(tex, False), (row["name"], tex)
        assert key_numbers(row) == []
        assert effect(row) is None


def test_presentations_name_registered_statements() -> None:
    from rvsm.report import load_registry

    assert set(P) - set(load_registry()) == set(), "a presented statement is not registered"


def test_wheel_ships_the_report_inputs(tmp_path) -> None:
    """A built wheel holds the proof notes and the saved results (``rvsm/data/`` is a
    directory of symlinks in the source tree)."""
    import shutil
    import zipfile

    src = tmp_path / "src"  # a copy: an in-tree build would write build/ into the checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for part in ("pyproject.toml", "README.md", "rvsm", "theory", "sim", "proofs_notes",
                 "experiments"):
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, src / part, symlinks=True, ignore=ignore)
        else:
            (src / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / part, src / part)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src)],
                   check=True, capture_output=True, cwd=tmp_path)
    names = zipfile.ZipFile(next((tmp_path / "dist").glob("*.whl"))).namelist()
    notes = {p.name for p in (ROOT / "proofs_notes").glob("*.md")}
    assert {f"rvsm/data/proofs_notes/{n}" for n in notes} <= set(names)
    assert "rvsm/data/digits/tradeoff.json" in names


def test_refutation_numbers_are_readable() -> None:
    """Interval enclosures become numbers, with enough digits to tell before from after."""
    ev = {"refutation": {"violation": {
        "step": 52, "before": "[0.0011247774135943607353, 0.0011247774138817423854]",
        "after": "[0.0011247775096482737101, 0.0011247775105103896367]",
        "increase": "[9.576653132479591779E-11, 9.6916028901310926539E-11]"}}}
    text = effect({"name": "rvscgd.angle_monotone", "evidence": ev})
    assert text == "the angle rises from 0.001124777 to 0.001124778 at step 52 (by 9.6e-11)"
