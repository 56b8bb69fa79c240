"""Validation of the posterior estimator: recovery, SBC and TARP on fresh simulations,
plus the time to fit the Groove corpus.

Run::

    .venv/bin/python benchmarks/validate_inference.py [--model MODEL_DIR] \
        [--sets 500] [--draws 200] [--groove-dataset /tmp/groove_ds] [--out docs/img/inference]

For each set size N in ``--sizes`` (default 1, 16, 256) it draws ``--sets`` θ from the
prior, simulates a set of N clips for each (clip streams far away from any training
stream), observes it, and draws ``--draws`` posterior samples per set **once**; recovery,
SBC (sbi ``run_sbc``/``check_sbc``) and TARP (sbi ``run_tarp``/``check_tarp``) all read
those draws. The baseline measured in the same run is the prior: its RMSE (the sd of the
true θ) is the denominator of ``nrmse``.

The false-alarm rate of the misspecification verdict is measured by
``benchmarks/validate_checks.py``.

With ``--groove-dataset`` (a folder from ``technorhythm ingest``) it also times
``technorhythm fit --by pack --add-all --no-check`` (every pack and the whole corpus), as a
user would run it (a fresh process, imports included), against the 60 s target, and keeps
its forest plot and tables (``groove_*``).

Writes to ``--out``: ``recovery.csv``, ``sbc.csv``, ``tarp.csv``, ``validation_tables.md``,
``recovery.png``, ``sbc_ecdf.png``, ``sbc_hist_N{n}.png``, ``tarp.png`` and
``validation.json``. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from technorhythm.diagnostics import (
    PrecomputedSamples,
    check_recovery,
    check_sbc,
    check_tarp,
    run_recovery,
    run_sbc,
    run_tarp,
)
from technorhythm.inference import PosteriorEstimator
from technorhythm.inference.packaged import SHIPPED_DIR, load_shipped
from technorhythm.inference.prior import sample_prior
from technorhythm.inference.training_data import simulate_sets

VALIDATION_START_INDEX = 1 << 40
"""First clip-stream index of the validation sets: far beyond any training set's streams."""


def simulate_validation(estimator, n_sets: int, n_clips: int, seed: int):
    """θ (M, K) from the prior and x (M, D) of sets of ``n_clips`` simulated clips."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(n_clips,)))
    theta = sample_prior(n_sets, rng, estimator.theta_bounds)
    x = simulate_sets(
        theta,
        np.full(n_sets, n_clips),
        seed=seed + n_clips,
        start_index=VALIDATION_START_INDEX,
        n_max=max(n_clips, 1024),
    )
    return theta, x


def validate_size(estimator, n_clips: int, args) -> dict:
    """Recovery, SBC and TARP at one set size; returns tables and run results."""
    names = list(estimator.theta_names)
    bounds = np.asarray(estimator.theta_bounds)
    prior_sd = (bounds[:, 1] - bounds[:, 0]) / np.sqrt(12.0)
    t0 = time.perf_counter()
    theta, x = simulate_validation(estimator, args.sets, n_clips, args.seed)
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    cached = PrecomputedSamples.from_sampler(estimator, x, args.draws, seed=args.seed)
    t_draw = time.perf_counter() - t0
    rate = args.sets * args.draws / t_draw
    print(
        f"N = {n_clips}: simulated {args.sets} sets in {t_sim:.1f} s; "
        f"{args.sets} × {args.draws} posterior draws in {t_draw:.1f} s ({rate:,.0f}/s)"
    )
    rec = run_recovery(cached, theta, x, names=names, n_samples=args.draws, n_clips=n_clips)
    rec_table = check_recovery(rec, prior_sd=prior_sd)
    sbc = run_sbc(cached, theta, x, names=names, n_samples=args.draws, n_clips=n_clips)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sbc_table = check_sbc(sbc, c2st=not args.no_c2st, seed=args.seed)
    tarp = run_tarp(cached, theta, x, n_samples=args.draws, seed=args.seed, n_clips=n_clips)
    tarp_fig = check_tarp(tarp)
    corr = pair_correlations(cached.draws, names, n_clips)
    return {
        "correlations": corr,
        "recovery": rec,
        "recovery_table": rec_table,
        "sbc": sbc,
        "sbc_table": sbc_table,
        "tarp": tarp,
        "tarp_figures": tarp_fig,
        "timing": {"simulate_s": t_sim, "draw_s": t_draw, "draws_per_s": rate},
    }


def pair_correlations(draws: np.ndarray, names: list[str], n_clips: int) -> pd.DataFrame:
    """Median (over simulated sets) posterior correlation of every knob pair.

    ``draws`` (n, M, K). A pair whose posteriors are strongly correlated set after set is
    only identified as a combination: a candidate for merging into one knob.
    """
    centred = draws - draws.mean(axis=0)
    cov = np.einsum("nmi,nmj->mij", centred, centred)
    scale = np.sqrt(np.einsum("mii->mi", cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / (scale[:, :, None] * scale[:, None, :])
    rows = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            r = corr[:, a, b]
            rows.append(
                {
                    "n_clips": n_clips,
                    "knob_a": names[a],
                    "knob_b": names[b],
                    "median_r": float(np.nanmedian(r)),
                    "share_abs_r_gt_05": float(np.mean(np.abs(r) > 0.5)),
                }
            )
    out = pd.DataFrame(rows)
    return out.reindex(out.median_r.abs().sort_values(ascending=False).index)


def time_groove_fit(dataset: str, model: str | None, n_cap: int, keep: Path) -> dict:
    """Wall time of ``technorhythm fit --by pack --add-all`` (packs and the whole corpus in
    one command), in a fresh process as a user runs it (imports and loading included)."""
    exe = str(Path(sys.executable).with_name("technorhythm"))
    tmp = Path(tempfile.mkdtemp(prefix="technorhythm-validate-"))
    try:
        cmd = [
            exe,
            "fit",
            dataset,
            "--by",
            "pack",
            "--add-all",
            "--n-cap",
            str(n_cap),
            "--no-check",
            "--out",
            str(tmp / "fit"),
        ]
        if model:
            cmd += ["--model", model]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
        fit = tmp / "fit"
        record = json.loads((fit / "fit.json").read_text())
        shutil.copy(fit / "forest.png", keep / "groove_forest_by_pack.png")
        for name in ("summary", "correlations"):
            shutil.copy(fit / f"{name}.csv", keep / f"groove_{name}.csv")
        (keep / "groove_fit_output.txt").write_text(proc.stdout, encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"groove fit by pack + all: {wall:.1f} s wall, {record['n_groups']} groups; "
        f"stages {record['timing_s']}"
    )
    return {
        "command": "technorhythm " + " ".join(cmd[1:]).replace(str(tmp / "fit"), "OUT"),
        "wall_s": wall,
        "groups": record["n_groups"],
        "clips": record["n_clips"],
        "timing_s": record["timing_s"],
    }


def markdown_tables(results: dict[int, dict]) -> str:
    """Recovery / SBC / TARP / correlations as Markdown tables."""
    lines = ["### Recovery (posterior mean error and 90% interval coverage)", ""]
    sizes = sorted(results)
    head = "| knob | " + " | ".join(f"nRMSE N={n} | cover N={n}" for n in sizes) + " |"
    lines += [head, "|" + " --- |" * (1 + 2 * len(sizes))]
    tables = {n: results[n]["recovery_table"].set_index("knob") for n in sizes}
    for knob in tables[sizes[0]].index:
        cells = []
        for n in sizes:
            r = tables[n].loc[knob]
            mark = "" if r.coverage_ok else " ✗"
            cells += [f"{r.nrmse:.2f}", f"{r.coverage:.2f}{mark}"]
        lines.append(f"| `{knob}` | " + " | ".join(cells) + " |")
    lines += ["", "✗ = coverage differs from 0.90 (binomial test, p < 0.01).", ""]
    sbc_sizes = [n for n in sizes if n > 1]
    lines += ["### SBC (rank uniformity per knob)", ""]
    head = "| knob | " + " | ".join(
        f"KS p N={n} | mean rank N={n} | tails N={n} | C2ST DAP N={n}" for n in sbc_sizes
    )
    lines += [head + " |", "|" + " --- |" * (1 + 4 * len(sbc_sizes))]
    stabs = {n: results[n]["sbc_table"].set_index("knob") for n in sbc_sizes}
    for knob in stabs[sbc_sizes[0]].index:
        cells = []
        for n in sbc_sizes:
            r = stabs[n].loc[knob]
            mark = "" if r.calibrated else " ✗"
            cells += [
                f"{r.ks_p:.3f}{mark}",
                f"{r.rank_mean:.2f}",
                f"{r.tail_mass:.2f}",
                f"{r.c2st_dap:.2f}",
            ]
        lines.append(f"| `{knob}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        "✗ = not calibrated (KS p below 0.05 / number of knobs). mean rank = mean of rank / L "
        "(0.5 ideal; above 0.5 the posterior sits below the truth, i.e. underestimates the "
        "knob). tails = share of ranks in the outer 5% on either side (0.10 ideal; more = "
        "overconfident). C2ST DAP: prior vs data-averaged posterior (0.5 ideal).",
        "",
        "### TARP (expected coverage of the joint posterior)",
        "",
        "| N | ATC | max gap | DKW bound | KS p (sbi) | calibrated |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for n in sizes:
        f = results[n]["tarp_figures"]
        lines.append(
            f"| {n} | {f['atc']:+.3f} | {f['max_gap']:.3f} | {f['dkw_bound']:.3f} | "
            f"{f['ks_p']:.3f} | {'yes' if f['calibrated'] else 'no'} |"
        )
    lines += [
        "",
        "### Strongest posterior correlations (median over simulated sets)",
        "",
        "| N | pair | median r | sets with abs(r) > 0.5 |",
        "| --- | --- | --- | --- |",
    ]
    for n in sizes:
        for r in results[n]["correlations"].head(4).itertuples():
            lines.append(
                f"| {n} | `{r.knob_a}` – `{r.knob_b}` | {r.median_r:+.2f} | "
                f"{r.share_abs_r_gt_05:.0%} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256])
    parser.add_argument("--sets", type=int, default=500, help="simulated sets per size")
    parser.add_argument("--draws", type=int, default=200, help="posterior draws per set")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--no-c2st", action="store_true", help="skip sbi's C2ST checks")
    parser.add_argument("--groove-dataset", help="ingested Groove dataset to time the fit on")
    parser.add_argument("--n-cap", type=int, default=1024, help="--n-cap for the fit by all")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "img" / "inference")
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from technorhythm.diagnostics.plots import plot_recovery, plot_sbc_ranks, plot_tarp

    estimator = PosteriorEstimator.load(args.model) if args.model else load_shipped()
    model_dir = args.model or str(SHIPPED_DIR)
    manifest = getattr(estimator, "manifest_", {}) or {}
    print(f"model: {model_dir} ({manifest.get('training', {}).get('n_simulations')} sims)")
    results = {n: validate_size(estimator, n, args) for n in args.sizes}

    rec = pd.concat([results[n]["recovery_table"] for n in args.sizes], ignore_index=True)
    sbc_sizes = [n for n in args.sizes if n > 1]
    sbc = pd.concat([results[n]["sbc_table"] for n in args.sizes], ignore_index=True)
    tarp = pd.DataFrame([results[n]["tarp_figures"] for n in args.sizes])
    rec.to_csv(out / "recovery.csv", index=False, float_format="%.4g")
    sbc.to_csv(out / "sbc.csv", index=False, float_format="%.4g")
    tarp.to_csv(out / "tarp.csv", index=False, float_format="%.4g")
    corr = pd.concat([results[n]["correlations"] for n in args.sizes], ignore_index=True)
    corr.to_csv(out / "posterior_correlations.csv", index=False, float_format="%.4g")
    (out / "validation_tables.md").write_text(markdown_tables(results), encoding="utf-8")
    plot_recovery([results[n]["recovery"] for n in args.sizes], out / "recovery.png")
    plot_sbc_ranks([results[n]["sbc"] for n in sbc_sizes], out / "sbc_ecdf.png", kind="cdf")
    for n in sbc_sizes:
        plot_sbc_ranks([results[n]["sbc"]], out / f"sbc_hist_N{n}.png", kind="hist")
    plot_tarp([results[n]["tarp"] for n in args.sizes], out / "tarp.png")

    print(markdown_tables(results))
    figures: dict = {
        "model": model_dir,
        "model_n_simulations": manifest.get("training", {}).get("n_simulations"),
        "sets_per_size": args.sets,
        "draws_per_set": args.draws,
        "seed": args.seed,
    }
    for n in args.sizes:
        t = results[n]["recovery_table"]
        figures[f"N{n}"] = {
            "median_nrmse": round(float(t.nrmse.median()), 3),
            "median_nrmse_prior_baseline": 1.0,
            "mean_coverage90": round(float(t.coverage.mean()), 3),
            "knobs_coverage_ok": int(t.coverage_ok.sum()),
            "knobs_coverage_failing": t.loc[~t.coverage_ok, "knob"].tolist(),
            "draws_per_s": round(results[n]["timing"]["draws_per_s"]),
            "tarp_atc": round(results[n]["tarp_figures"]["atc"], 4),
            "tarp_calibrated": results[n]["tarp_figures"]["calibrated"],
        }
        top = results[n]["correlations"].head(3)
        figures[f"N{n}"]["strongest_pairs"] = [
            f"{r.knob_a}~{r.knob_b} r={r.median_r:+.2f}" for r in top.itertuples()
        ]
        if n > 1:
            s = results[n]["sbc_table"]
            figures[f"N{n}"]["sbc_knobs_calibrated"] = int(s.calibrated.sum())
            figures[f"N{n}"]["sbc_knobs_failing"] = s.loc[~s.calibrated, "knob"].tolist()
    figures["knobs"] = len(estimator.theta_names)
    if args.groove_dataset:
        fit = time_groove_fit(args.groove_dataset, args.model, args.n_cap, out)
        figures["groove_fit"] = {
            "wall_s": round(fit["wall_s"], 1),
            "target_s": 60,
            "ratio_to_target": round(fit["wall_s"] / 60, 2),
            "groups": fit["groups"],
            "command": fit["command"],
            "stages_s": fit["timing_s"],
        }
    (out / "validation.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
