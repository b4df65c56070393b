"""``rvsm experiment tradeoff`` and ``rvsm experiment select-lambda`` end to end (plumbing;
the numbers are tested in test_experiments*.py)."""

from __future__ import annotations

import json

import pytest
import torch

from rvsm.cli import main

TINY = ["--quick", "--models", "patch", "--methods", "rvsm-l1,prune", "--lams", "0,0.5", "--seeds", "3",
        "--epochs", "1", "--limit", "200", "--workers", "1"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_tradeoff_json_and_progress(tmp_path, capsys) -> None:
    out = tmp_path / "t"
    assert main(["experiment", "tradeoff", "--out", str(out), "--json", "--no-plot"] + TINY) == 0
    cap = capsys.readouterr()
    obj = json.loads(cap.out)
    assert obj["points"] == 12 and obj["seeds"] == 3 and obj["figure"] is None
    assert {e["method"] for e in obj["at_sparsity"]} == {"rvsm-l1", "prune"}
    assert "grid: 12 points, 0 already done" in cap.err
    assert (out / "tradeoff.json").is_file() and (out / "tradeoff.md").is_file()
    # a second run finds everything done, prints the tables for people
    assert main(["experiment", "tradeoff", "--out", str(out), "--no-plot"] + TINY) == 0
    cap = capsys.readouterr()
    assert "grid: 12 points, 12 already done, 0 to train" in cap.err
    assert "| model | method | beta |" in cap.out and "results: " in cap.out


def test_select_lambda_on_real_data(capsys) -> None:
    argv = ["experiment", "select-lambda", "--target", "0.5", "--model", "patch", "--limit",
            "200", "--epochs", "3", "--tol", "0.02", "--lam0", "0.01", "--json", "--quiet"]
    code = main(argv)
    obj = json.loads(capsys.readouterr().out)
    (row,) = obj["targets"]
    assert code == (0 if row["reached"] else 1)
    assert row["reached"] and abs(row["sparsity"] - 0.5) <= 0.02
    assert row["path"][0]["lam"] == 0.01 and row["trainings"] == len(row["path"])
    assert obj["method"] == "rvsm-l1" and 0 <= row["accuracy"] <= 1


def test_select_lambda_on_the_gaussian_model(capsys) -> None:
    argv = ["experiment", "select-lambda", "--gaussian", "--target", "0.5", "--d", "8",
            "--penalty", "l1"]
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert "target 0.5: lam=" in cap.out and "u matches a fixed point=True" in cap.out
    assert "same interval: True" in cap.out and "target 0.5" in cap.err


@pytest.mark.parametrize(("argv", "message"), [
    (["select-lambda", "--target", "1.5"], "--target must be in [0, 1]"),
    (["select-lambda", "--target", "x"], "--target has an entry that is not a float"),
    (["select-lambda", "--target", "0.5", "--beta", "0"], "--beta must be > 0"),
    (["select-lambda", "--target", "0.5", "--tol", "2"], "--tol must be in [0, 1)"),
    (["select-lambda", "--target", "0.5", "--epochs", "0"], "--epochs must be >= 1"),
    (["select-lambda", "--target", "0.5", "--dataset", "/no/such.npz"], "neither 'digits'"),
    (["select-lambda", "--target", "0.5", "--gaussian", "--penalty", "group-tl1"],
     "--gaussian takes --penalty l1, l0 or tl1"),
    (["tradeoff", "--methods", "rvsm-l3"], "method must be one of"),
    (["tradeoff", "--seeds", "0"], "--seeds must be >= 1"),
    (["tradeoff", "--betas", "1,nan"], "--betas has NaN or inf entries"),
    (["tradeoff", "--matched", "1"], "--matched targets must be in (0, 1)"),
    (["tradeoff", "--out", "/no/such/dir/x"], "parent directory"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys) -> None:
    assert main(["experiment"] + argv + ["--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rvsm experiment: error: ") and message in err[0]
