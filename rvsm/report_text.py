r"""How ``rvsm report`` presents each statement: its claim in words, its hypotheses and
conclusion in LaTeX, the theme it belongs to, the figure that shows it, and the few numbers of
its evidence that carry it.

Everything here reads the evidence of a run (a ``summary.json`` row); nothing states a result
by itself, so a finding changes when the evidence does.  An extractor that finds its numbers
missing yields nothing (the number is left out, never invented).  A statement without an
entry is presented from its registry text (:func:`presentation`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]
Keys = Callable[[dict[str, Any]], Iterable[tuple[str, Any]]]

THEMES: tuple[tuple[str, str], ...] = (
    ("landscape", "Closed forms and the loss landscape"),
    ("dynamics", "Descent and the angle to the teacher"),
    ("limits", "The limits of RVSM and RVSCGD"),
    ("papers", "The papers' claims, as quoted"),
    ("bounds", "Error bounds"),
    ("other", "Other statements"),
)


@dataclass(frozen=True)
class Presentation:
    """``claim``: hypotheses and conclusion as one phrase (for a statement expected to be
    refuted, the false claim).  ``hypotheses``/``conclusion``: LaTeX (inline math, no ``$``).
    ``keys(evidence)`` yields ``(label, value)`` pairs (the first is the headline number);
    ``effect(evidence)``: what the counterexample does, one phrase; ``cx_names``: names of the
    entries of a counterexample recorded as a list."""

    theme: str
    claim: str
    hypotheses: str
    conclusion: str
    figure: str | None = None
    keys: Keys | None = None
    effect: Callable[[dict[str, Any]], str | None] | None = None
    cx_names: Sequence[str] = field(default_factory=tuple)


# ---------------------------------------------------------------- evidence helpers


def get(ev: Any, *path: Any) -> Any:
    """``ev[p0][p1]...``, or None where the path breaks."""
    for p in path:
        try:
            ev = ev[p]
        except (KeyError, IndexError, TypeError):
            return None
    return ev


def num(x: Any, digits: int = 3) -> str:
    """A number for a reader: ``digits`` significant digits, scientific when tiny or huge."""
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, int):
        return f"{x:,}".replace(",", " ") if abs(x) >= 10_000 else str(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:.{digits}g}"
    return f"{v:.{max(digits - 1, 0)}e}".replace("e-0", "e-").replace("e+0", "e+")


def vec(v: Any) -> str:
    """A vector as ``(1, 0.5, 0, -0.3)``."""
    if isinstance(v, list | tuple):
        return "(" + ", ".join(vec(x) for x in v) + ")"
    return num(v, 6) if isinstance(v, float) else str(v)


def _pinned(ev: dict[str, Any]) -> list[dict[str, Any]]:
    p = ev.get("pinned")
    return [x for x in p if isinstance(x, dict)] if isinstance(p, list) else []


def _max(values: Iterable[Any]) -> Any:
    vals = [abs(float(v)) for v in values if isinstance(v, int | float)]
    return max(vals) if vals else None


def _keep(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in pairs if v is not None and v != ""]


def _mc(ev: dict[str, Any]) -> list[tuple[str, Any]]:
    """Monte Carlo checks: the largest |z| over the pinned instances, and the sample size."""
    zs: list[Any] = []
    samples = set()
    for p in _pinned(ev):
        zs.append(p.get("z"))
        zs.append(p.get("max_z"))
        for est in (p.get("estimators") or {}).values():
            zs.append(get(est, "max_z"))
        if isinstance(p.get("samples"), int):
            samples.add(p["samples"])
    z = _max(zs)
    return _keep([("largest |z| of closed form vs Monte Carlo",
                   None if z is None else f"{num(z)} (bound 4)"),
                  ("samples per Monte Carlo check",
                   num(max(samples)) if samples else None),
                  ("Monte Carlo instances", len(_pinned(ev)) or None)])


def _violation(ev: dict[str, Any]) -> dict[str, Any]:
    return get(ev, "refutation", "violation") or {}


def interval(text: Any, digits: int = 4) -> str:
    """An interval ``"[a, b]"`` (mpmath.iv) as a reader's number: its midpoint, or ``>= a``
    for an increase."""
    try:
        lo, hi = (float(x) for x in str(text).strip("[] ").split(","))
    except ValueError:
        return str(text)
    return num((lo + hi) / 2, digits)


def _steps_effect(what: str) -> Callable[[dict[str, Any]], str | None]:
    def effect(ev: dict[str, Any]) -> str | None:
        v = _violation(ev)
        if v.get("step") is None:
            return None
        digits = 4  # enough digits for the two values to differ
        while digits < 15 and interval(v.get("before"), digits) == interval(v.get("after"),
                                                                            digits):
            digits += 1
        return (f"{what} rises from {interval(v.get('before'), digits)} to "
                f"{interval(v.get('after'), digits)} at step {v.get('step')} (by "
                f"{interval(v.get('increase'), 2)})")
    return effect


def _limits_effect(ev: dict[str, Any]) -> str | None:
    ce = ev.get("counterexample_evidence") or {}
    n, runs = ce.get("distinct_limits"), ce.get("runs")
    if n is None:
        return None
    fr = [x.get("fraction") for x in ce.get("limits_by_fraction", []) if isinstance(x, dict)]
    head = ", ".join(f"{100 * f:.0f}%" for f in fr[:3] if isinstance(f, int | float))
    return (f"{n} distinct limits from {runs} random starts"
            + (f" (the most frequent reached by {head} of the runs)" if head else ""))


def _limits_keys(ev: dict[str, Any]) -> list[tuple[str, Any]]:
    ce = ev.get("counterexample_evidence") or {}
    out = [("distinct limits (recorded counterexample)", ce.get("distinct_limits")),
           ("runs converged", None if ce.get("converged_fraction") is None else
            f"{100 * ce['converged_fraction']:.0f}% of {ce.get('runs')}")]
    for o in ev.get("other_instances") or []:
        pen = get(o, "instance", "penalty")
        out.append((f"distinct limits, {pen}", o.get("distinct_limits")))
    return _keep(out)


def _bound_keys(ev: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for p in _pinned(ev):
        m = p.get("model")
        bp = p.get("by_penalty") or {}
        l1 = get(bp, "l1", "w_actual_over_bound") or {}
        out.append((f"{m} l1: median / max of actual/bound",
                    None if l1.get("median") is None else
                    f"{num(l1['median'], 2)} / {num(l1.get('max'), 2)}"))
        l0 = get(bp, "l0", "w_actual_over_bound", "median")
        out.append((f"{m} l0: median actual/bound", None if l0 is None else num(l0, 2)))
        out.append((f"{m}: fixed points checked, violations",
                    None if p.get("hypothesis_holds") is None else
                    f"{p['hypothesis_holds']}, {p.get('violations')}"))
    return _keep(out)


# ---------------------------------------------------------------- the statements

P: dict[str, Presentation] = {
    "relu.closed_form_loss": Presentation(
        "landscape", "the ReLU population loss has the closed form derived from the arc-cosine "
        "kernel (k non-overlapping Gaussian patches)",
        r"Z_{ij} \sim \mathcal N(0,1) \text{ iid},\ k \ge 1 \text{ patches},\ w^* \ne 0",
        r"\ell(w) = \frac{a(\lVert w\rVert^2 + \lVert w^*\rVert^2) - 2k\lVert w\rVert\lVert w^*"
        r"\rVert\,\kappa_1(t) - 2b\lVert w\rVert\lVert w^*\rVert}{k^2},\ t = \theta(w, w^*)",
        "relu_landscape.png", keys=_mc),
    "relu.critical_points": Presentation(
        "landscape", "the ReLU loss has exactly two critical points away from 0: the global "
        "minimum w* and, for k >= 2, a saddle at -(b/a) w*",
        r"w \ne 0,\ k \ge 1",
        r"\nabla\ell(w) = 0 \iff w = w^* \text{ or } w = -\tfrac{b}{a}\,w^* = "
        r"\tfrac{1-k}{k-1+\pi}\,w^*\ (k \ge 2)",
        "relu_landscape.png",
        keys=lambda ev: _keep([("largest residual / scale at the critical points",
                                _max(p.get("residual_over_scale") for p in _pinned(ev)))])),
    "relu.hessian_bound": Presentation(
        "landscape", "the Hessian of the ReLU loss is bounded by L(m) wherever |w| >= m",
        r"\lVert w\rVert \ge m > 0,\ k \ge 1",
        r"\lVert\nabla^2\ell(w)\rVert \le L(m) = \frac{\max\{2a,\ (k^2+k)\lVert w^*\rVert/(\pi m)"
        r" - 2a\}}{k^2}",
        keys=lambda ev: _keep([("Hessian norm / L(m) at the extremal point (|w| = m, t = pi/2)",
                                _max(p.get("ratio") for p in _pinned(ev)))])),
    "relu.hessian_upper_bound_a0": Presentation(
        "landscape", "every Hessian eigenvalue of the ReLU loss is at most A0 = (k + pi - 1)/"
        "(pi k) at every w != 0, and the loss has a concave kink at 0, so the descent lemma holds "
        "with A0 between any two points",
        r"w \ne 0,\ w^* \ne 0,\ k \in \{1, 2, \dots\}",
        r"\lambda_{\max}\big(\nabla^2\ell(w)\big) \le A_0 = \frac{k+\pi-1}{\pi k}",
        keys=lambda ev: _keep([("largest eigenvalue / A0 at the pinned points",
                                _max((p.get("largest_eigenvalue") or 0) / p["A0"]
                                     for p in _pinned(ev) if p.get("A0")))])),
    "relu.random_start_probability": Presentation(
        "landscape", "a uniform random start is within delta of the bad direction -w* with "
        "probability (1/2) I_{sin^2 delta}((d-1)/2, 1/2) <= delta/pi, for every d >= 2",
        r"w_0 \sim \mathrm{Unif}(S^{d-1}),\ d \ge 2,\ 0 \le \delta \le \pi/2",
        r"P[\theta(w_0, w^*) > \pi - \delta] = \tfrac12\, I_{\sin^2\delta}\big(\tfrac{d-1}{2},"
        r" \tfrac12\big) \le \frac{\delta}{\pi}",
        "random_start_probability.png",
        keys=lambda ev: _keep([
            ("largest |sampled - formula| / standard error",
             _max(abs(p["sampled"] - p["formula"]) / p["se"] for p in _pinned(ev)
                  if p.get("se"))),
            ("samples per check", _max(p.get("samples") for p in _pinned(ev)))])),
    "binary.closed_form_loss": Presentation(
        "landscape", "the binary-activation loss depends on the angle only: l(w) = theta(w, w*)"
        "/(pi k) for w != 0 (P2's claim)",
        r"\sigma(x) = \mathbf 1\{x > 0\},\ \text{second layer } 1/k,\ w \ne 0,\ w^* \ne 0",
        r"\ell(w) = \frac{\theta(w, w^*)}{\pi k}", keys=_mc),
    "binary.expected_coarse_gradients": Presentation(
        "landscape", "the expected coarse gradients of the ReLU, identity and clipped-ReLU "
        "straight-through estimators have closed forms",
        r"\text{as for the binary loss; STE} \in \{\text{relu}, \text{identity},"
        r" \text{clipped relu}\}",
        r"\mathbb E\,g_{\mathrm{relu}} = c(\hat w - \hat w^*),\ \mathbb E\,g_{\mathrm{id}} = "
        r"2c(\hat w - \hat w^*),\ c = \frac{1}{k\sqrt{2\pi}} \text{ (clipped relu: an erf form)}",
        keys=_mc),
    "binary.correlation_nonnegative": Presentation(
        "landscape", "the expected coarse gradient of each of the three STEs never points "
        "against the true gradient",
        r"t \in [0, \pi],\ \lVert w\rVert \in (0, \infty),\ k \ge 1,\ \text{any second layer } v",
        r"\langle \mathbb E\,g(w), \nabla\ell(w)\rangle \ge 0, \text{ zero only at } t \in "
        r"\{0, \pi\}",
        keys=lambda ev: _keep([
            ("boxes in the sampled interval check (strictly positive)",
             None if not _pinned(ev) else
             f"{sum(p.get('boxes', 0) for p in _pinned(ev))} "
             f"({sum(p.get('strict_boxes', 0) for p in _pinned(ev))})"),
            ("estimator / second-layer cases", len(_pinned(ev)) or None)])),
    "binary.loss_continuous_at_zero": Presentation(
        "landscape", "the binary loss is continuous at w = 0",
        r"\sigma(0) = 0,\ \text{any direction of approach}",
        r"\lim_{w \to 0} \ell(w) = \ell(0)",
        keys=lambda ev: _keep([
            ("limit along the ray", get(ev, "counterexample_evidence", "limit_along_direction")),
            ("value at 0", get(ev, "counterexample_evidence", "value_at_zero"))]),
        effect=lambda ev: None if get(ev, "counterexample_evidence", "value_at_zero") is None
        else (f"along the ray the loss tends to "
              f"{num(get(ev, 'counterexample_evidence', 'limit_along_direction'))}, but "
              f"l(0) = {num(get(ev, 'counterexample_evidence', 'value_at_zero'))}"),
        cx_names=("direction", "k")),
    "binary.coarse_gradient_stuck_at_pi": Presentation(
        "landscape", "at angle pi (w = -c w*) every expected coarse gradient is parallel to w, "
        "so coarse gradient descent cannot leave theta = pi",
        r"w = -c\,w^*,\ c > 0,\ \text{any of the three STEs},\ k \ge 1",
        r"\mathbb E\,g(w) \parallel w \text{, so } \theta(w^t, w^*) = \pi \text{ for all } t",
        keys=lambda ev: _keep([("largest part of E g orthogonal to w",
                                _max(p.get("orthogonal_part") for p in _pinned(ev)))])),
    "relu.gd_angle_monotone": Presentation(
        "dynamics", "plain gradient descent on the ReLU loss never increases the angle to w* "
        "when eta < pi k/(k + pi - 1)",
        r"w^{+} = w - \eta\nabla\ell(w),\ 0 < \eta < \frac{\pi k}{k+\pi-1},\ w \ne 0",
        r"\theta(w^{+}, w^*) \le \theta(w, w^*)"),
    "relu.gd_angle_monotone_any_step": Presentation(
        "dynamics", "plain gradient descent never increases the angle to w*, for any step size",
        r"w^{+} = w - \eta\nabla\ell(w),\ \eta > 0",
        r"\theta(w^{+}, w^*) \le \theta(w, w^*)",
        keys=lambda ev: _keep([("angle before / after the step", None if not
                                ev.get("counterexample_evidence") else
                                f"{num(get(ev, 'counterexample_evidence', 'angle_before'))} / "
                                f"{num(get(ev, 'counterexample_evidence', 'angle_after'))} rad")]),
        effect=lambda ev: None if get(ev, "counterexample_evidence", "angle_after") is None
        else (f"one step with eta = {num(get(ev, 'counterexample_evidence', 'eta'))} turns the "
              f"angle from {num(get(ev, 'counterexample_evidence', 'angle_before'))} to "
              f"{num(get(ev, 'counterexample_evidence', 'angle_after'))} rad"),
        cx_names=("(w, w*)", "k", "eta")),
    "rvsm.descent_lagrangian": Presentation(
        "dynamics", "RVSM decreases L_beta when eta < 2/(L + beta), L the Lipschitz constant of "
        "the gradient along the step",
        r"\text{RVSM, ReLU},\ \text{exact prox},\ \eta < \frac{2}{L+\beta}",
        r"\mathcal L_\beta(u^{t+1}, w^{t+1}) \le \mathcal L_\beta(u^t, w^t) - \Big(\frac1\eta - "
        r"\frac{L+\beta}{2}\Big)\lVert w^{t+1} - w^t\rVert^2",
        "trajectories.png",
        keys=lambda ev: _keep([("largest violation over the pinned runs (negative: holds)",
                                _signed_max(p.get("max_violation") for p in _pinned(ev)))])),
    "rvsm.descent_global_step": Presentation(
        "dynamics", "RVSM decreases L_beta from any start when eta < 2/(A0 + beta) (a global "
        "step size, from the certified bound A0)",
        r"\text{RVSM, ReLU, exact prox, any start},\ \eta < \frac{2}{A_0+\beta},\ A_0 = "
        r"\frac{k+\pi-1}{\pi k}",
        r"\mathcal L_\beta(u^{t+1}, w^{t+1}) \le \mathcal L_\beta(u^t, w^t) - \Big(\frac1\eta - "
        r"\frac{A_0+\beta}{2}\Big)\lVert w^{t+1} - w^t\rVert^2",
        "trajectories.png",
        keys=lambda ev: _keep([("largest violation over the pinned runs (negative: holds)",
                                _signed_max(p.get("max_violation") for p in _pinned(ev)))])),
    "rvsm.descent_any_step": Presentation(
        "dynamics", "RVSM decreases L_beta for any step size", r"\text{RVSM},\ \eta > 0",
        r"\mathcal L_\beta(u^{t+1}, w^{t+1}) \le \mathcal L_\beta(u^t, w^t)",
        keys=lambda ev: _keep([("largest increase of L_beta in the run",
                                get(ev, "counterexample_evidence", "max_violation"))]),
        effect=_steps_effect("L_beta")),
    "rvsm.angle_monotone": Presentation(
        "dynamics", "the angle to w* never increases under RVSM (as for plain gradient descent)",
        r"\text{RVSM (ReLU)},\ \eta \text{ below the angle and descent bounds}",
        r"\theta(w^{t+1}, w^*) \le \theta(w^t, w^*)",
        keys=lambda ev: _keep([("largest angle increase (float64 run)",
                                get(ev, "counterexample_evidence", "max_angle_increase"))]),
        effect=_steps_effect("the angle")),
    "rvscgd.angle_monotone": Presentation(
        "dynamics", "the angle to w* never increases under normalised RVSCGD",
        r"\text{normalised RVSCGD (binary, relu STE), the same step sizes}",
        r"\theta(w^{t+1}, w^*) \le \theta(w^t, w^*)",
        keys=lambda ev: _keep([("largest angle increase (float64 run)",
                                get(ev, "counterexample_evidence", "max_angle_increase"))]),
        effect=_steps_effect("the angle")),
    "rvsm.sampled_inverse_sqrt_m": Presentation(
        "dynamics", "online RVSM with minibatches of m Gaussian inputs stays at distance "
        "~ m^(-1/2) of the population limit",
        r"\text{online RVSM},\ \ell_1,\ \text{constant } \eta,\ \text{minibatch } m",
        r"\mathrm{rms}\,\lVert w^t - \bar w\rVert \propto m^{-1/2}",
        keys=lambda ev: _keep([
            ("fitted slope of log distance against log m (theory: -0.5)",
             _max_signed_first(p.get("fitted_slope") for p in _pinned(ev))),
            ("minibatch sizes", next((vec(p.get("minibatch_sizes")) for p in _pinned(ev)
                                      if p.get("minibatch_sizes")), None))])),
    "rvsm.l1_limit_matches_calculator": Presentation(
        "limits", "started at w*, RVSM with l1 converges to the calculator's unique "
        "sign-consistent fixed point",
        r"\text{RVSM, ReLU},\ \ell_1,\ \eta = 0.5,\ w^0 = w^*",
        r"\lVert u^t - \bar u_{\mathrm{calc}}\rVert \to 0 \ (\text{to } 10^{-9})",
        keys=lambda ev: _keep([("distance of the simulated limit to the calculator's",
                                _max(p.get("distance_u") for p in _pinned(ev)))])),
    "rvscgd.l1_limit_matches_calculator": Presentation(
        "limits", "started at w*^, normalised RVSCGD with l1 converges to the calculator's "
        "unique good fixed point, without false support and within the error bounds",
        r"\text{normalised RVSCGD, binary, relu STE},\ \ell_1,\ \eta = 0.5,\ w^0 = \hat w^*,"
        r"\ R < 1",
        r"u^t \to \bar u_{\mathrm{calc}},\ \mathrm{supp}\,\bar u \subseteq \mathrm{supp}\,w^*",
        keys=lambda ev: _keep([
            ("distance of the simulated limit to the calculator's",
             _max(p.get("distance_u") for p in _pinned(ev))),
            ("distance / bound", _max(p.get("u_dist_over_bound") for p in _pinned(ev)))])),
    "rvsm.coordinatewise_limit_map": Presentation(
        "limits", "every limit of RVSM is a coordinatewise map of w* with two scalar unknowns "
        "(A, B)",
        r"\text{RVSM, ReLU},\ \ell_1, \ell_0 \text{ or TL1},\ \text{a converged run}",
        r"(A+\beta)\bar w_i = B w^*_i \ (i \notin \mathrm{supp}\,\bar u),\quad A\bar w_i = "
        r"Bw^*_i - \lambda P'(\bar u_i) \ (i \in \mathrm{supp}\,\bar u)",
        "limit_map.png",
        keys=lambda ev: _keep([("largest relative residual of the map",
                                _max(p.get("max_relative_residual") for p in _pinned(ev)))])),
    "limits.complete_means_complete": Presentation(
        "limits", "when the calculator reports its list of fixed points complete, every "
        "simulated limit is on it",
        r"\text{either model};\ \ell_1, \ell_0, \text{TL1};\ d \le 4;\ \texttt{complete}",
        r"\text{every limit of 128 random starts is a listed fixed point or on a listed family}",
        keys=lambda ev: _keep([
            ("runs converged / missed", None if not _pinned(ev) else
             f"{sum(p.get('converged_runs', 0) for p in _pinned(ev))} / "
             f"{sum(p.get('missed_runs', 0) for p in _pinned(ev))}")])),
    "rvsm.l1_unique_limit_any_start": Presentation(
        "limits", "with l1, RVSM has a unique limit, reached from every start",
        r"\text{RVSM, ReLU},\ \ell_1,\ \text{population gradient, any start}",
        r"\text{one attracting fixed point, reached from every start}",
        "trajectories.png",
        keys=lambda ev: _keep([
            ("attracting fixed points",
             len(get(ev, "counterexample_evidence", "attracting_fixed_points") or []) or None),
            ("runs per limit", None if not get(ev, "counterexample_evidence", "runs_per_limit")
             else ", ".join(f"{n} to {k}" for k, n in
                            ev["counterexample_evidence"]["runs_per_limit"].items()))]),
        effect=lambda ev: None if not get(ev, "counterexample_evidence", "runs_per_limit")
        else (f"{len(ev['counterexample_evidence']['runs_per_limit'])} limits reached from "
              f"{sum(ev['counterexample_evidence']['runs_per_limit'].values())} random starts")),
    "rvsm.l0_nonunique_limits": Presentation(
        "limits", "with l0, several attracting fixed points coexist and the start decides which "
        "one RVSM reaches",
        r"\text{RVSM, ReLU},\ \ell_0,\ w^* \text{ in the hysteresis band}",
        r"\text{several attracting fixed points, each reached from some start}",
        "hysteresis.png",
        keys=lambda ev: _keep([
            ("attracting fixed points / distinct limits reached", None if not _pinned(ev) else
             f"{_pinned(ev)[0].get('attracting_fixed_points')} / "
             f"{_pinned(ev)[0].get('distinct_limits_reached')}")])),
    "rvsm.tl1_supercritical_nonunique_limits": Presentation(
        "limits", "with supercritical TL1 (discontinuous prox), several attracting fixed points "
        "coexist",
        r"\text{RVSM, ReLU, TL1},\ \lambda/\beta > a^2/(2(a+1))",
        r"\text{several attracting fixed points, each reached from some start}",
        "hysteresis.png",
        keys=lambda ev: _keep([
            ("attracting fixed points / distinct limits reached", None if not _pinned(ev) else
             f"{_pinned(ev)[0].get('attracting_fixed_points')} / "
             f"{_pinned(ev)[0].get('distinct_limits_reached')}")])),
    "rvsm.l0_exact_recovery": Presentation(
        "limits", "with l0, w* itself is an attracting limit when its smallest nonzero entry "
        "exceeds sqrt(2 lam/beta) (exact recovery)",
        r"\text{RVSM, ReLU},\ \ell_0,\ \min_{i \in \mathrm{supp}\,w^*} \lvert w^*_i\rvert > "
        r"\sqrt{2\lambda/\beta},\ \eta = 0.5",
        r"\bar w = \bar u = w^* \text{ is an attracting fixed point}",
        keys=lambda ev: _keep([("distance of the simulated limit to w*",
                                _max(p.get("simulated_distance") for p in _pinned(ev)))])),
    "rvsm.l0_no_off_support_limit": Presentation(
        "limits", "with l0, no run of RVSM ends on a limit supported off the support of w*",
        r"\text{RVSM, ReLU},\ \ell_0,\ \eta = 0.5,\ \text{random starts},\ w^* \text{ with zero "
        r"entries}",
        r"\mathrm{supp}\,\bar u \cap \mathrm{supp}\,w^* \ne \emptyset \text{ for every run}",
        keys=lambda ev: _keep([
            ("runs ending off the support, RVSM", None if get(
                ev, "counterexample_evidence", "off_support_fraction") is None else
             f"{100 * ev['counterexample_evidence']['off_support_fraction']:.0f}% of "
             f"{get(ev, 'counterexample_evidence', 'runs')}"),
            ("runs ending off the support, RVSCGD (binary)", None if get(
                ev, "binary_rvscgd", "off_support_fraction") is None else
             f"{100 * ev['binary_rvscgd']['off_support_fraction']:.0f}% of "
             f"{get(ev, 'binary_rvscgd', 'runs')}")]),
        effect=lambda ev: None if get(ev, "counterexample_evidence", "off_support_fraction")
        is None else (f"{100 * ev['counterexample_evidence']['off_support_fraction']:.0f}% of "
                      f"the runs end at a limit orthogonal to w*, e.g. u = "
                      f"{vec(get(ev, 'counterexample_evidence', 'example_u_bar'))}")),
    "p1.global_limit_from_random_starts": Presentation(
        "papers", "P1: \"the iterative weights converge to a global limit which is a "
        "transformation of the true weight\" (every run from a random start converges, to one "
        "and the same limit)",
        r"\text{RVSM, ReLU},\ \eta = 0.5,\ \ell_1, \ell_0 \text{ or TL1},\ 256 \text{ random starts}",
        r"\text{every run converges, to one limit, which satisfies the coordinatewise map of } "
        r"w^*",
        "trajectories.png", keys=_limits_keys, effect=_limits_effect),
    "p2.global_limit_from_random_starts": Presentation(
        "papers", "P2: \"the iterative weights converge to a global limit which is a "
        "transformation of the true weight\" for the binary network (every run of RVSCGD "
        "converges, to one and the same limit)",
        r"\text{normalised RVSCGD, binary, relu STE},\ \eta = 0.5,\ \ell_1, \ell_0 \text{ or TL1},"
        r"\ 256 \text{ random starts}",
        r"\text{every run converges, to one limit, a fixed point of the sparsified map}",
        keys=_limits_keys, effect=_limits_effect),
    "p1.every_run_converges_to_a_thresholded_fixed_point": Presentation(
        "papers", "P1, reading (a) of \"converge to a global limit\": every run of RVSM from a "
        "random start converges, as a whole sequence, to a fixed point that satisfies the "
        "coordinatewise thresholded map of w*",
        r"\text{RVSM, ReLU},\ \eta = 0.5,\ \ell_1, \ell_0 \text{ or TL1},\ 256 \text{ random starts}",
        r"\text{every run converges } (\lVert w^{t+1} - w^t\rVert \le 10^{-12}) \text{ to a "
        r"fixed point of the thresholded map of } w^* \ (\text{residual} \le 10^{-9})",
        "trajectories.png",
        keys=lambda ev: _keep([
            ("runs converged", None if not _pinned(ev) else
             ", ".join(f"{100 * p['converged_fraction']:.0f}% of {p.get('runs')}"
                       for p in _pinned(ev) if p.get("converged_fraction") is not None)),
            ("largest residual of the thresholded map",
             _max(p.get("max_map_residual") for p in _pinned(ev))),
            ("distinct limits per instance", None if not _pinned(ev) else
             ", ".join(str(p.get("distinct_limits")) for p in _pinned(ev)))])),
    "p2.every_run_converges_to_a_thresholded_fixed_point": Presentation(
        "papers", "P2, reading (a) of \"converge to a global limit\": every run of normalised "
        "RVSCGD from a random start converges to one of the calculator's fixed points",
        r"\text{normalised RVSCGD, binary, relu STE},\ \eta = 0.5,\ \ell_1, \ell_0 \text{ or TL1},"
        r"\ 256 \text{ random starts}",
        r"\text{every run converges to a fixed point of the sparsified map (or one of its "
        r"families)}",
        keys=lambda ev: _keep([
            ("runs converged", None if not _pinned(ev) else
             ", ".join(f"{100 * p['converged_fraction']:.0f}% of {p.get('runs')}"
                       for p in _pinned(ev) if p.get("converged_fraction") is not None)),
            ("runs at a calculated fixed point", None if not _pinned(ev) else
             ", ".join(f"{100 * p['fraction_at_a_calculated_fixed_point']:.0f}%"
                       for p in _pinned(ev)
                       if p.get("fraction_at_a_calculated_fixed_point") is not None)),
            ("distinct limits per instance", None if not _pinned(ev) else
             ", ".join(str(p.get("distinct_limits")) for p in _pinned(ev)))])),
    "limits.error_bound_inequalities": Presentation(
        "bounds", "the scalar inequalities that the error bounds rest on hold",
        r"t \in [0, \pi]\ (k \ge 1),\ \varphi = \arcsin R \in [0, \pi/2]",
        r"D = \frac{\sin t - t}{\pi k} \le 0 \text{ and decreasing};\ sB(t)\sin t \text{ concave "
        r"on } [0, \tfrac\pi2];\ 2\sin\tfrac\varphi2 \le \sqrt2\sin\varphi",
        keys=lambda ev: _keep([
            ("sampled points / violations", None if not _pinned(ev) else
             f"{_pinned(ev)[0].get('points')} / {_pinned(ev)[0].get('violations')}")])),
    "limits.error_bound_tightness": Presentation(
        "bounds", "the error bounds of the limits hold at every sampled fixed point (both "
        "models, l1, l0 and TL1, all branches)",
        r"\text{random instances},\ d \in [3, 7],\ k \in [1, 5],\ \beta \in [0.5, 2];\ \bar A "
        r"\ge 0 \text{ (ReLU) or } R < 1 \text{ (binary)}",
        r"\lVert \bar w - w^*\rVert \le \text{bound}_w,\ \lVert \bar u - w^*\rVert \le "
        r"\text{bound}_u \ (\text{binary: to } \hat w^*)",
        "bound_tightness.png", keys=_bound_keys),
    "relu.l1_error_bound": Presentation(
        "bounds", "at a sign-consistent l1 fixed point of RVSM with A_bar >= 0, the distances "
        "to w* are within the derived bounds",
        r"\text{RVSM, ReLU},\ \ell_1,\ \text{sign-consistent fixed point},\ \bar A \ge 0",
        r"\lVert \bar w - w^*\rVert \le \text{bound}_w,\ \lVert \bar u - w^*\rVert \le "
        r"\text{bound}_u",
        "bound_tightness.png",
        keys=lambda ev: _keep([("distance / bound at the pinned point", _max(
            t["w_dist"] / t["w_bound"] for p in _pinned(ev) for t in p.get("tightness", [])
            if t.get("w_bound")))])),
}


def _signed_max(values: Iterable[Any]) -> Any:
    vals = [float(v) for v in values if isinstance(v, int | float)]
    return max(vals) if vals else None


def _max_signed_first(values: Iterable[Any]) -> Any:
    vals = [float(v) for v in values if isinstance(v, int | float)]
    return vals[0] if vals else None


def presentation(row: Row) -> Presentation:
    """The statement's presentation, or one built from its registry text."""
    p = P.get(row["name"])
    if p is not None:
        return p
    # a statement registered after this table was written: its registry text
    return Presentation("other", _plain(row.get("conclusion") or row["name"]),
                        r"\text{" + _tex_text(row.get("hypotheses") or "") + "}",
                        r"\text{" + _tex_text(row.get("conclusion") or "") + "}")


def _plain(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _tex_text(text: str) -> str:
    for a, b in (("\\", r"\textbackslash "), ("{", r"\{"), ("}", r"\}"), ("$", r"\$"),
                 ("#", r"\#"), ("%", r"\%"), ("&", r"\&"), ("_", r"\_"), ("^", r"\^{}")):
        text = text.replace(a, b)
    return text


def key_numbers(row: Row) -> list[tuple[str, str]]:
    """The statement's key numbers, formatted; an extractor that fails yields nothing."""
    p = presentation(row)
    ev = row.get("evidence") or {}
    out: list[tuple[str, Any]] = []
    if p.keys is not None:
        try:
            out = list(p.keys(ev))
        except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
            out = []
    return [(k, v if isinstance(v, str) else num(v)) for k, v in out if v is not None]


def effect(row: Row) -> str | None:
    p = presentation(row)
    if p.effect is None:
        return None
    try:
        return p.effect(row.get("evidence") or {})
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None
