"""Binary activation: the numeric evaluators (NumPy f64/f32, torch, mpmath) and the
special points t = 0, t = pi, w = 0.

Tolerances.  The array kernels take the scalars (|w|, angle, invariants of v) computed by
:mod:`theory.geometry` and NumPy sums, and evaluate the closed forms.  The angle is
absolutely (not relatively) accurate, and the closed forms can be steep in the angle (the
clipped-relu erf(1/(sqrt2 r sin t)) varies on the scale t ~ 1/r), so an end-to-end bound
would mostly measure the conditioning of the problem.  Each test therefore compares the
float result with the *exact* closed form (mpmath, 50 digits) evaluated at the float
scalars (converted exactly), and allows ``32 eps`` (``64 eps`` with a trainable second
layer) times the magnitude scale of the formula:

* fixed layer: |alpha| + |beta| for coarse gradients (two rounded unit vectors and two
  rounded coefficients, each a few operations, plus erf in float64 for float32);
  |G|(1 + 1/sin t) for the true gradient (the unit normal is computed by Gram-Schmidt
  and has relative error ~eps/sin t); the value itself for the loss and the correlation;
* second layer: S^2 with S = |v|_1 + |v*|_1 (every term of the loss and of alpha, beta is
  a product of two entries of v, v* and a factor <= 1), divided by |w| (and times
  1 + 1/sin t) for the w-gradient, and S for the v-gradient (linear in v, v*); plus
  64 * (smallest normal number) for underflow of products of tiny entries.

eps is the unit roundoff of the dtype (2.2e-16, 1.2e-7).  The mpmath evaluators are
checked at 50 digits against 80 digits (tolerance 1e-45 relative to the same scales).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.strategies import finite, ks, teacher_student_pairs
from theory import binary as b

EPS = {np.float64: float(np.finfo(np.float64).eps), np.float32: float(np.finfo(np.float32).eps)}


@st.composite
def v_pairs(draw: st.DrawFn, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Second layers with the edge cases pinned: fixed 1/k, v = v*, v = -v*, v.v* = 0, v = 0."""
    vs = np.array(draw(st.lists(finite, min_size=k, max_size=k)))
    kind = draw(st.sampled_from(["generic", "fixed", "equal", "opposite", "orthogonal", "zero"]))
    if kind == "fixed":
        return np.full(k, 1.0 / k), np.full(k, 1.0 / k)
    if kind == "equal":
        return vs.copy(), vs
    if kind == "opposite":
        return -vs, vs
    if kind == "zero":
        return np.zeros(k), vs
    v = np.array(draw(st.lists(finite, min_size=k, max_size=k)))
    if kind == "orthogonal" and vs @ vs > 0:
        v = v - (v @ vs) / (vs @ vs) * vs
    return v, vs


@st.composite
def angle_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float]:
    """w at a drawn angle (0, pi/2, pi pinned, exactly) from w* in a random plane of R^d."""
    d = draw(st.sampled_from([2, 3]) | st.integers(2, 8))
    t = draw(st.sampled_from([0.0, math.pi / 2, math.pi]) | st.floats(0, math.pi))
    r = draw(st.sampled_from([1e-3, 0.1, 1.0, 7.0, 1e3]) | st.floats(0.01, 50))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    q, _ = np.linalg.qr(rng.standard_normal((d, 2)))
    e1, e2 = q[:, 0], q[:, 1]
    w_star = 1.7 * e1
    if t == 0.0:
        w = r * e1
    elif t == math.pi:
        w = -r * e1
    else:
        w = r * (math.cos(t) * e1 + math.sin(t) * e2)
    return w, w_star, t


def _mpv(x: np.ndarray) -> list:
    return [mpmath.mpf(float(xi)) for xi in x]


def _float_scalars(w: np.ndarray, w_star: np.ndarray) -> tuple:
    pl = b._plane(w, w_star)
    return mpmath.mpf(float(pl.r_safe)), mpmath.mpf(float(pl.t)), float(pl.r)


def _check_fixed(w: np.ndarray, w_star: np.ndarray, k: int, dtype) -> None:
    eps = EPS[dtype]
    wa, sa = w.astype(dtype), w_star.astype(dtype)
    assert np.all(np.isfinite(wa)) and np.any(sa != 0)
    kern = b._kernels()
    with mpmath.mp.workdps(50):
        ex = b._plane_mp(_mpv(wa), _mpv(sa))          # exact unit vectors, normal
        rf, tf, r_float = _float_scalars(wa, sa)
        # loss
        got = b.loss(wa, sa, k)
        assert got.dtype == dtype
        ref = kern["loss" if r_float else "loss0"].mp(k, rf, tf)
        assert abs(float(got) - ref) <= 32 * eps * abs(ref)
        # coarse gradients
        for ste in b.STES:
            got = b.coarse_grad(wa, sa, k, ste)
            assert got.dtype == dtype
            if not r_float:
                beta0 = kern[f"beta0:{ste}"].mp(k, rf, tf)
                ref = [beta0 * y for y in ex.ws_hat]
                scale = abs(beta0)
            else:
                al, be = kern[f"alpha:{ste}"].mp(k, rf, tf), kern[f"beta:{ste}"].mp(k, rf, tf)
                ref = [al * x + be * y for x, y in zip(ex.w_hat, ex.ws_hat, strict=True)]
                scale = abs(al) + abs(be)
            err = max(abs(float(g) - x) for g, x in zip(got, ref, strict=True))
            assert err <= 32 * eps * scale, (ste, err / (eps * scale))
            corr = b.correlation(wa, sa, k, ste)
            if r_float:
                cref = kern[f"corr:{ste}"].mp(k, rf, tf)
                if abs(cref) * 4 < np.finfo(dtype).max:  # ~1/|w|: overflows for |w| ~ 1e-308
                    assert abs(float(corr) - cref) <= 32 * eps * abs(cref)
                assert float(corr) >= 0
            else:
                assert np.isnan(corr)
        # true gradient: NaN where the float angle is 0 or pi (or w = 0)
        g = b.grad(wa, sa, k)
        if not r_float or float(tf) in (0.0, float(dtype(math.pi))):  # pi rounded to dtype
            assert np.all(np.isnan(g))
            return
        gc = kern["G"].mp(k, rf, tf)
        if abs(gc) * 4 > np.finfo(dtype).max:  # |grad| = 1/(pi k |w|) overflows: inf is right
            return
        if ex.n is None:  # exactly parallel, float angle > 0: only the norm is defined
            assert abs(np.linalg.norm(g.astype(float)) - abs(gc)) <= 32 * eps * abs(gc)
            return
        err = max(abs(float(a) - gc * n) for a, n in zip(g, ex.n, strict=True))
        assert err <= 32 * eps * abs(gc) * (1 + 1 / mpmath.sin(tf))


@settings(max_examples=examples(300))
@given(teacher_student_pairs(), ks)
@example((np.array([1.0, 2.0, -1.0]), np.array([1.0, 2.0, -1.0])), 1)      # t = 0
@example((np.array([-1.0, -2.0, 1.0]), np.array([1.0, 2.0, -1.0])), 3)     # t = pi
@example((np.array([2.0, -1.0, 0.0]), np.array([1.0, 2.0, -1.0])), 2)      # t = pi/2
@example((np.array([1e3, 1e-3]), np.array([1.0, 1e-6])), 4)                # large r, tiny t
def test_fixed_layer_float64(pair, k_) -> None:
    _check_fixed(*pair, k_, np.float64)


@settings(max_examples=examples(300))
@given(teacher_student_pairs(single=True), ks)
@example((np.array([1.0, 2.0], np.float32), np.array([1.0, 2.0])), 1)
@example((np.array([-1.0, -2.0], np.float32), np.array([1.0, 2.0])), 2)
def test_fixed_layer_float32(pair, k_) -> None:
    _check_fixed(*pair, k_, np.float32)


@settings(max_examples=examples(300))
@given(angle_pairs(), ks)
def test_fixed_layer_at_drawn_angles(trip, k_) -> None:
    w, w_star, t = trip
    _check_fixed(w, w_star, k_, np.float64)
    _check_fixed(w, w_star, k_, np.float32)


def _check_general(w, w_star, v, vs, dtype) -> None:
    eps = EPS[dtype]
    wa, sa, va, vsa = (x.astype(dtype) for x in (w, w_star, v, vs))
    if not np.any(sa != 0):  # the teacher underflows in float32: not a valid input there
        return
    kern = b._kernels()
    scale_v = np.abs(va.astype(float)).sum() + np.abs(vsa.astype(float)).sum() + 1e-300
    tiny = 64 * float(np.finfo(dtype).tiny)  # products of entries < sqrt(tiny) underflow
    tol = 64 * eps * scale_v**2 + tiny  # loss, alpha, beta, v.v*: quadratic in (v, v*)
    tol_lin = 64 * eps * scale_v + tiny  # the v-gradient: linear in (v, v*)
    with mpmath.mp.workdps(50):
        ex = b._plane_mp(_mpv(wa), _mpv(sa))
        rf, tf, r_float = _float_scalars(wa, sa)
        vm, vsm = _mpv(va), _mpv(vsa)
        inv = (mpmath.fsum(x * x for x in vm), mpmath.fsum(x * y for x, y in zip(vm, vsm)),
               mpmath.fsum(x * x for x in vsm), mpmath.fsum(vm), mpmath.fsum(vsm))
        args = (*inv, rf, tf)
        got = b.loss_v(wa, va, sa, vsa)
        assert got.dtype == dtype
        ref = kern["loss_v" if r_float else "loss_v0"].mp(*args)
        assert abs(float(got) - ref) <= tol
        cv, c1, cs = (kern[n].mp(*args) for n in ("cv", "c1", "cs"))
        gv_ref = [cv * a + c1 + cs * c for a, c in zip(vm, vsm, strict=True)] if r_float \
            else [0] * len(vm)
        gr = b.grad_v(wa, va, sa, vsa)
        assert max(abs(float(a) - c) for a, c in zip(gr.v, gv_ref, strict=True)) <= tol_lin
        gc = kern["G_v"].mp(*args)
        overflow = abs(gc) * 4 > np.finfo(dtype).max  # |v.v*|/(pi |w|) beyond the dtype
        if r_float and ex.n is not None and 0 < float(tf) < float(dtype(math.pi)) and not overflow:
            err = max(abs(float(a) - gc * n) for a, n in zip(gr.w, ex.n, strict=True))
            assert err <= tol / rf * (1 + 1 / mpmath.sin(tf))
        for ste in b.STES:
            cg = b.coarse_grad_v(wa, va, sa, vsa, ste)
            assert cg.w.dtype == dtype and cg.v.dtype == dtype
            if r_float:
                al, be = kern[f"alpha_v:{ste}"].mp(*args), kern[f"beta_v:{ste}"].mp(*args)
                ref = [al * x + be * y for x, y in zip(ex.w_hat, ex.ws_hat, strict=True)]
            else:
                be0 = kern[f"beta0_v:{ste}"].mp(*args)
                ref = [be0 * y for y in ex.ws_hat]
            assert max(abs(float(a) - c) for a, c in zip(cg.w, ref, strict=True)) <= tol
            np.testing.assert_array_equal(cg.v, gr.v)
            if r_float:
                corr = b.correlation_v(wa, va, sa, vsa, ste)
                assert float(corr) >= 0  # w block: product of factors >= 0; v block: a square


@settings(max_examples=examples(300))
@given(st.data(), teacher_student_pairs(scaled=False), st.sampled_from([1, 2]) | st.integers(1, 6))
def test_general_layer_float64_and_float32(data, pair, k_) -> None:
    v, vs = data.draw(v_pairs(k_))
    _check_general(*pair, v, vs, np.float64)
    _check_general(*pair, v, vs, np.float32)


@settings(max_examples=examples(200))
@given(st.data(), angle_pairs(), st.sampled_from([1, 2]) | st.integers(1, 5))
def test_general_layer_at_drawn_angles(data, trip, k_) -> None:
    w, w_star, _ = trip
    v, vs = data.draw(v_pairs(k_))
    _check_general(w, w_star, v, vs, np.float64)


# ------------------------------------------------------------------- mpmath precision

@pytest.mark.parametrize("ste", b.STES)
def test_mpmath_50_digits_against_80(ste: str) -> None:
    w, ws, v, vs = ["0.3", "-1.25", "2"], ["1", "0.5", "-0.75"], ["0.5", "1.5"], ["-1", "0.25"]
    outs = []
    for dps in (50, 80):
        with mpmath.mp.workdps(dps):
            outs.append([b.loss_mp(w, ws, 2), *b.grad_mp(w, ws, 2),
                         *b.coarse_grad_mp(w, ws, 2, ste), b.correlation_mp(w, ws, 2, ste),
                         b.loss_v_mp(w, v, ws, vs), *b.grad_v_mp(w, v, ws, vs).w,
                         *b.grad_v_mp(w, v, ws, vs).v, *b.coarse_grad_v_mp(w, v, ws, vs, ste).w,
                         b.correlation_v_mp(w, v, ws, vs, ste)])
    with mpmath.mp.workdps(90):
        for a, c in zip(*outs, strict=True):
            assert abs(a - c) <= mpmath.mpf(10) ** -45 * (1 + abs(c))


def test_mp_dps_argument_scopes_precision() -> None:
    before = mpmath.mp.prec
    x = b.coarse_grad_mp(["1", "2"], ["2", "-1"], 3, "clipped-relu", dps=70)
    assert mpmath.mp.prec == before
    with mpmath.mp.workdps(70):
        y = b.coarse_grad_mp(["1", "2"], ["2", "-1"], 3, "clipped-relu")
    assert x == y


# ----------------------------------------------------------------------- torch

@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_matches_numpy_and_keeps_dtype(dtype) -> None:
    rng = np.random.default_rng(5)
    w, ws = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    w[1] = 2.0 * ws[1]   # t = 0
    w[2] = -ws[2]        # t = pi
    w[3] = 0.0           # w = 0
    v, vs = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    npd = np.float64 if dtype == torch.float64 else np.float32
    tol = 64 * EPS[npd]
    tw, tws, tv, tvs = (torch.tensor(x, dtype=dtype) for x in (w, ws, v, vs))
    wa, wsa, va, vsa = (x.astype(npd) for x in (w, ws, v, vs))
    pairs = [(b.loss(tw, tws, 3), b.loss(wa, wsa, 3)), (b.grad(tw, tws, 3), b.grad(wa, wsa, 3)),
             (b.loss_v(tw, tv, tws, tvs), b.loss_v(wa, va, wsa, vsa))]
    for ste in b.STES:
        pairs += [(b.coarse_grad(tw, tws, 3, ste), b.coarse_grad(wa, wsa, 3, ste)),
                  (b.correlation(tw, tws, 3, ste), b.correlation(wa, wsa, 3, ste)),
                  (b.coarse_grad_v(tw, tv, tws, tvs, ste).w,
                   b.coarse_grad_v(wa, va, wsa, vsa, ste).w)]
    for tt, nn in pairs:
        assert tt.dtype == dtype
        np.testing.assert_allclose(tt.numpy(), nn, rtol=tol, atol=tol, equal_nan=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_cuda_keeps_the_device() -> None:
    ws = torch.tensor([[1.0, 0.5], [1.0, 0.5], [1.0, 0.5]], device="cuda")
    w = torch.tensor([[0.3, -2.0], [2.0, 1.0], [0.0, 0.0]], device="cuda")  # generic, t=0, w=0
    v = torch.tensor([0.5, -1.0], device="cuda")
    outs = [b.loss(w, ws, 2), b.grad(w, ws, 2), b.loss_v(w, v, ws, v), *b.grad_v(w, v, ws, v)]
    for ste in b.STES:
        outs += [b.coarse_grad(w, ws, 2, ste), b.correlation(w, ws, 2, ste),
                 *b.coarse_grad_v(w, v, ws, v, ste), b.correlation_v(w, v, ws, v, ste)]
    for o in outs:
        assert o.device.type == "cuda" and o.dtype == torch.float32
    np.testing.assert_allclose(b.coarse_grad(w, ws, 2, "clipped-relu").cpu().numpy(),
                               b.coarse_grad(w.cpu().numpy(), ws.cpu().numpy(), 2,
                                             "clipped-relu"), rtol=1e-5, atol=1e-7)


def test_torch_autograd_of_the_loss_is_the_gradient() -> None:
    rng = np.random.default_rng(6)
    for _ in range(5):
        w0, ws0 = rng.standard_normal(4), rng.standard_normal(4)
        v0, vs0 = rng.standard_normal(3), rng.standard_normal(3)
        w = torch.tensor(w0, requires_grad=True)
        v = torch.tensor(v0, requires_grad=True)
        b.loss(w, torch.tensor(ws0), 3).backward()
        np.testing.assert_allclose(w.grad.numpy(), b.grad(w0, ws0, 3), rtol=1e-12, atol=1e-15)
        w.grad = None
        b.loss_v(w, v, torch.tensor(ws0), torch.tensor(vs0)).backward()
        g = b.grad_v(w0, v0, ws0, vs0)
        np.testing.assert_allclose(w.grad.numpy(), g.w, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(v.grad.numpy(), g.v, rtol=1e-12, atol=1e-15)
        wt = torch.tensor(w0, requires_grad=True)  # autograd through erf in the clipped STE
        b.correlation(wt, torch.tensor(ws0), 2, "clipped-relu").backward()
        assert torch.all(torch.isfinite(wt.grad))


# --------------------------------------------------------------- special points

C3 = 1 / (3 * math.sqrt(2 * math.pi))  # c for k = 3


def test_at_t_zero() -> None:
    ws = np.array([0.6, -0.8, 0.0])
    w = 2.0 * ws  # a power of 2: the unit vectors are bitwise equal, the angle exactly 0
    assert b.loss(w, ws, 3) == 0
    assert np.all(np.isnan(b.grad(w, ws, 3)))
    for ste in b.STES:  # w^ = w*^: every coarse gradient vanishes
        np.testing.assert_allclose(b.coarse_grad(w, ws, 3, ste), 0, atol=1e-16)
        assert b.correlation(w, ws, 3, ste) == 0
        assert b.correlation_mp(["3", "4"], ["6", "8"], 3, ste) == 0
    with pytest.raises(ValueError, match="parallel"):
        b.grad_mp(["3", "4"], ["6", "8"], 3)
    v, vs = np.array([1.0, -2.0, 0.5]), np.array([2.0, 1.0, 0.0])  # v.v* = 0: gradient 0
    np.testing.assert_array_equal(b.grad_v(w, v, ws, vs).w, 0)
    assert b.grad_v_mp(["3", "4"], ["1", "-2", "0.5"], ["6", "8"], ["2", "1", "0"]).w == [0, 0]


def test_at_t_pi() -> None:
    ws = np.array([0.6, -0.8])
    w = -1.5 * ws
    assert b.loss(w, ws, 3) == pytest.approx(1 / 3, rel=1e-15)
    assert np.all(np.isnan(b.grad(w, ws, 3)))
    w_hat = w / np.linalg.norm(w)

    def expected(r: float) -> dict[str, float]:  # all parallel to w^: no rotation towards w*
        y = 1 / (2 * r**2)
        return {"relu": 2 * C3, "identity": 4 * C3, "clipped-relu": -2 * C3 * math.expm1(-y)}

    for ste, coef in expected(1.5).items():
        np.testing.assert_allclose(b.coarse_grad(w, ws, 3, ste), coef * w_hat, rtol=1e-14)
        # float pi is pi - 1.2e-16: the closed form there is ~ sin(fl(pi)) ~ 1e-16 * scale
        assert 0 <= b.correlation(w, ws, 3, ste) <= 1e-16
    wm, wsm = ["-3", "4"], ["1.5", "-2"]  # exactly antiparallel binary numbers, |w| = 5
    for ste, coef in expected(5.0).items():
        assert b.correlation_mp(wm, wsm, 3, ste) == 0
        with mpmath.mp.workdps(30):
            got = b.coarse_grad_mp(wm, wsm, 3, ste)
        np.testing.assert_allclose([float(x) for x in got], coef * np.array([-0.6, 0.8]),
                                   rtol=1e-14)
    with mpmath.mp.workdps(40):
        assert abs(b.loss_mp(wm, wsm, 3) - mpmath.mpf(1) / 3) < mpmath.mpf(10) ** -39
    with pytest.raises(ValueError, match="parallel"):
        b.grad_mp(wm, wsm, 3)


def test_float32_at_pi_where_sin_t_rounds_negative() -> None:
    """float32(pi) > pi, so sin(t) < 0 there; erf_ratio reads y <= 0 as the limit y -> 0+."""
    ws = np.array([1.0, 0.0], np.float32)
    g = b.coarse_grad(-ws, ws, 3, "clipped-relu")
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [2 * C3 * math.expm1(-0.5), 0], rtol=1e-6)  # w^ = (-1, 0)


def test_at_w_zero() -> None:
    ws = np.array([3.0, -4.0])
    z = np.zeros(2)
    assert b.loss(z, ws, 3) == pytest.approx(4 / 12, rel=1e-15)  # (k + 1)/(4k)
    assert np.all(np.isnan(b.grad(z, ws, 3)))
    np.testing.assert_array_equal(b.coarse_grad(z, ws, 3, "relu"), 0)
    np.testing.assert_array_equal(b.coarse_grad(z, ws, 3, "clipped-relu"), 0)
    np.testing.assert_allclose(b.coarse_grad(z, ws, 3, "identity"), -2 * C3 * ws / 5, rtol=1e-15)
    assert np.isnan(b.correlation(z, ws, 3, "relu"))
    with pytest.raises(ValueError, match="w = 0"):
        b.grad_mp(["0", "0"], ["3", "-4"], 3)
    with pytest.raises(ValueError, match="w = 0"):
        b.correlation_mp(["0", "0"], ["3", "-4"], 3)
    assert b.loss_mp(["0", "0"], ["3", "-4"], 3) == mpmath.mpf(1) / 3
    v, vs = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    assert b.loss_v(z, v, ws, vs) == pytest.approx((1.25 + 0.25) / 4, rel=1e-15)
    gr = b.grad_v(z, v, ws, vs)
    assert np.all(np.isnan(gr.w)) and np.all(gr.v == 0)
    cg = b.coarse_grad_v(z, v, ws, vs, "identity")
    np.testing.assert_allclose(cg.w, 2 * 1.5 / math.sqrt(2 * math.pi) * ws / 5, rtol=1e-15)
    np.testing.assert_array_equal(cg.v, 0)
    with pytest.raises(ValueError, match="w = 0"):
        b.grad_v_mp(["0", "0"], ["1", "2"], ["3", "-4"], ["0.5", "-1"])


def test_batched_broadcasting() -> None:
    rng = np.random.default_rng(1)
    w, ws = rng.standard_normal((5, 2, 4)), rng.standard_normal((2, 4))
    for ste in b.STES:
        out = b.coarse_grad(w, ws, 2, ste)
        assert out.shape == (5, 2, 4)
        np.testing.assert_allclose(out[3, 1], b.coarse_grad(w[3, 1], ws[1], 2, ste), rtol=1e-15)
    assert b.loss(w, ws, 2).shape == (5, 2)
    v, vs = rng.standard_normal((5, 2, 3)), rng.standard_normal(3)
    g = b.coarse_grad_v(w, v, ws, vs, "clipped-relu")
    assert g.w.shape == (5, 2, 4) and g.v.shape == (5, 2, 3)


# --------------------------------------------------------------------- bad input

@pytest.mark.parametrize(("call", "needle"), [
    (lambda: b.loss(np.ones(2), np.zeros(2), 2), "w_star must be nonzero"),
    (lambda: b.loss(np.ones(2), np.ones(3), 2), "same length"),
    (lambda: b.grad(np.array([1.0, np.nan]), np.ones(2), 2), "w has NaN"),
    (lambda: b.coarse_grad(np.ones(2), np.ones(2), 0, "relu"), "k must be"),
    (lambda: b.coarse_grad(np.ones(2), np.ones(2), 2, "sign"), "relu, identity, clipped-relu"),
    (lambda: b.loss_v(np.ones(2), np.ones(2), np.ones(2), np.ones(3)), "v and v_star"),
    (lambda: b.loss_v(np.ones(2), np.array([np.inf, 1]), np.ones(2), np.ones(2)), "v has NaN"),
    (lambda: b.loss_mp(["1"], ["0"], 2), "w_star must be nonzero"),
    (lambda: b.loss_mp(["1", "x"], ["1", "1"], 2), "w must be a vector"),
    (lambda: b.coarse_grad_mp(["1"], ["1"], 2, "sign"), "relu, identity, clipped-relu"),
    (lambda: b.loss_mp(["1"], ["1"], 2, dps=0), "dps must be"),
    (lambda: b.coarse_grad_v_mp(["1"], ["1", "2"], ["1"], ["1"]), "v and v_star"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, needle) -> None:
    with pytest.raises(ValueError, match=needle):
        call()


def test_erf_ratio_and_exp_m1_backends() -> None:
    x = np.array([0.5, -0.5, 0.5, 0.0])
    y = np.array([0.0, 0.0, -1e-8, 2.0])
    np.testing.assert_array_equal(b.erf_ratio._imp_(x, y), [1.0, -1.0, 1.0, 0.0])
    tx, ty = torch.tensor(x), torch.tensor(y)
    np.testing.assert_array_equal(b.erf_ratio._imp_(tx, ty).numpy(), [1.0, -1.0, 1.0, 0.0])
    assert b.erf_ratio._imp_(mpmath.mpf(-2), mpmath.mpf(0)) == -1
    assert b.erf_ratio._imp_(np.float32(1), np.array([2.0], np.float32)).dtype == np.float32
    assert b.exp_m1._imp_(np.array([-1e-20]))[0] == -1e-20
    assert b.exp_m1._imp_(torch.tensor([-1e-20], dtype=torch.float64))[0].item() == -1e-20
