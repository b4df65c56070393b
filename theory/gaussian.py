r"""Gaussian identities, derived by integration in SymPy.

For :math:`x \sim N(0, I_d)` and fixed :math:`u, v` at angle :math:`t`, only the
projection of :math:`x` onto :math:`\operatorname{span}(u, v)` matters, and it is a
standard 2-D Gaussian.  In polar coordinates :math:`x = \rho(\cos\phi, \sin\phi)` with
:math:`\hat u = (1, 0)`, :math:`\hat v = (\cos t, \sin t)`, the density factorises into
:math:`\rho e^{-\rho^2/2}\,d\rho \cdot d\phi/(2\pi)`, and both :math:`\hat u\cdot x > 0` and
:math:`\hat v\cdot x > 0` hold exactly for :math:`\phi \in (t - \pi/2, \pi/2)`.

* ReLU kernel (derived; cf. Cho & Saul's arc-cosine kernel of degree 1):
  :math:`E[\mathrm{relu}(u\cdot x)\,\mathrm{relu}(v\cdot x)] = \lVert u\rVert\lVert v\rVert
  \,\kappa_1(t)`, :math:`\kappa_1(t) = (\sin t + (\pi - t)\cos t)/(2\pi)`.
* Orthant probability: :math:`P(u\cdot x > 0, v\cdot x > 0) = \kappa_0(t) = (\pi - t)/(2\pi)`.
* Half-normal moments: :math:`E[\mathrm{relu}(z)] = 1/\sqrt{2\pi}`,
  :math:`E[\mathrm{relu}(z)^2] = 1/2`.

Each function returns a SymPy expression in the symbol :data:`t` (the angle).  The
checks: ``tests/test_gaussian.py`` (symbolic values at t = 0, pi/2, pi; Monte Carlo).
"""

from __future__ import annotations

import functools

import sympy as sp

__all__ = ["t", "relu_kernel", "orthant_probability", "relu_mean", "relu_second_moment"]

t = sp.Symbol("t", nonnegative=True)
"""The angle between the two directions, in [0, pi]."""

_rho = sp.Symbol("rho", positive=True)
_phi = sp.Symbol("phi", real=True)
_z = sp.Symbol("z", real=True)


def _polar_expectation(angular_integrand: sp.Expr, radial_power: int) -> sp.Expr:
    """E over the 2-D Gaussian of rho^p * F(phi) on the cone phi in (t - pi/2, pi/2)."""
    radial = sp.integrate(_rho**radial_power * _rho * sp.exp(-(_rho**2) / 2), (_rho, 0, sp.oo))
    angular = sp.integrate(angular_integrand, (_phi, t - sp.pi / 2, sp.pi / 2))
    return sp.simplify(radial * angular / (2 * sp.pi))


@functools.cache
def relu_kernel() -> sp.Expr:
    r""":math:`\kappa_1(t) = E[\mathrm{relu}(\hat u\cdot x)\,\mathrm{relu}(\hat v\cdot x)]` for unit vectors at angle t."""
    return _polar_expectation(sp.cos(_phi) * sp.cos(_phi - t), 2)


@functools.cache
def orthant_probability() -> sp.Expr:
    r""":math:`\kappa_0(t) = P(\hat u\cdot x > 0,\ \hat v\cdot x > 0)` for unit vectors at angle t."""
    return _polar_expectation(sp.S.One, 0)


@functools.cache
def relu_mean() -> sp.Expr:
    r""":math:`E[\mathrm{relu}(z)]` for :math:`z \sim N(0, 1)`."""
    return sp.integrate(_z * sp.exp(-(_z**2) / 2), (_z, 0, sp.oo)) / sp.sqrt(2 * sp.pi)


@functools.cache
def relu_second_moment() -> sp.Expr:
    r""":math:`E[\mathrm{relu}(z)^2]` for :math:`z \sim N(0, 1)`."""
    return sp.integrate(_z**2 * sp.exp(-(_z**2) / 2), (_z, 0, sp.oo)) / sp.sqrt(2 * sp.pi)
