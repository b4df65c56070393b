"""The independent checker of fixed-point-set certificates (theory.certify.check_sets): real
certificates of certify_binary are accepted, every tampering is rejected with a reason."""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from mpmath import iv

from theory.certify.check_sets import SetCheckReport, check_set
from theory.certify.fixed_points import certify_binary

P2 = {"w_star": [1.0, 0.5, 0.0, -0.3], "k": 4, "lam": 0.01, "beta": 1.0, "eta": 0.5}


@pytest.fixture(scope="module")
def certs() -> dict[str, dict]:
    out = {}
    for pen in ("l0", "l1"):
        cs = certify_binary(P2["w_star"], P2["k"], pen, P2["lam"], P2["beta"], eta=P2["eta"])
        assert cs.status == "complete"
        out[pen] = json.loads(json.dumps(cs.certificate()))
    return out


def _rejected(cert: dict, *needles: str) -> SetCheckReport:
    rep = check_set(cert)
    assert not rep.ok
    text = "\n".join(rep.reasons)
    for n in needles:
        assert n in text, (n, rep.reasons)
    return rep


def _first_points(cert: dict) -> dict:
    return next(e for e in cert["cover"] if e["verdict"] == "points" and e["points"])


def test_p2_certificates_are_accepted(certs: dict[str, dict], tmp_path: Path) -> None:
    saved = iv.prec
    for pen, cert in certs.items():
        rep = check_set(cert)
        assert rep.ok, (pen, rep.reasons)
        assert rep.intervals == len(cert["cover"]) and rep.seconds < 5
        assert iv.prec == saved
    # JSON text and a file path are accepted too
    assert check_set(json.dumps(certs["l0"])).ok
    path = tmp_path / "set.json"
    path.write_text(json.dumps(certs["l1"]))
    assert check_set(path).ok


def test_other_options_are_accepted() -> None:
    """identity STE, no eta (no stability claims), one coordinate (S^0)."""
    for kw in ({"ste": "identity", "eta": 0.5}, {}):
        cs = certify_binary(P2["w_star"], 2, "l0", 0.02, 0.5, **kw)
        assert cs.status == "complete"
        rep = check_set(cs.certificate())
        assert rep.ok, (kw, rep.reasons)
    cs = certify_binary([-0.7], 3, "l1", 0.01, 1.0, eta=0.5)
    assert cs.status == "complete" and check_set(cs.certificate()).ok


def test_random_instances_are_accepted() -> None:
    """20 random instances (d <= 5, zeros in w*, l1 and l0).  Known search defect: for l1 the
    search lists, at alpha = 0, families with a w*_i = 0 coordinate "kept" free although the kept
    branch there reads 0 * x + lam = 0, impossible for lam > 0; the checker rejects those
    certificates, and for them only that reason is allowed."""
    rng = np.random.default_rng(7)
    accepted = 0
    for n in range(20):
        d = int(rng.integers(1, 6))
        ws = np.round(rng.standard_normal(d) * (rng.random(d) > 0.3), 3)
        if not np.any(ws):
            ws[0] = 1.0
        k, pen = int(rng.integers(1, 6)), ("l1", "l0")[n % 2]
        beta = float(np.round(rng.uniform(0.1, 2), 3))
        lam = float(np.round(np.exp(rng.uniform(np.log(1e-3), np.log(0.3))), 4))
        cs = certify_binary(ws.tolist(), k, pen, lam, beta, eta=0.5)
        rep = check_set(json.loads(json.dumps(cs.certificate())))
        if cs.status != "complete":
            assert not rep.ok and any("status" in r for r in rep.reasons)
            continue
        bogus = pen == "l1" and any(Fraction(f["alpha"]) == 0 for f in cs.certificate()
                                    ["families"])
        if bogus:
            assert not rep.ok
            assert all("alpha = 0" in r and "not a possible family" in r for r in rep.reasons)
            continue
        assert rep.ok, (ws.tolist(), k, pen, lam, beta, rep.reasons)
        accepted += 1
    assert accepted >= 15


def test_removed_point_is_rejected(certs: dict[str, dict]) -> None:
    for pen in ("l0", "l1"):
        cert = copy.deepcopy(certs[pen])
        _first_points(cert)["points"].pop(0)
        _rejected(cert, "neither excluded nor listed", "the cover certifies")
        # the same point dropped from the summary too: the cover still shows it is there
        cert["points"].pop(0)
        _rejected(cert, "neither excluded nor listed")


def test_interval_relabelled_excluded_is_rejected(certs: dict[str, dict]) -> None:
    cert = copy.deepcopy(certs["l0"])
    e = _first_points(cert)
    e["verdict"] = "excluded"
    del e["points"]
    _rejected(cert, "marked excluded, but pattern")


def test_moved_root_is_rejected(certs: dict[str, dict]) -> None:
    cert = copy.deepcopy(certs["l0"])
    e = _first_points(cert)
    a, b = (Fraction(v) for v in e["alpha"])
    ra, rb = (Fraction(v) for v in e["points"][0]["root"])
    e["points"][0]["root"] = [str(rb), str(b)] if rb < b else [str(a), str(ra)]
    _rejected(cert, "no certain sign change")
    e["points"][0]["root"] = [str(b), str(b + 1)]
    _rejected(cert, "not inside the cover interval")


def test_gap_in_cover_is_rejected(certs: dict[str, dict]) -> None:
    cert = copy.deepcopy(certs["l0"])
    e = next(e for e in cert["cover"] if e["verdict"] == "excluded")
    a, b = (Fraction(v) for v in e["alpha"])
    e["alpha"][1] = str((a + b) / 2)
    _rejected(cert, "gap")
    cert = copy.deepcopy(certs["l0"])
    cert["cover"].pop(len(cert["cover"]) // 2)
    _rejected(cert, "gap")
    cert = copy.deepcopy(certs["l1"])
    cert["cover"].pop(0)
    _rejected(cert, "not at the domain's lo")


def test_narrowed_domain_is_rejected(certs: dict[str, dict]) -> None:
    cert = copy.deepcopy(certs["l0"])
    cert["instance"]["domain"][1] = "1/20"  # c = 0.0997...
    cert["cover"] = [e for e in cert["cover"] if Fraction(e["alpha"][1]) <= Fraction(1, 20)]
    cert["cover"][-1]["alpha"][1] = "1/20"
    _rejected(cert, "is not certainly >= c")


def test_family_removed_or_flipped_is_rejected(certs: dict[str, dict]) -> None:
    cert = copy.deepcopy(certs["l0"])
    assert len(cert["families"]) == 1
    cert["families"] = []
    _rejected(cert, "exists but is not listed")
    cert = copy.deepcopy(certs["l0"])
    cert["families"][0]["exists"] = False
    _rejected(cert, "listed with exists = False, recomputed True")


def test_spurious_family_is_rejected(certs: dict[str, dict]) -> None:
    """l1 at alpha = 0: the kept branch of a w*_i = 0 coordinate has no solution (lam > 0)."""
    cert = copy.deepcopy(certs["l1"])
    cert["families"].append({"alpha": "0", "free": [2], "fixed": [[0, "pruned"],
                             [1, "pruned"], [3, "pruned"]], "exists": True, "values": []})
    _rejected(cert, "not a possible family")


def test_changed_instance_is_rejected(certs: dict[str, dict]) -> None:
    # (for l0, lam only moves the threshold z = sqrt(2 lam/beta): lam = 1/50 keeps the same
    # set valid, so the change must move z past a coordinate: 1/5 gives z = 0.63)
    for pen, lam in (("l0", "1/5"), ("l1", "1/50")):
        cert = copy.deepcopy(certs[pen])
        cert["instance"]["lam"] = lam
        _rejected(cert)
    cert = copy.deepcopy(certs["l0"])
    cert["instance"]["w_star"][1] = "3/5"
    _rejected(cert)


def test_stability_claims_are_checked(certs: dict[str, dict]) -> None:
    cert = copy.deepcopy(certs["l0"])
    p = next(p for p in cert["points"] if p["stability"] == "attracting")
    p["stability"] = "repelling"
    _rejected(cert, "'repelling' not proved")
    cert = copy.deepcopy(certs["l0"])
    p = next(p for p in cert["points"] if p["stability"] == "repelling")
    p["stability"] = "attracting"
    _rejected(cert, "'attracting' not proved")
    cert = copy.deepcopy(certs["l0"])
    cert["points"][0]["good"] = not cert["points"][0]["good"]
    _rejected(cert, "good =")


def test_undecided_and_malformed_are_rejected(certs: dict[str, dict]) -> None:
    cert = copy.deepcopy(certs["l0"])
    cert["status"] = "undecided"
    _rejected(cert, "status is 'undecided'")
    cs = certify_binary([1.0, 0.0], 1, "l1", 0.0, 1.0, eta=0.5, max_boxes=2000)
    assert cs.status == "undecided"
    _rejected(cs.certificate(), "status")
    bad = copy.deepcopy(certs["l0"])
    bad["format"] = "rvsm-certificate/1"
    _rejected(bad, "malformed")
    bad = copy.deepcopy(certs["l0"])
    bad["instance"]["lam"] = 0.01  # a float, not an exact rational
    _rejected(bad, "malformed")
    assert not check_set("{not json").ok


def test_cli(certs: dict[str, dict], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from theory.certify.check_sets import main

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(certs["l0"]))
    assert main([str(good)]) == 0 and "OK" in capsys.readouterr().out
    cert = copy.deepcopy(certs["l0"])
    cert["status"] = "undecided"
    bad.write_text(json.dumps(cert))
    assert main([str(good), str(bad)]) == 1 and "REJECTED" in capsys.readouterr().out
