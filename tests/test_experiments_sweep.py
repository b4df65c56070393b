"""The sweep: saved points with provenance, resuming without losing finished points, the
summary and table, the matched phase, the figure (``sim/experiments/sweep.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sim.experiments import sweep as S
from sim.experiments import training as T


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(**kw) -> S.SweepConfig:
    base = dict(models=("patch",), methods=("rvsm-l1", "prune"), seeds=(0, 1, 2),
                lams={"rvsm-l1": (0.0, 0.02), "prune": (0.5,)}, epochs=1, finetune_epochs=1,
                limit=200, workers=1)
    base.update(kw)
    return S.SweepConfig(**base)


@pytest.fixture
def counting(monkeypatch):
    calls: list[tuple] = []
    real = T.train

    def spy(data, method, lam, beta=1.0, seed=0, config=None, **kw):
        calls.append((method, lam, beta, seed))
        return real(data, method, lam, beta, seed, config, **kw)
    monkeypatch.setattr(T, "train", spy)
    return calls


def test_sweep_saves_every_point_with_provenance_and_summary(tmp_path, counting) -> None:
    path = S.run_tradeoff(tmp_path / "out", tiny_config())
    res = S.load_results(path)
    assert res["complete"] and len(res["points"]) == 9 and len(counting) == 9
    assert len(list((tmp_path / "out" / "points").glob("*.json"))) == 9
    assert "git_revision" in res["provenance"]
    # limit keeps a stratified share per class, rounded: 200 give 199 here
    assert abs(res["dataset"]["n_train"] + res["dataset"]["n_test"] - 200) <= 5
    assert res["config"]["seeds"] == [0, 1, 2]
    for row in res["summary"]:                       # mean and sample std over the 3 seeds
        pts = [p for p in res["points"] if (p["method"], p["lam"]) == (row["method"], row["lam"])]
        acc = np.array([p["accuracy"] for p in pts])
        assert row["seeds"] == [0, 1, 2]
        assert row["accuracy"]["mean"] == pytest.approx(acc.mean(), abs=1e-12)
        assert row["accuracy"]["std"] == pytest.approx(acc.std(ddof=1), abs=1e-12)
    zero = next(r for r in res["summary"] if r["method"] == "rvsm-l1" and r["lam"] == 0.0)
    assert zero["sparsity"]["max"] == 0.0
    pruned = next(r for r in res["summary"] if r["method"] == "prune")
    assert pruned["sparsity"]["mean"] == pytest.approx(0.5, abs=1 / 448)   # rounding of 448 w.
    md = (tmp_path / "out" / "tradeoff.md").read_text()
    assert "| patch | prune | 1 | 0.5 | 3 |" in md
    png = (tmp_path / "out" / "tradeoff.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_sweep_resumes_without_retraining_finished_points(tmp_path, counting) -> None:
    out = tmp_path / "out"
    cfg = tiny_config()

    def stop_after_two(msg: str) -> None:           # interrupt after the second task
        if msg.startswith("patch") and len(counting) >= 4:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        S.run_tradeoff(out, cfg, progress=stop_after_two, plot=False)
    assert len(counting) == 4
    partial = json.loads((out / "tradeoff.json").read_text())
    assert not partial["complete"] and len(partial["points"]) == 4
    counting.clear()
    S.run_tradeoff(out, cfg, plot=False)
    assert len(counting) == 5                        # only the missing points
    counting.clear()
    (out / "points" / f"{S.point_key('patch', 'rvsm-l1', 1.0, 0.02, 2)}.json").unlink()
    S.run_tradeoff(out, cfg, plot=False)
    assert counting == [("rvsm-l1", 0.02, 1.0, 2)]
    counting.clear()
    S.run_tradeoff(out, tiny_config(epochs=2), plot=False)   # another configuration: all again
    assert len(counting) == 9


def test_matched_phase_selects_lambda_per_seed_and_replays_from_disk(tmp_path, counting) -> None:
    cfg = tiny_config(methods=("rvsm-l1",), seeds=(0,), lams={"rvsm-l1": (0.005, 0.05)},
                      epochs=3, matched=(0.5,), matched_tol=0.003, matched_trials=8)
    path = S.run_tradeoff(tmp_path / "m", cfg, plot=False)
    res = S.load_results(path)
    (v,) = res["matched"]
    assert v["target"] == 0.5 and v["trainings"] == len(v["path"]) <= 8
    assert v["reached"] and abs(v["sparsity"] - 0.5) <= 0.003     # 448 weights: 1/448 steps
    assert v["path"][0][2] == "start" and v["trainings"] >= 2     # 0.005 .. 0.05 bracketed it
    (e,) = [e for e in res["at_sparsity"] if e["sparsity"] == 0.5]
    assert e["accuracy"] == v["accuracy"] and e["how"].startswith("lambda selected")
    trial_lams = {p[0] for p in v["path"]}
    stored = {p["lam"] for p in res["points"]}
    assert trial_lams <= stored                      # every trial is a stored point
    n = len(counting)
    S.run_tradeoff(tmp_path / "m", cfg, plot=False)
    assert len(counting) == n                        # outcome stored: nothing retrained


def test_accuracy_at_interpolates_per_seed_and_refuses_wide_gaps() -> None:
    pts = []
    for seed, shift in ((0, 0.0), (1, 0.02)):
        for lam, sp, acc in ((1, 0.45, 0.9), (2, 0.55, 0.7), (3, 0.95, 0.1)):
            pts.append({"model": "m", "method": "rvsm-l1", "beta": 1.0, "lam": lam,
                        "seed": seed, "sparsity": sp + shift, "accuracy": acc, "status": "ok"})
    at = {e["sparsity"]: e for e in S.accuracy_at(pts, (0.5, 0.8))}
    # seed 0: halfway between (0.45, 0.9) and (0.55, 0.7) -> 0.8; seed 1: 0.3 of the way
    # from (0.47, 0.9) to (0.57, 0.7) -> 0.84 (rounding of the float sparsities: 1e-12)
    assert at[0.5]["accuracy"] == pytest.approx(0.82, abs=1e-12) and at[0.5]["n"] == 2
    assert at[0.5]["std"] == pytest.approx(np.std([0.8, 0.84], ddof=1), abs=1e-12)
    assert at[0.8]["accuracy"] is None               # 0.55 -> 0.95 is wider than 0.15


def test_sweep_config_rejects_bad_values(tmp_path) -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        S.SweepConfig(methods=("nope",))
    with pytest.raises(ValueError, match="model must be one of"):
        S.SweepConfig(models=("mlp",))
    with pytest.raises(ValueError, match="target sparsities"):
        S.SweepConfig(lams={"prune": (1.5,)})
    with pytest.raises(ValueError, match="matched"):
        S.SweepConfig(matched=(1.0,))
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        S.run_tradeoff(tmp_path / "f", tiny_config())
    with pytest.raises(ValueError, match="no results file"):
        S.load_results(tmp_path)


@pytest.mark.slow
def test_two_workers_give_the_same_points(tmp_path) -> None:
    one = S.load_results(S.run_tradeoff(tmp_path / "a", tiny_config(), plot=False))
    two = S.load_results(S.run_tradeoff(tmp_path / "b", tiny_config(workers=2), plot=False))
    strip = [{k: v for k, v in p.items() if k != "elapsed_s"} for p in one["points"]]
    assert strip == [{k: v for k, v in p.items() if k != "elapsed_s"} for p in two["points"]]
