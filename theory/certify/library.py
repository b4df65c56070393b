r"""The certifiable claims of the registry's statements (see :mod:`theory.certify.claims`).

Every expression is imported from the module that derives it; a claim only chooses the change of
variables that makes its domain compact and names the inequalities and identities its statement
rests on.  Common changes of variables:

* the angle :math:`t = \pi\tau`, :math:`\tau \in [0, 1]`;
* the number of patches :math:`k = 1/u`, :math:`u \in (0, 1]` (``k`` treated as real
  :math:`\ge 1`, which covers every integer);
* a ratio of norms that the expression is homogeneous in is a positive *scale* symbol that the
  ``multiplier`` divides out (e.g. :math:`s = x r` and multiplier :math:`1/x`): the prover never
  sees it, and the checker verifies that it cancels.
"""

from __future__ import annotations

import sympy as sp

from theory.certify.claims import Claim, Identity, Inequality, box_var, claim

TAU = box_var("tau", 0, 1)
U = box_var("u", 0, 1, lo_open=True)
NU = box_var("nu", 0, 1, hi_open=True)

_X = sp.Symbol("x", positive=True)  # s / r
_RHO = sp.Symbol("rho", positive=True)  # s / m
_Q = sp.Symbol("q", positive=True)  # 1 / (r sin t) in the binary correlation


def _relu_symbols() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol, sp.Symbol, sp.Symbol]:
    from theory import relu
    return relu.k, relu.r, relu.s, relu.t, relu.m


_DOMAIN_RST = "w != 0 (r = |w| > 0), w* != 0 (s = |w*| > 0), t = angle(w, w*) in [0, pi], k >= 1"


def _angle_patches() -> dict[sp.Symbol, sp.Expr]:
    k, _, _, t, _ = _relu_symbols()
    return {t: sp.pi * TAU.symbol, k: 1 / U.symbol}


def _ratio_sub() -> dict[sp.Symbol, sp.Expr]:
    """r, s, t, k -> (x = s/r, tau, u), with r kept as a free positive scale."""
    _, r, s, _, _ = _relu_symbols()
    return {**_angle_patches(), s: _X * r}


@claim("relu.hessian_bound")
def _hessian_bound() -> Claim:
    from theory import relu
    k, r, s, t, m = _relu_symbols()
    lam = dict(zip(("along_w", "along_normal", "orthogonal"), relu.hessian_eigenvalues_expr(),
                   strict=True))
    upper, lower = relu.lipschitz_expr().args  # Max(2a/k^2, (k^2 + k)s/(pi m k^2) - 2a/k^2)
    sub = {**_angle_patches(), r: m / (1 - NU.symbol), s: _RHO * m}
    tau, u, nu = TAU.symbol, U.symbol, NU.symbol
    # 1 - sin t = 2 sin^2(t/2 - pi/4): the bound is touched on the line nu = 0, t = pi/2.
    forms = {"along_normal": (4 * u * sp.sin(sp.pi * tau / 2 - sp.pi / 4) ** 2
                              + nu * ((1 - u) + 2 * u * sp.sin(sp.pi * tau))) / sp.pi}
    ineqs, idents = [], []
    for name, e in lam.items():
        above = sp.simplify(upper - e)
        if above == 0:
            idents.append(Identity(f"{name}_is_the_first_branch_of_L", upper, e))
        else:
            ineqs.append(Inequality(f"{name}_at_most_first_branch", above,
                                    _DOMAIN_RST + ", |w| >= m > 0", (TAU, U, NU), sub,
                                    multiplier=1 / _RHO))
        ineqs.append(Inequality(f"{name}_at_least_minus_second_branch", lower + e,
                                _DOMAIN_RST + ", |w| >= m > 0", (TAU, U, NU), sub,
                                multiplier=1 / _RHO, form=forms.get(name)))
    return Claim(
        "relu.hessian_bound",
        "every Hessian eigenvalue lam of the ReLU loss at |w| >= m satisfies "
        "-L(m) <= lam <= L(m), L(m) = max{2a, (k^2+k)|w*|/(pi m) - 2a}/k^2",
        tuple(ineqs), tuple(idents),
        ("L(m) = Max(X1, X2) is at least X1 and at least X2, so X1 - lam >= 0 and X2 + lam >= 0 "
         "give |lam| <= L(m); the Hessian is symmetric with exactly these three eigenvalues "
         "(theory.relu.hessian_eigenvalues_expr, derived in the polar frame).",
         "Change of variables: t = pi tau, k = 1/u, |w| = m/(1 - nu) (nu in [0, 1) is |w| >= m), "
         "|w*| = rho m; each inequality is divided by rho > 0."))


def _kink_jump() -> sp.Expr:
    r"""Minus the jump of the directional derivative of the loss through ``w = 0`` along a line at
    angle ``t`` to ``w*``: :math:`-(\partial_r\ell(0, s, t) + \partial_r\ell(0, s, \pi - t))`."""
    from theory import relu
    _, r, _, t, _ = _relu_symbols()
    d_r = sp.diff(relu.loss_expr(), r).subs(r, 0)
    return sp.simplify(-(d_r + d_r.subs(t, sp.pi - t)))


@claim("relu.hessian_upper_bound_a0")
def _hessian_a0() -> Claim:
    from theory import relu
    k, r, s, t, _ = _relu_symbols()
    a0 = 2 * relu.a_coeff() / k**2
    names = ("along_w", "along_normal", "orthogonal")
    ineqs, idents = [], []
    for name, e in zip(names, relu.hessian_eigenvalues_expr(), strict=True):
        gap = sp.simplify(a0 - e)
        if gap == 0:
            idents.append(Identity(f"{name}_equals_A0", e, a0))
        else:
            ineqs.append(Inequality(f"{name}_at_most_A0", gap, _DOMAIN_RST, (TAU, U),
                                    _ratio_sub(), multiplier=1 / _X))
    ineqs.append(Inequality("concave_kink_at_zero", _kink_jump(),
                            "w* != 0 (s > 0), t in [0, pi] the angle of the line through 0, k >= 1",
                            (TAU, U), {**_angle_patches()}, relation=">",
                            multiplier=1 / s))
    return Claim(
        "relu.hessian_upper_bound_a0",
        "every Hessian eigenvalue of the ReLU loss is at most A0 = (k + pi - 1)/(pi k) at every "
        "w != 0, and along every line through 0 the directional derivative jumps down at 0",
        tuple(ineqs), tuple(idents),
        ("A0 = 2a/k^2 (theory.relu.a_coeff).",
         "Along a segment w(x) = w + x(v - w), g(x) = loss(w(x)) has g'' <= A0 |v - w|^2 wherever "
         "w(x) != 0 (the Hessian's eigenvalues are at most A0) and, where the segment passes "
         "through 0, g' jumps down (the last inequality: the one-sided slopes at 0 are "
         "d_r loss(0, s, t) and -d_r loss(0, s, pi - t)).  So g' - A0 |v - w|^2 x is "
         "non-increasing and g(1) <= g(0) + g'(0) + A0 |v - w|^2 / 2: the descent lemma with "
         "constant A0 holds for every pair of points, with no condition on the segment.",
         "RVSM's w-step is a gradient step on loss(w) + beta/2 |w - u|^2, whose curvature is at "
         "most A0 + beta in the same sense, so L_beta decreases by at least "
         "(1/eta - (A0 + beta)/2)|w+ - w|^2 >= 0 for every eta < 2/(A0 + beta); the u-step is an "
         "exact minimisation and cannot increase L_beta.",
         "Change of variables: t = pi tau, k = 1/u, |w*| = x |w| (divided by x > 0); the kink "
         "inequality is divided by s > 0."))


@claim("relu.gd_angle_monotone")
def _gd_angle() -> Claim:
    from theory import relu
    k, r, s, t, _ = _relu_symbols()
    a_, b_ = relu.grad_coeffs_expr()
    sup_a = 2 * relu.a_coeff() / k**2
    return Claim(
        "relu.gd_angle_monotone",
        "for 0 < eta < pi k/(k + pi - 1), one plain GD step does not increase theta(w, w*)",
        (Inequality("A_at_most_sup", sup_a - a_, _DOMAIN_RST, (TAU, U), _ratio_sub(),
                    multiplier=1 / _X),
         Inequality("B_nonnegative", b_, "t in [0, pi], k >= 1", (TAU, U), _angle_patches())),
        (Identity("step_bound_is_one_over_sup_A", relu.angle_monotone_step_bound(), 1 / sup_a),),
        ("w+ = (1 - eta A) w + eta B w*.  With A <= sup A = 2a/k^2 and eta < 1/sup A, "
         "1 - eta A > 0 (if A <= 0 trivially); with B >= 0, w+ is a non-negative combination of w "
         "and w* with a positive weight on w, so it lies in the closed cone spanned by w and w*, "
         "and its angle to w* is at most theta(w, w*).",
         "Change of variables: t = pi tau, k = 1/u, |w*| = x |w| (divided by x > 0)."))


@claim("relu.random_start_probability")
def _random_start() -> Claim:
    delta = sp.Symbol("delta", nonnegative=True)
    d = sp.Symbol("d", positive=True)
    p = sp.betainc_regularized((d - 1) / 2, sp.S.Half, 0, sp.sin(delta) ** 2) / 2
    sub = {delta: sp.pi * TAU.symbol / 2}
    return Claim(
        "relu.random_start_probability",
        "P[theta(w0, w*) > pi - delta] <= delta/pi for every delta in [0, pi/2] and every d >= 2",
        (Inequality("sin_nonnegative_on_first_quarter", sp.sin(delta), "delta in [0, pi/2]",
                    (TAU,), sub),
         Inequality("cos_nonnegative_on_first_quarter", sp.cos(delta), "delta in [0, pi/2]",
                    (TAU,), sub)),
        (Identity("P_at_zero", p.subs(delta, 0).rewrite(sp.Integral), sp.S.Zero),
         Identity("P_at_half_pi", p.subs(delta, sp.pi / 2).rewrite(sp.Integral), sp.S.Half)),
        ("P(delta) = (1/2) I_{sin^2 delta}((d-1)/2, 1/2) (theory.relu.random_start_probability) is "
         "the distribution function of the angle phi = pi - theta, whose density on [0, pi] is "
         "sin^{d-2}(phi)/B((d-1)/2, 1/2).",
         "On [0, pi/2], sin >= 0 and cos >= 0 (the two inequalities), so sin is non-decreasing "
         "and non-negative there, and so is sin^{d-2} for every real d >= 2: P is convex on "
         "[0, pi/2].",
         "A convex function lies below its chord: P(delta) <= P(0) + (P(pi/2) - P(0)) delta/(pi/2) "
         "= delta/pi by the two identities.  This holds for every d >= 2, with equality for "
         "d = 2 (constant density)."))


@claim("binary.correlation_nonnegative")
def _correlation() -> Claim:
    from theory import binary
    k, r, t = binary.k, binary.r, binary.t
    ineqs = []
    for ste in binary.STES:
        for general in (False, True):
            e = binary.correlation_v_expr(ste) if general else binary.correlation_expr(ste)
            sub = {t: sp.pi * TAU.symbol, r: 1 / (_Q * sp.sin(sp.pi * TAU.symbol))}
            variables: tuple = (TAU,)
            if not general:
                sub[k] = 1 / U.symbol
                variables = (TAU, U)
            ineqs.append(Inequality(
                f"{ste}{'_general_second_layer' if general else ''}", e,
                "t in (0, pi), |w| > 0, k >= 1, any second layer v" if general
                else "t in (0, pi), |w| > 0, k >= 1", variables, sub))
    return Claim(
        "binary.correlation_nonnegative",
        "<E coarse grad, true grad> >= 0 for the relu, identity and clipped-relu STEs (fixed and "
        "general second layer); zero only at t in {0, pi} (and where v.v* = 0)",
        tuple(ineqs), (),
        ("Change of variables: t = pi tau and, for t in (0, pi), |w| = 1/(q sin t) with q > 0 "
         "(a bijection of (0, inf) for each t); erf of a positive argument is positive, so every "
         "factor's sign is decided.  At t in {0, pi} the true gradient of the angle-only loss is "
         "0 (sin t = 0), so the correlation is 0 there.",))


@claim("limits.error_bound_inequalities")
def _error_bound_steps() -> Claim:
    from theory import relu
    from theory.backends import t_minus_sin
    k, r, s, t, _ = _relu_symbols()
    a_, b_ = relu.grad_coeffs_expr()
    a0, a1 = relu.grad_split_expr()
    d_expr = sp.simplify(a1 + b_ - a0)
    h = (sp.pi - t) * sp.sin(t)
    minus_d = t_minus_sin(t) / (sp.pi * k)
    minus_d_prime = 2 * sp.sin(t / 2) ** 2 / (sp.pi * k)
    phi = sp.Symbol("phi", nonnegative=True)
    cap = box_var("tau", 0, sp.Rational(1, 2))
    quarter = box_var("tau", 0, 1)
    return Claim(
        "limits.error_bound_inequalities",
        "the scalar inequalities of limits.md step 6 (ReLU and binary error bounds)",
        (Inequality("D_nonpositive", minus_d, "t in [0, pi], k >= 1", (TAU, U),
                    _angle_patches()),
         Inequality("D_decreasing", minus_d_prime, "t in [0, pi], k >= 1", (TAU, U),
                    _angle_patches()),
         Inequality("sBsin_concave_on_first_half", -sp.diff(h, t, 2), "t in [0, pi/2]", (cap,),
                    {t: sp.pi * cap.symbol}, relation=">"),
         Inequality("binary_distance_below_sqrt2_R",
                    sp.sqrt(2) * sp.sin(phi) - 2 * sp.sin(phi / 2),
                    "phi = asin R in [0, pi/2] (R in [0, 1])", (quarter,),
                    {phi: sp.pi * quarter.symbol / 2})),
        (Identity("D_closed_form", d_expr, -minus_d),
         Identity("D_derivative", sp.diff(d_expr, t), -minus_d_prime),
         Identity("A_split", a_, a0 - a1 * s / r),
         Identity("sBsin_at_half_pi", (s * b_ * sp.sin(t)).subs(t, sp.pi / 2), s / (2 * k)),
         Identity("distance_law_of_cosines", r**2 + s**2 - 2 * r * s * sp.cos(t),
                  (r - s) ** 2 + 4 * r * s * sp.sin(t / 2) ** 2)),
        ("ReLU step 2: |A0 r - (A1 + B) s| <= eps with D = A1 + B - A0 = (sin t - t)/(pi k) <= 0 "
         "and decreasing, so theta <= theta_1 gives r in [s + s D(theta_1)/A0 - eps/A0, "
         "s + eps/A0].",
         "ReLU step 1: s B(t) sin t = s (pi - t) sin t/(pi k) is concave on [0, pi/2] (second "
         "derivative < 0), zero at 0 and equal to s/(2k) at pi/2, so if eps < s/(2k) the set "
         "where it is <= eps within [0, pi/2] is an interval [0, theta_1].",
         "Binary: theta <= phi = asin R and |w_bar - w*^| = 2 sin(theta/2) <= 2 sin(phi/2) <= "
         "sqrt(2) sin(phi) = sqrt(2) R (the last inequality)."))


def _identity_claim(statement: str, text: str, idents: tuple[Identity, ...],
                    lemmas: tuple[str, ...]) -> Claim:
    return Claim(statement, text, (), idents, lemmas)


@claim("relu.closed_form_loss")
def _relu_loss() -> Claim:
    from theory import gaussian, relu
    k, r, s, t, _ = _relu_symbols()
    a_, b_ = relu.a_coeff(), relu.b_coeff()
    kappa = gaussian.relu_kernel()
    stated = (a_ * (r**2 + s**2) - 2 * k * r * s * kappa - 2 * b_ * r * s) / k**2
    return _identity_claim(
        "relu.closed_form_loss",
        "the derived population loss equals [a(|w|^2+|w*|^2) - 2k|w||w*|kappa_1(t) - "
        "2b|w||w*|]/k^2, and its cancellation-free form is the same function",
        (Identity("derived_equals_stated", relu.loss_expr(), stated),
         Identity("stable_form_equals_derived", relu.loss_stable_expr(), relu.loss_expr()),
         Identity("a_coefficient", a_, (k**2 + (sp.pi - 1) * k) / (2 * sp.pi)),
         Identity("b_coefficient", b_, (k**2 - k) / (2 * sp.pi))),
        ("The loss itself is derived by SymPy from the Gaussian arc-cosine kernel "
         "(theory.gaussian, integration); the identities certify that the stated closed form "
         "and its stable evaluation are that expression.  The Monte Carlo comparison remains "
         "tested evidence for the integration.",))


@claim("relu.critical_points")
def _relu_critical() -> Claim:
    from theory import relu
    k, r, s, t, _ = _relu_symbols()
    a_, b_ = relu.grad_coeffs_expr()
    ab = relu.b_coeff() / relu.a_coeff()
    return _identity_claim(
        "relu.critical_points",
        "grad l(w) = A w - B w* vanishes at w = w* and at w = -(b/a) w*",
        (Identity("gradient_zero_at_w_star", (a_ * r - b_ * s).subs({t: 0, r: s}), sp.S.Zero),
         Identity("gradient_zero_at_saddle", (a_ * r + b_ * s).subs({t: sp.pi, r: ab * s}),
                  sp.S.Zero),
         Identity("B_vanishes_only_at_pi", sp.solve(b_, t)[0], sp.pi)),
        ("At w = c w* with c > 0 the angle is 0 and grad = (A c - B) w*; with c < 0 it is pi and "
         "grad = (A c - B) w* with |c| = r/s, which the identities make 0 (in the second, "
         "A r + B s = 0 with B(pi) = 0 means A = 0).  Off the line of w*, grad = 0 needs B = 0, "
         "i.e. t = pi, a contradiction: no other critical point.",))


@claim("binary.closed_form_loss")
def _binary_loss() -> Claim:
    from theory import binary
    return _identity_claim(
        "binary.closed_form_loss",
        "the derived loss of the binary-activation network is t/(pi k) for w != 0",
        (Identity("loss_is_angle_over_pi_k", binary.loss_expr(),
                  binary.t / (sp.pi * binary.k)),),
        ("Derived by SymPy from the orthant probability (theory.gaussian); the Monte Carlo "
         "comparison remains tested evidence for the derivation.",))


@claim("binary.expected_coarse_gradients")
def _binary_coarse() -> Claim:
    from theory import binary
    c = 1 / (binary.k * sp.sqrt(2 * sp.pi))
    relu_a, relu_b = binary.coarse_coeffs_expr("relu")
    id_a, id_b = binary.coarse_coeffs_expr("identity")
    return _identity_claim(
        "binary.expected_coarse_gradients",
        "E g = c (w^ - w*^) (relu STE), 2c (w^ - w*^) (identity), c = 1/(k sqrt(2 pi))",
        (Identity("relu_coefficient_of_w_hat", relu_a, c),
         Identity("relu_coefficient_of_w_star_hat", relu_b, -c),
         Identity("identity_coefficient_of_w_hat", id_a, 2 * c),
         Identity("identity_coefficient_of_w_star_hat", id_b, -2 * c)),
        ("The coefficients are derived by SymPy integration (theory.binary.coarse_coeffs_expr); "
         "the clipped-relu form and the Monte Carlo comparison remain tested evidence.",))
