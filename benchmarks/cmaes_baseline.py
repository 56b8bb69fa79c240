"""The roadmap's baseline: one θ per pack by CMA-ES on the composite D, against amortised NPE.

Run::

    .venv/bin/python benchmarks/cmaes_baseline.py --demo-dataset DIR [--groove-dataset DIR]
        [--groove-packs 6] [--evals 600] [--clips 128] [--model MODEL_DIR] [--out docs/img/checks]

Per pack, CMA-ES (the ``cma`` package, seeded; the roadmap's budget of ``--evals`` = 600
evaluations × ``--clips`` = 128 simulated clips) searches the unit cube of the knob
registry (mapped to each knob's bounds) for the θ minimising D(pack, 128 clips simulated at
θ) — the same seed set at every evaluation (common random numbers), tempos drawn from the
pack. The θ reached is then scored on fresh clips.

The NPE side, on the same packs, in the same run: the population model's posterior for the
pack (1000 draws of the pack's hyperparameters ψ, as ``technorhythm fit`` takes them), and
loops simulated from it — the posterior predictive (one ψ draw for the replicated pack, each
loop its own θ from that population, as the checks draw it) and the population mean E[θ]
at the posterior-mean ψ for every clip (a point estimate like CMA-ES's).

Scores are D(pack, 256 fresh generated clips) for all three (the same seed, the same
tempos), plus D(real half, real half) as the noise floor. Costs: simulations used and wall
time per pack. The last line printed is one JSON object with the figures.

Groove packs come from the train and valid splits only (the test pack is held out).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from technorhythm.clips import ClipBatch
from technorhythm.corpus import load_dataset
from technorhythm.inference import load_shipped
from technorhythm.inference.population_io import load_population
from technorhythm.inference.prior import knob_bounds
from technorhythm.inference.set_summaries import observe_population
from technorhythm.posteriors.predictive_models import PopulationPredictive
from technorhythm.simulator import simulate
from technorhythm.summaries import distance

ROOT = Path(__file__).resolve().parents[1]
SCORE_CLIPS = 256
SCORE_SEED = 987_654_321


def _d(real: ClipBatch, theta: np.ndarray, bpm: np.ndarray, seed: int) -> float:
    return distance(real, simulate(theta, seed=seed, bpm=bpm), seed=0).total


def cmaes_pack(real: ClipBatch, *, evals: int, clips: int, seed: int) -> dict:
    """Minimise D over the unit cube; returns θ*, the best D seen and the cost."""
    import cma

    bounds = knob_bounds()
    lo, span = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
    rng = np.random.default_rng(seed)
    bpm = rng.choice(real.bpm, size=clips)
    history = []

    def objective(u: np.ndarray) -> float:
        theta = np.tile(lo + np.clip(u, 0, 1) * span, (clips, 1))
        d = _d(real, theta, bpm, seed)
        history.append(d)
        return d

    es = cma.CMAEvolutionStrategy(
        np.full(len(lo), 0.5),
        0.3,
        {"bounds": [0, 1], "seed": seed % 2**32 or 1, "maxfevals": evals, "verbose": -9},
    )
    start = time.perf_counter()
    while not es.stop():
        xs = es.ask()
        es.tell(xs, [objective(np.asarray(x)) for x in xs])
    wall = time.perf_counter() - start
    best = np.asarray(es.result.xbest)
    return {
        "theta": lo + np.clip(best, 0, 1) * span,
        "d_search": float(es.result.fbest),
        "evals": len(history),
        "simulations": len(history) * clips,
        "wall_s": wall,
        "history": history,
    }


def npe_pack(estimator, real: ClipBatch, *, draws: int, seed: int) -> dict:
    """Hyperparameter draws ψ for the pack (observe + sample), with the wall time."""
    start = time.perf_counter()
    x = observe_population(real, n_cap=1024)
    hyper = estimator.sample_hyper(x, draws, seed=seed)[:, 0, :]
    return {"hyper": hyper, "wall_s": time.perf_counter() - start, "simulations": 0}


def floor(real: ClipBatch, seed: int, n_splits: int = 5) -> float:
    rng = np.random.default_rng(seed)
    n = len(real)
    out = []
    for _ in range(n_splits):
        perm = rng.permutation(n)
        out.append(distance(real[perm[: n // 2]], real[perm[n // 2 :]], seed=0).total)
    return float(np.mean(out))


def packs_of(dataset: Path, n_groove: int | None, seed: int) -> list[tuple[str, str, ClipBatch]]:
    ds = load_dataset(dataset)
    meta = ds.clips.meta
    names = sorted(meta["pack"].dropna().astype(str).unique())
    if "split" in meta and meta["split"].notna().any() and n_groove is not None:
        held_in = set(meta.loc[meta["split"].isin(["train", "valid"]), "pack"].astype(str))
        names = [n for n in names if n in held_in]
        rng = np.random.default_rng(seed)
        names = sorted(rng.choice(names, size=min(n_groove, len(names)), replace=False))
    return [(n, n, ds.clips[np.flatnonzero(meta["pack"].astype(str) == n)]) for n in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-dataset", required=True)
    parser.add_argument("--groove-dataset")
    parser.add_argument("--groove-packs", type=int, default=6, help="Groove train/valid packs")
    parser.add_argument("--evals", type=int, default=600)
    parser.add_argument("--clips", type=int, default=128)
    parser.add_argument("--draws", type=int, default=1000, help="NPE posterior draws per pack")
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "checks"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # the MMD inside D: many small tensors, fastest on one thread
    estimator = load_population(args.model) if args.model else load_shipped()
    corpora = [("demo", p) for p in packs_of(Path(args.demo_dataset), None, args.seed)]
    if args.groove_dataset:
        picked = packs_of(Path(args.groove_dataset), args.groove_packs, args.seed)
        corpora += [("groove", p) for p in picked]
    rows = []
    for corpus, (name, _, real) in corpora:
        seed = args.seed + len(rows)
        score_bpm = np.random.default_rng(seed + 1).choice(real.bpm, size=SCORE_CLIPS)
        c = cmaes_pack(real, evals=args.evals, clips=args.clips, seed=seed)
        n = npe_pack(estimator, real, draws=args.draws, seed=seed)
        predictive = PopulationPredictive(n["hyper"], estimator.population)
        theta_pred = predictive.draw(1, SCORE_CLIPS, np.random.default_rng(seed + 2))
        theta_mean = estimator.population.mean(n["hyper"].mean(axis=0))
        row = {
            "corpus": corpus,
            "pack": name,
            "clips": len(real),
            "d_floor": floor(real, seed),
            "d_cmaes": _d(real, np.tile(c["theta"], (SCORE_CLIPS, 1)), score_bpm, SCORE_SEED),
            "d_cmaes_search": c["d_search"],
            "d_npe_predictive": _d(real, theta_pred, score_bpm, SCORE_SEED),
            "d_npe_mean": _d(real, np.tile(theta_mean, (SCORE_CLIPS, 1)), score_bpm, SCORE_SEED),
            "cmaes_evals": c["evals"],
            "cmaes_simulations": c["simulations"],
            "cmaes_s": c["wall_s"],
            "npe_s": n["wall_s"],
        }
        rows.append(row)
        print(
            f"{corpus}/{name} ({len(real)} clips): floor {row['d_floor']:.2f}; "
            f"CMA-ES {row['d_cmaes']:.2f} ({row['cmaes_evals']} evals, {row['cmaes_s']:.0f} s); "
            f"NPE predictive {row['d_npe_predictive']:.2f}, mean θ {row['d_npe_mean']:.2f} "
            f"({row['npe_s']:.2f} s)",
            flush=True,
        )
    table = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "cmaes_baseline.csv", index=False, float_format="%.4g")
    figures = {"evals": args.evals, "clips_per_eval": args.clips, "score_clips": SCORE_CLIPS}
    for corpus, part in table.groupby("corpus"):
        figures[corpus] = {
            "packs": len(part),
            "median_d_floor": round(float(part.d_floor.median()), 3),
            "median_d_cmaes": round(float(part.d_cmaes.median()), 3),
            "median_d_npe_predictive": round(float(part.d_npe_predictive.median()), 3),
            "median_d_npe_mean": round(float(part.d_npe_mean.median()), 3),
            "packs_npe_predictive_below_cmaes": int((part.d_npe_predictive < part.d_cmaes).sum()),
            "median_cmaes_s": round(float(part.cmaes_s.median()), 1),
            "median_npe_s": round(float(part.npe_s.median()), 2),
            "cmaes_simulations_per_pack": int(part.cmaes_simulations.median()),
            "speedup_npe_over_cmaes": round(float(part.cmaes_s.sum() / part.npe_s.sum()), 1),
        }
    (out / "cmaes_baseline.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
