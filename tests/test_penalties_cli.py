"""``rvsm prox``: values against the API, formatting, negative vectors, mpmath digits."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest

from rvsm.cli import main
from theory.penalties import Penalty


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["prox", *argv, "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out)


@pytest.mark.parametrize("argv,pen", [
    (["--penalty", "l1", "--tau", "1.5"], Penalty("l1")),
    (["--penalty", "l0", "--tau", "2"], Penalty("l0")),
    (["--penalty", "tl1", "--tau", "1", "--a", "2"], Penalty("tl1", a=2.0)),
    (["--penalty", "lp", "--tau", "1", "--p", "1/2"], Penalty("lp", p=0.5)),
    (["--penalty", "lp", "--tau", "1", "--p", "2/3"], Penalty("lp", p="2/3")),
    (["--penalty", "mcp", "--tau", "1", "--gamma", "3"], Penalty("mcp", gamma=3.0)),
    (["--penalty", "scad", "--tau", "1", "--a", "3.7"], Penalty("scad", a=3.7)),
])
def test_cli_matches_the_api(argv: list[str], pen: Penalty,
                             capsys: pytest.CaptureFixture[str]) -> None:
    y = [0.3, -2.0, 5.0, -0.7, 1.5, 0.0]
    out = _run([*argv, "--y", "0.3,-2,5,-0.7,1.5,0"], capsys)
    tau = float(argv[3])
    assert out["x"] == pen.prox(np.array(y), tau).tolist()
    assert out["threshold"] == pen.threshold(tau).zero
    assert out["continuous"] == pen.is_continuous(tau)
    assert out["moreau"] == pytest.approx(pen.moreau(np.array(y), tau).tolist(), rel=1e-15)
    assert all(str(v) != "-0.0" for v in out["x"])


def test_cli_negative_vector_and_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prox", "--penalty", "l1", "--tau", "1", "--y", "-1,2"]) == 0
    text = capsys.readouterr().out
    assert "x: [0.0, 1.0]" in text and "threshold: 1.0" in text
    out = _run(["--penalty", "l1", "--tau", "1", "--y", "-3"], capsys)
    assert out["x"] == [-2.0]


def test_cli_l1_l2_vector(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(["--penalty", "l1-l2", "--alpha", "0.5", "--tau", "1", "--y", "-1,2,0.3"], capsys)
    assert out["x"] == [0.0, 1.5, 0.0]  # z = (0, 1, 0), x = z (1 + tau alpha/|z|)
    assert out["threshold"] == 0.5 and out["knots"] == [0.5, 1.0]
    assert isinstance(out["moreau"], float)


def test_cli_dps_parses_text_and_prints_digits(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(["--penalty", "tl1", "--a", "0.1", "--tau", "0.3", "--y", "1.7,-0.1",
                "--dps", "40"], capsys)
    with mpmath.mp.workdps(40):
        want = Penalty("tl1", a="0.1").prox([mpmath.mpf("1.7"), mpmath.mpf("-0.1")], "0.3")
        got = [mpmath.mpf(v) for v in out["x"]]
        assert all(abs(g - w) <= mpmath.mpf(10) ** -39 * abs(w) for g, w in zip(got, want,
                                                                               strict=True))
    # text was parsed at 40 digits, not via float: differs from the float-parsed value
    with mpmath.mp.workdps(40):
        via_float = Penalty("tl1", a=0.1).prox(mpmath.mpf(1.7), 0.3)
    assert abs(mpmath.mpf(out["x"][0]) - via_float) > mpmath.mpf(10) ** -20
    assert isinstance(out["threshold"], str) and len(out["threshold"].replace(".", "")) >= 40


def test_cli_tie_rule(capsys: pytest.CaptureFixture[str]) -> None:
    # TL1 a = 2, tau = 3/2: exact tie at y = 2 between 0 and 1; the smaller is returned.
    out = _run(["--penalty", "tl1", "--a", "2", "--tau", "1.5", "--y", "2,-2,2.000001"], capsys)
    assert out["x"][:2] == [0.0, 0.0] and out["x"][2] > 1
    assert out["jump_at"] == 2.0 and out["jump"] == 1.0 and out["continuous"] is False
    out = _run(["--penalty", "tl1", "--a", "2", "--tau", "1.5", "--y", "2", "--dps", "25"],
               capsys)
    assert mpmath.mpf(out["x"][0]) == 0
