"""Simulator throughput: the compiled engine vs the per-clip Python reference of its rules.

Run: ``.venv/bin/python benchmarks/bench_simulator.py [--n 200000] [--repeats 5]``

Measures clips per second for two workloads — one θ for all clips (generation)
and a different prior-drawn θ per clip (the inference training workload) — with
one thread, two threads (``simulate(..., workers=2)``) and two processes (joblib
loky, each simulating half the batch by ``start_index``). The machine is shared,
so each figure is measured ``--repeats`` times and the best and median are
reported, together with clips per CPU-second of this process (``time.process_time``,
less sensitive to other users of the machine; with an idle machine and perfect
scaling, 2 cores give twice the single-thread figure). The baseline is
:mod:`technorhythm.simulator.reference` (the same rules, one clip at a time in Python,
the definition the engine is tested against), measured in the same run. The last line
is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from technorhythm.clips import ClipBatch
from technorhythm.simulator import KNOB_NAMES, KNOBS, default_theta, simulate
from technorhythm.simulator.reference import simulate_clip


def prior_thetas(n: int, seed: int = 0) -> np.ndarray:
    low = np.array([k.low for k in KNOBS])
    high = np.array([k.high for k in KNOBS])
    return low + np.random.default_rng(seed).random((n, len(KNOBS))) * (high - low)


def timed(fn, repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this process, all threads) seconds of each repeat."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def two_processes(theta, n, seed):
    from joblib import Parallel, delayed

    half = n // 2
    if np.ndim(theta) == 2:
        jobs = [(theta[:half], None, 0), (theta[half:], None, half)]
    else:
        jobs = [(theta, half, 0), (theta, n - half, half)]
    parts = Parallel(n_jobs=2, backend="loky")(
        delayed(simulate)(t, k, seed=seed, start_index=s) for t, k, s in jobs
    )
    return ClipBatch.concat(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="clips per measurement")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ref-clips", type=int, default=300, help="clips for the reference")
    args = parser.parse_args()

    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    print(f"load average before: {os.getloadavg()}")
    figures: dict[str, object] = {"n": args.n, "repeats": args.repeats}
    workloads = {
        "one_theta": dict(default_theta()),
        "prior_theta": prior_thetas(args.n),
    }
    simulate(workloads["prior_theta"][:5000], seed=1)  # warm up imports and caches
    two_processes(default_theta(), 2000, 1)  # start the loky workers once
    for name, theta in workloads.items():
        n = None if isinstance(theta, np.ndarray) else args.n
        runs = {
            "1_thread": lambda theta=theta, n=n: simulate(theta, n, seed=7),
            "2_threads": lambda theta=theta, n=n: simulate(theta, n, seed=7, workers=2),
            "2_processes": lambda theta=theta: two_processes(theta, args.n, 7),
        }
        for mode, fn in runs.items():
            seconds, cpu = timed(fn, args.repeats)
            best = args.n / min(seconds)
            median = args.n / statistics.median(seconds)
            figures[f"{name}_{mode}_best"] = round(best)
            figures[f"{name}_{mode}_median"] = round(median)
            line = f"{name:12s} {mode:12s} best {best:10,.0f} clips/s  median {median:10,.0f}"
            if mode != "2_processes":  # process_time does not see the worker processes
                per_cpu = args.n / min(cpu)
                figures[f"{name}_{mode}_per_cpu_second"] = round(per_cpu)
                line += f"  ({per_cpu:,.0f} clips per CPU-second)"
            print(line)

    ref_theta = prior_thetas(args.ref_clips, seed=1)
    named = [dict(zip(KNOB_NAMES, row.tolist(), strict=True)) for row in ref_theta]

    def reference() -> None:
        for i, t in enumerate(named):
            simulate_clip(t, 7, i)

    ref_seconds, _ = timed(reference, 3)
    ref_best = args.ref_clips / min(ref_seconds)
    figures["reference_best"] = round(ref_best, 1)
    figures["ratio_1_thread_vs_reference"] = round(figures["prior_theta_1_thread_best"] / ref_best)
    best_any = max(v for k, v in figures.items() if k.startswith("prior_theta") and "best" in k)
    figures["ratio_best_vs_reference"] = round(best_any / ref_best)
    figures["target_clips_per_s"] = 200_000
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"reference (per-clip Python): best {ref_best:,.0f} clips/s")
    print(f"speed-up, 1 thread vs reference: {figures['ratio_1_thread_vs_reference']}x")
    print(f"speed-up, best mode vs reference: {figures['ratio_best_vs_reference']}x")
    print(f"load average after: {os.getloadavg()}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
