"""Statements about the binarized-activation model and its coarse gradients
(proofs_notes/binary_coarse_gradient.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from theory import binary
from theory.geometry import unit
from theory.statements import Evidence, Statement, register
from theory.statements.domains import ks, nonzero_vectors

NOTE = "binary_coarse_gradient.md"
EPS64 = float(np.finfo(np.float64).eps)

_STE_DERIVATIVE = {
    "relu": lambda x: (x > 0).astype(float),
    "identity": lambda x: np.ones_like(x),
    "clipped-relu": lambda x: ((x > 0) & (x < 1)).astype(float),
}
_MC = (
    {"w": (0.6, -0.2, 0.5), "w_star": (1.0, 0.3, -0.4), "k": 3},
    {"w": (-1.5, 0.4), "w_star": (0.2, 1.0), "k": 2},
)


def _sample(p: dict[str, Any], ste: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample squared error and coarse gradient 2 (f(w) - f(w*)) (1/k) sum mu'(w.Z_i) Z_i."""
    w, w_star, k = np.array(p["w"]), np.array(p["w_star"]), p["k"]
    rng = np.random.default_rng(seed)
    sq, grads = [], []
    for start in range(0, n, 100_000):
        z = rng.standard_normal((min(100_000, n - start), k, w.size))
        pw, ps = z @ w, z @ w_star
        diff = ((pw > 0).sum(1) - (ps > 0).sum(1)) / k
        sq.append(diff**2)
        grads.append(2 * diff[:, None] * np.einsum("nk,nkd->nd", _STE_DERIVATIVE[ste](pw) / k, z))
    return np.concatenate(sq), np.concatenate(grads)


def _loss_mc(p: dict[str, Any], n: int = 1_000_000) -> Evidence:
    """E[(f(w) - f(w*))^2] over 1e6 samples vs t/(pi k), 4 standard errors."""
    sq, _ = _sample(p, "relu", n, seed=31)
    se = float(sq.std(ddof=1) / np.sqrt(n))
    closed = float(binary.loss(np.array(p["w"]), np.array(p["w_star"]), p["k"]))
    z = abs(float(sq.mean()) - closed) / se
    return Evidence(z <= 4, {"closed_form": closed, "monte_carlo": float(sq.mean()),
                             "standard_error": se, "z": z, "samples": n})


def _coarse_mc(p: dict[str, Any], n: int = 1_000_000) -> Evidence:
    """Each STE's sampled coarse gradient vs the closed form, every component within 4 SE."""
    rows = {}
    ok = True
    for ste in binary.STES:
        _, g = _sample(p, ste, n, seed=41)
        se = g.std(axis=0, ddof=1) / np.sqrt(n)
        closed = binary.coarse_grad(np.array(p["w"]), np.array(p["w_star"]), p["k"], ste)
        z = np.abs(g.mean(axis=0) - closed) / se
        ok &= bool(np.all(z <= 4))
        rows[ste] = {"closed_form": closed.tolist(), "monte_carlo": g.mean(axis=0).tolist(),
                     "max_z": float(z.max())}
    return Evidence(ok, {"samples": n, "z_bound": 4, "estimators": rows})


register(Statement(
    name="binary.closed_form_loss",
    hypotheses="sigma = 1{x > 0}, fixed second layer 1/k, Gaussian patches, w != 0, w* != 0",
    conclusion="l(w) = theta(w, w*)/(pi k) (P2's claim that the loss depends on the angle only)",
    source="derived", note=NOTE, instance=_loss_mc, domain=None, pinned=_MC,
))
register(Statement(
    name="binary.expected_coarse_gradients",
    hypotheses="as binary.closed_form_loss; STE relu, identity or clipped relu",
    conclusion="E g = c (w^ - w*^) (relu), 2c (w^ - w*^) (identity), the erf form (clipped "
               "relu), c = 1/(k sqrt(2 pi))",
    source="derived", note=NOTE, instance=_coarse_mc, domain=None, pinned=_MC,
))


def _certificate(p: dict[str, Any]) -> Evidence:
    cert = binary.correlation_certificate(p["ste"], general=p["general"])
    return Evidence(cert.ok, {
        "ste": p["ste"], "general_second_layer": p["general"], "boxes": cert.boxes,
        "strict_boxes": cert.strict_boxes, "touching_zero": [list(b) for b in cert.touching_zero],
        "symbolic_factors": [f"{e}: {s}" for e, s in cert.symbolic], "failure": cert.failure})


register(Statement(
    name="binary.correlation_nonnegative",
    hypotheses="any angle t in [0, pi], |w| in (0, inf), k >= 1, any second layer v",
    conclusion="<E coarse grad, true grad> >= 0 for the relu, identity and clipped-relu STEs; "
               "zero only at t in {0, pi} (and where v.v* = 0)",
    source="derived", note=NOTE, instance=_certificate, domain=None,
    pinned=[{"ste": s, "general": g} for s in binary.STES for g in (False, True)],
))


def _continuous_at_zero(p: tuple[float, int]) -> Evidence:
    """l(eps e) -> l(0) as eps -> 0 along the direction e at angle t_e to w*."""
    t_e, k = p
    limit = float(binary.loss(np.array([1e-300 * np.cos(t_e), 1e-300 * np.sin(t_e)]),
                              np.array([1.0, 0.0]), k))
    at_zero = float(binary.loss(np.zeros(2), np.array([1.0, 0.0]), k))
    return Evidence(abs(limit - at_zero) <= 1e-12,
                    {"limit_along_direction": limit, "value_at_zero": at_zero})


register(Statement(
    name="binary.loss_continuous_at_zero",
    hypotheses="sigma(0) = 0, any direction of approach",
    conclusion="the population loss is continuous at w = 0",
    source="conjecture", note=NOTE, instance=_continuous_at_zero,
    domain=lambda: st.tuples(st.floats(0, np.pi), ks), expected="refuted",
    counterexample=(0.0, 1),
    rigorous_counterexample=lambda: __import__(
        "theory.certify.counterexamples", fromlist=["recheck"]).recheck(
        "binary.loss_continuous_at_zero"),
))


def _stuck_at_pi(p: tuple[np.ndarray, float, int, str]) -> Evidence:
    """At w = -c w* (t = pi) the expected coarse gradient has no component orthogonal to w."""
    w_star, c, k, ste = p
    w = -c * w_star
    g = binary.coarse_grad(w, w_star, k, ste)
    u = unit(w)
    orth = g - (g @ u) * u
    scale = float(np.linalg.norm(g)) + 1.0 / k
    return Evidence(float(np.linalg.norm(orth)) <= 16 * EPS64 * scale,
                    {"orthogonal_part": float(np.linalg.norm(orth)), "gradient_norm": scale})


register(Statement(
    name="binary.coarse_gradient_stuck_at_pi",
    hypotheses="w = -c w*, c > 0 (angle pi), any STE of the three, k >= 1",
    conclusion="E g is parallel to w: coarse gradient descent (normalised or not) cannot "
               "rotate w away from -w*",
    source="derived", note=NOTE, instance=_stuck_at_pi,
    domain=lambda: st.tuples(st.integers(2, 6).flatmap(nonzero_vectors),
                             st.floats(1e-3, 1e3), ks, st.sampled_from(binary.STES)),
    pinned=[(np.array([1.0, 0.0, 0.0]), 1.0, 1, s) for s in binary.STES],
))
