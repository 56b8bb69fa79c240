"""False-alarm rate of the misspecification verdict on sets the model did make.

Run::

    .venv/bin/python benchmarks/validate_checks.py [--model MODEL_DIR] [--sizes 1 16 256]
        [--interior 200] [--face-reps 4] [--out docs/img/checks]

For each set size N it simulates packs the simulator made and fits them like real packs
(``fit_groups`` with the model, then the verdict of ``check_fit(..., verdict_only=True)``):

* **interior**: ``--interior`` packs, each a population ψ = (loc, spread) drawn from the
  model's hyperprior, every loop its own θ_i from that population;
* **faces**: for every knob in turn and each of its two bounds, ``--face-reps`` packs at a ψ
  drawn from the hyperprior with that knob's population collapsed onto the bound (every
  loop at ride 0, crash 0, swing 0, …).

A calibrated verdict flags about ``alpha`` = 5 % of them. The baseline measured in the
same run is that nominal rate: the table gives each observed rate with its exact binomial
95 % interval, and the ratio to 5 %. Packs use clip streams far from any training stream.

The raw verdict is a posterior predictive p-value, conservative by construction. The run
also calibrates it (technorhythm.diagnostics.verdict.VerdictCalibration): the packs of
each size are split in two at random; the raw p-values of one half define the
calibration, and the calibrated false-alarm rate is measured on the other half (held out);
the same over 400 random halves says how much that one figure owes to the split.
With ``--record MODEL_DIR`` the calibration built from all packs is written into the model
folder as ``verdict_calibration.json``, where ``fit`` and ``check`` find it.

Writes ``verdict_false_alarms.csv`` (one row per pack) and ``verdict_validation.json`` to
``--out``; the last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from technorhythm.clips import ClipBatch
from technorhythm.diagnostics.verdict import VerdictCalibration
from technorhythm.inference import load_shipped
from technorhythm.inference.population import Population
from technorhythm.inference.population_io import load_population
from technorhythm.posteriors import check_fit, fit_groups
from technorhythm.simulator import simulate

ROOT = Path(__file__).resolve().parents[1]
START_INDEX = 3 << 40
"""First clip-stream index: far beyond the training and validation streams."""


def design(n_interior: int, face_reps: int, population: Population, seed: int):
    """ψ (M, 2K) and a label per pack: ``interior`` or ``<knob>=low|high``."""
    rng = np.random.default_rng(seed)
    bounds, k_all = population.bounds, population.n_knobs
    psi = [population.sample_hyper(n_interior, rng)]
    labels = ["interior"] * n_interior
    for k, name in enumerate(population.names):
        for side, value in (("low", bounds[k, 0]), ("high", bounds[k, 1])):
            p = population.sample_hyper(face_reps, rng)
            p[:, k], p[:, k_all + k] = value, 0.0
            psi.append(p)
            labels += [f"{name}={side}"] * face_reps
    return np.concatenate(psi), labels


def packs(psi: np.ndarray, population: Population, n_clips: int, seed: int) -> ClipBatch:
    """One pack of ``n_clips`` clips per ψ row, labelled ``p00000``, …"""
    theta = population.sample_loops(psi, n_clips, np.random.default_rng([seed, 1]))
    batch = simulate(theta, seed=seed, start_index=START_INDEX)
    names = np.repeat([f"p{i:05d}" for i in range(len(psi))], n_clips)
    ids = [f"{p}#{j}" for p, j in zip(names, np.tile(np.arange(n_clips), len(psi)), strict=True)]
    meta = pd.DataFrame({"pack": names, "clip_id": ids})
    return ClipBatch(batch.velocity, batch.offset, batch.bpm, meta)


def rate(flags: np.ndarray, alpha: float) -> dict:
    k, n = int(flags.sum()), len(flags)
    ci = binomtest(k, n, alpha).proportion_ci(0.95, method="exact") if n else None
    return {
        "n": n,
        "flagged": k,
        "rate": round(k / n, 4) if n else None,
        "ci95": [round(ci.low, 4), round(ci.high, 4)] if ci else None,
        "ratio_to_nominal": round(k / n / alpha, 2) if n else None,
    }


def _rate_text(r: dict, ci: str = "") -> str:
    """``flagged/n flagged (rate, CI)``, or ``none`` for an empty design (``--face-reps 0``)."""
    if not r["n"]:
        return "none"
    return f"{r['flagged']}/{r['n']} flagged ({r['rate']:.3f}, {ci}{r['ci95']})"


def held_out_flags(raw: np.ndarray, half: np.ndarray, n_clips: int, alpha: float) -> np.ndarray:
    """The calibrated verdict's flags of the packs outside ``half`` (bool mask of ``raw``,
    the packs' raw p-values), calibrated on the packs in it."""
    cal = VerdictCalibration((n_clips,), (raw[half],))
    return np.array([cal.calibrate(p, n_clips) < alpha for p in raw[~half]])


def held_out_over_splits(
    raw: np.ndarray, n_clips: int, alpha: float, seed: int, splits: int = 400
) -> dict[str, float]:
    """The calibrated verdict's held-out false-alarm rate over ``splits`` random halves of
    the packs' raw p-values ``raw`` (calibrated on one half, counted on the other): how much
    the one split the table reports owes to which packs fell in which half."""
    rng = np.random.default_rng(seed)
    rates = np.empty(splits)
    for i in range(splits):
        half = rng.permutation(len(raw)) < len(raw) // 2
        rates[i] = held_out_flags(raw, half, n_clips, alpha).mean()
    q05, q95 = np.quantile(rates, [0.05, 0.95])
    return {"splits": splits, "mean": round(float(rates.mean()), 4), "q05": round(float(q05), 4),
            "q95": round(float(q95), 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256])
    parser.add_argument("--interior", type=int, default=200)
    parser.add_argument("--face-reps", type=int, default=4)
    parser.add_argument("--verdict-sets", type=int, default=100)
    parser.add_argument("--draws", type=int, default=300, help="posterior draws per pack")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument(
        "--record", metavar="MODEL_DIR", help="write the calibration into this model folder"
    )
    parser.add_argument(
        "--kicks",
        choices=["likelihood", "network"],
        default="likelihood",
        help="how the fits read the kick's pulses and extra kicks (default: `fit`'s default)",
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "checks"))
    args = parser.parse_args()
    if args.record and args.kicks != "likelihood":
        parser.error("--record calibrates the verdict of `fit`'s default reads: drop --kicks")
    estimator = load_population(args.model) if args.model else load_shipped()
    population = estimator.population
    psi, labels = design(args.interior, args.face_reps, population, args.seed)
    rows = []
    figures: dict = {"model": args.model or "shipped", "alpha": args.alpha, "sizes": {}}
    for n in args.sizes:
        start = time.perf_counter()
        batch = packs(psi, population, n, args.seed + n)
        fit = fit_groups(
            batch,
            estimator=estimator,
            by="pack",
            n_samples=args.draws,
            seed=args.seed,
            n_cap=1024,
            loops=False,  # the verdict needs the pack's hyperparameters only
            kicks=args.kicks,
        )
        fit.model.pop("verdict_calibration", None)  # measure the raw verdict
        result = check_fit(
            fit, batch, n_verdict_sets=args.verdict_sets, alpha=args.alpha, verdict_only=True
        )
        table = result.table()
        table["kind"] = ["interior" if lab == "interior" else "face" for lab in labels]
        table["label"] = labels
        table["n_clips"] = n
        rows.append(table)
        flags = table["flagged"].to_numpy(bool)
        interior = table["kind"].eq("interior").to_numpy()
        by_face = table[~interior].groupby("label")["flagged"].mean().sort_values(ascending=False)
        figures["sizes"][f"N{n}"] = {
            "interior": rate(flags[interior], args.alpha),
            "faces": rate(flags[~interior], args.alpha),
            "all": rate(flags, args.alpha),
            "faces_most_flagged": {k: round(float(v), 2) for k, v in by_face.head(5).items()},
            "seconds": round(time.perf_counter() - start, 1),
        }
        raw = table["verdict_p_raw"].to_numpy(float)
        half = np.random.default_rng(args.seed + n).permutation(len(raw)) < len(raw) // 2
        held_out = held_out_flags(raw, half, n, args.alpha)
        figures["sizes"][f"N{n}"]["calibrated_held_out"] = rate(held_out, args.alpha)
        splits = held_out_over_splits(raw, n, args.alpha, args.seed + n)
        figures["sizes"][f"N{n}"]["calibrated_held_out_splits"] = splits
        f = figures["sizes"][f"N{n}"]
        print(
            f"N = {n}: calibrated on half the packs, held-out false alarms "
            f"{f['calibrated_held_out']['flagged']}/{f['calibrated_held_out']['n']} "
            f"({f['calibrated_held_out']['rate']:.3f}, {f['calibrated_held_out']['ci95']}); "
            f"over {splits['splits']} random halves {splits['mean']:.3f} "
            f"(5-95 % {splits['q05']:.3f}-{splits['q95']:.3f})",
            flush=True,
        )
        print(
            f"N = {n}: interior {_rate_text(f['interior'], '95% CI ')}, faces "
            f"{_rate_text(f['faces'])}; most flagged faces {f['faces_most_flagged']}; "
            f"{f['seconds']} s",
            flush=True,
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keep = ["n_clips", "kind", "label", "group", "verdict_p_raw", "flagged", "n_outside"]
    keep += [c for c in rows[0].columns if c.startswith("p_")]
    pd.concat(rows, ignore_index=True)[keep].to_csv(
        out / "verdict_false_alarms.csv", index=False, float_format="%.4g"
    )
    (out / "verdict_validation.json").write_text(json.dumps(figures, indent=2) + "\n")
    if args.record:
        from technorhythm.atomic import atomic_write_text
        from technorhythm.inference.persistence import VERDICT_CALIBRATION_NAME

        everything = pd.concat(rows, ignore_index=True)
        calibration = VerdictCalibration(
            tuple(args.sizes),
            tuple(
                everything.loc[everything.n_clips == n, "verdict_p_raw"].to_numpy(float)
                for n in args.sizes
            ),
        )
        record = {**calibration.to_dict(), "command": " ".join(sys.argv), "design": figures}
        path = Path(args.record) / VERDICT_CALIBRATION_NAME
        atomic_write_text(path, json.dumps(record) + "\n")
        print(f"calibration written to {path}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
