"""One test per registered statement: it must end as the registry expects."""

from __future__ import annotations

import json

import pytest

import rvsm.report
from rvsm.cli import main
from theory.statements import REGISTRY, Evidence, Statement


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_statement(name: str) -> None:
    st = REGISTRY[name]
    status, ev = st.run("quick")
    if st.expected == "holds":
        assert status == "verified", ev
    else:
        assert status == "refuted" and ev.counterexample, ev


def test_report_writes_files_and_exit_status(tmp_path, monkeypatch, capsys) -> None:
    fake = {
        "good": Statement("good", "h", "c", "derived", "n.md", lambda p: Evidence(True, {"x": 1})),
        "bad": Statement("bad", "h", "c", "derived", "n.md", lambda p: Evidence(False, {"x": 2})),
        "boom": Statement("boom", "h", "c", "derived", "n.md", lambda p: 1 / 0),
    }
    monkeypatch.setattr(rvsm.report, "REGISTRY", fake)
    monkeypatch.setattr(rvsm.report, "FIGURES", [])
    code = main(["report", "--out", str(tmp_path)])
    assert code == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    status = {s["name"]: s["status"] for s in summary["statements"]}
    assert status == {"good": "verified", "bad": "failed", "boom": "failed"}
    assert "ZeroDivisionError" in (tmp_path / "report.md").read_text()
    assert "[3/3]" in capsys.readouterr().err
    monkeypatch.setattr(rvsm.report, "REGISTRY", {"good": fake["good"]})
    assert main(["report", "--out", str(tmp_path)]) == 0
