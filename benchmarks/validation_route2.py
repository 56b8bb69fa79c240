"""Route 2 measured against route 1 (called by validate_inference.py with ``--route2``).

Route 2: a one-loop NPE q(θ | loop) under the uniform prior (``--route2-budget`` single
simulated loops; a mixture density network like the shipped loop network), its draws for
every loop of a pack combined in the hierarchical PyMC model of
:mod:`technorhythm.posteriors.hierarchical_pymc` (NUTS, the kernel likelihood, knob by
knob). Both routes fit the same simulated packs (ψ from the hyperprior,
``--route2-packs`` per size in ``--route2-sizes``); reported per route: the coverage of the
true ψ by 90% marginal intervals, the mean width of those intervals, the time per pack, and
for route 2 the largest R-hat, the smallest bulk ESS, the divergences, the mean tree depth
and the per-loop effective sample size of the Monte Carlo weights. The one-loop NPE is
checked on its own first: the coverage of true θ by its 90% intervals on held-out loops.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from technorhythm.inference.loop_npe import LoopNPE, simulate_single_loops

LOOP_DRAWS = 64
HELD_OUT_LOOPS = 1000


def _coverage(truth: np.ndarray, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per ψ entry: inside the central 90% interval (P,), interval width (P,)."""
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    return (truth >= lo) & (truth <= hi), hi - lo


def run(est, args, out: Path) -> dict:
    """Train the one-loop NPE, fit the same packs both ways, compare (module docstring)."""
    import validate_inference as vi
    from technorhythm.posteriors.hierarchical_pymc import fit_hierarchical

    pop = est.population
    t0 = time.perf_counter()
    theta, feats = simulate_single_loops(args.route2_budget, seed=args.seed, start_index=1 << 41)
    loop_npe = LoopNPE(
        flow={"model": "mdn", "hidden_features": 64, "num_transforms": 5, "max_num_epochs": 60}
    )
    loop_npe.fit(theta, feats)
    t_train = time.perf_counter() - t0
    print(f"route 2: one-loop NPE on {args.route2_budget} loops in {t_train:.0f} s", flush=True)
    theta_ho, feats_ho = simulate_single_loops(
        HELD_OUT_LOOPS, seed=args.seed + 1, start_index=1 << 42
    )
    held_out = np.moveaxis(loop_npe.sample(feats_ho, 200, seed=1), 1, 0)  # (draws, B, K)
    loop_cover = _coverage(theta_ho, held_out)[0].mean(axis=0)  # per knob
    print(f"  one-loop NPE: 90% intervals cover true θ {loop_cover.mean():.3f} "
          f"(knobs {loop_cover.min():.2f}–{loop_cover.max():.2f})", flush=True)  # fmt: skip
    rows = []
    width = pop.hyper_bounds[:, 1] - pop.hyper_bounds[:, 0]
    for n in args.route2_sizes:
        rng = np.random.default_rng([args.seed, n, 2])
        psi = vi.draw_packs(pop, args.route2_packs, rng, faces=False)
        x, z, _ = vi.simulate_packs(pop, psi, n, args.seed + 11)
        from technorhythm.simulator import simulate

        for i in range(args.route2_packs):
            clips = simulate(
                pop.clip(z[i]),
                seed=args.seed + 11 + n,
                start_index=vi.VALIDATION_START_INDEX + i * n,
            )
            f = vi.loop_features(clips)
            t1 = time.perf_counter()
            draws1 = est.sample_hyper(x[i : i + 1], 1000, seed=i)[:, 0]
            t_r1 = time.perf_counter() - t1
            t2 = time.perf_counter()
            loop_draws = loop_npe.sample(f, LOOP_DRAWS, seed=i)
            fit = fit_hierarchical(
                loop_draws, pop.bounds, pop.hyper_bounds, seed=i, likelihood="kernel"
            )
            t_r2 = time.perf_counter() - t2
            for route, draws, secs in (("1 amortised", draws1, t_r1), ("2 PyMC", fit.hyper, t_r2)):
                inside, w = _coverage(psi[i], draws)
                row = {
                    "route": route, "n_clips": n, "pack": i, "coverage90": float(inside.mean()),
                    "rel_width90": float(np.mean(w / width)), "seconds": secs,
                }  # fmt: skip
                if route.startswith("2"):
                    row.update(
                        rhat_max=fit.rhat_max, ess_bulk_min=fit.ess_bulk_min,
                        divergences=fit.divergences, tree_depth=fit.tree_depth_mean,
                        loop_ess_median=float(np.median(fit.loop_ess)),
                        loop_ess_min=float(fit.loop_ess.min()),
                    )  # fmt: skip
                rows.append(row)
            print(f"  N={n} pack {i}: route 1 {t_r1:.2f} s, route 2 {t_r2:.0f} s "
                  f"(R-hat {fit.rhat_max:.3f}, ESS {fit.ess_bulk_min:.0f}, "
                  f"loop ESS median {np.median(fit.loop_ess):.1f})", flush=True)  # fmt: skip
    table = pd.DataFrame(rows)
    table.to_csv(out / "route_comparison.csv", index=False, float_format="%.4g")
    agg = table.groupby(["route", "n_clips"]).agg(
        coverage90=("coverage90", "mean"), rel_width90=("rel_width90", "mean"),
        seconds=("seconds", "median"),
    ).reset_index()  # fmt: skip
    r2 = table[table.route.str.startswith("2")]
    figures = {
        "one_loop_npe_train_s": round(t_train, 1),
        "one_loop_npe_coverage90": round(float(loop_cover.mean()), 4),
        "one_loop_npe_coverage90_min": round(float(loop_cover.min()), 4),
        "summary": agg.round(4).to_dict("records"),
        "route2_rhat_max": round(float(r2.rhat_max.max()), 4),
        "route2_share_rhat_le_1.01": round(float((r2.rhat_max <= 1.01).mean()), 3),
        "route2_ess_bulk_min": round(float(r2.ess_bulk_min.min()), 1),
        "route2_divergences": int(r2.divergences.sum()),
        "route2_tree_depth_mean": round(float(r2.tree_depth.mean()), 2),
        "route2_loop_ess_median": round(float(r2.loop_ess_median.median()), 1),
        "route2_loop_ess_min": round(float(r2.loop_ess_min.min()), 2),
    }
    lines = ["### Route 1 (amortised pack network) against route 2 (one-loop NPE + PyMC)", ""]
    lines += ["| route | N | coverage of 90% intervals | mean width / prior width | s per pack |"]
    lines += ["| --- | --- | --- | --- | --- |"]
    for r in agg.itertuples():
        lines.append(
            f"| {r.route} | {r.n_clips} | {r.coverage90:.2f} | {r.rel_width90:.3f} "
            f"| {r.seconds:.2f} |"
        )
    lines += ["", f"Route 2: R-hat max {figures['route2_rhat_max']}, share ≤ 1.01 "
              f"{figures['route2_share_rhat_le_1.01']}, bulk ESS min "
              f"{figures['route2_ess_bulk_min']}, "
              f"divergences {figures['route2_divergences']}, mean tree depth "
              f"{figures['route2_tree_depth_mean']}, per-loop ESS median "
              f"{figures['route2_loop_ess_median']} (min {figures['route2_loop_ess_min']}) of "
              f"{LOOP_DRAWS} draws. One-loop NPE alone: 90% intervals cover true θ "
              f"{figures['one_loop_npe_coverage90']} (lowest knob "
              f"{figures['one_loop_npe_coverage90_min']}).", ""]  # fmt: skip
    figures["markdown"] = "\n".join(lines)
    return figures
