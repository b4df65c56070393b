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
    capsys.readouterr()


SEL = ["select-lambda", "--target-sparsity", "0.5", "--penalty", "l1", "--k", "3",
       "--w-star", "1,-0.8,0.5,0.3", "--beta", "1"]


def test_select_lambda_dps_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--dps 30 --json: every number is a decimal string of 30 significant digits, the answer
    is accepted at 60 digits, and it agrees with the float64 run to a relative 1e-9 (the float64
    path's accuracy near a breakpoint: tests/test_limits_sparsity.py)."""
    assert main([*SEL, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*SEL, "--dps", "30", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["dps"] == 30 and obj["stable_at_double_precision"] is True
    for key in ("lam", "sparsity", "target_sparsity"):
        assert isinstance(obj[key], str)
        assert len(obj[key].lstrip("0.").replace(".", "")) == 30, obj[key]
    assert obj["support"] == plain["support"] == [0, 1]
    with mpmath.mp.workdps(40):
        assert abs(mpmath.mpf(obj["lam"]) / plain["lam"] - 1) <= 1e-9
        assert mpmath.mpf(obj["sparsity"]) == mpmath.mpf(1) / 2


def test_select_lambda_dps_l0_branches_are_decimal_strings(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = [*SEL, "--model", "binary", "--dps", "20", "--json"]
    args[args.index("l1")] = "l0"
    assert main(args) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["stable_at_double_precision"] is True and obj["branches"]
    for b in obj["branches"]:
        assert all(isinstance(b[key], str) for key in ("lam_lo", "lam_hi", "sparsity"))
        assert len(b["stable_at_double_precision"]) == 2 and isinstance(b["notes"], list)
    assert obj["lam"] == obj["branches"][0]["lam_lo"]


def test_select_lambda_dps_not_accepted_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """|w*_1| and |w*_2| differ by 1e-17 (tests/test_limits_sparsity.py): float64 prunes them
    together, at 20 digits they differ, so the answer is not refined and not accepted."""
    args = [*SEL, "--dps", "20", "--json"]
    args[args.index("1,-0.8,0.5,0.3")] = "1,0.5,-0.50000000000000001"
    args[args.index("0.5")] = "0.3"
    assert main(args) == 1
    cap = capsys.readouterr()
    assert json.loads(cap.out)["stable_at_double_precision"] is False
    assert "not accepted at 20 digits" in cap.err and "different |w*_i|" in cap.err


@pytest.mark.parametrize("extra,msg", [
    (["--dps", "14"], "--dps"), (["--dps", "401"], "--dps"), (["--dps", "nan"], "--dps"),
    (["--dps", "2.5"], "--dps"), (["--dps", "x"], "--dps"), (["--dps", "-30"], "--dps"),
    (["--target-sparsity", "nan", "--dps", "30"], "target_sparsity"),
    (["--beta", "nan", "--dps", "30"], "beta"), (["--w-star", "1,nan", "--dps", "30"], "NaN"),
])
def test_select_lambda_bad_input_is_one_line_exit_2(extra: list[str], msg: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SEL, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and msg in err and "Traceback" not in err
