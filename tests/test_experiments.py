"""Real-data experiment: data loading, the two networks, training with the update rules of
``sim.algorithms``, the evaluated sparse network (``sim/experiments``; issue 8).

Float32 tolerances: a few hundred ulps of O(1) numbers (1e-5) where two computations sum in a
different order; exact equality where the same operations run on the same values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sim.experiments import training as T
from sim.experiments.data import load_digits, load_npz, split
from sim.experiments.models import Layout, PatchNet, SmallCNN, build_model
from theory.penalties import Penalty


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny():
    """300 digits (225 train / 75 test): enough for the plumbing, milliseconds per epoch."""
    return load_digits(limit=300)


TINY = T.TrainConfig(model="patch", epochs=2, batch_size=64)


# ------------------------------------------------------------------------------- data


def test_digits_load_offline_with_a_fixed_stratified_split() -> None:
    d = load_digits()
    assert d.x_train.shape == (1347, 1, 8, 8) and d.x_test.shape == (450, 1, 8, 8)
    assert d.classes == 10 and d.x_train.dtype == torch.float32
    assert float(d.x_train.min()) == 0.0 and float(d.x_train.max()) == 1.0   # pixels / 16
    counts = torch.bincount(d.y_test, minlength=10).numpy()
    totals = counts + torch.bincount(d.y_train, minlength=10).numpy()
    assert np.all(np.abs(counts - 0.25 * totals) <= 0.5 + 1e-9)              # rounded share
    again = load_digits()
    assert torch.equal(again.x_train, d.x_train) and torch.equal(again.y_test, d.y_test)
    other = load_digits(split_seed=1)
    assert not torch.equal(other.y_test, d.y_test)
    assert d.info["sha256"] == again.info["sha256"] and "sklearn" in d.info["source"]


def test_digits_file_reader_agrees_with_scikit_learn() -> None:
    from sklearn.datasets import load_digits as sk

    from sim.experiments.data import _digits_arrays

    images, target, _ = _digits_arrays()
    b = sk()
    assert np.array_equal(images, b.images) and np.array_equal(target, b.target)


def test_split_is_a_partition() -> None:
    y = np.repeat(np.arange(5), [3, 10, 11, 50, 2])
    tr, te = split(np.zeros((y.size, 1)), y, 0.3, seed=4)
    assert np.intersect1d(tr, te).size == 0
    assert np.array_equal(np.sort(np.concatenate([tr, te])), np.arange(y.size))
    for c in range(5):            # every class keeps a training sample
        assert np.any(y[tr] == c)


def test_npz_from_a_local_path_matches_digits(tmp_path) -> None:
    from sim.experiments.data import _digits_arrays

    images, target, _ = _digits_arrays()
    flat = tmp_path / "flat.npz"
    np.savez(flat, X=images.reshape(-1, 64), y=target)   # flat 64 features: square 8x8 images
    cube = tmp_path / "cube.npz"
    np.savez(cube, X=images, y=target.astype(np.float64))
    ref = load_digits()
    for path in (flat, cube):
        d = load_npz(path)
        assert torch.equal(d.x_train, ref.x_train) and torch.equal(d.y_train, ref.y_train)
        assert torch.equal(d.x_test, ref.x_test)
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.zeros((10, 63)), y=np.zeros(10))
    with pytest.raises(ValueError, match="square"):
        load_npz(bad)
    np.savez(bad, Z=np.zeros((10, 64)))
    with pytest.raises(ValueError, match="'X' and 'y'"):
        load_npz(bad)
    np.savez(bad, X=np.zeros((10, 64)), y=np.full(10, 0.5))
    with pytest.raises(ValueError, match="integer"):
        load_npz(bad)
    with pytest.raises(ValueError, match="does not exist"):
        load_npz(tmp_path / "missing.npz")


# ----------------------------------------------------------------------------- models


@pytest.mark.parametrize("name", ["cnn", "patch"])
def test_layout_evaluates_the_module_at_a_flat_vector(name) -> None:
    torch.manual_seed(0)
    m = build_model(name, (1, 8, 8), 10)
    lay = Layout(m)
    x = torch.rand(5, 1, 8, 8)
    flat = lay.flatten()
    assert flat.numel() == lay.size == sum(p.numel() for p in m.parameters())
    assert torch.equal(lay.forward(flat, x), m(x))                 # same ops, same values
    assert lay.n_penalised == sum(p.numel() for p in m.parameters() if p.ndim >= 2)
    assert all(s.penalised for s in lay.slots[:len(lay.penalised)])  # penalised block first
    lay.load(flat * 2)
    assert torch.equal(lay.flatten(), flat * 2)
    assert isinstance(m, SmallCNN if name == "cnn" else PatchNet)


def test_patchnet_is_the_no_overlap_network_on_patches() -> None:
    torch.manual_seed(1)
    net = PatchNet((1, 8, 8), 10, patch=4, filters=3)
    assert (net.k, net.d) == (4, 16)
    x = torch.rand(6, 1, 8, 8)
    w = net.filter.weight.detach().reshape(3, 16)
    hidden = []
    for j in range(3):                                # h_{j,i} = relu(w_j . Z_i), Z_i disjoint
        for r in range(2):
            for c in range(2):
                z = x[:, 0, 4 * r:4 * r + 4, 4 * c:4 * c + 4].reshape(6, 16)
                hidden.append(torch.relu(z @ w[j]))
    ref = net.readout(torch.stack(hidden, 1))
    torch.testing.assert_close(net(x), ref, atol=1e-5, rtol=1e-5)   # summation order
    with pytest.raises(ValueError, match="divide"):
        PatchNet((1, 8, 8), 10, patch=3)


# ------------------------------------------------------------------------------ prox


def test_flat_prox_thresholds_weights_and_keeps_biases() -> None:
    torch.manual_seed(2)
    lay = Layout(build_model("patch", (1, 8, 8), 10, filters=2))
    y = torch.randn(1, lay.size)
    pen = Penalty("tl1", a=1.0)
    out = T.FlatProx(pen, 0.3, lay, group=False, dtype=torch.float32)(y)
    n = lay.n_penalised
    assert torch.equal(out[:, :n], pen.prox(y[:, :n], 0.3))
    assert torch.equal(out[:, n:], y[:, n:])
    assert torch.equal(T.FlatProx(pen, 0.0, lay, group=False, dtype=torch.float32)(y), y)


def test_group_prox_zeroes_whole_channels_as_the_mpmath_group_prox() -> None:
    torch.manual_seed(3)
    lay = Layout(build_model("patch", (1, 8, 8), 10, filters=4))
    y = torch.randn(1, lay.size) * 0.3
    pen = Penalty("tl1", a=1.0)
    tau = 0.05
    out = T.FlatProx(pen, tau, lay, group=True, dtype=torch.float32)(y)
    for s in lay.penalised:
        rows_in = y[0, s.start:s.stop].reshape(s.groups, -1).double()
        rows_out = out[0, s.start:s.stop].reshape(s.groups, -1).double()
        step = tau * math.sqrt(s.group_size)
        zero = pen.threshold(step).zero
        for r_in, r_out in zip(rows_in, rows_out):
            ref = pen.group_prox([float(v) for v in r_in], step, [list(range(s.group_size))])
            np.testing.assert_allclose(r_out.numpy(), np.array(ref, dtype=float), atol=1e-6)
            if float(torch.linalg.vector_norm(r_in)) <= zero * (1 - 1e-6):
                assert bool((r_out == 0).all())
    assert torch.equal(out[:, lay.n_penalised:], y[:, lay.n_penalised:])


# --------------------------------------------------------------------------- training


def test_one_full_batch_step_is_the_rvsm_update(tiny) -> None:
    cfg = T.TrainConfig(model="patch", epochs=1, batch_size=None, eta=0.3)
    lam, beta = 0.02, 2.0
    o = T.train(tiny, "rvsm-l1", lam, beta, seed=5, config=cfg)
    module, lay = T._init(cfg, tiny, 5)
    w0 = lay.flatten()
    flat = w0.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(lay.forward(flat, tiny.x_train), tiny.y_train)
    (g,) = torch.autograd.grad(loss, flat)
    u = T.FlatProx(Penalty("l1"), lam / beta, lay, group=False, dtype=torch.float32)(w0[None])[0]
    w1 = w0 - 0.3 * g - 0.3 * beta * (w0 - u)
    assert torch.equal(o.u, u) and torch.equal(o.prox_input, w0)
    torch.testing.assert_close(o.w, w1, atol=1e-6, rtol=0)          # addcmul vs sub order
    assert o.steps == 1


def test_rvsm_with_lambda_zero_is_plain_sgd(tiny) -> None:
    o = T.train(tiny, "rvsm-l0", 0.0, 1.0, seed=1, config=TINY)
    _, lay = T._init(TINY, tiny, 1)
    w = lay.flatten()
    batches = T._Batches(tiny.x_train.shape[0], TINY.batch_size, 1)
    for _ in range(TINY.epochs * batches.per_epoch):
        idx = batches.next()
        f = w.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(lay.forward(f, tiny.x_train[idx]),
                                                 tiny.y_train[idx])
        (g,) = torch.autograd.grad(loss, f)
        w = w - TINY.eta * g
    torch.testing.assert_close(o.w, w, atol=1e-6, rtol=0)
    assert torch.equal(o.u, o.prox_input) and o.sparsity == 0.0   # u = prox(w^{T-1}) = w^{T-1}


def test_the_evaluated_network_is_u(tiny) -> None:
    o = T.train(tiny, "rvsm-tl1", 0.01, 1.0, seed=2, config=TINY)
    assert o.status == "ok" and not torch.equal(o.u, o.w)
    module, lay = T._init(TINY, tiny, 2)
    lay.load(o.u, module)
    with torch.no_grad():
        acc = float((module(tiny.x_test).argmax(1) == tiny.y_test).float().mean())
    assert acc == o.accuracy
    head = o.u[:lay.n_penalised]
    assert o.sparsity == float((head == 0).sum()) / lay.n_penalised
    assert torch.equal(o.u, T.FlatProx(Penalty("tl1", a=1.0), 0.01, lay, group=False,
                                       dtype=torch.float32)(o.prox_input[None])[0])


def test_sparsity_grows_with_lambda_and_the_seed_fixes_the_run(tiny) -> None:
    sps = [T.train(tiny, "rvsm-l1", lam, 1.0, seed=0, config=TINY).sparsity
           for lam in (0.0, 0.01, 0.05, 1.0)]
    assert sps[0] == 0.0 and sps[-1] == 1.0
    assert all(a <= b for a, b in zip(sps, sps[1:])), sps
    a = T.train(tiny, "rvsm-l1", 0.01, 1.0, seed=3, config=TINY)
    b = T.train(tiny, "rvsm-l1", 0.01, 1.0, seed=3, config=TINY)
    c = T.train(tiny, "rvsm-l1", 0.01, 1.0, seed=4, config=TINY)
    assert torch.equal(a.u, b.u) and a.accuracy == b.accuracy
    assert not torch.equal(a.u, c.u)


def test_practical_variant_resets_w_to_u_and_admm_uses_its_multiplier(tiny) -> None:
    p = T.train(tiny, "practical-l0", 0.002, 1.0, seed=0, config=TINY)
    assert torch.equal(p.w, p.u)            # the last step ends an epoch: w <- u
    a = T.train(tiny, "admm-l0", 0.002, 1.0, seed=0, config=TINY)
    r = T.train(tiny, "rvsm-l0", 0.002, 1.0, seed=0, config=TINY)
    assert not torch.equal(a.u, r.u)        # z != 0 changes the iterates
    _, lay = T._init(TINY, tiny, 0)
    assert torch.equal(a.u, T.FlatProx(Penalty("l0"), 0.002, lay, group=False,
                                       dtype=torch.float32)(a.prox_input[None])[0])


def test_magnitude_pruning_hits_the_sparsity_and_keeps_the_largest_weights(tiny) -> None:
    o = T.train(tiny, "prune", 0.6, 1.0, seed=0, config=TINY)
    _, lay = T._init(TINY, tiny, 0)
    n = lay.n_penalised
    assert o.sparsity == round(0.6 * n) / n
    dense = T._dense(TINY, tiny, 0, 1.0)[:n].abs()
    smallest = set(torch.argsort(dense)[:round(0.6 * n)].tolist())
    assert set(torch.nonzero(o.u[:n] == 0).flatten().tolist()) == smallest
    assert o.steps == (TINY.epochs + TINY.finetune_epochs) * math.ceil(225 / 64)


def test_group_variant_prunes_channels(tiny) -> None:
    o = T.train(tiny, "group-tl1", 0.02, 1.0, seed=0, config=TINY)
    _, lay = T._init(TINY, tiny, 0)
    for s in lay.penalised:
        rows = o.u[s.start:s.stop].reshape(s.groups, -1)
        zero_rows = (rows == 0).all(1)
        assert bool(((rows == 0).any(1) == zero_rows).all())   # a row is all zero or none
    assert o.channel_sparsity > 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method_name": "rvsm-l3", "lam": 0.1}, "method must be one of"),
    ({"method_name": "rvsm-l1", "lam": -0.1}, "lam must be"),
    ({"method_name": "rvsm-l1", "lam": 0.1, "beta": 0.0}, "beta must be"),
    ({"method_name": "prune", "lam": 1.5}, "target sparsity"),
    ({"method_name": "rvsm-l1", "lam": 0.1, "seed": -1}, "seed must be"),
])
def test_bad_training_input(tiny, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        T.train(tiny, config=TINY, **kwargs)
    with pytest.raises(ValueError, match="epochs"):
        T.TrainConfig(epochs=0)
