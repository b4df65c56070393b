"""``rvsm simulate`` and ``rvsm bench`` end to end (plumbing; the numbers are tested in
test_sim_runner.py and test_sim_gradients.py)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch

from rvsm.cli import main
from rvsm.commands.bench import summary_lines
from rvsm.commands.simulate import progress_printer
from sim import bench
from sim.results import Result

BASE = ["simulate", "--k", "3", "--w-star", "1,-0.5,0", "--lam", "0.05", "--beta", "1",
        "--eta", "0.5", "--quiet"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_simulate_json_carries_final_iterates_and_traces(capsys) -> None:
    assert main(BASE + ["--runs", "3", "--iters", "50", "--record-every", "10", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["runs"]) == 3 and out["trace_steps"] == [0, 10, 20, 30, 40, 50]
    for run in out["runs"]:
        assert len(run["w"]) == 3 and len(run["u"]) == 3
        assert run["status"] in ("converged", "max_iters", "failed")
        assert len(run["trace"]["loss"]) == 6 and run["trace"]["residual"][0] is None
    assert out["params"]["algorithm"] == "rvsm" and out["seed"] == 0
    assert "git_revision" in out["provenance"]


def test_simulate_options_and_human_output(capsys, tmp_path) -> None:
    path = tmp_path / "r.npz"
    argv = ["simulate", "--model", "binary", "--ste", "identity", "--penalty", "tl1",
            "--tl1-a", "2", "--k", "2", "--w-star=-1,0.5", "--w0", "0.2,1", "--lam", "0.01,0.02",
            "--beta", "1", "--eta", "0.5", "--iters", "20", "--samples", "8", "--dtype",
            "float32", "--out", str(path), "--quiet"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "rvscgd on the binary model, penalty tl1, online gradient, 2 run(s)" in text
    assert "distinct end point(s)" in text and "run(s) [" in text and f"saved: {path}" in text
    back = Result.load(path)
    assert back.params["penalty_params"] == {"a": 2.0} and back.params["lam"] == [0.01, 0.02]
    np.testing.assert_allclose(np.linalg.norm(back.w, axis=1), 1.0, rtol=1e-6)  # float32


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--eta", "0"], "eta must be > 0"),
        (["--eta=-1"], "eta must be > 0"),
        (["--w0", "1,2"], "same length"),
        (["--lam", "0.1,x"], "non-number"),
        (["--dtype", "float32", "--samples", "0"], "samples must be an integer >= 1"),
        (["--device", "cuda"] if not torch.cuda.is_available() else ["--device", "nodevice"],
         "device"),
        (["--algorithm", "rvscgd"], "binary"),
    ],
)
def test_simulate_bad_input_exits_2_with_one_line(capsys, extra: list[str], message: str) -> None:
    assert main(BASE + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_progress_printer_lines() -> None:
    buf = io.StringIO()
    cb = progress_printer("rvsm simulate", stream=buf, every_s=0.0)
    info = lambda: {"converged": 1, "failed": 0, "runs": 2, "median_loss": 0.5}  # noqa: E731
    cb(10, 100, info)
    assert buf.getvalue().startswith("rvsm simulate: step 10/100 (10%), converged 1/2")


def test_bench_plumbing_on_small_sizes() -> None:
    """The benchmark functions and the report run (tiny sizes; the figures are not tested)."""
    dev = torch.device("cpu")
    pop = bench.population(dev, quick=True, b=64, d=8)
    onl = bench.online(dev, quick=True, b=4, m=16, d=8)
    for key in ("ratio_vs_numpy", "roofline_fraction", "bandwidth_bytes_per_s"):
        assert pop[key] > 0
    assert onl["ratio_vs_module_loop"] > 0 and onl["direct_sampler_run_iters_per_s"] > 0
    res = {"machine": bench.machine(), "population": pop, "online": onl,
           "gpu": {"skipped": "no CUDA device"}}
    lines = summary_lines(res)
    assert any("vs per-run NumPy loop" in ln for ln in lines)
    assert lines[-1].startswith("GPU: skipped")
    json.dumps(res)  # JSON-ready


@pytest.mark.slow
def test_bench_quick_json(capsys) -> None:
    assert main(["bench", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"population", "online", "gpu", "machine"} <= set(out)
    assert out["population"]["ratio_vs_numpy"] > 0
