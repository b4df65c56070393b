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
import theory.certify
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
    import dataclasses

    st = REGISTRY[name]
    assert st.counterexample is not None
    # run() checks the recorded counterexample itself; the rigour hooks (certified sets, interval
    # replays: seconds each) have their own tests in tests/test_certify_*.py
    status, ev = dataclasses.replace(st, rigorous_counterexample=None).run("quick", certify=False)
    assert status == "refuted", ev.details
    assert ev.details["refutation"]["rigorous"] is False


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
    assert status == {"good": "tested", "bad": "failed", "boom": "failed"}
    assert "ZeroDivisionError" in (tmp_path / "report.md").read_text()
    assert "[3/3]" in capsys.readouterr().err
    monkeypatch.setattr(rvsm.report, "load_registry", lambda: {"good": fake["good"]})
    assert main(["report", "--out", str(tmp_path)]) == 0


def test_notes_index_is_up_to_date() -> None:
    from rvsm.commands.statements import INDEX, index_markdown

    assert INDEX.read_text() == index_markdown(), "run `rvsm statements --write-index`"


def test_statements_cli(capsys, monkeypatch) -> None:
    monkeypatch.setattr(theory.certify, "certifiable", lambda: [])
    assert main(["statements"]) == 0
    out = capsys.readouterr().out
    assert "relu.critical_points" in out
    assert " tested " in out and " refuted " in out
    assert main(["statements", "--check", "relu.hessian_bound", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["status"] == "tested"
    assert obj["evidence"]["tested"]["draws"] > 0 and obj["evidence"]["tested"]["pinned"] == 1
    assert main(["statements", "--check", "nope"]) == 2
    assert "unknown statement" in capsys.readouterr().err


# ---------------------------------------------------------------- the status vocabulary


def _fake(name: str = "fake.claim", ok: bool = True, **kw) -> Statement:
    """A statement whose domain is the integers 0..50 (``ok``: the check always passes)."""
    from hypothesis import strategies as hst

    return Statement(name, "h", "c", "derived", "n.md", lambda p: Evidence(ok, {"p": p}),
                     lambda: hst.integers(0, 50), pinned=[0, 50], **kw)


def test_tested_states_its_n(monkeypatch) -> None:
    monkeypatch.setattr(theory.certify, "certifiable", lambda: [])
    status, ev = _fake(examples=40).run("quick")
    assert status == "tested"
    t = ev.details["tested"]
    assert t["pinned"] == 2 and t["budget"] == 40 and 0 < t["draws"] <= 40
    assert "drawn from the domain" in t["counts"]
    monte_carlo = Statement("mc", "h", "c", "derived", "n.md",
                            lambda p: Evidence(True, {"samples": p}), None, pinned=[10, 20, 30])
    status, ev = monte_carlo.run("quick")
    assert status == "tested"
    assert ev.details["tested"]["draws"] == 0 and ev.details["tested"]["pinned"] == 3
    assert ev.details["tested"]["pinned_sizes"] == [{"samples": 10}, {"samples": 20},
                                                     {"samples": 30}]


def test_certified_needs_the_checker(tmp_path, monkeypatch) -> None:
    from tests.test_certify_cli import install_fakes

    fakes = install_fakes(monkeypatch, {"fake.claim": "certified"})
    status, ev = _fake().run("quick", certify_dir=tmp_path)
    assert status == "certified"
    cert = ev.details["certification"]
    assert cert["checker_ok"] is True and cert["leaves"] == 7
    assert cert["path"] == str(tmp_path / "fake.claim.json") and (tmp_path / cert["path"]).is_file()
    assert fakes.checked == [cert["path"]]
    assert ev.details["tested"]["pinned"] == 2, "the sampled evidence stays"
    # the same certificate, rejected by the independent checker: stays tested, with the reason
    install_fakes(monkeypatch, {"fake.claim": "certified"}, invalid=("fake.claim",))
    status, ev = _fake().run("quick", certify_dir=tmp_path)
    assert status == "tested"
    assert ev.details["status_reason"].startswith("certificate rejected by the independent checker")
    assert "leaf 3" in ev.details["status_reason"]
    # no checker installed: never certified
    install_fakes(monkeypatch, {"fake.claim": "certified"}, checker=False)
    status, ev = _fake().run("quick")
    assert status == "tested" and "not replayed" in ev.details["status_reason"]
    # certify=False skips the prover
    fakes = install_fakes(monkeypatch, {"fake.claim": "certified"})
    assert _fake().run("quick", certify=False)[0] == "tested" and fakes.certified == []


def test_undecided_and_refuted_certificates(monkeypatch) -> None:
    from tests.test_certify_cli import install_fakes

    fakes = install_fakes(monkeypatch, {"fake.claim": "undecided"},
                          reasons={"fake.claim": "depth limit 40 at t = 0"})
    status, ev = _fake().run("quick")
    assert status == "tested" and fakes.checked == []
    assert ev.details["status_reason"] == "certification undecided: depth limit 40 at t = 0"
    install_fakes(monkeypatch, {"fake.claim": "raise"})
    status, ev = _fake().run("quick")
    assert status == "tested"
    assert ev.details["status_reason"].startswith("certification undecided: prover raised "
                                                  "NotImplementedError")
    install_fakes(monkeypatch, {"fake.claim": "refuted"})
    status, ev = _fake().run("quick")
    assert status == "failed" and not ev.ok
    assert ev.counterexample == {"point": {"t": "1/2"}}
    # a sampled counterexample fails the statement before any certification
    fakes = install_fakes(monkeypatch, {"fake.claim": "certified"})
    assert _fake(ok=False).run("quick")[0] == "failed" and fakes.certified == []


def test_refuted_rigour(monkeypatch) -> None:
    from tests.test_certify_cli import install_fakes

    monkeypatch.setattr(theory.certify, "certifiable", lambda: [])
    base = {"expected": "refuted", "counterexample": 3}
    status, ev = _fake(ok=False, **base).run("quick")
    assert status == "refuted"
    assert ev.details["refutation"] == {"rigorous": False, "method": None,
                                       "reason": "not re-checked in interval arithmetic"}
    hook = {"rigorous": True, "method": "mpmath.iv at 53 bits", "enclosure": ["-0.2", "-0.1"]}
    status, ev = _fake(ok=False, rigorous_counterexample=lambda: hook, **base).run("quick")
    assert status == "refuted" and ev.details["refutation"]["rigorous"] is True
    assert ev.details["refutation"]["enclosure"] == ["-0.2", "-0.1"]
    unconfirmed = {"rigorous": False, "method": "mpmath.iv"}
    status, ev = _fake(ok=False, rigorous_counterexample=lambda: unconfirmed, **base).run("quick")
    assert ev.details["refutation"]["rigorous"] is False and ev.details["refutation"]["reason"]
    status, ev = _fake(ok=False, rigorous_counterexample=lambda: 1 / 0, **base).run("quick")
    assert status == "refuted" and ev.details["refutation"]["rigorous"] is False
    assert "ZeroDivisionError" in ev.details["refutation"]["reason"]
    # the recorded counterexample no longer refutes: failed
    assert _fake(ok=True, **base).run("quick")[0] == "failed"
    # a refuting certificate the checker accepts makes it rigorous; a rejected one does not
    install_fakes(monkeypatch, {"fake.claim": "refuted"})
    status, ev = _fake(ok=False, **base).run("quick")
    assert status == "refuted" and ev.details["refutation"]["rigorous"] is True
    assert ev.details["refutation"]["method"] == "certificate"
    install_fakes(monkeypatch, {"fake.claim": "refuted"}, invalid=("fake.claim",))
    status, ev = _fake(ok=False, **base).run("quick")
    assert status == "refuted" and ev.details["refutation"]["rigorous"] is False
    # a proof of a statement recorded as false is a contradiction: failed
    install_fakes(monkeypatch, {"fake.claim": "certified"})
    assert _fake(ok=False, **base).run("quick")[0] == "failed"


def test_index_status_column(monkeypatch) -> None:
    from rvsm.commands.statements import index_markdown

    monkeypatch.setattr(theory.certify, "certifiable", lambda: ["relu.hessian_bound"])
    text = index_markdown()
    assert "| `relu.hessian_bound` | derived | certified |" in text
    assert "| `relu.critical_points` | derived | tested |" in text
    assert "| `rvsm.angle_monotone` | conjecture | refuted |" in text
    assert "theory.certify.certifiable()" in text
