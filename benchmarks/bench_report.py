"""Benchmark: ``technorhythm report`` on the demo fit and on the Groove fit by session.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_report.py --demo-fit DEMO_FIT --groove-fit GROOVE_FIT \
        [--model MODEL_DIR] [--out DIR]

Each fit folder comes from ``technorhythm fit`` (with its checks); the report is written
by the command line, as a user runs it, in a fresh process (imports included). Measured
per fit: wall time, the CPU time of the process (on a machine shared with other jobs the
wall time follows the load; the CPU time does not), the file size, and, as the
baseline measured in the same run, the time to reload the fit's population table and draw
the one figure a fit folder held before the report (``forest.png``,
:func:`technorhythm.posteriors.plots.plot_forest`). Targets: demo ≤ 20 s, Groove by
session ≤ 60 s, every file ≤ 15 MB, and the page shows every group of the fit (a
"Group: NAME" section with its figures for each group in ``population.csv``).

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

TARGETS_S = {"demo": 20.0, "groove": 60.0}
MAX_BYTES = 15_000_000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_report(fit_dir: Path, out: Path, model: str | None) -> dict:
    """Write the report with the CLI in a fresh process; wall and CPU seconds, bytes."""
    exe = Path(sys.executable).with_name("technorhythm")
    cmd = [str(exe), "report", str(fit_dir), "--out", str(out), "--force", "--quiet"]
    if model:
        cmd += ["--model", model]
    cpu0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "bytes": out.stat().st_size}


def baseline_forest(fit_dir: Path, out: Path) -> dict:
    """Reload the fit's population table and draw forest.png, in a fresh process."""
    code = (
        "import pandas as pd, sys\n"
        "from technorhythm.posteriors.plots import plot_forest\n"
        "plot_forest(pd.read_csv(sys.argv[1]), sys.argv[2])\n"
    )
    cpu0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, str(fit_dir / "population.csv"), str(out)], check=True
    )
    return {
        "wall_s": round(time.perf_counter() - t0, 2),
        "cpu_s": round(_children_cpu() - cpu0, 2),
    }


def groups_missing(page: str, groups: list[str]) -> list[str]:
    """The groups without their own section (heading and at least one figure) in ``page``."""
    missing = []
    for group in groups:
        heading = f">Group: {html.escape(group, quote=True)}</h3>"
        at = page.find(heading)
        end = page.find("</section>", at)
        if at < 0 or "<img" not in page[at:end]:
            missing.append(group)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-fit", required=True, help="fit folder of the demo corpus")
    parser.add_argument("--groove-fit", help="fit folder of Groove by session (pack)")
    parser.add_argument("--model", help="the model folder both fits used")
    parser.add_argument("--out", help="folder for the reports (default: a temporary one)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_report_"))
    out.mkdir(parents=True, exist_ok=True)
    result: dict = {"load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    fits = {"demo": args.demo_fit, "groove": args.groove_fit}
    for name, fit in fits.items():
        if not fit:
            continue
        fit_dir = Path(fit)
        n_groups = json.loads((fit_dir / "fit.json").read_text())["n_groups"]
        base = baseline_forest(fit_dir, out / f"{name}_forest.png")
        rep = run_report(fit_dir, out / f"{name}_report.html", args.model)
        ratio = rep["wall_s"] / base["wall_s"]
        groups = sorted(set(pd.read_csv(fit_dir / "population.csv")["group"].astype(str)))
        missing = groups_missing((out / f"{name}_report.html").read_text(), groups)
        print(
            f"{name}: {n_groups} groups, report {rep['wall_s']:.1f} s wall / {rep['cpu_s']:.1f} s "
            f"CPU, {rep['bytes'] / 1e6:.1f} MB; baseline forest.png {base['wall_s']:.1f} s "
            f"wall / {base['cpu_s']:.1f} s CPU; report / baseline {ratio:.1f}× "
            f"(target ≤ {TARGETS_S[name]:g} s); {len(groups) - len(missing)} of {len(groups)} "
            f"groups shown{' (missing: ' + ', '.join(missing) + ')' if missing else ''}",
            flush=True,
        )
        result[name] = {
            "groups": n_groups,
            **rep,
            "baseline_forest_wall_s": base["wall_s"],
            "baseline_forest_cpu_s": base["cpu_s"],
            "ratio_to_baseline": round(ratio, 2),
            "target_s": TARGETS_S[name],
            "meets_time_wall": rep["wall_s"] <= TARGETS_S[name],
            "meets_time_cpu": rep["cpu_s"] <= TARGETS_S[name],
            "meets_size": rep["bytes"] <= MAX_BYTES,
            "groups_shown": len(groups) - len(missing),
            "groups_missing": missing,
        }
    result["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    result["reports"] = str(out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
