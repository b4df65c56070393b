"""``rvsm loss --model binary --ste ...``: output keys, agreement with the API, bad input."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest

from rvsm.cli import main
from theory import binary as b


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("ste", [*b.STES, None])
def test_json_has_coarse_grad_and_matches_the_api(capsys, ste) -> None:
    argv = ["loss", "--model", "binary", "--k", "3", "--w", "1,-2,0.5", "--w-star", "0.3,1,2",
            "--json"] + ([] if ste is None else ["--ste", ste])
    code, out, err = _run(capsys, argv)
    assert code == 0, err
    res = json.loads(out)
    assert set(res) == {"loss", "grad", "angle", "coarse_grad"}
    w, ws = np.array([1, -2, 0.5]), np.array([0.3, 1, 2])
    assert res["loss"] == pytest.approx(float(b.loss(w, ws, 3)), rel=1e-15)
    np.testing.assert_allclose(res["grad"], b.grad(w, ws, 3), rtol=1e-15)
    np.testing.assert_allclose(res["coarse_grad"], b.coarse_grad(w, ws, 3, ste or "relu"),
                               rtol=1e-15)


def test_dps_mode_prints_decimal_strings(capsys) -> None:
    code, out, err = _run(capsys, ["loss", "--model", "binary", "--ste", "clipped-relu",
                                   "--k", "2", "--w", "1,2", "--w-star", "-1,0.5",
                                   "--dps", "40", "--json"])
    assert code == 0, err
    res = json.loads(out)
    with mpmath.mp.workdps(40):
        ref = b.coarse_grad_mp(["1", "2"], ["-1", "0.5"], 2, "clipped-relu")
        for got, want in zip(res["coarse_grad"], ref, strict=True):
            assert isinstance(got, str)
            assert abs(mpmath.mpf(got) - want) <= mpmath.mpf(10) ** -38 * abs(want)


@pytest.mark.parametrize("dps", [[], ["--dps", "30"]])
def test_parallel_w_gives_null_gradient(capsys, dps) -> None:
    code, out, err = _run(capsys, ["loss", "--model", "binary", "--k", "2", "--w", "2,4",
                                   "--w-star", "1,2", "--json", *dps])
    assert code == 0, err
    res = json.loads(out)
    assert res["grad"] is None
    assert float(res["loss"]) == 0.0
    assert [float(x) for x in res["coarse_grad"]] == [0.0, 0.0]


def test_human_output(capsys) -> None:
    code, out, _ = _run(capsys, ["loss", "--model", "binary", "--ste", "identity", "--k", "2",
                                 "--w", "1,2", "--w-star", "2,1"])
    assert code == 0 and "coarse_grad: [" in out and out.startswith("loss: ")


def test_unknown_estimator_is_a_usage_error_listing_the_valid_ones(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["loss", "--model", "binary", "--ste", "sign", "--k", "2", "--w", "1",
              "--w-star", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert all(name in err for name in b.STES)


def test_ste_with_the_relu_model_is_rejected(capsys) -> None:
    code, out, err = _run(capsys, ["loss", "--ste", "relu", "--k", "2", "--w", "1,2",
                                   "--w-star", "2,1"])
    assert code == 2 and out == "" and "--model binary" in err


def test_relu_model_output_is_unchanged(capsys) -> None:
    code, out, _ = _run(capsys, ["loss", "--k", "2", "--w", "1,2", "--w-star", "2,1", "--json"])
    assert code == 0 and set(json.loads(out)) == {"loss", "grad", "angle"}


@pytest.mark.parametrize(("argv", "needle"), [
    (["--k", "0", "--w", "1", "--w-star", "1"], "k must be"),
    (["--k", "2", "--w", "1,2", "--w-star", "0,0"], "w_star must be nonzero"),
    (["--k", "2", "--w", "0,0", "--w-star", "1,1"], "undefined at w = 0"),
    (["--k", "2", "--w", "0,0", "--w-star", "1,1", "--dps", "20"], "undefined at w = 0"),
])
def test_bad_input_exits_2(capsys, argv, needle) -> None:
    code, out, err = _run(capsys, ["loss", "--model", "binary", *argv])
    assert code == 2 and out == "" and needle in err and err.count("\n") == 1
