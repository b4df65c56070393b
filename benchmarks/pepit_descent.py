r"""PEPit cross-check of the one-step descent constant behind ``rvsm.descent_lagrangian``.

RVSM's ``w``-step is one gradient step on :math:`F(w) = f(w) + \tfrac\beta2|w - u|^2` with
:math:`u = u^{t+1}` fixed: :math:`w^+ = w - \eta\nabla F(w)`.  For :math:`\nabla f`
:math:`L`-Lipschitz the descent lemma gives

.. math:: F(w^+) - F(w) \le -\Bigl(\frac1\eta - \frac{L + \beta}2\Bigr)|w^+ - w|^2 .

For each :math:`(L, \beta, \eta)` of a grid, PEPit (performance estimation, Drori-Teboulle /
Taylor-Hendrickx-Glineur) computes the *worst case over the whole function class* of
:math:`[F(w^+) - F(w)]/|w^+ - w|^2`, as an SDP:

* ``explicit``: :math:`f` in PEPit's ``SmoothFunction(L)`` (:math:`L`-smooth, possibly
  nonconvex: the class the toolkit's bound uses) plus the exact quadratic
  :math:`\tfrac\beta2|w|^2` (:math:`u = 0` without loss of generality: the class is
  translation invariant);
* ``class``: :math:`F` itself in ``SmoothFunction(L + beta)`` (a larger class: it drops the
  information that the quadratic part is exact).

The ratio is invariant under :math:`f \mapsto c^2 f(\cdot/c)`, so the SDP fixes
:math:`|w^+ - w|^2 = 1` and maximises :math:`F(w^+) - F(w)`.  The table compares the worst case
with the descent-lemma value :math:`-(1/\eta - (L + \beta)/2)`: agreement to the solver's
tolerance says the constant is *tight* for one step over the class (it cannot be improved
using :math:`L`-smoothness alone), and that the SDP reproduces it independently of the
toolkit's derivation.  Step sizes are fractions of :math:`2/(L + \beta)`; the last one (1.5) is
above the bound, where the worst case is an increase.

What this is not:

* not rigorous: PEPit's value and its dual certificate (the multipliers of the interpolation
  inequalities and the PSD residual) are floating-point output of an interior-point SDP solver
  (Clarabel through CVXPY), accurate only to the solver tolerance (about 1e-7 to 1e-9 in the
  objective; the ``explicit`` model with its rank-deficient Gram matrix is looser); nothing is
  rounded rigorously, and the dual is not re-verified in exact or interval arithmetic;
* not about our loss: it bounds every :math:`L`-smooth :math:`f`, not the ReLU or binary
  population loss (whose curvature is what ``relu.hessian_upper_bound_a0`` certifies), and it
  covers the ``w``-step only (the ``u``-step, an exact prox, decreases :math:`L_\beta` by
  optimality; the toolkit checks the full step per run).

Run (PEPit is an optional extra: ``pip install -e ".[pepit]"``)::

    .venv/bin/python benchmarks/pepit_descent.py            # writes benchmarks/pepit_descent.txt
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

LS = (0.5, 1.0, 2.0)
BETAS = (0.1, 1.0)
FRACS = (0.1, 0.25, 0.5, 0.9, 1.5)
SOLVER = "CLARABEL"


def worst_case(L: float, beta: float, eta: float, model: str) -> tuple[float, float, str, str]:
    """PEPit's worst case of F(w+) - F(w) over |w+ - w|^2 = 1: ``(dual bound, primal value,
    solver status, solver name)``."""
    from PEPit import PEP
    from PEPit.functions import SmoothFunction

    problem = PEP()
    w = problem.set_initial_point()
    if model == "class":
        big_f = problem.declare_function(SmoothFunction, L=L + beta)
        g, f_w = big_f.oracle(w)
        w1 = w - eta * g
        increase = big_f(w1) - f_w
    else:
        f = problem.declare_function(SmoothFunction, L=L)
        gf, f_w = f.oracle(w)
        w1 = w - eta * (gf + beta * w)  # grad F = grad f + beta (w - u), u = 0
        increase = f(w1) - f_w + beta / 2 * (w1 ** 2 - w ** 2)
    problem.set_initial_condition((w1 - w) ** 2 == 1)
    problem.set_performance_metric(increase)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CVXPY's "may be inaccurate": the status is recorded
        dual = problem.solve(verbose=0, solver=SOLVER)
    wrapper = problem.wrapper
    return float(dual), float(wrapper.objective.value), str(wrapper.prob.status), \
        str(wrapper.solver_name)


def table() -> tuple[list[str], float]:
    """The comparison table (lines) and the largest relative difference of the explicit model."""
    head = (f"{'L':>4} {'beta':>4} {'eta/(2/(L+b))':>13} {'eta':>9} {'PEPit explicit':>16} "
            f"{'PEPit class':>16} {'descent lemma':>16} {'rel.diff expl.':>14} "
            f"{'rel.diff class':>14}  status")
    lines = [head, "-" * len(head)]
    worst = 0.0
    for L in LS:
        for beta in BETAS:
            for frac in FRACS:
                eta = frac * 2 / (L + beta)
                lemma = -(1 / eta - (L + beta) / 2)
                ex, _, st_ex, solver = worst_case(L, beta, eta, "explicit")
                cl, _, st_cl, _ = worst_case(L, beta, eta, "class")
                rel_ex = abs(ex - lemma) / abs(lemma)
                rel_cl = abs(cl - lemma) / abs(lemma)
                worst = max(worst, rel_ex)
                lines.append(f"{L:>4g} {beta:>4g} {frac:>13g} {eta:>9.5g} {ex:>16.10g} "
                             f"{cl:>16.10g} {lemma:>16.10g} {rel_ex:>14.2e} {rel_cl:>14.2e}  "
                             f"{st_ex}/{st_cl} ({solver})")
    return lines, worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".txt"))
    args = parser.parse_args(argv)
    try:
        import PEPit  # noqa: F401
    except ImportError:
        print('PEPit is not installed: pip install -e ".[pepit]"', file=sys.stderr)
        return 2
    from importlib.metadata import version

    t0 = time.perf_counter()
    lines, worst = table()
    seconds = time.perf_counter() - t0
    header = [
        "PEPit worst case of [F(w+) - F(w)] / |w+ - w|^2, one gradient step w+ = w - eta grad F,",
        "F = f + beta/2 |w - u|^2, f L-smooth (possibly nonconvex); descent lemma value",
        "-(1/eta - (L+beta)/2).  explicit: f in SmoothFunction(L) + the exact quadratic;",
        "class: F in SmoothFunction(L + beta).  Floating-point SDP values (not rigorous).",
        f"PEPit {version('pepit')}, cvxpy {version('cvxpy')}, solver {SOLVER}; "
        f"{2 * len(lines[2:])} SDPs in {seconds:.1f} s",
        "",
    ]
    footer = ["", f"largest relative difference (explicit model): {worst:.2e}"]
    text = "\n".join(header + lines + footer) + "\n"
    print(text, end="")
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
