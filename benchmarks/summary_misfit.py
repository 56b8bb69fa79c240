"""Which set summaries does a fit not reproduce? Real packs' z-scores against their predictive.

Run (from the repository root)::

    .venv/bin/python benchmarks/summary_misfit.py --dataset DEMO_DS [--model MODEL_DIR]
        [--split train] [--sets 200] [--top 12]

Fits every pack of an ingested dataset (``technorhythm fit`` by pack, the model's default
settings), then simulates ``--sets`` packs of the real pack's size and tempos from the fit's
posterior predictive (ψ → θ_i → clips, the new loops of the checks) and computes the set
summaries of each (:data:`technorhythm.summaries.SUMMARY_NAMES`). For every pack and summary
it prints the z-score of the real pack's value against the simulated packs' (their mean and
sd), largest |z| first. The baseline, in the same run, is the same z-score for one simulated
pack held out of the predictive sets, whose |z| is what a perfect fit gives. A summary whose
|z| is far above it names what the simulator cannot make or the fit does not reach.
``--knobs`` also prints, per pack, the 5th, 50th and 95th percentiles of those knobs over
the predictive's new loops: how far apart the fit puts loops that the pack plays alike.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np

from technorhythm.corpus import load_dataset
from technorhythm.inference import load_shipped
from technorhythm.inference.population_estimator import PopulationEstimator
from technorhythm.posteriors import PopulationPredictive
from technorhythm.posteriors.fit import fit_groups
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KnobError, get_knob
from technorhythm.summaries import SUMMARY_NAMES, summarize

MIN_CLIPS = 16


def predictive_summaries(pack, model, n_sets: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Set summaries (n_sets, S) of packs the size of ``pack`` from a predictive model, and
    the knobs of their loops (n_sets, N, K)."""
    rng = np.random.default_rng(seed)
    n = len(pack)
    theta = np.asarray(model.draw(n_sets, n, rng)).reshape(n_sets, n, -1)
    out = []
    for i in range(n_sets):
        clips = simulate(theta[i], seed=seed + i, bpm=pack.bpm)
        out.append(summarize(clips))
    return np.array(out), theta


def z_scores(real: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """(real − mean) / sd per summary. Where the simulated packs do not vary, 0 if the real
    value agrees with them and ±1000 if it does not (a value they can never make)."""
    mean, sd = sims.mean(axis=0), sims.std(axis=0)
    diff = real - mean
    safe = np.where(sd > 0, sd, 1.0)
    fixed = np.where(np.abs(diff) > 1e-9, np.sign(diff) * 1e3, 0.0)
    return np.where(sd > 0, diff / safe, fixed)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="ingested (and split) dataset")
    parser.add_argument("--model", help="population model directory (default: the shipped one)")
    parser.add_argument("--split", help="only the packs of this split (default: every clip)")
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--knobs", nargs="*", default=[], help="print these knobs' spread")
    args = parser.parse_args(argv)
    for name in args.knobs:
        try:
            get_knob(name)
        except KnobError as err:
            parser.error(str(err))
    warnings.filterwarnings("ignore", category=UserWarning)
    est = PopulationEstimator.load(args.model) if args.model else load_shipped()
    clips = load_dataset(args.dataset).clips
    if args.split is not None:
        clips = clips[np.flatnonzero((clips.meta["split"] == args.split).to_numpy())]
    fit = fit_groups(clips, estimator=est, by="pack", loops=False, n_cap=1024, seed=args.seed)
    packs = clips.meta["pack"].to_numpy()
    rows = {}
    for group in fit.groups:
        members = np.flatnonzero(packs == group.name)
        if len(members) < MIN_CLIPS:
            continue
        real = clips[members]
        sims, theta = predictive_summaries(
            real, PopulationPredictive(group.hyper, est.population), args.sets + 1, args.seed
        )
        z = z_scores(summarize(real), sims[1:])
        z_floor = z_scores(sims[0], sims[1:])
        order = np.argsort(-np.abs(z))[: args.top]
        row = rows[group.name] = {
            "clips": len(real),
            "max_abs_z": round(float(np.abs(z).max()), 2),
            "max_abs_z_floor": round(float(np.abs(z_floor).max()), 2),
            "summaries_beyond_3": int((np.abs(z) > 3).sum()),
            "summaries_beyond_3_floor": int((np.abs(z_floor) > 3).sum()),
            "top": {SUMMARY_NAMES[j]: round(float(z[j]), 2) for j in order},
            "knobs": {},
        }
        for name in args.knobs:
            q = np.quantile(theta[..., KNOB_NAMES.index(name)], [0.05, 0.5, 0.95])
            row["knobs"][name] = np.round(q, 2).tolist()
        print(
            f"{group.name} ({len(real)} clips): |z| > 3 for {row['summaries_beyond_3']} "
            f"summaries (a simulated pack: {row['summaries_beyond_3_floor']}); "
            + ", ".join(f"{SUMMARY_NAMES[j]} {z[j]:+.1f}" for j in order),
            flush=True,
        )
        for name, q in row["knobs"].items():
            print(f"    new loops' {name}: {q[0]:g} / {q[1]:g} / {q[2]:g} (5 / 50 / 95 %)")
    beyond = [r["summaries_beyond_3"] for r in rows.values()]
    floor = [r["summaries_beyond_3_floor"] for r in rows.values()]
    result = {
        "model": args.model or "shipped",
        "dataset": str(args.dataset),
        "packs": len(rows),
        "sets": args.sets,
        "median_summaries_beyond_3": float(np.median(beyond)) if beyond else None,
        "median_summaries_beyond_3_floor": float(np.median(floor)) if floor else None,
        "per_pack": rows,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
