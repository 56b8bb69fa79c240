"""Benchmark: do loops generated from a fit pass the posterior predictive checks as the fit does?

Run::

    .venv/bin/python benchmarks/generation_fidelity.py FIT_DIR [--groups NAME ...]
        [--n 256] [--seed 0] [--repeats 1] [--spreads 0 1 2] [--knobs population loops]

For every group of the fit (a ``technorhythm fit`` folder whose dataset is still where
``fit.json`` says), this compares two generated sets with the group's real clips, through
the same measures and the same prior predictive set:

* the **fit's own** posterior predictive set, exactly as ``technorhythm check`` builds it
  (:func:`technorhythm.posteriors.checks.simulate_predictive`) — the baseline, measured in
  the same run;
* the loops that ``technorhythm generate --from-fit FIT_DIR --group NAME --n N --seed S
  --spread X [--knobs K]`` writes (:func:`technorhythm.generation.generate_from_pack`, the
  first 4 bars of each, tempos from the pack), for each ``--spreads`` value and each
  ``--knobs`` source (``population``: new loops of the pack's population; ``loops``:
  variations of the pack's own loops, which needs a fit with per-loop draws).

Each pair goes through :func:`technorhythm.diagnostics.predictive.run_predictive_check`
with the same seed, and the headline figures of ``check.csv`` are reported side by side:
C2ST accuracy (0.5 = indistinguishable), D / real-half floor, closer than the prior,
onset-position bins inside the real band. It also reports the between-loop spread of the
generated knobs (sd over loops as a share of each knob's range, averaged over knobs) and
how near the generated loops come to copying real ones: the share of generated clips whose
onsets (5 instruments × 64 steps) equal a real clip's, and the median Hamming distance from
a generated clip to its nearest real clip — against the same two figures of every real clip
to its nearest *other* real clip (``copies_real``, ``nearest_real``: the pack's own
repetition, the yardstick).

With ``--repeats R`` everything runs for the seeds S … S + R − 1 (new predictive sets, new
prior sets, new loops) and the table gives the mean and sd over the repeats: the run-to-run
noise of the fit's own figures is the yardstick for "as well as the fit".

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from technorhythm.clips import ClipBatch
from technorhythm.diagnostics.predictive import check_predictive, run_predictive_check
from technorhythm.generation import generate_from_pack, load_packs
from technorhythm.inference.prior import knob_bounds
from technorhythm.posteriors import group_seed
from technorhythm.posteriors.checks import simulate_predictive
from technorhythm.threads import limit_threads

COLUMNS = ("c2st", "d_ratio", "closer_than_prior", "onset_in_band", "copies", "nearest")


def generated_clips(
    pack, n: int, seed: int, spread: float, knobs: str = "population"
) -> tuple[ClipBatch, np.ndarray]:
    """The first 4 bars of each of ``n`` generated loops, and their knobs (n, K)."""
    gen = generate_from_pack(pack, n, seed=seed, bars=4, spread=spread, knobs=knobs)
    clips = ClipBatch.concat([loop.clips[:1] for loop in gen.loops])
    return ClipBatch(clips.velocity, clips.offset, gen.bpm, None), gen.theta


def nearest_real(real: ClipBatch, clips: ClipBatch | None = None) -> tuple[float, float]:
    """(share of ``clips`` whose onsets equal a real clip's, median Hamming distance to the
    nearest real clip); without ``clips``, each real clip against the *other* real clips."""
    r = real.onsets.reshape(len(real), -1).astype(np.int32)
    g = r if clips is None else clips.onsets.reshape(len(clips), -1).astype(np.int32)
    dist = g.sum(1)[:, None] + r.sum(1)[None, :] - 2 * (g @ r.T)
    if clips is None:
        np.fill_diagonal(dist, np.iinfo(np.int32).max)
    near = dist.min(axis=1)
    return float((near == 0).mean()), float(np.median(near))


def measure(real, posterior, prior, seed: int, name: str) -> dict[str, object]:
    check = run_predictive_check(real, posterior, prior, seed=group_seed(seed, name, 30))
    row = check_predictive(check)
    copies, nearest = nearest_real(real, posterior)
    return {c: row.get(c) for c in COLUMNS[:4]} | {"copies": copies, "nearest": nearest}


def one_repeat(
    pack, name: str, n: int, seed: int, spreads: list[float], width, knobs=("population",)
) -> list[dict]:
    """The fit's own predictive set and the generated sets of one group, for one seed."""
    real = pack.real_clips()
    n = max(n, len(real))
    fit_set, prior = simulate_predictive(real, pack.model, n_clips=n, seed=seed, name=name)
    copies_real, nearest = nearest_real(real)
    base = {"group": name, "n_real": len(real), "seed": seed}
    base |= {"copies_real": copies_real, "nearest_real": nearest}
    rows = [base | {"source": "fit", "spread": np.nan} | measure(real, fit_set, prior, seed, name)]
    for source in knobs:
        for spread in spreads:
            clips, theta = generated_clips(pack, n, seed, spread, source)
            rows.append(
                base
                | {"source": f"generate ({source})", "spread": spread}
                | measure(real, clips, prior, seed, name)
                | {"knob_sd_share": float((theta.std(axis=0) / width).mean())}
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fit_dir")
    parser.add_argument("--groups", nargs="*")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--spreads", type=float, nargs="*", default=[1.0])
    parser.add_argument(
        "--knobs", nargs="*", choices=("population", "loops"), default=["population"]
    )
    args = parser.parse_args()
    packs = load_packs(args.fit_dir)
    names = args.groups or list(packs)
    width = np.diff(knob_bounds(), axis=1)[:, 0]
    t0 = time.perf_counter()
    rows = []
    with limit_threads(1):
        for name in names:
            for r in range(args.repeats):
                rows += one_repeat(
                    packs[name], name, args.n, args.seed + r, args.spreads, width, args.knobs
                )
    raw = pd.DataFrame(rows)
    raw["closer_than_prior"] = raw["closer_than_prior"].astype(float)
    keys = ["group", "n_real", "source", "spread"]
    cols = [*COLUMNS, "copies_real", "nearest_real", "knob_sd_share"]
    table = raw.groupby(keys, dropna=False, sort=False)[cols].agg(["mean", "std"])
    table.columns = [f"{c}_{stat}" for c, stat in table.columns]
    table = table.reset_index()
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.round(3).to_string(index=False))
    fit_rows = table[table.source == "fit"].set_index("group")
    summary = {}
    for source in args.knobs:
        chosen = (table.source == f"generate ({source})") & (table.spread == 1.0)
        gen_rows = table[chosen].set_index("group")
        if gen_rows.empty:
            continue
        fit_rows = fit_rows.loc[gen_rows.index]
        part = {
            "c2st_generated_median": gen_rows["c2st_mean"],
            "c2st_fit_median": fit_rows["c2st_mean"],
            "c2st_generated_minus_fit_median": gen_rows["c2st_mean"] - fit_rows["c2st_mean"],
            "d_ratio_generated_over_fit_median": gen_rows["d_ratio_mean"]
            / fit_rows["d_ratio_mean"],
            "onset_in_band_generated_minus_fit_median": gen_rows["onset_in_band_mean"]
            - fit_rows["onset_in_band_mean"],
            "closer_than_prior_generated_mean": gen_rows["closer_than_prior_mean"],
            "closer_than_prior_fit_mean": fit_rows["closer_than_prior_mean"],
            "knob_sd_share_median": gen_rows["knob_sd_share_mean"],
            "copies_median": gen_rows["copies_mean"],
            "copies_real_median": gen_rows["copies_real_mean"],
        }
        part = {k: round(float(v.median()), 4) for k, v in part.items()}
        print(
            f"generated ({source}, spread 1) vs the fit's own predictive, median over groups "
            f"of the means over {args.repeats} repeat(s): C2ST {part['c2st_generated_median']:.3f}"
            f" vs {part['c2st_fit_median']:.3f} ({part['c2st_generated_minus_fit_median']:+.3f}), "
            f"D ratio ×{part['d_ratio_generated_over_fit_median']:.2f}, onsets in band "
            f"{part['onset_in_band_generated_minus_fit_median']:+.3f}; copies of real clips "
            f"{part['copies_median']:.3f} (real among themselves {part['copies_real_median']:.3f})"
        )
        summary[source] = part
    result = {
        "benchmark": "generation_fidelity",
        "fit": args.fit_dir,
        "groups": names,
        "n": args.n,
        "seed": args.seed,
        "repeats": args.repeats,
        "seconds": round(time.perf_counter() - t0, 1),
        **summary,
        "table": json.loads(table.to_json(orient="records")),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
