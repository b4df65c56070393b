"""``rvsm fixed-point`` and ``rvsm select-lambda`` end to end."""

from __future__ import annotations

import json

import mpmath
import pytest

from rvsm.cli import main

BASE = ["--k", "3", "--w-star", "1,-0.8,0.5", "--lam", "0.1", "--beta", "1"]


def test_fixed_point_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixed-point", "--model", "relu", "--penalty", "l1", *BASE, "--eta", "0.5",
                 "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["unique"] is True and obj["attracting_count"] == 1
    (p,) = obj["fixed_points"]
    for key in ("w_bar", "u_bar", "support", "angle", "norm", "lagrangian", "attracting",
                "bound", "spectral_radius"):
        assert key in p
    assert p["support"] == [0, 1, 2] and p["attracting"] is True
    assert p["bound"]["w_dist"] <= p["bound"]["w_bound"]


def test_fixed_point_dps_gives_decimal_strings(capsys: pytest.CaptureFixture[str]) -> None:
    """With --dps 40 every number is a 40-digit string, u_bar = w_bar - tau exactly on the
    support (l1; tau = 0.1 parsed exactly), to 1e-38."""
    assert main(["fixed-point", "--penalty", "l1", *BASE, "--dps", "40", "--json"]) == 0
    (p,) = json.loads(capsys.readouterr().out)["fixed_points"]
    assert all(isinstance(x, str) for x in p["w_bar"] + p["u_bar"])
    with mpmath.mp.workdps(45):
        w0, u0 = mpmath.mpf(p["w_bar"][0]), mpmath.mpf(p["u_bar"][0])
        assert abs(w0 - u0 - mpmath.mpf("0.1")) < mpmath.mpf(10) ** -38


def test_fixed_point_text_and_binary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixed-point", "--model", "binary", "--penalty", "l0", *BASE]) == 0
    out = capsys.readouterr().out
    assert "fixed points:" in out and "w_bar" in out


@pytest.mark.parametrize("extra,msg", [
    (["--beta", "0"], "beta"), (["--beta", "-1"], "beta"), (["--lam", "-1"], "lam"),
    (["--lam", "nan"], "lam"), (["--w-star", "0,0"], "nonzero"), (["--w-star", "1,x"], "non-number"),
    (["--penalty", "tl1", "--a", "0"], "a must"), (["--penalty", "tl1"], "needs the parameter a"),
    (["--eta", "0"], "eta"), (["--dps", "0"], "dps"),
])
def test_bad_input_is_one_line_exit_2(extra: list[str], msg: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    args = ["fixed-point", "--penalty", "l1", *BASE, *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and msg in err and "Traceback" not in err


def test_no_fixed_point_of_the_good_family_is_a_clear_message(
        capsys: pytest.CaptureFixture[str]) -> None:
    """w* = (1, 0, 0), l0, lam so large that the only limits lie outside the good family
    (found here: the exit status and stderr say so)."""
    args = ["fixed-point", "--penalty", "l0", "--k", "1", "--w-star", "0.05,0,0", "--lam", "5",
            "--beta", "0.01", "--json"]
    rc = main(args)
    cap = capsys.readouterr()
    obj = json.loads(cap.out)
    good = [p for p in obj["fixed_points"] if p["good"]]
    if good:
        assert rc == 0
    else:
        assert rc == 1 and "no sign-consistent fixed point" in cap.err


def test_select_lambda(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["select-lambda", "--target-sparsity", "0.5", "--penalty", "l1", "--k", "3",
                 "--w-star", "1,-0.8,0.5,0.3", "--beta", "1", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["sparsity"] >= 0.5 and obj["lam"] > 0 and obj["support"] == [0, 1]
    assert main(["select-lambda", "--target-sparsity", "2", "--penalty", "l1", "--k", "3",
                 "--w-star", "1,2", "--beta", "1"]) == 2
    assert main(["select-lambda", "--target-sparsity", "0.5", "--penalty", "l1", "--k", "3",
                 "--w-star", "1,2", "--beta", "1", "--dps", "30"]) == 2
