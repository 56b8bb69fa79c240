"""Calibration of each loop's reads of the knobs ``fit`` reads from the hits, one loop at a time.

Run (from the repository root)::

    .venv/bin/python benchmarks/read_calibration.py [--loops 4000] [--seed 20261205]

The pack-level blocks (``hit_block_sbc.py``) pool loops' reads; this checks the reads
themselves. ``--loops`` loops, each with its own θ drawn from the hyperprior's population
(one loop per ψ), are simulated far from any training stream and read as ``fit`` reads them
(:func:`technorhythm.inference.hit_blocks.read_block`):

* **onset knobs** (likelihoods on a grid): the loops' onset knobs are drawn uniformly over
  [0, 1], so the normalised likelihood is the loop's posterior under a flat prior; per knob,
  the share of loops whose true value lies in the central 90 % of it (nominal 0.90). The
  baseline measured in the same run is the same likelihood with every seen step counted as
  its own decision (no effective-decision scaling).
* **kick knobs** (``kick_pulses``, ``kick_extra``, ``kick_late``: profile likelihoods on a
  grid, :mod:`technorhythm.inference.kick_block`): drawn uniformly over their ranges, and
  checked as the onset knobs are (no baseline).
* **velocity and timing knobs** (an estimate and a standard error per loop): per knob, over
  loops whose true value lies at least 5 % of the range inside both bounds and whose hits
  carry noise (the instrument's velocity jitter, or ``humanize_ms``, outside its dead zone
  at 0, :data:`~technorhythm.simulator.patterns.SNAPPED`), the share with
  |estimate − truth| / se < 1.645 (nominal 0.90) and the median |z| against the normal's
  0.674: the factor by which the standard errors are too small (> 1) or too large. The
  control measured in the same run is exact normal reads (the truth plus se × a standard
  normal), which must give the nominal figures. Loops without that noise play their acting
  value exactly (a level of 88.2 plays 88 in every hit; a push without humanize is every
  offset), so the read is the acting value with a standard error near 0; for them the
  median |estimate − truth| in knob units is given instead (``quiet_abs_error``).

Writes ``--out`` (CSV, one row per knob) when given. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from technorhythm.inference import load_shipped
from technorhythm.inference.grid_pool import GRID
from technorhythm.inference.hit_blocks import BLOCKS, read_block
from technorhythm.inference.kick_block import KICK_KNOBS, read_kicks
from technorhythm.inference.onset_block import ONSET_KNOBS, loglik_grid, onset_counts
from technorhythm.simulator import simulate
from technorhythm.simulator.patterns import acting_value

START_INDEX = 5 << 41
"""First clip-stream index of these loops: far from training and other validation streams."""
Z90 = 1.6448536269514722
NOISE_OF = {
    **{k: "humanize_ms" for k in ("swing_16", "push_ms", "hat_push_ms")},
    **{f"{i}_{p}": f"{i}_jitter" for i in ("snare", "kick", "hat") for p in ("velocity", "accent")},
    "open_hat_velocity": "hat_jitter",
}
"""The knob whose noise blurs each read knob's hits (the jitters and humanize: themselves)."""
MEDIAN_ABS_Z = 0.6744897501960817


def _central(loglik: np.ndarray, truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whether each truth lies in the central 90 % of its row's normalised likelihood on
    :data:`GRID` (randomised at the grid value the truth falls on)."""
    w = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    idx = np.clip(np.rint(truth * (len(GRID) - 1)).astype(int), 0, len(GRID) - 1)
    rows = np.arange(len(truth))
    pit = np.cumsum(w, axis=1)[rows, idx] - w[rows, idx] * rng.random(len(truth))
    return (pit > 0.05) & (pit < 0.95)


def onset_rows(velocity: np.ndarray, theta: np.ndarray, names, rng) -> list[dict]:
    counts = onset_counts(velocity)
    rows = []
    for name in ONSET_KNOBS:
        hits, trials, share, weights = counts[name]
        shown = trials.sum(axis=1) > 0
        truth = theta[shown, names.index(name)]
        scaled = loglik_grid(name, hits[shown], trials[shown], share[shown], weights)
        every = loglik_grid(name, hits[shown], trials[shown], np.ones_like(share[shown]), weights)
        rows.append(
            {
                "block": "onsets",
                "knob": name,
                "loops": int(shown.sum()),
                "central90": float(_central(scaled, truth, rng).mean()),
                "baseline_central90": float(_central(every, truth, rng).mean()),
            }
        )
    return rows


def kick_rows(velocity: np.ndarray, theta: np.ndarray, names, rng) -> list[dict]:
    reads = read_kicks(velocity)
    rows = []
    for j, name in enumerate(KICK_KNOBS):
        shown = reads.shown[:, j]
        truth = theta[shown, names.index(name)] / reads.scales[j]  # on GRID
        rows.append(
            {
                "block": "kick",
                "knob": name,
                "loops": int(shown.sum()),
                "central90": float(_central(reads.loglik[shown, j], truth, rng).mean()),
                "baseline_central90": np.nan,
            }
        )
    return rows


def point_rows(block: str, batch, theta, names, bounds, rng) -> list[dict]:
    reads = read_block(block, batch)
    rows = []
    for j, name in enumerate(BLOCKS[block]):
        k = names.index(name)
        low, high = bounds[k]
        margin = 0.05 * (high - low)
        truth = theta[:, k]
        inside = (
            reads.shown[:, j]
            & np.isfinite(reads.se[:, j])
            & (reads.se[:, j] > 0)
            & (truth > low + margin)
            & (truth < high - margin)
        )
        noise = NOISE_OF.get(name, name)
        noisy = acting_value(noise, theta[:, names.index(noise)]) > 0
        use = inside & noisy
        se = reads.se[use, j]
        z = (reads.estimate[use, j] - truth[use]) / se
        control = rng.standard_normal(int(use.sum()))  # exact normal reads: (read − truth) / se
        quiet = inside & ~noisy
        rows.append(
            {
                "block": block,
                "knob": name,
                "loops": int(use.sum()),
                "quiet_loops": int(quiet.sum()),
                "quiet_abs_error": float(np.median(np.abs(reads.estimate[quiet, j] - truth[quiet])))
                if quiet.any()
                else np.nan,
                "central90": float(np.mean(np.abs(z) < Z90)),
                "median_abs_z": float(np.median(np.abs(z))),
                "se_factor": float(np.median(np.abs(z)) / MEDIAN_ABS_Z),
                "bias_z_median": float(np.median(z)),
                "control_central90": float(np.mean(np.abs(control) < Z90)),
                "control_median_abs_z": float(np.median(np.abs(control))),
            }
        )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--out", type=Path, help="CSV of the per-knob figures")
    args = parser.parse_args(argv)
    pop = load_shipped().population
    names = list(pop.names)
    rng = np.random.default_rng(args.seed)
    psi = pop.sample_hyper(args.loops, rng)
    theta = pop.clip(pop.sample_latent(psi, 1, rng)).reshape(args.loops, -1)
    onset_cols = [names.index(k) for k in ONSET_KNOBS]
    theta[:, onset_cols] = rng.random((args.loops, len(onset_cols)))  # a flat prior per loop
    kick_cols = [names.index(k) for k in KICK_KNOBS]
    theta[:, kick_cols] = rng.random((args.loops, len(kick_cols))) * pop.bounds[kick_cols, 1]
    start = time.perf_counter()
    batch = simulate(theta, seed=args.seed, start_index=START_INDEX)
    rows = onset_rows(batch.velocity, theta, names, rng)
    rows += kick_rows(batch.velocity, theta, names, rng)
    for block in ("velocity", "timing"):
        rows += point_rows(block, batch, theta, names, pop.bounds, rng)
    seconds = time.perf_counter() - start
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False, float_format="%.4g")
    onsets, points = table[table.block == "onsets"], table[~table.block.isin(["onsets", "kick"])]
    kicks = table[table.block == "kick"]

    def span(frame: pd.DataFrame, column: str, digits: int = 3) -> list[float]:
        return [
            round(float(frame[column].min()), digits),
            round(float(frame[column].max()), digits),
        ]

    summary = {
        "benchmark": "read_calibration",
        "loops": args.loops,
        "seed": args.seed,
        "onset_central90_range": span(onsets, "central90"),
        "onset_baseline_central90_range": span(onsets, "baseline_central90"),
        "kick_central90_by_knob": {
            k: round(float(v), 3) for k, v in zip(kicks.knob, kicks.central90, strict=True)
        },
        "point_central90_range": span(points, "central90"),
        "point_se_factor_range": span(points, "se_factor", 2),
        "point_se_factor_by_knob": {
            k: round(float(v), 2) for k, v in zip(points.knob, points.se_factor, strict=True)
        },
        "control_central90_range": span(points, "control_central90"),
        "seconds": round(seconds, 1),
    }
    print(
        f"onset reads: central 90 % holds the truth for {summary['onset_central90_range']} of "
        f"loops (every step its own decision: {summary['onset_baseline_central90_range']}); "
        f"kick reads: {summary['kick_central90_by_knob']}; "
        f"velocity and timing reads: {summary['point_central90_range']} within 1.645 se "
        f"(exact normal reads: {summary['control_central90_range']}), median |z| / 0.674 "
        f"{summary['point_se_factor_range'][0]}–{summary['point_se_factor_range'][1]}"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
