"""Validation of the population model: calibration on simulated packs, real packs, round
trips, speed, and the per-loop PyMC route it was chosen over.

Run (from the repository root)::

    .venv/bin/python benchmarks/validate_inference.py --model MODEL_DIR \
        [--sets 200] [--draws 200] [--sizes 1 16 256 1024] \
        [--demo-dataset /work/scratch/demo_out/dataset] [--groove-dataset /work/scratch/groove_ds] \
        [--route2] [--out docs/img/inference]

Calibration, for each pack size N in ``--sizes``: ``--sets`` packs with ψ from the uniform
hyperprior (so many packs have knobs with every loop on a bound) and as many *face* packs
(a third of the knobs forced onto a bound for every loop), simulated far from any
training clip stream; ``--draws`` posterior draws of ψ per pack, once, shared by:

* SBC per ψ entry (sbi ``run_sbc``/``check_sbc``): KS p with a Bonferroni correction over
  the 2K entries, and the mean normalised rank;
* TARP (sbi ``run_tarp``/``check_tarp``): ATC;
* the coverage of the flow's own highest-density regions at 50% and 90%;
* the coverage of 90% HDIs of the loops' mean value E[θ] per knob, overall and for true
  values within 2% of a knob bound (ride 0, crash 0, swing 0 packs);
* the per-loop knobs: SBC of the first loop's latent knobs z_1 under partial pooling.

Real packs (``--demo-dataset``, ``--groove-dataset``; the Groove test pack is never used):
odd-vs-even files z-scores, the pattern bootstrap (clips resampled) and the file bootstrap
(source files resampled, the unit ``fit`` pools) (:mod:`validation_real`). Round trips
and the fit time of every Groove pack plus the whole corpus (:mod:`validation_real`).
``--route2`` trains the one-loop NPE and compares the hierarchical PyMC route on the same
packs (:mod:`validation_route2`).

Writes tables (CSV, ``validation_tables.md``), figures (PNG) and ``validation.json`` to
``--out``; the last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from technorhythm.diagnostics import (  # noqa: E402
    PrecomputedSamples,
    check_hpd_coverage,
    check_interval_coverage,
    check_sbc,
    check_tarp,
    run_hpd_ranks,
    run_sbc,
    run_tarp,
)
from technorhythm.inference.flows import BoxLogit  # noqa: E402
from technorhythm.inference.population import Population  # noqa: E402
from technorhythm.inference.population_estimator import PopulationEstimator  # noqa: E402
from technorhythm.inference.set_summaries import (  # noqa: E402
    loop_features,
    observe_population_sets,
)
from technorhythm.posteriors.arviz_adapter import hdi_intervals  # noqa: E402

VALIDATION_START_INDEX = 1 << 40
"""First clip-stream index of the validation packs: far beyond any training stream."""
OUT_DEFAULT = Path(__file__).resolve().parents[1] / "docs" / "img" / "inference"


def draw_packs(pop: Population, n_sets: int, rng: np.random.Generator, *, faces: bool):
    """ψ (M, 2K) from the hyperprior; with ``faces`` a third of the knobs of every pack are
    put on a bound for every loop (location beyond the bound, spread below 5% of the range)."""
    psi = pop.sample_hyper(n_sets, rng)
    if faces:
        k = pop.n_knobs
        box = pop.hyper_bounds
        width = pop.bounds[:, 1] - pop.bounds[:, 0]
        for row in psi:
            knobs = rng.choice(k, size=max(1, k // 3), replace=False)
            upper = rng.random(len(knobs)) < 0.5
            row[k + knobs] = rng.uniform(0, 0.05) * width[knobs]
            beyond = rng.uniform(0.05, 0.45, len(knobs)) * width[knobs]
            row[knobs] = np.where(
                upper, pop.bounds[knobs, 1] + beyond, pop.bounds[knobs, 0] - beyond
            )
        psi = np.clip(psi, box[:, 0], box[:, 1])
    return psi


def simulate_packs(pop: Population, psi: np.ndarray, n_clips: int, seed: int):
    """Set observations (M, D), the latent knobs of every loop (M, N, K) and the first
    loop's features (M, F) of packs of ``n_clips`` loops."""
    from technorhythm.simulator import simulate

    rng = np.random.default_rng([seed, n_clips, 99])
    z = pop.sample_latent(psi, n_clips, rng)
    batch = simulate(pop.clip(z), seed=seed + n_clips, start_index=VALIDATION_START_INDEX)
    f = loop_features(batch)
    groups = np.repeat(np.arange(len(psi)), n_clips)
    x = observe_population_sets(
        batch, groups, n_sets=len(psi), n_max=max(n_clips, 1024), features=f
    )
    return x, z.reshape(len(psi), n_clips, -1), f[::n_clips]


def draw_hyper_chunked(est, x: np.ndarray, n_draws: int, seed: int) -> np.ndarray:
    """ψ draws (L, M, 2K) of M packs, 64 packs per pack-network call; pack i is seeded by
    ``seed + i``."""
    return np.concatenate(
        [est.sample_hyper(x[i : i + 64], n_draws, seed=seed + i) for i in range(0, len(x), 64)],
        axis=1,
    )


def hpd_coverage(log_q, psi: np.ndarray, x: np.ndarray, draws: np.ndarray) -> pd.DataFrame:
    """Coverage of the highest-density regions of the density ``log_q(ψ (n, B, P), x (B, D))
    → (n, B)``: the truth's rank among the draws' densities (sets in chunks of 64)."""
    lq_true = log_q(psi[None], x)[0]
    lq_draws = np.concatenate(
        [log_q(draws[:, i : i + 64], x[i : i + 64]) for i in range(0, len(x), 64)], axis=1
    )
    return check_hpd_coverage(run_hpd_ranks(lq_true, lq_draws))


def calibrate(est: PopulationEstimator, n_clips: int, args, *, faces: bool) -> dict:
    """Every calibration figure at one pack size (module docstring)."""
    pop = est.population
    names = list(est.hyper_names)
    rng = np.random.default_rng([args.seed, n_clips, int(faces)])
    psi = draw_packs(pop, args.sets, rng, faces=faces)
    t0 = time.perf_counter()
    x, z, f1 = simulate_packs(pop, psi, n_clips, args.seed + 7 * int(faces))
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    draws = draw_hyper_chunked(est, x, args.draws, args.seed)  # (L, M, 2K)
    t_draw = time.perf_counter() - t0
    cached = PrecomputedSamples(x, draws)
    sbc = run_sbc(cached, psi, x, names=names, n_samples=args.draws, n_clips=n_clips)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sbc_table = check_sbc(sbc, c2st=False)
    sbc_table["ks_p_bonferroni"] = np.minimum(1.0, sbc_table["ks_p"] * len(names))
    tarp = run_tarp(cached, psi, x, n_samples=args.draws, seed=args.seed, n_clips=n_clips)
    tarp_fig = check_tarp(tarp)
    # highest-density regions in the flow's own (logit) space and in knob units
    box = BoxLogit(est.hyper_bounds)
    hpd = {}
    for space, lp in (
        ("flow", lambda p, xx: est.pack_.log_prob(box.forward(p), xx)),
        ("knob", est.log_prob_hyper),
    ):
        hpd[space] = hpd_coverage(lp, psi, x, draws)
    hpd_knob = hpd["knob"]
    hpd = hpd["flow"]
    # the loops' mean value per knob: 90% HDI coverage, near the knob bounds included
    mean_true = pop.mean(psi)
    mean_draws = pop.mean(draws)  # (L, M, K)
    intervals = hdi_intervals(mean_draws, 0.9)  # (M, K, 2)
    bound_cov = check_interval_coverage(
        mean_true, intervals, pop.bounds, names=list(pop.names), level=0.9
    )
    # partial pooling: the first loop's latent knobs
    loop_draws = np.stack(
        [
            est.sample_latent(f1[i : i + 1], draws[:, i], seed=args.seed + 1000 + i)[:, 0]
            for i in range(len(x))
        ],
        axis=1,
    )  # (L, M, K)
    loop_sbc = run_sbc(
        PrecomputedSamples(x, loop_draws), z[:, 0], x, names=list(pop.names),
        n_samples=args.draws, n_clips=n_clips,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loop_table = check_sbc(loop_sbc, c2st=False)
    label = "faces" if faces else "prior"
    print(
        f"N = {n_clips} ({label}): simulated {args.sets} packs in {t_sim:.1f} s, drew "
        f"{args.draws} ψ each in {t_draw:.1f} s; TARP ATC {tarp_fig['atc']:+.3f}; HPD 50/90 "
        f"{hpd.coverage.iloc[0]:.2f}/{hpd.coverage.iloc[1]:.2f} (flow space), "
        f"{hpd_knob.coverage.iloc[0]:.2f}/{hpd_knob.coverage.iloc[1]:.2f} (knob units)",
        flush=True,
    )
    return {
        "sbc": sbc,
        "sbc_table": sbc_table,
        "tarp": tarp,
        "tarp_figures": tarp_fig,
        "hpd": hpd,
        "hpd_knob": hpd_knob,
        "bound_coverage": bound_cov,
        "loop_sbc_table": loop_table,
        "timing": {"simulate_s": t_sim, "draw_s": t_draw},
    }


def headline(res: dict, n_params: int) -> dict:
    """The bar's figures of one (N, kind) calibration run."""
    s = res["sbc_table"]
    b = res["bound_coverage"]
    near = b[b.n_near > 0]
    n_near = int(near.n_near.sum())
    cover_near = float((near.coverage_near * near.n_near).sum() / max(n_near, 1))
    return {
        "sbc_ks_fail": s.loc[s.ks_p_bonferroni <= 0.01, "knob"].tolist(),
        "sbc_ks_min_p_bonferroni": round(float(s.ks_p_bonferroni.min()), 4),
        "rank_mean_range": [round(float(s.rank_mean.min()), 3), round(float(s.rank_mean.max()), 3)],
        "rank_mean_outside": s.loc[(s.rank_mean < 0.45) | (s.rank_mean > 0.55), "knob"].tolist(),
        "tarp_atc": round(res["tarp_figures"]["atc"], 4),
        "hpd50": round(float(res["hpd"].coverage.iloc[0]), 3),
        "hpd90": round(float(res["hpd"].coverage.iloc[1]), 3),
        "hpd50_knob_units": round(float(res["hpd_knob"].coverage.iloc[0]), 3),
        "hpd90_knob_units": round(float(res["hpd_knob"].coverage.iloc[1]), 3),
        "mean_hdi90_coverage": round(float(b.coverage.mean()), 3),
        "near_bound_cases": n_near,
        "near_bound_coverage90": round(cover_near, 3),
        "loop_rank_mean_range": [
            round(float(res["loop_sbc_table"].rank_mean.min()), 3),
            round(float(res["loop_sbc_table"].rank_mean.max()), 3),
        ],
        "n_params": n_params,
    }


def calibration_markdown(results: dict) -> str:
    """The calibration bar as a Markdown table, one row per (N, packs)."""
    lines = [
        "| N | packs | SBC KS p (Bonferroni) > 0.01 | mean rank in 0.45–0.55 | TARP ATC | "
        "HPD 50% | HPD 90% | HPD 50/90% in knob units | E[θ] 90% HDI | near a bound: cases, "
        "coverage | loop z mean rank |",
        "|" + " --- |" * 11,
    ]
    for (n, kind), h in results.items():
        k = h["n_params"]
        lines.append(
            f"| {n} | {kind} | {k - len(h['sbc_ks_fail'])}/{k} "
            f"(min {h['sbc_ks_min_p_bonferroni']:.3f}) "
            f"| {k - len(h['rank_mean_outside'])}/{k} ({h['rank_mean_range'][0]:.2f}–"
            f"{h['rank_mean_range'][1]:.2f}) | {h['tarp_atc']:+.3f} | {h['hpd50']:.2f} | "
            f"{h['hpd90']:.2f} | {h['hpd50_knob_units']:.2f}/{h['hpd90_knob_units']:.2f} | "
            f"{h['mean_hdi90_coverage']:.2f} | {h['near_bound_cases']}, "
            f"{h['near_bound_coverage90']:.2f} | {h['loop_rank_mean_range'][0]:.2f}–"
            f"{h['loop_rank_mean_range'][1]:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="population model directory (default: the shipped one)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 1024])
    parser.add_argument("--sets", type=int, default=200, help="simulated packs per size and kind")
    parser.add_argument("--draws", type=int, default=200, help="posterior draws per pack")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--demo-dataset", help="the demo corpus (ingested)")
    parser.add_argument("--groove-dataset", help="Groove by session (ingested, split)")
    parser.add_argument("--bootstrap", type=int, default=20, help="pattern-bootstrap replicates")
    parser.add_argument("--route2", action="store_true", help="also measure the PyMC route")
    parser.add_argument("--route2-budget", type=int, default=30000, help="single-loop sims")
    parser.add_argument("--route2-packs", type=int, default=8, help="packs per size, route 2")
    parser.add_argument("--route2-sizes", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--skip-calibration", action="store_true")
    parser.add_argument(
        "--velocities",
        choices=["likelihood", "network"],
        default="likelihood",
        help="real packs: read the velocity knobs from the hits as `fit` does (default), or "
        "by the network",
    )
    parser.add_argument(
        "--timing",
        choices=["likelihood", "network"],
        default="likelihood",
        help="real packs: read the timing knobs from the hits as `fit` does (default), or "
        "by the network",
    )
    parser.add_argument(
        "--onsets",
        choices=["likelihood", "network"],
        default="likelihood",
        help="real packs: read the onset knobs from the hits as `fit` does (default), or "
        "by the network",
    )
    parser.add_argument(
        "--kicks",
        choices=["likelihood", "network"],
        default="likelihood",
        help="real packs: read the kick's pulses and extra kicks from the hits as `fit` does "
        "(default), or by the network",
    )
    parser.add_argument("--out", default=str(OUT_DEFAULT))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from technorhythm.inference.packaged import SHIPPED_DIR, load_shipped

    est = PopulationEstimator.load(args.model) if args.model else load_shipped()
    model_dir = args.model or str(SHIPPED_DIR)
    manifest = getattr(est, "manifest_", {}) or {}
    figures: dict = {
        "model": model_dir,
        "model_n_sets": manifest.get("n_sets"),
        "train_command": (manifest.get("data_reference") or {}).get("command"),
        "knobs": len(est.theta_names),
        "sets_per_size": args.sets,
        "draws_per_set": args.draws,
        "seed": args.seed,
    }
    md = []
    if not args.skip_calibration:
        from technorhythm.diagnostics.plots import plot_sbc_ranks, plot_tarp

        results, heads = {}, {}
        for n in args.sizes:
            for faces in (False, True):
                kind = "faces" if faces else "prior"
                results[(n, kind)] = calibrate(est, n, args, faces=faces)
                heads[(n, kind)] = headline(results[(n, kind)], len(est.hyper_names))
        sbc = pd.concat(
            [r["sbc_table"].assign(packs=k[1]) for k, r in results.items()], ignore_index=True
        )
        sbc.to_csv(out / "sbc.csv", index=False, float_format="%.4g")
        cov = pd.concat(
            [r["bound_coverage"].assign(n_clips=k[0], packs=k[1]) for k, r in results.items()],
            ignore_index=True,
        )
        cov.to_csv(out / "bound_coverage.csv", index=False, float_format="%.4g")
        prior_runs = [results[(n, "prior")] for n in args.sizes]
        plot_sbc_ranks([r["sbc"] for r in prior_runs], out / "sbc_ecdf.png", kind="cdf")
        plot_tarp([r["tarp"] for r in prior_runs], out / "tarp.png")
        md += ["### Calibration of the pack network", "", calibration_markdown(heads)]
        figures["calibration"] = {f"N{n}_{kind}": h for (n, kind), h in heads.items()}
    if args.demo_dataset or args.groove_dataset:
        import validation_real

        real = validation_real.run(est, args, out, model_dir)
        md += [real.pop("markdown")]
        figures["real"] = real
    if args.route2:
        import validation_route2

        r2 = validation_route2.run(est, args, out)
        md += [r2.pop("markdown")]
        figures["route2"] = r2
    (out / "validation_tables.md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))
    (out / "validation.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
