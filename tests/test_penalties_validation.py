"""Bad input raises ValueError naming the parameter (API); the CLI prints one line, exit 2."""

from __future__ import annotations

import json
import math
from typing import Any

import mpmath
import numpy as np
import pytest

from rvsm.cli import main
from theory.penalties import Penalty

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize("kwargs,param", [
    ({"name": "tl1", "a": 0.0}, "a"), ({"name": "tl1", "a": -1.0}, "a"),
    ({"name": "tl1", "a": NAN}, "a"), ({"name": "tl1", "a": INF}, "a"),
    ({"name": "tl1"}, "a"), ({"name": "lp", "p": 0.3}, "p"), ({"name": "lp", "p": 1.0}, "p"),
    ({"name": "lp", "p": "1/3"}, "p"), ({"name": "lp", "p": NAN}, "p"),
    ({"name": "lp", "p": 0.6667}, "p"), ({"name": "lp", "p": "x"}, "p"),
    ({"name": "mcp", "gamma": 1.0}, "gamma"), ({"name": "mcp", "gamma": 0.5}, "gamma"),
    ({"name": "mcp", "gamma": NAN}, "gamma"), ({"name": "scad", "a": 2.0}, "a"),
    ({"name": "scad", "a": 1.0}, "a"), ({"name": "scad", "a": NAN}, "a"),
    ({"name": "l1-l2", "alpha": -0.1}, "alpha"), ({"name": "l1-l2", "alpha": 1.5}, "alpha"),
    ({"name": "l1-l2", "alpha": NAN}, "alpha"), ({"name": "l1", "a": 1.0}, "a"),
    ({"name": "l0", "gamma": 2.0}, "gamma"), ({"name": "nope"}, "penalty"),
    ({"name": "scad", "a": "2.0000000000000000000000001"}, None),  # valid: > 2 exactly
])
def test_bad_parameters_name_the_parameter(kwargs: dict[str, Any], param: str | None) -> None:
    if param is None:
        Penalty(**kwargs)
        return
    with pytest.raises(ValueError, match=rf"\b{param}\b"):
        Penalty(**kwargs)


@pytest.mark.parametrize("tau", [-1.0, -5e-324, NAN, INF, -INF, "nan", "-0.1", "abc", None,
                                 [1.0]])
def test_bad_tau_names_tau_everywhere(tau: Any) -> None:
    pen = Penalty("tl1", a=1.0)
    y = np.array([0.5, 2.0])
    for call in (lambda: pen.prox(y, tau), lambda: pen.moreau(y, tau),
                 lambda: pen.threshold(tau), lambda: pen.is_continuous(tau),
                 lambda: pen.prox(mpmath.mpf(1), tau), lambda: pen.group_prox(y, tau, [[0, 1]])):
        with pytest.raises(ValueError, match=r"\btau\b"):
            call()


def test_bad_y_and_groups() -> None:
    pen = Penalty("l1")
    with pytest.raises(ValueError, match=r"\by\b"):
        pen.prox(np.array([1, 2]), 1.0)  # integer dtype
    with pytest.raises(ValueError, match=r"\by\b"):
        pen.prox(mpmath.mpf("nan"), 1.0)
    with pytest.raises(ValueError, match=r"\by\b"):
        pen.prox(["1", "inf"], 1.0)
    with pytest.raises(ValueError, match=r"\by\b"):
        Penalty("l1-l2", alpha=0.5).prox(1.0, 1.0)  # vector penalty needs a vector
    y = np.ones(4)
    for groups in ([[0, 1], [1, 2]], [[0, 4]], [[]], [[-1]], [[0.5]], "ab", [[True]]):
        with pytest.raises(ValueError, match="groups"):
            pen.group_prox(y, 1.0, groups)
    with pytest.raises(ValueError, match="scalar penalty"):
        Penalty("l1-l2", alpha=0.5).group_prox(y, 1.0, [[0, 1]])


def test_nan_in_array_y_propagates_without_raising() -> None:
    # The array hot path does not inspect values (no host sync): NaN in, NaN out, elementwise.
    x = Penalty("tl1", a=1.0).prox(np.array([np.nan, 3.0]), 1.0)
    assert np.isnan(x[0]) and np.isfinite(x[1])


@pytest.mark.parametrize("argv,needle", [
    (["--penalty", "tl1", "--tau", "-1", "--a", "1", "--y", "1"], "tau"),
    (["--penalty", "tl1", "--tau", "nan", "--a", "1", "--y", "1"], "tau"),
    (["--penalty", "tl1", "--tau", "1", "--a", "0", "--y", "1"], "a must be"),
    (["--penalty", "tl1", "--tau", "1", "--y", "1"], "needs parameter a"),
    (["--penalty", "lp", "--tau", "1", "--p", "0.3", "--y", "1"], "p must be"),
    (["--penalty", "mcp", "--tau", "1", "--gamma", "1", "--y", "1"], "gamma"),
    (["--penalty", "scad", "--tau", "1", "--a", "2", "--y", "1"], "a must be"),
    (["--penalty", "l1-l2", "--tau", "1", "--alpha", "2", "--y", "1"], "alpha"),
    (["--penalty", "l1", "--tau", "1", "--y", "1,nan"], "--y"),
    (["--penalty", "l1", "--tau", "1", "--y", "1,,2"], "--y"),
    (["--penalty", "l1", "--tau", "1", "--y", "1,x"], "--y"),
    (["--penalty", "l1", "--tau", "1", "--y", "1", "--dps", "0"], "dps"),
    (["--penalty", "l1", "--tau", "1", "--a", "3", "--y", "1"], "a does not apply"),
    (["--penalty", "l1", "--tau", "1", "--y", "inf", "--dps", "30"], "y"),
])
def test_cli_bad_input_one_line_exit_2(argv: list[str], needle: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prox", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rvsm prox: error:") and needle in lines[0]
    assert "Traceback" not in err


def test_cli_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["prox", "--penalty", "huber", "--tau", "1", "--y", "1"])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prox", "--penalty", "l0", "--tau", "2", "--y", "-1,2,3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["x"] == [0.0, 0.0, 3.0] and out["threshold"] == 2.0
