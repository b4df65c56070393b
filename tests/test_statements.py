"""One property test per registered statement, drawn from the statement's own domain.

A statement expected to hold is checked at its pinned edge points and at Hypothesis draws
(count from the active profile); a refuted one must still be refuted by its recorded
counterexample.  ``rvsm report`` uses the same ``instance`` checks.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

import rvsm.report
from rvsm.cli import main
from rvsm.report import load_registry
from tests.conftest import examples
from theory.statements import Evidence, Statement

REGISTRY = load_registry()
HOLDS = sorted(n for n, s in REGISTRY.items() if s.expected == "holds")
SEARCHED = sorted(n for n in HOLDS if REGISTRY[n].domain is not None)
REFUTED = sorted(n for n, s in REGISTRY.items() if s.expected == "refuted")


@pytest.mark.parametrize("name", HOLDS)
def test_pinned_points(name: str) -> None:
    st = REGISTRY[name]
    for point in st.pinned:
        ev = st.instance(point)
        assert ev.ok, (point, ev.details)


@pytest.mark.parametrize("name", SEARCHED)
def test_property_over_domain(name: str) -> None:
    st = REGISTRY[name]

    @settings(max_examples=examples(st.examples))
    @given(st.domain())
    def prop(point) -> None:
        ev = st.instance(point)
        assert ev.ok, ev.details

    prop()


@pytest.mark.parametrize("name", REFUTED)
def test_recorded_counterexample_still_refutes(name: str) -> None:
    st = REGISTRY[name]
    assert st.counterexample is not None
    ev = st.instance(st.counterexample)
    assert not ev.ok, ev.details
    assert st.run("quick")[0] == "refuted"


def test_every_statement_names_an_existing_note() -> None:
    from pathlib import Path

    notes = Path(__file__).resolve().parents[1] / "proofs_notes"
    missing = {n: s.note for n, s in REGISTRY.items() if not (notes / s.note).is_file()}
    assert missing == {}


def test_report_writes_files_and_exit_status(tmp_path, monkeypatch, capsys) -> None:
    def inst(ok):
        return lambda p: Evidence(ok, {"x": p})

    fake = {
        "good": Statement("good", "h", "c", "derived", "n.md", inst(True), None, pinned=[1]),
        "bad": Statement("bad", "h", "c", "derived", "n.md", inst(False), None, pinned=[2]),
        "boom": Statement("boom", "h", "c", "derived", "n.md", lambda p: 1 / 0, None, pinned=[3]),
    }
    monkeypatch.setattr(rvsm.report, "load_registry", lambda: fake)
    monkeypatch.setattr(rvsm.report, "FIGURES", [])
    code = main(["report", "--out", str(tmp_path)])
    assert code == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    status = {s["name"]: s["status"] for s in summary["statements"]}
    assert status == {"good": "verified", "bad": "failed", "boom": "failed"}
    assert "ZeroDivisionError" in (tmp_path / "report.md").read_text()
    assert "[3/3]" in capsys.readouterr().err
    monkeypatch.setattr(rvsm.report, "load_registry", lambda: {"good": fake["good"]})
    assert main(["report", "--out", str(tmp_path)]) == 0


def test_notes_index_is_up_to_date() -> None:
    from rvsm.commands.statements import INDEX, index_markdown

    assert INDEX.read_text() == index_markdown(), "run `rvsm statements --write-index`"


def test_statements_cli(capsys) -> None:
    assert main(["statements"]) == 0
    assert "relu.critical_points" in capsys.readouterr().out
    assert main(["statements", "--check", "relu.hessian_bound", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "verified"
    assert main(["statements", "--check", "nope"]) == 2
    assert "unknown statement" in capsys.readouterr().err
