"""Benchmark: do loops generated from a fit pass the posterior predictive checks as the fit does?

Run::

    .venv/bin/python benchmarks/generation_fidelity.py FIT_DIR [--groups NAME ...]
        [--n 256] [--seed 0] [--spreads 0 1 2]

For every group of the fit (a ``technorhythm fit`` folder whose dataset is still where
``fit.json`` says), this compares two generated sets with the group's real clips, through
the same measures and the same prior predictive set:

* the **fit's own** posterior predictive set, exactly as ``technorhythm check`` builds it
  (:func:`technorhythm.posteriors.checks.simulate_predictive`) — the baseline, measured in
  the same run;
* the loops that ``technorhythm generate --from-fit FIT_DIR --group NAME --n N --seed S
  --spread X`` writes (:func:`technorhythm.generation.generate_from_pack`, the first 4 bars
  of each, tempos from the pack), for each ``--spreads`` value.

Each pair goes through :func:`technorhythm.diagnostics.predictive.run_predictive_check`
with the same seed, and the headline figures of ``check.csv`` are reported side by side:
C2ST accuracy (0.5 = indistinguishable), D / real-half floor, closer than the prior,
onset-position bins inside the real band. It also reports the between-loop spread of the
generated knobs (sd over loops as a share of each knob's range, averaged over knobs).

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
from technorhythm.posteriors.checks import simulate_predictive
from technorhythm.posteriors.fit import group_seed
from technorhythm.threads import limit_threads

COLUMNS = ("c2st", "d_ratio", "closer_than_prior", "onset_in_band")


def generated_clips(pack, n: int, seed: int, spread: float) -> tuple[ClipBatch, np.ndarray]:
    """The first 4 bars of each of ``n`` generated loops, and their knobs (n, K)."""
    gen = generate_from_pack(pack, n, seed=seed, bars=4, spread=spread)
    clips = ClipBatch.concat([loop.clips[:1] for loop in gen.loops])
    return ClipBatch(clips.velocity, clips.offset, gen.bpm, None), gen.theta


def measure(real, posterior, prior, seed: int, name: str) -> dict[str, object]:
    check = run_predictive_check(real, posterior, prior, seed=group_seed(seed, name, 30))
    row = check_predictive(check)
    return {c: row.get(c) for c in COLUMNS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fit_dir")
    parser.add_argument("--groups", nargs="*")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spreads", type=float, nargs="*", default=[1.0])
    args = parser.parse_args()
    packs = load_packs(args.fit_dir)
    names = args.groups or list(packs)
    width = np.diff(knob_bounds(), axis=1)[:, 0]
    rows = []
    t0 = time.perf_counter()
    with limit_threads(1):
        for name in names:
            pack = packs[name]
            real = pack.real_clips()
            n = max(args.n, len(real))
            fit_set, prior = simulate_predictive(
                real, pack.model, n_clips=n, seed=args.seed, name=name
            )
            rows.append(
                {"group": name, "n_real": len(real), "source": "fit (check)", "spread": np.nan}
                | measure(real, fit_set, prior, args.seed, name)
            )
            for spread in args.spreads:
                clips, theta = generated_clips(pack, n, args.seed, spread)
                rows.append(
                    {
                        "group": name,
                        "n_real": len(real),
                        "source": "generate",
                        "spread": spread,
                        "knob_sd_share": float((theta.std(axis=0) / width).mean()),
                    }
                    | measure(real, clips, prior, args.seed, name)
                )
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    fit_rows = table[table.source == "fit (check)"].set_index("group")
    gen_rows = table[(table.source == "generate") & (table.spread == 1.0)].set_index("group")
    summary = {}
    if not gen_rows.empty:
        diff = gen_rows["c2st"] - fit_rows.loc[gen_rows.index, "c2st"]
        ratio = gen_rows["d_ratio"] / fit_rows.loc[gen_rows.index, "d_ratio"]
        band = gen_rows["onset_in_band"] - fit_rows.loc[gen_rows.index, "onset_in_band"]
        summary = {
            "c2st_generated_minus_fit_median": round(float(diff.median()), 4),
            "d_ratio_generated_over_fit_median": round(float(ratio.median()), 4),
            "onset_in_band_generated_minus_fit_median": round(float(band.median()), 4),
            "closer_than_prior_generated": int(gen_rows["closer_than_prior"].sum()),
            "closer_than_prior_fit": int(fit_rows["closer_than_prior"].sum()),
            "knob_sd_share_median": round(float(gen_rows["knob_sd_share"].median()), 4),
        }
        print(
            "generated (spread 1) vs the fit's own predictive, median over groups: "
            f"C2ST {summary['c2st_generated_minus_fit_median']:+.3f}, D ratio "
            f"×{summary['d_ratio_generated_over_fit_median']:.2f}, onsets in band "
            f"{summary['onset_in_band_generated_minus_fit_median']:+.3f}"
        )
    result = {
        "benchmark": "generation_fidelity",
        "fit": args.fit_dir,
        "groups": names,
        "n": args.n,
        "seed": args.seed,
        "seconds": round(time.perf_counter() - t0, 1),
        **summary,
        "rows": json.loads(table.to_json(orient="records")),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
