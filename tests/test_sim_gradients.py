"""Gradient oracles of sim/: sampled estimates against the closed forms of theory/.

* The mean of the minibatch (coarse) gradient equals :func:`theory.relu.grad` /
  :func:`theory.binary.coarse_grad` within 4 standard errors, for both samplers, every
  estimator, and at the special angles 0 and pi (where the projection sampler takes its
  fallback basis vector).
* The projection sampler and the direct sampler give the same distribution (two-sample
  Kolmogorov-Smirnov tests on several projections and on the squared norm).
* The per-sample formula is the autograd gradient of the minibatch loss (ReLU model).
* With m growing, the tail of the online iterates approaches the population limit at the
  1/sqrt(m) rate (fitted slope of log RMS distance against log m).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import sim
from sim.gradients import Model, OnlineOracle, TrainingSetOracle, minibatch_gradient

K, D = 3, 5
W_STAR = np.array([1.0, -0.5, 0.25, 0.0, 0.8])
POINTS = {
    "generic": np.array([0.3, 0.9, -0.4, 0.5, 0.1]),
    "angle0": 1.7 * W_STAR,
    "anglepi": -0.6 * W_STAR,
}
MODELS = [Model("relu"), Model("binary", "relu"), Model("binary", "identity"),
          Model("binary", "clipped-relu")]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread per test worker: pytest -n auto already uses every core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _samples(model: Model, w: np.ndarray, sampler: str, n: int, m: int, seed: int
             ) -> np.ndarray:
    """n independent minibatch gradients (minibatch size m) at w, as an (n, d) array."""
    ws = torch.as_tensor(np.tile(W_STAR, (n, 1)))
    wt = torch.as_tensor(np.tile(w, (n, 1)))
    gen = torch.Generator().manual_seed(seed)
    fallback = torch.randn(n, D, generator=torch.Generator().manual_seed(seed + 1),
                           dtype=torch.float64)
    oracle = OnlineOracle(model, ws, K, m, sampler, gen, fallback)
    return oracle(wt).numpy()


def _closed(model: Model, w: np.ndarray) -> np.ndarray:
    return model.expected_gradient(torch.as_tensor(w[None]), torch.as_tensor(W_STAR[None]),
                                   K).numpy()[0]


@pytest.mark.parametrize("sampler", ["projection", "direct"])
@pytest.mark.parametrize("point", sorted(POINTS))
@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.name}-{m.ste}")
def test_minibatch_mean_is_the_closed_form(model: Model, point: str, sampler: str) -> None:
    w = POINTS[point]
    g = _samples(model, w, sampler, n=20000, m=32, seed=10 * sorted(POINTS).index(point) + (sampler == "direct"))
    mean, se = g.mean(0), g.std(0, ddof=1) / np.sqrt(len(g))
    closed = _closed(model, w)
    # 4 standard errors per coordinate (issue 6); 1e-12 absorbs exactly-zero variances
    assert np.all(np.abs(mean - closed) <= 4 * se + 1e-12), (mean, closed, se)


def _directions(w: np.ndarray) -> list[np.ndarray]:
    """w^, the in-plane normal (or a fixed vector when w is parallel to w*), a generic one."""
    e1 = w / np.linalg.norm(w)
    s = W_STAR / np.linalg.norm(W_STAR)
    n = s - (s @ e1) * e1
    if np.linalg.norm(n) < 1e-12:
        n = np.array([0.0, 0.0, 0.0, 1.0, 0.0])  # W_STAR[3] = 0: orthogonal to the line
    n /= np.linalg.norm(n)
    v = np.array([0.4, -0.2, 0.7, 0.5, -0.3])
    return [e1, n, v / np.linalg.norm(v)]


@pytest.mark.parametrize("point", sorted(POINTS))
@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.name}-{m.ste}")
def test_projection_and_direct_samplers_agree_in_distribution(model: Model, point: str) -> None:
    w = POINTS[point]
    a = _samples(model, w, "projection", n=20000, m=2, seed=1)
    b = _samples(model, w, "direct", n=20000, m=2, seed=2)
    stats_a = [a @ v for v in _directions(w)] + [np.sum(a * a, 1)]
    stats_b = [b @ v for v in _directions(w)] + [np.sum(b * b, 1)]
    for sa, sb in zip(stats_a, stats_b):
        # level 1e-4 per statistic: 48 deterministic tests; power: with 2e4 samples each,
        # the test rejects sup-distances of the CDFs above ~0.02 (see the control below)
        assert stats.ks_2samp(sa, sb).pvalue > 1e-4


def test_ks_check_has_power() -> None:
    """Control: the same KS check tells m = 2 from m = 3 (variance ratio 1.5) at p < 1e-6."""
    w = POINTS["generic"]
    a = _samples(MODELS[0], w, "direct", n=20000, m=2, seed=3)
    b = _samples(MODELS[0], w, "direct", n=20000, m=3, seed=4)
    v = _directions(w)[2]
    assert stats.ks_2samp(a @ v, b @ v).pvalue < 1e-6


def test_per_sample_gradient_is_autograd_of_minibatch_loss() -> None:
    gen = torch.Generator().manual_seed(5)
    z = torch.randn(7, 11, K, D, generator=gen, dtype=torch.float64)
    w = torch.randn(7, D, generator=gen, dtype=torch.float64, requires_grad=True)
    ws = torch.randn(7, D, generator=gen, dtype=torch.float64)

    def f(v: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.einsum("bmkd,bd->bmk", z, v)).mean(-1)

    loss = ((f(w) - f(ws)) ** 2).mean(-1).sum()
    (auto,) = torch.autograd.grad(loss, w)
    ours = minibatch_gradient(Model("relu"), z, w.detach(), ws, K)
    # same sums in another order: float64 rounding of O(1) quantities
    torch.testing.assert_close(ours, auto, rtol=0, atol=1e-13)


def test_training_set_oracle_full_batch_and_minibatch() -> None:
    gen = torch.Generator().manual_seed(6)
    ws = torch.as_tensor(np.tile(W_STAR, (4, 1)))
    w = torch.as_tensor(np.tile(POINTS["generic"], (4, 1)))
    full = TrainingSetOracle(Model("relu"), ws, K, n=50, m=None, generator=gen)
    np.testing.assert_allclose(
        full(w).numpy(), minibatch_gradient(Model("relu"), full.z, w, ws, K).numpy(),
        rtol=0, atol=0)
    z = full.z
    f = lambda v: torch.relu(torch.einsum("bnkd,bd->bnk", z, v)).mean(-1)  # noqa: E731
    np.testing.assert_allclose(full.train_loss(w).numpy(),
                               ((f(w) - f(ws)) ** 2).mean(-1).numpy(), rtol=1e-14)
    mb = TrainingSetOracle(Model("relu"), ws, K, n=50, m=8, generator=gen)
    g1, g2 = mb(w), mb(w)
    assert g1.shape == (4, D) and not torch.equal(g1, g2)  # fresh indices each call
    res = sim.run(k=K, w_star=W_STAR, lam=0.01, beta=1.0, eta=0.5, runs=3, iters=20,
                  train_size=40, record_every=10)
    assert res.params["oracle"] == {"mode": "train", "model": "relu", "n": 40, "m": None}
    assert res.traces["train_loss"].shape == (3, 3)


def _rate(ms: list[int], runs: int, iters: int, burn: int) -> tuple[float, list[float]]:
    # every coordinate of the instance's limit is >= 0.02 away from the l1 kinks at
    # |w_i| = lam/beta, so near the limit the map is smooth and the fluctuations are linear
    # in the noise (the instance and the fit live in sim.checks, shared with the report)
    from sim.checks import sampled_rate

    return sampled_rate(tuple(ms), runs=runs, iters=iters, burn=burn)


def test_online_tail_approaches_population_limit_at_sqrt_m_rate() -> None:
    """Fitted slope of log RMS |w_t - w_bar| against log m (reported) is -1/2 +- 0.1.

    With a constant step the stationary fluctuation has covariance proportional to
    eta * Var(g) / m, so its RMS scales as m^(-1/2); the band allows for the finite tail
    (about 32 runs x 300 correlated steps: a few percent per RMS, ~0.03 on the slope over
    a 16x range of m) and for the nonlinearity at small m."""
    slope, rms = _rate([16, 64, 256], runs=32, iters=400, burn=100)
    print(f"fitted slope {slope:.4f}, RMS distances {rms}")
    assert -0.6 <= slope <= -0.4, (slope, rms)


@pytest.mark.slow
def test_online_sqrt_m_rate_long() -> None:
    slope, rms = _rate([16, 64, 256, 1024, 4096], runs=64, iters=1500, burn=200)
    print(f"fitted slope {slope:.4f}, RMS distances {rms}")
    assert -0.55 <= slope <= -0.45, (slope, rms)
