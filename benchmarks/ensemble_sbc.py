"""SBC of an ensemble of population models: the equal mixture of their pack posteriors.

Run (from the repository root)::

    .venv/bin/python benchmarks/ensemble_sbc.py --models MODEL_A MODEL_B \
        [--sizes 1 16 256 1024] [--sets 300] [--draws 300]

Packs with ψ from the hyperprior are drawn and simulated exactly as
``validate_inference.py`` does (same seed, same streams). For each model alone and for
the mixture (``--draws`` split equally between the models): the number of ψ entries whose
SBC KS p exceeds 0.01 after a Bonferroni correction, the number whose mean normalised
rank lies in 0.45–0.55 (with the range), the TARP ATC and the coverage of the mixture's own
50 % and 90 % highest-density regions. A mixture of independently
trained networks averages out errors that differ between them; this measures whether that
is what keeps the large-N mean ranks out of the band. The last line printed is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import validate_inference as vi  # noqa: E402
from technorhythm.diagnostics import (  # noqa: E402
    PrecomputedSamples,
    check_sbc,
    check_tarp,
    run_sbc,
    run_tarp,
)
from technorhythm.inference.flows import BoxLogit  # noqa: E402
from technorhythm.inference.population_estimator import PopulationEstimator  # noqa: E402


def mixture_draws(models: list, x: np.ndarray, n_draws: int, seed: int) -> np.ndarray:
    """ψ draws (L, M, 2K) of the equal mixture: ``n_draws // len(models)`` from each."""
    per = n_draws // len(models)
    return np.concatenate(
        [vi.draw_hyper_chunked(est, x, per, seed + 99 * j) for j, est in enumerate(models)],
        axis=0,
    )


def mixture_hpd(models: list, psi: np.ndarray, x: np.ndarray, draws: np.ndarray) -> list[float]:
    """Coverage of the mixture's own 50 % and 90 % highest-density regions (flow space, as
    ``validate_inference.py``): the density is the equal mixture of the models' densities."""
    from scipy.special import logsumexp

    box = BoxLogit(models[0].hyper_bounds)

    def log_q(p, xx):
        parts = np.stack([m.pack_.log_prob(box.forward(p), xx) for m in models])
        return logsumexp(parts, axis=0) - np.log(len(models))

    table = vi.hpd_coverage(log_q, psi, x, draws)
    return [round(float(v), 3) for v in table.coverage.iloc[:2]]


def figures(models: list, psi: np.ndarray, x: np.ndarray, n_clips: int, args) -> dict:
    """KS passes, mean ranks in band (and range), TARP ATC and HPD coverage of the mixture
    of ``models``."""
    draws = mixture_draws(models, x, args.draws, args.seed)
    names = list(models[0].hyper_names)
    cached = PrecomputedSamples(x, draws)
    sbc = run_sbc(cached, psi, x, names=names, n_samples=len(draws), n_clips=n_clips)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = check_sbc(sbc, c2st=False)
    ks = np.minimum(1.0, table["ks_p"] * len(names))
    tarp = run_tarp(cached, psi, x, n_samples=len(draws), seed=args.seed, n_clips=n_clips)
    return {
        "ks_pass": int((ks > 0.01).sum()),
        "rank_mean_in_band": int(table["rank_mean"].between(0.45, 0.55).sum()),
        "rank_mean_range": [
            round(float(table["rank_mean"].min()), 3),
            round(float(table["rank_mean"].max()), 3),
        ],
        "tarp_atc": round(float(check_tarp(tarp)["atc"]), 4),
        "hpd50_hpd90": mixture_hpd(models, psi, x, draws),
        "n_params": len(names),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True, help="population model folders")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 1024])
    parser.add_argument("--sets", type=int, default=300)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args(argv)
    models = [PopulationEstimator.load(m) for m in args.models]
    pop = models[0].population
    if any(m.hyper_names != models[0].hyper_names for m in models):
        raise ValueError("the models must share the knob registry (the same ψ entries)")
    labels = [Path(m).name for m in args.models]
    result: dict = {"models": args.models, "sets": args.sets, "draws": args.draws}
    print("| N | model | KS p > 0.01 | mean rank in 0.45–0.55 (range) | TARP ATC | HPD 50/90 % |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n in args.sizes:
        rng = np.random.default_rng([args.seed, n, 0])
        psi = vi.draw_packs(pop, args.sets, rng, faces=False)
        x, _, _ = vi.simulate_packs(pop, psi, n, args.seed)
        runs = [(label, [m]) for label, m in zip(labels, models, strict=True)]
        if len(models) > 1:  # one model folder is its own (possibly ensemble) posterior
            runs.append(("mixture", models))
        for label, members in runs:
            fig = figures(members, psi, x, n, args)
            result[f"N{n}_{label}"] = fig
            lo, hi = fig["rank_mean_range"]
            h50, h90 = fig["hpd50_hpd90"]
            print(
                f"| {n} | {label} | {fig['ks_pass']}/{fig['n_params']} | "
                f"{fig['rank_mean_in_band']}/{fig['n_params']} ({lo:.2f}–{hi:.2f}) | "
                f"{fig['tarp_atc']:+.3f} | {h50:.2f}/{h90:.2f} |",
                flush=True,
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
