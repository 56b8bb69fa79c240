"""Benchmark: ``technorhythm fit`` of every pack plus the whole corpus, per-loop draws included.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_fit.py --dataset GROOVE_DS [--model MODEL_DIR] \
        [--threads 2] [--repeats 1]

Runs the user's command in a fresh process (imports included), as a user runs it::

    technorhythm fit DATASET --by pack --add-all --n-cap 1024 --no-check --out TMP

with ``--threads N`` (the default of the command line on a 2-core machine is 2) and, as the
baseline measured in the same run, with ``--threads 1``, with ``--no-loops``
(hyperparameters only) and with ``--kicks network`` (the kick knobs from the network, not the
kick block: what the block costs). Reports the wall time and the CPU time of each run, the stages
recorded in ``fit.json`` (observe, ψ draws, per-loop draws) and the write time, against the
target of 60 s for every Groove session plus the corpus. After the first main run (outside
its wall time) the fit's largest posterior file is written again with ArviZ's default
compression (zlib level 4, the baseline) and with ours (byte shuffle, zlib level 1). The
last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 60.0


def bench_write(fit_dir: Path, repeats: int = 2) -> dict:
    """The largest posterior file of a fit written again: ours (shuffle, zlib 1) against
    ArviZ's ``to_netcdf(compress=True)`` (zlib level 4, the baseline), interleaved."""
    from technorhythm.posteriors.arviz_adapter import (
        NETCDF_ENGINE,
        load_inference_data,
        save_inference_data,
    )

    largest = max(fit_dir.rglob("*.nc"), key=lambda p: p.stat().st_size)
    idata = load_inference_data(largest)
    seconds: dict[str, list[float]] = {"arviz_level4": [], "ours_level1": []}
    sizes = {}
    for _ in range(repeats):
        for name in seconds:
            out = fit_dir / f"bench_{name}.nc"
            if name == "ours_level1":
                start = time.perf_counter()
                save_inference_data(idata, out)
            else:
                fresh = load_inference_data(largest)  # without the encodings ours sets
                start = time.perf_counter()
                fresh.to_netcdf(str(out), engine=NETCDF_ENGINE, compress=True)
            seconds[name].append(time.perf_counter() - start)
            sizes[name] = out.stat().st_size
            out.unlink()
    figures = {
        name: {"seconds": round(min(v), 2), "mb": round(sizes[name] / 2**20, 1)}
        for name, v in seconds.items()
    }
    figures["file"] = largest.relative_to(fit_dir).as_posix()
    figures["speedup"] = round(
        figures["arviz_level4"]["seconds"] / figures["ours_level1"]["seconds"], 2
    )
    print(
        f"writing {figures['file']} again: ArviZ's zlib level 4 (baseline) "
        f"{figures['arviz_level4']['seconds']} s, {figures['arviz_level4']['mb']} MB; ours "
        f"(level 1) {figures['ours_level1']['seconds']} s, {figures['ours_level1']['mb']} MB "
        f"(×{figures['speedup']})",
        flush=True,
    )
    return figures


def run_fit(dataset: str, model: str | None, extra: list[str], write: bool = False) -> dict:
    """Wall and CPU seconds of one ``technorhythm fit`` in a fresh process, and its stages.

    ``write``: also time :func:`bench_write` on its folder."""
    exe = str(Path(sys.executable).with_name("technorhythm"))
    tmp = Path(tempfile.mkdtemp(prefix="technorhythm-bench-fit-"))
    try:
        cmd = [exe, "fit", dataset, "--by", "pack", "--add-all", "--n-cap", "1024",
               "--no-check", "--out", str(tmp / "fit"), *extra]  # fmt: skip
        if model:
            cmd += ["--model", model]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
        record = json.loads((tmp / "fit" / "fit.json").read_text())
        size = sum(p.stat().st_size for p in (tmp / "fit").rglob("*") if p.is_file())
        written = bench_write(tmp / "fit") if write else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "options": " ".join(extra),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "stages_s": record["timing_s"],
        "groups": record["n_groups"],
        "clips": record["n_clips"],
        "folder_mb": round(size / 2**20, 1),
        **({"write": written} if written else {}),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="ingested corpus with a pack column")
    parser.add_argument("--model", help="population model directory (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    runs = {
        f"threads {args.threads}": ["--threads", str(args.threads)],
        "threads 1 (baseline)": ["--threads", "1"],
        "no loops (baseline)": ["--no-loops"],
        "network's kick knobs (baseline)": ["--threads", str(args.threads), "--kicks", "network"],
    }
    results = {}
    for name, extra in runs.items():
        main_run = "baseline" not in name
        reps = [
            run_fit(args.dataset, args.model, extra, write=main_run and i == 0)
            for i in range(args.repeats)
        ]
        best = min(reps, key=lambda r: r["wall_s"])
        results[name] = {**best, "wall_s_all": [r["wall_s"] for r in reps]}
        if main_run:  # timed after the fit's wall time, on the first repeat's folder
            results[name]["write"] = reps[0]["write"]
        stages = best["stages_s"]
        print(
            f"{name:32s} wall {best['wall_s']:6.1f} s (cpu {best['cpu_s']:6.1f} s); fit "
            f"{stages['total_s']:.1f} s of which per-loop draws {stages['sample_loops_s']:.1f} s; "
            f"{best['groups']} groups, {best['clips']} clips, folder {best['folder_mb']} MB",
            flush=True,
        )
    main_run = results[f"threads {args.threads}"]
    summary = {
        "benchmark": "fit",
        "dataset": args.dataset,
        "target_s": TARGET_S,
        "wall_s": main_run["wall_s"],
        "ratio_to_target": round(main_run["wall_s"] / TARGET_S, 2),
        "meets_target": main_run["wall_s"] <= TARGET_S,
        "speedup_over_one_thread": round(
            results["threads 1 (baseline)"]["wall_s"] / main_run["wall_s"], 2
        ),
        "ratio_to_no_loops": round(
            main_run["wall_s"] / results["no loops (baseline)"]["wall_s"], 2
        ),
        "ratio_to_network_kicks": round(
            main_run["wall_s"] / results["network's kick knobs (baseline)"]["wall_s"], 2
        ),
        "runs": results,
    }
    print(
        f"with per-loop draws: {main_run['wall_s']:.1f} s against the {TARGET_S:.0f} s target "
        f"(×{summary['ratio_to_target']}); ×{summary['speedup_over_one_thread']} faster than one "
        f"thread; ×{summary['ratio_to_no_loops']} the time of a fit without per-loop draws"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
