"""Calibration of a block of knobs that ``fit`` reads from the hits, on simulated packs.

Run (from the repository root)::

    .venv/bin/python benchmarks/hit_block_sbc.py [--block velocity|timing|onsets|kick]
        [--sizes 16 256 1024] [--sets 200] [--draws 200] [--seed 20261205]

For each pack size N: ``--sets`` packs with ψ from the hyperprior (so many packs have a
knob of the block on a bound in every loop), N loops each, simulated far from any training
stream; the block of every pack drawn ``--draws`` times (:mod:`technorhythm.inference.
hit_blocks`; the velocity block by default, ``--block timing`` the timing knobs, ``--block
onsets`` the onset chances, ``--block kick`` the kick's pulses and extra kicks). Per knob of
the block, over the packs whose loops show it (at least three):

* SBC of the loops' mean value E[θ] (sbi ``run_sbc``/``check_sbc``): KS p with a Bonferroni
  correction over the block's knobs, and the mean normalised rank;
* the coverage of 90 % HDIs of E[θ], overall and for truths within 2 % of a bound;
* the median posterior sd of E[θ] against the network's (``--model``'s pack network on the
  same packs: the baseline, measured in the same run);
* how the misses are made (:func:`error_floor`): their median (a bias) and robust spread,
  and the sd of an error shared by a pack's loops that normal intervals would need to cover
  90 %, absolute (``floor``) and per unit of the pack's median read standard error
  (``floor_per_se``, the velocity and timing blocks): small and alike at 256 and 1024 loops,
  a shared error that a wider location would absorb; large, a few packs read far off.

Below three loops ``fit`` leaves the block to the network, so N = 1 is the network's figure
(``validate_inference.py``). The last line printed is one JSON object.
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
from scipy.special import ndtri

sys.path.insert(0, str(Path(__file__).resolve().parent))

from technorhythm.diagnostics import (  # noqa: E402
    PrecomputedSamples,
    check_interval_coverage,
    check_sbc,
    run_sbc,
)
from technorhythm.inference import load_shipped  # noqa: E402
from technorhythm.inference.hit_blocks import (  # noqa: E402
    BLOCKS,
    draw_block,
    pack_view,
    read_block,
)
from technorhythm.inference.population import Population  # noqa: E402
from technorhythm.inference.population_estimator import PopulationEstimator  # noqa: E402
from technorhythm.inference.set_summaries import (  # noqa: E402
    loop_features,
    observe_population_sets,
)
from technorhythm.posteriors.arviz_adapter import hdi_intervals  # noqa: E402
from technorhythm.simulator import simulate  # noqa: E402

START_INDEX = 3 << 40
"""First clip-stream index of these packs: far from training and other validation streams."""


def error_floor(
    draws: np.ndarray, truth: np.ndarray, se: np.ndarray | None = None, level: float = 0.9
) -> dict:
    """How far the packs' posterior medians miss beyond what their posteriors say:
    ``error_median`` (the median miss, a bias), ``error_sd`` (1.4826 × the misses' median
    absolute deviation) and ``floor``, the least sd f of an error shared by every loop of a
    pack with which the normal intervals ``median ± z · sqrt(sd² + f²)`` cover the truth in a
    share ``level`` of the packs (0 where they already do). With ``se`` (M,), each pack's
    median standard error of its loops' reads, also ``floor_per_se``: the same with f a
    multiple of each pack's ``se`` (an error shared by the loops in proportion to their read
    noise). ``draws`` (S, M), ``truth`` (M,)."""
    miss = np.median(draws, axis=0) - truth
    centre = float(np.median(miss))
    error_sd = 1.4826 * float(np.median(np.abs(miss - centre)))
    var = draws.var(axis=0)
    z = float(ndtri(0.5 + level / 2))
    # covered with f iff f² ≥ need: the level's quantile of need is the least f² that covers
    need = np.maximum(miss**2 / z**2 - var, 0.0)
    out = {"error_median": centre, "error_sd": error_sd}
    out["floor"] = float(np.sqrt(np.quantile(need, level)))
    if se is not None:
        ok = np.isfinite(se) & (se > 0)
        share = np.where(ok, need / np.where(ok, se, 1.0) ** 2, np.where(need > 0, np.inf, 0.0))
        out["floor_per_se"] = float(np.sqrt(np.quantile(share, level)))
    return out


def one_size(est, n_clips: int, args) -> tuple[pd.DataFrame, dict]:
    """Per-knob figures at one pack size, and the timings."""
    pop = est.population
    knobs = BLOCKS[args.block]
    cols = np.array([pop.names.index(k) for k in knobs])
    block = Population(pop.bounds[cols], knobs)
    rng = np.random.default_rng([args.seed, n_clips])
    psi = pop.sample_hyper(args.sets, rng)
    z = pop.sample_latent(psi, n_clips, rng)
    t0 = time.perf_counter()
    batch = simulate(pop.clip(z), seed=args.seed + n_clips, start_index=START_INDEX)
    t_sim = time.perf_counter() - t0
    # baseline: the network's draws for the same packs
    t0 = time.perf_counter()
    groups = np.repeat(np.arange(args.sets), n_clips)
    x = observe_population_sets(
        batch, groups, n_sets=args.sets, n_max=max(n_clips, 1024), features=loop_features(batch)
    )
    net = np.concatenate(
        [est.sample_hyper(x[i : i + 64], args.draws, seed=args.seed + i)
         for i in range(0, args.sets, 64)], axis=1,
    )  # fmt: skip
    net_mean = pop.mean(net)[..., cols]  # (L, M, J)
    t_net = time.perf_counter() - t0
    t0 = time.perf_counter()
    reads = read_block(args.block, batch, per_loop=False)  # as fit reads them
    draws = np.full((args.draws, args.sets, len(cols)), np.nan)
    read_se = np.full((args.sets, len(cols)), np.nan)  # each pack's median read se per knob
    for i in range(args.sets):
        # the pack's view given the network's ψ (its loops' variation for the kick block;
        # the velocity block's kicks read given the kick block's base pulses)
        part = pack_view(reads[i * n_clips : (i + 1) * n_clips], None, net[:, i], pop)
        if hasattr(part, "se") and hasattr(part, "shown"):  # point reads (velocity, timing)
            for j in range(len(cols)):
                shown = part.shown[:, j]
                if shown.any():
                    read_se[i, j] = np.median(part.se[shown, j])
        rng_i = np.random.default_rng([args.seed, i])
        loc, spread, drawn = draw_block(
            part, args.draws, rng_i, knobs=knobs, hyper=net[:, i], population=pop
        )  # the network's ψ: the kick block reads its loops given their variation
        # E[θ] of every drawn knob (knobs left to the network are NaN in loc and spread)
        draws[:, i] = block.mean(np.concatenate([loc, spread], axis=1))
    t_block = time.perf_counter() - t0
    truth = pop.mean(psi)[:, cols]  # (M, J)
    rows = []
    for j, knob in enumerate(knobs):
        sets = np.flatnonzero(np.isfinite(draws[0, :, j]))
        row = {"n_clips": n_clips, "knob": knob, "n_sets": len(sets)}
        if len(sets) >= 20:
            obs = sets[:, None].astype(np.float64)  # a stand-in observation per pack
            sbc = run_sbc(
                PrecomputedSamples(obs, draws[:, sets, j : j + 1]),
                truth[sets, j : j + 1], obs, names=[knob], n_samples=args.draws,
                n_clips=n_clips,
            )  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = check_sbc(sbc, c2st=False).iloc[0]
            cover = check_interval_coverage(
                truth[sets, j : j + 1], hdi_intervals(draws[:, sets, j : j + 1], 0.9),
                block.bounds[j : j + 1], names=[knob], level=0.9,
            ).iloc[0]  # fmt: skip
            net_cover = check_interval_coverage(
                truth[sets, j : j + 1], hdi_intervals(net_mean[:, sets, j : j + 1], 0.9),
                block.bounds[j : j + 1], names=[knob], level=0.9,
            ).iloc[0]  # fmt: skip
            row.update(
                ks_p_bonferroni=min(1.0, float(table["ks_p"]) * len(knobs)),
                rank_mean=float(table["rank_mean"]),
                coverage90=float(cover["coverage"]),
                n_near=int(cover["n_near"]),
                coverage90_near=float(cover["coverage_near"]),
                sd_median=float(np.median(draws[:, sets, j].std(axis=0))),
                network_coverage90=float(net_cover["coverage"]),
                network_coverage90_near=float(net_cover["coverage_near"]),
                network_sd_median=float(np.median(net_mean[:, sets, j].std(axis=0))),
                network_abs_error_median=float(
                    np.median(np.abs(np.median(net_mean[:, sets, j], 0) - truth[sets, j]))
                ),
                abs_error_median=float(
                    np.median(np.abs(np.median(draws[:, sets, j], 0) - truth[sets, j]))
                ),
                **error_floor(draws[:, sets, j], truth[sets, j], read_se[sets, j]),
            )
        rows.append(row)
    return pd.DataFrame(rows), {"simulate_s": t_sim, "block_s": t_block, "network_s": t_net}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="population model directory (default: the shipped one)")
    parser.add_argument("--block", choices=list(BLOCKS), default="velocity")
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 256, 1024])
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--out", type=Path, help="CSV of the per-knob figures")
    args = parser.parse_args()
    est = PopulationEstimator.load(args.model) if args.model else load_shipped()
    tables, timing = [], {}
    for n in args.sizes:
        table, timing[n] = one_size(est, n, args)
        tables.append(table)
        print(table.round(3).to_string(index=False), flush=True)
    every = pd.concat(tables, ignore_index=True)
    if args.out:
        every.to_csv(args.out, index=False, float_format="%.4g")
    ok = every.dropna(subset=["ks_p_bonferroni"])

    def span(column: str) -> list[float]:
        return [round(float(ok[column].min()), 3), round(float(ok[column].max()), 3)]

    result = {
        "block": args.block,
        "sizes": args.sizes,
        "sets": args.sets,
        "draws": args.draws,
        "ks_p_bonferroni_min": round(float(ok.ks_p_bonferroni.min()), 4),
        "share_ks_p_bonferroni_above_0.01": round(float((ok.ks_p_bonferroni > 0.01).mean()), 3),
        "rank_mean_range": span("rank_mean"),
        "coverage90_range": span("coverage90"),
        "coverage90_near_range": span("coverage90_near"),
        "network_coverage90_range": span("network_coverage90"),
        "sd_ratio_to_network_median": round(
            float((ok.sd_median / ok.network_sd_median).median()), 3
        ),
        "error_ratio_to_network_median": round(
            float((ok.abs_error_median / ok.network_abs_error_median).median()), 3
        ),
        "timing_s": {str(n): {k: round(v, 1) for k, v in t.items()} for n, t in timing.items()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
