"""Benchmark: ingest at scale — 10k / 30k / 100k small MIDI files plus pathological ones.

Usage::

    .venv/bin/python benchmarks/bench_ingest_scale.py [--sizes 10000 30000 100000]
        [--workers 2] [--workdir DIR] [--keep]

Generates, at run time and never committed, a synthetic corpus of small drum MIDI
files (bytes written directly): 4- or 8-bar patterns from 20,000 one-bar
templates, with 4–16 cells flipped in 80 % of the files (so exact and near
duplicates occur across files), 1,000 files per pack folder. Every corpus also
holds the pathological files of the robustness issue:

* ``loop-4000x.mid``: one 4-bar loop repeated 4,000 times (~2 MB); before the
  linear-memory duplicate search, 2,000 repeats peaked at 3.3 GB;
* ``loop-4000x-near.mid``: the same with one cell changed (near duplicates of it);
* ``huge-delta-24.mid`` / ``huge-delta-12.mid``: ~100-byte files with one
  0x0FFFFFFF delta at 24 / 12 ticks per beat (~700k / ~1.4M windows of silence);
* ``dense-7mb.mid``: a valid 7 MB file of dense 32nd-note drumming.

The 10k and 30k corpora are hard links to the first pack folders of the 100k one.
Each ingest runs in a fresh child process; peak memory is the largest sum of the
resident set sizes of that process and all its descendants (the worker
processes), sampled every 50 ms with psutil. Wall time per 1,000 files at each
size, relative to the smallest size, measures linearity. The last line printed
is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import _tree_rss  # noqa: E402  (process-tree RSS, one definition)

TPQ = 96
STEP = TPQ // 4
PITCHES = (36, 38, 42, 46, 51)  # kick, snare, closed hat, open hat, ride
PATHOLOGICAL = (
    "loop-4000x.mid", "loop-4000x-near.mid", "huge-delta-24.mid", "huge-delta-12.mid",
    "dense-7mb.mid",
)  # fmt: skip
_CHILD = """
import json, sys, time
from technorhythm.corpus import ingest
t0 = time.perf_counter()
r = ingest(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]), progress=False)
print(json.dumps({"wall_s": time.perf_counter() - t0, "files": r.n_files, "clips": r.n_clips,
                  "status": r.status_counts, "reasons": r.reason_counts,
                  "exact": r.n_exact_duplicates, "near": r.n_near_duplicates}))
"""


def vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def smf(body: bytes, tpq: int = TPQ) -> bytes:
    """A format-0 file: tempo 128 BPM, 4/4, the events in ``body``, end of track."""
    head = b"\x00\xff\x51\x03" + (468750).to_bytes(3, "big") + b"\x00\xff\x58\x04\x04\x02\x18\x08"
    events = head + body + b"\x00\xff\x2f\x00"
    return (
        b"MThd"
        + struct.pack(">IHHH", 6, 0, 1, tpq)
        + b"MTrk"
        + struct.pack(">I", len(events))
        + events
    )


def events(grid: np.ndarray, vel: np.ndarray, jitter: np.ndarray, repeats: int = 1) -> bytes:
    """Note events of a (5, steps) onset grid (note-off one tick later), ``repeats`` times."""
    steps = grid.shape[1]
    inst, step = np.nonzero(grid)
    ticks = (step * STEP + jitter[inst, step]).tolist()
    timed = sorted(
        [(t, 1, bytes((0x99, PITCHES[i], int(v)))) for t, i, v in
         zip(ticks, inst.tolist(), vel[inst, step].tolist(), strict=True)]
        + [(t + 1, 0, bytes((0x89, PITCHES[i], 0))) for t, i in
           zip(ticks, inst.tolist(), strict=True)]
    )  # fmt: skip
    one, now = bytearray(), 0
    for t, _, data in timed:
        one += vlq(t - now) + data
        now = t
    loop = bytes(one) + vlq(steps * STEP - now) + b"\xff\x01\x00"  # a text event ends the loop
    return loop * repeats


def templates(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 5, 16) one-bar templates: a kick pattern, backbeat, hats, sparse open hats, ride."""
    t = np.zeros((n, 5, 16), bool)
    t[:, 0] = rng.random((n, 16)) < np.where(np.arange(16) % 4 == 0, 0.95, 0.12)
    t[:, 1] = rng.random((n, 16)) < np.where(np.isin(np.arange(16), (4, 12)), 0.9, 0.05)
    t[:, 2] = rng.random((n, 16)) < rng.uniform(0.2, 0.9, (n, 1))
    t[:, 3] = rng.random((n, 16)) < 0.06
    t[:, 4] = rng.random((n, 16)) < rng.uniform(0.0, 0.4, (n, 1))
    return t


def file_patterns(n_files: int, seed: int = 0):
    """(onset grid (5, steps), velocities, jitter ticks) of each generated file, in order."""
    rng = np.random.default_rng(seed)
    base = templates(rng, 20_000)
    for _ in range(n_files):
        bars = 4 if rng.random() < 0.7 else 8
        grid = np.tile(base[rng.integers(len(base))], (1, bars))
        if rng.random() < 0.8:  # most files are variations, the rest exact copies of a template
            flips = rng.integers(0, grid.size, rng.integers(4, 16))
            grid.reshape(-1)[flips] ^= True
        yield grid, rng.integers(40, 128, grid.shape), rng.integers(0, 4, grid.shape)


def generate(root: Path, n_files: int, seed: int = 0) -> float:
    """Write ``n_files`` pattern files in pack folders of 1,000; returns the seconds taken."""
    t0 = time.perf_counter()
    for k, (grid, vel, jitter) in enumerate(file_patterns(n_files, seed)):
        folder = root / f"pack_{k // 1000:03d}"
        if k % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{k:06d}.mid").write_bytes(smf(events(grid, vel, jitter)))
    return time.perf_counter() - t0


def dedupe_scaling(sizes: list[int]) -> dict:
    """Seconds of ``find_duplicates`` alone on the generated patterns (no MIDI, no ingest).

    Each file's grid is cut into 4-bar clips as ingestion would (rotation aside), so the
    near-duplicate search meets the corpus's duplicates and shared skeleton.
    """
    from technorhythm.corpus.dedupe import find_duplicates

    clips, files = [], []
    for k, (grid, vel, _) in enumerate(file_patterns(max(sizes))):
        for w in range(grid.shape[1] // 64):
            clips.append(np.where(grid[:, w * 64 : (w + 1) * 64], vel[:, w * 64 : (w + 1) * 64], 0))
            files.append(k)
    velocity, files = np.asarray(clips, np.uint8), np.asarray(files)
    out = {}
    for n in sorted(sizes):
        m = int(np.searchsorted(files, n))
        t0 = time.perf_counter()
        removed = len(find_duplicates(velocity[:m], files[:m]))
        out[str(n)] = {"clips": m, "removed": removed, "s": round(time.perf_counter() - t0, 2)}
    return out


def write_pathological(folder: Path, seed: int = 1) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    loop = np.tile(templates(rng, 1)[0], (1, 4))
    vel = np.full(loop.shape, 100)
    zero = np.zeros(loop.shape, int)
    files = {"loop-4000x.mid": smf(events(loop, vel, zero, repeats=4000))}
    near = loop.copy()
    near[2, 5] ^= True
    files["loop-4000x-near.mid"] = smf(events(near, vel, zero, repeats=4000))
    for tpq in (24, 12):
        body = bytearray()
        for beat in range(16):
            body += vlq(0 if beat == 0 else tpq - 1) + b"\x99\x24\x64" + b"\x01\x89\x24\x00"
        body += vlq(0x0FFFFFFF) + b"\x99\x24\x64" + b"\x01\x89\x24\x00"
        files[f"huge-delta-{tpq}.mid"] = smf(bytes(body), tpq)
    dense = np.ones((5, 64 * 8), bool)  # every instrument on every 16th
    chunk = events(dense, rng.integers(40, 128, dense.shape), rng.integers(0, 4, dense.shape))
    files["dense-7mb.mid"] = smf(chunk * (7 * 2**20 // len(chunk)))
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: len(data) for name, data in files.items()}


def link_subset(full: Path, sub: Path, n_files: int) -> None:
    """A corpus of the first ``n_files`` pattern files of ``full`` plus its pathological
    folder, as hard links (no extra data)."""
    for k in range(n_files):
        src = full / f"pack_{k // 1000:03d}" / f"f{k:06d}.mid"
        dst = sub / src.parent.name / src.name
        if k % 1000 == 0:
            dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, dst)
    (sub / "pathological").mkdir()
    for name in PATHOLOGICAL:
        os.link(full / "pathological" / name, sub / "pathological" / name)


def run_ingest(root: Path, out: Path, workers: int) -> dict:
    import psutil

    t0 = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root), str(out), str(workers)],
        stdout=subprocess.PIPE,
        text=True,
    )
    proc = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(proc))
        time.sleep(0.05)
    text = child.stdout.read()
    if child.returncode != 0:
        raise RuntimeError(f"ingest child failed with status {child.returncode}")
    result = json.loads(text.strip().splitlines()[-1])
    result.update(
        process_wall_s=round(time.perf_counter() - t0, 2),
        wall_s=round(result["wall_s"], 2),
        peak_tree_rss_mb=round(peak / 2**20, 1),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None, help="where to generate")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora")
    parser.add_argument(
        "--dedupe-only", action="store_true", help="time find_duplicates alone on the patterns"
    )
    args = parser.parse_args()
    if args.dedupe_only:
        load = round(os.getloadavg()[0], 2)
        result = dedupe_scaling(args.sizes)
        for n, r in result.items():
            print(f"{int(n):>7} files: {r['clips']} clips, find_duplicates {r['s']:.2f} s, "
                  f"{r['removed']} removed", flush=True)  # fmt: skip
        print(json.dumps({"dedupe_only": result, "load_avg_1min_before": load}))
        return
    sizes = sorted(args.sizes)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.workdir))
    figures: dict = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "workers": args.workers,
        "load_avg_1min_before": round(os.getloadavg()[0], 2),
    }
    try:
        full = work / f"corpus_{sizes[-1]}"
        gen_s = generate(full, sizes[-1])
        figures["pathological_bytes"] = write_pathological(full / "pathological")
        figures["generate_s"] = round(gen_s, 1)
        load = os.getloadavg()[0]
        print(f"generated {sizes[-1]} files in {gen_s:.1f} s under {work}; "
              f"{os.cpu_count()} CPUs; load average {load:.2f}", flush=True)  # fmt: skip
        for n in sizes:
            root = full if n == sizes[-1] else work / f"corpus_{n}"
            if n != sizes[-1]:
                link_subset(full, root, n)
            r = run_ingest(root, work / f"ds_{n}", args.workers)
            r["ms_per_file"] = round(1000 * r["wall_s"] / r["files"], 3)
            figures[f"n{n}"] = r
            print(f"{n:>7} files (+{len(PATHOLOGICAL)} pathological): {r['wall_s']:.1f} s in "
                  f"ingest(), {r['ms_per_file']:.2f} ms/file, peak memory "
                  f"{r['peak_tree_rss_mb']:.0f} MB, {r['clips']} clips, statuses {r['status']}, "
                  f"duplicates {r['exact']} exact / {r['near']} near", flush=True)  # fmt: skip
            if n != sizes[-1]:
                shutil.rmtree(root)
            shutil.rmtree(work / f"ds_{n}")
        base = figures[f"n{sizes[0]}"]["ms_per_file"]
        figures["ms_per_file_ratio_to_smallest"] = {
            str(n): round(figures[f"n{n}"]["ms_per_file"] / base, 2) for n in sizes
        }
        peak = max(figures[f"n{n}"]["peak_tree_rss_mb"] for n in sizes)
        figures["targets"] = {"peak_mb_target": 2048, "peak_mb": peak, "memory_ok": peak <= 2048}
        ratios = figures["ms_per_file_ratio_to_smallest"]
        print("ms per file relative to the smallest corpus: "
              + ", ".join(f"{k}: {v}" for k, v in ratios.items()))  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    figures["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
