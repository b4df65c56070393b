"""``rvsm bench``: the simulator's speed against per-run loops, printed as ratios."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rvsm._cliutil import emit


def register(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark the batched simulator against per-run loops",
        description="Measure, side by side in this process: population RVSM (B=4096, d=64, "
        "k=4, float64) against a per-run NumPy loop and against the memory-traffic roofline; "
        "online sampled RVSM (B=64, m=1024, d=64, k=4, float32) against a per-run torch "
        "training loop; the same on a GPU when one is available.",
    )
    p.add_argument("--quick", action="store_true", help="fewer repetitions (noisier figures)")
    p.add_argument("--device", default="cpu", help="device of the main figures (default cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim import bench  # torch import deferred: `rvsm --help` stays fast

    def log(msg: str) -> None:
        print(f"rvsm bench: {msg}", file=sys.stderr, flush=True)

    res = bench.run_all(quick=args.quick, device=args.device, log=log)
    if args.json:
        emit(res, True)
        return 0
    for line in summary_lines(res):
        print(line)
    return 0


def summary_lines(res: dict[str, Any]) -> list[str]:
    """The human-readable report of :func:`sim.bench.run_all`."""
    m = res["machine"]
    lines = [f"machine: {m['cpu']}, {m['cpu_count']} cores, torch {m['torch']}, "
             f"load average {m.get('load_average_1min', float('nan')):.2f}"]

    def block(tag: str, pop: dict[str, Any], onl: dict[str, Any]) -> None:
        c = pop["config"]
        lines.append(
            f"{tag}population RVSM B={c['B']} d={c['d']} k={c['k']} {c['dtype']} on "
            f"{c['device']}: {pop['run_iters_per_s']:.3g} run-iter/s "
            f"(step {pop['step_s'] * 1e3:.3g} ms, {pop['threads']['batched']} thread(s))")
        lines.append(
            f"  vs per-run NumPy loop ({pop['numpy_run_iters_per_s']:.3g} run-iter/s): "
            f"{pop['ratio_vs_numpy']:.1f}x (target {pop['target_vs_numpy']:.0f}x)")
        lines.append(
            f"  roofline: {pop['bandwidth_bytes_per_s'] / 1e9:.3g} GB/s copy bandwidth, "
            f"{pop['min_traffic_bytes_per_step'] / 1e6:.3g} MB/step minimum -> "
            f"{pop['roofline_step_s'] * 1e3:.3g} ms/step; fraction reached "
            f"{pop['roofline_fraction']:.3f}")
        c = onl["config"]
        lines.append(
            f"{tag}online sampled RVSM B={c['B']} m={c['m']} d={c['d']} k={c['k']} "
            f"{c['dtype']}: {onl['run_iters_per_s']:.3g} run-iter/s (projection sampler), "
            f"{onl['direct_sampler_run_iters_per_s']:.3g} (direct sampler)")
        lines.append(
            f"  vs per-run nn.Module + backward + SGD loop "
            f"({onl['module_loop_run_iters_per_s']:.3g} run-iter/s): "
            f"{onl['ratio_vs_module_loop']:.1f}x (target {onl['target_vs_module_loop']:.0f}x); "
            f"direct sampler {onl['direct_ratio_vs_module_loop']:.2f}x")

    block("", res["population"], res["online"])
    gpu = res.get("gpu", {})
    if "skipped" in gpu:
        lines.append(f"GPU: skipped ({gpu['skipped']})")
    elif "population" in gpu:
        block("GPU ", gpu["population"], gpu["online"])
    return lines
