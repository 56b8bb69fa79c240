"""Tables of a population posterior: what it says about loops, per loop, and trade-offs.

Computed from the labelled InferenceData of :mod:`technorhythm.posteriors.arviz_adapter`
(which makes every ArviZ call, including the HDIs used here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from technorhythm.inference.population import Population, hyper_names
from technorhythm.posteriors.arviz_adapter import (
    DEFAULT_HDI_PROB,
    hdi_intervals,
    hdi_names,
    hyper_array,
    knob_names_of,
    loop_draws_by_knob,
    reads_by_group,
)
from technorhythm.posteriors.predictive_models import PopulationPredictive
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS

if TYPE_CHECKING:  # pragma: no cover
    import arviz

__all__ = [
    "hyperprior_sd",
    "population_table",
    "loop_table",
    "posterior_correlations",
    "identification_table",
]


def hyperprior_sd(knob_names: Sequence[str] = KNOB_NAMES) -> dict[str, float]:
    """Sd of the hyperprior of every ``<knob>_loc`` / ``<knob>_spread`` (knob units)."""
    pop = Population(_bounds_of(knob_names), tuple(knob_names))
    return dict(zip(pop.hyper_names, map(float, pop.hyper_prior_sd()), strict=True))


def population_table(
    idata: arviz.InferenceData, *, hdi_prob: float = DEFAULT_HDI_PROB, seed: int = 0
) -> pd.DataFrame:
    """What each group's population says about its loops, per knob (knob units).

    Columns: ``group, knob``; ``mean`` (posterior mean of the loops' average value E[θ]),
    ``mean_hdi_<lo>%``/``mean_hdi_<hi>%`` (its HDI); ``loops_5%``/``loops_95%`` (the range
    holding 90% of the group's loops, from the posterior predictive of a new loop);
    ``share_at_low``/``share_at_high`` (posterior mean share of loops exactly on a bound).
    """
    lo_name, hi_name = hdi_names(hdi_prob)
    groups, knobs, hyper = hyper_array(idata)
    bounds = _bounds_of(knobs)
    pop = Population(bounds, tuple(knobs))
    reads = reads_by_group(idata)
    rng = np.random.default_rng(seed)
    rows = []
    for g, h in zip(groups, hyper, strict=True):
        mean = pop.mean(h)  # (S, K)
        hdi = hdi_intervals(mean, hdi_prob)
        low, high = pop.mass_at_bounds(h)
        # one new loop per draw: the predictive
        loops = PopulationPredictive(h, pop, *reads.get(g, (None, None))).draw(len(h), 1, rng)
        q05, q95 = np.quantile(loops, [0.05, 0.95], axis=0)
        for k, knob in enumerate(knobs):
            rows.append(
                {
                    "group": g,
                    "knob": knob,
                    "mean": float(mean[:, k].mean()),
                    f"mean_{lo_name}": float(hdi[k, 0]),
                    f"mean_{hi_name}": float(hdi[k, 1]),
                    "loops_5%": float(q05[k]),
                    "loops_95%": float(q95[k]),
                    "share_at_low": float(low[:, k].mean()),
                    "share_at_high": float(high[:, k].mean()),
                }
            )
    return pd.DataFrame(rows)


def _bounds_of(knobs: Sequence[str]) -> np.ndarray:
    by_name = {k.name: k for k in KNOBS}
    return np.array([[by_name[n].low, by_name[n].high] for n in knobs], dtype=np.float64)


def loop_table(idata: arviz.InferenceData, *, hdi_prob: float = DEFAULT_HDI_PROB) -> pd.DataFrame:
    """Per-loop posterior summary: ``loop, group, knob, mean, sd, hdi_<lo>%, hdi_<hi>%``.

    Empty when the posterior holds no per-loop draws.
    """
    lo_name, hi_name = hdi_names(hdi_prob)
    cols = ["loop", "group", "knob", "mean", "sd", lo_name, hi_name]
    got = loop_draws_by_knob(idata)
    if got is None:
        return pd.DataFrame(columns=cols)
    ids, owners, draws = got
    knobs = knob_names_of(idata)
    shape = (len(ids), len(knobs))
    mean, sd, hdi = np.empty(shape), np.empty(shape), np.empty((*shape, 2))
    for k, (_, arr) in enumerate(draws):
        hdi[:, k] = hdi_intervals(arr[..., None], hdi_prob)[:, 0]
        mean[:, k], sd[:, k] = arr.mean(axis=0), arr.std(axis=0, ddof=1)
    loop, knob = np.meshgrid(np.arange(len(ids)), np.arange(len(knobs)), indexing="ij")
    return pd.DataFrame(
        {
            "loop": np.asarray(ids, dtype=object)[loop.ravel()],
            "group": np.asarray(owners, dtype=object)[loop.ravel()],
            "knob": np.asarray(knobs, dtype=object)[knob.ravel()],
            "mean": mean.ravel(),
            "sd": sd.ravel(),
            lo_name: hdi[..., 0].ravel(),
            hi_name: hdi[..., 1].ravel(),
        }
    )


def posterior_correlations(idata: arviz.InferenceData) -> pd.DataFrame:
    """Pairwise Pearson correlations of the knobs' locations within each group's posterior.

    A strong correlation (|r| ≳ 0.5) means the data constrains a combination of the
    two knobs rather than each one: the pair trades off and is a candidate for merging.
    Returns columns ``group, knob_a, knob_b, r`` for every pair a < b (registry order),
    sorted by group and then by decreasing ``|r|``. Locations with zero posterior spread
    get ``r = NaN``.
    """
    groups, knobs, hyper = hyper_array(idata)
    samples = hyper[..., : len(knobs)]
    rows = []
    iu = np.triu_indices(len(knobs), k=1)
    for g, s in zip(groups, samples, strict=True):
        centred = s - s.mean(axis=0)
        scale = np.sqrt((centred**2).sum(axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = (centred.T @ centred) / np.outer(scale, scale)
        corr[~np.isfinite(corr)] = np.nan
        for a, b in zip(*iu, strict=True):
            rows.append({"group": g, "knob_a": knobs[a], "knob_b": knobs[b], "r": corr[a, b]})
    out = pd.DataFrame(rows, columns=["group", "knob_a", "knob_b", "r"])
    out["_abs"] = out["r"].abs()
    out = out.sort_values(["group", "_abs"], ascending=[True, False], kind="stable")
    return out.drop(columns="_abs").reset_index(drop=True)


def identification_table(
    idata: arviz.InferenceData, prior_sd: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """How strongly each group's data identifies each hyperparameter.

    Columns ``group, knob, param, post_sd, prior_sd, sd_ratio, contraction`` with
    ``sd_ratio = post_sd / prior_sd`` and ``contraction = 1 − post_var / prior_var``
    (0 = nothing learnt, 1 = pinned down). ``prior_sd`` defaults to the hyperprior's.
    """
    groups, knobs, hyper = hyper_array(idata)
    prior_sd = dict(prior_sd) if prior_sd is not None else hyperprior_sd(knobs)
    post_sd = hyper.std(axis=1, ddof=1)
    names = hyper_names(tuple(knobs))
    rows = []
    for gi, g in enumerate(groups):
        for j, n in enumerate(names):
            ratio = post_sd[gi, j] / prior_sd[n]
            knob, param = n.rsplit("_", 1)
            rows.append(
                {
                    "group": g,
                    "knob": knob,
                    "param": param,
                    "post_sd": post_sd[gi, j],
                    "prior_sd": prior_sd[n],
                    "sd_ratio": ratio,
                    "contraction": 1.0 - ratio**2,
                }
            )
    return pd.DataFrame(rows)
