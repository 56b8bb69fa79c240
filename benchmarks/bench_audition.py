"""Benchmark: how long a slider move on the audition page takes to give a new grid and WAV.

Run: ``.venv/bin/python benchmarks/bench_audition.py [--changes 60] [--bars 4] [--bpm 128]``

The app runs in uvicorn on a free localhost port, as ``technorhythm serve`` runs it. One
*change* is what the page does when a slider moves: ``GET /api/loop`` (simulate the loop,
return its step grid) and then ``GET /api/loop.wav`` (synthesise it), over one keep-alive
HTTP connection. Every change moves one knob, chosen at random, to a new random value from
the default setting, so no change is served from the app's cache of rendered loops.

The baseline, measured in the same run on other random changes, is the same work called
in-process without HTTP: simulate, grid, synthesise and encode the WAV. Their ratio is the
cost of the web layer. Target: a change in ≤ 150 ms (median and 95th percentile). Both
are also timed in CPU time of the process (the server is a thread of it), which on a busy
machine tells the work apart from the wait for a core; the load average is printed.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import httpx
import numpy as np

from technorhythm.audition import create_app, loop_payload, serving
from technorhythm.audition.params import LoopRequest
from technorhythm.simulator.knobs import KNOBS
from technorhythm.simulator.render import generate_loops, loop_wav_bytes
from technorhythm.threads import limit_threads

TARGET_MS = 150.0


def random_changes(n: int, rng: np.random.Generator, bars: int, bpm: float) -> list[LoopRequest]:
    """``n`` requests: the default setting with one knob moved to a random value each."""
    out = []
    for _ in range(n):
        theta = [k.default for k in KNOBS]
        j = int(rng.integers(len(KNOBS)))
        theta[j] = float(KNOBS[j].low + rng.random() * (KNOBS[j].high - KNOBS[j].low))
        out.append(LoopRequest(tuple(theta), int(rng.integers(2**31)), bpm, bars))
    return out


def time_http(base: str, changes: list[LoopRequest]) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock and CPU milliseconds per change: the grid request, then the WAV request.

    The server runs in a thread of this process, so the process's CPU time covers the
    client and the server.
    """
    times, cpu = [], []
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get("/api/knobs")  # open the connection
        for req in changes:
            t0, c0 = time.perf_counter(), time.process_time()
            grid = client.get(f"/api/loop?{req.query()}")
            wav = client.get(grid.json()["wav"])
            times.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
            if grid.status_code != 200 or wav.status_code != 200 or len(wav.content) < 1000:
                raise RuntimeError(f"bad answer: {grid.status_code} {wav.status_code}")
    return np.array(times), np.array(cpu)


def time_direct(changes: list[LoopRequest]) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock and CPU milliseconds per change for the same work without HTTP (and
    without the app's cache)."""
    times, cpu = [], []
    for req in changes:
        t0, c0 = time.perf_counter(), time.process_time()
        loop = generate_loops(list(req.theta), seed=req.seed, bars=req.bars, bpm=req.bpm)[0]
        grid = loop.clips.velocity.tolist(), loop.clips.offset.tolist()
        wav = loop_wav_bytes(loop)
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
        assert grid and wav
    return np.array(times), np.array(cpu)


def describe(name: str, ms: np.ndarray) -> str:
    return (
        f"{name}: median {np.median(ms):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
        f"max {ms.max():.1f} ms over {len(ms)} changes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=60)
    parser.add_argument("--bars", type=int, default=4)
    parser.add_argument("--bpm", type=float, default=128.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    warm = random_changes(3, rng, args.bars, args.bpm)
    http_changes = random_changes(args.changes, rng, args.bars, args.bpm)
    direct_changes = random_changes(args.changes, rng, args.bars, args.bpm)
    with limit_threads(1), serving(create_app()) as base:
        loop_payload(warm[0])  # compile the simulator kernel, build the drum voices
        time_http(base, warm[1:])
        http, http_cpu = time_http(base, http_changes)
        direct, direct_cpu = time_direct(direct_changes)
    load = os.getloadavg()[0]
    print(f"audition app on {base}, {args.bars} bars at {args.bpm:g} bpm")
    print(f"load average (1 min) {load:.1f} on {os.cpu_count()} CPUs")
    print(describe("slider change over HTTP (grid + WAV)", http))
    print(describe("  CPU time of the change (client + server)", http_cpu))
    print(describe("baseline: the same work in-process", direct))
    print(describe("  CPU time of the baseline", direct_cpu))
    ratio = float(np.median(http) / np.median(direct))
    met = bool(np.median(http) <= TARGET_MS and np.percentile(http, 95) <= TARGET_MS)
    print(f"HTTP / in-process (median): {ratio:.2f}; target ≤ {TARGET_MS:g} ms: {met}")
    result = {
        "benchmark": "audition",
        "changes": len(http),
        "bars": args.bars,
        "bpm": args.bpm,
        "http_median_ms": round(float(np.median(http)), 2),
        "http_p95_ms": round(float(np.percentile(http, 95)), 2),
        "http_max_ms": round(float(http.max()), 2),
        "http_cpu_median_ms": round(float(np.median(http_cpu)), 2),
        "http_cpu_p95_ms": round(float(np.percentile(http_cpu, 95)), 2),
        "direct_median_ms": round(float(np.median(direct)), 2),
        "direct_cpu_median_ms": round(float(np.median(direct_cpu)), 2),
        "load_average_1min": round(load, 2),
        "http_over_direct": round(ratio, 2),
        "target_ms": TARGET_MS,
        "target_met": met,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
