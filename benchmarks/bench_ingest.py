"""Benchmark: full ingest of the Groove MIDI Dataset, and parse-only: our reader vs mido.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py [--groove DIR] [--workers 1 2] [--mido-files N]

Targets (issue 2): full ingest <= 10 s wall on the 2-core machine, peak memory <= 1 GB.
Each ingest runs in a fresh child process; its peak memory is the largest sum of the
resident set sizes of that process and all its descendants (loky workers, isolated
parser processes), sampled every 20 ms with psutil, and cross-checked against the
kernel's ru_maxrss of the largest single descendant (resource.RUSAGE_CHILDREN).
The parse-only figures time the built-in reader (``technorhythm.corpus.parse``),
mido (the baseline) and, when installed, symusic on the same files in this process.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_DEFAULT_GROOVE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "groove"

_CHILD = """
import json, sys, time
from technorhythm.corpus import ingest
t0 = time.perf_counter()
report = ingest(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]), progress=False)
wall = time.perf_counter() - t0
print(json.dumps({"wall_s": wall, "clips": report.n_clips, "files": report.n_files,
                  "status": report.status_counts}))
"""


def _tree_rss(proc) -> int:
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def run_ingest(groove: Path, workers: int) -> dict:
    """Ingest in a child process; wall time (whole process and ingest call) and peak memory."""
    import psutil

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(groove), str(Path(tmp) / "ds"), str(workers)],
            stdout=subprocess.PIPE,
            text=True,
        )
        proc = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            peak = max(peak, _tree_rss(proc))
            time.sleep(0.02)
        out = child.stdout.read()
        process_wall = time.perf_counter() - t0
        if child.returncode != 0:
            raise RuntimeError(f"ingest child failed with status {child.returncode}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = json.loads(out.strip().splitlines()[-1])
        result.update(
            workers=workers,
            process_wall_s=round(process_wall, 3),
            wall_s=round(result["wall_s"], 3),
            peak_tree_rss_mb=round(peak / 2**20, 1),
            max_single_rss_mb=round(max(before, after) / 1024, 1),
        )
        return result


def parse_only(files: list[Path], mido_files: int) -> dict:
    """Parse-only throughput: our reader and symusic on every file, mido on the first few."""
    import mido

    from technorhythm.corpus.parse import parse_midi_bytes

    data = [p.read_bytes() for p in files]
    t0 = time.perf_counter()
    for d in data:
        parse_midi_bytes(d)
    ours = time.perf_counter() - t0
    out = {"ours_all_s": round(ours, 3)}
    try:
        import symusic
    except ImportError:
        symusic = None
    if symusic is not None:
        t0 = time.perf_counter()
        for d in data:
            symusic.Score.from_midi(d)
        out["symusic_all_s"] = round(time.perf_counter() - t0, 3)
    subset = files[:mido_files]
    t0 = time.perf_counter()
    for p in subset:
        mido.MidiFile(p)
    mid = time.perf_counter() - t0
    ours_per_file = ours / len(files)
    mido_per_file = mid / len(subset)
    out.update(
        mido_files=len(subset),
        mido_s=round(mid, 3),
        mido_all_estimated_s=round(mido_per_file * len(files), 2),
        mido_over_ours=round(mido_per_file / ours_per_file, 1),
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groove", type=Path, default=None)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mido-files", type=int, default=1150, help="files parsed by mido")
    args = parser.parse_args()
    groove = args.groove or Path(os.environ.get("TECHNORHYTHM_GROOVE_DIR", _DEFAULT_GROOVE))
    if not (groove / "info.csv").is_file():
        sys.exit(f"Groove MIDI Dataset not found at {groove}; set TECHNORHYTHM_GROOVE_DIR")
    files = sorted(groove.rglob("*.mid"))
    print(f"Groove: {len(files)} files at {groove}; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    figures: dict = {
        "files": len(files),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    figures["load_avg_1min_before"] = round(os.getloadavg()[0], 2)
    for w in args.workers:
        r = run_ingest(groove, w)
        print(
            f"ingest workers={w}: {r['wall_s']:.2f} s in ingest() "
            f"({r['process_wall_s']:.2f} s incl. interpreter start), {r['clips']} clips, "
            f"peak memory {r['peak_tree_rss_mb']:.0f} MB (process tree), "
            f"largest single process {r['max_single_rss_mb']:.0f} MB"
        )
        figures[f"ingest_w{w}"] = r
    p = parse_only(files, args.mido_files)
    sym = f"symusic {p['symusic_all_s']:.2f} s; " if "symusic_all_s" in p else ""
    print(
        f"parse only: ours {p['ours_all_s']:.2f} s for {len(files)} files; {sym}"
        f"mido {p['mido_s']:.2f} s for {p['mido_files']} files; mido/ours per file "
        f"= {p['mido_over_ours']:.0f}x"
    )
    figures["parse_only"] = p
    best = min(figures[f"ingest_w{w}"]["wall_s"] for w in args.workers)
    peak = max(figures[f"ingest_w{w}"]["peak_tree_rss_mb"] for w in args.workers)
    figures["targets"] = {
        "wall_s_target": 10.0,
        "best_wall_s": best,
        "wall_ok": best <= 10.0,
        "peak_mb_target": 1024,
        "peak_mb": peak,
        "memory_ok": peak <= 1024,
    }
    figures["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
