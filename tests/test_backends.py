"""The numeric primitives of theory.backends against the plain expression at high precision."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from theory.backends import Compiled, t_minus_sin

x = sp.Symbol("x", real=True)
TMS = Compiled((x,), t_minus_sin(x))


def _reference(t: float | mpmath.mpf) -> mpmath.mpf:
    """t - sin t with 50 digits left after the cancellation of about 2 log10(1/|t|) digits."""
    lost = 0 if t == 0 else max(0, -2 * int(mpmath.floor(mpmath.log10(abs(mpmath.mpf(t))))))
    with mpmath.mp.workdps(60 + lost):
        tt = mpmath.mpf(t)
        return tt - mpmath.sin(tt)


@given(st.floats(-4.0, 4.0))
@example(0.0).via("zero")
@example(0.5).via("series cut")
@example(np.nextafter(0.5, 0)).via("just below the cut")
@example(1e-300).via("tiny")
@example(1e-8).via("small")
def test_t_minus_sin_float64_relative_accuracy(t: float) -> None:
    # The series (8 terms, |t| < 0.5) and the direct difference (|t| >= 0.5, where at most
    # log2(6/0.25) ~ 4.6 bits cancel) are both within a few ulp: 32 eps relative.
    got = TMS(np.array([t]))[0]
    ref = _reference(t)
    assert abs(got - float(ref)) <= 32 * np.finfo(np.float64).eps * abs(float(ref)) + 1e-320


@given(st.floats(-4.0, 4.0))
def test_t_minus_sin_float32_keeps_dtype_and_accuracy(t: float) -> None:
    t32 = np.float32(t)
    got = TMS(np.array([t32], dtype=np.float32))
    assert got.dtype == np.float32
    ref = float(_reference(float(t32)))
    assert abs(float(got[0]) - ref) <= 32 * np.finfo(np.float32).eps * abs(ref) + 1e-40


@pytest.mark.parametrize("dps", [30, 60])
@pytest.mark.parametrize("t", ["1e-30", "0.25", "3"])
def test_t_minus_sin_mpmath_at_working_precision(dps: int, t: str) -> None:
    with mpmath.mp.workdps(dps):
        tt = mpmath.mpf(t)
        got = TMS.mp(tt)
    ref = _reference(tt)
    assert abs(got - ref) <= mpmath.mpf(10) ** (-dps + 2) * abs(ref)


def test_t_minus_sin_derivative_and_rewrite() -> None:
    assert sp.simplify(sp.diff(t_minus_sin(x), x) - sp.diff(x - sp.sin(x), x)) == 0
    assert t_minus_sin(x).rewrite(sp.sin) == x - sp.sin(x)


def test_torch_autograd_through_compiled() -> None:
    torch = pytest.importorskip("torch")
    tt = torch.tensor([1e-3, 0.7, 2.0], dtype=torch.float64, requires_grad=True)
    TMS(tt).sum().backward()
    expected = 2 * torch.sin(tt.detach() / 2) ** 2  # = 1 - cos t, without its cancellation
    # Derivative of the float64 Horner series vs the exact derivative: a few ulp.
    assert torch.allclose(tt.grad, expected, rtol=1e-12, atol=0)


def test_irrational_constants_keep_float32_and_work_in_torch() -> None:
    c = Compiled((x,), sp.sqrt(2) * x + sp.exp(sp.Rational(1, 2)) + sp.pi)
    got = c(np.array([1.0], dtype=np.float32))
    assert got.dtype == np.float32
    expected = np.sqrt(2.0) + np.exp(0.5) + np.pi
    assert abs(float(got[0]) - expected) <= 4 * np.finfo(np.float32).eps * expected
    torch = pytest.importorskip("torch")
    out = c(torch.ones(1, dtype=torch.float64))
    assert out.dtype == torch.float64 and abs(float(out[0]) - expected) <= 4e-16 * expected
    with mpmath.mp.workdps(40):
        exact = mpmath.sqrt(2) + mpmath.exp(mpmath.mpf(1) / 2) + mpmath.pi
        assert abs(c.mp(mpmath.mpf(1)) - exact) < mpmath.mpf(10) ** -38
