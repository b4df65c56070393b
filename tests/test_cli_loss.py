"""``rvsm loss`` end to end, against an evaluation independent of the closed form.

The reference integrates over the plane span(w, w*) with mpmath quadrature (the
Gaussian's rotation invariance and the independence of patches are its only inputs):
l = [k E D^2 + (k^2 - k) (E D)^2] / k^2 with D = relu(w.x) - relu(w*.x), and
grad l = (2/k^2)[k E(D 1{w.x>0} x) + (k^2 - k) E D E(1{w.x>0} x)].
"""

from __future__ import annotations

import json

import mpmath
import pytest

from rvsm.cli import main


def _reference(w: list[str], w_star: list[str], k: int, dps: int):
    with mpmath.mp.workdps(dps + 10):
        wv = [mpmath.mpf(x) for x in w]
        sv = [mpmath.mpf(x) for x in w_star]
        dot = lambda a, b: mpmath.fsum(x * y for x, y in zip(a, b))  # noqa: E731
        s = mpmath.sqrt(dot(sv, sv))
        e1 = [x / s for x in sv]
        c1 = dot(wv, e1)
        perp = [x - c1 * y for x, y in zip(wv, e1)]
        c2 = mpmath.sqrt(dot(perp, perp))
        e2 = [x / c2 for x in perp] if c2 else [mpmath.mpf(0)] * len(wv)
        ang_w = mpmath.atan2(c2, c1)  # w = |w| (cos ang_w, sin ang_w) in the (e1, e2) plane
        r = mpmath.sqrt(c1 * c1 + c2 * c2)
        cuts = sorted({-mpmath.pi / 2, mpmath.pi / 2, ang_w - mpmath.pi / 2, ang_w + mpmath.pi / 2})
        pts = [-mpmath.pi] + [(c + mpmath.pi) % (2 * mpmath.pi) - mpmath.pi for c in cuts] + [mpmath.pi]
        pts = sorted(set(pts))
        relu = lambda x: x if x > 0 else 0  # noqa: E731

        def radial(p):  # E over rho of rho^p with density rho e^{-rho^2/2}
            return mpmath.quad(lambda q: q ** (p + 1) * mpmath.exp(-q * q / 2), [0, mpmath.inf])

        def ang(f):
            return mpmath.quad(f, pts) / (2 * mpmath.pi)

        dfun = lambda p: relu(r * mpmath.cos(p - ang_w)) - relu(s * mpmath.cos(p))  # noqa: E731
        e_d2 = radial(2) * ang(lambda p: dfun(p) ** 2)
        e_d = radial(1) * ang(dfun)
        loss = (k * e_d2 + (k * k - k) * e_d**2) / k**2
        g = []
        for comp in (mpmath.cos, mpmath.sin):  # coordinates along e1, e2
            ind = lambda p: 1 if mpmath.cos(p - ang_w) > 0 else 0  # noqa: E731
            e_dx = radial(2) * ang(lambda p, c=comp, i=ind: dfun(p) * i(p) * c(p))
            e_x = radial(1) * ang(lambda p, c=comp, i=ind: i(p) * c(p))
            g.append(2 * (k * e_dx + (k * k - k) * e_d * e_x) / k**2)
        grad = [g[0] * a + g[1] * b for a, b in zip(e1, e2)]
        angle = mpmath.acos(c1 / r)
        return loss, grad, angle


CASES = [
    (["1", "2", "3"], ["0.5", "0", "1"], 3),
    (["-1", "0.25", "2", "0.5"], ["-0.5", "1", "0", "2"], 2),
    (["0.3", "-0.2"], ["-1", "0.7"], 7),
]


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("w", "w_star", "k"), CASES)
def test_float64_json_agrees_to_1e_12(capsys, w, w_star, k) -> None:
    code, out, _ = _run(capsys, ["loss", "--model", "relu", "--k", str(k), "--w", ",".join(w),
                                 "--w-star", ",".join(w_star), "--json"])
    assert code == 0
    res = json.loads(out)
    loss, grad, angle = _reference(w, w_star, k, 30)
    assert abs(res["loss"] - loss) <= 1e-12 * abs(loss)
    gscale = max(abs(x) for x in grad)
    assert all(abs(a - b) <= 1e-12 * gscale for a, b in zip(res["grad"], grad))
    assert abs(res["angle"] - angle) <= 1e-12 * abs(angle)


@pytest.mark.parametrize(("w", "w_star", "k"), CASES[:2])
def test_dps_50_agrees_to_40_digits(capsys, w, w_star, k) -> None:
    code, out, _ = _run(capsys, ["loss", "--k", str(k), "--w", ",".join(w), "--w-star",
                                 ",".join(w_star), "--dps", "50", "--json"])
    assert code == 0
    res = json.loads(out)
    assert isinstance(res["loss"], str) and len(res["loss"].replace("-", "").replace(".", "")) >= 50
    loss, grad, angle = _reference(w, w_star, k, 50)
    with mpmath.mp.workdps(60):
        tol = mpmath.mpf(10) ** -40
        assert abs(mpmath.mpf(res["loss"]) - loss) <= tol * abs(loss)
        gscale = max(abs(x) for x in grad)
        assert all(abs(mpmath.mpf(a) - b) <= tol * gscale for a, b in zip(res["grad"], grad))
        assert abs(mpmath.mpf(res["angle"]) - angle) <= tol * abs(angle)


@pytest.mark.parametrize("spelling", [["--w-star", "-1,2"], ["--w-star=-1,2"]])
def test_negative_vectors_both_spellings(capsys, spelling) -> None:
    code, out, err = _run(capsys, ["loss", "--k", "2", "--w", "-0.5,1", *spelling, "--json"])
    assert code == 0, err
    assert set(json.loads(out)) == {"loss", "grad", "angle"}


def test_human_output(capsys) -> None:
    code, out, _ = _run(capsys, ["loss", "--k", "2", "--w", "1,2", "--w-star", "2,1"])
    assert code == 0 and out.startswith("loss: ") and "grad: [" in out and "angle: " in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--k", "0", "--w", "1", "--w-star", "1"], "k must be"),
        (["--k", "2", "--w", "1,2", "--w-star", "1"], "same length"),
        (["--k", "2", "--w", "1,2", "--w-star", "0,0"], "w_star must be nonzero"),
        (["--k", "2", "--w", "1,nan", "--w-star", "1,1"], "NaN or inf"),
        (["--k", "2", "--w", "1,inf", "--w-star", "1,1"], "NaN or inf"),
        (["--k", "2", "--w", "1,x", "--w-star", "1,1"], "non-number"),
        (["--k", "2", "--w", "0,0", "--w-star", "1,1"], "undefined at w = 0"),
        (["--k", "2", "--w", "1,1", "--w-star", "1,1", "--dps", "0"], "dps must be"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, needle) -> None:
    code, out, err = _run(capsys, ["loss", *argv])
    assert code == 2 and out == ""
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_non_integer_k_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["loss", "--k", "2.5", "--w", "1", "--w-star", "1"])
    assert exc.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_version_and_help(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and "rvsm-theory" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["loss", "--help"])
    assert exc.value.code == 0 and "--w-star" in capsys.readouterr().out
