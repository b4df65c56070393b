"""``rvsm certify``: exit codes, bad input, --check and --json, against a fake prover and checker.

The real prover and checker (:mod:`theory.certify`) are replaced by :func:`install_fakes`, so
these tests pin the command's behaviour whatever the state of the prover.  The fake checker
decides from the certificate's content (``"valid": false`` or an unknown format is rejected),
so a command that skipped the replay or ignored its verdict fails here.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import theory.certify
from rvsm.cli import main
from theory.certify import CertificateResult

FORMAT = "rvsm-certificate/1"


class Fakes:
    """What the fakes were asked: ``certified`` (names), ``checked`` (targets)."""

    def __init__(self) -> None:
        self.certified: list[str] = []
        self.checked: list[Any] = []


def install_fakes(monkeypatch: pytest.MonkeyPatch, verdicts: dict[str, str],
                  reasons: dict[str, str] | None = None, invalid: tuple[str, ...] = (),
                  checker: bool = True) -> Fakes:
    """Replace ``theory.certify.certifiable``/``certify`` and the checker module.

    ``verdicts`` maps a statement to the fake prover's status (``certified``, ``refuted``,
    ``undecided``, or ``raise`` for a prover that raises NotImplementedError); statements in
    ``invalid`` get a certificate the fake checker rejects; ``checker=False`` removes the
    checker module."""
    fakes = Fakes()
    reasons = reasons or {}

    def certify(name: str, *, out_dir: Path | None = None, prec: int = 64,
                progress: Any = None) -> CertificateResult:
        fakes.certified.append(name)
        status = verdicts[name]
        if status == "raise":
            raise NotImplementedError
        cert = {"format": FORMAT, "statement": name, "status": status,
                "reason": reasons.get(name), "valid": name not in invalid,
                "counterexample": {"point": {"t": "1/2"}} if status == "refuted" else None,
                "stats": {"leaves": 7, "seconds": 0.25}}
        path = None
        if out_dir is not None:
            path = Path(out_dir) / f"{name}.json"
            path.write_text(json.dumps(cert))
        return CertificateResult(statement=name, status=status, reason=reasons.get(name),
                                 certificate=cert, path=path, leaves=7, seconds=0.25)

    def check(target: Any) -> Any:
        fakes.checked.append(target)
        data = target if isinstance(target, dict) else json.loads(Path(target).read_text())
        why = []
        if data.get("format") != FORMAT:
            why.append(f"unknown format {data.get('format')!r}")
        if data.get("valid") is False:
            why.append("leaf 3: enclosure lower end -0.125 < 0")
        return types.SimpleNamespace(ok=not why, reasons=why, leaves=7, seconds=0.01)

    monkeypatch.setattr(theory.certify, "certifiable", lambda: sorted(verdicts))
    monkeypatch.setattr(theory.certify, "certify", certify)
    module = types.ModuleType("theory.certify.check")
    module.check = check  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "theory.certify.check", module if checker else None)
    return fakes


GOOD, OTHER = "relu.hessian_bound", "relu.critical_points"  # real registry names


def test_certifies_all_and_replays(tmp_path, monkeypatch, capsys) -> None:
    fakes = install_fakes(monkeypatch, {GOOD: "certified", OTHER: "certified"})
    assert main(["certify", "--out", str(tmp_path / "c")]) == 0
    assert fakes.certified == sorted([GOOD, OTHER])
    assert sorted(Path(t).name for t in fakes.checked) == sorted(
        [f"{GOOD}.json", f"{OTHER}.json"]), "every certificate is replayed from its file"
    out, err = capsys.readouterr()
    assert (tmp_path / "c" / f"{GOOD}.json").is_file()
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == 2 and f"{GOOD}: certified (7 leaves, 0.2 s)" in err
    assert f"{GOOD}: certified" in out and "accepted" in out


def test_names_only_the_named(tmp_path, monkeypatch, capsys) -> None:
    fakes = install_fakes(monkeypatch, {GOOD: "certified", OTHER: "undecided"})
    assert main(["certify", GOOD, "--out", str(tmp_path)]) == 0
    assert fakes.certified == [GOOD]


@pytest.mark.parametrize("verdict,invalid", [("undecided", ()), ("refuted", ()),
                                             ("certified", (GOOD,)), ("raise", ())])
def test_exit_1_unless_certified_and_accepted(tmp_path, monkeypatch, capsys, verdict,
                                              invalid) -> None:
    install_fakes(monkeypatch, {GOOD: verdict, OTHER: "certified"},
                  reasons={GOOD: "box too wide at depth 40"}, invalid=invalid)
    assert main(["certify", "--out", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if invalid:
        assert "rejected" in out and "leaf 3: enclosure lower end" in out
    if verdict == "undecided":
        assert "box too wide at depth 40" in out + err
    if verdict == "raise":
        assert "NotImplementedError" in err


def test_no_checker_is_not_success(tmp_path, monkeypatch, capsys) -> None:
    install_fakes(monkeypatch, {GOOD: "certified"}, checker=False)
    assert main(["certify", "--out", str(tmp_path)]) == 1
    assert "not replayed" in capsys.readouterr().out


def test_bad_names(tmp_path, monkeypatch, capsys) -> None:
    fakes = install_fakes(monkeypatch, {GOOD: "certified"})
    assert main(["certify", "no.such.statement", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown statement 'no.such.statement'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert main(["certify", OTHER, "--out", str(tmp_path)]) == 2  # registered, no claim
    assert "no certifiable claim" in capsys.readouterr().err
    assert fakes.certified == []


def test_unwritable_out_is_checked_before_any_work(tmp_path, monkeypatch, capsys) -> None:
    fakes = install_fakes(monkeypatch, {GOOD: "certified"})
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for out in (blocker, blocker / "sub"):
        assert main(["certify", GOOD, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "--out" in err and "not a writable directory" in err and "Traceback" not in err
    assert fakes.certified == []


def test_check_files(tmp_path, monkeypatch, capsys) -> None:
    fakes = install_fakes(monkeypatch, {GOOD: "certified"})
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"format": FORMAT, "statement": GOOD, "status": "certified"}))
    bad.write_text(json.dumps({"format": FORMAT, "statement": GOOD, "status": "certified",
                               "valid": False}))
    assert main(["certify", "--check", str(good)]) == 0
    assert ": ok" in capsys.readouterr().out
    assert main(["certify", "--check", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad} ({GOOD}, certified): rejected" in out
    assert "leaf 3: enclosure lower end -0.125 < 0" in out
    assert fakes.certified == [], "--check never runs the prover"
    assert main(["certify", "--check", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["certify", GOOD, "--check", str(good)]) == 2


def test_json_output(tmp_path, monkeypatch, capsys) -> None:
    install_fakes(monkeypatch, {GOOD: "certified", OTHER: "undecided"},
                  reasons={OTHER: "undecided: depth limit"})
    assert main(["certify", "--out", str(tmp_path), "--json"]) == 1
    out = capsys.readouterr().out
    obj = json.loads(out)
    assert out.count("\n") == 1 and obj["ok"] is False
    by = {c["statement"]: c for c in obj["certificates"]}
    assert by[GOOD]["status"] == "certified" and by[GOOD]["checker_ok"] is True
    assert by[GOOD]["leaves"] == 7 and by[GOOD]["path"] == str(tmp_path / f"{GOOD}.json")
    assert by[OTHER]["status"] == "undecided" and by[OTHER]["checker_ok"] is None
    good = tmp_path / f"{GOOD}.json"
    assert main(["certify", "--check", str(good), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["ok"] is True and obj["files"][0]["ok"] is True
