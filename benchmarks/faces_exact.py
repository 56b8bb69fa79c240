"""What an *exact* posterior scores on the calibration checks of face packs.

Run (from the repository root)::

    .venv/bin/python benchmarks/faces_exact.py [--sizes 1 16 256 1024] [--sets 300]

`validate_inference.py` reports SBC, TARP and highest-density coverage on two kinds of
packs: ψ from the hyperprior, and *face* packs (a third of the knobs put on a bound for
every loop: location 5–45 % of the range beyond it, spread below 5 %). Bayesian
calibration is guaranteed only on average over the prior the posterior conditions on;
on a region of ψ picked by its value, even the exact posterior need not be calibrated.
This benchmark measures how far from nominal the exact posterior is on face packs.

The toy is the population model of one knob on [0, 1] (the shipped hyperprior box:
location in [−0.5, 1.5], spread in [0, 0.5], uniform), with every loop's θ_i observed
exactly (the best case for any estimator). The posterior p(loc, spread | θ_1..N) is
computed on a grid (censored-normal likelihood: mass Φ at each bound, density inside).
Per kind of pack and N: the mean normalised rank of the truth (SBC; 0.5 nominal), the
KS p of the ranks against uniform, and the coverage of the central 90 % interval, per
entry; and, as validate_inference.py measures it, the coverage of the 90 % HDI of the
loops' mean value E[θ] for packs whose true E[θ] is within 2 % of a bound. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy import stats
from scipy.special import log_ndtr

from technorhythm.inference.population import Population

_POPULATION = Population(np.array([[0.0, 1.0]]), ("knob",))
"""The one-knob population of the toy, with the population model's hyperprior box."""
LOC = tuple(_POPULATION.hyper_bounds[0])  # (-0.5, 1.5)
SPREAD = tuple(_POPULATION.hyper_bounds[1])  # (0.0, 0.5)


def grid(n: int = 401) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres of the hyperprior box: loc (n,), spread (n,) (spread > 0)."""
    edges = lambda lo, hi: lo + (np.arange(n) + 0.5) * (hi - lo) / n  # noqa: E731
    return edges(*LOC), edges(*SPREAD)


def draw_psi(kind: str, rng: np.random.Generator) -> tuple[float, float]:
    """ψ from the hyperprior, or a face pack's ψ as validate_inference.py draws it."""
    if kind == "prior":
        return rng.uniform(*LOC), rng.uniform(*SPREAD)
    spread = rng.uniform(0.0, 0.05)
    beyond = rng.uniform(0.05, 0.45)
    return (1.0 + beyond if rng.random() < 0.5 else -beyond), spread


def log_posterior(theta: np.ndarray, loc: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """log p(loc, spread | θ) (L, S) up to a constant, θ observed exactly in [0, 1]."""
    m, s = loc[:, None], spread[None, :]
    low, high = theta <= 0.0, theta >= 1.0
    inner = theta[~low & ~high]
    out = low.sum() * log_ndtr((0.0 - m) / s) + high.sum() * log_ndtr((m - 1.0) / s)
    if len(inner):  # Σ (θ − m)² / s² from the sufficient statistics of the inner loops
        ss = ((inner**2).sum() - 2 * m * inner.sum() + len(inner) * m**2) / s**2
        out = out - 0.5 * ss - len(inner) * np.log(s)
    return out


def censored_mean(loc: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """E[θ] of a normal (loc, spread) censored to [0, 1] (the population model's own formula)."""
    return _POPULATION.mean(np.stack(np.broadcast_arrays(loc, spread), axis=-1))[..., 0]


def ranks(kind: str, n_loops: int, n_sets: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised ranks (n_sets, 2) of the true loc and spread under the exact posterior,
    and per set [true E[θ] within 2 % of a bound, inside the 90 % HDI of E[θ]] (n_sets, 2)."""
    from technorhythm.posteriors.arviz_adapter import hdi_intervals

    rng = np.random.default_rng([seed, n_loops, kind == "faces"])
    loc, spread = grid()
    step = np.array([loc[1] - loc[0], spread[1] - spread[0]])
    out = np.empty((n_sets, 2))
    near = np.zeros((n_sets, 2), dtype=bool)
    for j in range(n_sets):
        m, s = draw_psi(kind, rng)
        theta = np.clip(m + s * rng.standard_normal(n_loops), 0.0, 1.0)
        lp = log_posterior(theta, loc, spread)
        p = np.exp(lp - lp.max())
        p /= p.sum()
        for i, (values, truth, marginal) in enumerate(
            ((loc, m, p.sum(axis=1)), (spread, s, p.sum(axis=0)))
        ):
            cdf = np.cumsum(marginal)
            # the truth's position inside its cell is uniform: interpolate the CDF
            out[j, i] = np.interp(truth, values, cdf - marginal / 2)
        true_mean = float(censored_mean(np.array(m), np.array(s)))
        near[j, 0] = min(true_mean, 1.0 - true_mean) <= 0.02
        if near[j, 0]:
            cell = rng.choice(p.size, size=4000, p=p.ravel())
            li, si = np.unravel_index(cell, p.shape)
            jitter = (rng.random((2, len(cell))) - 0.5) * step[:, None]
            draws = censored_mean(loc[li] + jitter[0], np.abs(spread[si] + jitter[1]))
            low, high = hdi_intervals(draws[:, None, None], 0.9)[0, 0]
            near[j, 1] = low <= true_mean <= high
    return out, near


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 1024])
    parser.add_argument("--sets", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = {}
    print("| N | packs | entry | mean rank | KS p | 90 % central interval coverage |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n in args.sizes:
        for kind in ("prior", "faces"):
            r, near = ranks(kind, n, args.sets, args.seed)
            for i, name in enumerate(("loc", "spread")):
                row = {
                    "mean_rank": round(float(r[:, i].mean()), 3),
                    "ks_p": float(stats.kstest(r[:, i], "uniform").pvalue),
                    "coverage90": round(float(np.mean((r[:, i] > 0.05) & (r[:, i] < 0.95))), 3),
                }
                result[f"N{n}_{kind}_{name}"] = row
                print(
                    f"| {n} | {kind} | {name} | {row['mean_rank']:.2f} | {row['ks_p']:.2g} "
                    f"| {row['coverage90']:.2f} |",
                    flush=True,
                )
            cases = int(near[:, 0].sum())
            cover = float(near[near[:, 0], 1].mean()) if cases else float("nan")
            result[f"N{n}_{kind}_near_bound"] = {"cases": cases, "coverage90": round(cover, 3)}
            print(f"| {n} | {kind} | E[θ] within 2 % of a bound | {cases} cases | | {cover:.2f} |")
    print(json.dumps({"sets": args.sets, "seed": args.seed, **result}))


if __name__ == "__main__":
    main()
