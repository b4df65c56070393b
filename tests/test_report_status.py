"""``rvsm report`` in the status vocabulary: counts table, certificates, N, rigour, summary.json.

The registry and the prover are fakes (:func:`tests.test_certify_cli.install_fakes`), so the
report's bookkeeping is tested without running the real checks or the prover.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import strategies as hst

import rvsm.report
from rvsm.cli import main
from tests.test_certify_cli import install_fakes
from theory.statements import Evidence, Statement


def _st(name: str, ok: bool = True, **kw) -> Statement:
    return Statement(name, "h", "c", "derived", "n.md", lambda p: Evidence(ok, {"p": p}),
                     lambda: hst.integers(0, 9), pinned=[1], examples=20, **kw)


@pytest.fixture
def registry(monkeypatch):
    fake = {s.name: s for s in (
        _st("a.proved"), _st("b.rejected"), _st("c.undecided"), _st("d.plain"),
        _st("e.false", ok=False, expected="refuted", counterexample=3),
        _st("f.false_rigorous", ok=False, expected="refuted", counterexample=4,
            rigorous_counterexample=lambda: {"rigorous": True, "method": "mpmath.iv"}),
        _st("g.broken", ok=False),
    )}
    monkeypatch.setattr(rvsm.report, "load_registry", lambda: fake)
    monkeypatch.setattr(rvsm.report, "FIGURES", [])
    monkeypatch.setattr(rvsm.report, "_real_data", lambda out, progress: None)
    return fake


def test_report_status_vocabulary(tmp_path, monkeypatch, capsys, registry) -> None:
    fakes = install_fakes(monkeypatch, {"a.proved": "certified", "b.rejected": "certified",
                                        "c.undecided": "undecided"},
                          reasons={"c.undecided": "depth limit"}, invalid=("b.rejected",))
    assert main(["report", "--out", str(tmp_path)]) == 1  # g.broken failed
    summary = json.loads((tmp_path / "summary.json").read_text())
    rows = {r["name"]: r for r in summary["statements"]}
    assert {n: r["status"] for n, r in rows.items()} == {
        "a.proved": "certified", "b.rejected": "tested", "c.undecided": "tested",
        "d.plain": "tested", "e.false": "refuted", "f.false_rigorous": "refuted",
        "g.broken": "failed"}
    assert summary["counts"] == {"certified": 1, "tested": 3, "refuted": 2, "failed": 1,
                                 "refuted_rigorous": 1}
    cert = rows["a.proved"]["certificate"]
    assert cert["path"] == "certificates/a.proved.json"
    assert (tmp_path / cert["path"]).is_file()
    assert cert["leaves"] == 7 and cert["seconds"] == 0.25 and cert["checker_ok"] is True
    assert rows["b.rejected"]["certificate"]["checker_ok"] is False
    assert "rejected by the independent checker" in rows["b.rejected"]["status_reason"]
    assert rows["c.undecided"]["status_reason"] == "certification undecided: depth limit"
    assert rows["d.plain"]["certificate"] is None
    assert rows["d.plain"]["tested"]["pinned"] == 1 and rows["d.plain"]["tested"]["draws"] > 0
    assert rows["a.proved"]["tested"]["pinned"] == 1, "certified keeps the tested evidence"
    assert rows["e.false"]["rigorous"] is False and rows["f.false_rigorous"]["rigorous"] is True
    assert sorted(fakes.certified) == ["a.proved", "b.rejected", "c.undecided"]

    md = (tmp_path / "report.md").read_text()
    head = md.split("| statement |")[0].split("## Statuses")[1]
    assert "| certified | 1 |" in head and "| tested | 3 |" in head
    assert "| refuted | 2 (of which rigorous: 1) |" in head and "| failed | 1 |" in head
    assert "(#s-a-proved) | certified | certificate [certificates/a.proved.json]" in md
    assert "7 leaves, 0.2 s" in md
    assert "certification undecided: depth limit" in md
    assert "verified" not in md

    err = capsys.readouterr().err
    cert_lines = [line for line in err.splitlines() if ": certification " in line]
    assert len(cert_lines) == 3, err
    assert any("a.proved: certification certified (7 leaves" in line for line in cert_lines)
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_report_no_certify(tmp_path, monkeypatch, registry) -> None:
    fakes = install_fakes(monkeypatch, {"a.proved": "certified"})
    main(["report", "--out", str(tmp_path), "--no-certify"])
    rows = {r["name"]: r for r in json.loads((tmp_path / "summary.json").read_text())
            ["statements"]}
    assert rows["a.proved"]["status"] == "tested" and fakes.certified == []
